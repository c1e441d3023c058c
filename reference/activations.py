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

from ._exact import divide, two_prod, two_sum
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
    "silu",
    "silu_vjp",
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
    # 1 + e is kept exactly (two_sum) and divided with one rounding: within about 1 ulp, not 3.
    if x >= 0:
        return divide(1.0, *two_sum(1.0, math.exp(-x)))
    if x < 0:
        e = math.exp(x)
        return divide(e, *two_sum(1.0, e))
    return x  # NaN propagates


_LN4 = (1.3862943611198906, 4.638093627692599e-17)  # ln 4 = hi + lo to 106 bits (mpmath)


def _logistic_density(t: float, shift: tuple[float, float] = (0.0, 0.0)) -> float:
    """``exp(t + shift) / (1 + exp(t))²`` for ``t <= 0``, rounded about once after ``exp``.

    This is σ'(x) = σ(x)σ(−x) with ``t = −|x|``, and tanh'(x) = 1 − tanh²(x) =
    4e^(−2|x|)/(1 + e^(−2|x|))² with ``t = −2|x|``, ``shift = ln 4``. The
    textbook forms σ(1 − σ) and 1 − tanh² cancel catastrophically for large
    |x| (σ'(40) = 4.2e-18 would come out as 0); this one keeps every bit.
    """
    if math.isnan(t):
        return t
    if t == -math.inf:
        return 0.0
    e = math.exp(t)
    s, s_err = two_sum(1.0, e)  # 1 + e = s + s_err exactly
    d, d_err = two_prod(s, s)
    d_lo = d_err + 2.0 * s * s_err  # (1 + e)² = d + d_lo (up to s_err², below 2^-106 d)
    if shift == (0.0, 0.0):
        return divide(e, d, d_lo)
    a, a_err = two_sum(t, shift[0])  # t + shift = a + a_err: exp(a + a_err) = exp(a)·(1 + a_err)
    a_err += shift[1]
    return divide(math.exp(a), d, d_lo - d * a_err)  # the (1 + a_err) factor folded into the divisor


def sigmoid(x: Nested) -> Nested:
    r"""Logistic sigmoid, elementwise.

    .. math:: \sigma(x) = \frac{1}{1 + e^{-x}}

    Citation: ``verhulst1845`` (the logistic curve); as a neuron's activation
    ``rumelhart1986backprop``.

    Accuracy: within 2 ulp of the correctly rounded value (measured: 1.03 ulp;
    ``1 + e^−|x|`` is kept exactly and divided with one rounding).

    >>> sigmoid([0.0, 2.0])
    [0.5, 0.8807970779778824]
    """
    return _map("sigmoid", x, _sigmoid)


def sigmoid_vjp(x: Nested, cotangent: Nested) -> Nested:
    r"""Vector-Jacobian product of :func:`sigmoid`: :math:`g \cdot \sigma(x)(1 - \sigma(x))`.

    σ'(x) is computed as :math:`e^{-|x|}/(1 + e^{-|x|})^2`, within 2 ulp
    (measured: 1.33 ulp), then multiplied by ``g`` (one more rounding).
    """

    # σ(1 − σ) evaluated as e^(−|x|)/(1 + e^(−|x|))²: no cancellation when σ is close to 1.
    return _map_vjp("sigmoid_vjp", x, cotangent, lambda v: _logistic_density(-abs(v)))


# --- SiLU (swish) ---------------------------------------------------------------


_LN2 = (0.6931471805599453, 2.3190468138462996e-17)  # ln 2 = hi + lo to 106 bits (mpmath)
_SUBNORMAL_SIGMOID = -708.0  # below, σ(x) = e^x/(1 + e^x) < 2^−1021 and 1 + e^x rounds to 1
_SCALE = 128  # e^(x + 128·ln 2) is a normal number for every x whose c·e^x does not round to 0


def _times_exp(c: float, x: float) -> float:
    """``c·e^x`` for ``x < −708``, where e^x is subnormal: rounded about once, at the end.

    e^x = 2^−128·e^(x + 128 ln 2) with the exponent's sum kept exactly (two_sum) and its error
    folded in to first order; the product is scaled back with ldexp, which rounds once when the
    result is subnormal. Multiplying by a subnormal e^x would lose its missing bits.
    """
    a, a_err = two_sum(x, _SCALE * _LN2[0])
    a_err += _SCALE * _LN2[1]
    y = c * math.exp(a)
    return math.ldexp(y + y * a_err, -_SCALE)


def _silu(x: float) -> float:
    # x·σ(x) with σ within about 1 ulp: one more rounding. Where σ(x) is subnormal, x·e^x is
    # still a normal number down to x ≈ −738 and is scaled (_times_exp). At −∞ the product is the
    # indeterminate −∞·0; the reference gives the limit from below, −0.0 (a special value).
    if x == -math.inf:
        return -0.0
    if x < _SUBNORMAL_SIGMOID:
        return _times_exp(x, x)
    return x * _sigmoid(x)


def _silu_derivative(x: float) -> float:
    # (x·σ(x))' = σ(x) + x·σ'(x), with σ'(x) = e^(−|x|)/(1 + e^(−|x|))² (no cancellation in σ');
    # where σ(x) is subnormal both terms are e^x to float64's precision: (1 + x)·e^x, scaled.
    # x·σ'(x) → 0 at ±∞ (σ' decays like e^(−|x|)), so the limits are 0 and 1.
    if math.isinf(x):
        return 0.0 if x < 0 else 1.0
    if x < _SUBNORMAL_SIGMOID:
        return _times_exp(1.0 + x, x)
    return _sigmoid(x) + x * _logistic_density(-abs(x))


def silu(x: Nested) -> Nested:
    r"""Sigmoid linear unit (SiLU, swish with β = 1), elementwise.

    .. math:: \operatorname{SiLU}(x) = x\,\sigma(x) = \frac{x}{1 + e^{-x}}

    Citation: ``hendrycks2016gaussian`` (named SiLU there); ``elfwing2018sigmoid``;
    ``ramachandran2017searching`` (swish).

    Accuracy: within 2 ulp (σ(x) within about 1 ulp, times x; below
    x = −708, where σ(x) is subnormal, x·e^x is computed scaled into the
    normal range). ``silu(−∞)`` is ``−0.0``, the limit (the expression is
    −∞·0 there).

    >>> silu([0.0, 2.0])
    [0.0, 1.7615941559557649]
    """
    return _map("silu", x, _silu)


def silu_vjp(x: Nested, cotangent: Nested) -> Nested:
    r"""Vector-Jacobian product of :func:`silu`: :math:`g \cdot (\sigma(x) + x\,\sigma(x)(1 - \sigma(x)))`.

    σ(x)(1 − σ(x)) is computed as :math:`e^{-|x|}/(1 + e^{-|x|})^2`, so the
    derivative keeps its relative accuracy in both tails; within 3 ulp
    (measured: 2.28) of the larger of the result and its terms σ(x), x·σ'(x)
    (they cancel where the derivative is 0, at x = −1 − W(1/e)).
    """
    return _map_vjp("silu_vjp", x, cotangent, _silu_derivative)


# --- tanh --------------------------------------------------------------------


def tanh(x: Nested) -> Nested:
    r"""Hyperbolic tangent, elementwise.

    .. math:: \tanh(x) = \frac{e^{x} - e^{-x}}{e^{x} + e^{-x}}

    Computed with :func:`math.tanh` (the C library's, accurate to about one
    ulp and free of overflow for large ``|x|``).

    Accuracy: the C library's, within 2 ulp (glibc documents 2 ulp for
    ``tanh`` on x86-64; measured: 1.86 ulp).

    >>> tanh([0.0, 1.0])
    [0.0, 0.7615941559557649]
    """
    return _map("tanh", x, math.tanh)


def tanh_vjp(x: Nested, cotangent: Nested) -> Nested:
    r"""Vector-Jacobian product of :func:`tanh`: :math:`g \cdot (1 - \tanh^2 x)`.

    tanh'(x) is computed as :math:`4e^{-2|x|}/(1 + e^{-2|x|})^2`, within 2
    ulp (measured: 1.58 ulp); the textbook 1 − tanh² gives 0 for |x| > 19.
    """
    # 1 − tanh² evaluated as 4e^(−2|x|)/(1 + e^(−2|x|))²: 1 − tanh² loses every digit for |x| > 19.
    return _map_vjp("tanh_vjp", x, cotangent, lambda v: _logistic_density(-2.0 * abs(v), _LN4))


# --- ReLU and leaky ReLU -------------------------------------------------------


def _relu(x: float) -> float:
    if x > 0:
        return x
    return x if math.isnan(x) else 0.0  # relu(-0.0) = +0.0; NaN propagates


def relu(x: Nested) -> Nested:
    r"""Rectified linear unit, elementwise.

    .. math:: \operatorname{ReLU}(x) = \max(0, x)

    Citation: ``nair2010relu``; ``glorot2011deep``.

    The derivative at 0 is taken to be 0 (the subgradient PyTorch, JAX and
    TensorFlow use). Exact (no rounding).

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

    The derivative at 0 is taken to be ``negative_slope`` (PyTorch's
    convention). Correctly rounded (one multiplication).

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


def _exp_minus(t: float, m: float) -> float:
    """``exp(t − m)`` with the rounding error of ``t − m`` put back (``exp(d + err) ≈ exp(d)(1 + err)``)."""
    # t − m is not exact when t and m differ in sign or scale (t = -300.1, m = 400.2): an error
    # of 2^-44 in the exponent is an error of 2^-44 relative, hundreds of ulps, in the result.
    d, err = two_sum(t, -m)
    if d == -math.inf:
        return 0.0
    e = math.exp(d)
    return e + e * err


def _softmax_lane(v: list[float]) -> list[float]:
    if not v:  # an empty slice (shape (..., 0)): nothing to normalise
        return []
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
    e = [_exp_minus(t, m) for t in v]
    s = math.fsum(e)
    return [t / s for t in e]


def _log_softmax_lane(v: list[float]) -> list[float]:
    if not v:
        return []
    if any(math.isnan(t) for t in v):
        return [math.nan] * len(v)
    m = max(v)
    if m == math.inf:
        k = sum(1 for t in v if t == math.inf)
        return [0.0 - math.log(k) if t == math.inf else -math.inf for t in v]  # 0.0 -: log 1 gives +0.0, not -0.0
    if m == -math.inf:
        return [math.nan] * len(v)
    # log-sum-exp around the max: finite even where softmax underflows to 0. Writing
    # log Σ e^(x_j − m) = log1p(Σ_{j≠k} e^(x_j − m)) for the argmax k keeps full
    # relative accuracy when the other terms are tiny (log(1 + tiny) would round to 0).
    k = v.index(m)
    rest = math.log1p(math.fsum(_exp_minus(t, m) for j, t in enumerate(v) if j != k))
    return [_minus_log_sum(t, m, rest) for t in v]


def _minus_log_sum(t: float, m: float, rest: float) -> float:
    """``t − m − rest`` rounded once: two subtractions would round twice."""
    d, err = two_sum(t, -m)
    if not math.isfinite(d):  # t = -inf, or t − m beyond the float range: the rounded value is -inf
        return d
    return math.fsum((d, err, -rest))  # d, err and rest are far below the overflow threshold


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

    A 0-d ``x`` is refused (there is no axis).

    Accuracy: within 4 ulp per output (measured: 1.9 ulp, logits spread by
    2e4). ``t − max`` is carried exactly (two_sum) into ``exp``: rounded, it
    would cost up to hundreds of ulps when ``t`` and the max differ in sign.

    >>> softmax([0.0, 0.0])
    [0.5, 0.5]
    """
    return _along_axis("softmax", x, axis, _softmax_lane)


def softmax_vjp(x: Nested, cotangent: Nested, axis: int = -1) -> Nested:
    r"""VJP of :func:`softmax`: :math:`y \odot (g - \langle g, y\rangle)` per slice, with y = softmax(x).

    No bound in ulps: :math:`g_i - \langle g, y\rangle` cancels when ``g`` is
    nearly constant; the absolute error is about :math:`2^{-52} \max|g|\, y_i`.
    """
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
    −inf). A 0-d ``x`` is refused (there is no axis).

    Accuracy: within 4 ulp per output (measured: 1.3 ulp),
    ``t − max − log Σ`` rounded once (fsum).

    >>> log_softmax([0.0, 0.0])
    [-0.6931471805599453, -0.6931471805599453]
    """
    return _along_axis("log_softmax", x, axis, _log_softmax_lane)


def log_softmax_vjp(x: Nested, cotangent: Nested, axis: int = -1) -> Nested:
    r"""VJP of :func:`log_softmax`: :math:`g - \operatorname{softmax}(x) \sum_j g_j` per slice.

    No bound in ulps (the difference cancels when :math:`g_i \approx y_i \sum_j g_j`).
    """
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
