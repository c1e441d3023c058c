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

from ._tensor import Nested, Shape, choice, same_shape, tensor, unflatten

__all__ = [
    "mse_loss",
    "mse_loss_vjp",
]

REDUCTIONS = ("none", "mean", "sum")


def _reduce(values: list[float], shape: Shape, reduction: str) -> Nested:
    if reduction == "none":
        return unflatten(values, shape)
    total = math.fsum(values)  # exact to one rounding, whatever the order
    if reduction == "sum":
        return total
    return total / len(values) if values else math.nan


def _cotangent_per_value(fn: str, cotangent: Nested, shape: Shape, n: int, reduction: str) -> list[float]:
    """The cotangent of each unreduced value: ḡ·1 (sum), ḡ/n (mean), or gᵢ (none)."""
    g_shape, g = tensor(fn, "cotangent", cotangent)
    if reduction == "none":
        same_shape(fn, "cotangent", g_shape, "the unreduced loss", shape)
        return g
    if g_shape != ():
        raise ValueError(
            f"{fn}: cotangent.shape={g_shape} but reduction={reduction!r} gives a scalar loss; "
            f"expected a number (a 0-d cotangent)"
        )
    return [g[0] / n if reduction == "mean" else g[0]] * n


# --- mean squared error ----------------------------------------------------------


def mse_loss(input: Nested, target: Nested, reduction: str = "mean") -> Nested:
    r"""Mean squared error between ``input`` (the prediction) and ``target``.

    .. math:: \operatorname{MSE}(\hat y, y) = \frac{1}{n} \sum_{i=1}^{n} (\hat y_i - y_i)^2

    over all ``n`` elements (``reduction="mean"``); ``"sum"`` drops the
    ``1/n`` and ``"none"`` returns each :math:`(\hat y_i - y_i)^2`. ``input``
    and ``target`` have the same shape, any rank (no broadcasting). Citation:
    ``goodfellow2016deep`` (§5.1.4, §6.2.1.1).

    Invariants: ``mse_loss.nonnegative``, ``mse_loss.zero_iff_equal``,
    ``mse_loss.sum_is_n_times_mean``, ``mse_loss.none_is_elementwise``.

    >>> mse_loss([1.0, 2.0], [1.0, 4.0])
    2.0
    """
    fn = "mse_loss"
    shape, x = tensor(fn, "input", input)
    t_shape, t = tensor(fn, "target", target)
    same_shape(fn, "input", shape, "target", t_shape)
    reduction = choice(fn, "reduction", reduction, REDUCTIONS)
    return _reduce([(a - b) ** 2 for a, b in zip(x, t, strict=True)], shape, reduction)


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
    g = _cotangent_per_value(fn, cotangent, shape, len(x), reduction)
    d_input = [2.0 * gi * (a - b) for a, b, gi in zip(x, t, g, strict=True)]
    return unflatten(d_input, shape), unflatten([-d for d in d_input], shape)
