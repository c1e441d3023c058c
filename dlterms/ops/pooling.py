"""Op records of pooling (seed section: convolutional networks)."""

from __future__ import annotations

from .conv import PAIR
from .record import ABSOLUTE, INF, NAN, Cases, Op, Special, option, relative, tensor

_PLANES = "2 × 16 planes of sides 15 to 34, odd and even, kernels 2 and 3"
_WINDOW = (
    tensor("x"),
    option("kernel_size", annotation=PAIR),
    option("stride", None, f"{PAIR} | None"),
    option("padding", 0, PAIR),
)

OPS = (
    Op(
        "max_pool2d",
        term="pooling",
        sizes=Cases("sizes.pooling", {"op": "max", "sides": (15, 16, 33)}, why=_PLANES),
        summary="the maximum of each window, NCHW (padding is −∞)",
        args=_WINDOW,
        cases=Cases("strategies.pool_params", {"op": "max"}),
        accuracy=relative("value", "the maximum selects one input: exact"),
        grad_cases=Cases(
            "strategies.pool_params",
            {"op": "max", "distinct": True},
            why="no ties: at a tie max pooling is not differentiable and frameworks legitimately differ "
            "on which element gets the gradient (PyTorch: the first)",
        ),
        special_values=(
            Special(
                "nan_in_window",
                "max_pool2d of a window holding NaN is NaN",
                "the NaN is not skipped",
                {"x": [[[[NAN, 5.0], [0.0, 1.0]]]], "kernel_size": 2},
                value=[[[[NAN]]]],
                kind="choice",
                because="IEEE 754-2019's maximum keeps NaN, 754-2008's maxNum (C's fmax) drops it: TensorFlow gives 5",
            ),
            Special(
                "all_nan_window",
                "max_pool2d of a window of NaNs only is NaN",
                "there is no number to choose",
                {"x": [[[[NAN, NAN], [NAN, NAN]]]], "kernel_size": 2},
                value=[[[[NAN]]]],
                kind="definition",
                because="both maximum (NaN propagates) and maxNum (NaN dropped while a number remains) give NaN "
                "when every element is NaN; a reduction's start value (−FLT_MAX, −∞) is never right",
            ),
        ),
    ),
    Op(
        "avg_pool2d",
        term="pooling",
        sizes=Cases("sizes.pooling", {"op": "avg", "sides": (15, 16, 33)}, why=_PLANES),
        summary="the mean of each window, NCHW",
        args=(*_WINDOW, option("count_include_pad", True, "bool")),
        cases=Cases("strategies.pool_params", {"op": "avg"}),
        accuracy=ABSOLUTE,
        special_values=(
            Special(
                "infinity_in_window",
                "avg_pool2d of a window holding +∞ is +∞",
                "a sum holding +∞ (and no −∞ or NaN) is +∞",
                {"x": [[[[INF, 5.0], [0.0, 1.0]]]], "kernel_size": 2},
                value=[[[[INF]]]],
                kind="definition",
                because="a sum of finite terms and +∞ is +∞: the formula, no limit taken",
            ),
            Special(
                "opposite_infinities_in_window",
                "avg_pool2d of a window holding +∞ and −∞ is NaN",
                "∞ − ∞ is NaN in IEEE arithmetic",
                {"x": [[[[INF, -INF], [0.0, 1.0]]]], "kernel_size": 2},
                value=[[[[NAN]]]],
                kind="definition",
                because="∞ − ∞ is undefined, and NaN is IEEE's result for it",
            ),
        ),
    ),
)
