"""conv_transpose2d, its VJP and the output-size helper against the adjoint of conv2d, golden cases and bad input."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dlterms import reference as ref


def _pair(v: Any) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (v[0], v[1])


@st.composite
def calls(draw: Any, bias: bool = True) -> dict[str, Any]:
    """A conv_transpose2d call with a non-empty output: quarters in [−2, 2], groups 1-2, small images."""
    g = draw(st.sampled_from([1, 2]))
    c_in, o_g = g * draw(st.integers(1, 2)), draw(st.integers(1, 2))
    k, s, d, h, op, p = ([], [], [], [], [], [])
    for _ in range(2):
        k.append(draw(st.integers(1, 3)))
        s.append(draw(st.integers(1, 3)))
        d.append(draw(st.integers(1, 2)))
        h.append(draw(st.integers(1, 3)))
        op.append(draw(st.integers(0, max(s[-1], d[-1]) - 1)))
        p.append(draw(st.integers(0, ((h[-1] - 1) * s[-1] + d[-1] * (k[-1] - 1) + op[-1]) // 2)))
    quarters = st.integers(-8, 8).map(lambda v: v / 4)

    def arr(shape: tuple[int, ...]) -> list[Any]:
        return (
            np.array(draw(st.lists(quarters, min_size=int(np.prod(shape)), max_size=int(np.prod(shape)))))
            .reshape(shape)
            .tolist()
        )

    return {
        "x": arr((draw(st.integers(1, 2)), c_in, *h)),
        "weight": arr((c_in, o_g, *k)),
        "bias": arr((o_g * g,)) if bias and draw(st.booleans()) else None,
        "stride": s,
        "padding": p,
        "output_padding": op,
        "groups": g,
        "dilation": d,
    }


def adjoint_oracle(case: dict[str, Any]) -> np.ndarray:
    """y[idx] = b[o] + ⟨conv2d(e_idx, w), x⟩ (e_idx one-hot at output idx): the transpose of conv2d, as Fractions."""
    x = np.asarray(case["x"], dtype=object)
    n, _, h, w = x.shape
    _, o_g, kh, kw = np.shape(case["weight"])
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = (
        _pair(case[a]) for a in ("stride", "padding", "output_padding", "dilation")
    )
    out = (n, o_g * case["groups"], (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1)
    out = (*out, (w - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1)
    hyper = {"stride": case["stride"], "padding": case["padding"], "dilation": case["dilation"]}
    y = np.empty(out, dtype=object)
    for idx in np.ndindex(out):
        e = np.zeros(out)
        e[idx] = 1.0
        conv = np.asarray(ref.conv2d(e.tolist(), case["weight"], groups=case["groups"], **hyper))[:, :, :h, :w]
        total = sum(
            (Fraction(float(a)) * Fraction(float(b)) for a, b in zip(conv.ravel(), x.ravel(), strict=True)), Fraction(0)
        )
        y[idx] = total + (Fraction(case["bias"][idx[1]]) if case["bias"] is not None else 0)
    return y


@settings(max_examples=40, deadline=None)
@given(case=calls())
def test_conv_transpose2d_is_exactly_the_adjoint_of_conv2d(case: dict[str, Any]) -> None:
    """Every output equals the bias plus ⟨conv2d(one-hot), x⟩, exactly (quarters: every sum is exact)."""
    got = np.asarray(ref.conv_transpose2d(**case), dtype=object)
    expected = adjoint_oracle(case)
    assert got.shape == expected.shape
    assert all(Fraction(float(a)) == b for a, b in zip(got.ravel(), expected.ravel(), strict=True))


@settings(max_examples=40, deadline=None)
@given(case=calls())
def test_conv_transpose2d_agrees_with_torch_in_float64(case: dict[str, Any]) -> None:
    """The reference equals torch.nn.functional.conv_transpose2d in float64 on quarters (both exact)."""
    t = {k: torch.tensor(case[k], dtype=torch.float64) for k in ("x", "weight")}
    b = None if case["bias"] is None else torch.tensor(case["bias"], dtype=torch.float64)
    hyper = {k: case[k] for k in ("stride", "padding", "output_padding", "groups", "dilation")}
    expected = torch.nn.functional.conv_transpose2d(t["x"], t["weight"], b, **hyper).numpy()
    np.testing.assert_array_equal(np.asarray(ref.conv_transpose2d(**case)), expected)


def test_conv_transpose2d_of_d2l_example_at_stride_1_and_2() -> None:
    """d2l's 2 × 2 input and kernel: a 3 × 3 output at stride 1, 4 × 4 at stride 2, [[4]] with padding 1."""
    x, k = [[[[0.0, 1.0], [2.0, 3.0]]]], [[[[0.0, 1.0], [2.0, 3.0]]]]
    assert ref.conv_transpose2d(x, k) == [[[[0.0, 0.0, 1.0], [0.0, 4.0, 6.0], [4.0, 12.0, 9.0]]]]
    assert ref.conv_transpose2d(x, k, stride=2) == [
        [[[0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 2.0, 3.0], [0.0, 2.0, 0.0, 3.0], [4.0, 6.0, 6.0, 9.0]]]
    ]
    assert ref.conv_transpose2d(x, k, padding=1) == [[[[4.0]]]]


def test_output_padding_adds_bias_only_rows_at_the_bottom_and_right() -> None:
    """Stride 2, output_padding 1 and no padding: the extra last row and column hold only the bias."""
    y = ref.conv_transpose2d([[[[1.0]]]], [[[[2.0]]]], [0.5], stride=2, output_padding=1)
    assert y == [[[[2.5, 0.5], [0.5, 0.5]]]]


def test_groups_keep_channels_apart() -> None:
    """With 2 groups, output channel 0 reads input channel 0 only and output channel 1 input channel 1 only."""
    y = ref.conv_transpose2d([[[[1.0]], [[10.0]]]], [[[[2.0]]], [[[3.0]]]], groups=2)
    assert y == [[[[2.0]], [[30.0]]]]


@settings(max_examples=30, deadline=None)
@given(case=calls(), data=st.data())
def test_conv_transpose2d_vjp_is_exact(case: dict[str, Any], data: st.DataObject) -> None:
    """dx is conv2d(g, w) (cut to x's size), dweight[idx] = ⟨g, convT(x, e_idx)⟩ and dbias the sums of g, exactly."""
    y = np.asarray(ref.conv_transpose2d(**case))
    g = np.asarray(data.draw(st.lists(st.integers(-4, 4), min_size=y.size, max_size=y.size))).reshape(y.shape) / 2
    dx, dw, db = ref.conv_transpose2d_vjp(cotangent=g.tolist(), **case)
    hyper = {k: case[k] for k in ("stride", "padding", "dilation", "groups")}
    h, w = np.shape(case["x"])[2:]
    np.testing.assert_array_equal(dx, np.asarray(ref.conv2d(g.tolist(), case["weight"], **hyper))[:, :, :h, :w])
    weight = np.asarray(case["weight"])
    expected_dw = np.empty(weight.shape)
    no_bias = {**case, "bias": None}
    for idx in np.ndindex(weight.shape):
        e = np.zeros(weight.shape)
        e[idx] = 1.0
        expected_dw[idx] = float((g * np.asarray(ref.conv_transpose2d(**{**no_bias, "weight": e.tolist()}))).sum())
    np.testing.assert_array_equal(dw, expected_dw)
    if case["bias"] is None:
        assert db is None
    else:
        np.testing.assert_array_equal(db, g.sum(axis=(0, 2, 3)))


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((2, 2), 3),  # (2 − 1)·1 + 1·1 + 1
        ((2, 2, 2), 4),  # d2l's stride-2 example
        ((3, 3, 2, 1, 1), 6),  # a ×2 upsampling: (3 − 1)·2 − 2 + 2 + 1 + 1
        ((4, 3, 1, 0, 1, 2), 9),  # dilation 2 allows output_padding 1 at stride 1: 3 + 4 + 1 + 1
    ],
)
def test_conv_transpose_output_size_by_hand(args: tuple[int, ...], expected: int) -> None:
    """(H − 1)·s − 2p + d·(k − 1) + output_padding + 1 on hand-computed cases."""
    assert ref.conv_transpose_output_size(*args) == expected


def test_output_padding_must_be_below_the_stride_or_the_dilation() -> None:
    """output_padding = max(stride, dilation) is refused with a message naming it and the rule."""
    with pytest.raises(ValueError, match=r"output_padding=2 .*expected output_padding < max\(stride, dilation\)"):
        ref.conv_transpose2d([[[[1.0]]]], [[[[1.0]]]], stride=2, output_padding=2)
    assert ref.conv_transpose2d([[[[1.0]]]], [[[[1.0]]]], stride=1, output_padding=1, dilation=2) == [
        [[[1.0, 0.0], [0.0, 0.0]]]
    ]


def test_weight_with_the_wrong_in_channels_is_refused() -> None:
    """A conv2d-layout weight (out, in, kH, kW) given for 3 input channels is refused, naming the layout."""
    with pytest.raises(ValueError, match=r"weight.shape=\(2, 3, 1, 1\) but x has 3 channels"):
        ref.conv_transpose2d([[[[1.0]], [[1.0]], [[1.0]]]], [[[[1.0]]] * 3] * 2)
