"""Cost (loss) functions and their vector-Jacobian products.

Seed section: *the cost function*. A cost function turns a model's output and
the desired output into one number that training makes small. Every loss here
takes ``reduction``:

* ``"none"``: one value per element (mean squared error, binary
  cross-entropy) or per example (cross-entropy), with that shape;
* ``"mean"`` (the default): their mean, a 0-d tensor (a float); the mean of
  no values is NaN (0/0), as in PyTorch;
* ``"sum"``: their sum, a float (0.0 for no values).

Each ``<loss>_vjp(..., cotangent, reduction)`` returns ``cotangentᵀ · ∂loss``:
``cotangent`` is a float for ``"mean"``/``"sum"`` and has the shape of the
``"none"`` output otherwise.
"""

from __future__ import annotations

import math

from ._exact import exact_mean, exact_sum
from ._tensor import Nested, Shape, choice, integer, same_shape, tensor, unflatten
from .activations import log_softmax, softmax

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_vjp",
    "cross_entropy",
    "cross_entropy_vjp",
    "mse_loss",
    "mse_loss_vjp",
]

REDUCTIONS = ("none", "mean", "sum")


def reduce_terms(values: list[float], shape: Shape, reduction: str, batch: int | None = None) -> Nested:
    """The loss terms ``values`` (of a tensor of ``shape``) reduced.

    ``"none"``: the terms in that shape; ``"sum"``: their sum rounded once; ``"mean"``: the sum
    over their number (NaN for none); ``"batchmean"``: the sum over ``batch`` (the first
    dimension's length; NaN for 0).
    """
    if reduction == "none":
        return unflatten(values, shape)
    if reduction == "sum":
        return exact_sum(values)  # one rounding whatever the order; ±inf where the sum overflows
    if reduction == "batchmean":
        return exact_sum(values) / batch if batch else math.nan
    return exact_mean(values)  # NaN for no values; finite where the mean is, even if the sum overflows


def cotangent_per_term(
    fn: str, cotangent: Nested, shape: Shape, reduction: str, batch: int | None = None
) -> list[float]:
    """The cotangent of each unreduced term: ``g_i`` (none), ``ḡ`` (sum), ``ḡ/n`` (mean), ``ḡ/batch`` (batchmean)."""
    g_shape, g = tensor(fn, "cotangent", cotangent)
    n = math.prod(shape)
    if reduction == "none":
        same_shape(fn, "cotangent", g_shape, "the unreduced loss", shape)
        return g
    if g_shape != ():
        raise ValueError(
            f"{fn}: cotangent.shape={g_shape} but reduction={reduction!r} gives a scalar loss; "
            f"expected a number (a 0-d cotangent)"
        )
    divisor = {"sum": 1, "mean": n, "batchmean": batch}[reduction]
    return [g[0] / divisor] * n if n else []


# --- mean squared error ----------------------------------------------------------


def mse_loss(input: Nested, target: Nested, reduction: str = "mean") -> Nested:
    r"""Mean squared error between ``input`` (the prediction) and ``target``.

    .. math:: \operatorname{MSE}(\hat y, y) = \frac{1}{n} \sum_{i=1}^{n} (\hat y_i - y_i)^2

    over all ``n`` elements (``reduction="mean"``); ``"sum"`` drops the
    ``1/n`` and ``"none"`` returns each :math:`(\hat y_i - y_i)^2`. ``input``
    and ``target`` have the same shape, any rank (no broadcasting). Citation:
    ``goodfellow2016deep`` (§5.1.4, §6.2.1.1).

    Accuracy: within 4 ulp of the larger of the result and the largest term
    (measured: 2.2 ulp; the terms are summed with one rounding by fsum).

    >>> mse_loss([1.0, 2.0], [1.0, 4.0])
    2.0
    """
    fn = "mse_loss"
    shape, x = tensor(fn, "input", input)
    t_shape, t = tensor(fn, "target", target)
    same_shape(fn, "input", shape, "target", t_shape)
    reduction = choice(fn, "reduction", reduction, REDUCTIONS)
    squares = [(a - b) * (a - b) for a, b in zip(x, t, strict=True)]  # inf, not OverflowError
    return reduce_terms(squares, shape, reduction)


def mse_loss_vjp(input: Nested, target: Nested, cotangent: Nested, reduction: str = "mean") -> tuple[Nested, Nested]:
    r"""VJP of :func:`mse_loss`: ``(d_input, d_target)`` with :math:`2 g_i (\hat y_i - y_i)` and its negative.

    :math:`g_i` is the cotangent of the i-th squared error: the cotangent
    itself (``"none"``), ``ḡ`` (``"sum"``) or ``ḡ/n`` (``"mean"``).

    >>> mse_loss_vjp([1.0, 2.0], [1.0, 4.0], 1.0)
    ([0.0, -2.0], [-0.0, 2.0])
    """
    fn = "mse_loss_vjp"
    shape, x = tensor(fn, "input", input)
    t_shape, t = tensor(fn, "target", target)
    same_shape(fn, "input", shape, "target", t_shape)
    reduction = choice(fn, "reduction", reduction, REDUCTIONS)
    g = cotangent_per_term(fn, cotangent, shape, reduction)
    d_input = [2.0 * gi * (a - b) for a, b, gi in zip(x, t, g, strict=True)]
    return unflatten(d_input, shape), unflatten([-d for d in d_input], shape)


# --- binary cross-entropy ----------------------------------------------------------

LOG_CLAMP = -100.0
"""Each logarithm in :func:`binary_cross_entropy` is clamped below at this value (PyTorch's choice)."""


def _probabilities(fn: str, name: str, value: Nested) -> tuple[Shape, list[float]]:
    shape, flat = tensor(fn, name, value)
    for i, v in enumerate(flat):
        if not 0.0 <= v <= 1.0:  # also refuses NaN
            raise ValueError(
                f"{fn}: {name} has the value {v!r} at flat index {i}; expected probabilities in [0, 1] "
                f"(for raw scores, apply sigmoid first)"
            )
    return shape, flat


def _clamped_logs(p: float) -> tuple[float, float]:
    # log(0) = -inf would make 0·log 0 = NaN; the clamp keeps every term finite.
    # log1p(-p) is exact for small p, where log(1 - p) would lose digits.
    log_p = max(math.log(p), LOG_CLAMP) if p > 0 else LOG_CLAMP
    log_q = max(math.log1p(-p), LOG_CLAMP) if p < 1 else LOG_CLAMP
    return log_p, log_q


def binary_cross_entropy(input: Nested, target: Nested, reduction: str = "mean") -> Nested:
    r"""Binary cross-entropy between predicted probabilities ``input`` and ``target``.

    .. math:: \ell(p, y) = -\bigl(y \max(\log p, -100) + (1 - y) \max(\log(1 - p), -100)\bigr)

    elementwise, then reduced (``"mean"`` over all elements by default).
    ``input`` holds probabilities (apply :func:`~dlterms.reference.sigmoid` to
    raw scores first) and ``target`` holds probabilities too, usually the
    labels 0 and 1; both must lie in [0, 1] (anything else is refused with a
    ValueError) and have the same shape. Citation: ``goodfellow2016deep`` (§6.2.2.2); ``shannon1948mathematical``.

    **At p = 0 and p = 1** a logarithm is −∞. As PyTorch does, each
    logarithm is clamped below at :data:`LOG_CLAMP` = −100, so the loss is
    finite everywhere: ``ℓ(0, y) = 100·y`` and ``ℓ(1, y) = 100·(1 − y)``
    (0 when the prediction equals a hard label, 100 when it is confidently
    wrong). Without the clamp the confidently-wrong loss is +∞.

    Accuracy: within 4 ulp of the larger of the result and the largest term
    (measured: 1.7 ulp; ``log1p(−p)`` for the second logarithm).

    >>> binary_cross_entropy([0.5, 1.0, 0.0], [1.0, 1.0, 1.0], reduction="none")
    [0.6931471805599453, 0.0, 100.0]
    """
    fn = "binary_cross_entropy"
    shape, p = _probabilities(fn, "input", input)
    t_shape, t = _probabilities(fn, "target", target)
    same_shape(fn, "input", shape, "target", t_shape)
    reduction = choice(fn, "reduction", reduction, REDUCTIONS)
    values = []
    for pi, yi in zip(p, t, strict=True):
        log_p, log_q = _clamped_logs(pi)
        values.append(0.0 - (yi * log_p + (1.0 - yi) * log_q))  # 0.0 - : no -0.0
    return reduce_terms(values, shape, reduction)


def _bce_derivative(p: float, y: float) -> float:
    log_p, log_q = _clamped_logs(p)
    if log_p > LOG_CLAMP and log_q > LOG_CLAMP:
        # -y/p + (1-y)/(1-p) over one denominator: no cancellation when p ≈ y.
        return (p - y) / (p * (1.0 - p))
    # Where a log is clamped its term is constant, so it contributes nothing.
    d = 0.0 if log_p == LOG_CLAMP else -y / p
    return d + (0.0 if log_q == LOG_CLAMP else (1.0 - y) / (1.0 - p))


def binary_cross_entropy_vjp(input: Nested, target: Nested, cotangent: Nested, reduction: str = "mean") -> Nested:
    r"""VJP of :func:`binary_cross_entropy` with respect to ``input``: :math:`g_i (p_i - y_i) / (p_i (1 - p_i))`.

    This is the derivative of the clamped loss as defined: where a logarithm
    is clamped (p = 0 or p = 1, or p within e^−100 of them) its term is
    constant and contributes 0, so the gradient is finite everywhere. (PyTorch
    instead divides by ``max(p(1 − p), 1e-12)`` there; the two agree for
    every p that is not clamped.)

    >>> binary_cross_entropy_vjp([0.5, 0.25], [1.0, 0.0], 1.0, reduction="sum")
    [-2.0, 1.3333333333333333]
    """
    fn = "binary_cross_entropy_vjp"
    shape, p = _probabilities(fn, "input", input)
    t_shape, t = _probabilities(fn, "target", target)
    same_shape(fn, "input", shape, "target", t_shape)
    reduction = choice(fn, "reduction", reduction, REDUCTIONS)
    g = cotangent_per_term(fn, cotangent, shape, reduction)
    return unflatten([gi * _bce_derivative(pi, yi) for pi, yi, gi in zip(p, t, g, strict=True)], shape)


# --- cross-entropy (softmax + negative log-likelihood) ---------------------------------


def class_rows(fn: str, name: str, value: Nested, target: Nested) -> tuple[list[list[float]], list[int], int]:
    """Check ``value`` (N, C) and ``target`` (N,) class indices in [0, C); return the rows, the indices and C.

    An empty batch is ``value=[]``, ``target=[]`` (N = 0; a nested list cannot say C).
    """
    shape, flat = tensor(fn, name, value)
    if shape == (0,):
        shape = (0, 0)
    if len(shape) != 2:
        raise ValueError(
            f"{fn}: {name}.shape={shape}; expected (N, C): one row of C classes per example "
            f"(wrap a single example as [[...]])"
        )
    n, c = shape
    if not isinstance(target, list | tuple):
        raise TypeError(f"{fn}: target is {type(target).__name__} {target!r}; expected a list of {n} class indices")
    if len(target) != n:
        raise ValueError(f"{fn}: target has {len(target)} class indices but {name} has N={n} rows; expected N")
    labels = []
    for i, k in enumerate(target):
        k = integer(fn, f"target[{i}]", k)
        if not 0 <= k < c:
            raise ValueError(
                f"{fn}: target[{i}]={k} is out of range for C={c} classes ({name}.shape={shape}); "
                f"expected 0 <= target < {c}"
            )
        labels.append(k)
    return [flat[i * c : (i + 1) * c] for i in range(n)], labels, c


def cross_entropy(logits: Nested, target: Nested, reduction: str = "mean") -> Nested:
    r"""Cross-entropy of the softmax of ``logits`` (N, C) against class indices ``target`` (N,).

    .. math:: \ell_n = -\log \operatorname{softmax}(z_n)_{y_n}
              = -z_{n, y_n} + \log \sum_{c} e^{z_{n,c}}

    per example ``n``, then reduced (``"mean"`` over the N examples by
    default; ``"none"`` returns the N values). ``target[n]`` is an ``int`` in
    ``[0, C)``; an empty batch is ``logits=[]``, ``target=[]``. Computed through :func:`~dlterms.reference.log_softmax`
    (log-sum-exp around the row's max), so it stays finite for logits as
    large as ±1e4, where ``-log(softmax(z))`` would give ``log 0 = -inf``.
    Not supported here: class weights, ``ignore_index``, label smoothing,
    probability targets. Citation: ``goodfellow2016deep`` (§6.2.2.3);
    ``shannon1948mathematical``.

    Accuracy: within 4 ulp of the larger of the result and the largest term
    (measured: 2.6 ulp).

    >>> cross_entropy([[0.0, 0.0], [0.0, 0.0]], [0, 1])
    0.6931471805599453
    """
    fn = "cross_entropy"
    _, labels, _ = class_rows(fn, "logits", logits, target)
    n = len(labels)
    reduction = choice(fn, "reduction", reduction, REDUCTIONS)
    rows = log_softmax(logits, axis=-1) if n else []
    return reduce_terms([0.0 - row[k] for row, k in zip(rows, labels, strict=True)], (n,), reduction)


def cross_entropy_vjp(logits: Nested, target: Nested, cotangent: Nested, reduction: str = "mean") -> Nested:
    r"""VJP of :func:`cross_entropy` with respect to ``logits``: :math:`g_n (\operatorname{softmax}(z_n) - e_{y_n})`.

    With ``reduction="mean"`` and cotangent 1 this is the familiar
    ``(softmax − onehot) / N``. At the target it is computed as
    :math:`-\sum_{j \ne y_n} \operatorname{softmax}(z_n)_j`, which keeps its digits
    where :math:`\operatorname{softmax}(z_n)_{y_n} - 1` would cancel (within 4 ulp).

    >>> cross_entropy_vjp([[0.0, 0.0]], [1], 1.0)
    [[0.5, -0.5]]
    """
    fn = "cross_entropy_vjp"
    _, labels, _ = class_rows(fn, "logits", logits, target)
    n = len(labels)
    reduction = choice(fn, "reduction", reduction, REDUCTIONS)
    g = cotangent_per_term(fn, cotangent, (n,), reduction)
    probs = softmax(logits, axis=-1) if n else []
    return [[gn * d for d in _softmax_minus_onehot(row, k)] for row, k, gn in zip(probs, labels, g, strict=True)]


def _softmax_minus_onehot(p: list[float], k: int) -> list[float]:
    # p_k − 1 cancels when p_k ≈ 1 (logits [30, 0]: 1e-3 relative error); −Σ_{j≠k} p_j is the same number, exact.
    rest = math.fsum(pj for j, pj in enumerate(p) if j != k)
    return [0.0 - rest if j == k else pj for j, pj in enumerate(p)]
