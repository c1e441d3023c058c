"""Op records of batch normalization (section: normalization): the normalization and its running statistics.

Two ops, because frameworks differentiate ``y`` but update their running buffers outside automatic
differentiation: ``batch_norm`` (training or evaluation, by the option ``training``) returns y, and
``batch_norm_running_stats`` the running mean and variance after one training step.
"""

from __future__ import annotations

from .record import NAN, REDUCTION_LENGTHS, Cases, Op, Special, option, relative, tensor

_STATS = (
    tensor("running_mean", differentiable=False, annotation="(C,)"),
    tensor("running_var", differentiable=False, annotation="(C,), ≥ 0"),
)
_GRID = (
    "grid values k/4 and a weight and bias always; in training, channels with √(σ² + ε) ≥ mean|x|/4, where "
    "the gradient does not cancel terms of size mean|x|/√(σ² + ε)"
)
_WHY = (
    "training: group normalization of each channel over the batch (two sums of n terms, then z·w + b, "
    "which can cancel: s = |w|·(|x| + mean|x|)/√(σ² + ε) + |b|); evaluation: the affine map "
    "(x − m)/√(v + ε)·w + b, s = |w|·(|x| + |m|)/√(v + ε) + |b| (also the fused x·(w/s) + (b − m·w/s))"
)

OPS = (
    Op(
        "batch_norm",
        term="batch-normalization",
        summary="each channel (axis 1) normalized: the batch's mean and biased var (training) or the running "
        "ones (eval); then ·weight + bias",
        args=(
            tensor("x", annotation="(N, C, *)"),
            *_STATS,
            tensor("weight", None, annotation="(C,) | None"),
            tensor("bias", None, annotation="(C,) | None"),
            option("training", False, "bool"),
            option("eps", 1e-5, "float"),
        ),
        cases=Cases("invariants.batch_norm.batch_norm_cases", {"edges": ("large_offsets",)}, why="large values"),
        grad_cases=Cases("invariants.batch_norm.batch_norm_cases", {"grid": True}, why=_GRID),
        sizes=Cases("sizes.normalized", {"op": "batch_norm", "lengths": REDUCTION_LENGTHS}, why="long batches"),
        accuracy=relative("batch_norm", _WHY, accumulation="batch_norm"),
        special_values=(
            Special(
                "constant_channel_is_bias",
                "batch_norm (training) of a constant channel is its bias",
                "x − μ = 0 exactly, and ε keeps √(σ² + ε) > 0",
                {
                    "x": [[2.0, 0.5], [2.0, 0.5]],
                    "running_mean": [0.0, 0.0],
                    "running_var": [1.0, 1.0],
                    "weight": [3.0, 4.0],
                    "bias": [0.5, -1.0],
                    "training": True,
                },
                value=[[0.5, -1.0], [0.5, -1.0]],
                kind="definition",
                because="(2 − 2)/√(0 + 1e−5) = 0 in each channel, and 0·w_c + b_c = b_c: ε keeps it finite "
                "(constants 2 and 0.5, powers of two, so a fused x·(w/s) + (b − μ·w/s) cancels exactly too)",
            ),
            Special(
                "nan_propagates_within_its_channel",
                "batch_norm (training) with a NaN is NaN in that channel only",
                "the NaN enters its channel's batch mean and variance, not the other channels'",
                {
                    "x": [[NAN, 1.0], [1.0, 3.0]],
                    "running_mean": [0.0, 0.0],
                    "running_var": [1.0, 1.0],
                    "training": True,
                    "eps": 3.0,
                },
                value=[[NAN, -0.5], [NAN, 0.5]],
                kind="definition",
                because="NaN in, NaN out (IEEE 754 §6.2) through μ and σ² of channel 0; channel 1 holds [1, 3]: "
                "(x − 2)/√(1 + 3) = [−0.5, 0.5] (eps > 0: PyTorch refuses eps = 0 in training)",
            ),
            Special(
                "eval_nan_stays_in_its_element",
                "batch_norm (evaluation) with a NaN is NaN in that element only",
                "evaluation is an elementwise affine map with the running statistics",
                {"x": [[NAN], [3.0]], "running_mean": [1.0], "running_var": [4.0], "eps": 0.0},
                value=[[NAN], [1.0]],
                kind="definition",
                because="no statistic of the batch is computed: (NaN − 1)/2 = NaN, (3 − 1)/√4 = 1",
            ),
        ),
    ),
    Op(
        "batch_norm_running_stats",
        term="batch-normalization",
        summary="(running_mean, running_var) after one training step: (1 − momentum)·old + momentum·batch "
        "(mean; unbiased var)",
        args=(tensor("x", annotation="(N, C, *)"), *_STATS, option("momentum", 0.1, "float in [0, 1]")),
        returns=("running_mean", "running_var"),
        cases=Cases("invariants.batch_norm.running_stats_cases"),
        sizes=Cases(
            "sizes.normalized", {"op": "batch_norm_running_stats", "lengths": REDUCTION_LENGTHS}, why="long batches"
        ),
        accuracy=relative(
            "batch_norm_running_stats",
            "(1 − m)·old + m·batch statistic: the batch's mean and unbiased variance are sums of n terms (γ_n "
            "of mean|x| and of the variance's terms, in the accumulator's precision), then two products and a sum "
            "of non-negative terms for the variance (s = |y|) and of terms of either sign for the mean "
            "(s = (1 − m)·|old| + m·mean|x|)",
            accumulation="batch_norm_running_stats",
        ),
    ),
)
