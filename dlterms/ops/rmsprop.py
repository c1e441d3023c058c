"""Op records of RMSprop and Adagrad (beyond the seed, section gradient descent)."""

from __future__ import annotations

from .record import NAN, VECTOR_LENGTHS, Cases, Op, Special, option, relative, tensor

_EPS_IN_SQRT = option("eps_in_sqrt", False, "bool: ε under the root, g/√(v + ε) (optax, Keras), not g/(√v + ε)")
_WHY = (
    "a few roundings per element, relative to the terms of each output (the state: its two terms; "
    "param: |param| and the step lr·|g|/d), with the state's error carried through ∂d/∂v and ε's rounding; "
    "a flushed subnormal numerator carried through the division by d (as small as ε)"
)
# float32 and float64 only, as Adam: ε = 1e-8 and 1e-10 are below float16's smallest subnormal, and
# mixed-precision training keeps the optimiser's state in float32.
_DTYPES = ("float32", "float64")
_VECTORS = "vectors of every length 2^k − 1, 2^k, 2^k + 1"
_GRAD_WHY = "a state ≥ 1/4 (and α ≥ 0.5), so the root is far from 0, where its derivative is infinite"

OPS = (
    Op(
        "rmsprop_step",
        term="rmsprop",
        summary="one RMSprop step: (param, square_avg) after v ← αv + (1 − α)g², θ ← θ − lr·g/(√v + ε)",
        args=(
            tensor("param"),
            tensor("grad"),
            tensor("square_avg", annotation="≥ 0"),
            option("lr", 1e-2, "float ≥ 0"),
            option("alpha", 0.99, "float in [0, 1)"),
            option("eps", 1e-8, "float ≥ 0"),
            _EPS_IN_SQRT,
        ),
        cases=Cases("invariants.rmsprop.rmsprop_cases"),
        grad_cases=Cases("invariants.rmsprop.rmsprop_cases", {"state_min": 0.25}, why=_GRAD_WHY),
        returns=("param", "square_avg"),
        dtypes=_DTYPES,
        accuracy=relative("rmsprop_step", _WHY, "rmsprop_step"),
        sizes=Cases("sizes.rate_scaled_steps", {"lengths": VECTOR_LENGTHS}, why=_VECTORS),
        special_values=(
            Special(
                "nan_gradient_propagates",
                "rmsprop_step with a NaN gradient gives NaN param and square_avg",
                "NaN in, NaN out: g² and g/√v′ are NaN",
                {"param": [1.0], "grad": [NAN], "square_avg": [1.0], "eps": 0.0},
                value=[[NAN], [NAN]],
                because="IEEE arithmetic",
            ),
            Special(
                "zero_gradient_decays_the_mean_square",
                "rmsprop_step with a zero gradient keeps param and multiplies square_avg by α",
                "v′ = α·v + (1 − α)·0 and θ′ = θ − lr·0/√v′ (α = 0.5, v = 4: v′ = 2)",
                {"param": [1.0], "grad": [0.0], "square_avg": [4.0], "alpha": 0.5, "eps": 0.0},
                value=[[1.0], [2.0]],
                because="the formula, exact in every dtype",
            ),
        ),
    ),
    Op(
        "adagrad_step",
        term="adagrad",
        summary="one Adagrad step: (param, state_sum) after s ← s + g², θ ← θ − lr_t·g/(√s + ε), "
        "lr_t = lr/(1 + (t − 1)·lr_decay)",
        args=(
            tensor("param"),
            tensor("grad"),
            tensor("state_sum", annotation="≥ 0"),
            option("step", annotation="int ≥ 1: t, the number of this step"),
            option("lr", 1e-2, "float ≥ 0"),
            option("lr_decay", 0.0, "float ≥ 0"),
            option("eps", 1e-10, "float ≥ 0"),
            _EPS_IN_SQRT,
        ),
        cases=Cases("invariants.rmsprop.adagrad_cases"),
        grad_cases=Cases("invariants.rmsprop.adagrad_cases", {"state_min": 0.25}, why=_GRAD_WHY),
        returns=("param", "state_sum"),
        dtypes=_DTYPES,
        accuracy=relative("rmsprop_step", _WHY, "rmsprop_step"),
        sizes=Cases("sizes.rate_scaled_steps", {"lengths": VECTOR_LENGTHS, "adagrad": True}, why=_VECTORS),
        special_values=(
            Special(
                "nan_gradient_propagates",
                "adagrad_step with a NaN gradient gives NaN param and state_sum",
                "NaN in, NaN out: g² and g/√s′ are NaN",
                {"param": [1.0], "grad": [NAN], "state_sum": [1.0], "step": 1, "eps": 0.0, "eps_in_sqrt": True},
                value=[[NAN], [NAN]],
                because="IEEE arithmetic",
            ),
            Special(
                "first_step_is_lr_against_the_sign",
                "adagrad_step from a zero sum with ε = 0 moves each parameter by exactly lr against its sign",
                "s′ = g², so g/√s′ = ±1 (g = −3 and 0.5, lr = 0.5: θ′ = 0.5 and −0.5, s′ = 9 and 0.25)",
                {
                    "param": [0.0, 0.0],
                    "grad": [-3.0, 0.5],
                    "state_sum": [0.0, 0.0],
                    "step": 1,
                    "lr": 0.5,
                    "eps": 0.0,
                    "eps_in_sqrt": True,
                },
                value=[[0.5, -0.5], [9.0, 0.25]],
                because="the formula, exact in every dtype",
            ),
        ),
    ),
)
