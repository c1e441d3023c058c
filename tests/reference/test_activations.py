"""The activation reference against a 50-digit mpmath oracle, plus its special values and errors."""

from __future__ import annotations

import math

import mpmath
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlterms import reference as ref

mpmath.mp.dps = 50

finite = st.floats(min_value=-700.0, max_value=700.0, allow_nan=False, allow_infinity=False)
vectors = st.lists(st.floats(min_value=-1e4, max_value=1e4, allow_nan=False), min_size=1, max_size=8)


def ulps(got: float, exact: mpmath.mpf) -> float:
    """Distance from the exact value in units of the last place of the correctly rounded result."""
    rounded = float(exact)
    if got == rounded:
        return 0.0
    return abs(mpmath.mpf(got) - exact) / mpmath.mpf(math.ulp(rounded) if rounded else 5e-324)


def oracle_sigmoid(x: float) -> mpmath.mpf:
    return 1 / (1 + mpmath.exp(-mpmath.mpf(x)))


@given(finite)
def test_sigmoid_within_2_ulp_of_mpmath(x: float) -> None:
    """sigmoid(x) is within 2 ulp of the 50-digit value."""
    assert ulps(ref.sigmoid(x), oracle_sigmoid(x)) <= 2


@given(finite)
def test_tanh_within_2_ulp_of_mpmath(x: float) -> None:
    """tanh(x) is within 2 ulp of the 50-digit value."""
    assert ulps(ref.tanh(x), mpmath.tanh(mpmath.mpf(x))) <= 2


@given(finite, st.floats(0.0, 1.0))
def test_leaky_relu_is_exact(x: float, a: float) -> None:
    """leaky_relu is x or a·x, both correctly rounded (one multiplication)."""
    expected = x if x > 0 else float(mpmath.mpf(a) * mpmath.mpf(x))
    assert ref.leaky_relu(x, negative_slope=a) == expected


@given(vectors)
def test_softmax_within_4_ulp_of_mpmath(x: list[float]) -> None:
    """Every softmax output is within 4 ulp of the 50-digit value (logits spread up to 2e4)."""
    exps = [mpmath.exp(mpmath.mpf(v)) for v in x]
    total = mpmath.fsum(exps)
    for got, e in zip(ref.softmax(x), exps, strict=True):
        assert ulps(got, e / total) <= 4


@given(vectors)
def test_log_softmax_within_4_ulp_of_mpmath(x: list[float]) -> None:
    """Every log_softmax output is within 4 ulp of the 50-digit value, never -inf for finite logits."""
    m = max(x)
    k = x.index(m)
    # log Σ e^(x_j − m) as log1p of the other terms, so a tiny exact result is not lost at 50 digits.
    rest = mpmath.log1p(mpmath.fsum(mpmath.exp(mpmath.mpf(v) - m) for j, v in enumerate(x) if j != k))
    for got, v in zip(ref.log_softmax(x), x, strict=True):
        assert math.isfinite(got)
        assert ulps(got, (mpmath.mpf(v) - m) - rest) <= 4


@given(
    st.lists(st.lists(st.floats(-50, 50), min_size=3, max_size=3), min_size=1, max_size=4), st.sampled_from([0, 1, -1])
)
def test_softmax_sums_to_one_along_axis(x: list[list[float]], axis: int) -> None:
    """softmax(x, axis) sums to one along axis, for rank-2 inputs and every axis."""
    y = ref.softmax(x, axis=axis)
    sums = [math.fsum(row[j] for row in y) for j in range(3)] if axis == 0 else [math.fsum(row) for row in y]
    assert all(abs(s - 1.0) <= 4 * 2**-52 for s in sums)


def _numeric_derivative(f, x: float, h: float = 1e-6) -> float:
    return (f(x + h) - f(x - h)) / (2 * h)


@pytest.mark.parametrize(
    ("name", "f"),
    [("sigmoid", ref.sigmoid), ("tanh", ref.tanh), ("relu", ref.relu), ("leaky_relu", ref.leaky_relu)],
)
@given(x=st.floats(-8, 8).filter(lambda v: abs(v) > 1e-3))
def test_elementwise_vjp_matches_central_difference(name: str, f, x: float) -> None:
    """The hand-written VJP with cotangent 1 equals the central difference (away from kinks)."""
    vjp = getattr(ref, f"{name}_vjp")
    assert vjp([x], [1.0])[0] == pytest.approx(_numeric_derivative(f, x), rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@given(x=st.lists(st.floats(-10, 10), min_size=1, max_size=5), g=st.lists(st.floats(-2, 2), min_size=5, max_size=5))
def test_softmax_vjps_match_central_differences(name: str, x: list[float], g: list[float]) -> None:
    """softmax_vjp / log_softmax_vjp equal the gradient of ⟨g, f(x)⟩ by central differences."""
    g = g[: len(x)]
    f = getattr(ref, name)
    vjp = getattr(ref, f"{name}_vjp")(x, g)
    for i in range(len(x)):

        def phi(t: float, i: int = i) -> float:
            shifted = [v + (t if j == i else 0.0) for j, v in enumerate(x)]
            return math.fsum(gi * yi for gi, yi in zip(g, f(shifted), strict=True))

        assert vjp[i] == pytest.approx(_numeric_derivative(phi, 0.0), rel=1e-5, abs=1e-7)


# --- golden cases: hand-checked special values ---------------------------------------


def test_special_values_follow_the_limits() -> None:
    """sigmoid(±inf) = 1/0, NaN propagates, relu(-0.0) = +0.0, tanh(±inf) = ±1."""
    assert ref.sigmoid([math.inf, -math.inf]) == [1.0, 0.0]
    assert math.isnan(ref.sigmoid(math.nan))
    assert math.isnan(ref.relu(math.nan))
    assert math.copysign(1.0, ref.relu(-0.0)) == 1.0
    assert ref.tanh([math.inf, -math.inf]) == [1.0, -1.0]


def test_softmax_special_rows() -> None:
    """One +inf takes all the mass, two share it, all -inf is NaN, a NaN poisons its row."""
    assert ref.softmax([math.inf, 0.0, -1.0]) == [1.0, 0.0, 0.0]
    assert ref.softmax([math.inf, math.inf]) == [0.5, 0.5]
    assert all(math.isnan(v) for v in ref.softmax([-math.inf, -math.inf]))
    assert all(math.isnan(v) for v in ref.softmax([math.nan, 1.0]))
    assert ref.log_softmax([math.inf, 0.0]) == [0.0, -math.inf]


def test_large_logits_golden() -> None:
    """softmax([1000, 0]) is [1, e^-1000] (which underflows to 0) and log_softmax keeps -1000."""
    assert ref.softmax([1000.0, 0.0]) == [1.0, 0.0]
    assert ref.log_softmax([1000.0, 0.0]) == [0.0, -1000.0]


def test_shapes_are_preserved_for_every_rank() -> None:
    """Elementwise functions keep 0-d, 1-d and 3-d structure."""
    assert ref.relu(-2.0) == 0.0
    assert ref.relu([[[-1.0, 2.0]], [[3.0, -4.0]]]) == [[[0.0, 2.0]], [[3.0, 0.0]]]
    assert ref.sigmoid([]) == []


# --- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "exc", "words"),
    [
        (lambda: ref.sigmoid([1.0, "a"]), TypeError, ["sigmoid", "x[1]", "str", "expected a real number"]),
        (lambda: ref.relu(True), TypeError, ["relu", "bool", "expected a real number"]),
        (lambda: ref.tanh([[1.0, 2.0], [3.0]]), ValueError, ["tanh", "x[1]", "length 1", "expected 2"]),
        (lambda: ref.softmax(1.0), ValueError, ["softmax", "0-d", "rank >= 1"]),
        (lambda: ref.softmax([1.0, 2.0], axis=1), ValueError, ["softmax", "axis=1", "rank 1"]),
        (
            lambda: ref.leaky_relu([1.0], negative_slope=math.nan),
            ValueError,
            ["leaky_relu", "negative_slope", "finite"],
        ),
        (lambda: ref.sigmoid([1 + 2j]), TypeError, ["sigmoid", "complex"]),
        (
            lambda: ref.sigmoid_vjp([1.0, 2.0], [1.0]),
            ValueError,
            ["sigmoid_vjp", "cotangent.shape=(1,)", "x.shape=(2,)"],
        ),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(call, exc: type[Exception], words: list[str]) -> None:
    """Each error names the function, the argument, what it got and what was expected."""
    with pytest.raises(exc) as info:
        call()
    for w in words:
        assert w in str(info.value)


# --- the smooth rectifiers (dlterms.reference.smooth_rectifiers) -------------------------------------

_C = mpmath.sqrt(2 / mpmath.pi)
_K = mpmath.mpf("0.044715")  # the tanh form's constant, a decimal


def gelu_tanh_exact(x: mpmath.mpf) -> mpmath.mpf:
    """½x(1 + tanh(√(2/π)(x + 0.044715x³))) as x·σ(2√(2/π)(·)): the same number, no cancellation at 50 digits."""
    return x / (1 + mpmath.exp(-2 * _C * (x + _K * x**3)))


def test_gelu_tanh_gap_is_the_largest_gap_between_the_two_forms() -> None:
    """GELU_TANH_GAP, the tanh-form invariant's bound, is max |x·Φ(x) − tanh form| (at x ≈ ±2.699), from mpmath."""
    from dlterms.conformance.invariants.smooth_rectifiers import GELU_TANH_GAP

    def gap(x: mpmath.mpf) -> mpmath.mpf:
        return x * mpmath.ncdf(x) - gelu_tanh_exact(x)

    x_max = mpmath.findroot(lambda x: mpmath.diff(gap, x), -2.7)
    assert float(x_max) == pytest.approx(-2.698941386, abs=1e-9)
    assert float(abs(gap(x_max))) == GELU_TANH_GAP
    grid = [mpmath.mpf(i) / 100 for i in range(-1200, 1201)]
    assert max(abs(gap(x)) for x in grid) <= GELU_TANH_GAP


@pytest.mark.parametrize(
    ("x", "exact"),
    [
        (-5.0, "-1.4332578593959695e-06"),  # ½x(1 + erf(x/√2)) keeps about 10 digits of 16 here
        (-10.0, "-7.619853024160526e-23"),  # 1 + erf(−7.07) rounds to 0 in float64
        (-37.5, "-1.7270073785932332e-306"),  # a normal number whose Φ(x) is subnormal
        (-38.5, "-5.4e-323"),  # subnormal, from the asymptotic series scaled
        (-40.0, "-0.0"),  # below half the smallest subnormal
    ],
)
def test_gelu_left_tail_is_x_times_the_normal_tail_not_cancelled(x: float, exact: str) -> None:
    """gelu(x) for x ≪ 0 is x·Φ(x) (mpmath, 50 digits) to the last bits, not 0 from 1 + erf cancelling."""
    assert float(mpmath.mpf(x) * mpmath.ncdf(mpmath.mpf(x))) == float(exact) or exact == "-0.0"
    got = ref.gelu(x)
    assert got == pytest.approx(float(exact), rel=1e-15, abs=5e-324)
    assert math.copysign(1.0, got) == -1.0


def test_gelu_tanh_form_left_tail_is_x_sigma_not_cancelled() -> None:
    """The tanh form at x = −8 is x·σ(z) ≈ −3.1e−21 (mpmath), where 1 + tanh(z/2) rounds to 0 in float64."""
    exact = gelu_tanh_exact(mpmath.mpf(-8.0))
    assert float(exact) == pytest.approx(-3.108e-21, rel=1e-3)
    assert ref.gelu(-8.0, approximate="tanh") == pytest.approx(float(exact), rel=1e-15)
    assert -8.0 * 0.5 * (1 + math.tanh(float(_C) * (-8.0 + 0.044715 * -512.0))) == 0.0  # the textbook form


def test_softplus_threshold_is_below_float32_tolerance_and_far_above_float64s() -> None:
    """PyTorch's threshold (x for βx > 20) is e^−20/20 ≈ 1.0e−10 off relative: below half a float32 ulp (2^−25),
    about 10⁶ float64 units (2^−53): the reference is the exact function, the threshold a convention."""
    rel = mpmath.log1p(mpmath.exp(-20)) / 20  # (softplus(20) − 20)/20, exactly
    assert float(rel) == pytest.approx(1.0306e-10, rel=1e-4)
    assert rel < 2.0**-25
    assert rel > 10**5 * 2.0**-53
    assert ref.softplus(20.0) == float(20 + mpmath.log1p(mpmath.exp(-20))) != 20.0
    assert ref.softplus(34.0) == 34.0  # e^−34 is below half an ulp of 34: the exact value rounds to x


def test_softplus_and_log_sigmoid_stay_finite_where_exp_overflows() -> None:
    """softplus(1000) = 1000 and log_sigmoid(−1000) = −1000, where log(1 + e^1000) and log(σ(−1000)) are ±inf."""
    assert ref.softplus(1000.0) == 1000.0
    assert ref.softplus(1e308, beta=4.0) == 1e308  # β·x overflows, the value does not
    assert ref.log_sigmoid(-1000.0) == -1000.0
    assert ref.log_sigmoid(-30.0) == float(-mpmath.log1p(mpmath.exp(30)))


def test_elu_derivative_is_continuous_at_zero_only_when_alpha_is_one() -> None:
    """ELU′ is 1 on both sides of 0 for α = 1; for α = 0.5 it is 0.5 at and left of 0, 1 right of it."""
    assert ref.elu_vjp([-1e-300, 0.0, 1e-300], [1.0, 1.0, 1.0]) == [1.0, 1.0, 1.0]
    assert ref.elu_vjp([-1e-300, 0.0, 1e-300], [1.0, 1.0, 1.0], alpha=0.5) == [0.5, 0.5, 1.0]
    assert ref.elu(-1e-300) == -1e-300  # expm1 keeps tiny inputs: e^x − 1 would give 0


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: ref.gelu([1.0], approximate="erf"), ["gelu", "approximate='erf'", "'none', 'tanh'"]),
        (lambda: ref.gelu_vjp([1.0], [1.0], approximate=True), ["gelu_vjp", "approximate=True"]),
        (lambda: ref.softplus([1.0], beta=0.0), ["softplus", "beta=0.0", "> 0"]),
        (lambda: ref.softplus_vjp([1.0], [1.0], beta=-1.0), ["softplus_vjp", "beta=-1.0", "> 0"]),
        (lambda: ref.elu([1.0], alpha=math.inf), ["elu", "alpha", "finite"]),
    ],
)
def test_smooth_rectifiers_refuse_bad_options_by_name(call, words: list[str]) -> None:
    """A bad option is refused with an error naming the function, the argument, its value and what was expected."""
    with pytest.raises(ValueError) as info:
        call()
    for w in words:
        assert w in str(info.value)
