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

One loop structure serves every case: :func:`~dlterms.reference._windows.windows`
lists, for each output position, the kernel taps ``(i, j)`` and the input
positions ``(ih, iw)`` they read (taps that fall in the zero padding are left
out, since they add nothing). Stride, padding, dilation and groups only change
that list or the channel range; the forward pass and the VJP walk the same
list, and so do the pooling functions of :mod:`dlterms.reference.pooling`.
"""

from __future__ import annotations

from typing import NamedTuple

from ._exact import exact_sum
from ._tensor import Nested, integer, same_shape, tensor, unflatten
from ._windows import Pair, Window, bins, check_spatial, output_size, pair, totals, windows

__all__ = ["conv2d", "conv2d_vjp", "conv_output_size"]


def conv_output_size(size: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    r"""The number of output positions along one spatial axis of a convolution or pooling.

    .. math:: H_{out} = \left\lfloor \frac{H + 2p - d(k - 1) - 1}{s} \right\rfloor + 1

    for input size ``H``, kernel size ``k``, stride ``s``, padding ``p`` and
    dilation ``d``. Citation: ``dumoulin2016guide`` (relationship 15).

    >>> conv_output_size(5, 3, stride=2, padding=1)
    3
    """
    fn = "conv_output_size"
    return output_size(
        fn,
        "axis",
        integer(fn, "size", size, minimum=1),
        integer(fn, "kernel_size", kernel_size, minimum=1),
        integer(fn, "stride", stride, minimum=1),
        integer(fn, "padding", padding, minimum=0),
        integer(fn, "dilation", dilation, minimum=1),
    )


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
    check_spatial(fn, "x", x_shape, "(N, C, H, W)")
    check_spatial(fn, "weight", w_shape, "(out_channels, in_channels / groups, kH, kW)")
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
    (oh, ow), found = windows(
        fn,
        (h, w),
        (kh, kw),
        pair(fn, "stride", stride, 1),
        pair(fn, "padding", padding, 0),
        pair(fn, "dilation", dilation, 1),
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
        found,
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

    Citation: ``lecun1989backpropagation``; arithmetic ``dumoulin2016guide``.

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
                y[b][k][oh][ow] = exact_sum(terms)
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
    dx, dw, db = bins(cv.x_shape), bins(cv.w_shape), bins((o,))
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
    return totals(dx, 4), totals(dw, 4), (totals(db, 1) if cv.bias is not None else None)
