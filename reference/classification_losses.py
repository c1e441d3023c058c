"""Classification losses from log-probabilities and logits, and their vector-Jacobian products.

Section: *the cost function*. Three losses that frameworks ship beside the seed's
:func:`~dlterms.reference.cross_entropy` and :func:`~dlterms.reference.binary_cross_entropy`
(:mod:`dlterms.reference.losses`), in a module of their own to keep each under 500 lines:

* :func:`nll_loss`: the negative log-likelihood of class indices, read from log-probabilities
  (``cross_entropy(z, y) = nll_loss(log_softmax(z), y)``), with optional class weights;
* :func:`binary_cross_entropy_with_logits`: binary cross-entropy of σ(x), computed from the
  logit x without forming σ(x), finite for every finite x, with PyTorch's ``pos_weight``;
* :func:`smoothed_cross_entropy`: cross-entropy against the label-smoothed target
  distribution (1 − ε)·onehot + ε/C (PyTorch's ``label_smoothing``).

Each takes ``reduction`` (``"none"``, ``"mean"``, the default, or ``"sum"``), as the seed's
losses do; each ``<loss>_vjp(..., cotangent, ...)`` returns the gradient with respect to its
first argument.
"""

from __future__ import annotations

import math

from ._exact import exact_sum
from ._tensor import Nested, Shape, choice, same_shape, scalar, tensor, unflatten
from .activations import log_softmax, softmax
from .losses import class_rows, cotangent_per_term, reduce_terms

__all__ = [
    "binary_cross_entropy_with_logits",
    "binary_cross_entropy_with_logits_vjp",
    "nll_loss",
    "nll_loss_vjp",
    "smoothed_cross_entropy",
    "smoothed_cross_entropy_vjp",
]

REDUCTIONS = ("none", "mean", "sum")


# --- negative log-likelihood ----------------------------------------------------------------


def _class_weights(fn: str, weight: Nested | None, c: int) -> list[float]:
    if weight is None:
        return [1.0] * c
    w_shape, w = tensor(fn, "weight", weight)
    if w_shape != (c,) and not (c == 0 and w_shape == (0,)):
        raise ValueError(f"{fn}: weight.shape={w_shape}; expected ({c},): one weight per class")
    for j, v in enumerate(w):
        if not 0.0 <= v < math.inf:
            raise ValueError(f"{fn}: weight[{j}]={v!r}; expected a finite weight >= 0")
    return w


def nll_loss(input: Nested, target: Nested, weight: Nested | None = None, reduction: str = "mean") -> Nested:
    r"""Negative log-likelihood of class indices ``target`` (N,) under log-probabilities ``input`` (N, C).

    .. math:: \ell_n = -w_{y_n}\, x_{n, y_n}, \qquad \operatorname{mean} = \frac{\sum_n \ell_n}{\sum_n w_{y_n}}

    ``input`` holds log-probabilities (``log_softmax`` of logits; its values are not
    checked, as in PyTorch), ``target[n]`` an ``int`` in ``[0, C)`` and ``weight`` (optional,
    ``(C,)``, finite and ≥ 0) a weight per class, 1 by default. ``"mean"`` divides by the
    total weight of the targets (N without weights; NaN when it is 0), ``"sum"`` adds the
    ``ℓ_n`` and ``"none"`` returns them. Not supported: ``ignore_index``, extra dimensions.
    Citation: ``goodfellow2016deep`` (§5.5, §6.2.1.1).

    Accuracy: each ``ℓ_n`` is one product (exact without weights); the sum is rounded once
    and the weighted mean twice more (within 2 ulp of the larger of the result and its largest term).

    >>> nll_loss([[-0.5, -1.0], [-2.0, -0.25]], [0, 1])
    0.375
    """
    fn = "nll_loss"
    rows, labels, c = class_rows(fn, "input", input, target)
    w = _class_weights(fn, weight, c)
    reduction = choice(fn, "reduction", reduction, REDUCTIONS)
    terms = [0.0 - w[k] * row[k] for row, k in zip(rows, labels, strict=True)]  # 0.0 - : no −0.0 at x = 0
    if reduction != "mean" or weight is None:
        return reduce_terms(terms, (len(terms),), reduction)
    total = math.fsum(w[k] for k in labels)
    return exact_sum(terms) / total if total else math.nan


def nll_loss_vjp(
    input: Nested, target: Nested, cotangent: Nested, weight: Nested | None = None, reduction: str = "mean"
) -> Nested:
    r"""VJP of :func:`nll_loss` with respect to ``input``: :math:`-g_n w_{y_n}` at ``(n, y_n)``, 0 elsewhere.

    :math:`g_n` is the cotangent of ``ℓ_n``: the cotangent itself (``"none"``), ``ḡ``
    (``"sum"``) or ``ḡ / Σ w_{y_n}`` (``"mean"``).

    >>> nll_loss_vjp([[-0.5, -1.0], [-2.0, -0.25]], [0, 1], 1.0)
    [[-0.5, 0.0], [0.0, -0.5]]
    """
    fn = "nll_loss_vjp"
    rows, labels, c = class_rows(fn, "input", input, target)
    w = _class_weights(fn, weight, c)
    reduction = choice(fn, "reduction", reduction, REDUCTIONS)
    n = len(rows)
    weighted_mean = reduction == "mean" and weight is not None
    g = cotangent_per_term(fn, cotangent, (n,), "sum" if weighted_mean else reduction, None)
    total = math.fsum(w[k] for k in labels) if weighted_mean else 1.0  # ḡ·w/Σw: the division last, one rounding
    # Σw = 0 only when every target's weight is 0: each ḡ·w is then 0, and 0/0 is NaN (as the forward's mean).
    per = [0.0 - gn * w[k] / total if total else math.nan for k, gn in zip(labels, g, strict=True)]
    return [[d if j == k else 0.0 for j in range(c)] for k, d in zip(labels, per, strict=True)]


# --- binary cross-entropy with logits -----------------------------------------------------------


def _softplus(x: float) -> float:
    # log(1 + e^x) = max(x, 0) + log1p(e^−|x|): no overflow, and log1p keeps the small tail's digits.
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _bce_logit_args(
    fn: str, input: Nested, target: Nested, pos_weight: Nested | None, reduction: str
) -> tuple[Shape, list[float], list[float], list[float], str]:
    shape, x = tensor(fn, "input", input)
    t_shape, y = tensor(fn, "target", target)
    same_shape(fn, "input", shape, "target", t_shape)
    for i, v in enumerate(y):
        if not 0.0 <= v <= 1.0:  # also refuses NaN
            raise ValueError(f"{fn}: target has the value {v!r} at flat index {i}; expected probabilities in [0, 1]")
    reduction = choice(fn, "reduction", reduction, REDUCTIONS)
    if pos_weight is None:
        return shape, x, y, [1.0] * len(x), reduction
    p_shape, p = tensor(fn, "pos_weight", pos_weight)
    c = shape[-1] if shape else None
    if len(p_shape) != 1 or p_shape[0] != c:
        raise ValueError(
            f"{fn}: pos_weight.shape={p_shape} but input.shape={shape}; expected ({c},): "
            f"one weight per class, along input's last axis"
        )
    for j, v in enumerate(p):
        if not 0.0 <= v < math.inf:
            raise ValueError(f"{fn}: pos_weight[{j}]={v!r}; expected a finite weight >= 0")
    return shape, x, y, [p[i % c] for i in range(len(x))], reduction


def binary_cross_entropy_with_logits(
    input: Nested, target: Nested, pos_weight: Nested | None = None, reduction: str = "mean"
) -> Nested:
    r"""Binary cross-entropy of σ(``input``) against ``target``, from the logits, with PyTorch's ``pos_weight``.

    .. math:: \ell(x, y) = p\,y \log\bigl(1 + e^{-x}\bigr) + (1 - y) \log\bigl(1 + e^{x}\bigr)

    :math:`= -\bigl(p\,y \log\sigma(x) + (1 - y)\log(1 - \sigma(x))\bigr)`

    elementwise, then reduced (``"mean"`` over all elements by default). ``target`` holds
    probabilities in [0, 1] (anything else is refused), of ``input``'s shape; ``pos_weight``
    = p (optional, one finite weight ≥ 0 per class along the last axis; 1 by default) weights
    the positive term. Each ``log(1 + e^z)`` is computed as ``max(z, 0) + log1p(e^−|z|)``, so
    the loss is finite for every finite logit (with p = 1 it is PyTorch's
    ``max(x, 0) − x·y + log1p(e^−|x|)``, and without its cancellation: both terms are ≥ 0).
    Citation: ``goodfellow2016deep`` (§6.2.2.2).

    Accuracy: within 4 ulp of the larger of the result and its largest term (both terms of
    each element are non-negative: no cancellation).

    >>> binary_cross_entropy_with_logits([0.0, 800.0, -800.0], [1.0, 1.0, 1.0], reduction="none")
    [0.6931471805599453, 0.0, 800.0]
    """
    fn = "binary_cross_entropy_with_logits"
    shape, x, y, p, reduction = _bce_logit_args(fn, input, target, pos_weight, reduction)
    values = []
    for xi, yi, pi in zip(x, y, p, strict=True):
        pos = pi * yi * _softplus(-xi) if yi else 0.0  # y = 0: 0, also where softplus is ∞ (x = −∞)
        neg = (1.0 - yi) * _softplus(xi) if yi != 1.0 else 0.0
        values.append(pos + neg)
    return reduce_terms(values, shape, reduction)


def binary_cross_entropy_with_logits_vjp(
    input: Nested, target: Nested, cotangent: Nested, pos_weight: Nested | None = None, reduction: str = "mean"
) -> Nested:
    r"""VJP of :func:`binary_cross_entropy_with_logits` with respect to ``input``.

    .. math:: \frac{\partial \ell}{\partial x} = (1 - y)\,\sigma(x) - p\,y\,\sigma(-x)

    times the cotangent of each element (``ḡ``, ``ḡ/n`` or the element's own); with p = 1
    it is σ(x) − y.

    >>> binary_cross_entropy_with_logits_vjp([0.0, 0.0], [1.0, 0.0], 1.0, reduction="sum")
    [-0.5, 0.5]
    """
    fn = "binary_cross_entropy_with_logits_vjp"
    shape, x, y, p, reduction = _bce_logit_args(fn, input, target, pos_weight, reduction)
    g = cotangent_per_term(fn, cotangent, shape, reduction, None)
    d = [(1.0 - yi) * _sigmoid(xi) - pi * yi * _sigmoid(-xi) for xi, yi, pi in zip(x, y, p, strict=True)]
    return unflatten([gi * di for gi, di in zip(g, d, strict=True)], shape)


# --- cross-entropy with label smoothing ----------------------------------------------------------


def _smoothing(fn: str, value: object) -> float:
    eps = scalar(fn, "label_smoothing", value)
    if not 0.0 <= eps <= 1.0:
        raise ValueError(f"{fn}: label_smoothing={eps!r}; expected a number in [0, 1]")
    return eps


def smoothed_cross_entropy(logits: Nested, target: Nested, label_smoothing: float, reduction: str = "mean") -> Nested:
    r"""Cross-entropy of softmax(``logits``) (N, C) against label-smoothed class indices ``target`` (N,).

    .. math:: \ell_n = -\sum_{c} q_{n,c} \log \operatorname{softmax}(z_n)_c

    where :math:`q_{n,c} = (1 - \varepsilon)\,[c = y_n] + \varepsilon / C`, with
    ``label_smoothing`` = ε in [0, 1]: PyTorch's ``cross_entropy(label_smoothing=ε)``.
    It is ``(1 − ε)·cross_entropy + ε·(mean over the classes of −log softmax)``; ε = 0 is
    :func:`~dlterms.reference.cross_entropy`. Reductions as there (``"mean"`` over the N
    examples). A masked (−∞) class gives +∞ for ε > 0: the smoothed target puts ε/C on it.
    Citation: ``szegedy2016rethinking`` (§7); ``goodfellow2016deep`` (§7.5.1).

    Accuracy: within 4 ulp of the larger of the result and its largest term (every
    ``−log softmax`` is ≥ 0 and so is every weight: no cancellation), and within C·u
    absolutely: the log of the rounded Σ e^(z − max) ≥ 1 loses a loss below u (0 for 2.9e−42).

    >>> smoothed_cross_entropy([[0.0, 0.0]], [0], label_smoothing=0.5)
    0.6931471805599453
    """
    fn = "smoothed_cross_entropy"
    rows, labels, c = class_rows(fn, "logits", logits, target)
    eps = _smoothing(fn, label_smoothing)
    reduction = choice(fn, "reduction", reduction, REDUCTIONS)
    terms = []
    for row, k in zip(rows, labels, strict=True):
        nll = [0.0 - v for v in log_softmax(row)]
        uniform = eps / c * math.fsum(nll) if eps else 0.0
        terms.append((1.0 - eps) * nll[k] + uniform if eps != 1.0 else uniform)
    return reduce_terms(terms, (len(terms),), reduction)


def smoothed_cross_entropy_vjp(
    logits: Nested, target: Nested, cotangent: Nested, label_smoothing: float, reduction: str = "mean"
) -> Nested:
    r"""VJP of :func:`smoothed_cross_entropy` with respect to ``logits``: :math:`g_n (p_n - q_n)`, p = softmax(z).

    At the target, :math:`p_{y} - q_{y} = \varepsilon (C - 1)/C - \sum_{j \ne y} p_j`, which keeps
    its digits where :math:`p_y - 1` would cancel. Accuracy: within 4 u of p + q, and at the target
    of :math:`\sum_{j \ne y} p_j` too (the two terms cancel for ε near 1; measured: 2 ulp of the result
    elsewhere, 8 ulp of max(p, q) at the target with ε = 1).

    >>> smoothed_cross_entropy_vjp([[0.0, 0.0]], [1], 1.0, label_smoothing=0.5)
    [[0.25, -0.25]]
    """
    fn = "smoothed_cross_entropy_vjp"
    rows, labels, c = class_rows(fn, "logits", logits, target)
    eps = _smoothing(fn, label_smoothing)
    reduction = choice(fn, "reduction", reduction, REDUCTIONS)
    g = cotangent_per_term(fn, cotangent, (len(rows),), reduction, None)
    out = []
    for row, k, gn in zip(rows, labels, g, strict=True):
        p = softmax(row)
        rest = math.fsum(pj for j, pj in enumerate(p) if j != k)
        at_target = eps * (c - 1) / c - rest
        out.append([gn * (at_target if j == k else pj - eps / c) for j, pj in enumerate(p)])
    return out
