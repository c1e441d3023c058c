"""interpolate, its taps and its VJP against hand-computed values, exact rationals and PyTorch."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dlterms import reference as ref

F1 = Fraction(1)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        # legacy nearest ⌊d·5/3⌋ = 0, 1, 3; half-pixel ⌊(d + ½)·5/3⌋ = 0, 2, 4
        ((5, 3, "nearest"), [[(0, F1)], [(1, F1)], [(3, F1)]]),
        ((5, 3, "nearest-exact"), [[(0, F1)], [(2, F1)], [(4, F1)]]),
        # half-pixel doubling: s = −¼ (clamped to 0), ¼, ¾, 5/4 (past the last input)
        (
            (2, 4, "bilinear"),
            [
                [(0, F1)],
                [(0, Fraction(3, 4)), (1, Fraction(1, 4))],
                [(0, Fraction(1, 4)), (1, Fraction(3, 4))],
                [(1, F1)],
            ],
        ),
        # corners: s = 0, ⅓, ⅔, 1
        (
            (2, 4, "bilinear", True),
            [
                [(0, F1)],
                [(0, Fraction(2, 3)), (1, Fraction(1, 3))],
                [(0, Fraction(1, 3)), (1, Fraction(2, 3))],
                [(1, F1)],
            ],
        ),
        # shrinking 5 to 3: s = ⅓, 2, 11/3
        (
            (5, 3, "bilinear"),
            [[(0, Fraction(2, 3)), (1, Fraction(1, 3))], [(2, F1)], [(3, Fraction(1, 3)), (4, Fraction(2, 3))]],
        ),
        ((3, 1, "bilinear", True), [[(0, F1)]]),  # one output aligning corners: PyTorch's scale 0
        ((3, 1, "bilinear"), [[(1, F1)]]),  # one output, half-pixel: the centre
        ((1, 3, "bilinear", True), [[(0, F1)], [(0, F1)], [(0, F1)]]),
    ],
)
def test_interpolation_taps_by_hand(args: tuple[Any, ...], expected: list[list[tuple[int, Fraction]]]) -> None:
    """The source inputs and exact weights of PyTorch's coordinate maps, worked out by hand."""
    assert ref.interpolation_taps(*args) == expected


def test_interpolate_2x2_to_4x4_under_both_align_corners_by_hand() -> None:
    """[[0, 1], [2, 3]] doubled: quarters with half-pixel centres, thirds (rounded once) aligning the corners."""
    x = [[[[0.0, 1.0], [2.0, 3.0]]]]
    half = [[0.0, 0.25, 0.75, 1.0], [0.5, 0.75, 1.25, 1.5], [1.5, 1.75, 2.25, 2.5], [2.0, 2.25, 2.75, 3.0]]
    assert ref.interpolate(x, 4, "bilinear") == [[half]]
    assert ref.interpolate(x, 4, "bilinear", False) == [[half]]
    thirds = [[Fraction(2 * i + j, 3) for j in range(4)] for i in range(4)]  # x(h, w) = 2h + w at h, w = i/3, j/3
    assert ref.interpolate(x, 4, "bilinear", True) == [[[[float(v) for v in row] for row in thirds]]]


def test_interpolate_nearest_modes_by_hand() -> None:
    """[0, …, 4] to 3: legacy 0, 1, 3; half-pixel 0, 2, 4; [a, b] doubled repeats each: a, a, b, b."""
    x = [[[[0.0, 1.0, 2.0, 3.0, 4.0]]]]
    assert ref.interpolate(x, (1, 3)) == [[[[0.0, 1.0, 3.0]]]]
    assert ref.interpolate(x, (1, 3), "nearest-exact") == [[[[0.0, 2.0, 4.0]]]]
    assert ref.interpolate([[[[5.0, 7.0]]]], (1, 4)) == [[[[5.0, 5.0, 7.0, 7.0]]]]


def test_interpolate_shrinking_is_not_antialiased() -> None:
    """[0, …, 4] shrunk bilinearly to 3 reads two inputs per output: ⅓, 2, 11/3 (each rounded once)."""
    assert ref.interpolate([[[[0.0, 1.0, 2.0, 3.0, 4.0]]]], (1, 3), "bilinear") == [[[[1 / 3, 2.0, 11 / 3]]]]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"mode": "nearest", "align_corners": True}, r"interpolate: align_corners=True with mode='nearest'"),
        ({"mode": "nearest-exact", "align_corners": False}, r"align_corners=False with mode='nearest-exact'"),
        ({"mode": "bicubic"}, r"interpolate: mode='bicubic'; expected one of 'nearest', 'nearest-exact', 'bilinear'"),
        ({"size": 0}, r"interpolate: size=0; expected an int >= 1"),
        ({"size": [2, 3, 4]}, r"interpolate: size=\[2, 3, 4\]; expected an int or a pair"),
    ],
)
def test_interpolate_refuses_bad_options_naming_them(kwargs: dict[str, Any], match: str) -> None:
    """align_corners with a nearest mode, an unknown mode and a size below 1 are refused by name and value."""
    call = {"x": [[[[0.0, 1.0]]]], "size": 2, **kwargs}
    with pytest.raises(ValueError, match=match):
        ref.interpolate(**call)


def test_interpolate_refuses_a_non_bool_align_corners() -> None:
    """align_corners must be True, False or None."""
    with pytest.raises(TypeError, match=r"interpolate: align_corners=1; expected True, False or None"):
        ref.interpolate([[[[0.0, 1.0]]]], 2, "bilinear", 1)


@st.composite
def calls(draw: Any) -> dict[str, Any]:
    """x of quarters in [−2, 2], 1-2 examples and channels, sides 1-6 resized to 1-8, any mode and align_corners."""
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 6)), draw(st.integers(1, 6)))
    size = int(np.prod(shape))
    x = np.array(draw(st.lists(st.integers(-8, 8), min_size=size, max_size=size))).reshape(shape) / 4
    mode = draw(st.sampled_from(["nearest", "nearest-exact", "bilinear"]))
    ac = draw(st.sampled_from([None, False, True])) if mode == "bilinear" else None
    return {
        "x": x.tolist(),
        "size": [draw(st.integers(1, 8)), draw(st.integers(1, 8))],
        "mode": mode,
        "align_corners": ac,
    }


@settings(max_examples=60, deadline=None)
@given(case=calls())
def test_interpolate_agrees_with_torch_in_float64(case: dict[str, Any]) -> None:
    """The reference is within 2 ulp of torch.nn.functional.interpolate in float64 (torch rounds its weights)."""
    x = torch.tensor(case["x"], dtype=torch.float64)
    expected = torch.nn.functional.interpolate(
        x, size=tuple(case["size"]), mode=case["mode"], align_corners=case["align_corners"]
    ).numpy()
    got = np.asarray(ref.interpolate(**case))
    np.testing.assert_allclose(got, expected, rtol=0, atol=4 * 2**-52 * max(1.0, np.abs(expected).max(initial=0)))


@settings(max_examples=40, deadline=None)
@given(case=calls(), data=st.data())
def test_interpolate_vjp_agrees_with_torch_autograd_in_float64(case: dict[str, Any], data: st.DataObject) -> None:
    """The VJP is torch's input gradient of F.interpolate for an integer cotangent, within a few ulp."""
    x = torch.tensor(case["x"], dtype=torch.float64, requires_grad=True)
    opts = {"size": tuple(case["size"]), "mode": case["mode"], "align_corners": case["align_corners"]}
    y = torch.nn.functional.interpolate(x, **opts)
    g = torch.tensor(
        data.draw(st.lists(st.integers(-4, 4), min_size=y.numel(), max_size=y.numel())), dtype=torch.float64
    )
    y.backward(g.reshape(y.shape))
    got = np.asarray(
        ref.interpolate_vjp(case["x"], g.reshape(y.shape).tolist(), case["size"], case["mode"], case["align_corners"])
    )
    expected = x.grad.numpy()
    np.testing.assert_allclose(got, expected, rtol=0, atol=64 * 2**-52 * max(1.0, np.abs(expected).max(initial=0)))


@settings(max_examples=40, deadline=None)
@given(case=calls(), data=st.data())
def test_interpolate_vjp_is_the_adjoint(case: dict[str, Any], data: st.DataObject) -> None:
    """⟨interpolate(x), g⟩ = ⟨x, interpolate_vjp(g)⟩ (interpolation is linear), within the terms' roundings."""
    opts = {k: case[k] for k in ("size", "mode", "align_corners")}
    y = np.asarray(ref.interpolate(case["x"], **opts))
    g = np.array(data.draw(st.lists(st.integers(-4, 4), min_size=y.size, max_size=y.size)), dtype=float).reshape(
        y.shape
    )
    dx = np.asarray(ref.interpolate_vjp(case["x"], g.tolist(), **opts))
    x = np.asarray(case["x"])
    lhs, rhs = float((y * g).sum()), float((x * dx).sum())
    assert abs(lhs - rhs) <= 16 * 2**-52 * (np.abs(y * g).sum() + np.abs(x * dx).sum() + 1)


def test_interpolate_vjp_by_hand() -> None:
    """[a, b] doubled bilinearly: weights (1, 0), (¾, ¼), (¼, ¾), (0, 1); g = [1, 2, 3, 4] gives [3.25, 6.75]."""
    dx = ref.interpolate_vjp([[[[5.0, 7.0]]]], [[[[1.0, 2.0, 3.0, 4.0]]]], (1, 4), "bilinear")
    assert dx == [[[[1 + 1.5 + 0.75, 0.5 + 2.25 + 4]]]]
