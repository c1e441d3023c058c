"""Backpropagation, in the seed's four steps, and the finite-difference gradient that checks it.

Seed section: *backpropagation*. For a network :func:`~dlterms.reference.layers.mlp`
trained on input-output pairs with the mean squared error, the seed lists:

1. :func:`forward_pass` for each input-output pair: run the network, keeping
   every layer's input and pre-activation, and compute the pair's loss;
2. :func:`backward_pass` for each pair: start from the loss's gradient and
   apply the chain rule layer by layer, last to first: each step is a
   vector-Jacobian product (:func:`~dlterms.reference.layers.linear_vjp`,
   then the activation's VJP);
3. :func:`combine_gradients`: average the pairs' gradients (the dataset's
   loss is the mean of the pairs' losses);
4. :func:`update` the weights and biases with the learning rate: one
   :func:`~dlterms.reference.optim.sgd_step` per parameter.

:func:`backpropagate` does steps 1-3 and :func:`train_step` all four.
:func:`numerical_gradient` estimates a gradient by central finite differences,
the standard check of a backpropagation implementation.

Layouts are those of :func:`~dlterms.reference.layers.mlp`: ``weights[l]`` is
``(out_l, in_l)``, ``biases[l]`` is ``(out_l,)`` or ``None``; ``inputs`` is
``(N, in_1)`` and ``targets`` ``(N, out_L)``, one row per pair.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from ._exact import exact_sum
from ._tensor import Nested, finite_scalar, on_behalf_of, scalar, tensor, unflatten
from .layers import ACTIVATIONS, check_activation, check_network, linear, linear_vjp
from .losses import mse_loss, mse_loss_vjp
from .optim import learning_rate, sgd_step

__all__ = [
    "backpropagate",
    "backward_pass",
    "combine_gradients",
    "forward_pass",
    "numerical_gradient",
    "train_step",
    "update",
]


class ForwardPass(NamedTuple):
    """What the forward pass keeps for the backward pass."""

    inputs: list[Nested]  # inputs[l]: the input of layer l (inputs[0] is x)
    pre_activations: list[Nested]  # z_l = linear(inputs[l], weights[l], biases[l])
    output: Nested  # the prediction ŷ = z_{L-1} (no activation after the last layer)
    loss: float  # mse_loss(ŷ, y)


class Gradients(NamedTuple):
    """The gradient of a loss with respect to every weight and bias (``None`` where a layer has no bias)."""

    weights: list[Nested]
    biases: list[Nested | None]


def _pair(fn: str, x: Nested, y: Nested, weights: object, biases: object) -> None:
    x_shape, _ = tensor(fn, "x", x)
    y_shape, _ = tensor(fn, "y", y)
    if len(x_shape) != 1:
        raise ValueError(f"{fn}: x.shape={x_shape}; expected one input vector, shape (in_features,)")
    layers = check_network(fn, x_shape, weights, biases)
    n_out = layers[-1][0][0]
    if y_shape != (n_out,):
        raise ValueError(
            f"{fn}: y.shape={y_shape} but the network outputs {n_out} values; expected y.shape == ({n_out},)"
        )


def forward_pass(
    x: Nested, y: Nested, weights: Sequence[Nested], biases: Sequence[Nested | None], activation: str = "relu"
) -> ForwardPass:
    r"""Step 1: run one input through the network, keeping what the backward pass needs.

    .. math:: h_0 = x,\quad z_l = h_l W_l^\top + b_l,\quad h_{l+1} = \varphi(z_l),\quad
              \hat y = z_{L-1},\quad \ell = \tfrac{1}{m}\lVert \hat y - y \rVert^2

    ``x`` is one input vector and ``y`` its target (``m`` values). Returns a
    :class:`ForwardPass` with every layer's input ``h_l``, its pre-activation
    ``z_l``, the prediction and the pair's mean squared error. Citation:
    ``rumelhart1986learning``.

    >>> forward_pass([1.0], [3.0], [[[2.0]]], [[0.5]]).loss
    0.25
    """
    fn = "forward_pass"
    _pair(fn, x, y, weights, biases)
    phi = ACTIVATIONS[check_activation(fn, activation)][0]
    inputs, pre = [], []
    h = x
    for l, (w, b) in enumerate(zip(weights, biases, strict=True)):
        inputs.append(h)
        z = linear(h, w, b)
        pre.append(z)
        h = phi(z) if l < len(weights) - 1 else z
    return ForwardPass(inputs=inputs, pre_activations=pre, output=h, loss=mse_loss(h, y))


def backward_pass(
    forward: ForwardPass,
    y: Nested,
    weights: Sequence[Nested],
    biases: Sequence[Nested | None],
    activation: str = "relu",
) -> Gradients:
    r"""Step 2: the chain rule, layer by layer from the loss back to the first layer.

    .. math:: g_{L-1} = \frac{\partial \ell}{\partial \hat y} = \tfrac{2}{m}(\hat y - y),\quad
              \frac{\partial \ell}{\partial W_l} = g_l^\top h_l,\quad
              \frac{\partial \ell}{\partial b_l} = g_l,\quad
              g_{l-1} = (g_l W_l) \odot \varphi^{\prime}(z_{l-1})

    ``forward`` is what :func:`forward_pass` returned for the pair ``(x, y)``
    and the same network. Each step is a vector-Jacobian product: the
    :func:`~dlterms.reference.layers.linear_vjp` of the layer, then the VJP
    of the activation before it. Citation: ``rumelhart1986learning``;
    ``linnainmaa1976taylor`` (reverse-mode differentiation).

    >>> w, b = [[[2.0]]], [[0.5]]
    >>> backward_pass(forward_pass([1.0], [3.0], w, b), [3.0], w, b)
    Gradients(weights=[[[-1.0]]], biases=[[-1.0]])
    """
    fn = "backward_pass"
    if not isinstance(forward, ForwardPass):
        raise TypeError(f"{fn}: forward is {type(forward).__name__}; expected the ForwardPass of forward_pass()")
    if not (isinstance(forward.inputs, list) and forward.inputs and isinstance(forward.pre_activations, list)):
        raise ValueError(
            f"{fn}: forward.inputs={forward.inputs!r:.40} holds no layer inputs; "
            f"expected the ForwardPass of forward_pass()"
        )
    _pair(fn, forward.inputs[0], y, weights, biases)
    if len(forward.inputs) != len(weights) or len(forward.pre_activations) != len(weights):
        raise ValueError(
            f"{fn}: forward holds {len(forward.inputs)} layers but weights has {len(weights)}; "
            f"expected the ForwardPass of forward_pass() with these weights"
        )
    phi_vjp = ACTIVATIONS[check_activation(fn, activation)][1]
    g = mse_loss_vjp(forward.output, y, 1.0)[0]
    d_weights: list[Nested] = [None] * len(weights)
    d_biases: list[Nested | None] = [None] * len(weights)
    for l in reversed(range(len(weights))):
        g, d_weights[l], d_biases[l] = linear_vjp(forward.inputs[l], weights[l], biases[l], g)
        if l > 0:
            g = phi_vjp(forward.pre_activations[l - 1], g)
    return Gradients(weights=d_weights, biases=d_biases)


def _mean(fn: str, name: str, tensors: Sequence[Nested]) -> Nested:
    """The mean of ``per_pair[i].<name>`` over the pairs ``i`` (``name`` is ``weights[l]`` or ``biases[l]``)."""
    shape, first = tensor(fn, f"per_pair[0].{name}", tensors[0])
    columns = [first]
    for i, t in enumerate(tensors[1:], start=1):
        t_shape, flat = tensor(fn, f"per_pair[{i}].{name}", t)
        if t_shape != shape:
            raise ValueError(
                f"{fn}: per_pair[{i}].{name}.shape={t_shape} but per_pair[0].{name}.shape={shape}; "
                f"expected equal shapes"
            )
        columns.append(flat)
    n = len(columns)
    # The dataset's loss is the mean of the pairs' losses, so its gradient is the mean of theirs.
    return unflatten([exact_sum(list(values)) / n for values in zip(*columns, strict=True)], shape)


def combine_gradients(per_pair: Sequence[Gradients]) -> Gradients:
    r"""Step 3: the gradient of the dataset's loss, the mean of the pairs' gradients.

    .. math:: \nabla_\theta L = \frac{1}{N} \sum_{n=1}^{N} \nabla_\theta \ell_n

    >>> combine_gradients([Gradients([[[1.0]]], [None]), Gradients([[[3.0]]], [None])])
    Gradients(weights=[[[2.0]]], biases=[None])
    """
    fn = "combine_gradients"
    if isinstance(per_pair, str | bytes) or not isinstance(per_pair, Sequence) or not per_pair:
        raise ValueError(f"{fn}: per_pair={per_pair!r}; expected a non-empty list of Gradients, one per pair")
    n_layers = _layers_of(fn, "per_pair[0]", per_pair[0])
    for i, g in enumerate(per_pair[1:], start=1):
        if _layers_of(fn, f"per_pair[{i}]", g) != n_layers:
            raise ValueError(
                f"{fn}: per_pair[{i}] has {len(g.weights)} layers but per_pair[0] has {n_layers}; "
                f"expected the gradients of one network"
            )
    weights = [_mean(fn, f"weights[{l}]", [g.weights[l] for g in per_pair]) for l in range(n_layers)]
    biases = [
        None if per_pair[0].biases[l] is None else _mean(fn, f"biases[{l}]", [g.biases[l] for g in per_pair])
        for l in range(n_layers)
    ]
    return Gradients(weights=weights, biases=biases)


def _layers_of(fn: str, name: str, g: object) -> int:
    """The number of layers of a :class:`Gradients` (refusing anything else, or unequal weights and biases)."""
    if not isinstance(g, Gradients):
        raise TypeError(f"{fn}: {name} is {type(g).__name__}; expected a Gradients (as backward_pass returns)")
    if (
        not isinstance(g.weights, list | tuple)
        or not isinstance(g.biases, list | tuple)
        or len(g.weights) != len(g.biases)
    ):
        raise ValueError(f"{fn}: {name} has malformed weights/biases lists; expected one entry of each per layer")
    return len(g.weights)


def update(
    weights: Sequence[Nested], biases: Sequence[Nested | None], gradients: Gradients, lr: float
) -> tuple[list[Nested], list[Nested | None]]:
    r"""Step 4: move every weight and bias a step of size ``lr`` against its gradient.

    .. math:: W_l \leftarrow W_l - \eta\, \frac{\partial L}{\partial W_l},\qquad
              b_l \leftarrow b_l - \eta\, \frac{\partial L}{\partial b_l}

    One :func:`~dlterms.reference.optim.sgd_step` per parameter; returns the
    new ``(weights, biases)`` and leaves the arguments unchanged.

    >>> update([[[1.0]]], [[0.0]], Gradients([[[2.0]]], [[-4.0]]), 0.25)
    ([[[0.5]]], [[1.0]])
    """
    fn = "update"
    if not isinstance(gradients, Gradients):
        raise TypeError(f"{fn}: gradients is {type(gradients).__name__}; expected the Gradients of backward_pass()")
    for name, value in (("weights", weights), ("biases", biases)):
        if not isinstance(value, list | tuple):
            raise TypeError(f"{fn}: {name} is {type(value).__name__}; expected a list with one entry per layer")
    if len(gradients.weights) != len(weights) or len(gradients.biases) != len(biases):
        raise ValueError(
            f"{fn}: {len(weights)} weights and {len(biases)} biases but gradients for {len(gradients.weights)} "
            f"and {len(gradients.biases)} (len(weights)={len(weights)}, len(gradients.weights)="
            f"{len(gradients.weights)}); expected one gradient per parameter"
        )
    rate = learning_rate(fn, lr)
    new_weights, new_biases = [], []
    for l, (w, b) in enumerate(zip(weights, biases, strict=True)):
        # A refusal by sgd_step names update and the parameter (param is weights[l], grad its gradient).
        with on_behalf_of(fn, note=f"param is weights[{l}], grad is gradients.weights[{l}]"):
            new_weights.append(sgd_step(w, gradients.weights[l], rate))
        with on_behalf_of(fn, note=f"param is biases[{l}], grad is gradients.biases[{l}]"):
            new_biases.append(None if b is None else sgd_step(b, gradients.biases[l], rate))
    return new_weights, new_biases


def _pairs(fn: str, inputs: Nested, targets: Nested) -> None:
    x_shape, _ = tensor(fn, "inputs", inputs)
    y_shape, _ = tensor(fn, "targets", targets)
    if len(x_shape) != 2 or len(y_shape) != 2 or x_shape[0] != y_shape[0] or x_shape[0] == 0:
        raise ValueError(
            f"{fn}: inputs.shape={x_shape} and targets.shape={y_shape}; expected (N, in_features) and "
            f"(N, out_features) with the same number N >= 1 of input-output pairs"
        )


def backpropagate(
    inputs: Nested,
    targets: Nested,
    weights: Sequence[Nested],
    biases: Sequence[Nested | None],
    activation: str = "relu",
) -> tuple[float, Gradients]:
    r"""Steps 1-3: the loss on the dataset and its gradient with respect to every weight and bias.

    .. math:: L = \frac{1}{N} \sum_{n=1}^{N} \ell(\mathrm{mlp}(x_n), y_n)
              = \mathrm{MSE}(\mathrm{mlp}(X), Y)

    (each pair has as many outputs, so the mean of the pairs' mean squared
    errors is the mean squared error over all outputs). Returns
    ``(L, gradients)``. Citation: ``rumelhart1986learning``.

    >>> backpropagate([[1.0], [2.0]], [[3.0], [3.0]], [[[2.0]]], [[0.5]])
    (1.25, Gradients(weights=[[[2.5]]], biases=[[1.0]]))
    """
    fn = "backpropagate"
    _pairs(fn, inputs, targets)
    check_activation(fn, activation)
    # Check the network against the data here, so that a refusal names backpropagate's own arguments.
    with on_behalf_of(fn, note="x and y are the first row of inputs and of targets"):
        _pair(fn, inputs[0], targets[0], weights, biases)
    grads, losses = [], []
    for x, y in zip(inputs, targets, strict=True):
        forward = forward_pass(x, y, weights, biases, activation)
        grads.append(backward_pass(forward, y, weights, biases, activation))
        losses.append(forward.loss)
    return exact_sum(losses) / len(losses), combine_gradients(grads)


def train_step(
    inputs: Nested,
    targets: Nested,
    weights: Sequence[Nested],
    biases: Sequence[Nested | None],
    lr: float,
    activation: str = "relu",
) -> tuple[list[Nested], list[Nested | None], float]:
    r"""All four steps: one gradient-descent step of the whole dataset's loss.

    Returns ``(new_weights, new_biases, loss)`` where ``loss`` is the loss
    *before* the step (the one whose gradient was used).

    >>> train_step([[1.0], [2.0]], [[3.0], [3.0]], [[[2.0]]], [[0.5]], lr=0.1)
    ([[[1.75]]], [[0.4]], 1.25)
    """
    with on_behalf_of("train_step"):  # a refusal by a step names the function the user called
        loss, gradients = backpropagate(inputs, targets, weights, biases, activation)
        new_weights, new_biases = update(weights, biases, gradients, lr)
    return new_weights, new_biases, loss


def numerical_gradient(f: Callable[[Nested], float], x: Nested, eps: float = 1e-6) -> Nested:
    r"""The gradient of a scalar function ``f`` at ``x`` by central finite differences.

    .. math:: \frac{\partial f}{\partial x_i} \approx \frac{f(x + h e_i) - f(x - h e_i)}{2h}

    The error is :math:`O(h^2)` (truncation) plus :math:`O(u/h)` (rounding,
    :math:`u = 2^{-53}`); ``eps = 1e-6`` balances them for functions of
    moderate size. ``x`` is a tensor of any rank (a number included); the
    result has its shape. Costs two evaluations of ``f`` per element, which
    is why training uses backpropagation and tests use this.
    Citation: ``goodfellow2016deep`` (§11.5, gradient checking).

    >>> round(numerical_gradient(lambda v: v[0] ** 2 + 3 * v[1], [2.0, 0.0])[0], 6)
    4.0
    """
    fn = "numerical_gradient"
    if not callable(f):
        raise TypeError(f"{fn}: f is {type(f).__name__}; expected a function of a tensor returning a number")
    shape, flat = tensor(fn, "x", x)
    h = finite_scalar(fn, "eps", eps)
    if h <= 0:
        raise ValueError(f"{fn}: eps={h!r}; expected a step > 0")
    grad = []
    for i, v in enumerate(flat):
        plus, minus = list(flat), list(flat)
        plus[i], minus[i] = v + h, v - h
        f_plus = scalar(fn, f"f(x + eps·e_{i})", f(unflatten(plus, shape)))
        f_minus = scalar(fn, f"f(x - eps·e_{i})", f(unflatten(minus, shape)))
        # Divide by the step actually taken: v ± h is rounded, so it is not exactly 2h.
        grad.append((f_plus - f_minus) / (plus[i] - minus[i]))
    return unflatten(grad, shape)
