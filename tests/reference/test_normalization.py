"""The normalization references (layer_norm, rms_norm, group_norm) against hand-computed values, identities and
high-precision finite differences of their VJPs."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from typing import Any

import mpmath
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlterms import reference as ref

NAN, INF = math.nan, math.inf


def _close(got: Any, expected: Any, rel: float = 4e-16) -> bool:
    if isinstance(expected, list):
        return len(got) == len(expected) and all(_close(g, e, rel) for g, e in zip(got, expected, strict=True))
    if math.isnan(expected):
        return math.isnan(got)
    return math.isclose(got, expected, rel_tol=rel, abs_tol=1e-300)


# --- hand-computed values ------------------------------------------------------------------------


def test_layer_norm_of_one_to_four() -> None:
    """[1, 2, 3, 4]: mean 2.5, biased variance 1.25, so z = (x − 2.5)/√1.25 = [−3, −1, 1, 3]/√5."""
    got = ref.layer_norm([1.0, 2.0, 3.0, 4.0], 4, eps=0.0)
    assert _close(got, [-3 / math.sqrt(5), -1 / math.sqrt(5), 1 / math.sqrt(5), 3 / math.sqrt(5)], 2.3e-16)


def test_layer_norm_default_eps_is_torchs() -> None:
    """[−1, 1] has variance 1: with the default ε = 1e−5 the output is ±1/√1.00001."""
    assert _close(ref.layer_norm([-1.0, 1.0], [2]), [-1 / math.sqrt(1.00001), 1 / math.sqrt(1.00001)])


def test_layer_norm_affine_map_per_position_over_the_trailing_dims() -> None:
    """Two rows normalized separately over their 2 values, then ·[2, 3] + [1, −1] position by position."""
    got = ref.layer_norm([[0.0, 2.0], [5.0, 3.0]], [2], [2.0, 3.0], [1.0, -1.0], eps=0.0)
    assert got == [[-1.0, 2.0], [3.0, -4.0]]  # z = [−1, 1] and [1, −1]


def test_layer_norm_over_two_trailing_dims() -> None:
    """normalized_shape (2, 2) normalizes the whole 2×2 block: [[0, 0], [0, 4]] has mean 1 and variance 3."""
    got = ref.layer_norm([[0.0, 0.0], [0.0, 4.0]], [2, 2], eps=0.0)
    assert _close(got, [[-1 / math.sqrt(3)] * 2, [-1 / math.sqrt(3), 3 / math.sqrt(3)]])


def test_rms_norm_of_three_four() -> None:
    """[3, 4]: mean square 12.5, so y = [3, 4]/√12.5; the default ε is float64's machine epsilon."""
    assert _close(ref.rms_norm([3.0, 4.0], 2, eps=0.0), [3 / math.sqrt(12.5), 4 / math.sqrt(12.5)])
    a = 1e-8  # a/√(a² + ε): ε = 2^−52 against a² = 1e−16 moves the result far above rounding
    assert _close(ref.rms_norm([a, a], 2), [a / math.sqrt(a * a + sys.float_info.epsilon)] * 2, 1e-15)


def test_group_norm_normalizes_each_group_of_channels() -> None:
    """Channels (0, 1) and (2, 3) of one example are normalized apart: [1, 3] → [−1, 1], [0, 10] → [−1, 1]."""
    x = [[[1.0], [3.0], [0.0], [10.0]]]
    got = ref.group_norm(x, 2, [1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 0.5, 0.5], eps=0.0)
    assert got == [[[-1.0], [2.0], [-2.5], [4.5]]]


def test_special_inputs_stay_in_their_group() -> None:
    """A NaN or an infinity makes its own group NaN (∞ − ∞); RMS divides finite values by ∞ instead."""
    assert _close(ref.layer_norm([[NAN, 1.0], [1.0, 3.0]], 2, eps=0.0), [[NAN, NAN], [-1.0, 1.0]])
    assert _close(ref.layer_norm([[INF, 1.0], [1.0, 3.0]], 2, eps=0.0), [[NAN, NAN], [-1.0, 1.0]])
    assert _close(ref.group_norm([[NAN, 1.0, 1.0, 3.0]], 2, eps=0.0), [[NAN, NAN, -1.0, 1.0]])
    got = ref.rms_norm([INF, 1.0, -2.0], 3, eps=0.0)
    assert math.isnan(got[0]) and got[1:] == [0.0, -0.0] and math.copysign(1, got[2]) == -1
    assert _close(ref.layer_norm([2.0, 2.0], 2, eps=0.0), [NAN, NAN])  # 0/0 without ε
    assert ref.layer_norm([2.0, 2.0], 2, [1.0, 1.0], [0.5, -1.0]) == [0.5, -1.0]  # ε keeps it finite: the bias


def test_huge_values_do_not_overflow_the_statistics() -> None:
    """[−1e200, 1e200]: the squares overflow float64 but the exact statistics do not: z = [−1, 1]."""
    assert ref.layer_norm([-1e200, 1e200], 2) == [-1.0, 1.0]
    assert ref.rms_norm([1e300, 1e300], 2) == [1.0, 1.0]


@settings(max_examples=80, deadline=None)
@given(
    row=st.lists(st.floats(-1e6, 1e6, allow_subnormal=False), min_size=2, max_size=6), eps=st.sampled_from([0.0, 1e-5])
)
def test_layer_norm_is_within_one_ulp_of_the_50_digit_value(row: list[float], eps: float) -> None:
    """Each z = (x − μ)/√(σ² + ε) is within 1 ulp of its 50-digit value (the docstring's bound)."""
    with mpmath.workdps(50):
        xs = [mpmath.mpf(v) for v in row]
        mu = mpmath.fsum(xs) / len(xs)
        denominator = mpmath.fsum((v - mu) ** 2 for v in xs) / len(xs) + mpmath.mpf(eps)
        if denominator == 0:
            return
        exact = [(v - mu) / mpmath.sqrt(denominator) for v in xs]
    for got, want in zip(ref.layer_norm(row, len(row), eps=eps), exact, strict=True):
        assert abs(got - float(want)) <= math.ulp(float(want)), (row, got, want)


# --- identities ------------------------------------------------------------------------------------

rows = st.lists(
    st.floats(-1e3, 1e3, allow_subnormal=False).map(lambda v: round(v * 4) / 4), min_size=2, max_size=6
).filter(lambda r: len(set(r)) > 1)


@settings(max_examples=60, deadline=None)
@given(row=rows, shift=st.sampled_from([-1024.0, 0.5, 3.0]), scale=st.sampled_from([0.25, 4.0]))
def test_layer_norm_is_invariant_to_shifting_and_to_positive_scaling(
    row: list[float], shift: float, scale: float
) -> None:
    """layer_norm(a·x + c, a²·ε) = layer_norm(x, ε) for a power of two a > 0 (exact inputs): within 1 ulp each."""
    base = ref.layer_norm(row, len(row), eps=1e-3)
    moved = ref.layer_norm([scale * v + shift for v in row], len(row), eps=1e-3 * scale * scale)
    assert all(math.isclose(a, b, rel_tol=4.5e-16, abs_tol=1e-300) for a, b in zip(base, moved, strict=True))


@settings(max_examples=60, deadline=None)
@given(row=rows)
def test_layer_norm_has_mean_zero_and_variance_below_one(row: list[float]) -> None:
    """Each normalized row sums to 0 and has mean square σ²/(σ² + ε), to a few ulp."""
    n, eps = len(row), 1e-2
    z = ref.layer_norm(row, n, eps=eps)
    mu = math.fsum(row) / n
    var = math.fsum((v - mu) ** 2 for v in row) / n
    assert abs(math.fsum(z)) <= 1e-14 * n
    assert math.isclose(math.fsum(v * v for v in z) / n, var / (var + eps), rel_tol=1e-14)


@settings(max_examples=40, deadline=None)
@given(half=rows)
def test_rms_norm_of_a_zero_mean_row_is_layer_norm(half: list[float]) -> None:
    """A row v followed by −v has mean 0: rms_norm and layer_norm then agree (the exact statistics coincide)."""
    row = half + [-v for v in half]
    assert ref.rms_norm(row, len(row), eps=1e-3) == ref.layer_norm(row, len(row), eps=1e-3)


def test_group_norm_with_one_group_is_layer_norm_and_with_c_groups_instance_norm() -> None:
    """group_norm(x, 1) = layer_norm over (C, H); group_norm(x, C) = layer_norm of each channel over H."""
    x = [[[1.0, -2.0, 0.5], [3.0, 3.5, -1.0]], [[0.0, 4.0, 2.0], [1.0, 1.0, 7.0]]]  # (N, C, H) = (2, 2, 3)
    assert ref.group_norm(x, 1) == ref.layer_norm(x, [2, 3])
    assert ref.group_norm(x, 2) == ref.layer_norm(x, [3])


# --- the VJPs against finite differences in 50 digits ----------------------------------------------


def _mp_normalize(rows: list[list[Any]], eps: Any, centred: bool) -> list[list[Any]]:
    out = []
    for row in rows:
        n = len(row)
        mu = mpmath.fsum(row) / n if centred else 0
        s = mpmath.sqrt(mpmath.fsum((v - mu) ** 2 for v in row) / n + eps)
        out.append([(v - mu) / s for v in row])
    return out


def _loss(x: list[list[Any]], w: list[Any], b: list[Any], g: list[list[float]], eps: float, centred: bool) -> Any:
    z = _mp_normalize(x, mpmath.mpf(eps), centred)
    return mpmath.fsum(
        gi * (zi * wi + bi) for zr, gr in zip(z, g, strict=True) for zi, gi, wi, bi in zip(zr, gr, w, b, strict=True)
    )


def _fd(f: Callable[[Any], Any]) -> Any:
    h = mpmath.mpf("1e-20")
    return (f(h) - f(-h)) / (2 * h)


X2 = [[0.5, -1.25, 2.0], [3.0, 1.0, 1.5]]
G2 = [[1.0, -0.5, 0.25], [0.0, 2.0, -1.0]]
W3, B3 = [2.0, -0.5, 1.5], [0.25, 0.0, -1.0]


@pytest.mark.parametrize("centred", [True, False])
def test_vjp_matches_finite_differences_in_50_digits(centred: bool) -> None:
    """layer_norm_vjp and rms_norm_vjp: each partial derivative of Σ g·y within 1e−14 of a 50-digit difference."""
    with mpmath.workdps(50):
        _check_vjp(centred)


def _check_vjp(centred: bool) -> None:
    eps = 1e-3
    if centred:
        dx, dw, db = ref.layer_norm_vjp(X2, [3], G2, W3, B3, eps=eps)
    else:
        (dx, dw), db = ref.rms_norm_vjp(X2, [3], G2, W3, eps=eps), [sum(c) for c in zip(*G2, strict=True)]
    xm = [[mpmath.mpf(v) for v in r] for r in X2]
    wm, bm = [mpmath.mpf(v) for v in W3], [mpmath.mpf(v) if centred else mpmath.mpf(0) for v in B3]
    for i in range(2):
        for j in range(3):

            def moved(h: Any, i: int = i, j: int = j) -> Any:
                x = [r[:] for r in xm]
                x[i][j] += h
                return _loss(x, wm, bm, G2, eps, centred)

            assert math.isclose(dx[i][j], float(_fd(moved)), rel_tol=1e-14, abs_tol=1e-14)
    for k in range(3):
        dwk = _fd(lambda h, k=k: _loss(xm, [w + (h if m == k else 0) for m, w in enumerate(wm)], bm, G2, eps, centred))
        assert math.isclose(dw[k], float(dwk), rel_tol=1e-14)
        if centred:
            assert math.isclose(db[k], sum(g[k] for g in G2), rel_tol=1e-15)


def test_group_norm_vjp_is_layer_norm_vjp_within_each_group() -> None:
    """With one group the input gradient of group_norm is layer_norm's over (C, H); dweight sums per channel."""
    x = [[[1.0, -2.0], [0.5, 3.0]]]  # (1, 2, 2)
    g = [[[1.0, 0.5], [-1.0, 2.0]]]
    dx, dw, db = ref.group_norm_vjp(x, 1, g, [2.0, -1.0], [0.0, 1.0], eps=1e-3)
    ln_dx, _, _ = ref.layer_norm_vjp(x, [2, 2], g, [[2.0, 2.0], [-1.0, -1.0]], eps=1e-3)
    assert _close(dx, ln_dx, 1e-15)
    z = ref.group_norm(x, 1, eps=1e-3)
    assert _close(dw, [math.fsum([1.0 * z[0][0][0], 0.5 * z[0][0][1]]), math.fsum([-z[0][1][0], 2.0 * z[0][1][1]])])
    assert db == [1.5, 1.0]


# --- bad input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: ref.layer_norm([[1.0, 2.0]], [3]), ("layer_norm", "normalized_shape=[3]", "x.shape")),
        (lambda: ref.layer_norm([1.0, 2.0], 2, [1.0]), ("layer_norm", "weight.shape", "(2,)")),
        (lambda: ref.layer_norm([1.0, 2.0], 2, eps=-1e-5), ("layer_norm", "eps=-1e-05", ">= 0")),
        (lambda: ref.layer_norm([1.0, 2.0], []), ("layer_norm", "normalized_shape", "non-empty")),
        (lambda: ref.rms_norm([1.0, 2.0], 2, eps=math.inf), ("rms_norm", "eps=inf", "finite")),
        (lambda: ref.group_norm([[1.0, 2.0, 3.0]], 2), ("group_norm", "num_groups=2", "C % num_groups")),
        (lambda: ref.group_norm([1.0, 2.0], 1), ("group_norm", "x.shape=(2,)", "(N, C, *)")),
        (lambda: ref.group_norm([[1.0, 2.0]], 0), ("group_norm", "num_groups=0", ">= 1")),
        (lambda: ref.layer_norm_vjp([1.0, 2.0], 2, [1.0]), ("layer_norm_vjp", "cotangent.shape", "x.shape")),
    ],
)
def test_bad_input_is_refused_naming_the_argument(call: Callable[[], Any], words: tuple[str, ...]) -> None:
    """Each refusal names the function, the argument with its value, and what was expected."""
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    assert all(w in str(info.value) for w in words), str(info.value)
