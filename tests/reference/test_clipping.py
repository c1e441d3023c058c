"""Gradient clipping by the global norm against hand-computed values; its VJP against 50-digit mpmath
derivatives; bad input refused with the argument named."""

from __future__ import annotations

import math

import mpmath
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlterms import reference as ref

mpmath.mp.dps = 50


def test_clip_grad_norm_scales_every_tensor_by_max_norm_over_the_global_norm() -> None:
    """Tensors [3, 0] and [0, 4] have global norm 5; max_norm 1 scales both by 1/5 (3/5 and 4/5 within 1 ulp)."""
    got = ref.clip_grad_norm([[3.0, 0.0], [0.0, 4.0]], max_norm=1.0)
    assert got[0][0] == pytest.approx(0.6, rel=2**-52) and got[1][1] == pytest.approx(0.8, rel=2**-52)
    assert got[0][1] == 0.0 and got[1][0] == 0.0


def test_clip_grad_norm_uses_the_global_norm_not_each_tensors() -> None:
    """[[6, 8]] alone has norm 10; with a second tensor [[0, 0]] and max_norm 5 each is halved, not clipped to 5."""
    assert ref.clip_grad_norm([[[6.0, 8.0]], [[0.0, 0.0]]], 5.0) == [[[3.0, 4.0]], [[0.0, 0.0]]]


def test_clip_grad_norm_leaves_a_norm_at_or_below_max_norm_unchanged() -> None:
    """N = 5 with max_norm 5 or 7 returns the gradients as they are (clipping scales down only)."""
    assert ref.clip_grad_norm([[3.0], [4.0]], 5.0) == [[3.0], [4.0]]
    assert ref.clip_grad_norm([[3.0], [4.0]], 7.0) == [[3.0], [4.0]]


def test_clip_grad_norm_of_huge_gradients_does_not_overflow() -> None:
    """Elements of 1e300 (their squares overflow) are clipped to norm 1: each becomes 1/√2 within 1 ulp."""
    got = ref.clip_grad_norm([[1e300], [1e300]], 1.0)
    assert got[0][0] == pytest.approx(1 / math.sqrt(2), rel=2**-51)


def test_clip_grad_norm_nan_poisons_everything() -> None:
    """A NaN makes N = NaN and the one factor NaN, so every output is NaN."""
    got = ref.clip_grad_norm([[math.nan, 1.0], [0.0, 2.0]], 1.0)
    assert all(math.isnan(v) for row in got for v in row)


def _exact_vjp(g: list[float], cot: list[float], c: float) -> list[mpmath.mpf]:
    """ḡⱼ = Σᵢ ȳᵢ·∂yᵢ/∂gⱼ with y = g·min(1, c/N), from mpmath's 50-digit derivatives."""
    n = len(g)

    def y(i: int, *gs: mpmath.mpf) -> mpmath.mpf:
        norm = mpmath.sqrt(mpmath.fsum(v * v for v in gs))
        return gs[i] * min(mpmath.mpf(1), mpmath.mpf(c) / norm)

    out = []
    for j in range(n):
        order = tuple(1 if k == j else 0 for k in range(n))
        out.append(
            mpmath.fsum(
                cot[i] * mpmath.diff(lambda *gs, i=i: y(i, *gs), [mpmath.mpf(v) for v in g], order) for i in range(n)
            )
        )
    return out


@settings(max_examples=25)
@given(
    data=st.lists(st.tuples(st.floats(-10, 10), st.floats(-3, 3)), min_size=1, max_size=4),
    ratio=st.sampled_from((0.2, 0.7, 1.5)),
)
def test_clip_grad_norm_vjp_matches_mpmath_derivatives(data: list[tuple[float, float]], ratio: float) -> None:
    """The VJP (clipped or not) equals Σᵢ ȳᵢ·∂yᵢ/∂gⱼ from 50-digit numerical derivatives, within 1e-12 relative."""
    g, cot = [d[0] for d in data], [d[1] for d in data]
    norm = math.hypot(*g)
    if norm < 1e-3:
        return
    c = ratio * norm
    got = ref.clip_grad_norm_vjp([[v] for v in g], [[v] for v in cot], max_norm=c)
    exact = _exact_vjp(g, cot, c)
    scale = mpmath.fsum(abs(v) for v in cot) + 1
    for gj, ej in zip(got, exact, strict=True):
        assert abs(mpmath.mpf(gj[0]) - ej) <= 1e-12 * scale


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: ref.clip_grad_norm(1.0, 1.0), r"clip_grad_norm: grads has shape \(\); expected a tensor of rank >= 1"),
        (
            lambda: ref.clip_grad_norm([], 1.0),
            r"clip_grad_norm: grads has shape \(0,\); expected a tensor of rank >= 1",
        ),
        (lambda: ref.clip_grad_norm([1.0], -1.0), r"clip_grad_norm: max_norm=-1\.0; expected a norm >= 0"),
        (lambda: ref.clip_grad_norm([1.0], math.inf), r"clip_grad_norm: max_norm=inf; expected a finite real number"),
        (
            lambda: ref.clip_grad_norm_vjp([[1.0, 2.0]], [[1.0]], 1.0),
            r"clip_grad_norm_vjp: cotangent has shape \(1, 1\); expected the shape of grads, \(1, 2\)",
        ),
    ],
)
def test_clip_grad_norm_refuses_bad_input_naming_the_argument(call, message: str) -> None:  # type: ignore[no-untyped-def]
    """Each bad argument is refused with the function, the argument, its value and what was expected."""
    with pytest.raises(ValueError, match=message):
        call()
