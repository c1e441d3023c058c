"""Per-parameter learning rates from the squared gradients: RMSprop and Adagrad, as pure update steps.

Beyond the seed, section *gradient descent*. Each step is a pure function of
the parameters, the gradient, the optimiser's state and its hyper-parameters;
it returns the new parameters and the new state, and changes nothing in place:

* :func:`rmsprop_step`: RMSprop (Tieleman and Hinton 2012, lecture 6.5), a
  running mean of squared gradients ``square_avg`` divides the step;
* :func:`adagrad_step`: Adagrad (Duchi, Hazan and Singer 2011), the sum of all
  squared gradients ``state_sum`` divides it, with PyTorch's learning-rate decay.

``eps`` (ε) is added to the root, ``g/(√v + ε)`` (PyTorch's only form), or under
it with ``eps_in_sqrt=True``, ``g/√(v + ε)`` (optax's default and Keras' only
form); the two agree at ε = 0. The state before the first step is the caller's:
PyTorch starts both at 0, optax and Keras start Adagrad's sum at 0.1 (the
conventions ``adagrad.initial_accumulator``). Each ``*_vjp`` differentiates the
step with respect to ``(param, grad, state)`` given the cotangents of
``(param, state)``.

The arithmetic is float64, a few roundings per element, with IEEE semantics
where the denominator is 0 (0/0 is NaN, g/0 is ±∞).
"""

from __future__ import annotations

import math

from ._tensor import Nested, finite_scalar, integer, same_shape, tensor, unflatten
from .optim import learning_rate

__all__ = ["adagrad_step", "adagrad_step_vjp", "rmsprop_step", "rmsprop_step_vjp"]

Flats = list[list[float]]


def _ratio(g: float, den: float) -> float:
    """``g / den`` with IEEE semantics (Python raises on a zero divisor; ``den ≥ 0`` here)."""
    if den != 0.0:
        return g / den
    return math.nan if g == 0.0 or math.isnan(g) else math.copysign(math.inf, g)


def _eps(fn: str, eps: object, eps_in_sqrt: object) -> tuple[float, bool]:
    e = finite_scalar(fn, "eps", eps)
    if e < 0:
        raise ValueError(f"{fn}: eps={e!r}; expected a number >= 0 (added to the denominator)")
    if not isinstance(eps_in_sqrt, bool):
        raise TypeError(f"{fn}: eps_in_sqrt is {type(eps_in_sqrt).__name__} {eps_in_sqrt!r}; expected True or False")
    return e, eps_in_sqrt


def _state(fn: str, name: str, param: Nested, grad: Nested, state: Nested) -> tuple[tuple[int, ...], Flats]:
    """Check the three tensors (one shape, the state ``≥ 0`` or NaN); return the shape and the flats."""
    shape, p = tensor(fn, "param", param)
    flats = [p]
    for arg, value in (("grad", grad), (name, state)):
        s, flat = tensor(fn, arg, value)
        same_shape(fn, arg, s, "param", shape)
        flats.append(flat)
    negative = next((i for i, x in enumerate(flats[2]) if x < 0), None)
    if negative is not None:
        raise ValueError(
            f"{fn}: {name} has {flats[2][negative]!r} at flat index {negative}; expected a sum or mean of squares >= 0"
        )
    return shape, flats


def _cotangents(fn: str, name: str, shape: tuple[int, ...], cotangent: object) -> Flats:
    if not isinstance(cotangent, tuple | list) or len(cotangent) != 2:
        raise TypeError(f"{fn}: cotangent is {type(cotangent).__name__}; expected a tuple (of param, of {name})")
    out = []
    for arg, value in zip(("cotangent[0]", "cotangent[1]"), cotangent, strict=True):
        s, flat = tensor(fn, arg, value)
        same_shape(fn, arg, s, "param", shape)
        out.append(flat)
    return out


def _scaled_step(
    flats: Flats, lr: float, keep: float, add: float, eps: float, in_sqrt: bool
) -> tuple[list[float], list[float]]:
    # The shared step: v′ = keep·v + add·g², θ′ = θ − lr·g/(√v′ + ε) (or /√(v′ + ε)).
    out_p, out_v = [], []
    for p, g, v in zip(*flats, strict=True):
        v1 = keep * v + add * (g * g)
        den = math.sqrt(v1 + eps) if in_sqrt else math.sqrt(v1) + eps
        out_p.append(p - lr * _ratio(g, den))
        out_v.append(v1)
    return out_p, out_v


def _scaled_step_vjp(
    flats: Flats, lr: float, keep: float, add: float, eps: float, in_sqrt: bool, cots: Flats
) -> tuple[list[float], list[float], list[float]]:
    dp, dg, dv = [], [], []
    for (_, g, v), (cp, cv) in zip(zip(*flats, strict=True), zip(*cots, strict=True), strict=True):
        v1 = keep * v + add * (g * g)
        root = math.sqrt(v1 + eps) if in_sqrt else math.sqrt(v1)
        den = root if in_sqrt else root + eps
        cu = -lr * cp  # the cotangent of u = g/den; 0 (lr = 0: the step is the identity) adds nothing
        # ∂u/∂v′ = −g/den² · 1/(2·root); 0 where g = 0 (u is 0 for every v′ there)
        du_dv1 = 0.0 if g == 0.0 or not cu else -_ratio(_ratio(g, den * den), 2.0 * root)
        v1_bar = cv + cu * du_dv1
        dp.append(cp)
        dg.append((_ratio(cu, den) if cu else 0.0) + 2.0 * add * g * v1_bar)
        dv.append(keep * v1_bar)
    return dp, dg, dv


# --- RMSprop ----------------------------------------------------------------------------------


def _rmsprop_hyper(fn: str, lr: object, alpha: object, eps: object, eps_in_sqrt: object) -> tuple[float, ...]:
    rate = learning_rate(fn, lr)
    a = finite_scalar(fn, "alpha", alpha)
    if not 0.0 <= a < 1.0:
        raise ValueError(f"{fn}: alpha={a!r}; expected a decay rate in [0, 1)")
    e, in_sqrt = _eps(fn, eps, eps_in_sqrt)
    return rate, a, 1.0 - a, e, in_sqrt


def rmsprop_step(
    param: Nested,
    grad: Nested,
    square_avg: Nested,
    lr: float = 1e-2,
    alpha: float = 0.99,
    eps: float = 1e-8,
    eps_in_sqrt: bool = False,
) -> tuple[Nested, Nested]:
    r"""One RMSprop step: a running mean of squared gradients scales each parameter's step.

    .. math:: \theta_t = \theta_{t-1} - \eta\,g_t / (\sqrt{v_t} + \epsilon)

    with the mean square :math:`v_t = \alpha v_{t-1} + (1 - \alpha)\,g_t^2`. ``param``, ``grad`` and
    ``square_avg`` (v, ≥ 0; zero before the first step in PyTorch, optax and Keras) have one shape.
    Returns ``(param, square_avg)`` after the step. ``lr`` (η) ≥ 0, ``alpha`` (α, PyTorch's name;
    optax's ``decay``, Keras' ``rho``) in [0, 1), ``eps`` (ε) ≥ 0, added to the root (PyTorch) or,
    with ``eps_in_sqrt=True``, under it: θ − η·g/√(v + ε) (optax's default, Keras'). The defaults
    are PyTorch's. From v = 0 with ε = 0 the first step is
    ``lr·sign(g)/√(1 − α)``. Citation: ``tieleman2012rmsprop``.

    >>> rmsprop_step([1.0], [2.0], [0.0], lr=0.5, alpha=0.75, eps=0.0)
    ([0.0], [1.0])
    """
    fn = "rmsprop_step"
    lr_, keep, add, e, in_sqrt = _rmsprop_hyper(fn, lr, alpha, eps, eps_in_sqrt)
    shape, flats = _state(fn, "square_avg", param, grad, square_avg)
    out = _scaled_step(flats, lr_, keep, add, e, bool(in_sqrt))
    return tuple(unflatten(x, shape) for x in out)  # type: ignore[return-value]


def rmsprop_step_vjp(
    param: Nested,
    grad: Nested,
    square_avg: Nested,
    lr: float = 1e-2,
    alpha: float = 0.99,
    eps: float = 1e-8,
    eps_in_sqrt: bool = False,
    *,
    cotangent: tuple[Nested, Nested],
) -> tuple[Nested, Nested, Nested]:
    r"""VJP of :func:`rmsprop_step`: the gradients of ``(param, grad, square_avg)`` given ``(param, square_avg)``'s.

    With d = √v′ + ε (or √(v′ + ε)), ū = −η·θ̄′ and v̄′ = v̄ − ū·g/(d²·2r), r the root (√v′ or d):
    ``d_param = θ̄′``, ``d_grad = ū/d + 2(1 − α)·g·v̄′``, ``d_square_avg = α·v̄′`` (where g = 0 the
    update is 0 for every v′, and ∂u/∂v′ is taken as 0). Citation: ``tieleman2012rmsprop``.
    """
    fn = "rmsprop_step_vjp"
    lr_, keep, add, e, in_sqrt = _rmsprop_hyper(fn, lr, alpha, eps, eps_in_sqrt)
    shape, flats = _state(fn, "square_avg", param, grad, square_avg)
    cots = _cotangents(fn, "square_avg", shape, cotangent)
    out = _scaled_step_vjp(flats, lr_, keep, add, e, bool(in_sqrt), cots)
    return tuple(unflatten(x, shape) for x in out)  # type: ignore[return-value]


# --- Adagrad ----------------------------------------------------------------------------------


def adagrad_rate(lr: float, lr_decay: float, step: int) -> float:
    """PyTorch's decayed learning rate of Adagrad at step t: ``lr/(1 + (t − 1)·lr_decay)``."""
    return lr / (1.0 + (step - 1) * lr_decay)


def _adagrad_hyper(
    fn: str, step: object, lr: object, lr_decay: object, eps: object, eps_in_sqrt: object
) -> tuple[float, float, bool]:
    rate = learning_rate(fn, lr)
    decay = finite_scalar(fn, "lr_decay", lr_decay)
    if decay < 0:
        raise ValueError(f"{fn}: lr_decay={decay!r}; expected a number >= 0 (the rate lr/(1 + (t − 1)·lr_decay))")
    t = integer(fn, "step", step, minimum=1)
    e, in_sqrt = _eps(fn, eps, eps_in_sqrt)
    return adagrad_rate(rate, decay, t), e, in_sqrt


def adagrad_step(
    param: Nested,
    grad: Nested,
    state_sum: Nested,
    step: int,
    lr: float = 1e-2,
    lr_decay: float = 0.0,
    eps: float = 1e-10,
    eps_in_sqrt: bool = False,
) -> tuple[Nested, Nested]:
    r"""One Adagrad step: the sum of all squared gradients so far scales each parameter's step.

    .. math:: \theta_t = \theta_{t-1} - \eta_t\,g_t / (\sqrt{s_t} + \epsilon), \quad s_t = s_{t-1} + g_t^2

    with the rate :math:`\eta_t = \eta / (1 + (t - 1)\,\delta)`. ``param``, ``grad`` and ``state_sum``
    (s, ≥ 0; PyTorch starts it at 0, optax and Keras at 0.1) have one shape; ``step`` is t ≥ 1, the
    number of this step (PyTorch's ``state['step']`` holds t − 1 before it). Returns
    ``(param, state_sum)`` after the step. ``lr`` (η) ≥ 0, ``lr_decay`` (δ, PyTorch's; optax and
    Keras have none) ≥ 0, ``eps`` (ε) ≥ 0, added to the root (PyTorch) or, with
    ``eps_in_sqrt=True``, under it (optax, Keras). The defaults are PyTorch's. From s = 0 with
    ε = 0 the first step moves each parameter by ``lr·sign(g)``; the effective rate
    η_t/(√s + ε) never increases. Citation: ``duchi2011adaptive``.

    >>> adagrad_step([1.0], [3.0], [16.0], step=1, lr=0.5, eps=0.0)
    ([0.7], [25.0])
    """
    fn = "adagrad_step"
    clr, e, in_sqrt = _adagrad_hyper(fn, step, lr, lr_decay, eps, eps_in_sqrt)
    shape, flats = _state(fn, "state_sum", param, grad, state_sum)
    out = _scaled_step(flats, clr, 1.0, 1.0, e, in_sqrt)
    return tuple(unflatten(x, shape) for x in out)  # type: ignore[return-value]


def adagrad_step_vjp(
    param: Nested,
    grad: Nested,
    state_sum: Nested,
    step: int,
    lr: float = 1e-2,
    lr_decay: float = 0.0,
    eps: float = 1e-10,
    eps_in_sqrt: bool = False,
    *,
    cotangent: tuple[Nested, Nested],
) -> tuple[Nested, Nested, Nested]:
    r"""VJP of :func:`adagrad_step`: the gradients of ``(param, grad, state_sum)`` from those of ``(param, state_sum)``.

    As :func:`rmsprop_step_vjp` with α = 1 kept and 1 added (s′ = s + g²) and η_t = η/(1 + (t − 1)δ):
    ``d_param = θ̄′``, ``d_grad = ū/d + 2g·s̄′``, ``d_state_sum = s̄′``. Citation: ``duchi2011adaptive``.
    """
    fn = "adagrad_step_vjp"
    clr, e, in_sqrt = _adagrad_hyper(fn, step, lr, lr_decay, eps, eps_in_sqrt)
    shape, flats = _state(fn, "state_sum", param, grad, state_sum)
    cots = _cotangents(fn, "state_sum", shape, cotangent)
    out = _scaled_step_vjp(flats, clr, 1.0, 1.0, e, in_sqrt, cots)
    return tuple(unflatten(x, shape) for x in out)  # type: ignore[return-value]
