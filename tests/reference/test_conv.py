"""conv2d, its VJP and the output-size helper against exact rational oracles, golden cases and bad input."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dlterms import reference as ref

# --- an independent oracle: the definition, in exact rational arithmetic -----------------


def _pair(v: Any) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (v[0], v[1])


def _positions(size: int, k: int, s: int, p: int, d: int) -> int:
    """Count the window positions by sliding until the dilated kernel leaves the padded input."""
    count = 0
    while count * s + d * (k - 1) <= size + 2 * p - 1:
        count += 1
    return count


def oracle_conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> np.ndarray:
    """y[n, o, r, q] = b[o] + Σ w[o, c, i, j] · x_padded[n, g·C/G + c, r·s + i·d, q·s + j·d], as Fractions."""
    x, w = np.asarray(x, dtype=object), np.asarray(weight, dtype=object)
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride), _pair(padding), _pair(dilation)
    n, _, h, wd = x.shape
    o, cg, kh, kw = w.shape
    oh, ow = _positions(h, kh, sh, ph, dh), _positions(wd, kw, sw, pw, dw)
    padded = {}  # (n, c, row, col) -> value; anything missing is a padding zero
    for idx in np.ndindex(x.shape):
        padded[(idx[0], idx[1], idx[2] + ph, idx[3] + pw)] = Fraction(x[idx])
    y = np.empty((n, o, oh, ow), dtype=object)
    for b, out, r, q in np.ndindex(y.shape):
        first = (out // (o // groups)) * cg
        total = Fraction(bias[out]) if bias is not None else Fraction(0)
        for c, i, j in np.ndindex(cg, kh, kw):
            total += Fraction(w[out, c, i, j]) * padded.get((b, first + c, r * sh + i * dh, q * sw + j * dw), 0)
        y[b, out, r, q] = total
    return y


def oracle_conv2d_vjp(x, weight, bias, cotangent, **hyper: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """conv2d is linear in x and in weight, so each gradient entry is ⟨g, conv(one-hot)⟩, exactly."""
    g = np.asarray(cotangent, dtype=object)

    def entries(shape: tuple[int, ...], conv_of_onehot) -> np.ndarray:
        out = np.empty(shape, dtype=object)
        for idx in np.ndindex(shape):
            e = np.zeros(shape, dtype=object)
            e[idx] = 1
            out[idx] = (g * conv_of_onehot(e)).sum()
        return out

    dx = entries(np.shape(x), lambda e: oracle_conv2d(e, weight, None, **hyper))
    dw = entries(np.shape(weight), lambda e: oracle_conv2d(x, e, None, **hyper))
    db = None if bias is None else g.sum(axis=(0, 2, 3))
    return dx, dw, db


@st.composite
def conv_cases(draw, max_side: int = 5) -> dict[str, Any]:
    """Small integer tensors with random stride, padding, dilation and groups; the kernel fits."""
    groups = draw(st.sampled_from([1, 2, 3]))
    c_in, c_out = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    k = [draw(st.integers(1, 3)) for _ in range(2)]
    s, p, d = ([draw(st.integers(lo, hi)) for _ in range(2)] for lo, hi in ((1, 3), (0, 2), (1, 2)))
    d = [d[a] if d[a] * (k[a] - 1) + 1 <= max_side else 1 for a in range(2)]  # the kernel fits max_side
    size = [draw(st.integers(max(1, d[a] * (k[a] - 1) + 1 - 2 * p[a]), max_side)) for a in range(2)]
    ints = st.integers(-9, 9)

    def tensor(shape: tuple[int, ...]) -> Any:
        return (
            np.array(draw(st.lists(ints, min_size=int(np.prod(shape)), max_size=int(np.prod(shape)))))
            .reshape(shape)
            .astype(float)
            .tolist()
        )

    def as_hyper(v: list[int]) -> int | tuple[int, int]:
        return v[0] if v[0] == v[1] and draw(st.booleans()) else (v[0], v[1])

    return {
        "x": tensor((draw(st.integers(1, 2)), c_in, *size)),
        "weight": tensor((c_out, c_in // groups, *k)),
        "bias": tensor((c_out,)) if draw(st.booleans()) else None,
        "stride": as_hyper(s),
        "padding": as_hyper(p),
        "dilation": as_hyper(d),
        "groups": groups,
    }


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Tiny tensors gain nothing from intra-op threads, which only contend for shared CI cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _exact(values: Any) -> np.ndarray:
    return np.vectorize(float, otypes=[float])(np.asarray(values, dtype=object))


# --- against the oracle ---------------------------------------------------------------------


@given(conv_cases())
def test_conv2d_equals_the_cross_correlation_sum_exactly(case: dict[str, Any]) -> None:
    """On integer inputs conv2d equals the exact cross-correlation sum for any stride, padding, dilation, groups."""
    got = np.asarray(ref.conv2d(**case))
    assert got.shape == oracle_conv2d(**case).shape
    assert np.array_equal(got, _exact(oracle_conv2d(**case)))


@settings(max_examples=20)
@given(conv_cases(max_side=4), st.integers(0, 2**32 - 1))
def test_conv2d_vjp_equals_the_exact_gradient_of_the_linear_map(case: dict[str, Any], seed: int) -> None:
    """conv2d_vjp gives ⟨g, conv(e_k)⟩ for every input and weight entry, and Σ g for the bias, exactly."""
    shape = oracle_conv2d(**case).shape
    g = np.random.default_rng(seed).integers(-5, 6, shape).astype(float).tolist()
    dx, dw, db = ref.conv2d_vjp(**case, cotangent=g)
    hyper = {k: case[k] for k in ("stride", "padding", "dilation", "groups")}
    ex, ew, eb = oracle_conv2d_vjp(case["x"], case["weight"], case["bias"], g, **hyper)
    assert np.array_equal(dx, _exact(ex))
    assert np.array_equal(dw, _exact(ew))
    assert (db is None) == (case["bias"] is None)
    if db is not None:
        assert np.array_equal(db, _exact(eb))


@settings(max_examples=30)
@given(conv_cases(), st.integers(0, 2**32 - 1))
def test_conv2d_and_its_vjp_agree_with_torch_autograd(case: dict[str, Any], seed: int) -> None:
    """conv2d and conv2d_vjp agree with torch.nn.functional.conv2d and autograd in float64 (non-integer data)."""
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal(np.shape(case["x"])), rng.standard_normal(np.shape(case["weight"]))
    b = None if case["bias"] is None else rng.standard_normal(len(case["bias"]))
    hyper = {k: case[k] for k in ("stride", "padding", "dilation", "groups")}
    tensors = [torch.tensor(v, requires_grad=True) if v is not None else None for v in (x, w, b)]
    y = torch.nn.functional.conv2d(*tensors, **hyper)
    g = rng.standard_normal(tuple(y.shape))
    y.backward(torch.tensor(g))
    got = ref.conv2d(x.tolist(), w.tolist(), None if b is None else b.tolist(), **hyper)
    np.testing.assert_allclose(got, y.detach().numpy(), rtol=1e-12, atol=1e-12)
    grads = ref.conv2d_vjp(x.tolist(), w.tolist(), None if b is None else b.tolist(), g.tolist(), **hyper)
    for got_grad, t in zip(grads, tensors, strict=True):
        if t is None:
            assert got_grad is None
        else:
            np.testing.assert_allclose(got_grad, t.grad.numpy(), rtol=1e-12, atol=1e-12)


# --- golden cases, checked by hand -------------------------------------------------------------

X3 = [[[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]]]]  # d2l-zh §6.2, figure "二维互相关运算"
K2 = [[[[0.0, 1.0], [2.0, 3.0]]]]


def test_conv2d_golden_d2l_cross_correlation() -> None:
    """d2l's example: 0·0 + 1·1 + 3·2 + 4·3 = 19, and so on."""
    assert ref.conv2d(X3, K2) == [[[[19.0, 25.0], [37.0, 43.0]]]]


def test_conv2d_is_cross_correlation_not_flipped_convolution() -> None:
    """A kernel with its 1 at the top left reads the top-left input (true convolution would read the bottom right)."""
    assert ref.conv2d([[[[1.0, 2.0], [3.0, 4.0]]]], [[[[1.0, 0.0], [0.0, 0.0]]]]) == [[[[1.0]]]]


def test_conv2d_golden_stride_padding_bias() -> None:
    """3×3 ones over 1..9 with padding 1, stride 2: sums of the in-bounds 2×2 corners, plus the bias."""
    x = [[[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]]]
    ones = [[[[1.0] * 3] * 3]]
    assert ref.conv2d(x, ones, [0.5], stride=2, padding=1) == [[[[12.5, 16.5], [24.5, 28.5]]]]


def test_conv2d_golden_dilation() -> None:
    """Kernel [[1, 0], [0, −1]] with dilation 2 on x[r][c] = 5r + c gives x[r][c] − x[r+2][c+2] = −12."""
    x = [[[[5.0 * r + c for c in range(5)] for r in range(5)]]]
    assert ref.conv2d(x, [[[[1.0, 0.0], [0.0, -1.0]]]], dilation=2) == [[[[-12.0] * 3] * 3]]


def test_conv2d_golden_groups_keep_channels_apart() -> None:
    """With groups=2 each output channel sees only its own input channel."""
    assert ref.conv2d([[[[2.0]], [[3.0]]]], [[[[10.0]]], [[[100.0]]]], groups=2) == [[[[20.0]], [[300.0]]]]


def test_conv2d_golden_rectangular_hyper_parameters() -> None:
    """(h, w) pairs: stride (1, 2) and padding (0, 1) on a 2×3 input with a 1×1 kernel of 2."""
    x = [[[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]]]
    assert ref.conv2d(x, [[[[2.0]]]], stride=(1, 2), padding=(0, 1)) == [[[[0.0, 4.0, 0.0], [0.0, 10.0, 0.0]]]]


def test_conv2d_vjp_golden_d2l() -> None:
    """With a cotangent of ones: dx sums the kernel entries covering each input, dw sums the windows, db counts."""
    dx, dw, db = ref.conv2d_vjp(X3, K2, [0.0], [[[[1.0, 1.0], [1.0, 1.0]]]])
    assert dx == [[[[0.0, 1.0, 1.0], [2.0, 6.0, 4.0], [2.0, 5.0, 3.0]]]]
    assert dw == [[[[8.0, 12.0], [20.0, 24.0]]]]
    assert db == [4.0]
    assert ref.conv2d_vjp(X3, K2, None, [[[[1.0, 1.0], [1.0, 1.0]]]])[2] is None


def test_conv2d_sums_exactly() -> None:
    """Terms are added with one rounding (fsum): 1e16 + 1 − 1e16 gives 1, not 0."""
    assert ref.conv2d([[[[1e16, 1.0, -1e16]]]], [[[[1.0, 1.0, 1.0]]]]) == [[[[1.0]]]]


def test_conv2d_propagates_nan_and_inf() -> None:
    """NaN in a window gives NaN; inf − inf gives NaN as in IEEE arithmetic, not an exception."""
    y = ref.conv2d([[[[float("nan"), 1.0, float("inf")]]]], [[[[1.0]]]])
    assert np.isnan(y[0][0][0][0]) and y[0][0][0][1:] == [1.0, float("inf")]
    assert np.isnan(ref.conv2d([[[[float("inf"), float("-inf")]]]], [[[[1.0, 1.0]]]])[0][0][0][0])


# --- the output-size helper -----------------------------------------------------------------------


@given(st.integers(1, 12), st.integers(1, 4), st.integers(1, 4), st.integers(0, 3), st.integers(1, 3))
def test_conv_output_size_counts_the_window_positions(size: int, k: int, s: int, p: int, d: int) -> None:
    """conv_output_size equals the number of positions the dilated kernel takes inside the padded input."""
    if d * (k - 1) + 1 > size + 2 * p:
        with pytest.raises(ValueError, match="kernel spans"):
            ref.conv_output_size(size, k, s, p, d)
    else:
        assert ref.conv_output_size(size, k, stride=s, padding=p, dilation=d) == _positions(size, k, s, p, d)


def test_conv_output_size_golden() -> None:
    """Dumoulin & Visin's examples: 5, k 3, s 2, p 1 → 3; 'same' padding keeps 7 at 7; dilation 2 on 7, k 3 → 3."""
    assert ref.conv_output_size(5, 3, stride=2, padding=1) == 3
    assert ref.conv_output_size(7, 3, padding=1) == 7
    assert ref.conv_output_size(7, 3, dilation=2) == 3


# --- bad input: clear errors naming the function, the argument and what was expected ------------------

X = [[[[1.0, 2.0, 3.0]] * 3] * 2]  # (1, 2, 3, 3)
W = [[[[1.0]] * 1] * 2] * 2  # (2, 2, 1, 1)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"weight": [[[[0.0] * 3] * 3] * 3] * 4},
            ValueError,
            r"conv2d: weight.shape=\(4, 3, 3, 3\) but x has 2 channels; "
            r"expected weight.shape\[1\] \* groups == 2 \(groups=1\)",
        ),
        ({"x": [[[1.0, 2.0]]]}, ValueError, r"conv2d: x.shape=\(1, 1, 2\); expected a 4-d tensor \(N, C, H, W\)"),
        ({"weight": [[1.0]]}, ValueError, r"weight.shape=\(1, 1\); expected a 4-d tensor \(out_channels"),
        ({"stride": 0}, ValueError, r"conv2d: stride=0; expected an int >= 1"),
        ({"stride": (1, 2, 3)}, ValueError, r"conv2d: stride=\(1, 2, 3\); expected an int or a pair \(h, w\)"),
        ({"stride": True}, TypeError, r"conv2d: stride is bool True; expected an int"),
        ({"stride": 1.5}, TypeError, r"conv2d: stride is float 1.5; expected an int"),
        ({"padding": (0, -1)}, ValueError, r"conv2d: padding\[1\]=-1; expected an int >= 0"),
        ({"dilation": 0}, ValueError, r"conv2d: dilation=0; expected an int >= 1"),
        ({"groups": 0}, ValueError, r"conv2d: groups=0; expected an int >= 1"),
        (
            {"x": [[[[1.0]]] * 3], "weight": [[[[1.0]]]] * 2, "groups": 2},
            ValueError,
            r"conv2d: x has 3 channels, not divisible by groups=2",
        ),
        (
            {"weight": [[[[1.0]]] * 2] * 3, "groups": 2},
            ValueError,
            r"weight.shape=\(3, 2, 1, 1\) has 3 output channels, not divisible by groups=2",
        ),
        (
            {"weight": [[[[1.0] * 4] * 4] * 2]},
            ValueError,
            r"conv2d: the kernel spans 4 positions along the height .* but the padded input has only "
            r"3 \+ 2·0 = 3",
        ),
        ({"bias": [1.0, 2.0, 3.0]}, ValueError, r"conv2d: bias.shape=\(3,\) but weight.shape=\(2, 2, 1, 1\)"),
        ({"x": [[[[1.0, 2.0], [3.0]]]]}, ValueError, r"conv2d: x\[0\]\[0\]\[1\] has length 1 but expected 2"),
        ({"x": [[[["a"]]]]}, TypeError, r"conv2d: x\[0\]\[0\]\[0\]\[0\] is str 'a'; expected a real number"),
        ({"x": [[[[]]]]}, ValueError, r"conv2d: x.shape=\(1, 1, 1, 0\) has an empty spatial axis"),
    ],
)
def test_conv2d_rejects_bad_input_with_a_clear_message(kwargs: dict[str, Any], error: type, message: str) -> None:
    """Bad shapes, types and hyper-parameters raise, naming conv2d, the argument, what it got and what was expected."""
    with pytest.raises(error, match=message):
        ref.conv2d(**{"x": X, "weight": W, **kwargs})


def test_conv2d_vjp_rejects_a_cotangent_of_the_wrong_shape() -> None:
    """The cotangent must have the output's shape, and the message gives both."""
    with pytest.raises(ValueError, match=r"conv2d_vjp: cotangent.shape=\(1, 2, 2, 2\) but conv2d\(x, weight\).shape="):
        ref.conv2d_vjp(X, W, None, [[[[0.0] * 2] * 2] * 2])


def test_conv_output_size_rejects_bad_arguments() -> None:
    """Sizes, kernel sizes, strides, dilations must be positive ints; padding non-negative."""
    with pytest.raises(ValueError, match=r"conv_output_size: stride=0; expected an int >= 1"):
        ref.conv_output_size(5, 3, stride=0)
    with pytest.raises(ValueError, match=r"conv_output_size: padding=-1"):
        ref.conv_output_size(5, 3, padding=-1)
    with pytest.raises(TypeError, match=r"conv_output_size: size is float 5.0"):
        ref.conv_output_size(5.0, 3)
