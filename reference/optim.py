"""Gradient descent: the update step and the batch / stochastic / mini-batch drivers.

Seed section: *gradient descent and the importance of the learning rate*.
:func:`sgd_step` is the update rule ``param − lr·grad`` (Cauchy's method of
steepest descent). The drivers repeat it over a dataset:

* :func:`batch_gradient_descent`: one step per epoch, on the whole dataset;
* :func:`stochastic_gradient_descent`: one step per example;
* :func:`minibatch_gradient_descent`: one step per mini-batch of ``batch_size``
  examples;

all three are :func:`gradient_descent` with a different ``batch_size``. The
parameters are one tensor (a nested list; put several parameters in one
vector, e.g. ``[w, b]``). ``grad_fn(params, batch)`` returns the gradient of
the cost on ``batch`` (a list of examples), with the shape of ``params``; make
it the *mean* over the batch, so that one learning rate means the same thing
for every batch size. The drivers return the **trajectory**: the initial
parameters followed by the parameters after every step, for plots and checks.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

from ._tensor import Nested, finite_scalar, integer, on_behalf_of, same_shape, tensor, unflatten

__all__ = [
    "batch_gradient_descent",
    "gradient_descent",
    "minibatch_gradient_descent",
    "sgd_step",
    "sgd_step_vjp",
    "stochastic_gradient_descent",
]

GradFn = Callable[[Nested, list[Any]], Nested]


def learning_rate(fn: str, lr: object) -> float:
    """Check that ``lr`` is a finite number >= 0 (a learning rate); return it as a float."""
    rate = finite_scalar(fn, "lr", lr)
    if rate < 0:
        raise ValueError(f"{fn}: lr={rate!r}; expected a learning rate >= 0 (a negative one climbs the cost)")
    return rate


def sgd_step(param: Nested, grad: Nested, lr: float) -> Nested:
    r"""One gradient-descent update: move ``param`` a step of size ``lr`` against ``grad``.

    .. math:: \theta \leftarrow \theta - \eta \, \nabla_\theta J(\theta)

    ``param`` and ``grad`` have the same shape (any rank); ``lr`` (η, the
    learning rate) is a finite number ≥ 0. This is the plain step of
    ``torch.optim.SGD`` (no momentum, no weight decay). Accuracy: within
    1.5 ulp of the larger of ``|param|`` and ``|lr·grad|``. Citation:
    ``cauchy1847methode``; ``robbins1951stochastic`` (with stochastic
    gradients).

    >>> sgd_step([1.0, -2.0], [0.5, -4.0], 0.25)
    [0.875, -1.0]
    """
    fn = "sgd_step"
    shape, p = tensor(fn, "param", param)
    g_shape, g = tensor(fn, "grad", grad)
    same_shape(fn, "grad", g_shape, "param", shape)
    rate = learning_rate(fn, lr)
    return unflatten([pi - rate * gi for pi, gi in zip(p, g, strict=True)], shape)


def sgd_step_vjp(param: Nested, grad: Nested, lr: float, cotangent: Nested) -> tuple[Nested, Nested]:
    r"""VJP of :func:`sgd_step`: ``(d_param, d_grad) = (g, −lr·g)`` (the step is linear)."""
    fn = "sgd_step_vjp"
    shape, _ = tensor(fn, "param", param)
    g_shape, _ = tensor(fn, "grad", grad)
    same_shape(fn, "grad", g_shape, "param", shape)
    rate = learning_rate(fn, lr)
    c_shape, c = tensor(fn, "cotangent", cotangent)
    same_shape(fn, "cotangent", c_shape, "param", shape)
    return unflatten(list(c), shape), unflatten([-rate * ci for ci in c], shape)


def gradient_descent(
    grad_fn: GradFn,
    params: Nested,
    data: Sequence[Any],
    lr: float,
    epochs: int,
    batch_size: int | None = None,
    shuffle: bool = False,
    seed: int = 0,
) -> list[Nested]:
    r"""Run gradient descent over ``data`` for ``epochs`` epochs; return the trajectory.

    Each epoch visits every example exactly once: the indices ``0..N−1``
    (shuffled with ``random.Random(seed)`` when ``shuffle``, a new order every
    epoch) are cut into consecutive batches of ``batch_size`` examples, the
    last one smaller when ``batch_size`` does not divide N (it is kept, as
    ``torch.utils.data.DataLoader`` does with ``drop_last=False``). For each
    batch, in order:

    .. math:: \theta_{t+1} = \theta_t - \eta\, \mathrm{grad\_fn}(\theta_t, \text{batch}_t)

    ``batch_size=None`` (or ≥ N) is batch gradient descent, ``1`` is
    stochastic gradient descent. Returns ``[θ_0, θ_1, ...]``: the initial
    parameters and then those after every step (``1 + epochs·⌈N/batch_size⌉``
    tensors). Citation: ``cauchy1847methode``, ``robbins1951stochastic``,
    ``bottou2010large``.

    >>> grad = lambda w, batch: [sum(w[0] - y for y in batch) / len(batch)]  # cost: mean of (w − y)²/2
    >>> gradient_descent(grad, [0.0], [1.0, 3.0], lr=0.5, epochs=2)
    [[0.0], [1.0], [1.5]]
    """
    fn = "gradient_descent"
    if not callable(grad_fn):
        raise TypeError(f"{fn}: grad_fn is {type(grad_fn).__name__}; expected a function grad_fn(params, batch)")
    shape, flat = tensor(fn, "params", params)
    if isinstance(data, str | bytes) or not isinstance(data, Sequence):
        raise TypeError(f"{fn}: data is {type(data).__name__}; expected a list of examples")
    if not data:
        raise ValueError(f"{fn}: data is empty; expected at least one example")
    rate = learning_rate(fn, lr)
    epochs = integer(fn, "epochs", epochs, minimum=0)
    n = len(data)
    size = n if batch_size is None else integer(fn, "batch_size", batch_size, minimum=1)
    if not isinstance(shuffle, bool):
        raise TypeError(f"{fn}: shuffle is {type(shuffle).__name__} {shuffle!r}; expected True or False")
    rng = random.Random(integer(fn, "seed", seed))

    trajectory = [unflatten(flat, shape)]  # a copy, as floats
    for _ in range(epochs):
        order = list(range(n))
        if shuffle:
            rng.shuffle(order)
        for start in range(0, n, size):
            batch = [data[i] for i in order[start : start + size]]
            grad = grad_fn(trajectory[-1], batch)
            g_shape, _ = tensor(fn, "grad_fn(params, batch)", grad)
            same_shape(fn, "grad_fn(params, batch)", g_shape, "params", shape)
            trajectory.append(sgd_step(trajectory[-1], grad, rate))
    return trajectory


def batch_gradient_descent(
    grad_fn: GradFn, params: Nested, data: Sequence[Any], lr: float, epochs: int
) -> list[Nested]:
    """Batch gradient descent: one step per epoch on the gradient over the whole dataset.

    :func:`gradient_descent` with ``batch_size = len(data)``; the order of the
    examples does not matter, so there is no shuffle.

    >>> batch_gradient_descent(lambda w, b: [w[0] - sum(b) / len(b)], [0.0], [1.0, 3.0], lr=1.0, epochs=1)
    [[0.0], [2.0]]
    """
    with on_behalf_of("batch_gradient_descent"):  # a refusal names the function the user called
        return gradient_descent(grad_fn, params, data, lr, epochs, batch_size=None)


def stochastic_gradient_descent(
    grad_fn: GradFn,
    params: Nested,
    data: Sequence[Any],
    lr: float,
    epochs: int,
    shuffle: bool = True,
    seed: int = 0,
) -> list[Nested]:
    """Stochastic gradient descent: one step per example, in a new random order every epoch.

    :func:`gradient_descent` with ``batch_size=1`` (each ``batch`` given to
    ``grad_fn`` is a list of one example). Citation: ``robbins1951stochastic``,
    ``bottou2010large``.

    >>> stochastic_gradient_descent(lambda w, b: [w[0] - b[0]], [0.0], [1.0, 3.0], lr=0.5, epochs=1, shuffle=False)
    [[0.0], [0.5], [1.75]]
    """
    with on_behalf_of("stochastic_gradient_descent"):
        return gradient_descent(grad_fn, params, data, lr, epochs, batch_size=1, shuffle=shuffle, seed=seed)


def minibatch_gradient_descent(
    grad_fn: GradFn,
    params: Nested,
    data: Sequence[Any],
    lr: float,
    epochs: int,
    batch_size: int,
    shuffle: bool = True,
    seed: int = 0,
) -> list[Nested]:
    """Mini-batch (stochastic) gradient descent: one step per batch of ``batch_size`` examples.

    :func:`gradient_descent` with an explicit ``batch_size``; the last batch
    of an epoch is smaller when ``batch_size`` does not divide the dataset.
    Citation: ``bottou2010large``; ``goodfellow2016deep`` (§8.1.3).

    >>> grad = lambda w, b: [w[0] - sum(b) / len(b)]
    >>> minibatch_gradient_descent(grad, [0.0], [1.0, 3.0, 5.0], lr=1.0, epochs=1, batch_size=2, shuffle=False)
    [[0.0], [2.0], [5.0]]
    """
    if batch_size is None:
        raise TypeError("minibatch_gradient_descent: batch_size is None; expected an int >= 1")
    with on_behalf_of("minibatch_gradient_descent"):
        return gradient_descent(grad_fn, params, data, lr, epochs, batch_size=batch_size, shuffle=shuffle, seed=seed)
