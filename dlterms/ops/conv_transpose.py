"""Op records of transposed convolution (section: convolutional networks, issue 13)."""

from __future__ import annotations

from .conv import PAIR
from .record import ABSOLUTE, INF, NAN, Cases, Op, Special, option, tensor

_CASES = "stride 1-3, padding 0-2, output_padding below max(stride, dilation), dilation 1-2, groups 1-3"

OPS = (
    Op(
        "conv_transpose2d",
        term="transposed-convolution",
        summary="2-d transposed convolution (the adjoint of conv2d), NCHW; weight (in, out/groups, kh, kw)",
        args=(
            tensor("x"),
            tensor("weight"),
            tensor("bias", None, annotation="tensor | None"),
            option("stride", 1, PAIR),
            option("padding", 0, PAIR),
            option("output_padding", 0, PAIR),
            option("groups", 1, "int"),
            option("dilation", 1, PAIR),
        ),
        cases=Cases("invariants.conv_transpose.conv_transpose_params", why=_CASES),
        accuracy=ABSOLUTE,
        grad_cases=Cases(
            "invariants.conv_transpose.conv_transpose_params",
            {"bias": True},
            why="the VJP returns a bias gradient only for a bias; " + _CASES,
        ),
        sizes=Cases(
            "invariants.conv_transpose.conv_transpose_sizes",
            {"layouts": ((16, 16, 1), (32, 16, 1), (16, 32, 2), (16, 16, 16), (3, 48, 3))},
            why="(in, out, groups): channels in multiples of 8 and 16, depthwise too; stride 2 upsampling of 9×8 "
            "images with output_padding 1, and stride 1",
        ),
        special_values=(
            Special(
                "infinity_times_zero_weight",
                "conv_transpose2d of an input holding +∞ with a zero weight gives NaN where it lands",
                "0·∞ is NaN in IEEE arithmetic",
                {"x": [[[[INF, 1.0]]]], "weight": [[[[0.0]]]]},
                value=[[[[NAN, 0.0]]]],
                kind="choice",
                because="0·∞ is undefined: IEEE gives NaN; a kernel that skips zero weights (or Winograd, FFT) may not",
            ),
            Special(
                "nan_propagates",
                "conv_transpose2d of an input holding NaN is NaN exactly where it is scattered",
                "NaN in, NaN out",
                {"x": [[[[NAN, 2.0]]]], "weight": [[[[1.0, 1.0]]]]},
                value=[[[[NAN, NAN, 2.0]]]],
                kind="definition",
                because="input 0 reaches outputs 0 and 1 through the 1 × 2 kernel; output 2 reads only input 1",
            ),
        ),
    ),
)
