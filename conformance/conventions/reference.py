"""The conventions, declared once, each with its canonical value measured on :mod:`dlterms.reference`.

:data:`CONVENTIONS` is the list of conventions, in the matrix's row order; each
row's ``canonical`` function (named after its id) calls the reference the way
the framework probes call their own API. It returns ``None`` where the
reference offers no such choice.

The half-precision rows (``float16.*``, ``bfloat16.*``) are facts about a
framework's reduced-precision arithmetic: their canonical value is the exact
result (the float64 reference, or ``math.exp``, on the same exact float16
inputs) rounded once to float16, as IEEE 754 arithmetic with a wide enough
accumulator gives it.
"""

from __future__ import annotations

import inspect
import math

import numpy as np

from dlterms import reference

from .readings import (
    ACCUMULATION_X,
    CE2_LOGITS,
    CE2_TARGET,
    CE_LOGITS,
    F16_EXP_X,
    F16_LINEAR_OVERFLOW_X,
    F16_MAX,
    F16_MAX_STEPS,
    F16_PARTIAL_SUM_X,
    F16_SOFTMAX_CLOSE,
    F16_SOFTMAX_PLUS_MINUS,
    SUBNORMAL_X,
    TINY32,
    X3,
    XCORR_W,
    XCORR_X,
    Convention,
    Value,
    ce_input,
    flip,
    largest_finite,
    num,
    pad_counted,
    reduction,
    sign_of_zero,
    softmax_axis,
    softmax_pair,
    subnormal,
    tie_rule,
    variance,
)

__all__ = ["CONVENTIONS"]


def leaky_relu_default_negative_slope() -> Value:
    return num(-reference.leaky_relu(-1.0))


def relu_derivative_at_zero() -> Value:
    return num(reference.relu_vjp(0.0, 1.0))


def leaky_relu_derivative_at_zero() -> Value:
    return num(reference.leaky_relu_vjp(0.0, 1.0, negative_slope=0.25))


def relu_sign_of_negative_zero() -> Value:
    return sign_of_zero(reference.relu(-0.0))


def softmax_default_axis() -> Value:
    return softmax_axis(reference.softmax(X3.tolist()))


def softmax_axis_none() -> Value:
    try:
        return softmax_axis(reference.softmax(X3.tolist(), axis=None))
    except (TypeError, ValueError) as exc:
        return f"rejected ({type(exc).__name__})"


def cross_entropy_default_input() -> Value:
    return ce_input(reference.cross_entropy(CE_LOGITS, [1]))


def cross_entropy_default_reduction() -> Value:
    return reduction(reference.cross_entropy(CE2_LOGITS, CE2_TARGET))


def binary_cross_entropy_loss_at_zero_probability() -> Value:
    return num(reference.binary_cross_entropy([0.0], [1.0]))


def avg_pool2d_counts_padding() -> Value:
    return pad_counted(reference.avg_pool2d([[[[1.0, 1.0], [1.0, 1.0]]]], 2, stride=1, padding=1)[0][0][0][0])


def not_offered() -> Value:
    """No canonical value: the reference offers no such choice (its padding is explicit; it has no variance)."""
    return None


def max_pool2d_gradient_on_ties() -> Value:
    return tie_rule(reference.max_pool2d_vjp([[[[1.0, 1.0], [1.0, 1.0]]]], [[[[1.0]]]], 2))


def sigmoid_subnormal_result() -> Value:
    return subnormal(np.float32(reference.sigmoid(SUBNORMAL_X)))


def float32_subnormal_arithmetic() -> Value:
    return subnormal(np.float32(TINY32 * 0.5))  # IEEE 754 arithmetic keeps subnormals


def conv2d_flips_kernel() -> Value:
    return flip(reference.conv2d(XCORR_X, XCORR_W))


def rnn_bias_vectors() -> Value:
    return sum(1 for p in inspect.signature(reference.rnn).parameters if p.startswith("b_"))


def _f16(v: object) -> np.ndarray:
    """``v`` rounded once to float16 (overflow to inf is the point, not a warning)."""
    with np.errstate(over="ignore"):
        return np.asarray(v, dtype=np.float64).astype(np.float16)


def float16_exp_overflow() -> Value:
    return num(_f16(math.exp(float(_f16(F16_EXP_X)))))


def float16_largest_finite() -> Value:
    return largest_finite(_f16([F16_MAX + step for step in F16_MAX_STEPS]))


def float16_softmax_of_logits_plus_minus_1e4() -> Value:
    return softmax_pair(_f16(reference.softmax(F16_SOFTMAX_PLUS_MINUS)))


def float16_softmax_of_logits_1e4_and_9992() -> Value:
    return softmax_pair(_f16(reference.softmax(F16_SOFTMAX_CLOSE)))


def _linear_of_ones(x: list[list[float]]) -> float:
    return reference.linear(x, [[1.0] * len(x[0])])[0][0]


def float16_linear_overflow() -> Value:
    return num(_f16(_linear_of_ones(F16_LINEAR_OVERFLOW_X)))


def float16_linear_partial_sum_overflow() -> Value:
    return num(_f16(_linear_of_ones(F16_PARTIAL_SUM_X)))


def _exact_accumulation(dtype: str) -> Value:
    """The exact sum of :data:`ACCUMULATION_X` in ``dtype`` (2047, 255): a float of the dtype, so no rounding."""
    return num(_linear_of_ones([ACCUMULATION_X[dtype]]))


def float16_sum_accumulation() -> Value:
    return _exact_accumulation("float16")


def float16_linear_accumulation() -> Value:
    return _exact_accumulation("float16")


def bfloat16_sum_accumulation() -> Value:
    return _exact_accumulation("bfloat16")


def bfloat16_linear_accumulation() -> Value:
    return _exact_accumulation("bfloat16")


# --- smooth rectifiers: probed at fixed inputs (float64), read as numbers -------------------------

SOFTPLUS_SCAN = np.arange(1.0, 41.0)  # where softplus(x) == x first: 34 exact (e^−x < ulp(x)/2), 21 for torch


def first_identity(x: object, y: object) -> Value:
    """The first x of :data:`SOFTPLUS_SCAN` whose softplus ``y`` is exactly x (``None`` if none is)."""
    xs, ys = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    hits = np.flatnonzero(xs == ys)
    return float(xs[hits[0]]) if hits.size else None


def gelu_default_form() -> Value:
    return num(reference.gelu(1.0))


def elu_default_alpha() -> Value:
    return num(-reference.elu(-100.0))


def softplus_threshold() -> Value:
    return first_identity(SOFTPLUS_SCAN, reference.softplus(SOFTPLUS_SCAN.tolist()))


def softplus_has_beta() -> Value:
    return "beta" in inspect.signature(reference.softplus).parameters


# --- normalization: probed at fixed inputs (float64), read as numbers and words ---------------------------

EPS_PROBE_A = 1e-3  # layer_norm([−a, a]) and rms_norm([a, a]) are ±a/√(a² + ε): ε = a²·(1/y² − 1)
VARIANCE_X = [1.0, 2.0, 3.0, 4.0]  # z of 4 is 1.5/√1.25 with the biased variance, 1.5/√(5/3) unbiased
OFFSET_X = [1e8 + 1.0, 1e8 + 2.0, 1e8 + 3.0, 1e8 + 4.0]  # mean(x²) − mean(x)² loses all of 1.25 in float64
TINY_EPS = 1e-12  # ε passed where the variance is read: 10⁻¹² of it, far below the readers' 10⁻⁶


def eps_read(y: object) -> Value:
    """ε from the last output ``y = a/√(a² + ε)`` of a probe at ±:data:`EPS_PROBE_A`, to 3 significant digits."""
    last = float(np.asarray(y, dtype=np.float64).reshape(-1)[-1])
    return float(f"{EPS_PROBE_A**2 * (1.0 / (last * last) - 1.0):.3g}")


def variance_read(y: object) -> Value:
    """Which variance the last output of a probe at :data:`VARIANCE_X` used (1.5/z squared)."""
    return variance((1.5 / float(np.asarray(y, dtype=np.float64).reshape(-1)[-1])) ** 2)


def algorithm_read(y: object) -> Value:
    """How the variance of :data:`OFFSET_X` was computed: two-pass keeps 1.25, one-pass cancels it away."""
    v = (1.5 / float(np.asarray(y, dtype=np.float64).reshape(-1)[-1])) ** 2
    return "two-pass" if math.isclose(v, 1.25, rel_tol=1e-6) else "one-pass (cancels)"


def layer_norm_default_eps() -> Value:
    return eps_read(reference.layer_norm([-EPS_PROBE_A, EPS_PROBE_A], 2))


def layer_norm_variance() -> Value:
    return variance_read(reference.layer_norm(VARIANCE_X, 4, eps=TINY_EPS))


def layer_norm_variance_algorithm() -> Value:
    return algorithm_read(reference.layer_norm(OFFSET_X, 4, eps=TINY_EPS))


def rms_norm_default_eps() -> Value:
    return eps_read(reference.rms_norm([EPS_PROBE_A, EPS_PROBE_A], 2))


def group_norm_default_eps() -> Value:
    return eps_read(reference.group_norm([[-EPS_PROBE_A, EPS_PROBE_A]], 1))


def group_norm_variance() -> Value:
    return variance_read(reference.group_norm([VARIANCE_X], 1, eps=TINY_EPS))


CONVENTIONS: tuple[Convention, ...] = (
    Convention(
        "leaky_relu.default_negative_slope",
        "Slope of leaky ReLU for x < 0 when the function gets no slope.",
        leaky_relu_default_negative_slope,
    ),
    Convention(
        "leaky_relu.layer_default_negative_slope",
        "Slope for x < 0 of the leaky-ReLU layer (module) built with no arguments.",
        leaky_relu_default_negative_slope,  # the reference's function is also its layer
    ),
    Convention(
        "relu.derivative_at_zero",
        "The derivative autodiff gives ReLU at x = 0 (a kink: any of [0, 1] is valid).",
        relu_derivative_at_zero,
    ),
    Convention(
        "leaky_relu.derivative_at_zero",
        "The derivative autodiff gives leaky ReLU (negative_slope=0.25) at x = 0: 0.25 (the left side) or 1.",
        leaky_relu_derivative_at_zero,
    ),
    Convention(
        "relu.sign_of_negative_zero",
        "relu(−0.0): +0.0 or −0.0 (IEEE max(−0, 0) may return either).",
        relu_sign_of_negative_zero,
    ),
    Convention(
        "softmax.default_axis",
        "The axis softmax normalises over when called with no axis, on a 3-d input.",
        softmax_default_axis,
    ),
    Convention(
        "softmax.axis_none",
        "What softmax(x, axis=None) normalises over, on a 3-d input.",
        softmax_axis_none,
    ),
    Convention(
        "cross_entropy.default_input",
        "What the default cross-entropy loss reads: logits or probabilities.",
        cross_entropy_default_input,
    ),
    Convention(
        "cross_entropy.default_reduction",
        "How the default cross-entropy loss reduces a batch: mean, sum or none.",
        cross_entropy_default_reduction,
    ),
    Convention(
        "binary_cross_entropy.loss_at_zero_probability",
        "Binary cross-entropy for predicted probability 0 and label 1: 100 with logs clamped at −100, "
        "about 15–16 with probabilities clipped to [1e−7, 1 − 1e−7], inf unclamped.",
        binary_cross_entropy_loss_at_zero_probability,
    ),
    Convention(
        "avg_pool2d.counts_padding",
        "Whether average pooling with padding counts the padded cells in the divisor, by default.",
        avg_pool2d_counts_padding,
    ),
    Convention(
        "padding.same_extra_cell",
        '"same" padding with an even kernel (2 wide) pads one cell: on which side, start or end.',
        not_offered,
    ),
    Convention(
        "variance.default_correction",
        "The default variance: biased (divides by n) or unbiased (by n − 1).",
        not_offered,
    ),
    Convention(
        "max_pool2d.gradient_on_ties",
        "Where the gradient of a max-pooling window goes when its cells tie: first, last, split evenly or all.",
        max_pool2d_gradient_on_ties,
    ),
    Convention(
        "sigmoid.subnormal_result",
        "sigmoid(−100) in float32, whose exact value 3.7e−44 is subnormal: kept, or zero (flushed, "
        "or 1/(1 + e^100) with e^100 overflowing).",
        sigmoid_subnormal_result,
    ),
    Convention(
        "float32.subnormal_arithmetic",
        "2^−126 × 0.5 in float32 on the default device, a subnormal result: kept, or zero "
        "(flush-to-zero; it also makes ops such as relu read subnormal inputs as 0).",
        float32_subnormal_arithmetic,
    ),
    Convention(
        "conv2d.flips_kernel",
        "Whether the framework's convolution flips the kernel (true convolution) or not (cross-correlation).",
        conv2d_flips_kernel,
    ),
    Convention(
        "rnn.bias_vectors",
        "Bias vectors of the default one-layer Elman (tanh) RNN: two (b_ih, b_hh) or one.",
        rnn_bias_vectors,
    ),
    Convention(
        "float16.exp_overflow",
        "exp(11.1) in float16, whose exact value 66 275 is past the largest finite float16 65 504: inf "
        "under IEEE rounding.",
        float16_exp_overflow,
    ),
    Convention(
        "float16.largest_finite",
        "65504 + 15 and 65504 + 16 in float16: the largest finite result kept (65504) when 65520 rounds to "
        "inf, as IEEE round-to-nearest does.",
        float16_largest_finite,
    ),
    Convention(
        "float16.softmax_of_logits_plus_minus_1e4",
        "softmax([1e4, −1e4]) in float16: [1, 0] when computed stably (x − max), [nan, 0] when exp(1e4) overflows.",
        float16_softmax_of_logits_plus_minus_1e4,
    ),
    Convention(
        "float16.softmax_of_logits_1e4_and_9992",
        "softmax([1e4, 9992]) in float16 (1e4 − 1 is not a float16): [1, 0.000335] computed stably, "
        "[nan, nan] when exp overflows.",
        float16_softmax_of_logits_1e4_and_9992,
    ),
    Convention(
        "float16.linear_overflow",
        "A float16 linear layer whose logit is 7 × 1e4 = 7e4, past 65 504: inf.",
        float16_linear_overflow,
    ),
    Convention(
        "float16.linear_partial_sum_overflow",
        "A float16 linear layer of [6e4, 6e4, −6e4] · ones: 6e4 with a float32 accumulator, inf when the "
        "partial sum 1.2e5 is kept in float16.",
        float16_linear_partial_sum_overflow,
    ),
    Convention(
        "float16.sum_accumulation",
        "Sum of 1024 and 2046 halves in float16: 2047 with a float32 accumulator, 1024 accumulated one by "
        "one in float16 (1024 + 0.5 rounds to 1024), in between for float16 partial sums in another order.",
        float16_sum_accumulation,
    ),
    Convention(
        "float16.linear_accumulation",
        "The same 2047 as a float16 linear layer ([1024, 0.5, ...] · ones): 2047 with a float32 "
        "accumulator, 1024 one by one in float16.",
        float16_linear_accumulation,
    ),
    Convention(
        "bfloat16.sum_accumulation",
        "Sum of 128 and 254 halves in bfloat16: 255 with a float32 accumulator, 128 accumulated one by one "
        "in bfloat16.",
        bfloat16_sum_accumulation,
    ),
    Convention(
        "bfloat16.linear_accumulation",
        "The same 255 as a bfloat16 linear layer ([128, 0.5, ...] · ones): 255 with a float32 accumulator, "
        "128 one by one in bfloat16.",
        bfloat16_linear_accumulation,
    ),
    Convention(
        "gelu.default_form",
        "gelu(1) when no form is given: 0.841345 is the exact x·Φ(x), 0.841192 the tanh approximation.",
        gelu_default_form,
    ),
    Convention(
        "elu.default_alpha",
        "The value ELU saturates to at −∞ when no alpha is given, negated: alpha, 1 in the paper.",
        elu_default_alpha,
    ),
    Convention(
        "softplus.threshold",
        "The first integer x ≥ 1 where softplus(x) is exactly x in float64: 34 for log(1 + e^x) itself "
        "(e^−x below half an ulp of x), 21 where x is returned above a threshold of 20 (1.0e−10 off).",
        softplus_threshold,
    ),
    Convention(
        "softplus.has_beta",
        "Whether the framework's softplus takes a sharpness beta, log(1 + e^(βx))/β.",
        softplus_has_beta,
    ),
    Convention(
        "layer_norm.default_eps",
        "The ε layer normalization adds to the variance when given none: 1e−5 in PyTorch, 1e−3 for Keras' layer.",
        layer_norm_default_eps,
    ),
    Convention(
        "layer_norm.variance",
        "The variance layer normalization divides by: biased (÷ n) or unbiased (÷ (n − 1)).",
        layer_norm_variance,
    ),
    Convention(
        "layer_norm.variance_algorithm",
        "How layer normalization computes the variance by default: two-pass mean((x − μ)²), or one-pass "
        "mean(x²) − μ², which cancels for rows far from 0 (10⁸ + [1, 2, 3, 4] in float64).",
        layer_norm_variance_algorithm,
    ),
    Convention(
        "rms_norm.default_eps",
        "The ε RMS normalization adds to the mean square when given none, for a float64 input: its machine "
        "epsilon 2.2e−16 in PyTorch (finfo(dtype).eps), 1e−6 for Keras' layer.",
        rms_norm_default_eps,
    ),
    Convention(
        "group_norm.default_eps",
        "The ε group normalization adds to the variance when given none: 1e−5 in PyTorch, 1e−3 in Keras.",
        group_norm_default_eps,
    ),
    Convention(
        "group_norm.variance",
        "The variance group normalization divides by: biased (÷ n) or unbiased (÷ (n − 1)).",
        group_norm_variance,
    ),
)
