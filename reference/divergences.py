"""The Kullback-Leibler divergence as a loss, and its vector-Jacobian product.

Section: *the cost function*. ``kl_div`` follows PyTorch's convention: ``input`` holds
LOG-probabilities (the model's log q, e.g. a log-softmax) and ``target`` probabilities p (or
log-probabilities with ``log_target=True``); each element contributes p·(log p − log q), and 0
where p = 0 (0·log 0 = 0: a case of probability 0 is not in the divergence's sum). Keras and
JAX's ``rel_entr`` take probabilities for both instead (a convention that ``dlterms conventions`` reports).

Reductions: ``"none"`` (each element's term), ``"sum"``, ``"mean"`` (over ALL elements, the
default as in PyTorch: the divergence divided by the number of classes too, which is not the
KL divergence) and ``"batchmean"`` (the sum over the first dimension's length: the KL
divergence per example, for rows that are distributions).
"""

from __future__ import annotations

import math

from ._tensor import Nested, Shape, choice, same_shape, tensor, unflatten
from .losses import cotangent_per_term, reduce_terms

__all__ = ["kl_div", "kl_div_vjp"]

KL_REDUCTIONS = ("none", "mean", "sum", "batchmean")


def _flag(fn: str, log_target: object) -> bool:
    if not isinstance(log_target, bool):
        raise TypeError(f"{fn}: log_target is {type(log_target).__name__} {log_target!r}; expected True or False")
    return log_target


def _distributions(
    fn: str, input: Nested, target: Nested, reduction: str, log_target: object
) -> tuple[Shape, list[float], list[float], list[float], str, int]:
    """Shape, input x, the target's probabilities p and their logs, the reduction and the batch size."""
    shape, x = tensor(fn, "input", input)
    t_shape, t = tensor(fn, "target", target)
    same_shape(fn, "input", shape, "target", t_shape)
    reduction = choice(fn, "reduction", reduction, KL_REDUCTIONS)
    if _flag(fn, log_target):
        p = [math.exp(v) for v in t]  # e^−∞ = 0: probability 0; NaN propagates
        logs = t
    else:
        for i, v in enumerate(t):
            if not v >= 0.0:  # also refuses NaN
                raise ValueError(
                    f"{fn}: target has the value {v!r} at flat index {i}; expected probabilities >= 0 "
                    f"(for log-probabilities pass log_target=True)"
                )
        p = t
        logs = [math.log(v) if v > 0 else -math.inf for v in t]
    return shape, x, p, logs, reduction, shape[0] if shape else 1


def _term(x: float, p: float, log_p: float) -> float:
    if p == 0.0:
        return x if math.isnan(x) else 0.0  # not in the divergence's support: 0, whatever log q is
    return p * (log_p - x)


def kl_div(input: Nested, target: Nested, reduction: str = "mean", log_target: bool = False) -> Nested:
    r"""Kullback-Leibler divergence of ``input`` (log-probabilities log q) from ``target`` (probabilities p).

    .. math:: \ell_i = p_i\,(\log p_i - \log q_i), \qquad D_{\mathrm{KL}}(P \parallel Q) = \sum_i \ell_i

    elementwise (0 where p = 0), then reduced: ``"mean"`` over all elements (the default, as in
    PyTorch, which warns that it is not the KL divergence), ``"batchmean"`` the sum over the
    batch size (the first dimension; the KL divergence per example), ``"sum"``, ``"none"``.
    ``input`` is log q (e.g. :func:`~dlterms.reference.log_softmax` of the logits), any real;
    ``target`` is p ≥ 0 (a negative or NaN probability is refused), or log p with
    ``log_target=True`` (then p = e^target). Same shape, any rank. Citation: ``kullback1951information``.

    Accuracy: within 4 ulp of the largest of the result and the terms' sizes p·(|log p| + |log q|)
    (each term rounds log p, the difference and the product once; the sum is rounded once by fsum).

    >>> kl_div([[-0.6931471805599453, -0.6931471805599453]], [[1.0, 0.0]], reduction="batchmean")
    0.6931471805599453
    """
    fn = "kl_div"
    shape, x, p, logs, reduction, batch = _distributions(fn, input, target, reduction, log_target)
    return reduce_terms([_term(*v) for v in zip(x, p, logs, strict=True)], shape, reduction, batch)


def _target_slope(x: float, p: float, log_p: float) -> float:
    # d/dp of p·(log p − x) is log p + 1 − x (−∞ at p = 0); through p = e^t (log_target) it is
    # e^t·(t − x + 1), 0 at t = −∞ (e^t·t → 0).
    return p * (log_p - x + 1.0) if p > 0.0 else math.nan if math.isnan(x) else 0.0


def kl_div_vjp(
    input: Nested, target: Nested, cotangent: Nested, reduction: str = "mean", log_target: bool = False
) -> tuple[Nested, Nested]:
    r"""VJP of :func:`kl_div`: ``(d_input, d_target)`` with :math:`-g_i p_i` and :math:`g_i (\log p_i + 1 - \log q_i)`.

    :math:`g_i` is the cotangent of the i-th term: the cotangent itself (``"none"``), ``ḡ``
    (``"sum"``), ``ḡ/n`` (``"mean"``) or ``ḡ/N`` (``"batchmean"``, N the batch size). With
    ``log_target=True`` the target's gradient is :math:`g_i p_i (\log p_i + 1 - \log q_i)`, p = e^target (0
    where p = 0). Where a probability target is 0 its derivative is −∞ (log p → −∞): the
    target's gradient there is ``g·(−∞)``.

    >>> kl_div_vjp([[0.0, -1.0]], [[0.5, 0.5]], 1.0, reduction="sum")
    ([[-0.5, -0.5]], [[0.3068528194400547, 1.3068528194400546]])
    """
    fn = "kl_div_vjp"
    shape, x, p, logs, reduction, batch = _distributions(fn, input, target, reduction, log_target)
    g = cotangent_per_term(fn, cotangent, shape, reduction, batch)
    d_input = [0.0 - gi * pi for gi, pi in zip(g, p, strict=True)]
    if log_target:
        d_target = [gi * _target_slope(*v) for gi, v in zip(g, zip(x, p, logs, strict=True), strict=True)]
    else:
        d_target = [
            gi * (lp - xi + 1.0) if pi > 0.0 else gi * -math.inf if not math.isnan(xi) else xi
            for gi, xi, pi, lp in zip(g, x, p, logs, strict=True)
        ]
    return unflatten(d_input, shape), unflatten(d_target, shape)
