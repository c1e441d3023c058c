"""The sensitivities of the relative model: ``s = κ(x)·|y|`` per output, named by an op record.

An op record's :class:`~dlterms.ops.Accuracy` names one of :data:`SENSITIVITY`; the relative
bound of :mod:`dlterms.conformance.tolerances` is ``k·u·(|y| + s) + a + λ``. κ is the condition
number (Higham 2002, §1.6: a stable computation errs by about κ·u), computed from the case and
the float64 reference's outputs. What an op's sums add (``a``) is the accumulation term,
declared in :mod:`~dlterms.conformance.tolerances` with the model's other numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from dlterms import reference
from dlterms.ops import as_pair

__all__ = [
    "SENSITIVITY",
    "NormalizedGroups",
    "angles",
    "batch_norm_as_group_norm",
    "batch_norm_eval",
    "batch_norm_output",
    "kl_div_reduced",
    "kl_div_terms",
    "normalized_groups",
    "rate_scaled_step",
    "sensitivity",
]


def sensitivity(name: str, case: dict[str, Any], outputs: list[np.ndarray]) -> list[np.ndarray]:
    """``s = κ(x)·|y|`` for each output of the op called with ``case`` (``outputs``: the float64 reference's)."""
    with np.errstate(all="ignore"):
        return SENSITIVITY[name](case, outputs)


def _rounded(case: dict[str, Any], ys: list[np.ndarray]) -> list[np.ndarray]:
    # The exact result of exact inputs, rounded: nothing beyond |y| (what sums add is the
    # op's accumulation term).
    return [np.zeros_like(y) for y in ys]


def _value(case: dict[str, Any], ys: list[np.ndarray]) -> list[np.ndarray]:
    # f positively homogeneous (relu, leaky_relu, max): x·f'(x) = f(x), so κ = 1 and s = |y|.
    return [np.abs(y) for y in ys]


def _sigmoid(case: dict[str, Any], ys: list[np.ndarray]) -> list[np.ndarray]:
    # κ = |x|·(1 − σ(x)): s = |x|·σ(x)·(1 − σ(x)).
    x, (y,) = np.asarray(case["x"], dtype=np.float64), ys
    return [np.abs(x) * y * (1.0 - y)]


def _tanh(case: dict[str, Any], ys: list[np.ndarray]) -> list[np.ndarray]:
    # κ = |x|·(1 − tanh²x)/|tanh x|: s = |x|·(1 − y²) (≤ |y|, → |x| at 0).
    x, (y,) = np.asarray(case["x"], dtype=np.float64), ys
    return [np.abs(x) * (1.0 - y * y)]


def _silu(case: dict[str, Any], ys: list[np.ndarray]) -> list[np.ndarray]:
    # κ = |x·f'(x)/f(x)| = |1 + x·σ(−x)| for f = x·σ(x): s = |1 + x·σ(−x)|·|y| (→ |y| as x → +∞,
    # ≈ |x|·|y| in the left tail, 0 where f' = 0 at x ≈ −1.278).
    x, (y,) = np.asarray(case["x"], dtype=np.float64), ys
    return [np.abs(1.0 + x / (1.0 + np.exp(x))) * np.abs(y)]


# --- smooth rectifiers: s = κ(x)·|y| = |x·f′(x)| (κ = |x·f′(x)/f(x)|, Higham 2002 §1.6) ---------------


def _gelu(case: dict[str, Any], ys: list[np.ndarray]) -> list[np.ndarray]:
    # x·Φ(x): x·f′ = x·(Φ + x·φ) = y + x²·φ(x), so s = |y + x²φ(x)| (≈ x²|y| in the left tail, where
    # κ ≈ x²). Tanh form x·σ(z), z = 2√(2/π)(x + 0.044715x³): x·f′ = y·(1 + x·z′·σ(−z)).
    x, (y,) = np.asarray(case["x"], dtype=np.float64), ys
    if case.get("approximate", "none") == "tanh":
        c, k = np.sqrt(2.0 / np.pi), 0.044715
        z = 2.0 * c * (x + k * x**3)
        s = np.abs(y) * np.abs(1.0 + x * 2.0 * c * (1.0 + 3.0 * k * x * x) / (1.0 + np.exp(z)))
    else:
        s = np.abs(y + np.exp(-0.5 * x * x + 2.0 * np.log(np.abs(x))) / np.sqrt(2.0 * np.pi))
    # Beyond |x| = 10³, f′ is 1 or 0 to float64 precision and the formulas meet ∞·0: s = |y| or 0.
    return [np.where(np.abs(x) > 1e3, np.where(x > 0, np.abs(y), 0.0), s)]


def _elu(case: dict[str, Any], ys: list[np.ndarray]) -> list[np.ndarray]:
    # x for x > 0 (κ = 1), α(e^x − 1) below: x·f′ = α·x·e^x, κ = |x|/(e^−x − 1) ≤ 1.
    x = np.asarray(case["x"], dtype=np.float64)
    alpha = float(case.get("alpha", 1.0))
    return [np.where(x > 0, np.abs(x), np.abs(alpha * x * np.exp(np.minimum(x, 0.0))))]


def _softplus(case: dict[str, Any], ys: list[np.ndarray]) -> list[np.ndarray]:
    # log(1 + e^(βx))/β: f′ = σ(βx), s = |x|·σ(βx) (κ ≈ |βx| in the left tail, → 1 in the right).
    x = np.asarray(case["x"], dtype=np.float64)
    beta = float(case.get("beta", 1.0))
    return [np.abs(x) / (1.0 + np.exp(-beta * x))]


def _log_sigmoid(case: dict[str, Any], ys: list[np.ndarray]) -> list[np.ndarray]:
    # log σ(x): f′ = σ(−x), s = |x|·σ(−x) (κ ≈ |x| in the right tail, → 1 in the left).
    x = np.asarray(case["x"], dtype=np.float64)
    return [np.abs(x) / (1.0 + np.exp(x))]


def _shift_terms(x: np.ndarray, p: np.ndarray, axis: int) -> np.ndarray:
    # The max-shift d = x − max x rounds each shifted logit once: an error ≤ u·|d_j| (the
    # subtraction is exact where x_j is within a factor 2 of the max, Sterbenz). Through
    # y_i = e^{d_i}/Σ_j e^{d_j} that is a relative error ≤ u·(|d_i| + Σ_j p_j·|d_j|), p the
    # probabilities (Higham §1.6, first order). The shift, not the logits' size, is what
    # counts: logits 10⁷ + a few units have d of a few units, and no error of a unit is allowed.
    if not x.size:
        return np.zeros_like(x)
    d = np.abs(x - np.max(x, axis=axis, keepdims=True))
    return d + np.sum(p * d, axis=axis, keepdims=True)


def _softmax(case: dict[str, Any], ys: list[np.ndarray]) -> list[np.ndarray]:
    # s = y·(|d_i| + Σ_j y_j·|d_j|) along the axis (_shift_terms).
    x, (y,) = np.asarray(case["x"], dtype=np.float64), ys
    return [y * _shift_terms(x, y, case.get("axis", -1))]


def _log_softmax_terms(x: np.ndarray, y: np.ndarray, axis: int) -> np.ndarray:
    # The shift as for softmax, an absolute error in y = d − log Σ (_shift_terms with p = e^y),
    # plus 1: log Σ of a sum ≥ 1 is computed with log, not log1p, in every framework, an
    # absolute error of a few u.
    return _shift_terms(x, np.exp(y), axis) + 1.0


def _log_softmax(case: dict[str, Any], ys: list[np.ndarray]) -> list[np.ndarray]:
    x, (y,) = np.asarray(case["x"], dtype=np.float64), ys
    return [_log_softmax_terms(x, y, case.get("axis", -1))]


def _reduced(case: dict[str, Any], y: np.ndarray, terms: np.ndarray, n: int) -> np.ndarray:
    # The terms' sensitivities, summed (or averaged) like the terms; what the summation itself
    # adds is the accumulation term (ACCUMULATION["sum_of_terms"], γ_{n−1}·|y|).
    reduction = case.get("reduction", "mean")
    if reduction == "none":
        return terms
    return np.asarray(float(np.sum(terms)) / (n if reduction == "mean" and n else 1))


def _sum_of_terms(case: dict[str, Any], ys: list[np.ndarray]) -> list[np.ndarray]:
    # Each term is a few roundings of exact inputs (s = 0 beyond |y|); the reduction sums them.
    (y,) = ys
    n = int(np.size(case["input"]))
    return [_reduced(case, y, np.zeros(np.shape(case["input"])), n)]


def _cross_entropy(case: dict[str, Any], ys: list[np.ndarray]) -> list[np.ndarray]:
    # Each term is −log_softmax(row)[target]: its sensitivity; then the reduction.
    (y,) = ys
    z = np.asarray(case["logits"], dtype=np.float64)
    if not z.size:
        return [np.zeros_like(y)]
    t = np.asarray(case["target"], dtype=np.int64)
    shifted = z - z.max(axis=1, keepdims=True)
    ls = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    terms = _log_softmax_terms(z, ls, 1)[np.arange(len(t)), t]
    return [_reduced(case, y, terms, len(t))]


def _nll_loss(case: dict[str, Any], ys: list[np.ndarray]) -> list[np.ndarray]:
    # Each term −w·x is one product of exact inputs (s = 0 beyond |y|); the reduction sums them.
    (y,) = ys
    n = len(case["target"])
    return [_reduced(case, y, np.zeros(n), n)]


def _smoothed_cross_entropy(case: dict[str, Any], ys: list[np.ndarray]) -> list[np.ndarray]:
    # Each term is (1 − ε)·(−log p_target) + ε·mean_c(−log p_c): the log_softmax sensitivities weighted
    # alike (all weights ≥ 0, all values ≥ 0: no cancellation); then the reduction.
    (y,) = ys
    z = np.asarray(case["logits"], dtype=np.float64)
    if not z.size:
        return [np.zeros_like(y)]
    t, eps = np.asarray(case["target"], dtype=np.int64), float(case["label_smoothing"])
    shifted = z - z.max(axis=1, keepdims=True)
    ls = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    s = _log_softmax_terms(z, ls, 1)
    terms = (1.0 - eps) * s[np.arange(len(t)), t] + eps * np.mean(s, axis=1)
    return [_reduced(case, y, terms, len(t))]


# The sensitivity functions an op record may name (dlterms.ops.Accuracy.sensitivity).

# --- normalization: layer_norm, rms_norm, group_norm ------------------------------------------------


@dataclass(frozen=True)
class NormalizedGroups:
    """A normalization call seen as rows of groups: each row one group of ``x``, with its weight and bias."""

    x: np.ndarray  # (groups, n): the values normalized together
    weight: np.ndarray  # the same shape: each value's weight (1 without one)
    bias: np.ndarray  # each value's bias (0 without one)
    scale: np.ndarray  # (groups, 1): √(σ² + ε), or √(mean x² + ε) when not centred
    mean_abs: np.ndarray  # (groups, 1): mean |x| of the group (0 when not centred: no mean is subtracted)
    z: np.ndarray  # (groups, n): the normalized values
    deviation: np.ndarray  # (groups, n): |x − μ| (|x| when not centred)
    variance: np.ndarray  # (groups, 1): σ² (mean x² when not centred), without ε
    eps: float

    def as_output(self, values: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        return np.reshape(values, shape)


def normalized_groups(case: dict[str, Any]) -> NormalizedGroups:
    """The groups of a ``layer_norm`` / ``rms_norm`` (``normalized_shape``) or ``group_norm`` (``num_groups``) call.

    Centred (a mean subtracted) unless the call is rms_norm's, which has no ``bias``; its ``eps=None`` is
    float64's machine epsilon, as in the reference.
    """
    x = np.asarray(case["x"], dtype=np.float64)
    if "num_groups" in case:
        spatial = int(np.prod(x.shape[2:]))
        rows = x.shape[0] * case["num_groups"]

        def per_value(v: Any) -> np.ndarray:
            return np.tile(np.repeat(np.asarray(v, dtype=np.float64), spatial), x.shape[0]).reshape(rows, -1)
    else:
        dims = case["normalized_shape"]
        n = int(np.prod([dims] if isinstance(dims, int) else dims))
        rows = x.size // n if n else 0

        def per_value(v: Any) -> np.ndarray:
            return np.broadcast_to(np.asarray(v, dtype=np.float64).reshape(-1), (rows, n))

    xg = x.reshape(rows, -1)
    centred = "bias" in case
    eps = case.get("eps", 1e-5 if centred else None)
    eps = np.finfo(np.float64).eps if eps is None else float(eps)
    mean = np.mean(xg, axis=1, keepdims=True) if centred else np.zeros((rows, 1))
    scale = np.sqrt(np.mean((xg - mean) ** 2, axis=1, keepdims=True) + eps)
    weight = np.ones_like(xg) if case.get("weight") is None else per_value(case["weight"])
    bias = np.zeros_like(xg) if case.get("bias") is None else per_value(case["bias"])
    mean_abs = np.mean(np.abs(xg), axis=1, keepdims=True) if centred else np.zeros((rows, 1))
    deviation = np.abs(xg - mean)
    variance = np.mean(deviation**2, axis=1, keepdims=True)
    return NormalizedGroups(xg, weight, bias, scale, mean_abs, (xg - mean) / scale, deviation, variance, eps)


def _normalization(case: dict[str, Any], ys: list[np.ndarray]) -> list[np.ndarray]:
    # y = (x − μ)/s·w + b with s = √(σ² + ε). The deviation x − μ is rounded relative to |x| and |μ| ≤
    # mean|x| (and the fused form x·(w/s) − μ·(w/s) of Keras rounds both products): an error
    # u·|w|·(|x| + mean|x|)/s; z·w + b can cancel: u·(|z·w| + |b|), |z| ≤ (|x| + mean|x|)/s. So
    # s(x) = |w|·(|x| + mean|x|)/s + |b| (Higham 2002, §1.6, §3.1). For rms_norm (no mean) it is |y|.
    (y,) = ys
    g = normalized_groups(case)
    s = np.abs(g.weight) * (np.abs(g.x) + g.mean_abs) / g.scale + np.abs(g.bias)
    return [g.as_output(s, y.shape)]


def _adam_step(case: dict[str, Any], ys: list[np.ndarray]) -> list[np.ndarray]:
    # First order (Higham 2002, §1.6): each output's terms, and what rounding an input or a
    # hyper-parameter to the dtype by u moves. m' = β₁m + (1 − β₁)g: its two terms, and |m − g| for
    # β₁'s rounding (β₁·|m − g|) or the form m + (1 − β₁)(g − m) (torch's lerp, Keras); v' the same
    # with g². The step lr·u, u = m̂/(√v̂ + ε): its own roundings (4), ε's
    # (ε/(√v̂ + ε)), 1 − βᵗ's condition t·βᵗ/(1 − βᵗ) (√ halves β₂'s), and the moments' errors carried
    # through ∂u/∂m' = 1/(c₁(√v̂ + ε)) and ∂u/∂v' = u/((√v̂ + ε)·2√(c₂v')). param·(1 − lr·λ): |param|
    # and lr·λ's rounding. β₂ = 0.999 rounded to float32 moves 1 − β₂ by about 1000·u.
    p, g, m, v = (np.asarray(case[k], dtype=np.float64) for k in ("param", "grad", "m", "v"))
    t, lr, b1, b2, eps = case["step"], case["lr"], case["beta1"], case["beta2"], case["eps"]
    decay = lr * case.get("weight_decay", 0.0)
    _, m1, v1 = ys
    c1, c2 = 1.0 - b1**t, 1.0 - b2**t
    root = np.sqrt(v1 / c2)
    den = root + eps
    step = lr * np.abs(m1) / c1 / den
    s_m = b1 * np.abs(m) + (1.0 - b1) * np.abs(g) + np.abs(m - g)
    s_v = b2 * v + (1.0 - b2) * g * g + np.abs(v - g * g)
    through_v = np.where(v1 > 0, step * s_v / (2.0 * den * np.sqrt(c2 * v1)), 0.0)
    corrections = t * b1**t / c1 + 0.5 * t * b2**t / c2 * root / den
    s_u = step * (4.0 + eps / den + corrections) + lr * s_m / (c1 * den) + through_v
    return [np.abs(p) * (1.0 + 2.0 * decay) + s_u, s_m, s_v]


def rate_scaled_step(case: dict[str, Any], v1: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """RMSprop's or Adagrad's step: (|g|, the denominator d, the root under it, the learning rate lr_t) of ``case``.

    d = √v′ + ε (root √v′) or, with ``eps_in_sqrt``, √(v′ + ε) (root d); Adagrad's lr_t = lr/(1 + (t − 1)·lr_decay).
    """
    g = np.abs(np.asarray(case["grad"], dtype=np.float64))
    eps = case.get("eps", 1e-10 if "state_sum" in case else 1e-8)
    lr = case.get("lr", 1e-2)
    if "state_sum" in case:
        lr = lr / (1.0 + (case["step"] - 1) * case.get("lr_decay", 0.0))
    if case.get("eps_in_sqrt", False):
        root = np.sqrt(v1 + eps)
        return g, root, root, lr
    root = np.sqrt(v1)
    return g, root + eps, root, lr


def _rmsprop_step(case: dict[str, Any], ys: list[np.ndarray]) -> list[np.ndarray]:
    # First order (Higham 2002, §1.6), as _adam_step: v′ = αv + (1 − α)g² (Adagrad: s + g²), its two terms
    # and |v − g²| for α's rounding or the form v + (1 − α)(g² − v); the step lr_t·|g|/d, its own roundings
    # (4, and 2 for Adagrad's lr_t), ε's rounding (ε/d, or ε/(2d²) under the root) and v′'s error carried
    # through ∂d/∂v′ = 1/(2r), r the root. param − step: |param| and the step's.
    p, v = np.asarray(case["param"], dtype=np.float64), ys[1]
    state = np.asarray(case.get("square_avg", case.get("state_sum")), dtype=np.float64)
    g, den, root, lr = rate_scaled_step(case, v)
    eps = case.get("eps", 1e-10 if "state_sum" in case else 1e-8)
    step = lr * g / den
    s_v = state + g * g if "state_sum" in case else v + np.abs(state - g * g)
    through_v = np.where(root > 0, step * s_v / (2.0 * den * root), 0.0)
    eps_term = eps / (2.0 * den * den) if case.get("eps_in_sqrt", False) else eps / den
    return [np.abs(p) + step * (6.0 + eps_term) + through_v, s_v]


def _sgd_momentum_step(case: dict[str, Any], ys: list[np.ndarray]) -> list[np.ndarray]:
    # First order (Higham 2002, §1.6): each output's terms, and what rounding a hyper-parameter to the dtype
    # by u moves (a term times u). g̃ = g + λ·param: |g| + λ|param|; b′ = μb + (1 − τ)g̃ (g̃ at the first step):
    # its terms; the update b′ (Nesterov: g̃ + μb′) and param − lr·update: |param| and lr times the update's
    # terms. Without momentum: param − lr·g̃, and the buffer passes through unchanged.
    p, g, b = (np.abs(np.asarray(case[k], dtype=np.float64)) for k in ("param", "grad", "momentum_buffer"))
    lr, mu = case["lr"], case["momentum"]
    g_tilde = g + case.get("weight_decay", 0.0) * p
    if mu == 0.0:
        return [p + lr * g_tilde, b]
    s_b = g_tilde if case.get("first_step", False) else mu * b + (1.0 - case.get("dampening", 0.0)) * g_tilde
    s_u = g_tilde + mu * s_b if case.get("nesterov", False) else s_b
    return [p + lr * s_u, s_b]


# --- the KL divergence: p·(log p − log q), terms of both signs ----------------------------------------


def kl_div_terms(case: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """The terms p·(log p − log q) of a ``kl_div`` call (0 where p = 0), and their sizes p·(|log p| + |log q| + 1)."""
    x = np.asarray(case["input"], dtype=np.float64)
    t = np.asarray(case["target"], dtype=np.float64)
    p = np.exp(t) if case.get("log_target", False) else t
    with np.errstate(divide="ignore", invalid="ignore"):
        log_p = np.where(p > 0, np.log(np.where(p > 0, p, 1.0)), 0.0)
        terms = np.where(p > 0, p * (log_p - x), 0.0)
    return terms, p * (np.abs(log_p) + np.abs(x) + 1.0)


def kl_div_reduced(case: dict[str, Any], values: np.ndarray) -> np.ndarray:
    """``values`` (one per element) reduced as the call's reduction reduces the terms."""
    reduction = case.get("reduction", "mean")
    if reduction == "none":
        return values
    divisor = {"sum": 1, "mean": values.size, "batchmean": values.shape[0] if values.ndim else 1}[reduction]
    return np.asarray(float(np.sum(values)) / divisor if divisor else 0.0)


def _kl_div(case: dict[str, Any], ys: list[np.ndarray]) -> list[np.ndarray]:
    # p·(log p − x): log p rounded (u·|log p|), the difference (u·|log p − x| ≤ u·(|log p| + |x|)) and the
    # product (u·|term|), each times p; where log p ≈ x they cancel, so the sensitivity is the terms' size,
    # not |y| (Higham 2002, §1.6). The 1: a framework that reads q = e^x as a probability (Keras, JAX's
    # rel_entr) rounds q once, an absolute error u in log q. Then reduced as the terms are.
    (y,) = ys
    _, size = kl_div_terms(case)
    return [np.broadcast_to(kl_div_reduced(case, size), np.shape(y))]


# --- batch normalization: batch_norm, batch_norm_running_stats --------------------------------------


def batch_norm_as_group_norm(case: dict[str, Any]) -> dict[str, Any]:
    """A training ``batch_norm`` call as the group_norm call it equals: x (N, C, *) seen as one example
    (1, C, N, *) with C groups (output back with :func:`batch_norm_output`)."""
    x = np.moveaxis(np.asarray(case["x"], dtype=np.float64), 1, 0)[None]
    keys = ("weight", "bias", "eps")
    return {"x": x, "num_groups": x.shape[1], **{k: case[k] for k in keys if k in case}, "bias": case.get("bias")}


def batch_norm_output(values: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Values in the layout of :func:`batch_norm_as_group_norm` (1, C, N, *) back in x's (N, C, *)."""
    return np.moveaxis(np.reshape(values, (shape[1], shape[0], *shape[2:])), 0, 1)


def batch_norm_eval(case: dict[str, Any]) -> tuple[np.ndarray, ...]:
    """``(x, m, s, w, b)`` of an evaluation ``batch_norm`` call, each per-channel value broadcast against x."""
    x = np.asarray(case["x"], dtype=np.float64)
    per = (1, x.shape[1]) + (1,) * (x.ndim - 2)

    def channel(name: str, default: float) -> np.ndarray:
        value = case.get(name)
        return np.full(per, default) if value is None else np.asarray(value, dtype=np.float64).reshape(per)

    s = np.sqrt(channel("running_var", 1.0) + float(case.get("eps", 1e-5)))
    return x, channel("running_mean", 0.0), s, channel("weight", 1.0), channel("bias", 0.0)


def _batch_norm(case: dict[str, Any], ys: list[np.ndarray]) -> list[np.ndarray]:
    # Training: group normalization of each channel over the batch (as _normalization). Evaluation: the
    # affine map (x − m)/s·w + b: x − m rounded relative to |x| and |m| (and the fused x·(w/s) + (b − m·w/s)
    # rounds both products), then z·w + b can cancel: s(x) = |w|·(|x| + |m|)/s + |b| (Higham 2002, §1.6).
    (y,) = ys
    if case.get("training", False):
        (s,) = _normalization(batch_norm_as_group_norm(case), [y])
        return [batch_norm_output(s, np.shape(y))]
    x, m, s, w, b = batch_norm_eval(case)
    return [np.broadcast_to(np.abs(w) * (np.abs(x) + np.abs(m)) / s + np.abs(b), np.shape(y))]


def _batch_norm_running_stats(case: dict[str, Any], ys: list[np.ndarray]) -> list[np.ndarray]:
    # (1 − m)·old + m·batch: the mean's terms have either sign, s = (1 − m)·|old| + m·mean|x|; the variance's
    # are non-negative (old ≥ 0), s = |y|. The batch statistics' own sums are the accumulation term.
    mean_y, var_y = ys
    x = np.moveaxis(np.asarray(case["x"], dtype=np.float64), 1, 0).reshape(mean_y.shape[0], -1)
    m = float(case.get("momentum", 0.1))
    old = np.abs(np.asarray(case["running_mean"], dtype=np.float64))
    return [(1 - m) * old + m * np.mean(np.abs(x), axis=1), np.abs(var_y)]


# --- positions and perplexity (sinusoidal_positional_encoding, rotary_embedding, perplexity) ---------------


def angles(case: dict[str, Any], d: int) -> np.ndarray:
    """θ = p·ω_i (L, d/2) of a positional call: ω_i = base^(−2i/d), p its ``positions``."""
    p = np.asarray(case["positions"], dtype=np.float64)
    omega = float(case.get("base", 10000.0)) ** (-2.0 * np.arange(d // 2) / d)
    return np.multiply.outer(p, omega)


def _sinusoid_angle(case: dict[str, Any], ys: list[np.ndarray]) -> list[np.ndarray]:
    # sin θ and cos θ of an angle θ = p·ω_i known within a few u·|θ| (ω_i and the product rounded, or ω_i from
    # exp(−2i/d·log base)): |d sin/dθ| ≤ 1, so s = |θ| in both columns of the pair (Higham 2002, §1.6).
    (y,) = ys
    theta = np.abs(angles(case, int(case["d_model"])))
    return [np.repeat(theta, 2, axis=-1).reshape(np.shape(y))]


def _rotation(case: dict[str, Any], ys: list[np.ndarray]) -> list[np.ndarray]:
    # y_a = x_a·cos θ − x_b·sin θ, y_b = x_a·sin θ + x_b·cos θ: two products that can cancel (|x_a| + |x_b|)
    # and an angle within a few u·|θ| (|∂y/∂θ| ≤ |x_a| + |x_b|): s = (|x_a| + |x_b|)·(1 + |θ|) on both.
    x = np.abs(np.asarray(case["x"], dtype=np.float64))
    d = x.shape[-1]
    theta = np.abs(angles(case, d))  # (L, d/2), broadcast over the leading axes
    if case.get("interleaved", True):
        a, b = x[..., 0::2], x[..., 1::2]
        return [np.repeat((a + b) * (1.0 + theta), 2, axis=-1)]
    a, b = x[..., : d // 2], x[..., d // 2 :]
    both = (a + b) * (1.0 + theta)
    return [np.concatenate([both, both], axis=-1)]


# The largest unit roundoff of the dtypes checked (bfloat16's 2⁻⁸; tied to tolerances.UNIT_ROUNDOFF by a test): the
# bound on a framework's rounded source coordinate that the interpolation model takes for every dtype.
COARSEST_UNIT_ROUNDOFF = 2.0**-8


def _resampling_axis(
    size_in: int, size_out: int, align_corners: Any
) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    """Bilinear weights (n, H) of one axis, the differences (n, H) of the neighbour pairs each output's rounded
    source coordinate may fall between, and |s| + 1.

    The framework's s is within δ = 3u·(|s| + 1) of the exact one, which can carry it across an integer into the next
    pair (s = 1 exactly, rounded to 1 − 2⁻⁵³, reads x₀ and x₁ instead of x₁ and x₂). y is continuous and piecewise
    linear in s, so it moves by at most the largest difference among the pairs that [s − δ, s + δ] meets, times δ.
    """
    weights, coord = np.zeros((size_out, size_in)), np.zeros(size_out)
    pairs: list[list[int]] = []
    for d, taps in enumerate(reference.interpolation_taps(size_in, size_out, "bilinear", align_corners)):
        for i, w in taps:
            weights[d, i] = float(w)
        s = float(sum(i * w for i, w in taps))  # the source coordinate (clamped): Σ i·w over its taps
        coord[d] = abs(s) + 1.0
        delta = 3.0 * COARSEST_UNIT_ROUNDOFF * coord[d]
        first, last = max(0, math.floor(s - delta)), min(size_in - 2, math.floor(s + delta))
        pairs.append(list(range(first, last + 1)))  # none where size_in = 1
    diffs = [np.zeros((size_out, size_in)) for _ in range(max(map(len, pairs)))]
    for d, around in enumerate(pairs):
        for diff, lo in zip(diffs, around, strict=False):
            diff[d, lo], diff[d, lo + 1] = -1.0, 1.0
    return weights, diffs, coord


def _interpolation(case: dict[str, Any], ys: list[np.ndarray]) -> list[np.ndarray]:
    # Nearest copies (s = 0). Bilinear y = Σ a·b·x: the products' terms Σ|a·b·x|, plus each axis' source
    # coordinate rounded by the framework (|δs| ≤ 3u·(|s| + 1): the scale, a product and the −½ shift), which
    # moves y by |∂y/∂s|·δs, ∂y/∂s the difference of the two inputs around s (weighted along the other axis), the
    # largest of the pairs the rounded s may fall between.
    (y,) = ys
    if case.get("mode", "nearest") != "bilinear":
        return [np.zeros_like(y)]
    x = np.asarray(case["x"], dtype=np.float64)
    (oh, ow), (h, w) = as_pair(case["size"]), x.shape[2:]
    (a, das, sa), (b, dbs, sb) = (_resampling_axis(i, o, case.get("align_corners")) for i, o in ((h, oh), (w, ow)))
    terms = np.einsum("ih,nchw,jw->ncij", a, np.abs(x), b)
    along_h = _largest([np.abs(np.einsum("ih,nchw,jw->ncij", da, x, b)) for da in das], terms) * sa[:, None]
    along_w = _largest([np.abs(np.einsum("ih,nchw,jw->ncij", a, x, db)) for db in dbs], terms) * sb[None, :]
    return [terms + along_h + along_w]


def _largest(parts: list[np.ndarray], like: np.ndarray) -> np.ndarray:
    """The elementwise largest of ``parts`` (zeros shaped as ``like`` where there are none: an axis of one input)."""
    return np.max(parts, axis=0) if parts else np.zeros_like(like)


def _perplexity(case: dict[str, Any], ys: list[np.ndarray]) -> list[np.ndarray]:
    # e^L of the mean cross-entropy L: an error δ in L is a relative error δ in e^L, and L is held to
    # k·u·(L + s_L) (cross-entropy's model), so s = PPL·(L + s_L) (Higham 2002, §1.6).
    (y,) = ys
    loss = np.log(y)
    (s_loss,) = _cross_entropy({**case, "reduction": "mean"}, [loss])
    return [np.abs(y) * (np.abs(loss) + s_loss)]


# --- learning-rate schedules and gradient clipping (step_lr, cosine_annealing_lr, linear_warmup_lr, ---
# clip_grad_norm): first order (Higham 2002, §1.6), with the rounding of the hyper-parameters to the dtype
# and PyTorch's chainable schedulers, which compute the rate of step t from the rate of step t − 1: t
# recursive steps of a few roundings each (Higham 2002, §3.1: a product of t factors is within γ_{2t}).


def _schedule_steps(case: dict[str, Any], end_key: str) -> np.ndarray:
    """min(t, end) for each step count of ``case`` (end: the schedule's T or W), as float64."""
    return np.minimum(np.asarray(case["step"], dtype=np.float64), float(case[end_key]))


def _step_lr(case: dict[str, Any], ys: list[np.ndarray]) -> list[np.ndarray]:
    # lr·γᵏ, k = ⌊t/s⌋: γ rounded by u moves γᵏ by k·u (κ = k), and a recursion multiplies k times.
    (y,) = ys
    k = np.floor_divide(np.asarray(case["step"], dtype=np.float64), float(case["step_size"]))
    return [(k + 1.0) * np.abs(y)]


def _cosine_annealing_lr(case: dict[str, Any], ys: list[np.ndarray]) -> list[np.ndarray]:
    # η_min + (η₀ − η_min)·c(x), x = min(t, T)/T: the terms |η₀| + |η_min|; c's argument rounded by u moves
    # it by (π/2)·x·|sin πx| per unit of |η₀ − η_min|; the recursion's steps (each ≤ a few u of |η₀| + |η_min|).
    (y,) = ys
    lr, low = abs(float(np.asarray(case["lr"]))), abs(float(case.get("eta_min", 0.0)))
    t = _schedule_steps(case, "t_max")
    x = t / float(case["t_max"])
    argument = 0.5 * np.pi * x * np.abs(np.sin(np.pi * x)) * abs(lr - low)
    return [np.broadcast_to((2.0 * t + 1.0) * (lr + low) + argument, np.shape(y))]


def _linear_warmup_lr(case: dict[str, Any], ys: list[np.ndarray]) -> list[np.ndarray]:
    # lr·(s + (1 − s)·min(t, W)/W): the terms' size |lr| (Keras' (s·lr − lr)(1 − p) + lr cancels down to
    # s·lr), and the recursion's min(t, W) steps of a few roundings of the rate each.
    (y,) = ys
    lr = abs(float(np.asarray(case["lr"])))
    return [lr + 2.0 * _schedule_steps(case, "warmup_steps") * np.abs(y)]


def _clip_grad_norm(case: dict[str, Any], ys: list[np.ndarray]) -> list[np.ndarray]:
    # N = √(Σg²): the sum of n squares is within γ_n of Σg² (all terms ≥ 0), so N within n/2·u; the factor
    # c/N and each product g·(c/N) carry it (and a norm at the threshold may be clipped by one and not the
    # other, a difference of |g|·(1 − c/N) ≤ |g|·n/2·u).
    (y,) = ys
    return [(0.5 * float(np.size(y)) + 2.0) * np.abs(y)]


def _uniform_draw(case: dict[str, Any], ys: list[np.ndarray]) -> list[np.ndarray]:
    # y = b·(2u − 1) (xavier_uniform, kaiming_uniform): κ with respect to u is |2bu/y|, so s = κ·|y| = 2b·u, up
    # to 2b; the map cancels near u = ½, where the rounding of b and of 2b·u (PyTorch's −b + 2b·u) stays b·u.
    from dlterms import reference

    u = np.asarray(case["u"], dtype=np.float64)
    kind = "xavier_uniform" if "gain" in case else "kaiming_uniform"
    options = {k: v for k, v in case.items() if k != "u"}
    b = abs(float(np.asarray(getattr(reference, kind)(np.ones(u.shape).tolist(), **options)).reshape(-1)[0]))
    return [2.0 * b * np.abs(u)]


SENSITIVITY: dict[str, Callable[[dict[str, Any], list[np.ndarray]], list[np.ndarray]]] = {
    "rounded": _rounded,
    "value": _value,
    "sigmoid": _sigmoid,
    "tanh": _tanh,
    "silu": _silu,
    "gelu": _gelu,
    "elu": _elu,
    "softplus": _softplus,
    "log_sigmoid": _log_sigmoid,
    "softmax": _softmax,
    "log_softmax": _log_softmax,
    "sum_of_terms": _sum_of_terms,
    "cross_entropy": _cross_entropy,
    "nll_loss": _nll_loss,
    "smoothed_cross_entropy": _smoothed_cross_entropy,
    "layer_norm": _normalization,
    "rms_norm": _normalization,
    "group_norm": _normalization,
    "kl_div": _kl_div,
    "adam_step": _adam_step,
    "rmsprop_step": _rmsprop_step,
    "sgd_momentum_step": _sgd_momentum_step,
    "batch_norm": _batch_norm,
    "batch_norm_running_stats": _batch_norm_running_stats,
    "sinusoid_angle": _sinusoid_angle,
    "rotation": _rotation,
    "interpolation": _interpolation,
    "perplexity": _perplexity,
    "step_lr": _step_lr,
    "cosine_annealing_lr": _cosine_annealing_lr,
    "linear_warmup_lr": _linear_warmup_lr,
    "clip_grad_norm": _clip_grad_norm,
    "uniform_draw": _uniform_draw,
}
