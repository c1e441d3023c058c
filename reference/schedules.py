"""Learning-rate schedules: step decay, cosine annealing and linear warm-up, as functions of the step count.

Beyond the seed, section *gradient descent*. A schedule gives the learning rate
of the step ``t`` (an int ≥ 0: the number of optimiser steps taken before it,
0 for the first step; PyTorch's scheduler after ``t`` calls of ``.step()``,
optax's ``count``, Keras' ``optimizer.iterations``). Each function takes the
base rate ``lr`` (η₀, a 0-d tensor: the rate a schedule scales) and ``step``,
a tensor of step counts of any shape, and returns the rate at each of them, so
one call evaluates the schedule at many steps.

The rate is a function of η₀ (and of η_min) that is differentiable, so each
``*_vjp`` returns the gradient with respect to ``lr`` (what a hyper-gradient
method differentiates), the sum over the steps of the cotangent times ∂rate/∂η₀.
The step count is an integer and has no gradient.

The arithmetic is float64: a power, a cosine or a quotient and a few roundings per rate.
"""

from __future__ import annotations

import math

from ._tensor import Nested, finite_scalar, integer, tensor, unflatten

__all__ = [
    "cosine_annealing_lr",
    "cosine_annealing_lr_vjp",
    "linear_warmup_lr",
    "linear_warmup_lr_vjp",
    "step_lr",
    "step_lr_vjp",
]


def _base_rate(fn: str, lr: object) -> float:
    """``lr`` as a 0-d tensor (a bare number) holding a finite rate ≥ 0."""
    shape, flat = tensor(fn, "lr", lr)
    if shape != ():
        raise ValueError(f"{fn}: lr has shape {shape}; expected a 0-d tensor (a bare number): the base learning rate")
    rate = flat[0]
    if not math.isfinite(rate) or rate < 0:
        raise ValueError(f"{fn}: lr={rate!r}; expected a finite learning rate >= 0")
    return rate


def _steps(fn: str, step: object) -> tuple[tuple[int, ...], list[int]]:
    """``step`` as a tensor of ints ≥ 0 (any shape, a bare int is 0-d): its shape and row-major ints."""
    shape: list[int] = []
    probe = step
    while isinstance(probe, list | tuple):
        shape.append(len(probe))
        if not probe:
            break
        probe = probe[0]
    flat: list[int] = []

    def walk(value: object, depth: int, where: str) -> None:
        if depth == len(shape):
            flat.append(integer(fn, f"step{where}", value, minimum=0))
            return
        if not isinstance(value, list | tuple) or len(value) != shape[depth]:
            raise ValueError(
                f"{fn}: step{where} is {value!r}; expected a nested list of length {shape[depth]} there "
                "(a rectangular tensor of step counts)"
            )
        for i, v in enumerate(value):
            walk(v, depth + 1, f"{where}[{i}]")

    walk(step, 0, "")
    return tuple(shape), flat


def _positive(fn: str, name: str, value: object) -> int:
    return integer(fn, name, value, minimum=1)


def _cotangent(fn: str, shape: tuple[int, ...], cotangent: object) -> list[float]:
    s, flat = tensor(fn, "cotangent", cotangent)
    if s != shape:
        raise ValueError(f"{fn}: cotangent has shape {s}; expected the shape of step, {shape}")
    return flat


# --- step decay ------------------------------------------------------------------------------------


def _step_factors(fn: str, step: object, step_size: object, gamma: object) -> tuple[tuple[int, ...], list[float]]:
    size = _positive(fn, "step_size", step_size)
    g = finite_scalar(fn, "gamma", gamma)
    if g < 0:
        raise ValueError(f"{fn}: gamma={g!r}; expected a decay factor >= 0")
    shape, ts = _steps(fn, step)
    return shape, [g ** (t // size) for t in ts]  # 0**0 = 1: no decay before the first multiple


def step_lr(lr: Nested, step: Nested, step_size: int, gamma: float = 0.1) -> Nested:
    r"""Step decay: the base rate multiplied by γ once every ``step_size`` steps.

    .. math:: \eta_t = \eta_0\,\gamma^{\lfloor t / s \rfloor}

    ``lr`` is η₀ (0-d, finite, ≥ 0), ``step`` a tensor of step counts t ≥ 0,
    ``step_size`` s ≥ 1 and ``gamma`` γ ≥ 0 (PyTorch's default 0.1). The rate is
    constant on each block of s steps and drops by the factor γ exactly at the
    multiples of s (PyTorch's ``StepLR``; optax's ``exponential_decay`` and Keras'
    ``ExponentialDecay`` with ``staircase=True``). Citation: ``zhang2023dive``.

    >>> step_lr(1.0, [0, 1, 2, 3, 4], step_size=2, gamma=0.5)
    [1.0, 1.0, 0.5, 0.5, 0.25]
    """
    fn = "step_lr"
    rate = _base_rate(fn, lr)
    shape, factors = _step_factors(fn, step, step_size, gamma)
    return unflatten([rate * f for f in factors], shape)


def step_lr_vjp(lr: Nested, step: Nested, cotangent: Nested, step_size: int, gamma: float = 0.1) -> Nested:
    r"""VJP of :func:`step_lr` with respect to ``lr``: Σₜ ḡₜ·γ^⌊t/s⌋ (the rate is linear in η₀).

    Citation: ``zhang2023dive``.
    """
    fn = "step_lr_vjp"
    _base_rate(fn, lr)
    shape, factors = _step_factors(fn, step, step_size, gamma)
    cot = _cotangent(fn, shape, cotangent)
    return math.fsum(c * f for c, f in zip(cot, factors, strict=True))


# --- cosine annealing ------------------------------------------------------------------------------


def _cosine_weights(fn: str, step: object, t_max: object) -> tuple[tuple[int, ...], list[float]]:
    """(1 + cos(π·min(t, T)/T))/2 for each step: 1 at t = 0, 0 from t = T on."""
    period = _positive(fn, "t_max", t_max)
    shape, ts = _steps(fn, step)
    return shape, [_half_cosine(min(t, period), period) for t in ts]


def _half_cosine(t: int, period: int) -> float:
    """(1 + cos(πt/T))/2 to a few ulp: itself for t ≤ T/2 (cos ≥ 0, no cancellation), and sin²(π(T − t)/(2T))
    beyond, where 1 + cos would cancel and cos²(πt/(2T)) would amplify the argument's rounding near π/2."""
    if 2 * t <= period:
        return 0.5 + 0.5 * math.cos(math.pi * t / period)
    return math.sin(math.pi * (period - t) / (2 * period)) ** 2


def _eta_min(fn: str, eta_min: object) -> float:
    low = finite_scalar(fn, "eta_min", eta_min)
    if low < 0:
        raise ValueError(f"{fn}: eta_min={low!r}; expected a final learning rate >= 0")
    return low


def cosine_annealing_lr(lr: Nested, step: Nested, t_max: int, eta_min: float = 0.0) -> Nested:
    r"""Cosine annealing: from η₀ down to η_min along half a cosine over T steps, then η_min.

    .. math:: \eta_t = \eta_{\min} + (\eta_0 - \eta_{\min})\,\tfrac{1}{2}\bigl(1 + \cos(\pi \min(t, T) / T)\bigr)

    ``lr`` is η₀ (0-d, finite, ≥ 0), ``step`` a tensor of step counts t ≥ 0,
    ``t_max`` T ≥ 1 and ``eta_min`` η_min ≥ 0 (an absolute rate, as
    PyTorch's; optax's and Keras' ``alpha`` is η_min/η₀; above η₀ the rate rises along
    the same half cosine). The rate starts at η₀, is non-increasing for η_min ≤ η₀,
    reaches η_min at t = T and stays there (optax's
    ``cosine_decay_schedule``, Keras' ``CosineDecay``; PyTorch's
    ``CosineAnnealingLR`` rises again after T, the adapter reads it at min(t, T)).
    One cycle of SGDR without restarts. Citation: ``loshchilov2017sgdr``.

    >>> cosine_annealing_lr(1.0, [0, 1, 2, 3, 4, 5], t_max=4)
    [1.0, 0.8535533905932737, 0.5, 0.14644660940672624, 0.0, 0.0]
    """
    fn = "cosine_annealing_lr"
    rate = _base_rate(fn, lr)
    low = _eta_min(fn, eta_min)
    shape, weights = _cosine_weights(fn, step, t_max)
    return unflatten([low + (rate - low) * w for w in weights], shape)


def cosine_annealing_lr_vjp(lr: Nested, step: Nested, cotangent: Nested, t_max: int, eta_min: float = 0.0) -> Nested:
    r"""VJP of :func:`cosine_annealing_lr` with respect to ``lr``: Σₜ ḡₜ·(1 + cos(π·min(t, T)/T))/2.

    Citation: ``loshchilov2017sgdr``.
    """
    fn = "cosine_annealing_lr_vjp"
    _base_rate(fn, lr)
    _eta_min(fn, eta_min)
    shape, weights = _cosine_weights(fn, step, t_max)
    cot = _cotangent(fn, shape, cotangent)
    return math.fsum(c * w for c, w in zip(cot, weights, strict=True))


# --- linear warm-up --------------------------------------------------------------------------------


def _warmup_factors(
    fn: str, step: object, warmup_steps: object, start_factor: object
) -> tuple[tuple[int, ...], list[float]]:
    """s + (1 − s)·min(t, W)/W for each step: s at t = 0, 1 from t = W on."""
    w = _positive(fn, "warmup_steps", warmup_steps)
    s = finite_scalar(fn, "start_factor", start_factor)
    if not 0.0 <= s <= 1.0:
        raise ValueError(f"{fn}: start_factor={s!r}; expected a fraction of lr in [0, 1]")
    shape, ts = _steps(fn, step)
    # s·(W − k)/W + k/W: two non-negative terms, so no cancellation (1 − s would round for small s).
    return shape, [(s * (w - min(t, w)) + min(t, w)) / w for t in ts]


def linear_warmup_lr(lr: Nested, step: Nested, warmup_steps: int, start_factor: float = 0.0) -> Nested:
    r"""Linear warm-up: from start_factor·η₀ up to η₀ in a straight line over W steps, then η₀.

    .. math:: \eta_t = \eta_0\,\bigl(s + (1 - s)\,\min(t, W) / W\bigr)

    ``lr`` is η₀ (0-d, finite, ≥ 0), ``step`` a tensor of step counts t ≥ 0,
    ``warmup_steps`` W ≥ 1 and ``start_factor`` s in [0, 1] (default 0: from a
    rate of zero, optax's and Keras' usual start; PyTorch's ``LinearLR`` defaults to
    1/3 and refuses 0). The gradual warm-up of Goyal et al. (2017, §2.2), which
    ramps the rate up over the first steps of large-batch training (PyTorch's
    ``LinearLR``, optax's ``linear_schedule``, Keras' ``PolynomialDecay`` with
    ``power=1`` from s·η₀ to η₀). Citation: ``goyal2017accurate``.

    >>> linear_warmup_lr(1.0, [0, 1, 2, 3, 4, 5], warmup_steps=4)
    [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    """
    fn = "linear_warmup_lr"
    rate = _base_rate(fn, lr)
    shape, factors = _warmup_factors(fn, step, warmup_steps, start_factor)
    return unflatten([rate * f for f in factors], shape)


def linear_warmup_lr_vjp(
    lr: Nested, step: Nested, cotangent: Nested, warmup_steps: int, start_factor: float = 0.0
) -> Nested:
    r"""VJP of :func:`linear_warmup_lr` with respect to ``lr``: Σₜ ḡₜ·(s + (1 − s)·min(t, W)/W).

    Citation: ``goyal2017accurate``.
    """
    fn = "linear_warmup_lr_vjp"
    _base_rate(fn, lr)
    shape, factors = _warmup_factors(fn, step, warmup_steps, start_factor)
    cot = _cotangent(fn, shape, cotangent)
    return math.fsum(c * f for c, f in zip(cot, factors, strict=True))
