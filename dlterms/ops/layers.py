"""Op records of the layers (seed section: the network)."""

from __future__ import annotations

from .record import ABSOLUTE, Cases, Op, tensor

OPS = (
    Op(
        "linear",
        term="dense-layer",
        summary="x Wᵀ + b; weight (out, in) as in torch.nn.Linear",
        args=(tensor("x"), tensor("weight"), tensor("bias", None, annotation="tensor | None")),
        cases=Cases("invariants.layers.linear_cases"),
        accuracy=ABSOLUTE,
    ),
)
