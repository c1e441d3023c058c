"""Op records of the adaptive optimisers: Adam and AdamW (beyond the seed, section gradient descent)."""

from __future__ import annotations

from .record import VECTOR_LENGTHS, Cases, Op, option, relative, tensor

# The state and hyper-parameters of the Adam family, in the order of the reference's signature.
_STATE = (tensor("param"), tensor("grad"), tensor("m"), tensor("v", annotation="≥ 0"))
_HYPER = (
    option("step", annotation="int ≥ 1: t, the number of this step"),
    option("lr", 1e-3, "float ≥ 0"),
    option("beta1", 0.9, "float in [0, 1)"),
    option("beta2", 0.999, "float in [0, 1)"),
    option("eps", 1e-8, "float ≥ 0, added to √v̂"),
)
_WHY = (
    "a few roundings per element, relative to the terms of each output (m and v: their two terms; "
    "param: |param| and lr·|u|), with the condition of 1 − βᵗ and of every hyper-parameter's rounding to "
    "the dtype (β₂ = 0.999 rounded by u moves 1 − β₂ by 1000·u); m′'s floor λ carried through the step"
)
# float32 and float64 only: eps = 1e-8 is below float16's smallest subnormal, and (1 − β₂)·g² of a
# gradient below 2⁻⁷ underflows there; mixed-precision training keeps the optimiser's state in float32.
_DTYPES = ("float32", "float64")
_VECTORS = "vectors of every length 2^k − 1, 2^k, 2^k + 1"
_GRAD_WHY = "v ≥ 1/4, so √v̂ is far from 0, where its derivative is infinite"

OPS = (
    Op(
        "adam_step",
        term="adam",
        summary="one Adam step with bias correction: (param, m, v) after step t (out of place)",
        args=(*_STATE, *_HYPER),
        cases=Cases("invariants.adaptive_optim.adam_cases"),
        grad_cases=Cases("invariants.adaptive_optim.adam_cases", {"v_min": 0.25}, why=_GRAD_WHY),
        returns=("param", "m", "v"),
        dtypes=_DTYPES,
        accuracy=relative("adam_step", _WHY, accumulation="adam_step"),
        sizes=Cases("sizes.adaptive_steps", {"lengths": VECTOR_LENGTHS}, why=_VECTORS),
    ),
    Op(
        "adamw_step",
        term="adamw",
        summary="one AdamW step: the Adam step, and param decayed by 1 − lr·weight_decay (out of place)",
        args=(*_STATE, *_HYPER, option("weight_decay", 1e-2, "float ≥ 0")),
        cases=Cases("invariants.adaptive_optim.adam_cases", {"decay": True}),
        grad_cases=Cases("invariants.adaptive_optim.adam_cases", {"decay": True, "v_min": 0.25}, why=_GRAD_WHY),
        returns=("param", "m", "v"),
        dtypes=_DTYPES,
        accuracy=relative("adam_step", _WHY, accumulation="adam_step"),
        sizes=Cases("sizes.adaptive_steps", {"lengths": VECTOR_LENGTHS, "decay": True}, why=_VECTORS),
    ),
)
