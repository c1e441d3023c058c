"""Positions: the Transformer's sinusoidal positional encoding and rotary position embedding (RoPE), with VJPs.

Section: *attention*. Both give frequency i of a d-dimensional vector the angular frequency
ω_i = base^(−2i/d) (i = 0 … d/2 − 1; base 10000 by default), so that a position p turns pair i
by the angle p·ω_i: from one turn per position (i = 0) down to one turn in 2π·base positions.

* :func:`sinusoidal_positional_encoding` writes sin(p·ω_i) and cos(p·ω_i) into columns 2i and
  2i + 1 (Vaswani et al. 2017, §3.5, interleaved per pair), a vector added to the embedding;
* :func:`rotary_embedding` rotates each pair of features of x by the angle p·ω_i (Su et al.
  2021, RoFormer, eq. 34), so that the dot product of a rotated query and key depends on their
  positions only through m − n. The pair of frequency i is (x[2i], x[2i + 1]) with
  ``interleaved=True`` (the paper's, GPT-J's and torchtune's), or (x[i], x[i + d/2]) with
  ``interleaved=False`` (GPT-NeoX's and Hugging Face Llama's ``rotate_half``, keras_hub's).

Positions are real numbers (a tensor, so that a strategy draws them and a gradient exists);
a position that is not finite gives NaN, as sin(±∞) is undefined. d must be even: each
frequency has two columns.
"""

from __future__ import annotations

import math

from ._tensor import Nested, finite_scalar, integer, tensor, unflatten

__all__ = [
    "rotary_embedding",
    "rotary_embedding_vjp",
    "sinusoidal_positional_encoding",
    "sinusoidal_positional_encoding_vjp",
]


def frequencies(fn: str, d: int, base: object) -> list[float]:
    """ω_i = base^(−2i/d) for i = 0 … d/2 − 1 (``base`` a finite number > 0; d even, checked by the caller)."""
    b = finite_scalar(fn, "base", base)
    if b <= 0:
        raise ValueError(f"{fn}: base={b!r}; expected a finite number > 0 (the longest wavelength is 2π·base)")
    return [b ** (-2.0 * i / d) for i in range(d // 2)]


def _even(fn: str, name: str, d: int) -> int:
    if d < 2 or d % 2:
        raise ValueError(f"{fn}: {name}={d}; expected an even number >= 2 (each frequency has two features)")
    return d


def _positions(fn: str, positions: Nested) -> list[float]:
    shape, flat = tensor(fn, "positions", positions)
    if len(shape) != 1:
        raise ValueError(f"{fn}: positions.shape={shape}; expected (L,): one position per row")
    return flat


def _sin_cos(theta: float) -> tuple[float, float]:
    # math.sin(±inf) raises; IEEE 754 gives NaN (an invalid operation), as every framework does.
    if not math.isfinite(theta):
        return math.nan, math.nan
    return math.sin(theta), math.cos(theta)


def sinusoidal_positional_encoding(positions: Nested, d_model: int, base: float = 10000.0) -> Nested:
    r"""The sinusoidal positional encoding of ``positions`` (L,): an (L, d_model) table, sin and cos per pair.

    .. math:: \mathrm{PE}_{p,2i} = \sin(p\,\omega_i),\quad \mathrm{PE}_{p,2i+1} = \cos(p\,\omega_i)

    with ω_i = b^(−2i/d), d = ``d_model`` (even) and b = ``base``. Row p is a point on d/2 circles; moving k
    positions rotates pair i by k·ω_i, a linear map that does not depend on p. Citation:
    ``vaswani2017attention``.

    Accuracy: ω_i (a pow, within an ulp) and p·ω_i are each rounded once, so the angle is within
    2u·|p·ω_i| and an entry within u + 3u·|p·ω_i| of the exact one (u = 2⁻⁵³; tested against 50 digits).

    >>> sinusoidal_positional_encoding([0.0], 4)
    [[0.0, 1.0, 0.0, 1.0]]
    """
    fn = "sinusoidal_positional_encoding"
    p = _positions(fn, positions)
    d = _even(fn, "d_model", integer(fn, "d_model", d_model))
    omega = frequencies(fn, d, base)
    out: list[float] = []
    for pos in p:
        for w in omega:
            out.extend(_sin_cos(pos * w))
    return unflatten(out, (len(p), d))


def sinusoidal_positional_encoding_vjp(
    positions: Nested, cotangent: Nested, d_model: int, base: float = 10000.0
) -> Nested:
    r"""VJP of :func:`sinusoidal_positional_encoding` with respect to ``positions``.

    .. math:: \bar p = \sum_i \omega_i\,\bigl(\bar G_{p,2i}\cos(p\,\omega_i) - \bar G_{p,2i+1}\sin(p\,\omega_i)\bigr)
    """
    fn = "sinusoidal_positional_encoding_vjp"
    p = _positions(fn, positions)
    d = _even(fn, "d_model", integer(fn, "d_model", d_model))
    omega = frequencies(fn, d, base)
    g_shape, g = tensor(fn, "cotangent", cotangent)
    if g_shape != (len(p), d):
        raise ValueError(f"{fn}: cotangent.shape={g_shape}; expected the output's shape {(len(p), d)}")
    out = []
    for row, pos in enumerate(p):
        terms = []
        for i, w in enumerate(omega):
            s, c = _sin_cos(pos * w)
            terms += [w * g[row * d + 2 * i] * c, -w * g[row * d + 2 * i + 1] * s]
        out.append(math.fsum(terms) if all(math.isfinite(t) for t in terms) else math.nan)
    return out


class _Rotation:
    """A checked rotary call: x flat with shape (…, L, D), the positions, the frequencies and the pairing."""

    def __init__(self, fn: str, x: Nested, positions: Nested, base: object, interleaved: object) -> None:
        self.shape, self.x = tensor(fn, "x", x)
        if len(self.shape) < 2:
            raise ValueError(f"{fn}: x.shape={self.shape}; expected (…, L, D): L positions of D features")
        self.length, self.d = self.shape[-2], _even(fn, "x.shape[-1]", self.shape[-1])
        self.p = _positions(fn, positions)
        if len(self.p) != self.length:
            raise ValueError(
                f"{fn}: positions.shape={(len(self.p),)} but x.shape={self.shape}; expected one position per row "
                f"of x (positions.shape == ({self.length},))"
            )
        if not isinstance(interleaved, bool):
            raise TypeError(f"{fn}: interleaved={interleaved!r}; expected True (x[2i], x[2i + 1]) or False")
        self.omega = frequencies(fn, self.d, base)
        half = self.d // 2
        # (a, b) of frequency i within a row: its rotation takes (x_a, x_b) to (x_a·c − x_b·s, x_a·s + x_b·c).
        self.pairs = [(2 * i, 2 * i + 1) if interleaved else (i, i + half) for i in range(half)]

    def rows(self) -> range:
        return range(len(self.x) // self.d)

    def angle(self, row: int, i: int) -> tuple[float, float]:
        """(sin, cos) of the angle p·ω_i of frequency ``i`` in flat row ``row`` (its position: row mod L)."""
        return _sin_cos(self.p[row % self.length] * self.omega[i])


def _sum2(first: float, second: float) -> float:
    # Correctly rounded where both are finite (fsum); IEEE's sum otherwise (fsum raises on ∞ − ∞, IEEE gives NaN).
    return math.fsum((first, second)) if math.isfinite(first) and math.isfinite(second) else first + second


def _rotate(call: _Rotation, values: list[float], sign: float) -> list[float]:
    """``values`` (the call's shape) with each pair turned by sign·p·ω_i (sign −1: the inverse rotation)."""
    out = [0.0] * len(values)
    for row in call.rows():
        base = row * call.d
        for i, (a, b) in enumerate(call.pairs):
            s, c = call.angle(row, i)
            s *= sign
            xa, xb = values[base + a], values[base + b]
            out[base + a] = _sum2(xa * c, -xb * s)
            out[base + b] = _sum2(xa * s, xb * c)
    return out


def rotary_embedding(x: Nested, positions: Nested, base: float = 10000.0, interleaved: bool = True) -> Nested:
    r"""Rotary position embedding: each pair of features of row p of ``x`` (…, L, D) turned by p·ω_i.

    .. math:: y_a = x_a\cos(p\,\omega_i) - x_b\sin(p\,\omega_i),\quad y_b = x_a\sin(p\,\omega_i) + x_b\cos(p\,\omega_i)

    with ω_i = b^(−2i/D), b = ``base``, where (a, b) = (2i, 2i + 1) with ``interleaved=True``
    (RoFormer's eq. 34) and (i, i + D/2) with ``interleaved=False`` (``rotate_half``).
    ``positions`` (L,) gives row l of every leading index the position ``positions[l]``.
    Citation: ``su2021roformer``.

    Accuracy: each output is a sum of two products, rounded once each and summed exactly
    (``fsum``), with the angle within 2u·|p·ω_i|: within u·|y| + 3u·(|x_a| + |x_b|)·(1 + |p·ω_i|).

    >>> rotary_embedding([[1.0, 0.0]], [0.0])
    [[1.0, 0.0]]
    """
    call = _Rotation("rotary_embedding", x, positions, base, interleaved)
    return unflatten(_rotate(call, call.x, 1.0), call.shape)


def rotary_embedding_vjp(
    x: Nested, positions: Nested, cotangent: Nested, base: float = 10000.0, interleaved: bool = True
) -> tuple[Nested, Nested]:
    r"""VJP of :func:`rotary_embedding` with respect to ``x`` and ``positions``.

    A rotation's transpose is its inverse: :math:`\bar x` is the cotangent turned by −p·ω_i. For the
    position, :math:`\partial y_a/\partial p = -\omega_i y_b` and :math:`\partial y_b/\partial p = \omega_i y_a`,
    so :math:`\bar p_l = \sum \omega_i(\bar y_b y_a - \bar y_a y_b)` over the pairs of row l of every leading index.
    """
    fn = "rotary_embedding_vjp"
    call = _Rotation(fn, x, positions, base, interleaved)
    g_shape, g = tensor(fn, "cotangent", cotangent)
    if g_shape != call.shape:
        raise ValueError(f"{fn}: cotangent.shape={g_shape}; expected the output's shape {call.shape}")
    dx = _rotate(call, g, -1.0)
    y = _rotate(call, call.x, 1.0)
    terms: list[list[float]] = [[] for _ in call.p]
    for row in call.rows():
        base_ = row * call.d
        for i, (a, b) in enumerate(call.pairs):
            w = call.omega[i]
            terms[row % call.length] += [w * g[base_ + b] * y[base_ + a], -w * g[base_ + a] * y[base_ + b]]
    dp = [math.fsum(t) if all(math.isfinite(v) for v in t) else math.nan for t in terms]
    return unflatten(dx, call.shape), dp
