"""The sensitivities of the relative model: ``s = κ(x)·|y|`` per output, named by an op record.

An op record's :class:`~dlterms.ops.Accuracy` names one of :data:`SENSITIVITY`; the relative
bound of :mod:`dlterms.conformance.tolerances` is ``k·u·(|y| + s) + a + λ``. κ is the condition
number (Higham 2002, §1.6: a stable computation errs by about κ·u), computed from the case and
the float64 reference's outputs. What an op's sums add (``a``) is the accumulation term,
declared in :mod:`~dlterms.conformance.tolerances` with the model's other numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["SENSITIVITY", "NormalizedGroups", "normalized_groups", "sensitivity"]


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
    "layer_norm": _normalization,
    "rms_norm": _normalization,
    "group_norm": _normalization,
}
