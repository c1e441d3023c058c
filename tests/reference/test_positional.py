"""The reference positional encoding and RoPE: against mpmath, hand-checked values, their VJPs, bad input."""

from __future__ import annotations

import math
import random

import mpmath
import pytest
from dlterms.reference import (
    rotary_embedding,
    rotary_embedding_vjp,
    sinusoidal_positional_encoding,
    sinusoidal_positional_encoding_vjp,
)

mpmath.mp.dps = 50
U = 2.0**-53


def _mp_omega(i: int, d: int, base: float) -> mpmath.mpf:
    return mpmath.power(mpmath.mpf(base), mpmath.mpf(-2 * i) / d)


def test_position_zero_is_sin_zero_and_cos_zero() -> None:
    """At position 0 every angle is 0: the row is (sin 0, cos 0) = (0, 1) per pair."""
    assert sinusoidal_positional_encoding([0.0], 6) == [[0.0, 1.0, 0.0, 1.0, 0.0, 1.0]]


def test_the_second_frequency_of_four_columns_is_a_hundredth() -> None:
    """d = 4, base 10000: ω = (1, 10000^(−1/2) = 0.01), so position 100 has angles 100 and 1."""
    got = sinusoidal_positional_encoding([100.0], 4)[0]
    assert got == pytest.approx([math.sin(100.0), math.cos(100.0), math.sin(1.0), math.cos(1.0)], rel=1e-14)


def test_base_one_gives_every_pair_the_same_angle() -> None:
    """base = 1: ω_i = 1 for every i, so each pair is (sin p, cos p)."""
    assert sinusoidal_positional_encoding([2.0], 4, base=1.0) == [[math.sin(2.0), math.cos(2.0)] * 2]


def test_encoding_is_within_its_rounding_bound_of_50_digits() -> None:
    """Positions to 4,096 and widths 8 and 64 agree with mpmath's sin(p·ω_i), cos(p·ω_i) within u + 3u·|p·ω_i|:
    ω_i (a pow) and p·ω_i rounded once each, then a correctly rounded sin or cos."""
    rng = random.Random(5)
    for d in (8, 64):
        positions = [float(rng.randrange(4096)) for _ in range(6)] + [rng.uniform(0, 100) for _ in range(3)]
        got = sinusoidal_positional_encoding(positions, d)
        for p, row in zip(positions, got, strict=True):
            for i in range(d // 2):
                theta = mpmath.mpf(p) * _mp_omega(i, d, 10000.0)
                for value, exact in ((row[2 * i], mpmath.sin(theta)), (row[2 * i + 1], mpmath.cos(theta))):
                    assert abs(value - float(exact)) <= U + 3 * U * float(abs(theta)), (p, i)


def test_encoding_vjp_matches_central_differences_in_50_digits() -> None:
    """⟨ḡ, J·u⟩ from the VJP equals the 50-digit central difference of Σ ḡ·PE along a direction u."""
    rng = random.Random(2)
    positions, d = [0.0, 3.5, 17.0], 6
    g = [[rng.uniform(-1, 1) for _ in range(d)] for _ in positions]
    u = [rng.uniform(-1, 1) for _ in positions]
    grad = sinusoidal_positional_encoding_vjp(positions, g, d)

    def f(t: mpmath.mpf) -> mpmath.mpf:
        total = mpmath.mpf(0)
        for p, up, gr in zip(positions, u, g, strict=True):
            for i in range(d // 2):
                theta = (mpmath.mpf(p) + t * up) * _mp_omega(i, d, 10000.0)
                total += gr[2 * i] * mpmath.sin(theta) + gr[2 * i + 1] * mpmath.cos(theta)
        return total

    h = mpmath.mpf("1e-20")
    want = float((f(h) - f(-h)) / (2 * h))
    assert math.fsum(a * b for a, b in zip(grad, u, strict=True)) == pytest.approx(want, rel=1e-13, abs=1e-15)


@pytest.mark.parametrize(
    ("kwargs", "error", "says"),
    [
        ({"d_model": 5}, ValueError, "d_model=5; expected an even number >= 2"),
        ({"d_model": 0}, ValueError, "d_model=0; expected an even number >= 2"),
        ({"d_model": 4.0}, TypeError, "d_model is float 4.0; expected an int"),
        ({"positions": [[0.0]]}, ValueError, "positions.shape=(1, 1); expected (L,)"),
        ({"base": 0.0}, ValueError, "base=0.0; expected a finite number > 0"),
        ({"base": math.inf}, ValueError, "base=inf; expected a finite real number"),
    ],
)
def test_encoding_bad_input_is_refused_naming_the_argument(kwargs: dict, error: type, says: str) -> None:
    """Each bad argument raises an error that names it, its value or shape, and what was expected."""
    call = {"positions": [0.0, 1.0], "d_model": 4, **kwargs}
    with pytest.raises(error) as info:
        sinusoidal_positional_encoding(**call)
    assert says in str(info.value)
    assert str(info.value).startswith("sinusoidal_positional_encoding: ")


# --- rotary position embedding ----------------------------------------------------------------------------


def _turned(xa: float, xb: float, theta: float) -> list[float]:
    return [xa * math.cos(theta) - xb * math.sin(theta), xa * math.sin(theta) + xb * math.cos(theta)]


def test_a_pair_turns_counterclockwise_by_the_position() -> None:
    """D = 2: ω_0 = 1, so (1, 0) at position 1 goes to (cos 1, sin 1): counterclockwise by one radian."""
    assert rotary_embedding([[1.0, 0.0]], [1.0]) == [[math.cos(1.0), math.sin(1.0)]]


def test_interleaved_pairs_neighbours_and_halves_pair_across() -> None:
    """x = (1, 2, 3, 4) at position 1, ω = (1, 0.01): interleaved turns (1, 2) by 1 and (3, 4) by 0.01; split
    halves turns (1, 3) by 1 and (2, 4) by 0.01, writing each pair back to its own columns."""
    x = [[1.0, 2.0, 3.0, 4.0]]
    interleaved = rotary_embedding(x, [1.0], interleaved=True)[0]
    assert interleaved == pytest.approx(_turned(1.0, 2.0, 1.0) + _turned(3.0, 4.0, 0.01), rel=1e-14)
    halves = rotary_embedding(x, [1.0], interleaved=False)[0]
    (a0, b0), (a1, b1) = _turned(1.0, 3.0, 1.0), _turned(2.0, 4.0, 0.01)
    assert halves == pytest.approx([a0, a1, b0, b1], rel=1e-14)


def test_each_row_takes_its_own_position_for_every_leading_index() -> None:
    """x (2, 2, 2): row l of both leading indices is turned by positions[l] (0 and 1)."""
    x = [[[1.0, 0.0], [1.0, 0.0]], [[0.0, 2.0], [0.0, 2.0]]]
    got = rotary_embedding(x, [0.0, 1.0])
    assert got == [[[1.0, 0.0], [math.cos(1.0), math.sin(1.0)]], [[0.0, 2.0], [-2 * math.sin(1.0), 2 * math.cos(1.0)]]]


def _mp_rope(x: list[float], p: mpmath.mpf, base: float, interleaved: bool) -> list[mpmath.mpf]:
    d = len(x)
    out = [mpmath.mpf(0)] * d
    for i in range(d // 2):
        a, b = (2 * i, 2 * i + 1) if interleaved else (i, i + d // 2)
        theta = p * _mp_omega(i, d, base)
        c, s = mpmath.cos(theta), mpmath.sin(theta)
        out[a], out[b] = x[a] * c - x[b] * s, x[a] * s + x[b] * c
    return out


@pytest.mark.parametrize("interleaved", [True, False])
def test_rotation_is_within_its_rounding_bound_of_50_digits(interleaved: bool) -> None:
    """Random rows of 8 features at positions to 4,096 agree with mpmath within
    u·|y| + 3u·(|x_a| + |x_b|)·(1 + |p·ω_i|) per output."""
    rng = random.Random(11)
    d = 8
    for _ in range(20):
        x = [rng.uniform(-3, 3) for _ in range(d)]
        p = float(rng.randrange(4096))
        got = rotary_embedding([x], [p], interleaved=interleaved)[0]
        want = _mp_rope(x, mpmath.mpf(p), 10000.0, interleaved)
        for i in range(d // 2):
            a, b = (2 * i, 2 * i + 1) if interleaved else (i, i + d // 2)
            theta = p * 10000.0 ** (-2 * i / d)
            for k in (a, b):
                bound = U * abs(float(want[k])) + 3 * U * (abs(x[a]) + abs(x[b])) * (1 + theta)
                assert abs(got[k] - float(want[k])) <= bound


@pytest.mark.parametrize("interleaved", [True, False])
def test_rotary_vjp_matches_central_differences_in_50_digits(interleaved: bool) -> None:
    """⟨ḡ, J·u⟩ from the VJP, for x and for the positions, equals mpmath's 50-digit central difference."""
    rng = random.Random(4)
    x = [[[rng.uniform(-2, 2) for _ in range(6)] for _ in range(3)] for _ in range(2)]  # (2, 3, 6)
    positions = [0.0, 2.5, 40.0]
    g = [[[rng.uniform(-1, 1) for _ in range(6)] for _ in range(3)] for _ in range(2)]
    dx, dp = rotary_embedding_vjp(x, positions, g, interleaved=interleaved)
    ux = [[[rng.uniform(-1, 1) for _ in range(6)] for _ in range(3)] for _ in range(2)]
    up = [rng.uniform(-1, 1) for _ in positions]
    h = mpmath.mpf("1e-20")
    for name in ("x", "positions"):

        def f(t: mpmath.mpf, name: str = name) -> mpmath.mpf:
            total = mpmath.mpf(0)
            for n in range(2):
                for row in range(3):
                    xs = [mpmath.mpf(v) + (t * ux[n][row][k] if name == "x" else 0) for k, v in enumerate(x[n][row])]
                    p = mpmath.mpf(positions[row]) + (t * up[row] if name == "positions" else 0)
                    y = _mp_rope(xs, p, 10000.0, interleaved)
                    total += mpmath.fsum(gi * yi for gi, yi in zip(g[n][row], y, strict=True))
            return total

        want = float((f(h) - f(-h)) / (2 * h))
        if name == "x":
            got = math.fsum(a * b for n in range(2) for r in range(3) for a, b in zip(dx[n][r], ux[n][r], strict=True))
        else:
            got = math.fsum(a * b for a, b in zip(dp, up, strict=True))
        assert got == pytest.approx(want, rel=1e-13, abs=1e-14), name


@pytest.mark.parametrize(
    ("kwargs", "error", "says"),
    [
        ({"x": [1.0, 2.0]}, ValueError, "x.shape=(2,); expected (…, L, D)"),
        ({"x": [[1.0, 2.0, 3.0]]}, ValueError, "x.shape[-1]=3; expected an even number >= 2"),
        ({"positions": [0.0, 1.0]}, ValueError, "positions.shape=(2,) but x.shape=(1, 2); expected one position"),
        ({"interleaved": 1}, TypeError, "interleaved=1; expected True (x[2i], x[2i + 1]) or False"),
        ({"base": -2.0}, ValueError, "base=-2.0; expected a finite number > 0"),
    ],
)
def test_rotary_bad_input_is_refused_naming_the_argument(kwargs: dict, error: type, says: str) -> None:
    """Each bad argument raises an error that names it, its value or shape, and what was expected."""
    call = {"x": [[1.0, 2.0]], "positions": [0.0], **kwargs}
    with pytest.raises(error) as info:
        rotary_embedding(**call)
    assert says in str(info.value)
    assert str(info.value).startswith("rotary_embedding: ")
