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
from collections.abc import Callable

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
    GATE_SATURATION,
    GRU_RESET_H,
    GRU_RESET_R_BIAS,
    GRU_RESET_W_HN,
    RMS_PROBE_DECAY,
    RMS_PROBE_EPS,
    RMS_PROBE_GRAD,
    RMS_PROBE_LR,
    SGD_LRS,
    SGD_MOMENTUM,
    SUBNORMAL_X,
    TINY32,
    X3,
    XCORR_W,
    XCORR_X,
    Convention,
    Value,
    attention_alignment_read,
    attention_mask_read,
    attention_masked_bias_row_read,
    attention_masked_row_read,
    attention_precision_read,
    attention_scale_read,
    ce_input,
    flip,
    gru_gate_order_read,
    gru_reset_read,
    largest_finite,
    lstm_gate_order_read,
    num,
    pad_counted,
    reduction,
    rmsprop_eps_read,
    sgd_momentum_read,
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


# --- gated recurrent cells (the probes of readings.lstm_gate_order_read and its siblings) ---------------


def _lstm_probe(b_ih: list[float]) -> tuple[float, float]:
    h1, c1 = reference.lstm_cell([[0.0]], [[0.0]], [[1.0]], [[0.0]] * 4, [[0.0]] * 4, b_ih, [0.0] * 4)
    return h1[0][0], c1[0][0]


def _gru_probe(b_ih: list[float]) -> float:
    return reference.gru_cell([[0.0]], [[0.5]], [[0.0]] * 3, [[0.0]] * 3, b_ih, [0.0] * 3)[0][0]


def lstm_gate_order() -> Value:
    return lstm_gate_order_read(_lstm_probe)


def lstm_bias_count() -> Value:
    return sum(1 for p in inspect.signature(reference.lstm_cell).parameters if p.startswith("b_"))


def gru_gate_order() -> Value:
    return gru_gate_order_read(_gru_probe)


def gru_reset_after() -> Value:
    s = GATE_SATURATION
    b_ih = [*GRU_RESET_R_BIAS, -s, -s, 0.0, 0.0]  # r = (1, 0), z = (0, 0), the candidate's input bias 0
    w_hh = [[0.0, 0.0]] * 4 + [list(row) for row in GRU_RESET_W_HN]
    return gru_reset_read(reference.gru_cell([[0.0]], [list(GRU_RESET_H)], [[0.0]] * 6, w_hh, b_ih, [0.0] * 6))


def gru_bias_count() -> Value:
    return sum(1 for p in inspect.signature(reference.gru_cell).parameters if p.startswith("b_"))


# --- recurrent layers run backwards, and bidirectional joins (the readers serve conventions/<framework>.py too) ----
# A one-unit LSTM whose candidate alone reads x (w_ih = (0, 0, 1, 0) in the blocks i, f, g, o; everything else 0),
# from h = c = 0: every gate is σ(0) = ½, so c_t = c_{t−1}/2 + tanh(x_t)/2 and h_t = tanh(c_t)/2. Over x = (1, 0, 0)
# read backwards the states are 0, 0 and then non-zero: the only non-zero output is the first if outputs sit at their
# inputs' positions, the last if they come in the order read. A backward direction with zero weights outputs 0.
BACKWARDS_X = [[[1.0], [0.0], [0.0]]]
LSTM_PROBE_W_IH = [[0.0], [0.0], [1.0], [0.0]]


def backwards_order_read(outputs: object) -> Value:
    """Where a layer run backwards over BACKWARDS_X puts its outputs (N = 1, H = 1)."""
    y = np.asarray(outputs, dtype=np.float64).reshape(-1)
    if y[0] != 0 and np.all(y[1:] == 0):
        return "at the inputs' positions (the state after reading x_t at t)"
    if y[-1] != 0 and np.all(y[:-1] == 0):
        return "in the order read, last input first"
    return f"unrecognised: {y.tolist()}"


def merge_read(outputs: object) -> Value:
    """How a bidirectional layer (H = 1, the backward direction's weights 0) joins its directions' outputs."""
    y = np.asarray(outputs, dtype=np.float64)[0]  # (T, features)
    if y.shape[-1] == 2 and np.any(y[:, 0] != 0) and np.all(y[:, 1] == 0):
        return "concat on the feature axis, [forward, backward]"
    if y.shape[-1] == 2 and np.any(y[:, 1] != 0) and np.all(y[:, 0] == 0):
        return "concat on the feature axis, [backward, forward]"
    return f"unrecognised: {y.tolist()}"


def h_n_layout_read(states: list[object]) -> Value:
    """How a bidirectional layer (the backward direction's weights 0) returns its final states."""
    arrays = [np.asarray(s, dtype=np.float64) for s in states]

    def side(a: np.ndarray) -> str:
        return "forward" if np.any(a != 0) else "backward"

    if all(a.ndim == 3 and a.shape[0] == 2 for a in arrays):
        orders = {f"{side(a[0])} first" if side(a[0]) != side(a[1]) else "unrecognised" for a in arrays}
        return f"each state stacked (2·layers, N, H), {', '.join(sorted(orders))}"
    return f"{len(arrays)} separate (N, H) tensors: " + ", ".join(side(a) for a in arrays)


def _bidirectional_probe() -> tuple[object, object, object]:
    zeros = {k: [[0.0]] * 4 for k in ("w_hh", "w_ih_reverse", "w_hh_reverse")}
    biases = {k: [0.0] * 4 for k in ("b_ih", "b_hh", "b_ih_reverse", "b_hh_reverse")}
    states = {"h0": [[[0.0]], [[0.0]]], "c0": [[[0.0]], [[0.0]]]}
    return reference.bidirectional_lstm(BACKWARDS_X, w_ih=LSTM_PROBE_W_IH, **states, **zeros, **biases)


def lstm_go_backwards_output_order() -> Value:
    zeros = [[0.0]] * 4
    outputs, _, _ = reference.lstm(BACKWARDS_X, [[0.0]], [[0.0]], LSTM_PROBE_W_IH, zeros, [0.0] * 4, [0.0] * 4, True)
    return backwards_order_read(outputs)


def bidirectional_merge_mode() -> Value:
    return merge_read(_bidirectional_probe()[0])


def bidirectional_h_n_layout() -> Value:
    return h_n_layout_read(list(_bidirectional_probe()[1:]))


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


# --- batch normalization: one training step on a batch of one channel, read from its running statistics -----

BN_BATCH = [[0.0], [2.0]]  # one channel of 2 values: mean 1, biased variance 1, unbiased variance 2
BN_MOMENTUM = 0.25  # an explicit momentum whose two meanings differ: the new batch weighted 0.25 or 0.75


def momentum_read(running_mean: object) -> Value:
    """What a momentum of :data:`BN_MOMENTUM` means, from the running mean after one step from 0 on :data:`BN_BATCH`."""
    w = float(np.asarray(running_mean, dtype=np.float64).reshape(-1)[0])  # the new batch's weight (its mean is 1)
    if math.isclose(w, BN_MOMENTUM):
        return "weights the new batch"
    return "weights the old value" if math.isclose(w, 1 - BN_MOMENTUM) else f"other (new batch weighted {w:g})"


def running_variance_read(running_var: object) -> Value:
    """Which variance of :data:`BN_BATCH` a running variance took, after a step that weights the new batch 1."""
    v = float(np.asarray(running_var, dtype=np.float64).reshape(-1)[0])
    if math.isclose(v, 1.0):
        return "biased (divides by n)"
    return "unbiased (divides by n - 1)" if math.isclose(v, 2.0) else f"other ({v:g})"


def batch_norm_default_eps() -> Value:
    return eps_read(reference.batch_norm([[-EPS_PROBE_A], [EPS_PROBE_A]], [0.0], [1.0], training=True))


def batch_norm_new_batch_weight() -> Value:
    return num(reference.batch_norm_running_stats(BN_BATCH, [0.0], [1.0])[0][0])


def batch_norm_momentum_meaning() -> Value:
    return momentum_read(reference.batch_norm_running_stats(BN_BATCH, [0.0], [1.0], momentum=BN_MOMENTUM)[0])


def batch_norm_running_variance() -> Value:
    return running_variance_read(reference.batch_norm_running_stats(BN_BATCH, [0.0], [0.0], momentum=1.0)[1])


# --- robust regression losses and the KL divergence: probed at fixed inputs (float64) ------------------------

HUBER_RESIDUAL = 3.0  # huber at r = 3 is δ(3 − δ/2) for δ < 3: 2.5 for δ = 1
SCALING_RESIDUAL, SCALING_BETA = 10.0, 2.0  # at r = 10, β = δ = 2: smooth L1 gives |r| − β/2 = 9, Huber δ·9 = 18
KL_PREDICTION, KL_TARGET = [0.5, 0.5], [0.25, 0.75]  # the prediction's numbers, read as log q or as q
KL_BATCH_LOG_Q = [[-math.log(2.0), -math.log(2.0)], [-math.log(4.0), math.log(0.75)]]  # log q of two rows
KL_BATCH_P = [[0.25, 0.75], [0.5, 0.5]]
KL_TINY_Q = 1e-10  # KL([1, 0] ‖ [q, 1 − q]) = −log q = 23.03; a clip at ε gives −log ε


def huber_delta_read(y: object) -> Value:
    """δ from the Huber loss ``y`` at :data:`HUBER_RESIDUAL` (δ(r − δ/2) = y, δ < r), to 3 significant digits."""
    v = float(np.asarray(y, dtype=np.float64).reshape(-1)[0])
    r = HUBER_RESIDUAL
    return float(f"{r - math.sqrt(r * r - 2.0 * v):.3g}") if 0 <= v <= r * r / 2 else None


def scaling_read(y: object) -> Value:
    """The scaling of a loss at :data:`SCALING_RESIDUAL`, threshold 2: smooth L1's slope 1, or Huber's slope δ."""
    v = float(np.asarray(y, dtype=np.float64).reshape(-1)[0])
    r, b = SCALING_RESIDUAL, SCALING_BETA
    if math.isclose(v, r - b / 2, rel_tol=1e-6):
        return "smooth L1: |r| − β/2 (slope 1)"
    return "Huber: δ(|r| − δ/2) (slope δ)" if math.isclose(v, b * (r - b / 2), rel_tol=1e-6) else f"other ({v:.6g})"


def kl_terms(log_q: object, p: object) -> np.ndarray:
    """p·(log p − log q) elementwise (float64; p > 0): the terms the KL probes are read against."""
    p = np.asarray(p, dtype=np.float64)
    return p * (np.log(p) - np.asarray(log_q, dtype=np.float64))


def kl_input_read(y: object) -> Value:
    """What a KL divergence of :data:`KL_TARGET` from :data:`KL_PREDICTION` (summed) read the prediction as."""
    v = float(np.sum(np.asarray(y, dtype=np.float64)))
    if math.isclose(v, float(np.sum(kl_terms(KL_PREDICTION, KL_TARGET))), rel_tol=1e-5):
        return "log-probabilities"
    as_q = float(np.sum(kl_terms(np.log(KL_PREDICTION), KL_TARGET)))
    return "probabilities" if math.isclose(v, as_q, rel_tol=1e-5) else f"other ({v:.6g})"


def kl_reduction_read(y: object) -> Value:
    """How a KL divergence of :data:`KL_BATCH_P` from :data:`KL_BATCH_LOG_Q` was reduced by default."""
    y = np.asarray(y, dtype=np.float64)
    terms = kl_terms(KL_BATCH_LOG_Q, KL_BATCH_P)
    if y.shape == (2, 2):
        return "none (each element)"
    if y.shape == (2,):
        return "none (each row's sum)"
    v, total = float(y), float(np.sum(terms))
    for name, divisor in (("mean over elements", 4.0), ("batchmean (sum / rows)", 2.0), ("sum", 1.0)):
        if math.isclose(v, total / divisor, rel_tol=1e-5):
            return name
    return f"other ({v:.6g})"


def kl_clip_read(y: object) -> Value:
    """The smallest probability the prediction was clipped to, read from KL([1, 0] ‖ [q, 1 − q]) at q =
    :data:`KL_TINY_Q`: ``"none"`` where −log q came back, else e^−y to 3 significant digits."""
    v = float(np.sum(np.asarray(y, dtype=np.float64)))
    floor = math.exp(-v)
    return "none" if math.isclose(floor, KL_TINY_Q, rel_tol=1e-3) else float(f"{floor:.3g}")


def kl_tiny_log_q() -> list[float]:
    """log q of the clipping probe's prediction [q, 1 − q], q = :data:`KL_TINY_Q`."""
    return [math.log(KL_TINY_Q), math.log1p(-KL_TINY_Q)]


def huber_loss_default_delta() -> Value:
    return huber_delta_read(reference.huber_loss([HUBER_RESIDUAL], [0.0]))


def smooth_l1_loss_scaling() -> Value:
    return scaling_read(reference.smooth_l1_loss([SCALING_RESIDUAL], [0.0], beta=SCALING_BETA))


def kl_div_input_space() -> Value:
    return kl_input_read(reference.kl_div(KL_PREDICTION, KL_TARGET, reduction="sum"))


def kl_div_default_reduction() -> Value:
    return kl_reduction_read(reference.kl_div(KL_BATCH_LOG_Q, KL_BATCH_P))


def kl_div_clipping() -> Value:
    return kl_clip_read(reference.kl_div(kl_tiny_log_q(), [1.0, 0.0], reduction="sum"))


# --- classification losses: label smoothing and pos_weight, read as the target weight they give ------------

SMOOTHING = 0.4  # ε of the label-smoothing probes
SMOOTHING_LOGITS = [[math.log(4.0), 0.0, 0.0, 0.0]]  # C = 4, target 0: softmax [4/7, 1/7, 1/7, 1/7]
BCE_PROBE_LOGIT = math.log(3.0)  # σ = 3/4, target 1: the binary label-smoothing probe
POS_WEIGHT = 3.0  # pos_weight of the pos_weight probe, at logits [0, 0] against targets [1, 0]


def smoothing_read(loss: object) -> Value:
    """The weight q_y that the smoothed target of :data:`SMOOTHING_LOGITS` (class 0) gives the target class,
    from the loss −q_y·log(4/7) − (1 − q_y)·log(1/7), named by the form it matches (ε = :data:`SMOOTHING`)."""
    v = float(np.sum(np.asarray(loss, dtype=np.float64)))
    q = (v - math.log(7.0)) / -math.log(4.0)
    c, eps = len(SMOOTHING_LOGITS[0]), SMOOTHING
    if math.isclose(q, 1 - eps + eps / c, rel_tol=1e-5):
        return "(1 − ε)·onehot + ε/C: ε/C to every class, the target included"
    if math.isclose(q, 1 - eps, rel_tol=1e-5):
        return "(1 − ε)·onehot + ε/(C − 1) to the other classes"
    return f"other (target weight {q:.4g})"


def binary_smoothing_read(loss: object) -> Value:
    """The smoothed binary target of label 1 at the logit :data:`BCE_PROBE_LOGIT` (σ = 3/4), from the loss
    −y′·log(3/4) − (1 − y′)·log(1/4): ``1 − ε/2`` (y(1 − ε) + ε/2, two classes), or ``none``."""
    v = float(np.sum(np.asarray(loss, dtype=np.float64)))
    y = (v - math.log(4.0)) / -math.log(3.0)
    if math.isclose(y, 1.0, rel_tol=1e-5):
        return "none (the target is not smoothed)"
    if math.isclose(y, 1 - SMOOTHING / 2, rel_tol=1e-5):
        return "y·(1 − ε) + ε/2: ε/2 to each of the two classes"
    return f"other (smoothed target {y:.4g})"


def pos_weight_read(loss: object) -> Value:
    """What pos_weight = :data:`POS_WEIGHT` did to the losses at logits [0, 0] against targets [1, 0] (log 2 each
    without it): the positive term only, the whole loss, or nothing."""
    a, b = (float(v) for v in np.asarray(loss, dtype=np.float64).reshape(-1))
    ln2 = math.log(2.0)
    if math.isclose(a, POS_WEIGHT * ln2, rel_tol=1e-5) and math.isclose(b, ln2, rel_tol=1e-5):
        return "multiplies the positive term (y·log σ(x)) only"
    return "no effect" if math.isclose(a, ln2, rel_tol=1e-5) else f"other ({a:.4g}, {b:.4g})"


def absent(exc: Exception) -> Value:
    """The value of a probe whose framework has no such argument: what it raised, as a fact."""
    return f"none (no such argument: {type(exc).__name__})"


def cross_entropy_label_smoothing_formula() -> Value:
    return smoothing_read(reference.smoothed_cross_entropy(SMOOTHING_LOGITS, [0], SMOOTHING))


def binary_cross_entropy_label_smoothing_formula() -> Value:
    f: Callable[..., object] = reference.binary_cross_entropy_with_logits
    try:
        return binary_smoothing_read(f([BCE_PROBE_LOGIT], [1.0], label_smoothing=SMOOTHING))
    except TypeError as exc:  # the canonical op has no label smoothing, as PyTorch's and optax's
        return absent(exc)


def binary_cross_entropy_with_logits_pos_weight() -> Value:
    loss = reference.binary_cross_entropy_with_logits([0.0, 0.0], [1.0, 0.0], [POS_WEIGHT] * 2, reduction="none")
    return pos_weight_read(loss)


# --- dropout and embedding: probed through each framework's own API, read as numbers and words ------------

DROPOUT_RATE = 0.2  # dropout of DROPOUT_UNITS ones: the fraction of zeros is 0.2 for a drop probability, 0.8 for keep
DROPOUT_UNITS = 10_000  # the fraction is within ±0.024 of its expectation except with probability 10⁻⁶ (Hoeffding)
INDEX_TABLE = [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]  # a weight of V = 3 rows whose rows tell which one came back


def kept_value(y: object) -> Value:
    """The largest output of dropout of ones at p = 0.5: 2 for inverted dropout (×1/(1 − p)), 1 unscaled."""
    return num(np.max(np.asarray(y, dtype=np.float64)))


def rate_read(y: object) -> Value:
    """What p means, from dropout of :data:`DROPOUT_UNITS` ones at p = :data:`DROPOUT_RATE` (its fraction of zeros)."""
    zeros = float(np.mean(np.asarray(y, dtype=np.float64) == 0.0))
    if abs(zeros - DROPOUT_RATE) < 0.05:
        return "drop probability"
    if abs(zeros - (1.0 - DROPOUT_RATE)) < 0.05:
        return "keep probability"
    return f"{zeros:.3g} dropped"


def dropped_nan_read(y: object) -> Value:
    """What a dropped NaN becomes, from dropout of NaNs at p = 0.5 (about half of them dropped): NaN or 0."""
    return "0 (a select)" if np.any(np.asarray(y, dtype=np.float64) == 0.0) else "NaN (x·0)"


def padding_read(grad_of_row_0: object) -> Value:
    """Whether the padding row (row 0, looked up once with cotangent 1) got a gradient."""
    return "no gradient" if np.all(np.asarray(grad_of_row_0, dtype=np.float64) == 0.0) else "gradient"


def init_read(w: object) -> Value:
    """Which distribution a freshly initialised (1000, 64) embedding table was drawn from, by its spread."""
    ws = np.asarray(w, dtype=np.float64)
    top, std = float(np.max(np.abs(ws))), float(np.std(ws))
    if top <= 0.05 and abs(std - 0.05 / math.sqrt(3.0)) < 0.002:
        return "uniform(−0.05, 0.05)"
    if abs(std - 1.0) < 0.05:
        return "normal(0, 1)"
    return f"std {std:.3g}, max |w| {top:.3g}"


def index_read(lookup: Callable[[], object]) -> Value:
    """What a lookup in :data:`INDEX_TABLE` at one index gives: an error, NaN, or which row."""
    try:
        y = np.asarray(lookup(), dtype=np.float64).reshape(-1)
    except Exception:  # any framework's refusal (IndexError, InvalidArgumentError, ValueError)
        return "error"
    if np.all(np.isnan(y)):
        return "NaN (filled)"
    rows = [k for k, row in enumerate(INDEX_TABLE) if np.array_equal(y, row)]
    return f"row {rows[0]}" if rows else str(y.tolist())


def dropout_scaling() -> Value:
    return kept_value(reference.dropout([1.0, 1.0], [1.0, 0.0], 0.5))


def dropout_rate_meaning() -> Value:
    (kept,) = reference.dropout([1.0], [1.0], DROPOUT_RATE)  # 1/(1 − p): p is the probability of dropping
    return "drop probability" if math.isclose(kept, 1.0 / (1.0 - DROPOUT_RATE)) else "keep probability"


def dropout_dropped_nan() -> Value:
    return dropped_nan_read(reference.dropout([math.nan, math.nan], [0.0, 1.0], 0.5))


def dropout_float64_input() -> Value:
    return "float64"  # the reference computes in float64 throughout


def embedding_padding_index() -> Value:
    return padding_read(reference.embedding_vjp(INDEX_TABLE, [0, 1], [[1.0, 1.0], [1.0, 1.0]], padding_idx=0)[0])


def embedding_default_init() -> Value:
    return None  # the reference has no initialisation


def embedding_out_of_range_index() -> Value:
    return index_read(lambda: reference.embedding(INDEX_TABLE, [3]))


def embedding_negative_index() -> Value:
    return index_read(lambda: reference.embedding(INDEX_TABLE, [-1]))


# --- adaptive optimisers: one step from zero moments (float64), read as numbers and words ---------------

ADAM_PROBE_LR = 0.1
ADAM_PROBE_GRAD = 1e-6  # equal to ADAM_PROBE_EPS: the paper's first step is lr·g/(|g| + ε) = lr/2
ADAM_PROBE_EPS = 1e-6
ADAM_DECAY = 0.5  # weight decay of the adam.weight_decay probe, on param 1 with a zero gradient
ADAM_BIG_GRAD = 1e4  # ε/|g| = 10⁻¹², below what adam.float64_hyperparameters reads


def eps_placement_read(delta: object) -> Value:
    """Where ε acts, from the first step ``delta`` with g = ε = 10⁻⁶: ε/√(1 − β₂) on √v̂ means √v + ε."""
    step = abs(float(np.asarray(delta, dtype=np.float64).reshape(-1)[-1]))
    ratio = ADAM_PROBE_GRAD * (ADAM_PROBE_LR / step - 1.0) / ADAM_PROBE_EPS  # ε's effective size on √v̂, in ε
    if math.isclose(ratio, 1.0, rel_tol=1e-3):
        return "sqrt(v_hat) + eps"
    if math.isclose(ratio, 1.0 / math.sqrt(1.0 - 0.999), rel_tol=1e-3):
        return "sqrt(v) + eps (before the bias correction: eps/sqrt(1 - beta2^t) on sqrt(v_hat))"
    return f"other (eps acts as {ratio:.3g}·eps on sqrt(v_hat))"


def weight_decay_read(param: object | None) -> Value:
    """What Adam's own weight_decay did to param 1 with a zero gradient (lr = 0.1, λ = 0.5); None: no option."""
    if param is None:
        return "no weight_decay option"
    p = float(np.asarray(param, dtype=np.float64).reshape(-1)[-1])
    if math.isclose(p, 1.0 - ADAM_PROBE_LR * ADAM_DECAY, rel_tol=1e-9):
        return "decoupled (param·(1 − lr·λ))"
    if math.isclose(p, 1.0 - ADAM_PROBE_LR, rel_tol=1e-6):
        return "L2 added to the gradient (λ·param through the moments)"
    return f"other (param 1 → {p:.6g})"


def float64_step_read(delta: object) -> Value:
    """How exact a float64 first step of Adam's defaults is, lr = 0.1, g = 10⁴: its relative error from lr."""
    step = abs(float(np.asarray(delta, dtype=np.float64).reshape(-1)[-1]))
    error = step / ADAM_PROBE_LR - 1.0
    return "float64" if abs(error) < 1e-10 else f"rounded to float32 (the first step off by {error:.2g})"


def adam_default_eps() -> Value:
    return num(inspect.signature(reference.adam_step).parameters["eps"].default)


def adam_eps_placement() -> Value:
    after, _, _ = reference.adam_step([0.0], [ADAM_PROBE_GRAD], [0.0], [0.0], 1, lr=ADAM_PROBE_LR, eps=ADAM_PROBE_EPS)
    return eps_placement_read(after)


def adam_weight_decay() -> Value:
    # adam_step has no weight_decay option: the decoupled decay is adamw_step, a term of its own.
    has_option = "weight_decay" in inspect.signature(reference.adam_step).parameters
    return None if has_option else weight_decay_read(None)


def adam_float64_hyperparameters() -> Value:
    after, _, _ = reference.adam_step([0.0], [ADAM_BIG_GRAD], [0.0], [0.0], 1, lr=ADAM_PROBE_LR)
    return float64_step_read(after)


def adamw_default_weight_decay() -> Value:
    return num(inspect.signature(reference.adamw_step).parameters["weight_decay"].default)


# --- SGD with momentum: a few float64 steps of gradient 1 (or 0) from θ = 0 (or 1), read as words ----------

SGD_PROBE_DAMPENING = 0.5  # sgd.first_step_buffer: one step of g = 1, lr = 1, μ = 0.5
SGD_DECAY_PROBE = {"lr": 0.5, "momentum": 0.5, "weight_decay": 0.5}  # two steps of g = 0 from θ = 1
SGD_FLOAT64_MOMENTUM = 0.9  # two steps of g = 1, lr = 1: θ = −(1 + 1.9) = −2.9 with μ exact in float64


def first_step_buffer_read(theta: object, has_dampening: bool) -> Value:
    """What the first step (g = 1, lr = 1, μ = 0.5, dampening 0.5 where the API has it) moved θ = 0 to."""
    p = float(np.asarray(theta, dtype=np.float64).reshape(-1)[-1])
    if not has_dampening:
        return "zeros (b = μ·0 + g; no dampening to skip)" if p == -1.0 else f"other (θ = {p:.6g})"
    if p == -1.0:
        return "none until the first step, then b = g (undamped)"
    return "zeros, then b = (1 − τ)·g (damped)" if p == -(1.0 - SGD_PROBE_DAMPENING) else f"other (θ = {p:.6g})"


def dampening_read(default: object) -> Value:
    """SGD's dampening option: its default, or none."""
    return "no dampening option" if default is None else f"b = μ·b + (1 − τ)·g, τ = {num(default):g} by default"


def nesterov_read(theta: object) -> Value:
    """Nesterov's form, from θ after two steps of g = 1 (lr = 1, μ = 0.5): −3.25 along the new velocity b′."""
    p = float(np.asarray(theta, dtype=np.float64).reshape(-1)[-1])
    if math.isclose(p, -3.25, rel_tol=1e-9):  # b = 1, θ = −1.5; b′ = 1.5, θ = −1.5 − (1 + 0.75)
        return "g + μ·b′ (the new velocity)"
    if math.isclose(p, -3.0, rel_tol=1e-9):  # θ = −1.5 − (1 + 0.5·1)
        return "g + μ·b (the old velocity)"
    return f"other (θ = {p:.6g} after two steps)"


def weight_decay_coupling_read(theta: object | None) -> Value:
    """SGD's weight_decay, from θ after two steps of g = 0 from θ = 1 (lr = 0.5, μ = 0.5, λ = 0.5); None: no option.

    L2: b = 0.5, θ = 0.75; g̃ = 0.375, b = 0.625, θ = 0.4375. Decoupled: θ = 0.75² = 0.5625 (no velocity).
    """
    if theta is None:
        return "no weight_decay option"
    p = float(np.asarray(theta, dtype=np.float64).reshape(-1)[-1])
    if math.isclose(p, 0.4375, rel_tol=1e-9):
        return "L2, coupled (λ·θ added to the gradient, through the momentum)"
    if math.isclose(p, 0.5625, rel_tol=1e-9):
        return "decoupled (θ·(1 − lr·λ) beside the step)"
    return f"other (θ = {p:.6g} after two steps)"


def float64_momentum_read(theta: object) -> Value:
    """How exact μ = 0.9 is in a float64 step: θ after two steps of g = 1, lr = 1, against −2.9."""
    p = float(np.asarray(theta, dtype=np.float64).reshape(-1)[-1])
    error = p / -2.9 - 1.0
    return "float64" if abs(error) < 1e-15 else f"rounded to float32 (θ off by {error:.2g})"


def _sgd_steps(grads: tuple[float, ...], param: float = 0.0, **hyper: float | bool) -> float:
    """θ after steps of the reference with the given gradients (the first with first_step=True)."""
    p, b = [param], [0.0]
    for t, g in enumerate(grads):
        p, b = reference.sgd_momentum_step(p, [g], b, first_step=t == 0, **hyper)
    return p[0]


def sgd_momentum_formulation() -> Value:
    p, b = [0.0], [0.0]
    for t, lr in enumerate(SGD_LRS):
        p, b = reference.sgd_momentum_step(p, [1.0], b, lr=lr, momentum=SGD_MOMENTUM, first_step=t == 0)
    return sgd_momentum_read(p)


def sgd_first_step_buffer() -> Value:
    theta = _sgd_steps((1.0,), lr=1.0, momentum=0.5, dampening=SGD_PROBE_DAMPENING)
    return first_step_buffer_read(theta, has_dampening=True)


def sgd_dampening() -> Value:
    return dampening_read(inspect.signature(reference.sgd_momentum_step).parameters["dampening"].default)


def sgd_nesterov_formulation() -> Value:
    return nesterov_read(_sgd_steps((1.0, 1.0), lr=1.0, momentum=0.5, nesterov=True))


def sgd_weight_decay_coupling() -> Value:
    return weight_decay_coupling_read(_sgd_steps((0.0, 0.0), param=1.0, **SGD_DECAY_PROBE))


def sgd_float64_momentum() -> Value:
    return float64_momentum_read(_sgd_steps((1.0, 1.0), lr=1.0, momentum=SGD_FLOAT64_MOMENTUM))


def sgd_default_learning_rate() -> Value:
    return "required"  # sgd_momentum_step, like sgd_step, has no default rate


# --- RMSprop and Adagrad: the reference's defaults, and its steps read as each framework's -------------------


def rmsprop_default_decay() -> Value:
    return num(inspect.signature(reference.rmsprop_step).parameters["alpha"].default)


def rmsprop_default_eps() -> Value:
    return num(inspect.signature(reference.rmsprop_step).parameters["eps"].default)


def rmsprop_default_lr() -> Value:
    return num(inspect.signature(reference.rmsprop_step).parameters["lr"].default)


def adagrad_default_eps() -> Value:
    return num(inspect.signature(reference.adagrad_step).parameters["eps"].default)


def adagrad_default_lr() -> Value:
    return num(inspect.signature(reference.adagrad_step).parameters["lr"].default)


def rmsprop_eps_placement() -> Value:
    after, _ = reference.rmsprop_step(
        [0.0], [RMS_PROBE_GRAD], [0.0], lr=RMS_PROBE_LR, alpha=RMS_PROBE_DECAY, eps=RMS_PROBE_EPS
    )
    return rmsprop_eps_read(after)


def adagrad_first_step_read(param: object) -> Value:
    """Adagrad's first step from a zero sum (g = ε = 1e−6), in units of lr: 0.5 = g/(g + ε), 0.001 = g/√(g² + ε)."""
    return num(abs(float(np.asarray(param, dtype=np.float64).reshape(-1)[0])) / RMS_PROBE_LR)


def adagrad_eps_placement() -> Value:
    after, _ = reference.adagrad_step([0.0], [RMS_PROBE_GRAD], [0.0], 1, lr=RMS_PROBE_LR, eps=RMS_PROBE_EPS)
    return adagrad_first_step_read(after)


# --- attention: the reference read as each framework is (readings.attention_*_read) ---------------


def attention_boolean_mask_meaning() -> Value:
    return attention_mask_read(reference.scaled_dot_product_attention)


def attention_default_scale() -> Value:
    return attention_scale_read(reference.scaled_dot_product_attention)


def attention_fully_masked_row() -> Value:
    return attention_masked_row_read(reference.scaled_dot_product_attention)


def attention_fully_masked_bias_row() -> Value:
    return attention_masked_bias_row_read(reference.scaled_dot_product_attention)


def attention_causal_alignment() -> Value:
    return attention_alignment_read(reference.scaled_dot_product_attention)


def attention_float64_softmax() -> Value:
    return attention_precision_read(reference.scaled_dot_product_attention)


# --- positions: the reference read as a library's layer would be (readers in dlterms.conformance.invariants.positional)


def rope_pairing() -> Value:
    from ..invariants.positional import rope_pairing_read

    return rope_pairing_read(reference.rotary_embedding)


def positional_encoding_layout() -> Value:
    from ..invariants.positional import encoding_layout_read

    return encoding_layout_read(reference.sinusoidal_positional_encoding)


# --- weight initialisation: the reference's maps on a seeded standard normal draw (readers in
# dlterms.conformance.invariants.initialization) ---------------------------------------------------------


def _init_draw(shape: tuple[int, ...]) -> list[object]:
    return np.random.default_rng(0).standard_normal(shape).tolist()


def _kaiming_square_and_rect() -> tuple[object, object]:
    from ..invariants.initialization import PROBE_RECT, PROBE_SQUARE

    return reference.kaiming_normal(_init_draw(PROBE_SQUARE)), reference.kaiming_normal(_init_draw(PROBE_RECT))


def kaiming_default_mode() -> Value:
    from ..invariants.initialization import kaiming_mode_read

    return kaiming_mode_read(*_kaiming_square_and_rect())


def kaiming_default_gain() -> Value:
    from ..invariants.initialization import kaiming_gain_read

    return kaiming_gain_read(_kaiming_square_and_rect()[0])


def _normal_distribution(kind: str) -> Value:
    from ..invariants.initialization import PROBE_RECT, expected_scale, normal_distribution_read

    w = getattr(reference, kind)(_init_draw(PROBE_RECT))
    return normal_distribution_read(w, expected_scale(kind, PROBE_RECT))


def xavier_normal_distribution() -> Value:
    return _normal_distribution("xavier_normal")


def kaiming_normal_distribution() -> Value:
    return _normal_distribution("kaiming_normal")


def init_conv_fan_layout() -> Value:
    from ..invariants.initialization import CONV_SHAPES, conv_layout_read

    shape = CONV_SHAPES["(out, in, *kernel)"]
    return conv_layout_read(shape, reference.kaiming_normal(_init_draw(shape)))


# --- learning-rate schedules and gradient clipping (readers shared by the framework probes) ----------------

SCHEDULE_PROBE_T_MAX = 4  # cosine annealing read at t = 2T = 8, η₀ = 1, η_min = 0: 0 clamped, 1 on a period 2T
CLIP_PROBE = (3.0, 4.0)  # N = 5, clipped to max_norm 1: the first element 3·1/(5 + eps)


def first_step_count_read(first_update: float) -> Value:
    """The step count t of an optimiser's first update, from that update (lr 1, gradient 1) under step decay
    with step_size 1 and γ = 0.5: a move of 1 is t = 0, of 0.5 is t = 1."""
    return {1.0: 0, 0.5: 1}.get(abs(float(first_update)), f"a first move of {float(first_update)!r}")


def float64_rate_read(rate: float) -> Value:
    """The precision of a float64 schedule's γ = 0.1, from its rate after one drop of a base rate 1."""
    rate = float(rate)
    return "float64" if rate == 0.1 else "float32" if rate == float(np.float32(0.1)) else f"{rate!r}"


def clip_eps_read(first: float) -> Value:
    """The ε of a clipping factor max_norm/(N + ε), from [3, 4] (N = 5) clipped to max_norm 1: ε = 3/y₀ − 5
    (0 below 1e-12, the float64 rounding of the exact factor)."""
    eps = 3.0 / float(first) - 5.0
    return 0.0 if abs(eps) < 1e-12 else num(eps)


def step_lr_default_gamma() -> Value:
    return num(inspect.signature(reference.step_lr).parameters["gamma"].default)


def cosine_annealing_lr_default_eta_min() -> Value:
    return num(inspect.signature(reference.cosine_annealing_lr).parameters["eta_min"].default)


def cosine_annealing_lr_after_t_max() -> Value:
    return num(reference.cosine_annealing_lr(1.0, 2 * SCHEDULE_PROBE_T_MAX, SCHEDULE_PROBE_T_MAX))


def linear_warmup_lr_default_start_factor() -> Value:
    return num(inspect.signature(reference.linear_warmup_lr).parameters["start_factor"].default)


def lr_schedule_first_step_count() -> Value:
    # The canonical first step is t = 0: its rate, step_lr at 0, is the base rate.
    return first_step_count_read(reference.step_lr(1.0, 0, 1, 0.5))


def lr_schedule_float64_hyperparameters() -> Value:
    return float64_rate_read(reference.step_lr(1.0, 1, 1, 0.1))


def clip_grad_norm_eps() -> Value:
    return clip_eps_read(reference.clip_grad_norm([list(CLIP_PROBE)], 1.0)[0][0])


# --- transposed convolution and adaptive pooling (issue 13) ------------------------------------------------
# The readers are here, beside their canonical values, for the framework probes to share.

# Weight shapes of a transposed convolution from 2 to 3 channels with a 1 × 2 kernel, in each layout.
CONV_T_LAYOUTS: dict[str, tuple[int, int, int, int]] = {
    "(in, out, kH, kW)": (2, 3, 1, 2),
    "(out, in, kH, kW)": (3, 2, 1, 2),
    "(kH, kW, in, out)": (1, 2, 2, 3),
    "(kH, kW, out, in)": (1, 2, 3, 2),
}


def kernel_layout_read(out_channels: Callable[[tuple[int, int, int, int]], int]) -> str:
    """The layouts of :data:`CONV_T_LAYOUTS` whose shape an API takes for 2 input and 3 output channels.

    ``out_channels(shape)`` calls the API with a kernel of that shape and returns the output's channels.
    """
    found = []
    for name, shape in CONV_T_LAYOUTS.items():
        try:
            if out_channels(shape) == 3:
                found.append(name)
        except Exception:  # any framework's refusal of the shape (RuntimeError, InvalidArgumentError, TypeError)
            continue
    return " or ".join(found) if found else "none accepted"


def transpose_of_one_read(y: object) -> str:
    """A single 1 transposed-convolved by the 1 × 2 kernel [1, 2]: [1, 2] is the adjoint (input gradient) of
    conv2d by that kernel; [2, 1] has the kernel flipped."""
    v = [float(a) for a in np.asarray(y, dtype=np.float64).reshape(-1)]
    if v == [1.0, 2.0]:
        return "the adjoint of conv2d"
    return "kernel flipped (not the adjoint of conv2d)" if v == [2.0, 1.0] else f"other {v}"


def output_padding_limit_read(call: Callable[[int, int, int], object]) -> str:
    """The largest output_padding of 0, 1, 2 an API takes at stride 2 (dilation 1) and at stride 1, dilation 2.

    ``call(stride, dilation, output_padding)`` runs the API on a 2 × 2 input and kernel.
    """

    def largest(stride: int, dilation: int) -> int:
        ok = -1
        for output_padding in range(3):
            try:
                call(stride, dilation, output_padding)
            except Exception:  # any framework's refusal (RuntimeError, ValueError)
                break
            ok = output_padding
        return ok

    return f"≤ {largest(2, 1)} at stride 2; ≤ {largest(1, 2)} at stride 1 with dilation 2"


ADAPTIVE_X = [[[[0.0, 1.0, 2.0, 3.0, 4.0]]]]  # pooled to (1, 3): PyTorch's bins 0-1, 1-3 and 3-4


def adaptive_bins_read(y: object) -> str:
    """The means of [0, 1, 2, 3, 4] pooled to 3: 0.5, 2, 3.5 with PyTorch's overlapping bins."""
    return ", ".join(f"{num(v):g}" for v in np.asarray(y, dtype=np.float64).reshape(-1))


def same_output_read(length: int) -> str:
    """The output length of "same" padding for an input of 3 at stride 2 (kernel 3): 6 = H·s, as conv2d's "same"
    maps 6 back to 3."""
    return f"{length} (H·s)" if length == 6 else str(length)


def conv_transpose2d_kernel_layout() -> Value:
    return kernel_layout_read(
        lambda shape: len(reference.conv_transpose2d([[[[0.0]], [[0.0]]]], np.zeros(shape).tolist())[0])
    )


def conv_transpose2d_adjoint_by_default() -> Value:
    return transpose_of_one_read(reference.conv_transpose2d([[[[1.0]]]], [[[[1.0, 2.0]]]]))


def conv_transpose2d_output_padding_limit() -> Value:
    x, w = np.zeros((1, 1, 2, 2)).tolist(), np.zeros((1, 1, 2, 2)).tolist()
    return output_padding_limit_read(
        lambda s, d, op: reference.conv_transpose2d(x, w, stride=s, dilation=d, output_padding=op)
    )


def adaptive_avg_pool2d_bins() -> Value:
    return adaptive_bins_read(reference.adaptive_avg_pool2d(ADAPTIVE_X, (1, 3)))


# --- interpolation (issue 13): each framework's resize, read through the same probes -------------------------

RESIZE_ROW = [[[[0.0, 1.0]]]]  # one row of 2, resized to (1, 4): where the pixel centres sit
RESIZE_RAMP = [[[[0.0, 1.0, 2.0, 3.0, 4.0]]]]  # one row of 5, shrunk to (1, 3): rounding and antialiasing
SCALE_RAMP = [[[[0.0, 1.0, 2.0]]]]  # one row of 3, enlarged by scale_factor 1.5 to 4


def _values(y: object) -> list[float]:
    return [num(v) for v in np.asarray(y, dtype=np.float64).reshape(-1)]


def coordinate_map_read(y: object) -> Value:
    """[0, 1] resized bilinearly to 4: 0, ¼, ¾, 1 with half-pixel centres; 0, ⅓, ⅔, 1 aligning the corners;
    0, ½, 1, 1 with TensorFlow 1's asymmetric map s = d·H/n."""
    got = _values(y)
    for name, expected in (
        ("align_corners=False (half-pixel centres)", [0.0, 0.25, 0.75, 1.0]),
        ("align_corners=True (corners aligned)", [0.0, num(1 / 3), num(2 / 3), 1.0]),
        ("asymmetric (s = d·H/n)", [0.0, 0.5, 1.0, 1.0]),
    ):
        if got == expected:
            return name
    return f"other ({', '.join(f'{v:g}' for v in got)})"


def nearest_rounding_read(y: object) -> Value:
    """[0, 1, 2, 3, 4] resized by nearest to 3: 0, 1, 3 with ⌊d·H/n⌋ (PyTorch's legacy); 0, 2, 4 with ⌊(d + ½)·H/n⌋."""
    got = _values(y)
    if got == [0.0, 1.0, 3.0]:
        return "⌊d·H/n⌋ (legacy)"
    if got == [0.0, 2.0, 4.0]:
        return "⌊(d + ½)·H/n⌋ (half-pixel)"
    return f"other ({', '.join(f'{v:g}' for v in got)})"


def antialias_read(y: object) -> Value:
    """[0, 1, 2, 3, 4] shrunk bilinearly to 3: ⅓, 2, 3⅔ without antialiasing (two inputs per output); a wider,
    antialiased kernel averages more inputs (0.43, 2, 3.57 with JAX's triangle of width 5/3)."""
    got = _values(y)
    return got != [num(1 / 3), 2.0, num(11 / 3)]


def scale_factor_read(y: object) -> Value:
    """[0, 1, 2] enlarged by scale_factor 1.5 to 4: 0, 0.625, 1.375, 2 if the map uses H/n = 3/4; 0, ½, 7/6, 11/6
    if it uses 1/scale_factor = 2/3."""
    got = _values(y)
    if got == [0.0, 0.625, 1.375, 2.0]:
        return "H/n (the sizes)"
    if got == [0.0, 0.5, num(7 / 6), num(11 / 6)]:
        return "1/scale_factor"
    return f"other ({', '.join(f'{v:g}' for v in got)})"


def interpolate_align_corners_default() -> Value:
    return coordinate_map_read(reference.interpolate(RESIZE_ROW, (1, 4), "bilinear"))


def interpolate_nearest_rounding() -> Value:
    return nearest_rounding_read(reference.interpolate(RESIZE_RAMP, (1, 3)))


def interpolate_antialias_default() -> Value:
    return antialias_read(reference.interpolate(RESIZE_RAMP, (1, 3), "bilinear"))


def interpolate_upsampling_layer_mode() -> Value:
    return str(inspect.signature(reference.interpolate).parameters["mode"].default)


def interpolate_scale_factor_coordinates() -> Value:
    return None  # the reference takes the output size only


def interpolate_bilinear_output_dtype() -> Value:
    return "float64"  # the reference computes in float64 and returns the input's precision


# --- multi-head attention: each framework's layer, read through the same probes --------------------------

MHA_MASK_PROBE = [[True, False]]  # one query, two keys with equal scores and values 1 and 3


def mha_mask_read(output: float) -> Value:
    """What True means in a multi-head attention's boolean mask, from its output under :data:`MHA_MASK_PROBE`
    (identity projections, E = 1, one head, keys 0 and 0, values 1 and 3): 1 = True takes part, 3 = masked out."""
    if output == 1.0:
        return "True = takes part"
    if output == 3.0:
        return "True = masked out"
    return f"other ({output:g})"


def mha_layout_read(shapes: dict[str, tuple[int, ...]], e: int, heads: int) -> Value:
    """The projection weights' layout from their shapes, for E = ``e`` features in ``heads`` heads (kdim = vdim = E)."""
    d = e // heads
    if shapes.get("in_proj_weight") == (3 * e, e):
        return "packed in_proj_weight (3E, E), (out, in)"
    if shapes.get("query") == (e, heads, d):
        return "one kernel per projection (E, H, E/H), (in, heads, features)"
    if shapes.get("q_proj_weight") == (e, e):
        return "separate (E, E) weights, (out, in)"
    return f"other ({sorted(shapes.items())})"


def _mha_probe_output() -> float:
    one = [[1.0]]
    y = reference.multi_head_attention(
        [[[1.0]]], [[[0.0], [0.0]]], [[[1.0], [3.0]]], 1, one, one, one, one, mask=MHA_MASK_PROBE
    )
    return float(y[0][0][0])


def mha_boolean_mask_meaning() -> Value:
    return mha_mask_read(_mha_probe_output())


def mha_projection_layout() -> Value:
    return mha_layout_read({"q_proj_weight": (4, 4)}, 4, 2)  # the signature's separate (E, E) weights


def mha_batch_first_default() -> Value:
    return True  # query (N, L, E): the reference has no other layout


def mha_default_bias() -> Value:
    return False  # in_proj_bias=None and out_proj_bias=None by default


# --- the Transformer block: the reference's defaults are torch.nn.TransformerEncoderLayer's --------------------

FAST_PATH_TAKEN = "taken (eval mode, no gradient, an even number of heads)"


def _block_default(name: str) -> Value:
    return inspect.signature(reference.transformer_encoder_block).parameters[name].default


def fast_path_read(taken: dict[tuple[bool, int], bool]) -> Value:
    """What a framework's fused encoder-layer path is taken for, from calls keyed (eval mode, heads): taken or not."""
    if taken == {(True, 2): True, (True, 1): False, (False, 2): False}:
        return FAST_PATH_TAKEN
    return "other (" + ", ".join(f"{'eval' if e else 'train'}, H={h}: {t}" for (e, h), t in sorted(taken.items())) + ")"


def transformer_norm_first_default() -> Value:
    return bool(_block_default("norm_first"))


def transformer_activation_default() -> Value:
    return str(_block_default("activation"))


def transformer_dim_feedforward_default() -> Value:
    return not_offered()  # F is linear1_weight's shape: the reference has no default width


def transformer_layer_norm_eps() -> Value:
    return num(_block_default("eps"))


def transformer_batch_first_default() -> Value:
    return True  # x (N, T, E): the reference has no other layout


def transformer_eval_fast_path() -> Value:
    return not_offered()  # one path: the reference has no fused kernel


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
        "lstm.gate_order",
        "The LSTM's four weight and bias blocks in the order the framework stacks them, each named by the gate "
        "it drives as PyTorch names them (i input, f forget, g candidate, o output), measured from a cell's "
        "outputs with each block's bias saturated in turn.",
        lstm_gate_order,
    ),
    Convention(
        "lstm.bias_count",
        "Bias vectors of the default LSTM cell: two (b_ih, b_hh, only their sum matters) or one.",
        lstm_bias_count,
    ),
    Convention(
        "lstm.forget_bias_init",
        "The forget gate's bias in a freshly built LSTM cell: 1 (Jozefowicz et al. 2015, Keras' "
        "unit_forget_bias) or drawn as every other bias (the reference initialises nothing).",
        not_offered,
    ),
    Convention(
        "gru.gate_order",
        "The GRU's three weight and bias blocks in the order the framework stacks them, named as PyTorch names "
        "them (r reset, z update, n candidate), measured with each block's bias saturated in turn.",
        gru_gate_order,
    ),
    Convention(
        "gru.reset_after",
        "Where the default GRU cell applies its reset gate: after the hidden matmul and its bias, "
        "r ⊙ (W_hn·h + b_hn) (PyTorch's and cuDNN's linear before reset, Keras' reset_after=True) or before it, "
        "W_hn·(r ⊙ h) + b_hn (Cho et al. 2014, Keras' reset_after=False).",
        gru_reset_after,
    ),
    Convention(
        "gru.bias_count",
        "Bias vectors of the default GRU cell: two (b_ih, b_hh, not interchangeable: r scales b_hn) or one.",
        gru_bias_count,
    ),
    Convention(
        "lstm.go_backwards_output_order",
        "Where a recurrent layer run backwards (from the last input to the first) puts its outputs: at the "
        "positions of the inputs they were read from (the reference's reverse=True, PyTorch's backward direction) or "
        "in the order read, last input first (Keras' go_backwards=True; Bidirectional flips them back).",
        lstm_go_backwards_output_order,
    ),
    Convention(
        "bidirectional.merge_mode",
        "How a bidirectional layer joins its two directions' outputs by default: concatenated on the feature axis "
        "(and in which order), summed, multiplied or averaged (Keras' merge_mode 'concat', 'sum', 'mul', 'ave').",
        bidirectional_merge_mode,
    ),
    Convention(
        "bidirectional.h_n_layout",
        "How a bidirectional layer returns its final states: each stacked (2·layers, N, H) with the forward "
        "direction's first (PyTorch), or as separate tensors per direction (Keras' Bidirectional).",
        bidirectional_h_n_layout,
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
    Convention(
        "batch_norm.default_eps",
        "The ε batch normalization adds to the variance when given none: 1e−5 in PyTorch, 1e−3 for Keras' layer.",
        batch_norm_default_eps,
    ),
    Convention(
        "batch_norm.new_batch_weight",
        "The weight the default momentum gives the new batch in the running statistics (one training step): "
        "0.1 in PyTorch (momentum=0.1), 0.01 for Keras' layer (momentum=0.99).",
        batch_norm_new_batch_weight,
    ),
    Convention(
        "batch_norm.momentum_meaning",
        "What the momentum argument weights in the running statistics' update, read with momentum 0.25: the new "
        "batch (PyTorch: (1 − m)·old + m·batch) or the old value (Keras: m·old + (1 − m)·batch).",
        batch_norm_momentum_meaning,
    ),
    Convention(
        "batch_norm.running_variance",
        "The batch variance the running variance takes in training: unbiased (÷ (n − 1), PyTorch) or biased "
        "(÷ n); the normalization itself always divides by n.",
        batch_norm_running_variance,
    ),
    Convention(
        "huber_loss.default_delta",
        "The δ of the Huber loss when given none, read from its value at a residual of 3: 1 in PyTorch, Keras, optax.",
        huber_loss_default_delta,
    ),
    Convention(
        "smooth_l1_loss.scaling",
        "Huber versus smooth L1: the framework's smooth L1 loss at a residual of 10 with β = 2 (its Huber loss with "
        "δ = 2 where it has no smooth L1): |r| − β/2 = 9 (slope 1), or δ(|r| − δ/2) = 18 (slope δ), β times as much.",
        smooth_l1_loss_scaling,
    ),
    Convention(
        "kl_div.input_space",
        "What the framework's KL divergence reads its prediction as: log-probabilities log q (PyTorch's kl_div, "
        "optax's kl_divergence) or probabilities q (Keras, jax.scipy.special.rel_entr).",
        kl_div_input_space,
    ),
    Convention(
        "kl_div.default_reduction",
        "How the KL divergence of two rows of two classes is reduced by default: PyTorch's 'mean' divides by every "
        "element (not the KL divergence; it warns), Keras' KLDivergence sums each row and averages the rows "
        "(batchmean), JAX's rel_entr returns each element.",
        kl_div_default_reduction,
    ),
    Convention(
        "kl_div.clipping",
        "The probability below which the prediction is clipped, read from KL([1, 0] ‖ [10⁻¹⁰, 1 − 10⁻¹⁰]) = 23.03: "
        "none where −log 10⁻¹⁰ comes back; Keras clips both distributions to [10⁻⁷, 1] (16.12).",
        kl_div_clipping,
    ),
    Convention(
        "cross_entropy.label_smoothing_formula",
        "The target distribution of cross-entropy with label smoothing ε = 0.4 over C = 4 classes, read from the "
        "loss: PyTorch's label_smoothing, optax's smooth_labels and Keras' CategoricalCrossentropy all give "
        "(1 − ε)·onehot + ε/C (target weight 0.7), not ε/(C − 1) to the other classes (0.6).",
        cross_entropy_label_smoothing_formula,
    ),
    Convention(
        "binary_cross_entropy.label_smoothing_formula",
        "Label smoothing of binary cross-entropy (ε = 0.4, label 1): Keras' BinaryCrossentropy smooths the label to "
        "y(1 − ε) + ε/2 = 0.8; PyTorch's binary_cross_entropy_with_logits and optax's sigmoid_binary_cross_entropy "
        "have no such argument.",
        binary_cross_entropy_label_smoothing_formula,
    ),
    Convention(
        "binary_cross_entropy_with_logits.pos_weight",
        "A weight of the positive term of binary cross-entropy from logits (pos_weight = 3 at logits 0, targets "
        "[1, 0]): PyTorch's pos_weight and TensorFlow's weighted_cross_entropy_with_logits multiply y·log σ(x) only; "
        "optax and Keras have none.",
        binary_cross_entropy_with_logits_pos_weight,
    ),
    Convention(
        "dropout.scaling",
        "The value dropout gives a kept 1 at p = 0.5 in training: 2 for inverted dropout (×1/(1 − p)), 1 where the "
        "kept units are not scaled (the paper's form, which scales the weights at test time instead).",
        dropout_scaling,
    ),
    Convention(
        "dropout.rate_meaning",
        "What dropout's p (rate) is: the probability of dropping a unit, or of keeping it (read from the fraction "
        "of zeros at p = 0.2 on 10,000 units).",
        dropout_rate_meaning,
    ),
    Convention(
        "dropout.dropped_nan",
        "What a dropped NaN becomes: NaN where dropout multiplies by the mask (x·0), 0 where it selects 0.",
        dropout_dropped_nan,
    ),
    Convention(
        "dropout.float64_input",
        "The dtype of dropout's output for a float64 input: a Keras layer casts to its dtype policy (float32).",
        dropout_float64_input,
    ),
    Convention(
        "embedding.padding_index",
        "Whether a padding index's row gets a gradient: PyTorch's padding_idx gives it none; Keras' mask_zero "
        "masks later layers only.",
        embedding_padding_index,
    ),
    Convention(
        "embedding.default_init",
        "How an embedding layer's table is initialised by default: N(0, 1) in PyTorch, uniform(−0.05, 0.05) in Keras.",
        embedding_default_init,
    ),
    Convention(
        "embedding.out_of_range_index",
        "What a lookup at index V (one past the last row, of V = 3) gives: an error, NaN, or a row (clamped or "
        "wrapped).",
        embedding_out_of_range_index,
    ),
    Convention(
        "embedding.negative_index",
        "What a lookup at index −1 gives: an error, or the last row (counted from the end).",
        embedding_negative_index,
    ),
    Convention(
        "adam.default_eps",
        "Adam's ε when none is given: 1e-8 in the paper, PyTorch and optax, 1e-7 in Keras.",
        adam_default_eps,
    ),
    Convention(
        "adam.eps_placement",
        "Where Adam adds ε, read from a first step with g = ε = 1e-6: to the bias-corrected √v̂ (the paper), or "
        "to √v before the bias correction (Keras: the same as ε/√(1 − β₂ᵗ) on √v̂, 31.6·ε at the first step).",
        adam_eps_placement,
    ),
    Convention(
        "adam.weight_decay",
        "What Adam's own weight_decay option does (lr = 0.1, λ = 0.5, a zero gradient, param 1): an L2 term "
        "added to the gradient (PyTorch's Adam), a decoupled decay (Keras' Adam, like AdamW), or no option.",
        adam_weight_decay,
    ),
    Convention(
        "adam.float64_hyperparameters",
        "Whether a float64 Adam step keeps its hyper-parameters (lr, β₁, β₂ as Python floats) in float64: "
        "the relative error of a first step of lr = 0.1 with g = 1e4 (ε/|g| = 1e-12).",
        adam_float64_hyperparameters,
    ),
    Convention(
        "adamw.default_weight_decay",
        "AdamW's weight decay λ when none is given: 1e-2 in PyTorch, 1e-4 in optax, 0.004 in Keras.",
        adamw_default_weight_decay,
    ),
    # SGD's momentum and a dense layer's initial values: the reference has no such op (not_offered); RMSprop and
    # Adagrad's steps take their state as given (adagrad.initial_accumulator: not_offered).
    Convention(
        "sgd.momentum_formulation",
        "Where SGD with momentum puts the learning rate: outside the velocity (v = μv + g, θ −= lr·v) or inside "
        "it (v = μv − lr·g, θ += v, Sutskever et al. 2013); equal at a constant rate, not when the rate changes "
        "(two steps of gradient 1, μ = 0.5, at lr 1 then 0.5: θ = −1.75 or −2).",
        sgd_momentum_formulation,
    ),
    Convention(
        "sgd.first_step_buffer",
        "SGD's momentum buffer before the first step (one step of g = 1, lr = 1, μ = 0.5, dampening 0.5 where the "
        "API has it): none, then the gradient undamped (PyTorch), or zeros, damped like any step.",
        sgd_first_step_buffer,
    ),
    Convention(
        "sgd.dampening",
        "Whether SGD has a dampening τ of the gradient in the buffer, b = μ·b + (1 − τ)·g (PyTorch), and its default.",
        sgd_dampening,
    ),
    Convention(
        "sgd.nesterov_formulation",
        "Which velocity Nesterov's step looks ahead with (two steps of g = 1, lr = 1, μ = 0.5): the new one, "
        "g + μ·b′ (θ = −3.25), or the old one (θ = −3).",
        sgd_nesterov_formulation,
    ),
    Convention(
        "sgd.weight_decay_coupling",
        "What SGD's own weight_decay does (two steps of g = 0 from θ = 1, lr = 0.5, μ = 0.5, λ = 0.5): L2 added to "
        "the gradient, through the momentum (θ = 0.4375; PyTorch), a decoupled decay (θ = 0.5625; Keras 3), or none.",
        sgd_weight_decay_coupling,
    ),
    Convention(
        "sgd.float64_momentum",
        "Whether a float64 SGD step keeps its momentum μ = 0.9 in float64 (two steps of g = 1, lr = 1: θ = −2.9).",
        sgd_float64_momentum,
    ),
    Convention(
        "sgd.default_learning_rate",
        "SGD's learning rate when none is given: 1e-3 in PyTorch, 0.01 in Keras, required by optax.",
        sgd_default_learning_rate,
    ),
    Convention(
        "rmsprop.eps_placement",
        "Where RMSprop adds ε: to the root, g/(√v + ε), or under it, g/√(v + ε) (one step of g = ε = 1e−6).",
        rmsprop_eps_placement,
    ),
    Convention(
        "rmsprop.default_decay",
        "The decay of RMSprop's mean square when none is given (alpha, rho or decay): 0.99 in PyTorch, 0.9 in "
        "optax and Keras.",
        rmsprop_default_decay,
    ),
    Convention(
        "rmsprop.default_eps",
        "The ε of RMSprop when none is given.",
        rmsprop_default_eps,
    ),
    Convention(
        "rmsprop.default_lr",
        "RMSprop's learning rate when none is given: 0.01 in PyTorch, 0.001 in Keras; optax requires one.",
        rmsprop_default_lr,
    ),
    Convention(
        "adagrad.eps_placement",
        "Where Adagrad adds ε, read as its first step from a zero sum with g = ε = 1e−6, in units of lr: 0.5 where "
        "ε is added to the root, g/(√s + ε) (PyTorch), 0.001 where it is under it, g/√(s + ε) (optax, Keras).",
        adagrad_eps_placement,
    ),
    Convention(
        "adagrad.default_eps",
        "Adagrad's ε when none is given: 1e-10 in PyTorch, 1e-7 in optax and Keras.",
        adagrad_default_eps,
    ),
    Convention(
        "adagrad.default_lr",
        "Adagrad's learning rate when none is given: 0.01 in PyTorch, 0.001 in Keras; optax requires one.",
        adagrad_default_lr,
    ),
    Convention(
        "adagrad.initial_accumulator",
        "The sum of squares a fresh Adagrad starts from (read off its state): 0 in PyTorch, 0.1 in optax and Keras "
        "(a first step from 0.1 is smaller than lr·sign(g) where g² is not ≫ 0.1).",
        not_offered,
    ),
    Convention(
        "linear.default_weight_init",
        "The distribution of a fresh dense layer's weights (fan-in 100, fan-out 2000): PyTorch's "
        "uniform(±1/√fan_in), Glorot's uniform(±√(6/(fan_in + fan_out))) in Keras.",
        not_offered,
    ),
    Convention(
        "linear.default_bias_init",
        "The distribution of a fresh dense layer's bias: uniform(±1/√fan_in) in PyTorch, zeros in Keras.",
        not_offered,
    ),
    # Weight initialisation: the reference's own maps on a normal draw (kaiming_* and xavier_normal above).
    Convention(
        "kaiming.default_mode",
        "Which fan He initialisation divides by when no mode is given: fan_in (the forward pass's variance) or "
        "fan_out (the backward pass's), read off a (400, 50) draw against the gain of a (200, 200) one.",
        kaiming_default_mode,
    ),
    Convention(
        "kaiming.default_gain",
        "The gain of He initialisation when no nonlinearity or slope is given: √2, a ReLU's (rms·√fan of a "
        "(200, 200) draw).",
        kaiming_default_gain,
    ),
    Convention(
        "xavier_normal.distribution",
        "The distribution of Glorot's normal initialiser: a normal of variance 2/(fan_in + fan_out), or a normal "
        "truncated at ±2 standard deviations and widened by 1/0.8796 so that the variance is still the formula's.",
        xavier_normal_distribution,
    ),
    Convention(
        "kaiming_normal.distribution",
        "The distribution of He's normal initialiser: a normal of variance 2/fan_in, or a truncated one widened "
        "to that variance.",
        kaiming_normal_distribution,
    ),
    Convention(
        "init.conv_fan_layout",
        "Which axes of a convolution kernel an initialiser reads as fan-in (in·∏kernel), in the framework's own "
        "kernel layout: (out, in, kh, kw) in PyTorch, (kh, kw, in, out) in Keras and JAX.",
        init_conv_fan_layout,
    ),
    # Attention: the reference's own readings (readings.attention_*), the canonical column.
    Convention(
        "attention.boolean_mask_meaning",
        "What True means in a boolean attention mask: the key takes part (PyTorch, JAX, Keras) or is masked out.",
        attention_boolean_mask_meaning,
    ),
    Convention(
        "attention.default_scale",
        "The factor of the scores q·k when no scale is given: 1/√E (E the features of a query and a key).",
        attention_default_scale,
    ),
    Convention(
        "attention.fully_masked_row",
        "What a query whose boolean mask hides every key returns: NaN (0/0), 0 (PyTorch), or the mean of the "
        "values (JAX and Keras mask with a large finite negative score).",
        attention_fully_masked_row,
    ),
    Convention(
        "attention.fully_masked_bias_row",
        "What a query whose additive bias is −∞ for every key returns: NaN (0/0), or 0 (PyTorch).",
        attention_fully_masked_bias_row,
    ),
    Convention(
        "attention.causal_alignment",
        "How a causal mask is aligned when there are L queries and S ≠ L keys: top-left (query i sees keys "
        "j ≤ i: PyTorch's is_causal, JAX, Keras) or bottom-right (j ≤ i + S − L).",
        attention_causal_alignment,
    ),
    Convention(
        "attention.float64_softmax",
        "The precision of the attention weights for float64 inputs: float64, or float32 (JAX computes its "
        "softmax in float32 whatever the dtype).",
        attention_float64_softmax,
    ),
    # Positions: no framework has an op (keras_hub's RotaryEmbedding and SinePositionEncoding are not dependencies).
    Convention(
        "rotary_embedding.pairing",
        "Which features rotary position embedding turns together: interleaved (x[2i], x[2i + 1]: RoFormer, GPT-J, "
        "torchtune) or split halves (x[i], x[i + D/2]: GPT-NeoX, Hugging Face's rotate_half, keras_hub).",
        rope_pairing,
    ),
    Convention(
        "sinusoidal_positional_encoding.layout",
        "Where the sinusoidal encoding writes sin(p·ω_i) and cos(p·ω_i): interleaved per pair (Vaswani et al., "
        "keras_hub's SinePositionEncoding) or every sin, then every cos (tensor2tensor's timing signal).",
        positional_encoding_layout,
    ),
    Convention(
        "step_lr.default_gamma",
        "Step decay's factor γ when none is given: 0.1 in PyTorch's StepLR; optax's exponential_decay and Keras' "
        "ExponentialDecay require their decay_rate.",
        step_lr_default_gamma,
    ),
    Convention(
        "cosine_annealing_lr.default_eta_min",
        "Cosine annealing's final rate when none is given (PyTorch's eta_min; optax's and Keras' alpha, a fraction "
        "of the initial rate): 0 in all three.",
        cosine_annealing_lr_default_eta_min,
    ),
    Convention(
        "cosine_annealing_lr.after_t_max",
        "The rate of cosine annealing from 1 to 0 over T = 4 steps, read at t = 2T = 8: 0 where the annealing ends "
        "at T (optax, Keras), 1 where the cosine goes on with period 2T (PyTorch's CosineAnnealingLR).",
        cosine_annealing_lr_after_t_max,
    ),
    Convention(
        "linear_warmup_lr.default_start_factor",
        "The first rate of a linear warm-up as a fraction of the base rate when none is given: 1/3 in PyTorch's "
        "LinearLR (which refuses 0); optax's linear_schedule requires its init_value; Keras has no linear schedule.",
        linear_warmup_lr_default_start_factor,
    ),
    Convention(
        "lr_schedule.first_step_count",
        "The step count t a schedule is read at for the first update (step decay with step_size 1, γ = 0.5): 0 in "
        "PyTorch (after 0 scheduler.step() calls), optax (count 0) and Keras (optimizer.iterations 0).",
        lr_schedule_first_step_count,
    ),
    Convention(
        "lr_schedule.float64_hyperparameters",
        "Whether a float64 schedule keeps its hyper-parameters in float64: step decay of γ = 0.1 (a Python float) "
        "after one drop of a float64 base rate 1; Keras' ops.cast reads the float as float32 first.",
        lr_schedule_float64_hyperparameters,
    ),
    Convention(
        "clip_grad_norm.eps",
        "The ε in clipping's factor max_norm/(N + ε), read from [3, 4] (N = 5) clipped to norm 1: PyTorch's "
        "clip_grad_norm_ adds 1e-6; optax and TensorFlow divide by N (ε = 0).",
        clip_grad_norm_eps,
    ),
    Convention(
        "conv_transpose2d.kernel_layout",
        "The weight layout of a transposed convolution from 2 to 3 channels with a 1 × 2 kernel: PyTorch's "
        "(in, out/groups, kH, kW), that of the conv2d it transposes; tf.nn.conv2d_transpose's (kH, kW, out, in); "
        "jax.lax.conv_transpose's default HWIO, I the transposed convolution's input.",
        conv_transpose2d_kernel_layout,
    ),
    Convention(
        "conv_transpose2d.adjoint_by_default",
        "A single 1 transposed-convolved by the 1 × 2 kernel [1, 2] with default arguments: [1, 2], the adjoint "
        "(input gradient) of conv2d, or [2, 1], the kernel flipped (jax.lax.conv_transpose's transpose_kernel=False).",
        conv_transpose2d_adjoint_by_default,
    ),
    Convention(
        "conv_transpose2d.output_padding_limit",
        "The largest output_padding accepted at stride 2, and at stride 1 with dilation 2: PyTorch requires "
        "output_padding < max(stride, dilation); an API may require it below the stride alone.",
        conv_transpose2d_output_padding_limit,
    ),
    Convention(
        "conv_transpose2d.same_padding",
        'The output length of a transposed convolution with "same" padding, an input of 3, stride 2 and kernel 3: '
        "6 = H·s in TensorFlow, Keras and JAX; PyTorch's padding is an explicit p cropped from each side (no "
        '"same"), the reference\'s likewise.',
        not_offered,
    ),
    Convention(
        "adaptive_avg_pool2d.bins",
        "[0, 1, 2, 3, 4] adaptively average-pooled to 3: 0.5, 2, 3.5 with PyTorch's bins ⌊i·H/n⌋ to ⌈(i + 1)·H/n⌉ "
        "(overlapping where n does not divide H).",
        adaptive_avg_pool2d_bins,
    ),
    Convention(
        "interpolate.align_corners_default",
        "Where a bilinear resize places the pixel centres by default: half-pixel centres (align_corners=False), the "
        "corner pixels aligned (align_corners=True), or TensorFlow 1's asymmetric map s = d·H/n; read from [0, 1] "
        "resized to 4.",
        interpolate_align_corners_default,
    ),
    Convention(
        "interpolate.nearest_rounding",
        "Which input a nearest-neighbour resize copies by default: ⌊d·H/n⌋ (PyTorch's legacy 'nearest') or the "
        "half-pixel ⌊(d + ½)·H/n⌋ ('nearest-exact', OpenCV, TensorFlow 2, JAX); read from [0, …, 4] resized to 3.",
        interpolate_nearest_rounding,
    ),
    Convention(
        "interpolate.antialias_default",
        "Whether a bilinear resize antialiases by default when it shrinks (a kernel widened by H/n, averaging more "
        "inputs than the two around each output); read from [0, …, 4] resized to 3.",
        interpolate_antialias_default,
    ),
    Convention(
        "interpolate.upsampling_layer_mode",
        "The interpolation of the framework's upsampling layer by default (torch.nn.Upsample, "
        "keras.layers.UpSampling2D; the reference's interpolate).",
        interpolate_upsampling_layer_mode,
    ),
    Convention(
        "interpolate.scale_factor_coordinates",
        "What a resize given a scale factor instead of a size uses in its coordinate map: the sizes' ratio H/n, or "
        "1/scale_factor (which differ when H·scale_factor is not an integer); read from [0, 1, 2] enlarged by 1.5.",
        interpolate_scale_factor_coordinates,
    ),
    Convention(
        "interpolate.bilinear_output_dtype",
        "The dtype of a bilinear resize of a float64 input (TensorFlow's kernels compute and return float32).",
        interpolate_bilinear_output_dtype,
    ),
    Convention(
        "mha.boolean_mask_meaning",
        "What True means in a multi-head attention layer's boolean mask: the key takes part (Keras, and "
        "scaled dot-product attention in every framework) or is masked out (PyTorch's MultiheadAttention).",
        mha_boolean_mask_meaning,
    ),
    Convention(
        "mha.projection_layout",
        "How a multi-head attention layer stores its query, key and value projections when kdim = vdim = E: "
        "separate (E, E) matrices, one packed (3E, E) matrix, or per-head kernels (E, H, E/H).",
        mha_projection_layout,
    ),
    Convention(
        "mha.batch_first_default",
        "Whether a multi-head attention layer takes (N, L, E) by default (batch first) or (L, N, E).",
        mha_batch_first_default,
    ),
    Convention(
        "mha.default_bias",
        "Whether a freshly built multi-head attention layer has projection biases by default.",
        mha_default_bias,
    ),
    Convention(
        "transformer.norm_first_default",
        "Whether a Transformer encoder block normalizes before each sublayer by default (pre-norm, True) or after "
        "the residual sum (post-norm, False: the original Transformer's order).",
        transformer_norm_first_default,
    ),
    Convention(
        "transformer.activation_default",
        "The activation between a Transformer block's two feed-forward layers by default.",
        transformer_activation_default,
    ),
    Convention(
        "transformer.dim_feedforward_default",
        "The number of hidden units of a Transformer block's feed-forward network by default.",
        transformer_dim_feedforward_default,
    ),
    Convention(
        "transformer.layer_norm_eps",
        "The ε a Transformer block's layer normalizations (or the framework's layer normalization a block is built "
        "from) add to the variance by default.",
        transformer_layer_norm_eps,
    ),
    Convention(
        "transformer.batch_first_default",
        "Whether a Transformer encoder block takes (N, T, E) by default (batch first) or (T, N, E).",
        transformer_batch_first_default,
    ),
    Convention(
        "transformer.eval_fast_path",
        "When a Transformer encoder block runs a fused kernel instead of its layers one by one: PyTorch's "
        "torch._transformer_encoder_layer_fwd, whose results differ from the layer-by-layer path by rounding only.",
        transformer_eval_fast_path,
    ),
)
