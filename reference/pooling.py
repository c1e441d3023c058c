"""Max and average pooling (汇聚) over 2-d windows, and their vector-Jacobian products.

Seed section: *a basic understanding of CNNs*. ``x`` is NCHW; every channel
of every example is pooled on its own, by a fixed rule: pooling has no
parameters, so its only gradient is the one with respect to ``x``.
``kernel_size``, ``stride`` and ``padding`` are an int or an ``(h, w)`` pair;
``stride`` defaults to ``kernel_size`` (non-overlapping windows), as in
PyTorch. Windows are those of :mod:`dlterms.reference.conv` (dilation 1; both
walk :func:`~dlterms.reference._windows.windows`), so the output size is
:func:`~dlterms.reference.conv.conv_output_size`.

Padding follows PyTorch: it counts as −inf for max pooling (it never wins)
and as zeros for average pooling (counted in the divisor when
``count_include_pad=True``). It may be at most half the kernel on each axis,
so that no window lies entirely in the padding.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from ._exact import exact_sum
from ._tensor import Nested, same_shape, tensor, unflatten
from ._windows import Pair, Tap, Window, bins, check_spatial, pair, totals, windows

__all__ = ["avg_pool2d", "avg_pool2d_vjp", "max_pool2d", "max_pool2d_vjp"]


class _Pool(NamedTuple):
    x: Nested  # (N, C, H, W) nested lists of floats
    x_shape: tuple[int, ...]
    out_shape: tuple[int, int, int, int]
    kernel: Pair
    windows: list[Window]


def _pool(fn: str, x: Nested, kernel_size: object, stride: object, padding: object) -> _Pool:
    """Check every argument of a pooling and work out its windows."""
    shape, flat = tensor(fn, "x", x)
    check_spatial(fn, "x", shape, "(N, C, H, W)")
    k = pair(fn, "kernel_size", kernel_size, 1)
    s = k if stride is None else pair(fn, "stride", stride, 1)
    p = pair(fn, "padding", padding, 0)
    if p[0] > k[0] // 2 or p[1] > k[1] // 2:
        raise ValueError(
            f"{fn}: padding={p} but kernel_size={k}; expected padding <= kernel_size // 2 on each axis "
            f"(PyTorch's rule: otherwise a window could lie entirely in the padding)"
        )
    (oh, ow), found = windows(fn, (shape[2], shape[3]), k, s, p, (1, 1))
    return _Pool(unflatten(flat, shape), shape, (shape[0], shape[1], oh, ow), k, found)


def _cotangent(fn: str, cotangent: Nested, pool: _Pool, op: str) -> Nested:
    g_shape, g_flat = tensor(fn, "cotangent", cotangent)
    same_shape(fn, "cotangent", g_shape, f"{op}(x)", pool.out_shape)
    return unflatten(g_flat, g_shape)


def _first_max(values: list[float]) -> int:
    # PyTorch's CPU kernel: a value replaces the best so far only if it is greater or NaN,
    # so ties go to the first maximal element in row-major window order, and NaN propagates.
    best = 0
    for t, v in enumerate(values):
        if v > values[best] or math.isnan(v):
            best = t
    return best


# --- max pooling -------------------------------------------------------------------


def max_pool2d(x: Nested, kernel_size: int | Pair, stride: int | Pair | None = None, padding: int | Pair = 0) -> Nested:
    r"""Max pooling: the largest value of each window, per example and channel.

    .. math:: y_{n,c,h,w} = \max_{0 \le i < k_h,\; 0 \le j < k_w} \tilde x_{n,\,c,\; h s_h + i,\; w s_w + j}

    where :math:`\tilde x` is ``x`` padded with −inf. Citation:
    ``scherer2010evaluation`` (max against average pooling in CNNs); window
    arithmetic: ``dumoulin2016guide``.

    >>> max_pool2d([[[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]]]], 2, stride=1)
    [[[[4.0, 5.0], [7.0, 8.0]]]]
    """
    pool = _pool("max_pool2d", x, kernel_size, stride, padding)
    n, c, oh_n, ow_n = pool.out_shape
    y = [[[[0.0] * ow_n for _ in range(oh_n)] for _ in range(c)] for _ in range(n)]
    for b in range(n):
        for ch in range(c):
            plane = pool.x[b][ch]
            for oh, ow, taps in pool.windows:
                values = [plane[ih][iw] for _, _, ih, iw in taps]
                y[b][ch][oh][ow] = values[_first_max(values)]
    return y


def max_pool2d_vjp(
    x: Nested, cotangent: Nested, kernel_size: int | Pair, stride: int | Pair | None = None, padding: int | Pair = 0
) -> Nested:
    r"""VJP of :func:`max_pool2d`: each window's cotangent goes to its maximal input.

    Where a window has several maximal elements (a tie), the whole gradient
    goes to the **first** one in row-major window order: PyTorch's choice
    (its kernel keeps the first strict maximum). Other frameworks may split
    it or pick another; the conformance suite therefore compares gradients
    only on inputs without ties. Overlapping windows add up.
    """
    fn = "max_pool2d_vjp"
    pool = _pool(fn, x, kernel_size, stride, padding)
    g = _cotangent(fn, cotangent, pool, "max_pool2d")
    n, c, _, _ = pool.out_shape
    dx = bins(pool.x_shape)
    for b in range(n):
        for ch in range(c):
            plane = pool.x[b][ch]
            for oh, ow, taps in pool.windows:
                _, _, ih, iw = taps[_first_max([plane[ih][iw] for _, _, ih, iw in taps])]
                dx[b][ch][ih][iw].append(g[b][ch][oh][ow])
    return totals(dx, 4)


# --- average pooling ----------------------------------------------------------------


def _divisor(pool: _Pool, taps: list[Tap], count_include_pad: bool) -> int:
    # With padding counted, every window has kH·kW elements (the padding is zeros);
    # otherwise only the taps that read x count.
    return pool.kernel[0] * pool.kernel[1] if count_include_pad else len(taps)


def avg_pool2d(
    x: Nested,
    kernel_size: int | Pair,
    stride: int | Pair | None = None,
    padding: int | Pair = 0,
    count_include_pad: bool = True,
) -> Nested:
    r"""Average pooling: the mean of each window, per example and channel.

    .. math:: y_{n,c,h,w} = \frac{1}{|W|} \sum_{(i, j) \in W} \tilde x_{n,\,c,\; h s_h + i,\; w s_w + j}

    where :math:`\tilde x` is ``x`` padded with zeros and :math:`|W| = k_h k_w`
    when ``count_include_pad`` (PyTorch's default), else the number of window
    elements inside ``x``. With ``count_include_pad=True`` it is a convolution
    with the fixed kernel :math:`1/(k_h k_w)` applied to each channel alone.
    Citation: ``lecun1989backpropagation`` (subsampling by averaging).

    >>> avg_pool2d([[[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]]]], 2, stride=1)
    [[[[2.0, 3.0], [5.0, 6.0]]]]
    """
    fn = "avg_pool2d"
    pool = _pool(fn, x, kernel_size, stride, padding)
    include = _flag(fn, "count_include_pad", count_include_pad)
    n, c, oh_n, ow_n = pool.out_shape
    y = [[[[0.0] * ow_n for _ in range(oh_n)] for _ in range(c)] for _ in range(n)]
    for b in range(n):
        for ch in range(c):
            plane = pool.x[b][ch]
            for oh, ow, taps in pool.windows:
                y[b][ch][oh][ow] = exact_sum([plane[ih][iw] for _, _, ih, iw in taps]) / _divisor(pool, taps, include)
    return y


def avg_pool2d_vjp(
    x: Nested,
    cotangent: Nested,
    kernel_size: int | Pair,
    stride: int | Pair | None = None,
    padding: int | Pair = 0,
    count_include_pad: bool = True,
) -> Nested:
    r"""VJP of :func:`avg_pool2d`: each window's cotangent, divided by :math:`|W|`, goes to every element of x in it."""
    fn = "avg_pool2d_vjp"
    pool = _pool(fn, x, kernel_size, stride, padding)
    include = _flag(fn, "count_include_pad", count_include_pad)
    g = _cotangent(fn, cotangent, pool, "avg_pool2d")
    n, c, _, _ = pool.out_shape
    dx = bins(pool.x_shape)
    for b in range(n):
        for ch in range(c):
            for oh, ow, taps in pool.windows:
                share = g[b][ch][oh][ow] / _divisor(pool, taps, include)
                for _, _, ih, iw in taps:
                    dx[b][ch][ih][iw].append(share)
    return totals(dx, 4)


def _flag(fn: str, name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{fn}: {name}={value!r}; expected True or False")
    return value
