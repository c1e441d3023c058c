"""The reference Huber and smooth L1 losses: hand-computed values, a 50-digit oracle, identities, bad input."""

from __future__ import annotations

import math

import mpmath
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlterms import reference as ref

mpmath.mp.dps = 50
M = mpmath.mpf

reals = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
thresholds = st.sampled_from([0.25, 0.5, 1.0, 2.0, 3.0, 1e-3, 1e3])


def ulps(got: float, exact: mpmath.mpf, scale: mpmath.mpf) -> float:
    """|got − exact| in units of the last place of ``scale`` (float64)."""
    return float(abs(M(got) - exact) / (M(math.ulp(float(scale))) if scale else M(5e-324)))


def huber_exact(r: mpmath.mpf, delta: float) -> mpmath.mpf:
    return r * r / 2 if abs(r) < delta else M(delta) * (abs(r) - M(delta) / 2)


def test_huber_hand_values() -> None:
    """½r² inside δ, δ(|r| − δ/2) outside, for residuals worked out by hand."""
    assert ref.huber_loss([0.5, -3.0, 1.0], [0.0, 0.0, 0.0], reduction="none") == [0.125, 2.5, 0.5]
    assert ref.huber_loss([0.5, -3.0], [0.0, 0.0], delta=2.0, reduction="none") == [0.125, 4.0]  # 2(3 − 1)
    assert ref.huber_loss([0.5, -3.0], [0.0, 0.0]) == 1.3125  # (0.125 + 2.5)/2
    assert ref.huber_loss([0.5, -3.0], [0.0, 0.0], reduction="sum") == 2.625


def test_smooth_l1_hand_values() -> None:
    """r²/(2β) inside β, |r| − β/2 outside; β = 0 is |r|."""
    assert ref.smooth_l1_loss([0.5, -3.0], [0.0, 0.0], beta=2.0, reduction="none") == [0.0625, 2.0]
    assert ref.smooth_l1_loss([0.5, -3.0], [0.0, 0.0], beta=0.0, reduction="none") == [0.5, 3.0]
    assert ref.smooth_l1_loss([0.5, -3.0], [0.0, 1.0], beta=0.5, reduction="sum") == 0.25 + 3.75


@settings(max_examples=200)
@given(a=reals, b=reals, delta=thresholds)
def test_huber_within_4_ulp_of_50_digits(a: float, b: float, delta: float) -> None:
    """Each Huber term is within 4 ulp of its value computed with 50 digits from the exact residual."""
    (got,) = ref.huber_loss([a], [b], delta=delta, reduction="none")
    exact = huber_exact(M(a) - M(b), delta)
    assert ulps(got, exact, exact) <= 4, (a, b, delta)


@settings(max_examples=200)
@given(a=reals, b=reals, beta=thresholds)
def test_smooth_l1_within_4_ulp_of_50_digits(a: float, b: float, beta: float) -> None:
    """Each smooth L1 term is within 4 ulp of huber/β computed with 50 digits (the definitions' relation)."""
    (got,) = ref.smooth_l1_loss([a], [b], beta=beta, reduction="none")
    exact = huber_exact(M(a) - M(b), beta) / beta
    assert ulps(got, exact, exact) <= 4, (a, b, beta)


@settings(max_examples=100)
@given(xs=st.lists(reals, min_size=1, max_size=6), data=st.data())
def test_huber_mean_within_4_ulp_of_the_largest_term(xs: list[float], data: st.DataObject) -> None:
    """The mean of the terms is within 4 ulp of the larger of the result and the largest term (50 digits)."""
    ts = data.draw(st.lists(reals, min_size=len(xs), max_size=len(xs)))
    terms = [huber_exact(M(a) - M(b), 1.0) for a, b in zip(xs, ts, strict=True)]
    exact = mpmath.fsum(terms) / len(terms)
    got = ref.huber_loss(xs, ts)
    assert ulps(got, exact, max(abs(exact), *terms)) <= 4


def test_value_and_slope_meet_at_delta() -> None:
    """At |r| = δ both sides give δ²/2 and the gradient is ±δ (Huber is continuously differentiable)."""
    for delta in (0.5, 1.0, 4.0):
        assert ref.huber_loss([delta, -delta], [0.0, 0.0], delta=delta, reduction="none") == [delta**2 / 2] * 2
        d_input, _ = ref.huber_loss_vjp([delta, -delta], [0.0, 0.0], [1.0, 1.0], delta=delta, reduction="none")
        assert d_input == [delta, -delta]


def test_huber_vjp_is_the_clipped_residual() -> None:
    """d huber / d input = clip(r, −δ, δ)·g, and d/d target is its negative; ḡ/n for the mean."""
    d_input, d_target = ref.huber_loss_vjp([0.5, -3.0, 2.0], [0.0, 0.0, 0.0], 1.0, reduction="sum")
    assert d_input == [0.5, -1.0, 1.0]
    assert d_target == [-0.5, 1.0, -1.0]
    d_input, _ = ref.huber_loss_vjp([0.5, -3.0], [0.0, 0.0], 2.0, delta=2.0, reduction="mean")
    assert d_input == [0.5, -2.0]  # ḡ/n = 1 times clip(r, −2, 2)


def test_smooth_l1_vjp_is_r_over_beta_clipped_to_one() -> None:
    """d smooth_l1 / d input = clip(r/β, −1, 1)·g; at β = 0 it is sign(r), and 0 at r = 0."""
    d_input, _ = ref.smooth_l1_loss_vjp([0.5, -3.0], [0.0, 0.0], [1.0, 1.0], beta=2.0, reduction="none")
    assert d_input == [0.25, -1.0]
    d_input, _ = ref.smooth_l1_loss_vjp([0.5, 0.0, -3.0], [0.0, 0.0, 0.0], 1.0, beta=0.0, reduction="sum")
    assert d_input == [1.0, 0.0, -1.0]


@settings(max_examples=100)
@given(a=st.floats(-100, 100), b=st.floats(-100, 100), k=st.integers(-3, 3))
def test_huber_is_beta_times_smooth_l1(a: float, b: float, k: int) -> None:
    """huber_loss(delta=β) = β·smooth_l1_loss(beta=β) exactly for β a power of two (the two definitions' relation)."""
    beta = 2.0**k
    huber = ref.huber_loss([a], [b], delta=beta, reduction="none")[0]
    assert huber == beta * ref.smooth_l1_loss([a], [b], beta=beta, reduction="none")[0]


def test_empty_input_mean_is_nan_and_sum_is_zero() -> None:
    """The mean of no terms is NaN (0/0), their sum 0."""
    assert math.isnan(ref.huber_loss([], []))
    assert ref.smooth_l1_loss([], [], reduction="sum") == 0.0


@pytest.mark.parametrize(
    ("fn", "name", "value"),
    [
        (ref.huber_loss, "delta", 0.0),
        (ref.huber_loss, "delta", -1.0),
        (ref.huber_loss, "delta", math.inf),
        (ref.smooth_l1_loss, "beta", -0.5),
        (ref.smooth_l1_loss, "beta", math.nan),
    ],
)
def test_a_threshold_out_of_range_is_refused_naming_it(fn, name: str, value: float) -> None:
    """δ ≤ 0, β < 0, NaN or ∞ are refused with an error naming the function, the argument and the value."""
    with pytest.raises(ValueError, match=rf"{fn.__name__}: {name}={value!r}; expected a finite number"):
        fn([1.0], [0.0], **{name: value})
