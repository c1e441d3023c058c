"""Two-dimensional transposed convolution and its vector-Jacobian product.

Section: *convolutional networks* (issue 13, the convolution family). Layouts
are PyTorch's: ``x`` is NCHW and ``weight`` is ``(in_channels,
out_channels / groups, kH, kW)``, the layout of the conv2d whose input
gradient it computes. ``stride``, ``padding``, ``output_padding`` and
``dilation`` are an int or an ``(h, w)`` pair.

A transposed convolution is the adjoint (the transpose of the matrix) of a
convolution: where conv2d *gathers* the window of input position
``o·s − p + i·d`` into output ``o``, conv_transpose2d *scatters* input ``o``
times each tap into output position ``o·s − p + i·d``. So it walks the very
windows of :func:`~dlterms.reference._windows.windows` that a conv2d from
the (larger) output to the input walks, with the roles of input and output
swapped, and ``conv_transpose2d(y, w)`` is ``conv2d_vjp``'s ``dx`` for a
cotangent ``y``. ``output_padding`` adds rows and columns at the bottom and
right only (the sizes a strided conv2d maps onto the same input size); it
must be smaller than the stride or the dilation, as in PyTorch.
"""

from __future__ import annotations

from typing import NamedTuple

from ._exact import exact_sum
from ._tensor import Nested, integer, same_shape, tensor, unflatten
from ._windows import Pair, Window, bins, check_spatial, pair, totals, windows

__all__ = ["conv_transpose2d", "conv_transpose2d_vjp", "conv_transpose_output_size"]


def conv_transpose_output_size(
    size: int, kernel_size: int, stride: int = 1, padding: int = 0, output_padding: int = 0, dilation: int = 1
) -> int:
    r"""The number of output positions along one spatial axis of a transposed convolution.

    .. math:: H_{out} = (H - 1)\,s - 2p + d\,(k - 1) + p_{out} + 1

    for input size ``H``, kernel size ``k``, stride ``s``, padding ``p``, output
    padding :math:`p_{out}` and dilation ``d``. Citation: ``dumoulin2016guide``
    (relationship 14, with dilation as in PyTorch's ``ConvTranspose2d``).

    >>> conv_transpose_output_size(3, 3, stride=2, padding=1, output_padding=1)
    6
    """
    fn = "conv_transpose_output_size"
    n = integer(fn, "size", size, minimum=1)
    k = integer(fn, "kernel_size", kernel_size, minimum=1)
    s = integer(fn, "stride", stride, minimum=1)
    p = integer(fn, "padding", padding, minimum=0)
    d = integer(fn, "dilation", dilation, minimum=1)
    op = integer(fn, "output_padding", output_padding, minimum=0)
    return _axis_size(fn, "axis", n, k, s, p, op, d)


def _axis_size(fn: str, axis: str, n: int, k: int, s: int, p: int, op: int, d: int) -> int:
    """The output size along one axis, after checking output_padding and that it is not empty."""
    if op >= max(s, d):
        raise ValueError(
            f"{fn}: output_padding={op} along the {axis} but stride={s} and dilation={d}; "
            f"expected output_padding < max(stride, dilation) (PyTorch's rule: it picks one of the input sizes "
            f"a strided conv2d maps to the same size)"
        )
    out = (n - 1) * s - 2 * p + d * (k - 1) + op + 1
    if out < 1:
        raise ValueError(
            f"{fn}: padding={p} along the {axis} leaves {out} output positions ((H − 1)·stride − 2·padding + "
            f"dilation·(kernel − 1) + output_padding + 1 with H={n}, stride={s}, kernel={k}, dilation={d}, "
            f"output_padding={op}); "
            f"expected at least 1 (use less padding)"
        )
    return out


class _ConvT(NamedTuple):
    x: Nested  # (N, C, H, W) nested lists of floats
    weight: Nested  # (C, O / groups, kH, kW)
    bias: list[float] | None  # (O,)
    x_shape: tuple[int, ...]
    w_shape: tuple[int, ...]
    out_shape: tuple[int, int, int, int]
    in_per_group: int
    out_per_group: int
    windows: list[Window]  # per input position (ih, iw): the taps (i, j, oh, ow) it scatters to


def _conv_t(
    fn: str,
    x: Nested,
    weight: Nested,
    bias: Nested | None,
    stride: object,
    padding: object,
    output_padding: object,
    groups: object,
    dilation: object,
) -> _ConvT:
    """Check every argument of a transposed convolution and work out its geometry."""
    x_shape, x_flat = tensor(fn, "x", x)
    w_shape, w_flat = tensor(fn, "weight", weight)
    check_spatial(fn, "x", x_shape, "(N, C, H, W)")
    check_spatial(fn, "weight", w_shape, "(in_channels, out_channels / groups, kH, kW)")
    g = integer(fn, "groups", groups, minimum=1)
    n, c, h, w = x_shape
    c_w, o_g, kh, kw = w_shape
    if c % g:
        raise ValueError(f"{fn}: x has {c} channels, not divisible by groups={g}; expected groups to divide them")
    if c_w != c:
        raise ValueError(
            f"{fn}: weight.shape={w_shape} but x has {c} channels; "
            f"expected weight.shape[0] == {c} (the layout is (in_channels, out_channels / groups, kH, kW))"
        )
    o = o_g * g
    b = None
    if bias is not None:
        b_shape, b = tensor(fn, "bias", bias)
        if b_shape != (o,):
            raise ValueError(
                f"{fn}: bias.shape={b_shape} but weight.shape={w_shape} and groups={g}; expected bias.shape == ({o},)"
            )
    s = pair(fn, "stride", stride, 1)
    p = pair(fn, "padding", padding, 0)
    op = pair(fn, "output_padding", output_padding, 0)
    d = pair(fn, "dilation", dilation, 1)
    out = tuple(
        _axis_size(fn, axis, (h, w)[a], (kh, kw)[a], s[a], p[a], op[a], d[a])
        for a, axis in enumerate(("height", "width"))
    )
    # The conv2d from the output size back to x: its output position (ih, iw) reads, for tap (i, j),
    # position (ih·s − p + i·d, ...) of our output. Past x's size (output_padding ≥ stride, possible
    # when the dilation is larger) its windows read nothing of x and are dropped.
    _, found = windows(fn, (out[0], out[1]), (kh, kw), s, p, d, kernel_name="weight")
    found = [win for win in found if win[0] < h and win[1] < w]
    return _ConvT(
        unflatten(x_flat, x_shape),
        unflatten(w_flat, w_shape),
        b,
        x_shape,
        w_shape,
        (n, o, out[0], out[1]),
        c // g,
        o_g,
        found,
    )


def conv_transpose2d(
    x: Nested,
    weight: Nested,
    bias: Nested | None = None,
    stride: int | Pair = 1,
    padding: int | Pair = 0,
    output_padding: int | Pair = 0,
    groups: int = 1,
    dilation: int | Pair = 1,
) -> Nested:
    r"""2-d transposed convolution: each input value scatters a weighted copy of the kernel into the output.

    .. math:: y_{n,o,u,v} = b_o + \sum_{c \in G(o)} \sum_{u = hs - p + id,\; v = ws - p + jd} w_{c,o,i,j}\, x_{n,c,h,w}

    (``s``, ``p``, ``d``: the stride, padding and dilation of each axis): each input
    value ``x[n][c][h][w]`` times tap ``(i, j)`` lands at output ``(u, v)``, and
    :math:`G(o)` is the input channels of output channel ``o``'s group; positions
    outside the output (inside the ``padding``) are dropped. It
    is the adjoint of :func:`~dlterms.reference.conv.conv2d` with the same
    weight, stride, padding, dilation and groups:
    :math:`\langle \operatorname{conv2d}(z, w), x \rangle = \langle z, \operatorname{convT}(x, w) \rangle`.
    Output size per axis: :func:`conv_transpose_output_size`.

    Citation: ``dumoulin2016guide``; ``zeiler2010deconvolutional``.

    >>> conv_transpose2d([[[[0.0, 1.0], [2.0, 3.0]]]], [[[[0.0, 1.0], [2.0, 3.0]]]])
    [[[[0.0, 0.0, 1.0], [0.0, 4.0, 6.0], [4.0, 12.0, 9.0]]]]
    """
    ct = _conv_t("conv_transpose2d", x, weight, bias, stride, padding, output_padding, groups, dilation)
    n, o, _, _ = ct.out_shape
    y = bins(ct.out_shape)
    for b in range(n):
        for k in range(o):
            first = (k // ct.out_per_group) * ct.in_per_group  # first input channel of k's group
            k_local = k % ct.out_per_group
            for ih, iw, taps in ct.windows:
                for c in range(ct.in_per_group):
                    x_here = ct.x[b][first + c][ih][iw]
                    w_c = ct.weight[first + c]
                    for i, j, oh, ow in taps:
                        y[b][k][oh][ow].append(x_here * w_c[k_local][i][j])
            if ct.bias is not None:
                for row in y[b][k]:
                    for terms in row:
                        terms.append(ct.bias[k])
    return totals(y, 4)


def conv_transpose2d_vjp(
    x: Nested,
    weight: Nested,
    bias: Nested | None,
    cotangent: Nested,
    stride: int | Pair = 1,
    padding: int | Pair = 0,
    output_padding: int | Pair = 0,
    groups: int = 1,
    dilation: int | Pair = 1,
) -> tuple[Nested, Nested, Nested | None]:
    r"""VJP of :func:`conv_transpose2d`: ``(dx, dweight, dbias)``, ``dbias`` None when ``bias`` is None.

    Each product :math:`w_{c,o,i,j}\,x_{n,c,h,w}` sent to output position
    ``(oh, ow)`` sends :math:`g_{n,o,oh,ow}\,w_{c,o,i,j}` to ``dx[n][c][h][w]``
    and :math:`g_{n,o,oh,ow}\,x_{n,c,h,w}` to ``dweight[c][o][i][j]``;
    ``dbias[o]`` is the sum of :math:`g_{n,o,\cdot,\cdot}`. (So ``dx`` is the
    conv2d of ``g`` with the same weight.)
    """
    fn = "conv_transpose2d_vjp"
    ct = _conv_t(fn, x, weight, bias, stride, padding, output_padding, groups, dilation)
    g_shape, g_flat = tensor(fn, "cotangent", cotangent)
    same_shape(fn, "cotangent", g_shape, "conv_transpose2d(x, weight)", ct.out_shape)
    g = unflatten(g_flat, g_shape)
    n, o, _, _ = ct.out_shape
    dx, dw = bins(ct.x_shape), bins(ct.w_shape)
    for b in range(n):
        for k in range(o):
            first = (k // ct.out_per_group) * ct.in_per_group
            k_local = k % ct.out_per_group
            for ih, iw, taps in ct.windows:
                for c in range(ct.in_per_group):
                    x_here = ct.x[b][first + c][ih][iw]
                    w_c = ct.weight[first + c]
                    for i, j, oh, ow in taps:
                        g_here = g[b][k][oh][ow]
                        dx[b][first + c][ih][iw].append(g_here * w_c[k_local][i][j])
                        dw[first + c][k_local][i][j].append(g_here * x_here)
    db = None
    if ct.bias is not None:
        db = [exact_sum([v for b in range(n) for row in g[b][k] for v in row]) for k in range(o)]
    return totals(dx, 4), totals(dw, 4), db
