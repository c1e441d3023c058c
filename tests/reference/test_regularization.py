"""The dropout reference (the keep mask given) against hand-computed values and the identities of a linear map;
the statistical bound its conformance checks use, against hand-computed values."""

from __future__ import annotations

import math

import mpmath
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlterms import reference as ref

finite = st.floats(-1e6, 1e6, allow_nan=False)


def test_dropout_scales_kept_units_by_one_over_keep_probability() -> None:
    """p = 0.5 doubles the kept units and zeroes the dropped one; p = 0.25 multiplies by 4/3 (3 → 4 exactly)."""
    assert ref.dropout([1.0, -2.0, 3.0, 4.0], [1.0, 0.0, 1.0, 1.0], 0.5) == [2.0, -0.0, 6.0, 8.0]
    assert ref.dropout([[3.0, 6.0]], [[1.0, 1.0]], p=0.25) == [[4.0, 8.0]]


def test_dropout_with_p_zero_is_the_identity() -> None:
    """p = 0 with every unit kept returns x unchanged: the scale 1/(1 − 0) is 1."""
    assert ref.dropout([0.1, -7.5], [1.0, 1.0], 0.0) == [0.1, -7.5]


def test_dropout_in_evaluation_mode_is_the_identity_whatever_the_mask() -> None:
    """training=False returns x, NaN and ∞ included, ignoring the mask and p."""
    got = ref.dropout([math.nan, math.inf, -1.0], [0.0, 0.0, 1.0], 0.9, training=False)
    assert math.isnan(got[0]) and got[1:] == [math.inf, -1.0]


def test_dropout_of_a_dropped_nan_is_nan_as_the_product_gives() -> None:
    """The reference multiplies by the mask: a dropped NaN or ∞ is NaN·0 or ∞·0 = NaN, a dropped 1 is 0."""
    got = ref.dropout([math.nan, math.inf, 1.0], [0.0, 0.0, 0.0], 0.5)
    assert math.isnan(got[0]) and math.isnan(got[1]) and got[2] == 0.0


def test_dropout_vjp_scales_the_cotangent_by_the_same_mask() -> None:
    """ḡ·m/(1 − p): a dropped unit gets no gradient; in evaluation mode the cotangent passes unchanged."""
    assert ref.dropout_vjp([5.0, 6.0], [0.0, 1.0], [1.0, 3.0], 0.5) == [0.0, 6.0]
    assert ref.dropout_vjp([5.0, 6.0], [0.0, 1.0], [1.0, 3.0], 0.5, training=False) == [1.0, 3.0]


@settings(max_examples=60)
@given(
    data=st.lists(st.tuples(finite, finite, st.sampled_from((0.0, 1.0))), min_size=1, max_size=8),
    p=st.sampled_from((0.0, 0.1, 0.25, 0.5, 0.8)),
)
def test_dropout_vjp_is_the_transpose_of_the_linear_map(data: list[tuple[float, float, float]], p: float) -> None:
    """Dropout is linear in x, so ⟨ḡ, dropout(u)⟩ = ⟨dropout_vjp(ḡ), u⟩ (here J = Jᵀ, diagonal) for any u and ḡ."""
    u, g, m = (list(c) for c in zip(*data, strict=True))
    forward = math.fsum(gi * yi for gi, yi in zip(g, ref.dropout(u, m, p), strict=True))
    backward = math.fsum(ui * bi for ui, bi in zip(u, ref.dropout_vjp(u, m, g, p), strict=True))
    scale = math.fsum(abs(gi * ui) for gi, ui in zip(g, u, strict=True)) / (1.0 - p)
    assert abs(forward - backward) <= 4e-16 * scale + 1e-300


@pytest.mark.parametrize("p", [1.0, -0.5, math.nan])
def test_dropout_refuses_a_rate_outside_zero_to_one(p: float) -> None:
    """p = 1 would divide by 0; p < 0 is no probability: the error names p and the range."""
    with pytest.raises(ValueError, match=r"dropout: p=.*expected .*0 <= p < 1|dropout: p=nan; expected a finite"):
        ref.dropout([1.0], [1.0], p)


def test_dropout_refuses_a_mask_that_is_not_zeros_and_ones() -> None:
    """A mask value of 0.5 is no keep mask: the error names the mask, the value and its index."""
    with pytest.raises(ValueError, match=r"dropout: mask has the value 0\.5 at flat index 1; expected a keep mask"):
        ref.dropout([1.0, 2.0], [1.0, 0.5], 0.5)


def test_hoeffding_bound_at_the_statistical_checks_size() -> None:
    """For n = 65,536 units at α = 10⁻⁶ the fraction dropped is within √(ln(2·10⁶)/131072) = 0.010521 of p
    (ln(2·10⁶) = 14.50866, by hand), and 2·exp(−2t²/n) gives α back."""
    from dlterms.conformance.invariants.regularization import FALSE_ALARM, UNITS, hoeffding_bound

    t = hoeffding_bound(float(UNITS))
    assert UNITS == 65_536 and FALSE_ALARM == 1e-6
    assert t / UNITS == pytest.approx(0.010521, abs=5e-7)
    assert 2.0 * math.exp(-2.0 * t * t / UNITS) == pytest.approx(FALSE_ALARM, rel=1e-12)


@settings(max_examples=300)
@given(
    x=st.floats(-1e300, 1e300, allow_nan=False, allow_infinity=False).filter(lambda v: abs(v) >= 1e-290 or v == 0.0),
    p=st.one_of(st.sampled_from((0.1, 0.2, 0.3, 0.5, 0.9)), st.floats(0.0, 0.999)),
)
def test_dropout_within_2_ulp_of_the_exact_quotient(x: float, p: float) -> None:
    """A kept unit is within 2 ulp of x/(1 − p) computed to 200 bits (1 − p and the division each round once)."""
    with mpmath.workprec(200):
        exact = mpmath.mpf(x) / (1 - mpmath.mpf(p))
        (got,) = ref.dropout([x], [1.0], p)
        assert abs(mpmath.mpf(got) - exact) <= 2 * math.ulp(float(exact))
