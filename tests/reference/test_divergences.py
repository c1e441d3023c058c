"""The reference KL divergence: hand-computed values, a 50-digit oracle, its reductions, Gibbs' inequality."""

from __future__ import annotations

import math

import mpmath
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlterms import reference as ref

mpmath.mp.dps = 50
M = mpmath.mpf
LOG2 = 0.6931471805599453  # mpmath.log(2) rounded to float64


def ulps(got: float, exact: mpmath.mpf, scale: mpmath.mpf) -> float:
    """|got − exact| in units of the last place of ``scale`` (float64)."""
    return float(abs(M(got) - exact) / M(math.ulp(float(scale))))


def test_kl_hand_values() -> None:
    """KL((1, 0) ‖ (½, ½)) = log 2 per row; p = 0 contributes 0; 'mean' divides by every element."""
    log_half = [-LOG2, -LOG2]
    assert ref.kl_div([log_half], [[1.0, 0.0]], reduction="none") == [[LOG2, 0.0]]
    assert ref.kl_div([log_half, log_half], [[1.0, 0.0], [0.0, 1.0]], reduction="batchmean") == LOG2
    assert ref.kl_div([log_half, log_half], [[1.0, 0.0], [0.0, 1.0]], reduction="sum") == 2 * LOG2
    assert ref.kl_div([log_half, log_half], [[1.0, 0.0], [0.0, 1.0]]) == LOG2 / 2  # 2·log 2 over 4 elements


def test_kl_special_inputs() -> None:
    """q = 0 where p > 0 gives +∞; p = 0 gives 0 even where q = 0; NaN in gives NaN."""
    assert ref.kl_div([-math.inf], [0.5], reduction="none") == [math.inf]
    assert ref.kl_div([-math.inf, 1.0], [0.0, 0.0], reduction="none") == [0.0, 0.0]
    assert math.isnan(ref.kl_div([math.nan], [0.5], reduction="none")[0])
    assert math.isnan(ref.kl_div([], [], reduction="batchmean"))


probabilities = st.floats(1e-300, 1.0)
log_probabilities = st.floats(-700.0, 0.0)


@settings(max_examples=200)
@given(x=log_probabilities, p=probabilities)
def test_kl_term_within_4_ulp_of_50_digits(x: float, p: float) -> None:
    """Each term p·(log p − x) is within 4 ulp of its 50-digit value, relative to p·(|log p| + |x|)."""
    (got,) = ref.kl_div([x], [p], reduction="none")
    log_p = mpmath.log(M(p))
    exact = M(p) * (log_p - M(x))
    scale = max(abs(exact), M(p) * (abs(log_p) + abs(M(x))))
    assert ulps(got, exact, scale) <= 4, (x, p)


@settings(max_examples=100)
@given(x=log_probabilities, p=probabilities)
def test_log_target_is_the_same_divergence(x: float, p: float) -> None:
    """kl_div(x, p) and kl_div(x, log p, log_target=True) agree to a few ulp of p·(|log p| + |x|), times |log p|:
    log p rounded once moves e^(log p) by u·|log p| relative."""
    a = ref.kl_div([x], [p], reduction="sum")
    b = ref.kl_div([x], [math.log(p)], reduction="sum", log_target=True)
    scale = p * (abs(math.log(p)) + abs(x)) + abs(a)
    assert abs(a - b) <= 8 * math.ulp(scale) * (1.0 + abs(math.log(p)))


def _softmax_row(z: list[float]) -> list[float]:
    m = max(z)
    e = [math.exp(v - m) for v in z]
    return [v / math.fsum(e) for v in e]


rows = st.integers(1, 4).flatmap(
    lambda n: st.integers(2, 5).flatmap(
        lambda c: st.lists(st.lists(st.floats(-8, 8), min_size=c, max_size=c), min_size=n, max_size=n)
    )
)


@settings(max_examples=100)
@given(q_logits=rows, data=st.data())
def test_gibbs_inequality_and_the_reductions(q_logits: list[list[float]], data: st.DataObject) -> None:
    """For distributions, each row's divergence is ≥ 0 (Gibbs); batchmean·N = sum = mean·numel."""
    p_logits = data.draw(st.lists(st.lists(st.floats(-8, 8), min_size=len(q_logits[0]), max_size=len(q_logits[0])),
                                  min_size=len(q_logits), max_size=len(q_logits)))  # fmt: skip
    log_q = [[math.log(v) for v in _softmax_row(z)] for z in q_logits]
    p = [_softmax_row(z) for z in p_logits]
    per_row = [sum(row) for row in ref.kl_div(log_q, p, reduction="none")]
    assert all(v >= -1e-15 for v in per_row), per_row
    total = ref.kl_div(log_q, p, reduction="sum")
    n, numel = len(p), len(p) * len(p[0])
    assert ref.kl_div(log_q, p, reduction="batchmean") == pytest.approx(total / n, rel=1e-15, abs=1e-300)
    assert ref.kl_div(log_q, p) == pytest.approx(total / numel, rel=1e-15, abs=1e-300)


def test_kl_vjp_hand_values() -> None:
    """d/d input = −g·p; d/d target = g·(log p + 1 − x), or g·p·(log p + 1 − x) with log_target."""
    d_input, d_target = ref.kl_div_vjp([[0.0, -1.0]], [[0.5, 0.5]], 1.0, reduction="sum")
    assert d_input == [[-0.5, -0.5]]
    assert d_target == [[1.0 - LOG2, 2.0 - LOG2]]
    d_input, d_target = ref.kl_div_vjp([[0.0, -1.0]], [[-LOG2, -LOG2]], 1.0, reduction="batchmean", log_target=True)
    assert d_input == [[-0.5, -0.5]]
    assert d_target[0] == pytest.approx([0.5 * (1.0 - LOG2), 0.5 * (2.0 - LOG2)], rel=1e-15)
    d_input, d_target = ref.kl_div_vjp([0.0, -1.0], [0.0, 0.25], [2.0, 4.0], reduction="none")
    assert d_input == [0.0, -1.0]
    assert d_target[0] == -math.inf  # d(p log p)/dp → −∞ as p → 0
    assert d_target[1] == pytest.approx(4.0 * (math.log(0.25) + 2.0), rel=1e-15)


@settings(max_examples=100)
@given(x=st.floats(-20, 0), p=st.floats(1e-3, 1.0), log_target=st.booleans())
def test_kl_vjp_matches_a_50_digit_derivative(x: float, p: float, log_target: bool) -> None:
    """Both gradients agree with mpmath's numerical derivative of the 50-digit term."""
    t = math.log(p) if log_target else p

    def term(xv: mpmath.mpf, tv: mpmath.mpf) -> mpmath.mpf:
        pv = mpmath.exp(tv) if log_target else tv
        return pv * (mpmath.log(pv) - xv)

    d_input, d_target = ref.kl_div_vjp([x], [t], [1.0], reduction="none", log_target=log_target)
    assert d_input[0] == pytest.approx(float(mpmath.diff(lambda v: term(v, M(t)), M(x))), rel=1e-13)
    assert d_target[0] == pytest.approx(float(mpmath.diff(lambda v: term(M(x), v), M(t))), rel=1e-12, abs=1e-14)


def test_a_negative_target_probability_is_refused_naming_it() -> None:
    """A negative or NaN probability is refused with its value and index; log_target must be a bool."""
    with pytest.raises(ValueError, match=r"kl_div: target has the value -0.5 at flat index 1; expected probabilities"):
        ref.kl_div([0.0, 0.0], [0.5, -0.5])
    with pytest.raises(ValueError, match=r"kl_div_vjp: target has the value nan"):
        ref.kl_div_vjp([0.0], [math.nan], 1.0)
    with pytest.raises(TypeError, match=r"kl_div: log_target is int 1; expected True or False"):
        ref.kl_div([0.0], [0.5], log_target=1)
    with pytest.raises(ValueError, match=r"kl_div: reduction='batch'"):
        ref.kl_div([0.0], [0.5], reduction="batch")
