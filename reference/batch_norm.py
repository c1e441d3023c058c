"""Batch normalization: training mode (the batch's statistics), evaluation mode (the running ones), and the
running statistics' update, with their VJPs.

Section: *normalization*. The input is ``(N, C, *)`` (``(N, C)`` included); channel ``c`` is
normalized over every example and position, ``N·∏*`` values:

* :func:`batch_norm` with ``training=True`` normalizes each channel with the batch's mean and
  *biased* variance (divided by ``n``). This is group normalization with one group per channel
  of the input seen as a single example ``(1, C, N, *)``, so it is computed by
  :func:`~dlterms.reference.group_norm` on that view: the same exact statistics, z within 1 ulp;
* with ``training=False`` it is the affine map ``(x − running_mean)/√(running_var + ε)·w + b`` per
  channel: z is the correctly rounded square root of the exact ``(x − m)²/(v + ε)``, with its sign;
* :func:`batch_norm_running_stats` is the update a training step makes, PyTorch's convention:
  ``momentum`` weights the new batch, and the running variance takes the *unbiased* batch
  variance ``n/(n − 1)·σ²``; each value exact, rounded once.

How the mode is declared: one op ``batch_norm`` with an option ``training`` (its output is y in
both modes), and the update as its own op ``batch_norm_running_stats``, because frameworks update
their running buffers outside automatic differentiation while ``y`` is differentiated
(see docs/decisions.md).
"""

from __future__ import annotations

import math
from fractions import Fraction

from ._tensor import Nested, Shape, finite_scalar, tensor, unflatten
from .normalization import check_eps, group_norm, group_norm_vjp, sqrt_exact

__all__ = ["batch_norm", "batch_norm_running_stats", "batch_norm_running_stats_vjp", "batch_norm_vjp"]


def _channels(fn: str, x: Nested) -> tuple[Shape, list[float], int, int]:
    """``(shape, flat, C, n)``: x's shape and values, its channels and the values per channel."""
    shape, flat = tensor(fn, "x", x)
    if len(shape) < 2:
        raise ValueError(f"{fn}: x.shape={shape}; expected (N, C, *): a batch of examples with channels on axis 1")
    c = shape[1]
    return shape, flat, c, math.prod(shape) // c if c else 0


def _per_channel(fn: str, name: str, value: Nested | None, shape: Shape, optional: bool = False) -> list[float] | None:
    if value is None and optional:  # a weight or bias left out; the running statistics are required
        return None
    got, flat = tensor(fn, name, value)
    if got != (shape[1],):
        raise ValueError(f"{fn}: {name}.shape={got} but x.shape={shape}; expected ({shape[1]},): one value per channel")
    return flat


def _batch_size(fn: str, shape: Shape, n: int) -> None:
    if n < 2:
        raise ValueError(
            f"{fn}: x.shape={shape} has {n} value per channel; expected at least 2 in training mode "
            "(the batch's variance, and its unbiased form n/(n − 1), need two)"
        )


def _channel_major(flat: list[float], shape: Shape) -> list[float]:
    """x (N, C, *) as (C, N, *), row-major: each channel's values consecutive."""
    n, c, inner = shape[0], shape[1], math.prod(shape[2:])
    return [flat[(b * c + k) * inner + i] for k in range(c) for b in range(n) for i in range(inner)]


def _batch_major(flat: list[float], shape: Shape) -> list[float]:
    """The inverse of :func:`_channel_major`: (C, N, *) values back in the order of x (N, C, *)."""
    n, c, inner = shape[0], shape[1], math.prod(shape[2:])
    return [flat[(k * n + b) * inner + i] for b in range(n) for k in range(c) for i in range(inner)]


def _as_one_example(flat: list[float], shape: Shape) -> Nested:
    """x (N, C, *) as the single example (1, C, N, *) of group normalization with C groups."""
    return [unflatten(_channel_major(flat, shape), (shape[1], shape[0], *shape[2:]))]


def _flat(value: Nested) -> list[float]:
    return tensor("batch_norm", "y", value)[1]


def _eval_z(x: float, mean: float, var: float, eps: float) -> float:
    """(x − m)/√(v + ε): exact where everything is finite, IEEE arithmetic otherwise."""
    if not all(math.isfinite(v) for v in (x, mean, var)):
        denominator = var + eps
        if math.isnan(denominator) or denominator < 0:
            return math.nan
        return (x - mean) / math.sqrt(denominator)
    deviation = Fraction(x) - Fraction(mean)
    denominator = Fraction(var) + Fraction(eps)
    if denominator < 0 or (denominator == 0 and deviation == 0):
        return math.nan  # √ of a negative number, or 0/0
    if denominator == 0:
        return math.copysign(math.inf, deviation)
    return math.copysign(sqrt_exact(deviation * deviation / denominator), deviation)


def _check(
    fn: str,
    x: Nested,
    running_mean: Nested,
    running_var: Nested,
    weight: Nested | None,
    bias: Nested | None,
    training: object,
    eps: object,
) -> tuple[Shape, list[float], list[list[float] | None], bool, float]:
    shape, flat, _, n = _channels(fn, x)
    stats = [
        _per_channel(fn, name, v, shape) for name, v in (("running_mean", running_mean), ("running_var", running_var))
    ]
    affine = [_per_channel(fn, name, v, shape, True) for name, v in (("weight", weight), ("bias", bias))]
    if not isinstance(training, bool):
        raise TypeError(
            f"{fn}: training is {training!r}; expected True (the batch's statistics) or False (the running ones)"
        )
    if training:
        _batch_size(fn, shape, n)
    return shape, flat, [*stats, *affine], training, check_eps(fn, eps)


def batch_norm(
    x: Nested,
    running_mean: Nested,
    running_var: Nested,
    weight: Nested | None = None,
    bias: Nested | None = None,
    training: bool = False,
    eps: float = 1e-5,
) -> Nested:
    r"""Batch normalization of each channel (axis 1), then ``·weight + bias`` per channel.

    .. math:: y_{nc\ldots} = \frac{x_{nc\ldots} - \mu_c}{\sqrt{\sigma^2_c + \epsilon}}\, w_c + b_c

    Training: :math:`\mu_c` and the biased :math:`\sigma^2_c` of channel c over the batch and every
    position; evaluation: ``running_mean`` and ``running_var`` instead (an affine map of x). ``x`` is
    ``(N, C, *)``; ``running_mean``, ``running_var``, ``weight`` and ``bias`` are ``(C,)`` (the last two
    may be ``None``: 1 and 0). The running statistics are read in evaluation only; their update is
    :func:`batch_norm_running_stats`. The signature is ``torch.nn.functional.batch_norm``'s without
    ``momentum``. Citation: ``ioffe2015batch``.

    Accuracy: z within 1 ulp (exact statistics), the affine map two more roundings.

    >>> batch_norm([[1.0], [3.0]], [0.0], [1.0], training=True, eps=0.0)
    [[-1.0], [1.0]]
    >>> batch_norm([[1.0], [3.0]], [1.0], [4.0], eps=0.0)
    [[0.0], [1.0]]
    """
    fn = "batch_norm"
    shape, flat, (mean, var, w, b), training, eps = _check(
        fn, x, running_mean, running_var, weight, bias, training, eps
    )
    if training:
        y = group_norm(_as_one_example(flat, shape), shape[1], weight, bias, eps)
        return unflatten(_batch_major(_flat(y), shape), shape)
    inner = math.prod(shape[2:])
    out = []
    for i, xi in enumerate(flat):
        k = (i // inner) % shape[1]
        y = _eval_z(xi, mean[k], var[k], eps)  # type: ignore[index]
        y = y if w is None else y * w[k]
        out.append(y if b is None else y + b[k])
    return unflatten(out, shape)


def batch_norm_vjp(
    x: Nested,
    running_mean: Nested,
    running_var: Nested,
    cotangent: Nested,
    weight: Nested | None = None,
    bias: Nested | None = None,
    training: bool = False,
    eps: float = 1e-5,
) -> tuple[Nested, Nested | None, Nested | None]:
    r"""VJP of :func:`batch_norm`: ``(dx, dweight, dbias)``, ``None`` for an absent weight or bias.

    Training, with :math:`\hat g = g\,w_c`, :math:`s_c = \sqrt{\sigma^2_c + \epsilon}` and the n values of
    channel c: :math:`\partial L/\partial x_i = (\hat g_i - \overline{\hat g} - z_i\,\overline{\hat g z})/s_c`
    (the statistics depend on x); evaluation: :math:`\partial L/\partial x_i = \hat g_i/s_c` with
    :math:`s_c = \sqrt{v_c + \epsilon}`. Both: :math:`\partial L/\partial w_c = \sum g\,z`,
    :math:`\partial L/\partial b_c = \sum g` over channel c.

    >>> batch_norm_vjp([[1.0], [3.0]], [0.0], [1.0], [[1.0], [0.0]], training=True, eps=0.0)
    ([[0.0], [0.0]], None, None)
    """
    fn = "batch_norm_vjp"
    shape, flat, (mean, var, w, b), training, eps = _check(
        fn, x, running_mean, running_var, weight, bias, training, eps
    )
    g_shape, g = tensor(fn, "cotangent", cotangent)
    if g_shape != shape:
        raise ValueError(f"{fn}: cotangent.shape={g_shape} but x.shape={shape}; expected the output's shape")
    if training:
        dx, dw, db = group_norm_vjp(
            _as_one_example(flat, shape), shape[1], _as_one_example(g, shape), weight, bias, eps
        )
        return unflatten(_batch_major(_flat(dx), shape), shape), dw, db
    inner, c = math.prod(shape[2:]), shape[1]
    channel = [(i // inner) % c for i in range(len(flat))]
    z = [_eval_z(xi, mean[channel[i]], var[channel[i]], eps) for i, xi in enumerate(flat)]  # type: ignore[index]
    scale = [math.sqrt(var[k] + eps) if var[k] + eps >= 0 else math.nan for k in range(c)]  # type: ignore[index]
    dx = [gi * (1.0 if w is None else w[channel[i]]) / scale[channel[i]] for i, gi in enumerate(g)]
    dw = None if w is None else [math.fsum(g[i] * z[i] for i in range(len(g)) if channel[i] == k) for k in range(c)]
    db = None if b is None else [math.fsum(g[i] for i in range(len(g)) if channel[i] == k) for k in range(c)]
    return unflatten(dx, shape), dw, db


def _momentum(fn: str, momentum: object) -> float:
    value = finite_scalar(fn, "momentum", momentum)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{fn}: momentum={value!r}; expected a number in [0, 1] (the weight of the new batch)")
    return value


def _channel_sums(
    fn: str, x: Nested, running_mean: Nested, running_var: Nested
) -> tuple[Shape, list[list[float]], list[float], list[float]]:
    shape, flat, c, n = _channels(fn, x)
    mean = _per_channel(fn, "running_mean", running_mean, shape)
    var = _per_channel(fn, "running_var", running_var, shape)
    _batch_size(fn, shape, n)
    by_channel = _channel_major(flat, shape)
    return shape, [by_channel[k * n : (k + 1) * n] for k in range(c)], mean, var  # type: ignore[return-value]


def batch_norm_running_stats(
    x: Nested, running_mean: Nested, running_var: Nested, momentum: float = 0.1
) -> tuple[Nested, Nested]:
    r"""The running statistics after one training step of :func:`batch_norm` on the batch ``x``.

    .. math:: \bar\mu_c \leftarrow (1 - m)\,\bar\mu_c + m\,\mu_c,\quad \bar v_c \leftarrow (1 - m)\,\bar v_c + m\,s^2_c

    with :math:`\mu_c` the batch mean of the n values of channel c and :math:`s^2_c = \frac{n}{n-1}\sigma^2_c` their
    unbiased variance (:math:`\sigma^2_c` the biased one):
    the running variance takes the *unbiased* variance, and the momentum m weights the new batch
    (PyTorch's convention; Keras' ``momentum`` is 1 − m). Each value exact, rounded once; a channel
    holding a NaN or an infinity gives NaN. Citation: ``ioffe2015batch``.

    >>> batch_norm_running_stats([[1.0], [3.0]], [0.0], [1.0], momentum=0.5)
    ([1.0], [1.5])
    """
    fn = "batch_norm_running_stats"
    _, channels, mean, var = _channel_sums(fn, x, running_mean, running_var)
    m = Fraction(_momentum(fn, momentum))
    new_mean, new_var = [], []
    for values, rm, rv in zip(channels, mean, var, strict=True):
        if not all(math.isfinite(v) for v in (*values, rm, rv)):
            new_mean.append(math.nan if not all(math.isfinite(v) for v in (*values, rm)) else rm)
            new_var.append(math.nan)
            continue
        exact = [Fraction(v) for v in values]
        n = len(exact)
        mu = sum(exact, Fraction(0)) / n
        unbiased = sum(((v - mu) ** 2 for v in exact), Fraction(0)) / (n - 1)
        new_mean.append(float((1 - m) * Fraction(rm) + m * mu))
        new_var.append(float((1 - m) * Fraction(rv) + m * unbiased))
    return new_mean, new_var


def batch_norm_running_stats_vjp(
    x: Nested, running_mean: Nested, running_var: Nested, cotangent: tuple[Nested, Nested], momentum: float = 0.1
) -> tuple[Nested]:
    r"""VJP of :func:`batch_norm_running_stats` with respect to ``x``: ``(dx,)``.

    With cotangents :math:`g^\mu_c` and :math:`g^{\sigma}_c` of the two outputs,
    :math:`\partial L/\partial x_i = m\,g^\mu_c/n + 2m\,(x_i - \mu_c)\,g^{\sigma}_c/(n - 1)` for x_i in channel c.

    >>> batch_norm_running_stats_vjp([[1.0], [3.0]], [0.0], [1.0], ([1.0], [1.0]), momentum=0.5)
    ([[-0.75], [1.25]],)
    """
    fn = "batch_norm_running_stats_vjp"
    shape, channels, _, _ = _channel_sums(fn, x, running_mean, running_var)
    m = _momentum(fn, momentum)
    if not isinstance(cotangent, tuple | list) or len(cotangent) != 2:
        raise TypeError(
            f"{fn}: cotangent is {type(cotangent).__name__}; expected a pair (d running_mean, d running_var)"
        )
    g_mean = _per_channel(fn, "cotangent[0]", cotangent[0], shape)
    g_var = _per_channel(fn, "cotangent[1]", cotangent[1], shape)
    dx = []
    for values, gm, gv in zip(channels, g_mean, g_var, strict=True):  # type: ignore[arg-type]
        n = len(values)
        mu = float(sum((Fraction(v) for v in values), Fraction(0)) / n) if all(map(math.isfinite, values)) else math.nan
        dx.append([m * gm / n + 2.0 * m * (v - mu) * gv / (n - 1) for v in values])
    return (unflatten(_batch_major([d for ch in dx for d in ch], shape), shape),)
