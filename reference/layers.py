"""Neurons, weights, biases and depth: the neuron, the dense layer and the multilayer perceptron.

Seed sections: *what deep learning is* (a neuron multiplies each input by a
**weight**, adds a **bias** and applies an activation function) and *why it is
called deep* (many such layers, one after the other).

* :func:`neuron`: one unit, ``activation(w·x + b)``;
* :func:`linear`: a fully connected (dense) layer of such units without the
  activation, ``x Wᵀ + b``, in PyTorch's layout (``weight`` is
  ``(out_features, in_features)``);
* :func:`mlp`: layers composed, with an activation between them and none
  after the last, the "deep" network.

``neuron_vjp`` and ``linear_vjp`` sit beside their functions. The VJP of a
whole :func:`mlp` is backpropagation itself: see
:mod:`dlterms.reference.backprop`, which chains :func:`linear_vjp` and the
activations' VJPs.

Dot products are summed with :func:`~dlterms.reference._exact.exact_sum`
(:func:`math.fsum`, exact to one rounding whatever the order), so the
reference does not depend on a summation order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from . import activations
from ._exact import exact_sum
from ._tensor import Nested, Shape, choice, scalar, tensor, unflatten

__all__ = [
    "linear",
    "linear_vjp",
    "mlp",
    "neuron",
    "neuron_vjp",
]

# The elementwise activations of :mod:`dlterms.reference.activations`, by name,
# with their VJPs (leaky_relu with its default slope 0.01).
ACTIVATIONS: dict[str, tuple[Callable[[Nested], Nested], Callable[[Nested, Nested], Nested]]] = {
    "sigmoid": (activations.sigmoid, activations.sigmoid_vjp),
    "tanh": (activations.tanh, activations.tanh_vjp),
    "relu": (activations.relu, activations.relu_vjp),
    "leaky_relu": (activations.leaky_relu, activations.leaky_relu_vjp),
}


def check_activation(fn: str, name: object) -> str:
    """Check that ``name`` is one of the activations of :data:`ACTIVATIONS`; return it."""
    return choice(fn, "activation", name, tuple(ACTIVATIONS))


# --- the dense (fully connected) layer ------------------------------------------


def _check_linear(
    fn: str,
    x_shape: Shape,
    w_shape: Shape,
    b_shape: Shape | None,
    names: tuple[str, str, str] = ("x", "weight", "bias"),
) -> tuple[int, int]:
    """Check the shapes of one dense layer; return ``(in_features, out_features)``."""
    x, w, b = names
    if len(x_shape) < 1:
        raise ValueError(f"{fn}: {x} is 0-d (a number); expected a tensor of shape (..., in_features)")
    if len(w_shape) != 2:
        raise ValueError(
            f"{fn}: {w}.shape={w_shape}; expected a matrix of shape (out_features, in_features) "
            f"(PyTorch's layout: one row of weights per output)"
        )
    n_out, n_in = w_shape
    if n_in != x_shape[-1]:
        raise ValueError(
            f"{fn}: {w}.shape={w_shape} but {x}.shape[-1]={x_shape[-1]}; "
            f"expected {w}.shape[1] == {x}.shape[-1] (in_features)"
        )
    if b_shape is not None and b_shape != (n_out,):
        raise ValueError(
            f"{fn}: {b}.shape={b_shape} but {w}.shape={w_shape}; expected {b}.shape == ({n_out},) "
            f"(one bias per output feature)"
        )
    return n_in, n_out


def _affine(x: list[float], rows: int, n_in: int, w: list[float], n_out: int, b: list[float] | None) -> list[float]:
    """``rows`` row-major rows of ``n_in`` values times ``Wᵀ``, plus ``b``: rows of ``n_out`` values."""
    out = []
    for r in range(rows):
        xr = x[r * n_in : (r + 1) * n_in]
        for j in range(n_out):
            terms = [wi * xi for wi, xi in zip(w[j * n_in : (j + 1) * n_in], xr, strict=True)]
            if b is not None:
                terms.append(b[j])
            out.append(exact_sum(terms))
    return out


def linear(x: Nested, weight: Nested, bias: Nested | None = None) -> Nested:
    r"""Fully connected (dense) layer: every output is a weighted sum of every input, plus a bias.

    .. math:: y_{\ldots j} = \sum_{k} x_{\ldots k}\, W_{jk} + b_j \qquad (y = x W^\top + b)

    ``x`` has shape ``(..., in_features)`` (any number of leading batch
    dimensions, a single vector included), ``weight`` ``(out_features,
    in_features)`` and ``bias`` ``(out_features,)`` or ``None`` (no bias);
    the result has shape ``(..., out_features)``. The layout is
    ``torch.nn.functional.linear``'s. Citation: ``rosenblatt1958perceptron``
    (weighted sums of inputs), ``goodfellow2016deep`` (§6.1).

    >>> linear([1.0, 2.0], [[1.0, 0.0], [0.5, -1.0]], [0.0, 10.0])
    [1.0, 8.5]
    """
    fn = "linear"
    x_shape, xf = tensor(fn, "x", x)
    w_shape, wf = tensor(fn, "weight", weight)
    b_shape, bf = tensor(fn, "bias", bias) if bias is not None else (None, None)
    n_in, n_out = _check_linear(fn, x_shape, w_shape, b_shape)
    rows = math.prod(x_shape[:-1])
    return unflatten(_affine(xf, rows, n_in, wf, n_out, bf), (*x_shape[:-1], n_out))


def linear_vjp(
    x: Nested, weight: Nested, bias: Nested | None, cotangent: Nested
) -> tuple[Nested, Nested, Nested | None]:
    r"""VJP of :func:`linear`: ``(dx, dweight, dbias)``; ``dbias`` is ``None`` when ``bias`` is.

    With ``g`` the cotangent of the output (shape ``(..., out_features)``)
    and sums over every leading (batch) index ``n``:

    .. math:: \frac{\partial L}{\partial x_{nk}} = \sum_j g_{nj} W_{jk},\quad
              \frac{\partial L}{\partial W_{jk}} = \sum_n g_{nj}\, x_{nk},\quad
              \frac{\partial L}{\partial b_j} = \sum_n g_{nj}

    >>> linear_vjp([1.0, 2.0], [[3.0, 4.0]], [0.5], [2.0])
    ([6.0, 8.0], [[2.0, 4.0]], [2.0])
    """
    fn = "linear_vjp"
    x_shape, xf = tensor(fn, "x", x)
    w_shape, wf = tensor(fn, "weight", weight)
    b_shape = tensor(fn, "bias", bias)[0] if bias is not None else None
    n_in, n_out = _check_linear(fn, x_shape, w_shape, b_shape)
    g_shape, g = tensor(fn, "cotangent", cotangent)
    out_shape = (*x_shape[:-1], n_out)
    if g_shape != out_shape:
        raise ValueError(
            f"{fn}: cotangent.shape={g_shape} but linear(x, weight).shape={out_shape}; "
            f"expected the cotangent to have the output's shape"
        )
    rows = math.prod(x_shape[:-1])
    dx = [
        exact_sum([g[r * n_out + j] * wf[j * n_in + k] for j in range(n_out)]) for r in range(rows) for k in range(n_in)
    ]
    dw = [
        exact_sum([g[r * n_out + j] * xf[r * n_in + k] for r in range(rows)]) for j in range(n_out) for k in range(n_in)
    ]
    db = [exact_sum([g[r * n_out + j] for r in range(rows)]) for j in range(n_out)] if bias is not None else None
    return unflatten(dx, x_shape), unflatten(dw, w_shape), (None if db is None else unflatten(db, (n_out,)))


# --- the neuron ---------------------------------------------------------------------


def _check_neuron(fn: str, x: Nested, weight: Nested, bias: object) -> tuple[list[float], list[float], float]:
    x_shape, xf = tensor(fn, "x", x)
    w_shape, wf = tensor(fn, "weight", weight)
    b = scalar(fn, "bias", bias)
    if len(x_shape) != 1:
        raise ValueError(f"{fn}: x.shape={x_shape}; expected a vector of inputs, shape (in_features,)")
    if w_shape != x_shape:
        raise ValueError(
            f"{fn}: weight.shape={w_shape} but x.shape={x_shape}; expected one weight per input (equal shapes)"
        )
    return xf, wf, b


def neuron(x: Nested, weight: Nested, bias: float, activation: str = "sigmoid") -> float:
    r"""One artificial neuron: the activation of the weighted sum of its inputs plus its bias.

    .. math:: y = \varphi\Bigl(\sum_i w_i x_i + b\Bigr)

    ``x`` and ``weight`` are vectors of the same length, ``bias`` a number
    and ``activation`` (φ) one of ``"sigmoid"`` (the default, the classical
    logistic unit), ``"tanh"``, ``"relu"``, ``"leaky_relu"``. Returns a
    number. A row of a :func:`linear` layer followed by the activation.
    Citation: ``mcculloch1943logical``; ``rosenblatt1958perceptron``.

    >>> neuron([1.0, 2.0], [0.5, -0.25], 0.0)
    0.5
    """
    fn = "neuron"
    xf, wf, b = _check_neuron(fn, x, weight, bias)
    phi = ACTIVATIONS[check_activation(fn, activation)][0]
    return phi(exact_sum([*(wi * xi for wi, xi in zip(wf, xf, strict=True)), b]))


def neuron_vjp(
    x: Nested, weight: Nested, bias: float, cotangent: float, activation: str = "sigmoid"
) -> tuple[Nested, Nested, float]:
    r"""VJP of :func:`neuron`: ``(dx, dweight, dbias)``.

    With :math:`z = w \cdot x + b` and :math:`\delta = g\,\varphi'(z)`:
    :math:`\partial/\partial x = \delta w`, :math:`\partial/\partial w = \delta x`,
    :math:`\partial/\partial b = \delta`.

    >>> neuron_vjp([1.0, 2.0], [0.5, -0.25], 0.0, 1.0)
    ([0.125, -0.0625], [0.25, 0.5], 0.25)
    """
    fn = "neuron_vjp"
    xf, wf, b = _check_neuron(fn, x, weight, bias)
    g = scalar(fn, "cotangent", cotangent)
    phi_vjp = ACTIVATIONS[check_activation(fn, activation)][1]
    z = exact_sum([*(wi * xi for wi, xi in zip(wf, xf, strict=True)), b])
    delta = phi_vjp(z, g)
    return [delta * wi for wi in wf], [delta * xi for xi in xf], delta


# --- the multilayer perceptron --------------------------------------------------------


def check_network(fn: str, x_shape: Shape, weights: object, biases: object) -> list[tuple[Shape, list[float]]]:
    """Check a network's layers against each other and against ``x``; return each weight's (shape, values).

    ``weights`` is a non-empty list of matrices ``(out_l, in_l)``; ``biases`` a
    list of the same length of vectors ``(out_l,)`` or ``None``; layer ``l``'s
    ``in_l`` is ``x.shape[-1]`` for the first layer and ``out_{l-1}`` after.
    """
    for name, value in (("weights", weights), ("biases", biases)):
        if not isinstance(value, list | tuple):
            raise TypeError(f"{fn}: {name} is {type(value).__name__}; expected a list with one entry per layer")
    assert isinstance(weights, Sequence) and isinstance(biases, Sequence)
    if not weights:
        raise ValueError(f"{fn}: weights is empty; expected at least one layer")
    if len(biases) != len(weights):
        raise ValueError(
            f"{fn}: {len(weights)} weight matrices but {len(biases)} biases (len(weights) != len(biases)); "
            f"expected one bias (or None) per layer"
        )
    layers = []
    shape = x_shape
    for l, (w, b) in enumerate(zip(weights, biases, strict=True)):
        w_shape, wf = tensor(fn, f"weights[{l}]", w)
        b_shape = tensor(fn, f"biases[{l}]", b)[0] if b is not None else None
        if l > 0 and len(w_shape) == 2 and w_shape[1] != shape[-1]:
            raise ValueError(
                f"{fn}: weights[{l}].shape={w_shape} but layer {l - 1} outputs {shape[-1]} features; "
                f"expected weights[{l}].shape[1] == {shape[-1]} (weights[{l - 1}].shape[0])"
            )
        n_out = _check_linear(fn, shape, w_shape, b_shape, ("x", f"weights[{l}]", f"biases[{l}]"))[1]
        shape = (*shape[:-1], n_out)
        layers.append((w_shape, wf))
    return layers


def mlp(x: Nested, weights: Sequence[Nested], biases: Sequence[Nested | None], activation: str = "relu") -> Nested:
    r"""A multilayer perceptron: dense layers composed, with an activation between them.

    .. math:: h_0 = x,\quad h_l = \varphi(h_{l-1} W_l^\top + b_l)\ (l < L),\quad
              \mathrm{mlp}(x) = h_{L-1} W_L^\top + b_L

    ``weights[l]`` has shape ``(out_l, in_l)`` and ``biases[l]`` ``(out_l,)``
    or is ``None``; ``x`` has shape ``(..., in_1)``. There is no activation
    after the last layer (a loss or softmax comes next). With ``L`` layers the
    network has ``L − 1`` hidden layers: "deep" means many of them. Without
    the activation the layers would collapse into a single affine map, which
    is why the non-linearity matters. Citation: ``rumelhart1986learning``;
    ``hornik1989multilayer`` (universal approximation); ``goodfellow2016deep`` (§6).

    The VJP of ``mlp`` is backpropagation: :func:`dlterms.reference.backprop.backward_pass`.

    >>> mlp([1.0, -1.0], [[[1.0, 0.0], [0.0, 1.0]], [[2.0, 3.0]]], [None, [0.5]])
    [2.5]
    """
    fn = "mlp"
    x_shape, _ = tensor(fn, "x", x)
    check_network(fn, x_shape, weights, biases)
    phi = ACTIVATIONS[check_activation(fn, activation)][0]
    h = x
    for l, (w, b) in enumerate(zip(weights, biases, strict=True)):
        h = linear(h, w, b)
        if l < len(weights) - 1:
            h = phi(h)
    return h
