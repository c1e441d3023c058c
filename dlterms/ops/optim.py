"""Op records of the optimisers (seed section: gradient descent)."""

from __future__ import annotations

from .record import ABSOLUTE, INF, NAN, VECTOR_LENGTHS, Cases, Op, Special, option, tensor

OPS = (
    Op(
        "sgd_step",
        term="gradient-descent",
        sizes=Cases("sizes.steps", {"lengths": VECTOR_LENGTHS}, why="vectors of every length 2^k − 1, 2^k, 2^k + 1"),
        summary="param − lr·grad (out of place)",
        args=(tensor("param"), tensor("grad"), option("lr", annotation="float ≥ 0")),
        cases=Cases("invariants.optim.step_cases"),
        accuracy=ABSOLUTE,
        returns=("param",),
        special_values=(
            Special(
                "zero_rate_infinite_gradient",
                "sgd_step with lr = 0 and an infinite gradient gives NaN",
                "0·∞ is NaN in IEEE arithmetic",
                {"param": [1.0], "grad": [INF], "lr": 0.0},
                value=[NAN],
                kind="choice",
                because="0·∞ is undefined: IEEE gives NaN; a step of rate 0 may as well leave the parameter",
            ),
        ),
    ),
)
