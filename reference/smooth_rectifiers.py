"""Smooth rectifiers past the seed, and their vector-Jacobian products: GELU, ELU, softplus, log-sigmoid.

Each is close to ReLU (softplus, GELU, ELU: max(0, x) smoothed or bent below 0) or to its mirror
min(0, x) (log-sigmoid = −softplus(−x)), and each has a tail where its textbook formula loses
every digit: ½x(1 + erf(x/√2)) and ½x(1 + tanh(·)) cancel for x ≪ 0, e^x − 1 for x near 0,
log(1 + e^x) overflows for x ≫ 0. The reference computes the exact function in both tails
(erfc and an asymptotic series, expm1, log1p). Like :mod:`dlterms.reference.activations`,
every function takes a number or a nested list of any rank and computes in float64.

Split from :mod:`~dlterms.reference.activations` to keep each module under 500 lines; it uses
only that module's public :func:`~dlterms.reference.activations.sigmoid`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from ._exact import two_prod, two_sum
from ._tensor import Nested, choice, finite_scalar, same_shape, tensor, unflatten
from .activations import sigmoid

__all__ = [
    "elu",
    "elu_vjp",
    "gelu",
    "gelu_vjp",
    "log_sigmoid",
    "log_sigmoid_vjp",
    "softplus",
    "softplus_vjp",
]


def _elementwise(fn: str, x: Nested, f: Callable[[float], float]) -> Nested:
    """``f`` of each element of ``x``."""
    shape, flat = tensor(fn, "x", x)
    return unflatten([f(v) for v in flat], shape)


def _elementwise_vjp(fn: str, x: Nested, cotangent: Nested, df: Callable[[float], float]) -> Nested:
    """``cotangent · df(x)`` elementwise (``df`` the derivative)."""
    shape, flat = tensor(fn, "x", x)
    g_shape, g = tensor(fn, "cotangent", cotangent)
    same_shape(fn, "cotangent", g_shape, "x", shape)
    return unflatten([gi * df(xi) for xi, gi in zip(flat, g, strict=True)], shape)


def _sigma(t: float) -> float:
    return sigmoid(t)  # the public sigmoid of a number (a 0-d tensor), within about 1 ulp


# --- e^a scaled: a result that is a normal number although e^a is not --------------------------

_LN2 = (0.6931471805599453, 2.3190468138462996e-17)  # ln 2 = hi + lo to 106 bits (mpmath)
_SCALE = 128  # e^(a + 128·ln 2) is a normal number for every a whose c·e^a does not round to 0


def _times_exp_of(c: float, a: float, a_lo: float) -> float:
    """``c·e^(a + a_lo)`` rounded about once, at the end, for ``|a_lo| ≪ 1``.

    Below a = −700, e^a is subnormal or nearly so; it is computed as 2^−128·e^(a + 128 ln 2),
    the exponent's sum kept exactly (two_sum), its error folded in to first order, and the
    product scaled back with ldexp, which rounds once when the result is subnormal.
    """
    scale = _SCALE if a < -700.0 else 0
    b, b_err = two_sum(a, scale * _LN2[0])
    b_err += scale * _LN2[1] + a_lo
    y = c * math.exp(b)
    return math.ldexp(y + y * b_err, -scale)


# --- GELU ----------------------------------------------------------------------------------------

_INV_SQRT2 = (0.7071067811865476, -4.833646656726457e-17)  # 1/√2 = hi + lo (mpmath)
_INV_SQRT_2PI = 0.3989422804014327  # 1/√(2π), rounded once
_TWO_OVER_SQRT_PI = 1.1283791670955126  # 2/√π: only in a first-order correction
_SQRT_2_OVER_PI = (0.7978845608028654, -4.98465440455546e-17)  # √(2/π) = hi + lo (mpmath)
_KAPPA = (0.044715, 2.1960211427085595e-18)  # the tanh form's 0.044715 (a decimal) = hi + lo
_TAIL = -37.0  # below, Φ(x) is subnormal within a unit of x: x·Φ(x) by the asymptotic series
_ONE = 9.0  # above, 1 − Φ(x) < 2^−60 and x·φ(x) < 2^−56: gelu(x) rounds to x, gelu'(x) to 1
_APPROXIMATIONS = ("none", "tanh")


def _gaussian_times(c: float, x: float) -> float:
    """``c·e^(−x²/2)`` rounded about once: x² = hi + lo exactly (two_prod), then :func:`_times_exp_of`."""
    if abs(x) > 40.0:  # e^(−x²/2) < 2^−1154: the product rounds to 0 for every c used here
        return math.copysign(0.0, c)
    sq, sq_err = two_prod(x, x)
    return _times_exp_of(c, -0.5 * sq, -0.5 * sq_err)


def _tail_series(x: float) -> float:
    """``Σ (−1)^k (2k−1)!!/x^(2k)``: x·Φ(x) = −φ(x)·this for x ≪ 0 (Abramowitz and Stegun 26.2.12)."""
    w = 1.0 / (x * x)
    total, term = 1.0, 1.0
    for k in range(1, 12):  # the 12th term is below 2^−70 for |x| ≥ 37
        term *= -(2 * k - 1) * w
        total += term
    return total


def _cdf(x: float) -> float:
    """Φ(x) = ½·erfc(−x/√2) for x ≥ −37, with −x/√2 carried as hi + lo (erfc's argument rounded
    once would cost ~x² ulp in the left tail: erfc(t + δ) ≈ erfc(t) − (2/√π)e^(−t²)·δ)."""
    t, t_err = two_prod(-x, _INV_SQRT2[0])
    t_err += -x * _INV_SQRT2[1]
    return 0.5 * (math.erfc(t) - _TWO_OVER_SQRT_PI * math.exp(-t * t) * t_err)


def _gelu_exact(x: float) -> float:
    # x·Φ(x): erfc, never 1 + erf (which cancels for x ≪ 0). Below −37 Φ(x) is subnormal while
    # x·Φ(x) is normal down to −37.6; there x·Φ(x) = −φ(x)·(1 − 1/x² + 3/x⁴ − …), φ scaled.
    # gelu(−∞) is the indeterminate −∞·0; the reference gives the limit from below, −0.0.
    if math.isnan(x) or x >= _ONE:
        return x
    if x < _TAIL:
        return _gaussian_times(-_INV_SQRT_2PI * _tail_series(x), x)
    return x * _cdf(x)


def _gelu_exact_derivative(x: float) -> float:
    # Φ(x) + x·φ(x); where Φ(x) = φ(x)·S(x)/|x| (x < −37): −φ(x)·(|x| − S(x)/|x|). The terms cancel
    # at the minimum of gelu, x ≈ −0.7518 (no method in float64 keeps relative accuracy there).
    if math.isnan(x):
        return x
    if x >= _ONE:
        return 1.0
    if x < _TAIL:
        return _gaussian_times(-_INV_SQRT_2PI * (-x - _tail_series(x) / -x), x)
    return _cdf(x) + x * _gaussian_times(_INV_SQRT_2PI, x)


def _tanh_form_argument(x: float, slope: bool = False) -> tuple[float, float]:
    """z = 2√(2/π)(x + 0.044715x³) as hi + lo: 1 + tanh(z/2) = 2σ(z), and σ(z) ≈ e^z needs z exact.

    With ``slope``, x·z′ = 2√(2/π)(x + 3·0.044715x³) instead (z′ the derivative of z).
    """
    sq, sq_err = two_prod(x, x)
    cube, cube_err = two_prod(sq, x)
    cube_lo = cube_err + sq_err * x
    times = 3.0 if slope else 1.0  # 3·(k·x³) is exact to one more rounding, carried below
    k, k_err = two_prod(times * _KAPPA[0], cube)
    s, s_err = two_sum(x, k)
    s_lo = s_err + k_err + times * (_KAPPA[0] * cube_lo + _KAPPA[1] * cube)
    z, z_err = two_prod(_SQRT_2_OVER_PI[0], s)
    return 2.0 * z, 2.0 * (z_err + _SQRT_2_OVER_PI[0] * s_lo + _SQRT_2_OVER_PI[1] * s)


def _gelu_tanh(x: float) -> float:
    # ½x(1 + tanh(z/2)) = x·σ(z): no cancellation for x ≪ 0. σ(z + z_lo) = σ(z)(1 + σ(−z)·z_lo).
    # Beyond x = 10, σ(z) rounds to 1; below −25, x·σ(z) < 2^−1100 rounds to −0.0.
    if math.isnan(x) or x >= 10.0:
        return x
    if x < -25.0:
        return -0.0
    z, z_lo = _tanh_form_argument(x)
    if z < -700.0:  # σ(z) = e^z to float64 precision, and subnormal
        return _times_exp_of(x, z, z_lo)
    return x * (_sigma(z) * (1.0 + _sigma(-z) * z_lo))


def _gelu_tanh_derivative(x: float) -> float:
    # d/dx x·σ(z) = σ(z)·(1 + x·z′·σ(−z)), x·z′ = 2√(2/π)(x + 3·0.044715x³); cancels at the minimum.
    if math.isnan(x) or x >= 10.0:
        return 1.0 if x >= 10.0 else x
    if x < -25.0:
        return -0.0
    z, z_lo = _tanh_form_argument(x)
    q = sum(_tanh_form_argument(x, slope=True))
    if z < -700.0:
        return _times_exp_of(1.0 + q, z, z_lo)
    s_minus = _sigma(-z)
    return _sigma(z) * (1.0 + s_minus * z_lo) * (1.0 + q * s_minus)


def gelu(x: Nested, approximate: str = "none") -> Nested:
    r"""Gaussian error linear unit, elementwise: x·Φ(x), or its tanh approximation.

    .. math:: \operatorname{GELU}(x) = x\,\Phi(x) = \tfrac{x}{2}\operatorname{erfc}\!\bigl(-x/\sqrt{2}\bigr),
        \qquad
        \operatorname{GELU}_{\tanh}(x) = \tfrac{x}{2}\Bigl(1 + \tanh\bigl(\sqrt{2/\pi}\,(x + 0.044715\,x^3)\bigr)\Bigr)

    with Φ the standard normal distribution function; ``approximate`` is ``"none"`` (the exact
    form, the default) or ``"tanh"``. Citation: ``hendrycks2016gaussian`` (both forms).

    Accuracy: within 4 ulp (measured: 3.7; the C library's erfc alone, 2.3). Φ(x) is
    ½·erfc(−x/√2) with the argument carried to 106 bits, never
    ½(1 + erf(x/√2)), which cancels for x ≪ 0; below x = −37, where Φ(x) is subnormal,
    x·Φ(x) = −φ(x)(1 − 1/x² + 3/x⁴ − …) with φ scaled into the normal range. The tanh form is
    computed as x·σ(2√(2/π)(x + 0.044715x³)) (1 + tanh(z/2) = 2σ(z)), with the argument carried
    to 106 bits. ``gelu(−∞)`` is ``−0.0``, the limit (the expression is −∞·0 there).

    >>> gelu([0.0, 1.0])
    [0.0, 0.841344746068543]
    """
    form = choice("gelu", "approximate", approximate, _APPROXIMATIONS)
    return _elementwise("gelu", x, _gelu_exact if form == "none" else _gelu_tanh)


def gelu_vjp(x: Nested, cotangent: Nested, approximate: str = "none") -> Nested:
    r"""Vector-Jacobian product of :func:`gelu`: :math:`g \cdot (\Phi(x) + x\,\varphi(x))`, or of the tanh form.

    φ(x) = e^(−x²/2)/√(2π) with x² carried to 106 bits (rounded, it would cost ~x² ulp). Within
    4 ulp (measured: 3.4) of the larger of the result and its terms Φ(x), x·φ(x): they cancel where the
    derivative is 0, at the minimum of GELU (x ≈ −0.7518; −0.7544 for the tanh form).
    """
    form = choice("gelu_vjp", "approximate", approximate, _APPROXIMATIONS)
    df = _gelu_exact_derivative if form == "none" else _gelu_tanh_derivative
    return _elementwise_vjp("gelu_vjp", x, cotangent, df)


# --- ELU -----------------------------------------------------------------------------------------


def _elu(x: float, alpha: float) -> float:
    # α·expm1(x), never α(e^x − 1), which cancels near 0; elu(−∞) = α·(−1) = −α. NaN propagates.
    return x if x > 0 or math.isnan(x) else alpha * math.expm1(x)


def _elu_derivative(x: float, alpha: float) -> float:
    # 1 above 0, α·e^x at and below it (α at 0: the left derivative, PyTorch's and JAX's choice).
    return 1.0 if x > 0 else (x if math.isnan(x) else alpha * math.exp(x))


def elu(x: Nested, alpha: float = 1.0) -> Nested:
    r"""Exponential linear unit, elementwise.

    .. math:: \operatorname{ELU}(x) = \begin{cases} x & x > 0 \\ \alpha\,(e^{x} - 1) & x \le 0 \end{cases}

    with ``alpha`` = α (default 1.0). Citation: ``clevert2016fast``.

    Accuracy: within 2 ulp (``alpha·expm1(x)``: two roundings; e^x − 1 would lose every digit
    near 0). The derivative at 0 is taken to be α, the left one (continuous when α = 1).

    >>> elu([-1.0, 2.0])
    [-0.6321205588285577, 2.0]
    """
    a = finite_scalar("elu", "alpha", alpha)
    return _elementwise("elu", x, lambda v: _elu(v, a))


def elu_vjp(x: Nested, cotangent: Nested, alpha: float = 1.0) -> Nested:
    r"""Vector-Jacobian product of :func:`elu`: :math:`g` where x > 0, else :math:`g\,\alpha e^{x}`."""
    a = finite_scalar("elu_vjp", "alpha", alpha)
    return _elementwise_vjp("elu_vjp", x, cotangent, lambda v: _elu_derivative(v, a))


# --- softplus and log-sigmoid --------------------------------------------------------------------


def _beta(fn: str, beta: object) -> float:
    b = finite_scalar(fn, "beta", beta)
    if b <= 0:
        raise ValueError(f"{fn}: beta={b!r}; expected a finite real number > 0")
    return b


def _softplus(x: float, beta: float) -> float:
    # log(1 + e^(βx))/β, exact in both tails: log1p(e^(βx))/β for βx ≤ 0 (e^(βx) never overflows)
    # and x + log1p(e^(−βx))/β above (both terms positive: no cancellation). No threshold: the
    # function itself, which PyTorch replaces by x above βx > 20 (a convention, measured).
    t = beta * x
    if math.isnan(t):
        return t
    if t <= 0:
        return math.log1p(math.exp(t)) / beta
    return x + math.log1p(math.exp(-t)) / beta


def softplus(x: Nested, beta: float = 1.0) -> Nested:
    r"""Softplus, a smooth ReLU, elementwise.

    .. math:: \operatorname{softplus}(x) = \tfrac{1}{\beta}\log\bigl(1 + e^{\beta x}\bigr)

    with ``beta`` = β > 0 (default 1.0). Citation: ``dugas2001incorporating``.

    The exact function everywhere: no threshold above which x is returned instead (PyTorch's
    ``threshold=20`` is a convention, reported by ``dlterms conventions``). Accuracy: within 2 ulp
    (``log1p`` of e^(−|βx|), so nothing overflows or cancels).

    >>> softplus([0.0, 1.0])
    [0.6931471805599453, 1.3132616875182228]
    """
    b = _beta("softplus", beta)
    return _elementwise("softplus", x, lambda v: _softplus(v, b))


def softplus_vjp(x: Nested, cotangent: Nested, beta: float = 1.0) -> Nested:
    r"""Vector-Jacobian product of :func:`softplus`: :math:`g \cdot \sigma(\beta x)`."""
    b = _beta("softplus_vjp", beta)
    return _elementwise_vjp("softplus_vjp", x, cotangent, lambda v: _sigma(b * v))


def _log_sigmoid(x: float) -> float:
    # −softplus(−x) = −log1p(e^(−x)) for x ≥ 0, x − log1p(e^x) below (two negative terms: no
    # cancellation); log(σ(x)) would be log(0) = −∞ once σ(x) underflows (x < −745).
    if x >= 0:
        return 0.0 - math.log1p(math.exp(-x))  # 0.0 −: log σ(+∞) = log 1 = +0.0, not −0.0
    return x - math.log1p(math.exp(x)) if x < 0 else x  # NaN propagates


def log_sigmoid(x: Nested) -> Nested:
    r"""Logarithm of the sigmoid, elementwise: −softplus(−x).

    .. math:: \log\sigma(x) = -\log\bigl(1 + e^{-x}\bigr) = -\operatorname{softplus}(-x)

    Citation: ``dugas2001incorporating`` (softplus). Finite for every finite x (log σ(x) → x as
    x → −∞), where log(sigmoid(x)) would be −∞ below x = −745.

    Accuracy: within 2 ulp (``log1p`` of e^(−|x|), the two terms of one sign).

    >>> log_sigmoid([0.0, -1000.0])
    [-0.6931471805599453, -1000.0]
    """
    return _elementwise("log_sigmoid", x, _log_sigmoid)


def log_sigmoid_vjp(x: Nested, cotangent: Nested) -> Nested:
    r"""Vector-Jacobian product of :func:`log_sigmoid`: :math:`g \cdot \sigma(-x)` (1 − σ(x), not subtracted)."""
    return _elementwise_vjp("log_sigmoid_vjp", x, cotangent, lambda v: _sigma(-v))
