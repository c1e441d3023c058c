"""Two-dimensional convolution and its vector-Jacobian product.

Seed section: *a basic understanding of CNNs*. Layouts are PyTorch's: ``x`` is
NCHW (batch, channels, height, width) and ``weight`` is OIHW (output
channels, input channels per group, kernel height, kernel width). ``stride``,
``padding`` and ``dilation`` are an int or an ``(h, w)`` pair.

What deep learning calls *convolution* is **cross-correlation**: the kernel
slides over the input without being flipped. True (mathematical) convolution
flips the kernel first; since the kernel is learnt, a network learns the
flipped kernel instead and nothing is lost, so frameworks compute the cheaper
cross-correlation and keep the old name.

One loop structure serves every case: :func:`_windows` lists, for each output
position, the kernel taps ``(i, j)`` and the input positions ``(ih, iw)`` they
read (taps that fall in the zero padding are left out, since they add
nothing). Stride, padding, dilation and groups only change that list or the
channel range; the forward pass and the VJP walk the same list, and so do the
pooling functions of :mod:`dlterms.reference.pooling`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from ._tensor import Nested, integer, same_shape, tensor, unflatten

__all__ = ["conv2d", "conv2d_vjp", "conv_output_size"]

Pair = tuple[int, int]
Tap = tuple[int, int, int, int]  # kernel offset (i, j), input position (ih, iw)
Window = tuple[int, int, list[Tap]]  # output position (oh, ow) and the taps it reads


def _pair(fn: str, name: str, value: object, minimum: int) -> Pair:
    """An int or an ``(h, w)`` pair of ints (as in PyTorch), each ``>= minimum``."""
    if isinstance(value, list | tuple):
        if len(value) != 2:
            raise ValueError(f"{fn}: {name}={value!r}; expected an int or a pair (h, w) of ints")
        return (
            integer(fn, f"{name}[0]", value[0], minimum=minimum),
            integer(fn, f"{name}[1]", value[1], minimum=minimum),
        )
    v = integer(fn, name, value, minimum=minimum)
    return v, v


def _output_size(
    fn: str, axis: str, size: int, k: int, s: int, p: int, d: int, names: tuple[str, str] = ("size", "kernel_size")
) -> int:
    """``names``: the arguments that gave ``size`` and ``k``, for the message (``x.shape[2]``, ``weight.shape[2]``)."""
    extent = d * (k - 1) + 1  # the dilated kernel covers this many input positions
    if extent > size + 2 * p:
        # The message names the arguments that gave both sizes, so the user knows which to change.
        raise ValueError(
            f"{fn}: the kernel spans {extent} positions along the {axis} (dilation {d} × ({names[1]}={k} − 1) + 1) "
            f"but the padded input has only {size} + 2·{p} = {size + 2 * p} ({names[0]}={size}, padding {p}); "
            f"expected a kernel that fits (use a smaller kernel or dilation, or more padding)"
        )
    return (size + 2 * p - extent) // s + 1


def conv_output_size(size: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    r"""The number of output positions along one spatial axis of a convolution or pooling.

    .. math:: H_{out} = \left\lfloor \frac{H + 2p - d(k - 1) - 1}{s} \right\rfloor + 1

    for input size ``H``, kernel size ``k``, stride ``s``, padding ``p`` and
    dilation ``d``. Citation: ``dumoulin2016guide`` (relationship 15).
    Invariants: ``conv2d.output_shape``, ``max_pool2d.output_shape``.

    >>> conv_output_size(5, 3, stride=2, padding=1)
    3
    """
    fn = "conv_output_size"
    return _output_size(
        fn,
        "axis",
        integer(fn, "size", size, minimum=1),
        integer(fn, "kernel_size", kernel_size, minimum=1),
        integer(fn, "stride", stride, minimum=1),
        integer(fn, "padding", padding, minimum=0),
        integer(fn, "dilation", dilation, minimum=1),
    )


def _windows(
    fn: str, size: Pair, kernel: Pair, stride: Pair, padding: Pair, dilation: Pair, kernel_name: str = "kernel_size"
) -> tuple[Pair, list[Window]]:
    """The output size and, for every output position, the taps that read the input (not the padding).

    ``kernel_name`` is the argument that gave the kernel size (``weight`` for a
    convolution), named by the message when the kernel does not fit.
    """
    axes = []
    for a, axis in enumerate(("height", "width")):
        n, k, s, p, d = size[a], kernel[a], stride[a], padding[a], dilation[a]
        k_name = f"{kernel_name}.shape[{2 + a}]" if kernel_name == "weight" else kernel_name
        out = _output_size(fn, axis, n, k, s, p, d, (f"x.shape[{2 + a}]", k_name))
        # Output o reads input position o·s − p + i·d for kernel offset i (negative or ≥ n: padding).
        axes.append([[(i, o * s - p + i * d) for i in range(k) if 0 <= o * s - p + i * d < n] for o in range(out)])
    rows, cols = axes
    windows = [
        (oh, ow, [(i, j, ih, iw) for i, ih in row for j, iw in col])
        for oh, row in enumerate(rows)
        for ow, col in enumerate(cols)
    ]
    return (len(rows), len(cols)), windows


def _sum(terms: list[float]) -> float:
    # fsum is exact to one rounding, so the result does not depend on the order of the terms;
    # it refuses inf − inf and intermediate overflow, where the plain sum gives the IEEE answer.
    try:
        return math.fsum(terms)
    except (OverflowError, ValueError):
        return sum(terms)


def _bins(shape: tuple[int, ...]) -> Nested:
    """Nested lists of ``shape`` whose leaves are empty lists that collect terms for :func:`_totals`."""
    return [_bins(shape[1:]) for _ in range(shape[0])] if shape else []


def _totals(bins: Nested, depth: int) -> Nested:
    return _sum(bins) if depth == 0 else [_totals(b, depth - 1) for b in bins]


def _spatial(fn: str, name: str, shape: tuple[int, ...], layout: str) -> None:
    if len(shape) != 4:
        raise ValueError(f"{fn}: {name}.shape={shape}; expected a 4-d tensor {layout}")
    if 0 in shape[2:]:
        raise ValueError(f"{fn}: {name}.shape={shape} has an empty spatial axis; expected height and width >= 1")


class _Conv(NamedTuple):
    x: Nested  # (N, C, H, W) nested lists of floats
    weight: Nested  # (O, C / groups, kH, kW)
    bias: list[float] | None  # (O,)
    x_shape: tuple[int, ...]
    w_shape: tuple[int, ...]
    out_shape: tuple[int, int, int, int]
    in_per_group: int
    out_per_group: int
    windows: list[Window]


def _conv(
    fn: str,
    x: Nested,
    weight: Nested,
    bias: Nested | None,
    stride: object,
    padding: object,
    dilation: object,
    groups: object,
) -> _Conv:
    """Check every argument of a convolution and work out its geometry."""
    x_shape, x_flat = tensor(fn, "x", x)
    w_shape, w_flat = tensor(fn, "weight", weight)
    _spatial(fn, "x", x_shape, "(N, C, H, W)")
    _spatial(fn, "weight", w_shape, "(out_channels, in_channels / groups, kH, kW)")
    g = integer(fn, "groups", groups, minimum=1)
    n, c, h, w = x_shape
    o, c_g, kh, kw = w_shape
    if c % g:
        raise ValueError(f"{fn}: x has {c} channels, not divisible by groups={g}; expected groups to divide them")
    if o % g:
        raise ValueError(
            f"{fn}: weight.shape={w_shape} has {o} output channels, not divisible by groups={g}; "
            f"expected groups to divide them"
        )
    if c_g * g != c:
        raise ValueError(
            f"{fn}: weight.shape={w_shape} but x has {c} channels; "
            f"expected weight.shape[1] * groups == {c} (groups={g})"
        )
    b = None
    if bias is not None:
        b_shape, b = tensor(fn, "bias", bias)
        if b_shape != (o,):
            raise ValueError(f"{fn}: bias.shape={b_shape} but weight.shape={w_shape}; expected bias.shape == ({o},)")
    (oh, ow), windows = _windows(
        fn,
        (h, w),
        (kh, kw),
        _pair(fn, "stride", stride, 1),
        _pair(fn, "padding", padding, 0),
        _pair(fn, "dilation", dilation, 1),
        kernel_name="weight",
    )
    return _Conv(
        unflatten(x_flat, x_shape),
        unflatten(w_flat, w_shape),
        b,
        x_shape,
        w_shape,
        (n, o, oh, ow),
        c_g,
        o // g,
        windows,
    )


def conv2d(
    x: Nested,
    weight: Nested,
    bias: Nested | None = None,
    stride: int | Pair = 1,
    padding: int | Pair = 0,
    dilation: int | Pair = 1,
    groups: int = 1,
) -> Nested:
    r"""2-d convolution as deep learning defines it: cross-correlation of ``x`` with ``weight``, plus ``bias``.

    .. math::
        y_{n,o,h,w} = b_o + \sum_{c \in G(o)} \sum_{i=0}^{k_h-1} \sum_{j=0}^{k_w-1}
            w_{o,c,i,j}\; \tilde x_{n,\,c,\; h s_h + i d_h,\; w s_w + j d_w}

    where :math:`\tilde x` is ``x`` with ``padding`` zeros on each side and
    :math:`G(o)` the input channels of output channel ``o``'s group. The
    kernel is not flipped (true convolution would read
    :math:`w_{o,c,k_h-1-i,k_w-1-j}`). Output size per axis: :func:`conv_output_size`.
    Special values follow IEEE arithmetic: NaN propagates, an infinite input
    times a zero weight gives NaN (0·∞); taps in the padding are skipped, so
    the padding never multiplies an infinite weight.

    Citation: ``lecun1989backpropagation``; arithmetic ``dumoulin2016guide``.
    Invariants: ``conv2d.output_shape``, ``conv2d.linear_in_input``,
    ``conv2d.linear_in_weight``, ``conv2d.translation_equivariant``,
    ``conv2d.delta_kernel_is_identity``, ``conv2d.equals_im2col_matmul``,
    ``conv2d.stride_subsamples``, ``conv2d.padding_is_zeros``.

    >>> conv2d([[[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]]]], [[[[0.0, 1.0], [2.0, 3.0]]]])
    [[[[19.0, 25.0], [37.0, 43.0]]]]
    """
    cv = _conv("conv2d", x, weight, bias, stride, padding, dilation, groups)
    n, o, oh_n, ow_n = cv.out_shape
    y = [[[[0.0] * ow_n for _ in range(oh_n)] for _ in range(o)] for _ in range(n)]
    for b in range(n):
        for k in range(o):
            first = (k // cv.out_per_group) * cv.in_per_group  # first input channel of k's group
            w_k = cv.weight[k]
            for oh, ow, taps in cv.windows:
                terms = [
                    cv.x[b][first + c][ih][iw] * w_k[c][i][j] for c in range(cv.in_per_group) for i, j, ih, iw in taps
                ]
                if cv.bias is not None:
                    terms.append(cv.bias[k])
                y[b][k][oh][ow] = _sum(terms)
    return y


def conv2d_vjp(
    x: Nested,
    weight: Nested,
    bias: Nested | None,
    cotangent: Nested,
    stride: int | Pair = 1,
    padding: int | Pair = 0,
    dilation: int | Pair = 1,
    groups: int = 1,
) -> tuple[Nested, Nested, Nested | None]:
    r"""VJP of :func:`conv2d`: ``(dx, dweight, dbias)``, ``dbias`` None when ``bias`` is None.

    Each product :math:`w_{o,c,i,j}\,x_{n,c,ih,iw}` in the forward sum sends
    :math:`g_{n,o,h,w}\,w_{o,c,i,j}` to ``dx[n][c][ih][iw]`` and
    :math:`g_{n,o,h,w}\,x_{n,c,ih,iw}` to ``dweight[o][c][i][j]``; ``dbias[o]``
    is the sum of :math:`g_{n,o,h,w}` over ``n, h, w``. (So ``dx`` is the
    transposed convolution of ``g``, and ``dweight`` the cross-correlation of
    ``x`` with ``g``.)
    """
    fn = "conv2d_vjp"
    cv = _conv(fn, x, weight, bias, stride, padding, dilation, groups)
    g_shape, g_flat = tensor(fn, "cotangent", cotangent)
    same_shape(fn, "cotangent", g_shape, "conv2d(x, weight)", cv.out_shape)
    g = unflatten(g_flat, g_shape)
    n, o, _, _ = cv.out_shape
    dx, dw, db = _bins(cv.x_shape), _bins(cv.w_shape), _bins((o,))
    for b in range(n):
        for k in range(o):
            first = (k // cv.out_per_group) * cv.in_per_group
            for oh, ow, taps in cv.windows:
                g_here = g[b][k][oh][ow]
                db[k].append(g_here)
                for c in range(cv.in_per_group):
                    for i, j, ih, iw in taps:
                        dx[b][first + c][ih][iw].append(g_here * cv.weight[k][c][i][j])
                        dw[k][c][i][j].append(g_here * cv.x[b][first + c][ih][iw])
    return _totals(dx, 4), _totals(dw, 4), (_totals(db, 1) if cv.bias is not None else None)
