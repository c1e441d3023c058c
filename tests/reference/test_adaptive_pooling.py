"""adaptive_avg_pool2d, its VJP and the bins against hand-computed values, exact rational means and PyTorch."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dlterms import reference as ref


@pytest.mark.parametrize(
    ("size", "out", "expected"),
    [
        (5, 3, [(0, 2), (1, 4), (3, 5)]),  # ⌊0⌋..⌈5/3⌉, ⌊5/3⌋..⌈10/3⌉, ⌊10/3⌋..5: overlapping
        (4, 2, [(0, 2), (2, 4)]),  # a multiple: kernel = stride = 2
        (7, 3, [(0, 3), (2, 5), (4, 7)]),
        (2, 4, [(0, 1), (0, 1), (1, 2), (1, 2)]),  # more outputs than inputs: each input repeated
        (6, 1, [(0, 6)]),  # global
    ],
)
def test_adaptive_bins_by_hand(size: int, out: int, expected: list[tuple[int, int]]) -> None:
    """PyTorch's bins ⌊i·H/n⌋ to ⌈(i + 1)·H/n⌉ on hand-computed cases."""
    assert ref.adaptive_bins(size, out) == expected


def test_adaptive_avg_pool2d_by_hand() -> None:
    """3 × 3 to 2 × 2 averages the overlapping 2 × 2 corners; to 1 the mean; 2 rows to 4 repeats each row twice."""
    x = [[[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]]]]
    assert ref.adaptive_avg_pool2d(x, 2) == [[[[2.0, 3.0], [5.0, 6.0]]]]
    assert ref.adaptive_avg_pool2d(x, 1) == [[[[4.0]]]]
    assert ref.adaptive_avg_pool2d(x, (1, 3)) == [[[[3.0, 4.0, 5.0]]]]
    assert ref.adaptive_avg_pool2d([[[[1.0], [3.0]]]], (4, 1)) == [[[[1.0], [1.0], [3.0], [3.0]]]]


@st.composite
def calls(draw: Any) -> dict[str, Any]:
    """x of quarters in [−2, 2], 1-2 examples, 1-2 channels, sides 1-7; output sizes 1-5."""
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 7)), draw(st.integers(1, 7)))
    size = int(np.prod(shape))
    x = np.array(draw(st.lists(st.integers(-8, 8), min_size=size, max_size=size))).reshape(shape) / 4
    return {"x": x.tolist(), "output_size": [draw(st.integers(1, 5)), draw(st.integers(1, 5))]}


def exact_means(x: np.ndarray, oh: int, ow: int) -> np.ndarray:
    """Each bin's mean as a Fraction, bins from ⌊i·H/n⌋ to ⌈(i + 1)·H/n⌉ written with Fraction floor and ceil."""
    h, w = x.shape[2:]
    out = np.empty((*x.shape[:2], oh, ow), dtype=object)
    for b, c, i, j in np.ndindex(out.shape):
        r0, r1 = Fraction(i * h, oh).__floor__(), Fraction((i + 1) * h, oh).__ceil__()
        q0, q1 = Fraction(j * w, ow).__floor__(), Fraction((j + 1) * w, ow).__ceil__()
        cells = [Fraction(float(v)) for v in x[b, c, r0:r1, q0:q1].ravel()]
        out[b, c, i, j] = sum(cells, Fraction(0)) / len(cells)
    return out


@settings(max_examples=60, deadline=None)
@given(case=calls())
def test_each_output_is_its_bins_mean_correctly_rounded(case: dict[str, Any]) -> None:
    """On quarters every bin's sum is exact, so each output is the exact mean rounded once."""
    got = np.asarray(ref.adaptive_avg_pool2d(**case))
    expected = exact_means(np.asarray(case["x"]), *case["output_size"])
    assert got.shape == expected.shape
    assert all(float(e) == g for g, e in zip(got.ravel(), expected.ravel(), strict=True))


@settings(max_examples=40, deadline=None)
@given(case=calls())
def test_adaptive_avg_pool2d_agrees_with_torch_in_float64(case: dict[str, Any]) -> None:
    """The reference is within 1 ulp of torch.nn.functional.adaptive_avg_pool2d in float64 (torch sums in order)."""
    x = torch.tensor(case["x"], dtype=torch.float64)
    expected = torch.nn.functional.adaptive_avg_pool2d(x, case["output_size"]).numpy()
    np.testing.assert_allclose(ref.adaptive_avg_pool2d(**case), expected, rtol=2**-52, atol=0)


def test_adaptive_avg_pool2d_vjp_by_hand() -> None:
    """3 rows to 2 bins (rows 0-1 and 1-2): g = [a, b] gives dx = [a/2, a/2 + b/2, b/2]."""
    dx = ref.adaptive_avg_pool2d_vjp([[[[5.0], [6.0], [7.0]]]], [[[[2.0], [4.0]]]], (2, 1))
    assert dx == [[[[1.0], [3.0], [2.0]]]]


@settings(max_examples=40, deadline=None)
@given(case=calls(), data=st.data())
def test_adaptive_avg_pool2d_vjp_is_the_adjoint(case: dict[str, Any], data: st.DataObject) -> None:
    """dx[idx] = ⟨g, pool(e_idx)⟩ (pooling is linear), within one rounding of each share and of their sum."""
    x = np.asarray(case["x"])
    oh, ow = case["output_size"]
    n = x.shape[0] * x.shape[1] * oh * ow
    g = np.array(data.draw(st.lists(st.integers(-4, 4), min_size=n, max_size=n))).reshape(*x.shape[:2], oh, ow)
    dx = np.asarray(ref.adaptive_avg_pool2d_vjp(case["x"], g.tolist(), case["output_size"]))
    for idx in np.ndindex(x.shape):
        e = np.zeros(x.shape)
        e[idx] = 1.0
        pooled = exact_means(e, oh, ow)
        terms = [Fraction(int(a)) * b for a, b in zip(g.ravel(), pooled.ravel(), strict=True)]
        exact = sum(terms, Fraction(0))
        bound = 2 * 2**-53 * sum(abs(t) for t in terms)  # each share g/|bin| rounded, then the exact sum rounded
        assert abs(Fraction(dx[idx]) - exact) <= bound
