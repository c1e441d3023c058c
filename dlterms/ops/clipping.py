"""Op records of gradient clipping (beyond the seed, section training): clipping by the global norm.

The k gradient tensors travel as one tensor ``grads`` whose leading axis indexes them (``grads[i]``
is the i-th parameter's gradient); an adapter splits it into the list its framework's API takes
(PyTorch's parameters' ``.grad``, optax's pytree, TensorFlow's list) and stacks the results.
"""

from __future__ import annotations

from .record import INF, NAN, VECTOR_LENGTHS, Cases, Op, Special, option, relative, tensor

OPS = (
    Op(
        "clip_grad_norm",
        term="gradient-clipping",
        summary="grads·min(1, max_norm/N), N = ‖grads‖₂ over every tensor (grads[i]: the i-th tensor)",
        args=(
            tensor("grads", annotation="rank ≥ 1: k gradient tensors along the leading axis"),
            option("max_norm", annotation="float ≥ 0"),
        ),
        cases=Cases("invariants.clipping.clip_cases"),
        grad_cases=Cases(
            "invariants.clipping.clip_cases",
            {"margin": 0.05},
            why="N at least 5% away from max_norm: the factor min(1, c/N) has a kink at N = c",
        ),
        returns=("grads",),
        dtypes=("float32", "float64"),
        accuracy=relative(
            "clip_grad_norm",
            "a sum of n squares (γ_n relative to N²), a square root, a division and a product: relative to "
            "each element, with n/2 + a few roundings",
        ),
        sizes=Cases(
            "invariants.clipping.clip_sizes",
            {"lengths": VECTOR_LENGTHS},
            why="4 tensors of every length 2^k − 1, 2^k, 2^k + 1, clipped to half their norm",
        ),
        special_values=(
            Special(
                "nan_poisons_every_tensor",
                "clip_grad_norm with a NaN anywhere gives NaN everywhere",
                "the global norm is NaN, and so is the one factor every tensor is scaled by",
                {"grads": [[NAN, 1.0], [0.0, 2.0]], "max_norm": 1.0},
                value=[[NAN, NAN], [NAN, NAN]],
                because="NaN in, NaN out (IEEE 754 §6.2): N = NaN, and min(1, c/NaN) is NaN (§9.6 minimum)",
            ),
            Special(
                "at_the_threshold_unchanged",
                "clip_grad_norm leaves grads unchanged when N = max_norm exactly",
                "clipping only scales down a norm above max_norm",
                {"grads": [[3.0], [4.0]], "max_norm": 5.0},
                value=[[3.0], [4.0]],
                because="min(1, 5/5) = 1 (PyTorch's 5/(5 + 10⁻⁶) is translated by its adapter)",
            ),
            Special(
                "zero_max_norm",
                "clip_grad_norm with max_norm = 0 zeroes every gradient",
                "the factor is 0/N = 0",
                {"grads": [[3.0, -4.0]], "max_norm": 0.0},
                value=[[0.0, -0.0]],
                because="min(1, 0/5) = 0 and −4·0 = −0.0",
            ),
            Special(
                "infinite_gradient",
                "clip_grad_norm with an infinite element: N = ∞, the factor 0, so ∞·0 = NaN and finite elements 0",
                "c/∞ = 0",
                {"grads": [[INF, 1.0]], "max_norm": 1.0},
                value=[[NAN, 0.0]],
                kind="choice",
                because="IEEE arithmetic gives c/∞ = 0 and ∞·0 = NaN (PyTorch, optax); TensorFlow sets every entry "
                "to NaN when the global norm is infinite; neither is an update",
            ),
        ),
    ),
)
