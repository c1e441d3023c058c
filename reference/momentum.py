"""SGD with momentum, dampening, Nesterov's variant and L2 weight decay, as a pure update step.

Beyond the seed, section *gradient descent*. :func:`sgd_momentum_step` is one
step of ``torch.optim.SGD`` written as a pure function of the parameters, the
gradient, the momentum buffer and the hyper-parameters; it returns the new
parameters and the new buffer, and changes nothing in place:

* the weight decay is **L2, coupled**: ``weight_decay·param`` is added to the
  gradient, so it goes through the momentum (Krogh and Hertz 1992); the
  decoupled decay of AdamW (:func:`~dlterms.reference.adamw_step`) shrinks the
  parameters beside the step instead;
* the buffer (velocity) is ``b ← μ·b + (1 − τ)·g̃`` with the learning rate
  outside it (Polyak 1964's heavy ball, as PyTorch and optax write it; Keras
  keeps ``−lr·b`` instead, the convention ``sgd.momentum_formulation``);
* Nesterov's variant (Sutskever et al. 2013, as PyTorch writes it) steps along
  ``g̃ + μ·b′``, the gradient plus the *new* buffer's look-ahead.

PyTorch keeps no buffer before the first step (``state['momentum_buffer'] is
None``) and starts it at ``b = g̃``, without dampening. The pure step says so
with ``first_step=True``: the given buffer is then ignored (its shape is still
checked). From a zero buffer without dampening the two agree. With
``momentum=0`` the step is PyTorch's plain one: ``param − lr·g̃``, dampening and
Nesterov have no effect and the buffer is returned unchanged (PyTorch keeps none).

:func:`sgd_momentum_step_vjp` differentiates the step with respect to
``(param, grad, momentum_buffer)`` given the cotangents of ``(param,
momentum_buffer)``; the step is linear in them. The arithmetic is float64, in
PyTorch's order of operations, a few roundings per element.
"""

from __future__ import annotations

from ._tensor import Nested, finite_scalar, same_shape, tensor, unflatten
from .optim import learning_rate

__all__ = ["sgd_momentum_step", "sgd_momentum_step_vjp"]

Hyper = tuple[float, float, float, bool, float, bool]  # lr, momentum, dampening, nesterov, weight_decay, first_step


def _flag(fn: str, name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{fn}: {name} is {type(value).__name__} {value!r}; expected True or False")
    return value


def _hyper(
    fn: str, lr: object, momentum: object, dampening: object, nesterov: object, weight_decay: object, first: object
) -> Hyper:
    rate = learning_rate(fn, lr)
    mu = finite_scalar(fn, "momentum", momentum)
    if mu < 0:
        raise ValueError(f"{fn}: momentum={mu!r}; expected a number >= 0 (the buffer's decay)")
    tau = finite_scalar(fn, "dampening", dampening)
    if not 0.0 <= tau <= 1.0:
        raise ValueError(f"{fn}: dampening={tau!r}; expected a number in [0, 1] (the gradient's weight is 1 − τ)")
    wd = finite_scalar(fn, "weight_decay", weight_decay)
    if wd < 0:
        raise ValueError(f"{fn}: weight_decay={wd!r}; expected a number >= 0")
    look_ahead = _flag(fn, "nesterov", nesterov)
    if look_ahead and tau != 0.0:
        raise ValueError(
            f"{fn}: nesterov=True with dampening={tau!r}; expected dampening=0 (Nesterov's step has no dampening, "
            "as torch.optim.SGD requires)"
        )
    return rate, mu, tau, look_ahead, wd, _flag(fn, "first_step", first)


def _tensors(fn: str, named: tuple[tuple[str, object], ...]) -> tuple[tuple[int, ...], list[list[float]]]:
    """Check that the tensors have the first one's shape; return it and their flat values."""
    shape, first = tensor(fn, named[0][0], named[0][1])
    flats = [first]
    for name, value in named[1:]:
        s, flat = tensor(fn, name, value)
        same_shape(fn, name, s, named[0][0], shape)
        flats.append(flat)
    return shape, flats


def _step(flats: list[list[float]], hyper: Hyper) -> tuple[list[float], list[float]]:
    lr, mu, tau, nesterov, wd, first = hyper
    out_p, out_b = [], []
    for p, g, b in zip(*flats, strict=True):
        g = g + wd * p if wd else g  # L2: the decay's gradient joins the gradient (PyTorch: grad.add(param, wd))
        if mu == 0.0:
            out_p.append(p - lr * g)  # no momentum: PyTorch's plain step, no buffer
            out_b.append(b)
            continue
        b = g if first else mu * b + (1.0 - tau) * g
        out_p.append(p - lr * (g + mu * b if nesterov else b))
        out_b.append(b)
    return out_p, out_b


def _step_vjp(cots: list[list[float]], hyper: Hyper) -> tuple[list[float], ...]:
    lr, mu, tau, nesterov, wd, first = hyper
    dp, dg, db = [], [], []
    for cp, cb in zip(*cots, strict=True):
        if mu == 0.0:
            g_bar, b_bar = -lr * cp, cb  # θ′ = θ − lr·g̃, b′ = b
            dp.append(cp + wd * g_bar)
            dg.append(g_bar)
            db.append(b_bar)
            continue
        u_bar = -lr * cp  # the cotangent of the update u (θ′ = θ − lr·u)
        b1_bar = cb + (mu * u_bar if nesterov else u_bar)  # of b′: its own, and through u
        g_bar = (u_bar if nesterov else 0.0) + (1.0 if first else 1.0 - tau) * b1_bar  # of g̃
        dp.append(cp + wd * g_bar)
        dg.append(g_bar)
        db.append(0.0 if first else mu * b1_bar)
    return dp, dg, db


def sgd_momentum_step(
    param: Nested,
    grad: Nested,
    momentum_buffer: Nested,
    lr: float,
    momentum: float,
    dampening: float = 0.0,
    nesterov: bool = False,
    weight_decay: float = 0.0,
    first_step: bool = False,
) -> tuple[Nested, Nested]:
    r"""One step of SGD with momentum (PyTorch's): the buffer accumulates the gradient, the step follows it.

    .. math:: b_t = \mu\,b_{t-1} + (1 - \tau)\,\tilde g_t,\quad \theta_t = \theta_{t-1} - \eta\,b_t

    with the L2-decayed gradient ``g̃ = grad + weight_decay·param``; Nesterov's step
    (``nesterov=True``) is ``θ_t = θ_{t−1} − η·(g̃_t + μ·b_t)``. ``param``,
    ``grad`` and ``momentum_buffer`` (b) have one shape. Returns ``(param,
    momentum_buffer)`` after the step. ``lr`` (η) ≥ 0, ``momentum`` (μ) ≥ 0,
    ``dampening`` (τ) in [0, 1] (0 with ``nesterov``), ``weight_decay`` ≥ 0.
    ``first_step=True`` is PyTorch's first step, where no buffer exists yet:
    ``b = g̃`` (no dampening; the given buffer is ignored). ``momentum=0`` is
    plain SGD, ``param − lr·g̃``, with the buffer returned unchanged. Citation:
    ``polyak1964some``; ``sutskever2013importance`` (Nesterov);
    ``krogh1992simple`` (weight decay).

    >>> sgd_momentum_step([1.0], [0.5], [2.0], lr=0.5, momentum=0.5)
    ([0.25], [1.5])
    >>> sgd_momentum_step([1.0], [0.5], [2.0], lr=0.5, momentum=0.5, nesterov=True)
    ([0.375], [1.5])
    """
    fn = "sgd_momentum_step"
    hyper = _hyper(fn, lr, momentum, dampening, nesterov, weight_decay, first_step)
    shape, flats = _tensors(fn, (("param", param), ("grad", grad), ("momentum_buffer", momentum_buffer)))
    return tuple(unflatten(x, shape) for x in _step(flats, hyper))  # type: ignore[return-value]


def sgd_momentum_step_vjp(
    param: Nested,
    grad: Nested,
    momentum_buffer: Nested,
    lr: float,
    momentum: float,
    dampening: float = 0.0,
    nesterov: bool = False,
    weight_decay: float = 0.0,
    first_step: bool = False,
    *,
    cotangent: tuple[Nested, Nested],
) -> tuple[Nested, Nested, Nested]:
    r"""VJP of :func:`sgd_momentum_step`: the gradients of ``(param, grad, momentum_buffer)``.

    From the cotangents ``(θ̄′, b̄′)`` of ``(param, momentum_buffer)``: ū = −η·θ̄′,
    b̄ = b̄′ + ū (Nesterov: b̄′ + μ·ū), ḡ = k·b̄ (Nesterov: ū + k·b̄) with k = 1 − τ (1 at the
    first step); ``d_grad = ḡ``, ``d_param = θ̄′ + weight_decay·ḡ``, ``d_momentum_buffer = μ·b̄``
    (0 at the first step, where the buffer is not read). With ``momentum=0``: ``(θ̄′·(1 − η·λ), −η·θ̄′, b̄′)``.
    Citation: ``polyak1964some``.
    """
    fn = "sgd_momentum_step_vjp"
    hyper = _hyper(fn, lr, momentum, dampening, nesterov, weight_decay, first_step)
    shape, _ = _tensors(fn, (("param", param), ("grad", grad), ("momentum_buffer", momentum_buffer)))
    if not isinstance(cotangent, tuple | list) or len(cotangent) != 2:
        raise TypeError(
            f"{fn}: cotangent is {type(cotangent).__name__}; expected a tuple (of param, of momentum_buffer)"
        )
    cots = []
    for name, value in (("cotangent[0]", cotangent[0]), ("cotangent[1]", cotangent[1])):
        s, flat = tensor(fn, name, value)
        same_shape(fn, name, s, "param", shape)
        cots.append(flat)
    return tuple(unflatten(x, shape) for x in _step_vjp(cots, hyper))  # type: ignore[return-value]
