"""Exact arithmetic: sums rounded once, and error-free transformations of a sum or a product.

:func:`exact_sum` adds any number of terms with a single rounding (so the
result does not depend on their order), and gives the IEEE value where
:func:`math.fsum` would raise (``inf − inf`` is NaN; a sum that overflows is ±inf,
one whose partial sums overflow but not its total is that total);
:func:`exact_mean` divides it by the count, finite wherever the mean is.

:func:`two_sum` (Knuth) and :func:`two_prod` (Dekker, with Veltkamp's split)
return the rounded result *and* the exact error it made, so that a formula can
carry what rounding would otherwise lose; :func:`divide` builds on them a
division by such an unevaluated sum ``d_hi + d_lo``, rounded once at the end.
The reference uses them where one rounding too many shows in the last bits:
``t − max`` before the exponential of softmax (the subtraction is not exact
when ``t`` and the max differ in sign or scale), and the divisions of sigmoid
and of the derivatives of sigmoid and tanh.

References: D. E. Knuth, *The Art of Computer Programming* vol. 2, §4.2.2
(TwoSum); T. J. Dekker, "A floating-point technique for extending the
available precision", Numer. Math. 18 (1971) 224-242, doi:10.1007/BF01397083
(TwoProduct, Veltkamp's split).
"""

from __future__ import annotations

import math

__all__ = ["divide", "exact_mean", "exact_sum", "two_prod", "two_sum"]

_SPLIT = 134217729.0  # 2^27 + 1: Veltkamp's constant, splits a float64 into two 26-bit halves
_SAFE = (2.0**-968, 2.0**996)  # two_prod is exact when |a·b| >= 2^-968 (no underflow) and |a|, |b| < 2^996


def exact_sum(terms: list[float]) -> float:
    """The sum of ``terms`` rounded once (:func:`math.fsum`), with IEEE special values where fsum raises."""
    # fsum is exact to one rounding, but raises where IEEE arithmetic gives a
    # special value: inf + (−inf) is NaN, and an overflowing sum is ±inf.
    try:
        return math.fsum(terms)
    except ValueError:
        return math.nan
    except OverflowError:
        return _scaled_fsum(terms)


def exact_mean(terms: list[float]) -> float:
    """The mean of ``terms``: :func:`exact_sum` divided by their number (NaN for none), finite wherever the
    mean of finite terms is, even where their sum overflows (then summed scaled down by 2^k and scaled back)."""
    if not terms:
        return math.nan
    total = exact_sum(terms)
    if not math.isinf(total) or not all(math.isfinite(t) for t in terms):
        return total / len(terms)
    k = len(terms).bit_length() + 1
    return math.ldexp(math.fsum(math.ldexp(t, -k) for t in terms) / len(terms), k)


def _scaled_fsum(terms: list[float]) -> float:
    """fsum of finite terms whose partial sums overflow: scaled down by 2^k so that no partial sum can
    (|Σ| ≤ n·max < 2^k·max), summed with one rounding, and scaled back: ±inf only if the sum itself
    overflows. Scaling by a power of 2 is exact but for terms pushed below 2^−1022 by it, which lose
    bits worth at most n·2^−1074, far below an ulp of a sum that overflowed."""
    k = len(terms).bit_length() + 1
    total = math.fsum(math.ldexp(t, -k) for t in terms)
    try:
        return math.ldexp(total, k)
    except OverflowError:
        return math.copysign(math.inf, total)


def two_sum(a: float, b: float) -> tuple[float, float]:
    """``(s, err)`` with ``s = fl(a + b)`` and ``a + b = s + err`` exactly (finite ``a``, ``b``, no overflow)."""
    s = a + b
    b_virtual = s - a
    return s, (a - (s - b_virtual)) + (b - b_virtual)


def _split(a: float) -> tuple[float, float]:
    c = _SPLIT * a
    hi = c - (c - a)
    return hi, a - hi


def two_prod(a: float, b: float) -> tuple[float, float]:
    """``(p, err)`` with ``p = fl(a·b)`` and ``a·b = p + err`` exactly (in the range of :data:`_SAFE`)."""
    p = a * b
    a_hi, a_lo = _split(a)
    b_hi, b_lo = _split(b)
    return p, ((a_hi * b_hi - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo


def divide(n: float, d_hi: float, d_lo: float) -> float:
    """``n / (d_hi + d_lo)`` for ``|d_lo| <= ulp(d_hi)``, with a single rounding at the end.

    The quotient ``q = fl(n / d_hi)`` is corrected by the exact remainder
    ``n − q·d_hi`` and by ``d_lo``, so the result is within 0.5 ulp (plus
    about 2^-100 relative) of the exact quotient. Outside the range where the
    remainder is exact (tiny or huge values) ``d_lo`` is still applied.
    """
    q = n / d_hi
    if not (_SAFE[0] <= abs(q * d_hi) and abs(q) < _SAFE[1] and abs(d_hi) < _SAFE[1]):
        return q - q * (d_lo / d_hi) if math.isfinite(q) and q else q
    p, p_err = two_prod(q, d_hi)
    remainder = (n - p) - p_err  # n − p is exact (Sterbenz: p is within a factor 2 of n)
    return q + (remainder - q * d_lo) / d_hi
