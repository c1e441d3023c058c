"""Op record of SGD with momentum, dampening, Nesterov and L2 weight decay (beyond the seed, gradient descent)."""

from __future__ import annotations

from .record import INF, NAN, VECTOR_LENGTHS, Cases, Op, Special, option, relative, tensor

_WHY = (
    "a few roundings per element, relative to the terms of each output (the buffer: μ·|b| and (1 − τ)·|g̃|, "
    "|g̃| ≤ |g| + λ·|param|; param: |param| and lr times the update's terms), with every hyper-parameter's "
    "rounding to the dtype; Keras' velocity −lr·b carries a flushed subnormal's floor λ/lr into the buffer"
)

OPS = (
    Op(
        "sgd_momentum_step",
        term="momentum",
        summary="one step of SGD with momentum (PyTorch's): (param, momentum_buffer) after it (out of place)",
        args=(
            tensor("param"),
            tensor("grad"),
            tensor("momentum_buffer"),
            option("lr", annotation="float ≥ 0"),
            option("momentum", annotation="float ≥ 0"),
            option("dampening", 0.0, "float in [0, 1]; 0 with nesterov"),
            option("nesterov", False, "bool"),
            option("weight_decay", 0.0, "float ≥ 0, L2: added to the gradient"),
            option("first_step", False, "bool: no buffer yet, b = g̃ (PyTorch's None)"),
        ),
        cases=Cases("invariants.momentum.momentum_cases"),
        returns=("param", "momentum_buffer"),
        # float32 and float64 only: mixed-precision training keeps the optimiser's state in float32.
        dtypes=("float32", "float64"),
        accuracy=relative("sgd_momentum_step", _WHY, accumulation="sgd_momentum_step"),
        sizes=Cases(
            "sizes.momentum_steps", {"lengths": VECTOR_LENGTHS}, why="vectors of every length 2^k − 1, 2^k, 2^k + 1"
        ),
        special_values=(
            Special(
                "first_step_ignores_the_buffer",
                "sgd_momentum_step's first step starts the buffer at the gradient, whatever is passed as the buffer",
                "PyTorch's first step: no buffer exists, b = g̃ without dampening",
                {
                    "param": [1.0],
                    "grad": [2.0],
                    "momentum_buffer": [NAN],
                    "lr": 0.5,
                    "momentum": 0.5,
                    "dampening": 0.5,
                    "first_step": True,
                },
                value=[[0.0], [2.0]],
                because="first_step=True means that no buffer exists yet: b = g̃, the given buffer is not read",
            ),
            Special(
                "infinite_gradient",
                "sgd_momentum_step with an infinite gradient gives an infinite buffer and parameter",
                "∞ propagates through the sums: b′ = μ·b + ∞, param − lr·∞",
                {"param": [1.0], "grad": [INF], "momentum_buffer": [1.0], "lr": 0.5, "momentum": 0.5},
                value=[[-INF], [INF]],
                because="IEEE arithmetic: ∞ plus or times a finite nonzero number stays infinite",
            ),
        ),
    ),
)
