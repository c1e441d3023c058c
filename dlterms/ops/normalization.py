"""Op records of the normalization layers (section: normalization): layer, RMS and group normalization."""

from __future__ import annotations

from .record import INF, NAN, REDUCTION_LENGTHS, Cases, Op, Special, option, relative, tensor

_WEIGHT = tensor("weight", None, annotation="tensor | None")
_BIAS = tensor("bias", None, annotation="tensor | None")
_EPS = option("eps", 1e-5, "float")
_SHAPE = option("normalized_shape", annotation="int | list[int]")

_OFFSETS = "whole groups c + a small spread, where mean(x²) − mean(x)² cancels"
_GRID = (
    "grid values k/4 and a weight and bias always (the VJP differentiates x, weight and bias); groups with "
    "√(σ² + ε) ≥ mean|x|/4, where the gradient does not cancel terms of size mean|x|/√(σ² + ε)"
)
_WHY = (
    "z = (x − μ)/√(σ² + ε) from two sums of n terms (γ_{n+4} of |z| and of mean|x|/√(σ² + ε), in the "
    "accumulator's precision); then z·w + b, which can cancel: s = |w|·(|x| + mean|x|)/√(σ² + ε) + |b|, "
    "which also covers the fused form x·(w/s) − μ·(w/s)"
)

OPS = (
    Op(
        "layer_norm",
        term="layer-normalization",
        summary="(x − mean)/√(var + eps)·weight + bias over the trailing normalized_shape dims (biased var)",
        args=(tensor("x"), _SHAPE, _WEIGHT, _BIAS, _EPS),
        cases=Cases(
            "invariants.normalization.layer_norm_cases",
            {"edges": ("large_offsets",)},
            why=_OFFSETS,
        ),
        grad_cases=Cases("invariants.normalization.layer_norm_cases", {"grid": True}, why=_GRID),
        sizes=Cases("sizes.normalized", {"op": "layer_norm", "lengths": REDUCTION_LENGTHS}, why="long rows"),
        accuracy=relative("layer_norm", _WHY, accumulation="layer_norm"),
        special_values=(
            Special(
                "constant_group_is_bias",
                "layer_norm of a constant row is its bias",
                "x − μ = 0 exactly, and ε keeps √(σ² + ε) > 0",
                {"x": [2.0, 2.0, 2.0], "normalized_shape": [3], "weight": [1.0, 2.0, 3.0], "bias": [0.5, -1.0, 0.0]},
                value=[0.5, -1.0, 0.0],
                kind="definition",
                because="(2 − 2)/√(0 + 1e−5) = 0 exactly, and 0·w + b = b: ε keeps it finite (2 is a power of two, so "
                "a fused x·(w/s) + (b − μ·w/s) cancels exactly too)",
            ),
            Special(
                "nan_propagates_within_its_group",
                "layer_norm with a NaN is NaN in that row only",
                "the NaN enters its row's mean and variance, not the other rows'",
                {"x": [[NAN, 1.0], [1.0, 3.0]], "normalized_shape": [2], "eps": 0.0},
                value=[[NAN, NAN], [-1.0, 1.0]],
                kind="definition",
                because="NaN in, NaN out (IEEE 754 §6.2) through μ and σ² of its row; the row [1, 3] is "
                "(x − 2)/√1 = [−1, 1]",
            ),
            Special(
                "infinity_makes_its_group_nan",
                "layer_norm with an infinity is NaN in that row only",
                "μ = ∞ and ∞ − ∞ = NaN",
                {"x": [[INF, 1.0], [1.0, 3.0]], "normalized_shape": [2], "eps": 0.0},
                value=[[NAN, NAN], [-1.0, 1.0]],
                kind="definition",
                because="the row's mean is ∞, its deviations ∞ − ∞ = NaN and 1 − ∞ = −∞, its variance NaN "
                "(IEEE 754 §7.2): every value of the row is NaN",
            ),
        ),
    ),
    Op(
        "rms_norm",
        term="rms-normalization",
        summary="x/√(mean(x²) + eps)·weight over the trailing normalized_shape dims; eps=None: finfo(dtype).eps",
        args=(tensor("x"), _SHAPE, _WEIGHT, option("eps", None, "float | None")),
        cases=Cases("invariants.normalization.rms_norm_cases", {"edges": ("large_offsets",)}, why="large values"),
        grad_cases=Cases("invariants.normalization.rms_norm_cases", {"grid": True}, why=_GRID),
        sizes=Cases("sizes.normalized", {"op": "rms_norm", "lengths": REDUCTION_LENGTHS}, why="long rows"),
        accuracy=relative(
            "rms_norm",
            "x/√(mean(x²) + ε): one sum of n squares (γ_{n+4}·|y| in the accumulator's precision), a square "
            "root and a product by w: no cancellation, κ = 1 (s = |y|)",
            accumulation="rms_norm",
        ),
        special_values=(
            Special(
                "zero_group_is_zero",
                "rms_norm of a row of zeros is zeros",
                "0/√(0 + ε) = 0",
                {"x": [0.0, 0.0], "normalized_shape": [2], "weight": [2.0, 3.0], "eps": 1e-6},
                value=[0.0, 0.0],
                kind="definition",
                because="the mean square is 0, so each value is 0/√ε = 0, times its weight: ε keeps it finite",
            ),
            Special(
                "nan_propagates_within_its_group",
                "rms_norm with a NaN is NaN in that row only",
                "the NaN enters its row's mean square only",
                {"x": [[NAN, 1.0], [-2.0, 2.0]], "normalized_shape": [2], "eps": 0.0},
                value=[[NAN, NAN], [-1.0, 1.0]],
                kind="definition",
                because="NaN in, NaN out (IEEE 754 §6.2) through its row's mean square; the row [−2, 2] has "
                "root mean square 2",
            ),
            Special(
                "infinity_zeroes_its_group",
                "rms_norm of [∞, 1, −2] is [NaN, 0, −0]",
                "the mean square is ∞: x/∞ = ±0 and ∞/∞ = NaN",
                {"x": [INF, 1.0, -2.0], "normalized_shape": [3], "eps": 0.0},
                value=[NAN, 0.0, -0.0],
                kind="definition",
                because="mean(x²) = ∞, so each finite value is divided by ∞ (±0) and the infinity is ∞/∞ "
                "or ∞·0 (NaN, IEEE 754 §7.2)",
            ),
        ),
    ),
    Op(
        "group_norm",
        term="group-normalization",
        summary="each example's C channels in num_groups groups, each normalized; then ·weight + bias per channel",
        args=(tensor("x"), option("num_groups", annotation="int"), _WEIGHT, _BIAS, _EPS),
        cases=Cases("invariants.normalization.group_norm_cases", {"edges": ("large_offsets",)}, why=_OFFSETS),
        grad_cases=Cases("invariants.normalization.group_norm_cases", {"grid": True}, why=_GRID),
        sizes=Cases("sizes.normalized", {"op": "group_norm", "lengths": REDUCTION_LENGTHS}, why="long rows"),
        accuracy=relative("group_norm", _WHY, accumulation="group_norm"),
        special_values=(
            Special(
                "constant_group_is_bias",
                "group_norm of constant groups is the bias of each channel",
                "x − μ = 0 exactly, and ε keeps √(σ² + ε) > 0",
                {
                    "x": [[2.0, 2.0, 0.5, 0.5]],
                    "num_groups": 2,
                    "weight": [1.0, 2.0, 3.0, 4.0],
                    "bias": [0.5, -1.0, 0.0, 2.0],
                },
                value=[[0.5, -1.0, 0.0, 2.0]],
                kind="definition",
                because="(x − μ)/√(0 + 1e−5) = 0 in each group, and 0·w_c + b_c = b_c: ε keeps it finite (constants 2 "
                "and 0.5, powers of two, so a fused x·(w/s) + (b − μ·w/s) cancels exactly too)",
            ),
            Special(
                "nan_propagates_within_its_group",
                "group_norm with a NaN is NaN in that group only",
                "the NaN enters its group's mean and variance, not the other groups'",
                {"x": [[NAN, 1.0, 1.0, 3.0]], "num_groups": 2, "eps": 0.0},
                value=[[NAN, NAN, -1.0, 1.0]],
                kind="definition",
                because="NaN in, NaN out (IEEE 754 §6.2) through μ and σ² of channels 0-1; channels 2-3 "
                "hold [1, 3]: (x − 2)/√1 = [−1, 1]",
            ),
        ),
    ),
)
