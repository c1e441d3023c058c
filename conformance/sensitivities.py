"""The sensitivities of the relative model: ``s = κ(x)·|y|`` per output, named by an op record.

An op record's :class:`~dlterms.ops.Accuracy` names one of :data:`SENSITIVITY`; the relative
bound of :mod:`dlterms.conformance.tolerances` is ``k·u·(|y| + s) + a + λ``. κ is the condition
number (Higham 2002, §1.6: a stable computation errs by about κ·u), computed from the case and
the float64 reference's outputs. What an op's sums add (``a``) is the accumulation term,
declared in :mod:`~dlterms.conformance.tolerances` with the model's other numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["SENSITIVITY", "sensitivity"]


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
SENSITIVITY: dict[str, Callable[[dict[str, Any], list[np.ndarray]], list[np.ndarray]]] = {
    "rounded": _rounded,
    "value": _value,
    "sigmoid": _sigmoid,
    "tanh": _tanh,
    "silu": _silu,
    "softmax": _softmax,
    "log_softmax": _log_softmax,
    "sum_of_terms": _sum_of_terms,
    "cross_entropy": _cross_entropy,
}
