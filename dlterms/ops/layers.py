"""Op records of the layers (seed section: the network)."""

from __future__ import annotations

from .record import HUGE_ROWS, REDUCTION_LENGTHS, Cases, Op, relative, tensor

OPS = (
    Op(
        "linear",
        term="dense-layer",
        sizes=Cases(
            "sizes.linear",
            {"lengths": REDUCTION_LENGTHS, "rows": HUGE_ROWS},
            why=f"dot products of 255 to 2,049 terms; {HUGE_ROWS:,} rows",
        ),
        summary="x Wᵀ + b; weight (out, in) as in torch.nn.Linear",
        args=(tensor("x"), tensor("weight"), tensor("bias", None, annotation="tensor | None")),
        cases=Cases("invariants.layers.linear_cases", {"bias": None}),
        grad_cases=Cases(
            "invariants.layers.linear_cases", why="a bias always: the VJP differentiates x, weight and bias"
        ),
        accuracy=relative(
            "rounded",
            "a dot product of exact inputs: the result rounded, plus what the sum of its products may add "
            "(γ_n·Σ|x_i·w_i| in the accumulator's precision); it can cancel, so nothing relative to y beyond that",
            accumulation="dot_product",
        ),
    ),
)
