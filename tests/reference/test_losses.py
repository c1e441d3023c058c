"""The loss reference against exact oracles (fractions, 50-digit mpmath), its clamp, its reductions and its errors."""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import pytest
from dlterms.reference.losses import LOG_CLAMP
from hypothesis import given, settings
from hypothesis import strategies as st

from dlterms import reference as ref

mpmath.mp.dps = 50

values = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, allow_subnormal=False)
probabilities = st.floats(min_value=0.0, max_value=1.0)
inner_probabilities = st.floats(min_value=1e-6, max_value=1 - 1e-6)


def pairs(elements: st.SearchStrategy[float], max_size: int = 8) -> st.SearchStrategy[tuple[list[float], list[float]]]:
    """Two lists of one length (1..max_size)."""
    return st.integers(1, max_size).flatmap(
        lambda n: st.tuples(st.lists(elements, min_size=n, max_size=n), st.lists(elements, min_size=n, max_size=n))
    )


def logits_and_targets() -> st.SearchStrategy[tuple[list[list[float]], list[int]]]:
    """Logits (N, C) with N in 1..4, C in 1..5, and N valid class indices."""

    def build(nc: tuple[int, int]) -> st.SearchStrategy[tuple[list[list[float]], list[int]]]:
        n, c = nc
        row = st.lists(st.floats(-1e4, 1e4, allow_subnormal=False), min_size=c, max_size=c)
        return st.tuples(st.lists(row, min_size=n, max_size=n), st.lists(st.integers(0, c - 1), min_size=n, max_size=n))

    return st.tuples(st.integers(1, 4), st.integers(1, 5)).flatmap(build)


def close(got: float, exact: mpmath.mpf | Fraction, *, ulps: int) -> bool:
    """``got`` within ``ulps`` units in the last place of the exact value (absolute below the smallest normal)."""
    if isinstance(exact, Fraction):
        exact = mpmath.mpf(exact.numerator) / exact.denominator
    e = float(exact)
    return abs(mpmath.mpf(got) - exact) <= ulps * math.ulp(max(abs(e), 2.2250738585072014e-308))


# --- mean squared error --------------------------------------------------------------


@given(pairs(values))
def test_mse_loss_mean_matches_the_exact_rational_value(xy: tuple[list[float], list[float]]) -> None:
    """mse_loss(mean) is within 4 ulp of the exact rational mean of the squared differences."""
    x, y = xy
    exact = sum((Fraction(a) - Fraction(b)) ** 2 for a, b in zip(x, y, strict=True)) / len(x)
    assert close(ref.mse_loss(x, y), exact, ulps=4)


@given(pairs(values))
def test_mse_loss_sum_is_n_times_mean(xy: tuple[list[float], list[float]]) -> None:
    """reduction='sum' is N times reduction='mean', and 'none' lists the squared differences."""
    x, y = xy
    total, mean, each = ref.mse_loss(x, y, "sum"), ref.mse_loss(x, y, "mean"), ref.mse_loss(x, y, "none")
    assert math.isclose(total, len(x) * mean, rel_tol=4 * 2**-52, abs_tol=1e-300)
    assert each == [(a - b) ** 2 for a, b in zip(x, y, strict=True)]


@given(st.lists(values, min_size=1, max_size=8))
def test_mse_loss_zero_iff_equal(x: list[float]) -> None:
    """mse_loss(x, x) is exactly 0, and changing one element makes it positive."""
    assert ref.mse_loss(x, x) == 0.0
    y = [*x[:-1], x[-1] + 1.0]
    assert ref.mse_loss(x, y) > 0.0


@given(pairs(values), st.floats(-4.0, 4.0), st.sampled_from(["mean", "sum"]))
def test_mse_loss_vjp_matches_the_exact_derivative(xy, g: float, reduction: str) -> None:
    """d_input = 2 g (x − y) / n (mean) or 2 g (x − y) (sum), d_target = −d_input, within 4 ulp."""
    x, y = xy
    d_input, d_target = ref.mse_loss_vjp(x, y, g, reduction)
    scale = Fraction(1, len(x)) if reduction == "mean" else Fraction(1)
    for a, b, di, dt in zip(x, y, d_input, d_target, strict=True):
        exact = 2 * Fraction(g) * scale * (Fraction(a) - Fraction(b))
        assert close(di, exact, ulps=4)
        assert dt == -di


def test_mse_loss_golden_values_and_shapes() -> None:
    """Hand-checked values for every reduction, 0-d and 2-d inputs, and the empty mean (0/0 = NaN)."""
    assert ref.mse_loss([[1.0, 2.0], [3.0, 5.0]], [[1.0, 0.0], [0.0, 1.0]], "none") == [[0.0, 4.0], [9.0, 16.0]]
    assert ref.mse_loss([[1.0, 2.0], [3.0, 5.0]], [[1.0, 0.0], [0.0, 1.0]]) == 29.0 / 4
    assert ref.mse_loss([[1.0, 2.0], [3.0, 5.0]], [[1.0, 0.0], [0.0, 1.0]], "sum") == 29.0
    assert ref.mse_loss(3.0, 1.0) == 4.0
    assert math.isnan(ref.mse_loss([], []))
    assert ref.mse_loss([], [], "sum") == 0.0
    assert ref.mse_loss_vjp([[1.0, 3.0]], [[0.0, 0.0]], [[1.0, -1.0]], "none") == ([[2.0, -6.0]], [[-2.0, 6.0]])


# --- binary cross-entropy ------------------------------------------------------------------


def oracle_bce(p: float, y: float) -> mpmath.mpf:
    """−(y·max(log p, −100) + (1 − y)·max(log(1 − p), −100)) in 50 digits."""
    p, y = mpmath.mpf(p), mpmath.mpf(y)
    log_p = max(mpmath.log(p), LOG_CLAMP) if p > 0 else mpmath.mpf(LOG_CLAMP)
    log_q = max(mpmath.log1p(-p), LOG_CLAMP) if p < 1 else mpmath.mpf(LOG_CLAMP)
    return -(y * log_p + (1 - y) * log_q)


@given(pairs(probabilities))
def test_binary_cross_entropy_matches_mpmath(py: tuple[list[float], list[float]]) -> None:
    """Each element of binary_cross_entropy(reduction='none') is within 4 ulp of the 50-digit clamped formula."""
    p, y = py
    for got, pi, yi in zip(ref.binary_cross_entropy(p, y, "none"), p, y, strict=True):
        assert close(got, oracle_bce(pi, yi), ulps=4), (pi, yi)


@pytest.mark.parametrize(
    ("p", "y", "expected"),
    [
        (0.0, 1.0, 100.0),  # confidently wrong: 100, not +inf
        (1.0, 0.0, 100.0),
        (0.0, 0.0, 0.0),  # right at the end point: 0, not NaN (0·log 0)
        (1.0, 1.0, 0.0),
        (0.0, 0.25, 25.0),  # p = 0: 100·y
        (1.0, 0.25, 75.0),  # p = 1: 100·(1 − y)
        (1e-50, 1.0, 100.0),  # log(1e-50) ≈ −115.1 < −100: clamped
        (math.exp(-99.0), 1.0, 99.0),  # log p = −99 > −100: not clamped
        (0.5, 1.0, math.log(2.0)),
    ],
)
def test_binary_cross_entropy_clamps_each_log_at_minus_100(p: float, y: float, expected: float) -> None:
    """At p = 0 and p = 1 (and within e^−100 of them) each log is clamped at −100, as in PyTorch."""
    assert ref.binary_cross_entropy([p], [y], "none") == [pytest.approx(expected, rel=1e-15, abs=0.0)]


@given(pairs(inner_probabilities), st.floats(-4.0, 4.0))
def test_binary_cross_entropy_vjp_matches_mpmath_derivative(py, g: float) -> None:
    """Inside (0, 1) the VJP is g·(p − y)/(p(1 − p)) (sum reduction), within 8 ulp of the 50-digit derivative."""
    p, y = py
    got = ref.binary_cross_entropy_vjp(p, y, g, "sum")
    for gi, pi, yi in zip(got, p, y, strict=True):
        exact = mpmath.diff(lambda t, yi=yi: oracle_bce(t, yi), mpmath.mpf(pi)) * g
        # mpmath.diff is accurate to ~1e-45 here: an exact 0 may come back as ±1e-60.
        assert close(gi, exact, ulps=8) or abs(gi - exact) < 1e-40, (pi, yi)


def test_binary_cross_entropy_vjp_at_the_clamp_is_the_derivative_of_the_clamped_loss() -> None:
    """Where a log is clamped its term is constant: at p = 0 the gradient is 1 − y, at p = 1 it is −y."""
    assert ref.binary_cross_entropy_vjp([0.0, 0.0, 1.0, 1.0], [1.0, 0.25, 0.0, 0.25], 1.0, "sum") == [
        0.0,
        0.75,
        -0.0,
        -0.25,
    ]


# --- cross-entropy ------------------------------------------------------------------------


def oracle_cross_entropy(row: list[float], k: int) -> mpmath.mpf:
    """−z_k + log Σ_c e^(z_c) in 50 digits, as (m − z_k) + log1p(Σ_{c≠argmax} e^(z_c − m)).

    The log1p form keeps 50 significant digits when the other terms are tiny
    (log of 1 + 1e-37 at 50 digits would keep only 13 of them).
    """
    z = [mpmath.mpf(v) for v in row]
    m = max(z)
    top = z.index(m)
    rest = mpmath.fsum(mpmath.exp(v - m) for j, v in enumerate(z) if j != top)
    return (m - z[k]) + mpmath.log1p(rest)


@given(logits_and_targets())
def test_cross_entropy_matches_mpmath(case: tuple[list[list[float]], list[int]]) -> None:
    """Each example's cross-entropy (reduction='none') is within 4 ulp of the 50-digit log-sum-exp, even for ±1e4."""
    logits, target = case
    for got, row, k in zip(ref.cross_entropy(logits, target, "none"), logits, target, strict=True):
        assert close(got, oracle_cross_entropy(row, k), ulps=4), (row, k)


@given(logits_and_targets())
def test_cross_entropy_equals_negative_log_softmax_at_target(case: tuple[list[list[float]], list[int]]) -> None:
    """cross_entropy(reduction='none')[n] is exactly −log_softmax(logits)[n][target[n]]."""
    logits, target = case
    ls = ref.log_softmax(logits)
    assert ref.cross_entropy(logits, target, "none") == [0.0 - row[k] for row, k in zip(ls, target, strict=True)]


@given(logits_and_targets())
@settings(max_examples=30)
def test_cross_entropy_grad_is_softmax_minus_onehot(case: tuple[list[list[float]], list[int]]) -> None:
    """The mean-reduction gradient wrt the logits is (softmax − onehot)/N, within 1e-15 of the 50-digit value."""
    logits, target = case
    got = ref.cross_entropy_vjp(logits, target, 1.0)
    for g_row, row, k in zip(got, logits, target, strict=True):
        z = [mpmath.mpf(v) for v in row]
        total = mpmath.fsum(mpmath.exp(v - max(z)) for v in z)
        for j, (gj, zj) in enumerate(zip(g_row, z, strict=True)):
            exact = (mpmath.exp(zj - max(z)) / total - (1 if j == k else 0)) / len(target)
            assert abs(gj - float(exact)) <= 1e-15, (row, k, j)


@given(logits_and_targets())
def test_cross_entropy_sum_is_n_times_mean(case: tuple[list[list[float]], list[int]]) -> None:
    """reduction='sum' equals N × reduction='mean' (both from one exactly-rounded fsum)."""
    logits, target = case
    total, mean = ref.cross_entropy(logits, target, "sum"), ref.cross_entropy(logits, target, "mean")
    assert math.isclose(total, len(target) * mean, rel_tol=2 * 2**-52, abs_tol=1e-300)


def test_cross_entropy_golden_values() -> None:
    """Hand-checked values: uniform logits give log C; ±1e4 logits give 2e4 or exactly 0; the empty batch."""
    assert ref.cross_entropy([[0.0, 0.0, 0.0]], [2]) == pytest.approx(math.log(3.0), rel=1e-15)
    assert ref.cross_entropy([[1e4, -1e4]], [1]) == 2e4
    assert ref.cross_entropy([[1e4, -1e4]], [0]) == 0.0
    assert ref.cross_entropy([[1.0, 2.0], [3.0, 3.0]], [1, 0], "none") == pytest.approx(
        [math.log1p(math.exp(-1.0)), math.log(2.0)], rel=1e-15
    )
    assert math.isnan(ref.cross_entropy([], []))
    assert ref.cross_entropy([], [], "sum") == 0.0
    assert ref.cross_entropy([], [], "none") == []
    assert ref.cross_entropy_vjp([[0.0, 0.0], [0.0, 0.0]], [0, 1], 1.0) == [[-0.25, 0.25], [0.25, -0.25]]
    assert ref.cross_entropy_vjp([[0.0, 0.0]], [0], [2.0], "none") == [[-1.0, 1.0]]


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: ref.mse_loss([1.0, 2.0], [1.0]), ValueError, r"mse_loss: input.shape=\(2,\) but target.shape=\(1,\)"),
        (lambda: ref.mse_loss([1.0], [1.0], "avg"), ValueError, r"mse_loss: reduction='avg'; expected one of"),
        (lambda: ref.mse_loss(["a"], [1.0]), TypeError, r"mse_loss: input\[0\] is str"),
        (lambda: ref.mse_loss_vjp([1.0], [1.0], [1.0]), ValueError, r"mse_loss_vjp: cotangent.shape=\(1,\)"),
        (lambda: ref.mse_loss_vjp([1.0], [1.0], 1.0, "none"), ValueError, r"mse_loss_vjp: cotangent.shape=\(\)"),
        (lambda: ref.binary_cross_entropy([1.5], [1.0]), ValueError, r"binary_cross_entropy: input has the value 1.5"),
        (lambda: ref.binary_cross_entropy([-0.1], [1.0]), ValueError, r"expected probabilities in \[0, 1\]"),
        (lambda: ref.binary_cross_entropy([math.nan], [1.0]), ValueError, r"input has the value nan"),
        (lambda: ref.binary_cross_entropy([0.5], [2.0]), ValueError, r"target has the value 2.0"),
        (lambda: ref.binary_cross_entropy_vjp([0.5], [1.0], 1.0, "max"), ValueError, r"reduction='max'"),
        (lambda: ref.cross_entropy([[1.0, 2.0]], [2]), ValueError, r"target\[0\]=2 is out of range for C=2"),
        (lambda: ref.cross_entropy([[1.0, 2.0]], [-1]), ValueError, r"target\[0\]=-1 is out of range"),
        (lambda: ref.cross_entropy([[1.0, 2.0]], [1.0]), TypeError, r"cross_entropy: target\[0\] is float 1.0"),
        (lambda: ref.cross_entropy([[1.0, 2.0]], [True]), TypeError, r"target\[0\] is bool True; expected an int"),
        (lambda: ref.cross_entropy([[1.0, 2.0]], 1), TypeError, r"cross_entropy: target is int 1; expected a list"),
        (lambda: ref.cross_entropy([[1.0, 2.0]], [0, 1]), ValueError, r"target has 2 class indices but logits has N=1"),
        (lambda: ref.cross_entropy([1.0, 2.0], [1]), ValueError, r"logits.shape=\(2,\); expected \(N, C\)"),
        (lambda: ref.cross_entropy([[[1.0]]], [0]), ValueError, r"logits.shape=\(1, 1, 1\); expected \(N, C\)"),
        (lambda: ref.cross_entropy([[1.0, 2.0]], [0], "avg"), ValueError, r"cross_entropy: reduction='avg'"),
        (lambda: ref.cross_entropy_vjp([[1.0]], [0], [1.0, 2.0], "none"), ValueError, r"cotangent.shape=\(2,\)"),
    ],
)
def test_bad_input_raises_an_error_naming_function_and_argument(call, error: type, message: str) -> None:
    """Wrong shapes, out-of-range classes, non-integer labels and unknown reductions give clear errors."""
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize(
    ("values", "reduction", "expected"),
    [
        ([1e154, 1e154, 1e154], "mean", 1e308),  # terms 1e308 each: the sum overflows, the mean does not
        ([1e154, 1e154, 1e154], "sum", math.inf),  # the sum itself is past the largest float
        ([1e200, 0.0], "none", [math.inf, 0.0]),  # a square past the largest float is +inf, not an exception
        ([1e200, 1e200], "mean", math.inf),  # the mean of two infinite squares
    ],
)
def test_mse_of_squares_past_the_largest_float_is_ieee_not_an_exception(
    values: list[float], reduction: str, expected: object
) -> None:
    """Squares and sums past the largest float give +inf (a mean that is finite stays finite), never OverflowError."""
    assert ref.mse_loss(values, [0.0] * len(values), reduction) == expected


def test_a_sum_whose_partial_sums_overflow_is_its_exact_total() -> None:
    """1e308 + 1e308 − 1e308 is 1e308 in a dot product (fsum alone raises: a partial sum overflows)."""
    assert ref.linear([[1e308, 1e308, -1e308]], [[1.0, 1.0, 1.0]]) == [[1e308]]
    assert ref.linear([[1e308] * 4 + [-1e308] * 4 + [3.0]], [[1.0] * 9]) == [[3.0]]
    assert ref.linear([[1e308, 1e308]], [[1.0, 1.0]]) == [[math.inf]]
    assert ref.linear([[1e308, 1e308]], [[-1.0, -1.0]]) == [[-math.inf]]


# --- classification losses beyond the seed: nll_loss, BCE with logits, label smoothing ---------------------

U = 2.0**-53


def _mp_softplus(x: float) -> mpmath.mpf:
    return mpmath.log1p(mpmath.exp(mpmath.mpf(x)))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-1e308, 1e308, allow_subnormal=False), min_size=1, max_size=6).flatmap(
        lambda x: st.tuples(st.just(x), st.lists(probabilities, min_size=len(x), max_size=len(x)))
    ),
    st.floats(0.0, 8.0),
)
def test_binary_cross_entropy_with_logits_matches_mpmath_up_to_the_largest_float(xy, p: float) -> None:
    """Each element is within 4 ulp of p·y·log(1 + e^−x) + (1 − y)·log(1 + e^x) at 50 digits, for |x| up to 1e308."""
    x, y = xy
    got = ref.binary_cross_entropy_with_logits([[v] for v in x], [[t] for t in y], pos_weight=[p], reduction="none")
    for (g,), xi, yi in zip(got, x, y, strict=True):
        exact = p * yi * _mp_softplus(-xi) + (1 - yi) * _mp_softplus(xi)
        assert math.isfinite(g) or exact > 1e308
        if math.isfinite(g):
            assert abs(g - float(exact)) <= 4 * math.ulp(float(exact)) + 1e-320


@pytest.mark.parametrize(
    ("x", "y", "expected"),
    [
        (0.0, 1.0, math.log(2)),  # log(1 + e^0)
        (-800.0, 0.0, 0.0),  # e^−800 underflows: the loss of a certain, right negative
        (800.0, 0.0, 800.0),  # log(1 + e^800) = 800 + log1p(e^−800)
        (-20.0, 0.0, 2.0611536181902037e-09),  # log1p(e^−20) (mpmath: 2.0611536181902036e-9), not log(1 + e^−20) = 0
    ],
)
def test_binary_cross_entropy_with_logits_hand_values(x: float, y: float, expected: float) -> None:
    """Hand-checked values: log 2 at 0, |x| for a certain wrong logit, e^x (not 0) for a certain right one."""
    assert ref.binary_cross_entropy_with_logits([x], [y], reduction="none")[0] == pytest.approx(expected, rel=4 * U)


@settings(max_examples=60, deadline=None)
@given(pairs(st.floats(-30.0, 30.0)), st.floats(0.25, 4.0))
def test_binary_cross_entropy_with_logits_vjp_matches_mpmath_derivative(xy, p: float) -> None:
    """d/dx = (1 − y)σ(x) − p·y·σ(−x): within 8 u of its two terms' size against 50 digits."""
    x, y = xy
    y = [abs(v) / 30.0 for v in y]  # targets in [0, 1]
    got = ref.binary_cross_entropy_with_logits_vjp(
        [[v] for v in x], [[t] for t in y], 1.0, pos_weight=[p], reduction="sum"
    )
    for (g,), xi, yi in zip(got, x, y, strict=True):
        s = 1 / (1 + mpmath.exp(-mpmath.mpf(xi)))
        pos, neg = p * yi * (1 - s), (1 - yi) * s
        assert abs(g - float(neg - pos)) <= 8 * U * float(pos + neg) + 1e-300


def test_binary_cross_entropy_with_logits_pos_weight_runs_along_the_last_axis() -> None:
    """pos_weight[c] weights the positive term of column c only (hand value: 3·log 2 and log 2)."""
    got = ref.binary_cross_entropy_with_logits([[0.0, 0.0]], [[1.0, 1.0]], pos_weight=[3.0, 1.0], reduction="none")
    assert got == [[pytest.approx(3 * math.log(2), rel=4 * U), pytest.approx(math.log(2), rel=4 * U)]]


@settings(max_examples=60, deadline=None)
@given(logits_and_targets(), st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.9, 1.0]))
def test_smoothed_cross_entropy_matches_mpmath(case, eps: float) -> None:
    """Each example's −Σ q_c log softmax(z)_c, q = (1 − ε)·onehot + ε/C, is within 4 ulp of 50-digit mpmath."""
    logits, target = case
    got = ref.smoothed_cross_entropy(logits, target, eps, reduction="none")
    for g, row, k in zip(got, logits, target, strict=True):
        lse = mpmath.log(mpmath.fsum(mpmath.exp(mpmath.mpf(v)) for v in row))
        c = len(row)
        exact = mpmath.fsum(((1 - eps) * (j == k) + mpmath.mpf(eps) / c) * (lse - v) for j, v in enumerate(row))
        # Beyond 4 ulp: u·(log Σ − max), the max-shift's rounding (as log_softmax), mpmath's own 1e-50, and c·u:
        # log of the rounded Σ e^(z − max) ∈ [1, c] is off by up to c·u absolutely (a loss below u comes out 0).
        allowed = 4 * math.ulp(float(exact)) + 4 * U * float(lse - max(row)) + 1e-45 * max(1.0, float(abs(lse))) + c * U
        assert abs(g - float(exact)) <= allowed


@settings(max_examples=60, deadline=None)
@given(logits_and_targets(), st.sampled_from([0.0, 0.1, 0.5, 1.0]))
def test_smoothed_cross_entropy_vjp_is_softmax_minus_smoothed_target(case, eps: float) -> None:
    """The gradient (reduction='sum') is softmax(z) − q, within 4 u of p + q (and Σ_{j≠y} p_j at y) at 50 digits."""
    logits, target = case
    got = ref.smoothed_cross_entropy_vjp(logits, target, 1.0, eps, reduction="sum")
    for grow, row, k in zip(got, logits, target, strict=True):
        e = [mpmath.exp(mpmath.mpf(v)) for v in row]
        total = mpmath.fsum(e)
        rest = float(mpmath.fsum(ej for j, ej in enumerate(e) if j != k) / total)
        for j, (g, ej) in enumerate(zip(grow, e, strict=True)):
            q = (1 - eps) * (j == k) + eps / len(row)
            terms = float(ej / total + q) + (rest if j == k else 0.0)  # at y: ε(C − 1)/C − Σ_{j≠y} p_j cancels
            assert abs(g - float(ej / total - q)) <= 4 * U * terms + 1e-300


def test_smoothed_cross_entropy_at_zero_is_cross_entropy() -> None:
    """ε = 0 gives cross_entropy's values exactly (the same log_softmax, no other term)."""
    logits, target = [[2.0, 1.0, 0.1], [0.5, -3.0, 7.0]], [0, 1]
    assert ref.smoothed_cross_entropy(logits, target, 0.0, reduction="none") == ref.cross_entropy(
        logits, target, reduction="none"
    )


def test_nll_loss_weighted_mean_is_the_exact_weighted_average() -> None:
    """Σ −w_y·x / Σ w_y by hand (Fractions): (1·0.5 + 3·0.25 + 1·2)/(1 + 3 + 1) = 0.65."""
    x = [[-0.5, -1.0], [-2.0, -0.25], [-2.0, -0.5]]
    got = ref.nll_loss(x, [0, 1, 0], weight=[1.0, 3.0])
    assert got == float((Fraction(1, 2) + 3 * Fraction(1, 4) + 2) / 5)
    assert ref.nll_loss(x, [0, 1, 0], reduction="sum") == 2.75
    assert ref.nll_loss(x, [0, 1, 0], reduction="none") == [0.5, 0.25, 2.0]


def test_nll_loss_vjp_puts_minus_the_weight_over_the_total_at_each_target() -> None:
    """d mean / d x[n, y_n] = −w_{y_n}/Σ w (hand values: −1/5 and −3/5), 0 elsewhere."""
    got = ref.nll_loss_vjp([[-0.5, -1.0], [-2.0, -0.25], [-2.0, -0.5]], [0, 1, 0], 1.0, weight=[1.0, 3.0])
    assert got == [[-0.2, 0.0], [0.0, -0.6], [-0.2, 0.0]]


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: ref.nll_loss([[0.0, -1.0]], [2]), ValueError, r"nll_loss: target\[0\]=2 is out of range for C=2"),
        (lambda: ref.nll_loss([[0.0, -1.0]], [0], weight=[1.0]), ValueError, r"nll_loss: weight.shape=\(1,\)"),
        (lambda: ref.nll_loss([[0.0, -1.0]], [0], weight=[1.0, -1.0]), ValueError, r"weight\[1\]=-1.0; expected"),
        (lambda: ref.nll_loss([0.0, -1.0], [0]), ValueError, r"nll_loss: input.shape=\(2,\); expected \(N, C\)"),
        (
            lambda: ref.binary_cross_entropy_with_logits([0.0], [1.5]),
            ValueError,
            r"binary_cross_entropy_with_logits: target has the value 1.5 at flat index 0",
        ),
        (
            lambda: ref.binary_cross_entropy_with_logits([[0.0, 1.0]], [[1.0, 0.0]], pos_weight=[1.0]),
            ValueError,
            r"pos_weight.shape=\(1,\) but input.shape=\(1, 2\); expected \(2,\)",
        ),
        (
            lambda: ref.smoothed_cross_entropy([[0.0, 1.0]], [0], 1.5),
            ValueError,
            r"smoothed_cross_entropy: label_smoothing=1.5; expected a number in \[0, 1\]",
        ),
        (
            lambda: ref.smoothed_cross_entropy([[0.0, 1.0]], [0], math.nan),
            ValueError,
            r"label_smoothing=nan; expected a number in \[0, 1\]",
        ),
        (lambda: ref.smoothed_cross_entropy([[0.0, 1.0]], [0], "0.1"), TypeError, r"label_smoothing is"),
    ],
)
def test_classification_losses_bad_input_names_the_argument(call, error: type, message: str) -> None:
    """Each bad argument raises an error naming the function, the argument, its value and what was expected."""
    with pytest.raises(error, match=message):
        call()
