"""Op records of convolution (seed section: convolutional networks)."""

from __future__ import annotations

from .record import ABSOLUTE, INF, NAN, Cases, Op, Special, option, tensor

PAIR = "int | (h, w)"

_LAYOUTS = "channel counts of 16 and 32 with 1 or 2 channels per group, where kernels switch code paths"

OPS = (
    Op(
        "conv2d",
        term="convolution",
        sizes=Cases(
            "sizes.conv",
            {"layouts": ((16, 16, 16), (16, 32, 16), (16, 32, 8), (32, 32, 16), (8, 16, 1), (3, 16, 1), (48, 48, 3))},
            why="channels in multiples of 8 and 16, with 1 to 16 channels per group (depthwise too)",
        ),
        summary="2-d cross-correlation, NCHW; weight (out, in/groups, kh, kw)",
        args=(
            tensor("x"),
            tensor("weight"),
            tensor("bias", None, annotation="tensor | None"),
            option("stride", 1, PAIR),
            option("padding", 0, PAIR),
            option("dilation", 1, PAIR),
            option("groups", 1, "int"),
        ),
        cases=Cases("strategies.conv_params", {"many_channels": True}, why=_LAYOUTS),
        accuracy=ABSOLUTE,
        grad_cases=Cases(
            "strategies.conv_params",
            {"bias": True, "many_channels": True},
            why="the VJP returns a bias gradient only for a bias; " + _LAYOUTS,
        ),
        special_values=(
            Special(
                "infinity_times_zero_weight",
                "conv2d of an input holding +∞ with a zero weight gives NaN",
                "0·∞ is NaN in IEEE arithmetic",
                {"x": [[[[INF, 0.0], [0.0, 1.0]]]], "weight": [[[[0.0]]]]},
                value=[[[[NAN, 0.0], [0.0, 0.0]]]],
                kind="choice",
                because="0·∞ is undefined: IEEE gives NaN; a kernel that skips zero weights (or Winograd, FFT) may not",
            ),
            Special(
                "nan_propagates",
                "conv2d of an input holding NaN is NaN exactly where a window covers it",
                "NaN in, NaN out",
                {"x": [[[[NAN, 2.0], [3.0, 4.0]]]], "weight": [[[[1.0, 1.0]]]]},
                value=[[[[NAN], [7.0]]]],
                kind="definition",
                because="NaN in, NaN out where a window covers it; the other outputs do not depend on it",
            ),
        ),
    ),
)
