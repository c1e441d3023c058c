"""Adaptive average pooling (and global average pooling) over 2-d bins, and its vector-Jacobian product.

Section: *convolutional networks* (issue 13). ``x`` is NCHW; the output size
is given instead of the window: ``output_size`` is an int or an ``(h, w)``
pair. Each output position averages one bin of the input, PyTorch's bins:
along an axis of size ``H`` with ``out`` outputs, output ``i`` averages
input positions ``⌊i·H/out⌋`` to ``⌈(i + 1)·H/out⌉ − 1``. The bins cover the
input, and overlap by one position where ``out`` does not divide ``H``; when
it does, they are the windows of ``avg_pool2d`` with kernel = stride =
``H/out``. ``output_size`` 1 is global average pooling: the mean of each
channel. An output larger than the input repeats input positions.
"""

from __future__ import annotations

from ._exact import exact_sum
from ._tensor import Nested, integer, same_shape, tensor, unflatten
from ._windows import Pair, bins, check_spatial, pair, totals

__all__ = ["adaptive_avg_pool2d", "adaptive_avg_pool2d_vjp", "adaptive_bins"]


def adaptive_bins(size: int, out: int) -> list[tuple[int, int]]:
    r"""The ``[start, end)`` input range of each of ``out`` outputs along an axis of ``size`` positions.

    .. math:: \text{start}_i = \lfloor i H / n \rfloor, \quad \text{end}_i = \lceil (i + 1) H / n \rceil

    for input size ``H`` and ``n`` outputs (PyTorch's ``adaptive_avg_pool2d``).
    Citation: ``lin2014network`` (global average pooling).

    >>> adaptive_bins(5, 3)
    [(0, 2), (1, 4), (3, 5)]
    """
    fn = "adaptive_bins"
    h, n = integer(fn, "size", size, minimum=1), integer(fn, "out", out, minimum=1)
    return [((i * h) // n, -((-(i + 1) * h) // n)) for i in range(n)]


def _geometry(fn: str, x: Nested, output_size: object) -> tuple[Nested, tuple[int, ...], Pair]:
    shape, flat = tensor(fn, "x", x)
    check_spatial(fn, "x", shape, "(N, C, H, W)")
    return unflatten(flat, shape), shape, pair(fn, "output_size", output_size, 1)


def adaptive_avg_pool2d(x: Nested, output_size: int | Pair) -> Nested:
    r"""Adaptive average pooling: the mean of each of ``output_size`` bins, per example and channel.

    .. math:: y_{n,c,i,j} = \frac{1}{|R_i|\,|C_j|} \sum_{h \in R_i} \sum_{w \in C_j} x_{n,c,h,w}

    where :math:`R_i` and :math:`C_j` are the bins of :func:`adaptive_bins`
    along the height and the width. ``output_size=1`` is global average
    pooling. Citation: ``lin2014network``.

    >>> adaptive_avg_pool2d([[[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]]]], 2)
    [[[[2.0, 3.0], [5.0, 6.0]]]]
    """
    xs, (n, c, h, w), (oh, ow) = _geometry("adaptive_avg_pool2d", x, output_size)
    rows, cols = adaptive_bins(h, oh), adaptive_bins(w, ow)
    return [
        [
            [
                [
                    exact_sum([xs[b][ch][r][q] for r in range(r0, r1) for q in range(q0, q1)]) / ((r1 - r0) * (q1 - q0))
                    for q0, q1 in cols
                ]
                for r0, r1 in rows
            ]
            for ch in range(c)
        ]
        for b in range(n)
    ]


def adaptive_avg_pool2d_vjp(x: Nested, cotangent: Nested, output_size: int | Pair) -> Nested:
    r"""VJP of :func:`adaptive_avg_pool2d`: each bin's cotangent, over the bin's size, goes to every input in it."""
    fn = "adaptive_avg_pool2d_vjp"
    _, shape, (oh, ow) = _geometry(fn, x, output_size)
    n, c, h, w = shape
    g_shape, g_flat = tensor(fn, "cotangent", cotangent)
    same_shape(fn, "cotangent", g_shape, "adaptive_avg_pool2d(x)", (n, c, oh, ow))
    g = unflatten(g_flat, g_shape)
    rows, cols = adaptive_bins(h, oh), adaptive_bins(w, ow)
    dx = bins(shape)
    for b in range(n):
        for ch in range(c):
            for i, (r0, r1) in enumerate(rows):
                for j, (q0, q1) in enumerate(cols):
                    share = g[b][ch][i][j] / ((r1 - r0) * (q1 - q0))
                    for r in range(r0, r1):
                        for q in range(q0, q1):
                            dx[b][ch][r][q].append(share)
    return totals(dx, 4)
