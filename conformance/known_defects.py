"""The documented defects of the built-in frameworks that a default run can meet, declared once.

Each is written up with its evidence on the site (*How far to trust the reference*, the findings pages).
The test suite allows exactly these failures when it runs a framework, and a recorded report
(``recorded-reports/``) may hold no other. Entries are check ids (``<invariant>[<dtype>]``).

A documented crash (:data:`DEFAULT_RUN_CRASHES`) is an op with the words the framework prints as it dies
compiling or running it: a row is that defect only where it is a crash (an ``error`` row with
``details.crash``) of one of the op's checks whose message holds them (:func:`is_documented`). Any other
failure or crash of those checks stays an alarm.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# GELU's tanh form, in PyTorch 2.13, JAX 0.10 and TensorFlow 2.21 alike: ½x(1 + tanh(z/2)) cancels for x ≪ 0
# (1 + tanh rounds to 0 in float32 from x ≈ −4.5, where the value x·σ(z) ≈ −3e−7 is a normal number; the form
# x·σ(z) does not), and its backward is NaN where x³ overflows (x near the largest float, ∞·0), where the
# derivative is 1. A run fails them where its cases reach the left tail or the largest floats.
GELU_TANH_FORM_DEFECTS = (
    "gelu.matches_reference[float32]",
    "gelu.matches_reference[float64]",
    "gelu.vjp_matches_reference[float32]",
    "gelu.vjp_matches_reference[float64]",
)

# torch.optim's Adam and AdamW with differentiable=True (the path autograd differentiates, and the capturable
# one) divide by −lr/(1 − β₁ᵗ): at lr = 0 (a warm-up's first step) the backward is NaN, where the step is the
# identity and its gradient finite, and the forward is NaN wherever √v is 0 (0/−0). The finite-difference check
# sees the same NaN backward where its cases draw lr = 0.
TORCH_ADAM_DEFECTS = (
    "adam_step.vjp_matches_reference[float32]",
    "adam_step.vjp_matches_reference[float64]",
    "adam_step.grad_matches_finite_difference[float32]",
    "adam_step.grad_matches_finite_difference[float64]",
    "adamw_step.vjp_matches_reference[float32]",
    "adamw_step.vjp_matches_reference[float64]",
    "adamw_step.grad_matches_finite_difference[float32]",
    "adamw_step.grad_matches_finite_difference[float64]",
)

# torch.nn.functional.gelu's exact form is ½x(1 + erf(x/√2)), which cancels for x ≪ 0 as the tanh form does:
# gelu(−8) is 0 in float32 and −4.885e−15 in float64, where x·Φ(x) = −4.977e−15 (JAX and TensorFlow use erfc).
#
# torch.nn.functional.scaled_dot_product_attention (2.13 on CPU, in every dtype, with or without autograd)
# returns 0 for a query whose scores are all NaN (a NaN query): the row's running max ignores NaN and stays −∞, so
# the row is taken for fully masked, which PyTorch returns as 0. NaN in, NaN out: the definition gives NaN (a NaN
# in a key or the bias, beside a finite score, does give NaN).
TORCH_ATTENTION_DEFECTS = (
    "scaled_dot_product_attention.special_values[float32]",
    "scaled_dot_product_attention.special_values[float64]",
)

# torch.nn.functional.binary_cross_entropy_with_logits (2.13 on CPU) cancels where the loss is much smaller than |x|
# (measured; as (1 − y)·x − log σ(x) would): a confidently right negative (x ≪ 0, y = 0), whose loss log(1 + e^x) ≈ e^x
# is 0 from x ≈ −17 in float32 (−37 in float64) and 0.8% off at x = −10 in float32. The positive side, −log σ(x)
# for y = 1, keeps its digits; JAX's (optax: log σ both ways) does too. In float16 and bfloat16 the loss is lost
# from x ≈ −8, and the mirror L(x, y) = L(−x, 1 − y) fails with it (x = −8, y = 0: 0 against 3.4e−4).
TORCH_BCE_WITH_LOGITS_DEFECTS = (
    "binary_cross_entropy_with_logits.matches_reference[float32]",
    "binary_cross_entropy_with_logits.matches_reference[float64]",
    "binary_cross_entropy_with_logits.matches_reference[float16]",
    "binary_cross_entropy_with_logits.matches_reference[bfloat16]",
    "binary_cross_entropy_with_logits.mirror_symmetric[float16]",
    "binary_cross_entropy_with_logits.mirror_symmetric[bfloat16]",
)

# torch.optim's SGD with momentum (2.13: torch.optim.sgd.sgd, which torch.optim.SGD(differentiable=True) runs too)
# starts the buffer on its first step, where none exists yet, as grad.detach().clone(): autograd takes the new
# buffer, and the step along it (without Nesterov), for constants, so the gradient with respect to grad misses
# their terms (0 where it is −lr·θ̄′ + b̄′ without Nesterov). Later steps are differentiated correctly; a
# meta-learning loop through SGD's first step loses that step's gradient.
TORCH_SGD_FIRST_STEP_DEFECTS = (
    "sgd_momentum_step.vjp_matches_reference[float32]",
    "sgd_momentum_step.vjp_matches_reference[float64]",
    "sgd_momentum_step.grad_matches_finite_difference[float32]",
    "sgd_momentum_step.grad_matches_finite_difference[float64]",
)

# torch.nn.functional.gelu (2.13) in float32 on a CPU where PyTorch takes its AVX512 kernels (AMD EPYC with
# avx512_bf16, measured): the vectorised exact form overflows at the largest float32, gelu([0, 3.4028235e38]) is
# [0, ∞] where the value is 3.4028235e38, as a one-element tensor (the scalar path) gives. So gelu(x) − gelu(−x)
# is ∞ where it is x. A CPU whose PyTorch picks other kernels (the recorded report's) passes the row.
TORCH_AVX512_GELU_DEFECTS = ("gelu.mirror_difference_is_x[float32]",)

# The global norm of gradient clipping, in PyTorch 2.13 (torch.nn.utils.get_total_norm, which clip_grad_norm_ calls),
# optax 0.2 (clip_by_global_norm's global_norm) and TensorFlow 2.21 (tf.clip_by_global_norm) alike, is √(Σ g²) summed
# unscaled: ∞ once the squares overflow (N > 1.8e19 in float32, 1.3e154 in float64) though N itself is finite. The
# factor max_norm/∞ is 0, so PyTorch and optax zero exploding gradients (the update lost without a word; PyTorch
# raises only with error_if_nonfinite=True), and TensorFlow's t·c/max(∞, c) is ∞·0 = NaN wherever t ≠ 0.
GLOBAL_NORM_OVERFLOW_DEFECTS = (
    "clip_grad_norm.exploding_gradients_are_clipped_not_zeroed[float32]",
    "clip_grad_norm.exploding_gradients_are_clipped_not_zeroed[float64]",
)

TORCH_DEFECTS = GELU_TANH_FORM_DEFECTS + TORCH_ADAM_DEFECTS + TORCH_ATTENTION_DEFECTS + TORCH_BCE_WITH_LOGITS_DEFECTS
TORCH_DEFECTS += TORCH_AVX512_GELU_DEFECTS
TORCH_DEFECTS += TORCH_SGD_FIRST_STEP_DEFECTS
TORCH_DEFECTS += GLOBAL_NORM_OVERFLOW_DEFECTS

# jax.nn.silu's VJP multiplies the cotangent by x before σ'(x): where ḡ·x overflows (|x| near the largest
# float) it is ∞·0 = NaN. Only inputs within a factor |ḡ| of the largest float reach it, so a run may or may not
# draw one.
#
# jax.nn.dot_product_attention computes its softmax in float32 whatever the dtype ("Softmax and it is always
# carried out in fp32", jax/_src/nn/functions.py, _dot_product_attention_core): a float64 call is only float32
# accurate (2e−8 off where float64 gives 1e−16), so its finite differences and its VJP miss by float32's
# resolution over the step, and a value beyond float32's range (or below its subnormals) is lost.
JAX_ATTENTION_DEFECTS = (
    "scaled_dot_product_attention.matches_reference[float64]",
    "scaled_dot_product_attention.vjp_matches_reference[float64]",
    "scaled_dot_product_attention.grad_matches_finite_difference[float64]",
)
# jax.numpy.log1p in float64 (XLA on CPU, JAX 0.10.2) is up to 128 ulp off on [−0.5, 0] (docs/reference-accuracy.md),
# and the binary cross-entropy's log1p(−p) carries it where a case draws such a p with target 0: seeds 3, 11 and 13 of
# 1–20 before, and seed 2 of the 816-check run (p = 0.39332407725663054: 31.5 u off, 16 u allowed); never seed 0.
JAX_LOG1P_DEFECTS = ("binary_cross_entropy.matches_reference[float64]",)
JAX_DEFECTS = (
    *JAX_LOG1P_DEFECTS,
    "silu.vjp_matches_reference[float32]",
    "silu.vjp_matches_reference[float64]",
    *GELU_TANH_FORM_DEFECTS,
    *JAX_ATTENTION_DEFECTS,
    *GLOBAL_NORM_OVERFLOW_DEFECTS,
)

# Found by the relative accuracy model: tf.nn.leaky_relu keeps its alpha attribute in float32, so a float64
# slope such as 0.3 is rounded before it multiplies (−0.30000001192092896 for x = −1).
TENSORFLOW_ACCURACY_DEFECTS = ("leaky_relu.matches_reference[float64]",)

# Found by the definition of max pooling over NaNs: tf.nn.max_pool2d returns −FLT_MAX, its reduction's start
# value, for a window of NaNs only. Found by the KL divergence's: keras.losses.kl_divergence clips both
# distributions to [1e-7, 1] (the convention kl_div.clipping), so a prediction q = 0 where p = ½ costs
# ½·log(½/1e-7) = 7.71 instead of +∞, and a negative "probability" gives a number instead of an error or NaN.
TENSORFLOW_DEFINITION_DEFECTS = (
    "max_pool2d.special_values[float32]",
    "max_pool2d.special_values[float64]",
    "kl_div.special_values[float32]",
    "kl_div.special_values[float64]",
)

# Met where a run's cases reach them: the tanh form's (GELU_TANH_FORM_DEFECTS); tf.nn.gelu in float64 rounds its
# constants 1/√2 and √(2/π) to float32 (gelu(1) = 0.8413447419 where x·Φ(x) = 0.8413447461, 2.6e−8 off
# relative, either form); tf.nn.elu is e^x − 1, not expm1, which cancels near 0 (elu(−1e−10) = 0 in float32).
#
# tf.nn.sigmoid_cross_entropy_with_logits is max(x, 0) − x·z + log1p(e^−|x|) (its documented form) and
# tf.nn.weighted_cross_entropy_with_logits (1 − z)·x + (1 + (q − 1)·z)·(log1p(e^−|x|) + max(−x, 0)): both cancel
# where the loss is much smaller than |x| (x = 4.87, z = 0.977 in float64: 2.5 u off; x = −4, z = 0 in float32
# through the weighted form: 70 u off). The weighted form's gradient at x = 0 exactly is σ(0) − z + ½ (1 for
# z = 0, where the derivative is ½): the subgradients of |x| and max(−x, 0) at 0 do not add up.
#
# keras.ops.add on TensorFlow (Keras 3.15) takes a y that squeezes to a vector of n as a bias and calls
# tf.nn.bias_add with data_format "NCHW" where x.shape[1] == n ≠ x.shape[-1]: it adds y along axis 1 instead of
# broadcasting it. keras.layers.MultiHeadAttention's projections (EinsumDense) add their bias (H, d) so: with one
# feature per head (key_dim = 1) and a sequence of exactly H positions, head h's bias lands on position h of every
# head. Met where multi-head attention's cases draw d = 1, L or S = H ≥ 2 and a nonzero in_proj_bias (the
# KV-cache invariant's decoding steps reach S = H on their own: one query over a cache of H keys).
TENSORFLOW_KERAS_BIAS_ADD_DEFECTS = (
    "multi_head_attention.matches_reference[float32]",
    "multi_head_attention.matches_reference[float64]",
    "multi_head_attention.permuting_keys_and_values_leaves_the_output[float32]",
    "multi_head_attention.permuting_keys_and_values_leaves_the_output[float64]",
    "multi_head_attention.kv_cache_decoding_matches_causal_attention[float32]",
    "multi_head_attention.kv_cache_decoding_matches_causal_attention[float64]",
)
# tf.math.sigmoid rounds equal inputs differently by their position in the tensor (a full SIMD packet or the
# remainder: docs/findings/tensorflow.md), so a sorted input can give an output that is not monotone; met on
# seed 0 with Hypothesis 6.170.17 (float32), and on 4 seeds of 20 before.
TENSORFLOW_SIGMOID_POSITION_DEFECTS = ("sigmoid.monotone[float32]", "sigmoid.monotone[float64]")
TENSORFLOW_DRAWN_DEFECTS = (
    *GELU_TANH_FORM_DEFECTS,
    *TENSORFLOW_KERAS_BIAS_ADD_DEFECTS,
    *TENSORFLOW_SIGMOID_POSITION_DEFECTS,
    "elu.matches_reference[float32]",
    "elu.matches_reference[float64]",
    "binary_cross_entropy_with_logits.matches_reference[float32]",
    "binary_cross_entropy_with_logits.matches_reference[float64]",
    "binary_cross_entropy_with_logits.vjp_matches_reference[float32]",
    "binary_cross_entropy_with_logits.vjp_matches_reference[float64]",
    "binary_cross_entropy_with_logits.grad_matches_finite_difference[float64]",
)

# TensorFlow's oneDNN kernels (on by default on x86), met on an AMD EPYC with AVX-512 (the report recorded before,
# on a CPU whose TensorFlow picked other kernels, passes both): float32 tf.nn.softmax of a row holding a NaN gives NaN
# at the NaN and 0 elsewhere, where the definition gives NaN across the row (float64, and oneDNN off, give it); and
# average pooling and grouped convolution return values that change from call to call (docs/findings/tensorflow.md:
# 7 and 1 of 20 seeds before; seed 0 meets the first here).
TENSORFLOW_ONEDNN_DEFECTS = (
    "softmax.special_values[float32]",
    "avg_pool2d.equals_uniform_depthwise_conv[float32]",
    "conv_block.equals_composition[float32]",
)

# The same two TensorFlow BCE-with-logits defects in float16 and bfloat16, where its cases reach them (measured:
# x = −4, z = 0 gives 0.03125 in bfloat16 where the loss is 0.01815; the gradient at x = 0 is 1.32 in float16 where
# it is 0.66; the mirror L(x, z) = L(−x, 1 − z) and pos_weight's p·L(x, 1) + L(x, 0) split fail with them).
TENSORFLOW_REDUCED_PRECISION_BCE_WITH_LOGITS_DEFECTS = tuple(
    f"binary_cross_entropy_with_logits.{check}[{dtype}]"
    for check in (
        "matches_reference",
        "vjp_matches_reference",
        "mirror_symmetric",
        "pos_weight_scales_positive_targets",
    )
    for dtype in ("float16", "bfloat16")
)

# Size tier (--sizes), bfloat16 only: PyTorch 2.13's and TensorFlow 2.21's CPU conv_transpose2d in bfloat16 miss
# the absolute bound (rtol 0.016 of |y|) where sums cancel, by up to 0.625 where |y| ≤ 66 (2 × 16 × 9 × 8 images of
# quarters, 16 output channels, 3 × 3 kernels), while PyTorch's conv2d of the very same sums (the kernel flipped and
# transposed) stays within it, and JAX's passes: as if partial sums were rounded to bfloat16 before they are added.
# Not in a default run (float32 and float64, no size tier).
BFLOAT16_CONV_TRANSPOSE_DEFECTS = ("conv_transpose2d.matches_reference_at_sizes[bfloat16]",)

# Size tier (--sizes), float16 and bfloat16 only: Keras 3.15's keras.ops.adaptive_average_pool (TensorFlow backend)
# loses the mean of a bin whose values cancel, beyond the absolute bound, even where the bin's sum is exact (inputs
# of quarters): global average pooling of a 7 × 8 plane gives 0.02209 in float16 where the mean is 1.25/56 = 0.02232
# (15 ulp), and 3.7e−4 in bfloat16 where it is 0. PyTorch's and JAX's means of the same bins pass. Not in a default run.
TENSORFLOW_REDUCED_PRECISION_ADAPTIVE_POOL_DEFECTS = tuple(
    f"adaptive_avg_pool2d.matches_reference_at_sizes[{dtype}]" for dtype in ("float16", "bfloat16")
)

# Every failure a default run of each framework may hold.
DEFAULT_RUN_DEFECTS: dict[str, frozenset[str]] = {
    "torch": frozenset(TORCH_DEFECTS),
    "jax": frozenset(JAX_DEFECTS),
    "tensorflow": frozenset(
        TENSORFLOW_ACCURACY_DEFECTS
        + TENSORFLOW_DEFINITION_DEFECTS
        + TENSORFLOW_DRAWN_DEFECTS
        + TENSORFLOW_ONEDNN_DEFECTS
        + GLOBAL_NORM_OVERFLOW_DEFECTS
    ),
}

# XLA:CPU in jaxlib 0.10.2 aborts the whole process (SIGABRT) while compiling some convolutions with an input
# (base) dilation, which is how JAX computes a strided transposed convolution: its algebraic simplifier rewrites the
# convolution with its operands swapped and checks a window that does not fit them ("Window dimensions do not match
# RHS shape", the RHS being the input). Measured (docs/findings/jax.md; jax.lax.conv_transpose aborts alike): an
# input one column wide, padded on one side by at least the kernel's width, and rows base-dilated by 2 under a
# 2-row kernel; float32 and float64. Met on seeds 10, 11 and 19 of 1–20 (float64). Any check of conv_transpose2d may
# draw such a case.
XLA_CONV_SWAP_ABORT = "Window dimensions do not match RHS shape"

# Every crash a default run of each framework may hold: the op whose checks may meet it → the words its framework
# prints as it dies.
DEFAULT_RUN_CRASHES: dict[str, dict[str, str]] = {"jax": {"conv_transpose2d": XLA_CONV_SWAP_ABORT}}


def is_documented(backend: str, row: Mapping[str, Any]) -> bool:
    """Whether a failed or errored report row is one of ``backend``'s documented defects: a ``fail`` row of
    :data:`DEFAULT_RUN_DEFECTS`, or a crash of :data:`DEFAULT_RUN_CRASHES` that printed its declared words."""
    if row["status"] == "fail":
        return row["id"] in DEFAULT_RUN_DEFECTS.get(backend, frozenset())
    crash = (row.get("details") or {}).get("crash")
    words = DEFAULT_RUN_CRASHES.get(backend, {}).get(row["id"].split(".")[0])
    return row["status"] == "error" and crash is not None and words is not None and words in crash.get("message", "")
