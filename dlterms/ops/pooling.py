"""Op records of pooling (seed section: convolutional networks)."""

from __future__ import annotations

from .conv import PAIR
from .record import INF, NAN, Cases, Op, Special, option, tensor

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
        summary="the maximum of each window, NCHW (padding is −∞)",
        args=_WINDOW,
        cases=Cases("strategies.pool_params", {"op": "max"}),
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
            ),
        ),
    ),
    Op(
        "avg_pool2d",
        term="pooling",
        summary="the mean of each window, NCHW",
        args=(*_WINDOW, option("count_include_pad", True, "bool")),
        cases=Cases("strategies.pool_params", {"op": "avg"}),
        special_values=(
            Special(
                "infinity_in_window",
                "avg_pool2d of a window holding +∞ is +∞",
                "a sum holding +∞ (and no −∞ or NaN) is +∞",
                {"x": [[[[INF, 5.0], [0.0, 1.0]]]], "kernel_size": 2},
                value=[[[[INF]]]],
            ),
            Special(
                "opposite_infinities_in_window",
                "avg_pool2d of a window holding +∞ and −∞ is NaN",
                "∞ − ∞ is NaN in IEEE arithmetic",
                {"x": [[[[INF, -INF], [0.0, 1.0]]]], "kernel_size": 2},
                value=[[[[NAN]]]],
            ),
        ),
    ),
)
