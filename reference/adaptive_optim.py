"""Adaptive optimisers: Adam and AdamW, as pure update steps.

Beyond the seed, section *gradient descent*. Each step is a pure function of
the parameters, the gradient, the optimiser's state and its hyper-parameters;
it returns the new parameters and the new state, and changes nothing in place:

* :func:`adam_step`: Adam with bias correction (Kingma and Ba 2015,
  Algorithm 1);
* :func:`adamw_step`: Adam with decoupled weight decay (Loshchilov and Hutter
  2019), the parameters shrunk by ``1 − lr·weight_decay`` beside the Adam step.

The state is the first moment ``m`` and the second moment ``v`` (tensors of the
parameters' shape, zero before the first step) and ``step``, the number
``t ≥ 1`` of the step being taken (1 for the first; PyTorch's ``state['step']``
and optax's ``count`` hold ``t − 1`` before the step). ``eps`` is the paper's ε:
added to the bias-corrected ``√v̂`` (Keras' ``epsilon`` is added to ``√v``
instead; the adapters translate). Each ``*_vjp`` differentiates the step with
respect to ``(param, grad, m, v)`` given the cotangents of ``(param, m, v)``,
what a hyper-gradient or a learned optimiser backpropagates through.

The arithmetic is float64, a few roundings per element (IEEE semantics: 0/0 is
NaN, x/0 is ±∞) and ``1 − βᵗ`` without cancellation (:func:`bias_correction`),
each output within 16 u of its terms, checked in the tests against 50-digit mpmath.
"""

from __future__ import annotations

import math

from ._tensor import Nested, finite_scalar, integer, same_shape, tensor, unflatten
from .optim import learning_rate

__all__ = ["adam_step", "adam_step_vjp", "adamw_step", "adamw_step_vjp"]

Hyper = tuple[float, float, float, float, float]  # lr, beta1, beta2, eps, weight_decay


def _divide(a: float, b: float) -> float:
    """``a / b`` with IEEE semantics (Python raises on a zero divisor)."""
    if b != 0.0:
        return a / b
    if math.isnan(a) or a == 0.0:
        return math.nan
    return math.copysign(math.inf, a) * math.copysign(1.0, b)


def _hyper(fn: str, lr: object, beta1: object, beta2: object, eps: object, weight_decay: object) -> Hyper:
    rate = learning_rate(fn, lr)
    betas = []
    for name, value in (("beta1", beta1), ("beta2", beta2)):
        b = finite_scalar(fn, name, value)
        if not 0.0 <= b < 1.0:
            raise ValueError(f"{fn}: {name}={b!r}; expected a decay rate in [0, 1)")
        betas.append(b)
    e = finite_scalar(fn, "eps", eps)
    if e < 0:
        raise ValueError(f"{fn}: eps={e!r}; expected a number >= 0 (added to the denominator)")
    wd = finite_scalar(fn, "weight_decay", weight_decay)
    if wd < 0:
        raise ValueError(f"{fn}: weight_decay={wd!r}; expected a number >= 0")
    return rate, betas[0], betas[1], e, wd


def _state(
    fn: str, param: Nested, grad: Nested, m: Nested, v: Nested, step: object
) -> tuple[tuple[int, ...], list[list[float]], int]:
    """Check the four tensors (one shape, ``v ≥ 0`` or NaN) and ``step ≥ 1``; return the shape, flats, t."""
    shape, p = tensor(fn, "param", param)
    flats = [p]
    for name, value in (("grad", grad), ("m", m), ("v", v)):
        s, flat = tensor(fn, name, value)
        same_shape(fn, name, s, "param", shape)
        flats.append(flat)
    negative = next((i for i, x in enumerate(flats[3]) if x < 0), None)
    if negative is not None:
        raise ValueError(
            f"{fn}: v has {flats[3][negative]!r} at flat index {negative}; "
            "expected a second moment >= 0 (a running mean of squares)"
        )
    t = integer(fn, "step", step, minimum=1)
    return shape, flats, t


def bias_correction(beta: float, t: int) -> float:
    """``1 − βᵗ``, the total weight of t steps of a running mean with decay β, to a few ulp.

    ``1 − β**t`` cancels for β near 1 (β₂ = 0.999 at t = 2: ``β**t`` is rounded to u, then
    divided by 0.002, 500 u); ``−expm1(t·log1p(β − 1))`` does not (β − 1 is exact for β ≥ 1/2).
    """
    return -math.expm1(t * math.log1p(beta - 1.0)) if beta > 0.0 else 1.0


def _adam(flats: list[list[float]], t: int, hyper: Hyper) -> tuple[list[float], list[float], list[float]]:
    lr, b1, b2, eps, wd = hyper
    c1, c2 = bias_correction(b1, t), bias_correction(b2, t)  # the weights of the moments' sums
    out_p, out_m, out_v = [], [], []
    for p, g, m, v in zip(*flats, strict=True):
        m1 = b1 * m + (1.0 - b1) * g
        v1 = b2 * v + (1.0 - b2) * (g * g)
        u = _divide(m1 / c1, math.sqrt(v1 / c2) + eps)
        out_p.append(p * (1.0 - lr * wd) - lr * u)  # decoupled decay (AdamW); the factor is 1 for Adam
        out_m.append(m1)
        out_v.append(v1)
    return out_p, out_m, out_v


def _adam_vjp(
    flats: list[list[float]], t: int, hyper: Hyper, cots: list[list[float]]
) -> tuple[list[float], list[float], list[float], list[float]]:
    lr, b1, b2, eps, wd = hyper
    c1, c2 = bias_correction(b1, t), bias_correction(b2, t)
    dp, dg, dm, dv = [], [], [], []
    for (_, g, m, v), (cp, cm, cv) in zip(zip(*flats, strict=True), zip(*cots, strict=True), strict=True):
        m1 = b1 * m + (1.0 - b1) * g
        v1 = b2 * v + (1.0 - b2) * (g * g)
        s = math.sqrt(v1 / c2)
        den = s + eps
        cu = -lr * cp  # the cotangent of u = m̂/(s + ε); 0 (lr = 0: the step is the identity) adds nothing
        m1_bar = cm + (_divide(cu, c1 * den) if cu else 0.0)
        # ∂u/∂v1 = −m̂/(s + ε)² · 1/(2·c2·s); 0 where m̂ = 0 (u is 0 for every v1 there)
        du_dv1 = 0.0 if m1 == 0.0 or not cu else -_divide(_divide(m1 / c1, den * den), 2.0 * c2 * s)
        v1_bar = cv + cu * du_dv1
        dp.append(cp * (1.0 - lr * wd))
        dg.append((1.0 - b1) * m1_bar + 2.0 * (1.0 - b2) * g * v1_bar)
        dm.append(b1 * m1_bar)
        dv.append(b2 * v1_bar)
    return dp, dg, dm, dv


def _cotangents(fn: str, shape: tuple[int, ...], cotangent: object) -> list[list[float]]:
    if not isinstance(cotangent, tuple | list) or len(cotangent) != 3:
        raise TypeError(f"{fn}: cotangent is {type(cotangent).__name__}; expected a tuple (of param, of m, of v)")
    out = []
    for name, value in zip(("cotangent[0]", "cotangent[1]", "cotangent[2]"), cotangent, strict=True):
        s, flat = tensor(fn, name, value)
        same_shape(fn, name, s, "param", shape)
        out.append(flat)
    return out


def adam_step(
    param: Nested,
    grad: Nested,
    m: Nested,
    v: Nested,
    step: int,
    lr: float = 1e-3,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
) -> tuple[Nested, Nested, Nested]:
    r"""One Adam step: moments of the gradient, bias-corrected, scale the update of each parameter.

    .. math:: \theta_t = \theta_{t-1} - \eta\,\hat m_t / (\sqrt{\hat v_t} + \epsilon)

    with the moments ``m_t = β₁·m_{t−1} + (1 − β₁)·g_t`` and
    ``v_t = β₂·v_{t−1} + (1 − β₂)·g_t²``, bias-corrected: ``m̂_t = m_t/(1 − β₁ᵗ)``,
    ``v̂_t = v_t/(1 − β₂ᵗ)``. ``param``, ``grad``, ``m`` and ``v`` have one shape (``v ≥ 0``; ``m`` and
    ``v`` are zero before the first step); ``step`` is ``t ≥ 1``, the number of
    this step. Returns ``(param, m, v)`` after the step. ``lr`` (η) ≥ 0,
    ``beta1`` and ``beta2`` in [0, 1), ``eps`` (ε, added to the bias-corrected
    root, as in the paper and PyTorch) ≥ 0; the defaults are the paper's. On the
    first step from zero moments the update is ``lr·g/(|g| + ε)``: about
    ``lr·sign(g)``. Citation: ``kingma2015adam``.

    >>> adam_step([1.0], [0.5], [0.0], [0.0], step=1, lr=0.1, eps=0.0)
    ([0.9], [0.04999999999999999], [0.0002500000000000002])
    """
    fn = "adam_step"
    hyper = _hyper(fn, lr, beta1, beta2, eps, 0.0)
    shape, flats, t = _state(fn, param, grad, m, v, step)
    return tuple(unflatten(x, shape) for x in _adam(flats, t, hyper))  # type: ignore[return-value]


def adam_step_vjp(
    param: Nested,
    grad: Nested,
    m: Nested,
    v: Nested,
    step: int,
    lr: float = 1e-3,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    *,
    cotangent: tuple[Nested, Nested, Nested],
) -> tuple[Nested, Nested, Nested, Nested]:
    r"""VJP of :func:`adam_step`: the gradients of ``(param, grad, m, v)`` from the cotangents of ``(param, m, v)``.

    With u = m̂/(√v̂ + ε), ū = −η·θ̄′, m̄′ = m̄ + ū/((1 − β₁ᵗ)(√v̂ + ε)) and
    v̄′ = v̄ − ū·m̂/((√v̂ + ε)²·2(1 − β₂ᵗ)√v̂): ``d_param = θ̄′``,
    ``d_grad = (1 − β₁)·m̄′ + 2(1 − β₂)·g·v̄′``, ``d_m = β₁·m̄′``, ``d_v = β₂·v̄′``
    (where m̂ = 0 the update is 0 for every v, and ∂u/∂v is taken as 0; where ū = 0, as at
    lr = 0, the update adds nothing, even where √v̂ = 0).
    Citation: ``kingma2015adam``.
    """
    fn = "adam_step_vjp"
    hyper = _hyper(fn, lr, beta1, beta2, eps, 0.0)
    shape, flats, t = _state(fn, param, grad, m, v, step)
    cots = _cotangents(fn, shape, cotangent)
    return tuple(unflatten(x, shape) for x in _adam_vjp(flats, t, hyper, cots))  # type: ignore[return-value]


def adamw_step(
    param: Nested,
    grad: Nested,
    m: Nested,
    v: Nested,
    step: int,
    lr: float = 1e-3,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 1e-2,
) -> tuple[Nested, Nested, Nested]:
    r"""One AdamW step: the Adam step of :func:`adam_step`, and the parameters decayed by ``lr·weight_decay``.

    .. math:: \theta_t = (1 - \eta\lambda)\,\theta_{t-1} - \eta\,\hat m_t / (\sqrt{\hat v_t} + \epsilon)

    The decay is decoupled from the gradient: it is not added to ``grad``, so
    it does not enter the moments (Adam's L2 penalty would be divided by
    √v̂). λ is ``weight_decay`` ≥ 0, multiplied by the learning rate as in
    PyTorch, optax and Keras (the paper's schedule multiplier η_t with
    α = ``lr``, λ = η_t·``weight_decay``). ``weight_decay=0`` is Adam. The
    default 1e-2 is PyTorch's. Citation: ``loshchilov2019decoupled``.

    >>> adamw_step([1.0], [0.0], [0.0], [0.0], step=1, lr=0.1, weight_decay=0.5)[0]
    [0.95]
    """
    fn = "adamw_step"
    hyper = _hyper(fn, lr, beta1, beta2, eps, weight_decay)
    shape, flats, t = _state(fn, param, grad, m, v, step)
    return tuple(unflatten(x, shape) for x in _adam(flats, t, hyper))  # type: ignore[return-value]


def adamw_step_vjp(
    param: Nested,
    grad: Nested,
    m: Nested,
    v: Nested,
    step: int,
    lr: float = 1e-3,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 1e-2,
    *,
    cotangent: tuple[Nested, Nested, Nested],
) -> tuple[Nested, Nested, Nested, Nested]:
    r"""VJP of :func:`adamw_step`: as :func:`adam_step_vjp`, with ``d_param = (1 − η·λ)·θ̄′``.

    Citation: ``loshchilov2019decoupled``.
    """
    fn = "adamw_step_vjp"
    hyper = _hyper(fn, lr, beta1, beta2, eps, weight_decay)
    shape, flats, t = _state(fn, param, grad, m, v, step)
    cots = _cotangents(fn, shape, cotangent)
    return tuple(unflatten(x, shape) for x in _adam_vjp(flats, t, hyper, cots))  # type: ignore[return-value]
