"""The learning-rate schedules against hand-computed values and 50-digit mpmath; their VJPs against the
linearity in lr; bad input refused with the argument named."""

from __future__ import annotations

import math

import mpmath
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlterms import reference as ref

mpmath.mp.dps = 50


def test_step_lr_drops_by_gamma_at_each_multiple_of_step_size() -> None:
    """step_size 3, γ = 0.5: t = 0..2 → 1, 3..5 → 0.5, 6 → 0.25 (hand-computed, exact in binary)."""
    assert ref.step_lr(1.0, [0, 1, 2, 3, 4, 5, 6], step_size=3, gamma=0.5) == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]


def test_step_lr_keeps_the_shape_of_step_and_takes_a_bare_step() -> None:
    """A (2, 2) tensor of steps gives a (2, 2) tensor of rates; a bare int gives a bare rate."""
    assert ref.step_lr(4.0, [[0, 1], [2, 5]], step_size=2, gamma=0.5) == [[4.0, 4.0], [2.0, 1.0]]
    assert ref.step_lr(4.0, 4, step_size=2, gamma=0.5) == 1.0


def test_step_lr_default_gamma_is_a_tenth() -> None:
    """The default γ is PyTorch's 0.1: after one drop the rate is lr/10 (0.1·1.0 = 0.1 exactly as a double)."""
    assert ref.step_lr(1.0, [1], step_size=1) == [0.1]


def test_cosine_annealing_lr_at_quarter_points_matches_the_formula() -> None:
    """T = 4, η₀ = 1, η_min = 0: 1, (2 + √2)/4, 1/2, (2 − √2)/4, 0, and 0 after T, within 1 ulp of mpmath."""
    got = ref.cosine_annealing_lr(1.0, [0, 1, 2, 3, 4, 9], t_max=4)
    r = mpmath.sqrt(2)
    exact = [1, (2 + r) / 4, mpmath.mpf(1) / 2, (2 - r) / 4, 0, 0]
    for g, e in zip(got, exact, strict=True):
        assert abs(mpmath.mpf(g) - e) <= 4 * mpmath.mpf(2) ** -53 * abs(e)


@settings(max_examples=80)
@given(
    t_max=st.integers(1, 10_000),
    frac=st.floats(0, 1.5),
    lr=st.floats(1e-6, 10.0),
    low_frac=st.sampled_from((0.0, 0.01, 0.5, 1.0)),
)
def test_cosine_annealing_lr_is_within_8_u_of_mpmath(t_max: int, frac: float, lr: float, low_frac: float) -> None:
    """η_min + (η₀ − η_min)(1 + cos(π·min(t, T)/T))/2 at 50 digits: the reference is within 8 u (relative) of it."""
    t = int(frac * t_max)
    low = lr * low_frac
    got = ref.cosine_annealing_lr(lr, [t], t_max=t_max, eta_min=low)[0]
    x = mpmath.mpf(min(t, t_max)) / t_max
    exact = mpmath.mpf(low) + (mpmath.mpf(lr) - mpmath.mpf(low)) * (1 + mpmath.cos(mpmath.pi * x)) / 2
    assert abs(mpmath.mpf(got) - exact) <= 8 * mpmath.mpf(2) ** -53 * abs(exact)


def test_linear_warmup_lr_rises_in_a_straight_line_then_stays() -> None:
    """W = 4, s = 0.25, η₀ = 2: 0.5, 0.875, 1.25, 1.625, 2, 2 (steps of (1 − s)·η₀/W = 0.375, hand-computed)."""
    got = ref.linear_warmup_lr(2.0, [0, 1, 2, 3, 4, 10], warmup_steps=4, start_factor=0.25)
    assert got == [0.5, 0.875, 1.25, 1.625, 2.0, 2.0]


def test_linear_warmup_lr_from_zero_by_default() -> None:
    """The default start factor is 0: the first rate is 0, the middle one lr/2."""
    assert ref.linear_warmup_lr(1.0, [0, 5, 10], warmup_steps=10) == [0.0, 0.5, 1.0]


@pytest.mark.parametrize(
    ("op", "options"),
    [
        ("step_lr", {"step_size": 3, "gamma": 0.7}),
        ("cosine_annealing_lr", {"t_max": 7, "eta_min": 0.0}),
        ("linear_warmup_lr", {"warmup_steps": 5, "start_factor": 0.3}),
    ],
)
def test_schedule_vjp_is_the_rate_at_base_one_summed_with_the_cotangent(op: str, options: dict) -> None:
    """Each schedule (η_min = 0) is linear in lr, so its VJP is Σ ḡₜ·rate(1, t): checked against fsum by hand."""
    steps, cot = [0, 1, 3, 6, 12], [0.5, -1.0, 2.0, 0.25, 3.0]
    at_one = getattr(ref, op)(1.0, steps, **options)
    expected = math.fsum(c * r for c, r in zip(cot, at_one, strict=True))
    assert getattr(ref, f"{op}_vjp")(0.3, steps, cot, **options) == pytest.approx(expected, rel=1e-15, abs=0.0)


def test_cosine_vjp_with_eta_min_is_the_cosine_weight() -> None:
    """With η_min > 0, ∂rate/∂η₀ is the weight (1 + cos(πt/T))/2 alone: 1 at t = 0, 1/2 at T/2, 0 at T."""
    got = ref.cosine_annealing_lr_vjp(1.0, [0, 2, 4], [1.0, 10.0, 100.0], t_max=4, eta_min=0.5)
    assert got == pytest.approx(1.0 + 10.0 * 0.5, rel=1e-15)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: ref.step_lr([1.0], [0], 1), r"step_lr: lr has shape \(1,\); expected a 0-d tensor"),
        (lambda: ref.step_lr(-1.0, [0], 1), r"step_lr: lr=-1\.0; expected a finite learning rate >= 0"),
        (lambda: ref.step_lr(1.0, [0, -1], 1), r"step_lr: step\[1\]=-1; expected an int >= 0"),
        (lambda: ref.step_lr(1.0, [0], 0), r"step_lr: step_size=0; expected an int >= 1"),
        (lambda: ref.step_lr(1.0, [0], 1, gamma=-0.5), r"step_lr: gamma=-0\.5; expected a decay factor >= 0"),
        (lambda: ref.cosine_annealing_lr(1.0, [0], 0), r"cosine_annealing_lr: t_max=0; expected an int >= 1"),
        (
            lambda: ref.cosine_annealing_lr(1.0, [0], 4, eta_min=-0.5),
            r"cosine_annealing_lr: eta_min=-0\.5; expected a final learning rate >= 0",
        ),
        (
            lambda: ref.linear_warmup_lr(1.0, [0], 4, start_factor=1.5),
            r"linear_warmup_lr: start_factor=1\.5; expected a fraction of lr in \[0, 1\]",
        ),
        (lambda: ref.linear_warmup_lr(1.0, [[0], [1, 2]], 4), r"linear_warmup_lr: step\[1\] is \[1, 2\]; expected"),
    ],
)
def test_schedules_refuse_bad_input_naming_the_argument(call, message: str) -> None:  # type: ignore[no-untyped-def]
    """Each bad argument is refused with the function, the argument, its value and what was expected."""
    with pytest.raises(ValueError, match=message):
        call()


def test_a_float_step_is_refused_as_a_type_error() -> None:
    """A step count of 1.5 is no step: TypeError naming step[0] and asking for an int."""
    with pytest.raises(TypeError, match=r"step_lr: step\[0\] is float 1\.5; expected an int"):
        ref.step_lr(1.0, [1.5], 1)
