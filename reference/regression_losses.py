"""Robust regression losses and their vector-Jacobian products: Huber and smooth L1.

Section: *the cost function*. Both are the squared error near 0 and the absolute error away
from it, so one outlier moves the loss (and its gradient) linearly instead of quadratically.
They differ only in scale: ``smooth_l1_loss(beta=β) = huber_loss(delta=β)/β`` for β > 0
(PyTorch's definitions), so Huber's slope far out is δ and smooth L1's is 1; at β = 0 smooth
L1 is the absolute error. Like :mod:`dlterms.reference.losses`, each takes ``reduction``:
``"none"`` (one value per element, that shape), ``"mean"`` (the default; NaN for no values)
or ``"sum"``; input and target have the same shape (no broadcasting).

Each ``<loss>_vjp(..., cotangent, ...)`` returns ``(d_input, d_target)``: the cotangent is a
float for ``"mean"``/``"sum"`` and has the input's shape for ``"none"``.

:func:`~dlterms.reference.losses.reduce_terms` and :func:`~dlterms.reference.losses.cotangent_per_term`
reduce these losses, as they do every loss.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from ._tensor import Nested, Shape, choice, same_shape, scalar, tensor, unflatten
from .losses import cotangent_per_term, reduce_terms

__all__ = [
    "huber_loss",
    "huber_loss_vjp",
    "smooth_l1_loss",
    "smooth_l1_loss_vjp",
]

REDUCTIONS = ("none", "mean", "sum")


def _threshold(fn: str, name: str, value: object, *, zero_allowed: bool) -> float:
    v = scalar(fn, name, value)
    if not (v >= 0.0 if zero_allowed else v > 0.0) or v == math.inf:
        expected = "a finite number >= 0" if zero_allowed else "a finite number > 0"
        raise ValueError(f"{fn}: {name}={v!r}; expected {expected}")
    return v


def _pairs(fn: str, input: Nested, target: Nested, reduction: str) -> tuple[Shape, list[float], list[float], str]:
    shape, x = tensor(fn, "input", input)
    t_shape, t = tensor(fn, "target", target)
    same_shape(fn, "input", shape, "target", t_shape)
    return shape, x, t, choice(fn, "reduction", reduction, REDUCTIONS)


def _loss(fn: str, input: Nested, target: Nested, reduction: str, term: Callable[[float], float]) -> Nested:
    shape, x, t, reduction = _pairs(fn, input, target, reduction)
    return reduce_terms([term(a - b) for a, b in zip(x, t, strict=True)], shape, reduction)


def _loss_vjp(
    fn: str,
    input: Nested,
    target: Nested,
    cotangent: Nested,
    reduction: str,
    slope: Callable[[float], float],
) -> tuple[Nested, Nested]:
    shape, x, t, reduction = _pairs(fn, input, target, reduction)
    g = cotangent_per_term(fn, cotangent, shape, reduction)
    d_input = [gi * slope(a - b) for a, b, gi in zip(x, t, g, strict=True)]
    return unflatten(d_input, shape), unflatten([0.0 - d for d in d_input], shape)


# --- Huber -------------------------------------------------------------------------------------


def _huber(r: float, delta: float) -> float:
    z = abs(r)
    # δ(|r| − δ/2) with |r| ≥ δ: the subtraction loses at most a factor 2, never cancels.
    return 0.5 * z * z if z < delta else delta * (z - 0.5 * delta)  # NaN fails z < δ: δ·NaN = NaN


def _huber_slope(r: float, delta: float) -> float:
    # r inside, ±δ outside: r clipped to [−δ, δ] (equal at |r| = δ: the derivative is continuous).
    return max(-delta, min(delta, r)) if not math.isnan(r) else r


def huber_loss(input: Nested, target: Nested, delta: float = 1.0, reduction: str = "mean") -> Nested:
    r"""Huber loss: squared error within ``delta`` of the target, absolute error (times δ) beyond.

    .. math:: \ell_\delta(r) = \tfrac12 r^2 \text{ if } |r| < \delta, \text{ else } \delta\,(|r| - \tfrac12\delta)

    for each residual r = ŷ − y, then reduced (``"mean"`` over all elements by default). ``delta`` = δ > 0
    (default 1.0); value and slope meet at |r| = δ (δ²/2 and δ). Citation: ``huber1964robust``.

    Accuracy: within 4 ulp of the larger of the result and the largest term (each term is
    r = ŷ − y rounded once and two more roundings; the sum is rounded once by fsum).

    >>> huber_loss([0.5, -3.0], [0.0, 0.0], reduction="none")
    [0.125, 2.5]
    """
    d = _threshold("huber_loss", "delta", delta, zero_allowed=False)
    return _loss("huber_loss", input, target, reduction, lambda r: _huber(r, d))


def huber_loss_vjp(
    input: Nested, target: Nested, cotangent: Nested, delta: float = 1.0, reduction: str = "mean"
) -> tuple[Nested, Nested]:
    r"""VJP of :func:`huber_loss`: ``(d_input, d_target)``, g·clip(r, −δ, δ) and its negative.

    :math:`g_i` is the cotangent of the i-th term: the cotangent itself (``"none"``), ``ḡ``
    (``"sum"``) or ``ḡ/n`` (``"mean"``). The Huber gradient is the squared error's gradient
    clipped to [−δ, δ].

    >>> huber_loss_vjp([0.5, -3.0], [0.0, 0.0], 1.0, reduction="sum")
    ([0.5, -1.0], [-0.5, 1.0])
    """
    d = _threshold("huber_loss_vjp", "delta", delta, zero_allowed=False)
    return _loss_vjp("huber_loss_vjp", input, target, cotangent, reduction, lambda r: _huber_slope(r, d))


# --- smooth L1 ---------------------------------------------------------------------------------


def _smooth_l1(r: float, beta: float) -> float:
    z = abs(r)
    # β = 0: |r| (PyTorch's rule; 0.5r²/β would divide by 0). Else r²/(2β) inside, |r| − β/2 outside.
    return 0.5 * z * z / beta if z < beta else z - 0.5 * beta


def _smooth_l1_slope(r: float, beta: float) -> float:
    if math.isnan(r):
        return r
    if abs(r) < beta:
        return r / beta
    return math.copysign(1.0, r) if r != 0 else 0.0  # sign(r), 0 at r = 0 (β = 0: the L1 subgradient 0)


def smooth_l1_loss(input: Nested, target: Nested, beta: float = 1.0, reduction: str = "mean") -> Nested:
    r"""Smooth L1 loss: squared error over 2β within ``beta`` of the target, absolute error minus β/2 beyond.

    .. math:: \ell_\beta(r) = \frac{r^2}{2\beta} \text{ if } |r| < \beta, \text{ else } |r| - \tfrac12\beta

    for each residual r = ŷ − y, then reduced (``"mean"`` by default); ``beta`` = β ≥ 0 (default 1.0). For
    β > 0 it is :func:`huber_loss` with δ = β divided by β (slope 1 far out, not δ); β = 0 is
    the absolute error |r|. Citation: ``girshick2015fast`` (with β = 1).

    Accuracy: within 4 ulp of the larger of the result and the largest term (as
    :func:`huber_loss`).

    >>> smooth_l1_loss([0.5, -3.0], [0.0, 0.0], reduction="none")
    [0.125, 2.5]
    """
    b = _threshold("smooth_l1_loss", "beta", beta, zero_allowed=True)
    return _loss("smooth_l1_loss", input, target, reduction, lambda r: _smooth_l1(r, b))


def smooth_l1_loss_vjp(
    input: Nested, target: Nested, cotangent: Nested, beta: float = 1.0, reduction: str = "mean"
) -> tuple[Nested, Nested]:
    r"""VJP of :func:`smooth_l1_loss`: ``(d_input, d_target)``, g·clip(r/β, −1, 1) and its negative.

    At β = 0 the slope is sign(r), and 0 at r = 0 (PyTorch's subgradient).

    >>> smooth_l1_loss_vjp([0.5, -3.0], [0.0, 0.0], 1.0, beta=2.0, reduction="sum")
    ([0.25, -1.0], [-0.25, 1.0])
    """
    b = _threshold("smooth_l1_loss_vjp", "beta", beta, zero_allowed=True)
    return _loss_vjp("smooth_l1_loss_vjp", input, target, cotangent, reduction, lambda r: _smooth_l1_slope(r, b))
