"""Activation functions and their vector-Jacobian products.

Seed section: *activation functions*. Every function takes a number (a 0-d
tensor) or a nested list of numbers of any rank and returns the same
structure, computed in float64. Each ``<name>_vjp(x, cotangent, ...)``
returns ``cotangentᵀ · ∂<name>(x)/∂x``, the gradient backpropagation needs,
with the same shape as ``x``.

Identities that relate these functions (``tanh(x) = 2·sigmoid(2x) − 1``,
``log_softmax = log ∘ softmax``, ``leaky_relu(x, 0) = relu(x)``) are checked
as invariants by :mod:`dlterms.conformance`, not used as implementations.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from ._tensor import Nested, finite_scalar, lanes, normalize_axis, same_shape, tensor, unflatten

__all__ = [
    "leaky_relu",
    "leaky_relu_vjp",
    "log_softmax",
    "log_softmax_vjp",
    "relu",
    "relu_vjp",
    "sigmoid",
    "sigmoid_vjp",
    "softmax",
    "softmax_vjp",
    "tanh",
    "tanh_vjp",
]


def _map(fn: str, x: Nested, f: Callable[[float], float]) -> Nested:
    shape, flat = tensor(fn, "x", x)
    return unflatten([f(v) for v in flat], shape)


def _map_vjp(fn: str, x: Nested, cotangent: Nested, df: Callable[[float], float]) -> Nested:
    shape, flat = tensor(fn, "x", x)
    g_shape, g = tensor(fn, "cotangent", cotangent)
    same_shape(fn, "cotangent", g_shape, "x", shape)
    return unflatten([gi * df(xi) for xi, gi in zip(flat, g, strict=True)], shape)


# --- sigmoid -----------------------------------------------------------------


def _sigmoid(x: float) -> float:
    # Two branches so that exp never overflows: for x < 0, 1/(1+e^-x) = e^x/(1+e^x).
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    if x < 0:
        e = math.exp(x)
        return e / (1.0 + e)
    return x  # NaN propagates


def sigmoid(x: Nested) -> Nested:
    r"""Logistic sigmoid, elementwise.

    .. math:: \sigma(x) = \frac{1}{1 + e^{-x}}

    Citation: ``verhulst1845`` (the logistic curve); as a neuron's activation
    ``rumelhart1986backprop``.

    Invariants: ``sigmoid.range_open_unit_interval``, ``sigmoid.symmetry``
    (σ(−x) = 1 − σ(x)), ``sigmoid.monotone``, ``sigmoid.derivative_identity``
    (σ' = σ(1 − σ)). Limits: σ(−∞) = 0, σ(+∞) = 1, σ(NaN) = NaN.

    >>> sigmoid([0.0, 2.0])
    [0.5, 0.8807970779778823]
    """
    return _map("sigmoid", x, _sigmoid)


def sigmoid_vjp(x: Nested, cotangent: Nested) -> Nested:
    r"""Vector-Jacobian product of :func:`sigmoid`: :math:`g \cdot \sigma(x)(1 - \sigma(x))`."""

    def d(v: float) -> float:
        s = _sigmoid(v)
        return s * (1.0 - s)

    return _map_vjp("sigmoid_vjp", x, cotangent, d)


# --- tanh --------------------------------------------------------------------


def tanh(x: Nested) -> Nested:
    r"""Hyperbolic tangent, elementwise.

    .. math:: \tanh(x) = \frac{e^{x} - e^{-x}}{e^{x} + e^{-x}}

    Computed with :func:`math.tanh` (the C library's, accurate to about one
    ulp and free of overflow for large ``|x|``).

    Invariants: ``tanh.odd``, ``tanh.range_open_interval``,
    ``tanh.sigmoid_identity`` (tanh(x) = 2σ(2x) − 1), ``tanh.derivative_identity``
    (tanh' = 1 − tanh²). Limits: tanh(±∞) = ±1, tanh(NaN) = NaN.

    >>> tanh([0.0, 1.0])
    [0.0, 0.7615941559557649]
    """
    return _map("tanh", x, math.tanh)


def tanh_vjp(x: Nested, cotangent: Nested) -> Nested:
    r"""Vector-Jacobian product of :func:`tanh`: :math:`g \cdot (1 - \tanh^2 x)`."""
    return _map_vjp("tanh_vjp", x, cotangent, lambda v: 1.0 - math.tanh(v) ** 2)


# --- ReLU and leaky ReLU -------------------------------------------------------


def _relu(x: float) -> float:
    if x > 0:
        return x
    return x if math.isnan(x) else 0.0  # relu(-0.0) = +0.0; NaN propagates


def relu(x: Nested) -> Nested:
    r"""Rectified linear unit, elementwise.

    .. math:: \operatorname{ReLU}(x) = \max(0, x)

    Citation: ``nair2010relu``; ``glorot2011deep``.

    Invariants: ``relu.equals_max_zero``, ``relu.idempotent``,
    ``relu.positively_homogeneous`` (relu(a·x) = a·relu(x) for a ≥ 0).
    Conventions: relu(−0.0) = +0.0, relu(NaN) = NaN, and the derivative at 0
    is taken to be 0 (the subgradient PyTorch, JAX and TensorFlow use).

    >>> relu([-1.0, 0.0, 2.5])
    [0.0, 0.0, 2.5]
    """
    return _map("relu", x, _relu)


def relu_vjp(x: Nested, cotangent: Nested) -> Nested:
    r"""Vector-Jacobian product of :func:`relu`: :math:`g \cdot [x > 0]` (0 at x = 0)."""
    return _map_vjp("relu_vjp", x, cotangent, lambda v: 1.0 if v > 0 else (v if math.isnan(v) else 0.0))


def leaky_relu(x: Nested, negative_slope: float = 0.01) -> Nested:
    r"""Leaky ReLU, elementwise.

    .. math:: \operatorname{LeakyReLU}(x) = \begin{cases} x & x > 0 \\ a\,x & x \le 0 \end{cases}

    with ``a = negative_slope`` (default 0.01, as in ``maas2013rectifier`` and
    ``torch.nn.functional.leaky_relu``).

    Invariants: ``leaky_relu.honours_negative_slope``,
    ``leaky_relu.zero_slope_is_relu``. The derivative at 0 is taken to be
    ``negative_slope`` (PyTorch's convention).

    >>> leaky_relu([-2.0, 3.0], negative_slope=0.1)
    [-0.2, 3.0]
    """
    a = finite_scalar("leaky_relu", "negative_slope", negative_slope)
    return _map("leaky_relu", x, lambda v: v if v > 0 else a * v)


def leaky_relu_vjp(x: Nested, cotangent: Nested, negative_slope: float = 0.01) -> Nested:
    r"""Vector-Jacobian product of :func:`leaky_relu`: :math:`g` where x > 0, else :math:`a g`."""
    a = finite_scalar("leaky_relu_vjp", "negative_slope", negative_slope)
    return _map_vjp("leaky_relu_vjp", x, cotangent, lambda v: 1.0 if v > 0 else (v if math.isnan(v) else a))


# --- softmax and log-softmax -------------------------------------------------------


def _softmax_lane(v: list[float]) -> list[float]:
    if any(math.isnan(t) for t in v):
        return [math.nan] * len(v)
    m = max(v)
    if m == math.inf:  # the limit: mass shared by the +inf entries
        k = sum(1 for t in v if t == math.inf)
        return [1.0 / k if t == math.inf else 0.0 for t in v]
    if m == -math.inf:  # every entry -inf: 0/0, undefined
        return [math.nan] * len(v)
    # Subtract the max so that exp never overflows (softmax is shift invariant);
    # fsum makes the normaliser exact to one rounding.
    e = [math.exp(t - m) for t in v]
    s = math.fsum(e)
    return [t / s for t in e]


def _log_softmax_lane(v: list[float]) -> list[float]:
    if any(math.isnan(t) for t in v):
        return [math.nan] * len(v)
    m = max(v)
    if m == math.inf:
        k = sum(1 for t in v if t == math.inf)
        return [-math.log(k) if t == math.inf else -math.inf for t in v]
    if m == -math.inf:
        return [math.nan] * len(v)
    # log-sum-exp around the max: finite even where softmax underflows to 0. Writing
    # log Σ e^(x_j − m) = log1p(Σ_{j≠k} e^(x_j − m)) for the argmax k keeps full
    # relative accuracy when the other terms are tiny (log(1 + tiny) would round to 0).
    k = v.index(m)
    rest = math.log1p(math.fsum(math.exp(t - m) for j, t in enumerate(v) if j != k))
    return [(t - m) - rest for t in v]


def _along_axis(fn: str, x: Nested, axis: int, lane_fn: Callable[[list[float]], list[float]]) -> Nested:
    shape, flat = tensor(fn, "x", x)
    ax = normalize_axis(fn, axis, len(shape))
    out = [0.0] * len(flat)
    for idx in lanes(shape, ax):
        for i, y in zip(idx, lane_fn([flat[i] for i in idx]), strict=True):
            out[i] = y
    return unflatten(out, shape)


def softmax(x: Nested, axis: int = -1) -> Nested:
    r"""Softmax along ``axis`` (default the last).

    .. math:: \operatorname{softmax}(x)_i = \frac{e^{x_i - m}}{\sum_j e^{x_j - m}},\quad m = \max_j x_j

    Subtracting the max changes nothing mathematically and keeps every
    exponent ≤ 0, so nothing overflows. Citation: ``bridle1990softmax``.

    Invariants: ``softmax.sums_to_one``, ``softmax.shift_invariant``,
    ``softmax.preserves_order``, ``softmax.finite_for_large_logits``.
    Special values along a slice: any NaN gives NaN for the whole slice; one
    or more +inf share the mass equally (the limit); all −inf gives NaN
    (0/0). A 0-d ``x`` is refused (there is no axis).

    >>> softmax([0.0, 0.0])
    [0.5, 0.5]
    """
    return _along_axis("softmax", x, axis, _softmax_lane)


def softmax_vjp(x: Nested, cotangent: Nested, axis: int = -1) -> Nested:
    r"""VJP of :func:`softmax`: :math:`y \odot (g - \langle g, y\rangle)` per slice, with y = softmax(x)."""
    fn = "softmax_vjp"
    shape, flat = tensor(fn, "x", x)
    g_shape, g = tensor(fn, "cotangent", cotangent)
    same_shape(fn, "cotangent", g_shape, "x", shape)
    ax = normalize_axis(fn, axis, len(shape))
    out = [0.0] * len(flat)
    for idx in lanes(shape, ax):
        y = _softmax_lane([flat[i] for i in idx])
        dot = math.fsum(g[i] * yi for i, yi in zip(idx, y, strict=True))
        for i, yi in zip(idx, y, strict=True):
            out[i] = yi * (g[i] - dot)
    return unflatten(out, shape)


def log_softmax(x: Nested, axis: int = -1) -> Nested:
    r"""Logarithm of :func:`softmax` along ``axis``, computed by log-sum-exp.

    .. math:: \operatorname{log\_softmax}(x)_i = x_i - m - \log \sum_j e^{x_j - m}

    Stays finite where softmax underflows to 0 (``log(softmax)`` would give
    −inf). Invariants: ``log_softmax.equals_log_of_softmax``,
    ``log_softmax.finite_where_softmax_underflows``.

    >>> log_softmax([0.0, 0.0])
    [-0.6931471805599453, -0.6931471805599453]
    """
    return _along_axis("log_softmax", x, axis, _log_softmax_lane)


def log_softmax_vjp(x: Nested, cotangent: Nested, axis: int = -1) -> Nested:
    r"""VJP of :func:`log_softmax`: :math:`g - \operatorname{softmax}(x) \sum_j g_j` per slice."""
    fn = "log_softmax_vjp"
    shape, flat = tensor(fn, "x", x)
    g_shape, g = tensor(fn, "cotangent", cotangent)
    same_shape(fn, "cotangent", g_shape, "x", shape)
    ax = normalize_axis(fn, axis, len(shape))
    out = [0.0] * len(flat)
    for idx in lanes(shape, ax):
        y = _softmax_lane([flat[i] for i in idx])
        total = math.fsum(g[i] for i in idx)
        for i, yi in zip(idx, y, strict=True):
            out[i] = g[i] - yi * total
    return unflatten(out, shape)
