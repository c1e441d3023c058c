"""Perplexity: the exponential of the mean cross-entropy of class-index targets, and its VJP.

Section: *attention* (the measure a language model is reported by). A model that gives the
correct next token the probability q_n has perplexity exp(−mean log q_n): the number of
equally likely choices that would leave it as uncertain. It is built on
:func:`~dlterms.reference.cross_entropy` (logits, not probabilities, as there) with the base
e of its natural logarithm; 2 raised to the mean loss in bits is the same number.
"""

from __future__ import annotations

import math

from ._tensor import Nested, scalar
from .losses import class_rows, cross_entropy, cross_entropy_vjp

__all__ = ["perplexity", "perplexity_vjp"]


def perplexity(logits: Nested, target: Nested) -> float:
    r"""Perplexity of class indices ``target`` (N,) under the softmax of ``logits`` (N, C).

    .. math:: \operatorname{PPL} = \exp\Bigl(-\frac{1}{N}\sum_{n} \log \operatorname{softmax}(z_n)_{y_n}\Bigr)

    It is at least 1 (each −log q_n ≥ 0), C for uniform logits, and 1 only where every target
    has probability 1. An empty batch (N = 0) is refused: its mean has no value. Citation:
    ``jelinek1977perplexity``; ``zhang2023dive`` (§9.3).

    Accuracy: the mean cross-entropy L within its bound δ (:func:`~dlterms.reference.cross_entropy`),
    then e^L rounded once: within (δ + u)·PPL (u = 2⁻⁵³).

    >>> perplexity([[0.0, 0.0, 0.0, 0.0]], [2])
    4.0
    """
    _check("perplexity", logits, target)
    return math.exp(cross_entropy(logits, target, "mean"))


def perplexity_vjp(logits: Nested, target: Nested, cotangent: float) -> Nested:
    r"""VJP of :func:`perplexity` with respect to ``logits``: the mean cross-entropy's, scaled by ḡ·PPL.

    .. math:: \bar z_n = \bar g\,\operatorname{PPL}\,\bigl(\operatorname{softmax}(z_n) - e_{y_n}\bigr)/N

    The chain rule through exp.
    """
    fn = "perplexity_vjp"
    _check(fn, logits, target)
    g = scalar(fn, "cotangent", cotangent)
    return cross_entropy_vjp(logits, target, g * perplexity(logits, target), "mean")


def _check(fn: str, logits: Nested, target: Nested) -> None:
    _, labels, _ = class_rows(fn, "logits", logits, target)
    if not labels:
        raise ValueError(f"{fn}: logits.shape=(0, 0) (N = 0); expected at least one example (a mean of none)")
