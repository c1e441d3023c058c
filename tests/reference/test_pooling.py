"""max_pool2d, avg_pool2d and their VJPs against exact oracles, PyTorch's tie rule, golden cases and bad input."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dlterms import reference as ref


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Tiny tensors gain nothing from intra-op threads, which only contend for shared CI cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# --- independent oracles: pad explicitly, slice every window with NumPy --------------------------


def _pair(v: Any) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (v[0], v[1])


def _windows(x: Any, kernel_size: Any, stride: Any, padding: Any, fill: Any) -> np.ndarray:
    """Every window of the padded x, shape (N, C, H_out, W_out, kH·kW), objects kept as they are."""
    (kh, kw), (ph, pw) = _pair(kernel_size), _pair(padding)
    sh, sw = (kh, kw) if stride is None else _pair(stride)
    xs = np.asarray(x, dtype=object)
    padded = np.full((*xs.shape[:2], xs.shape[2] + 2 * ph, xs.shape[3] + 2 * pw), fill, dtype=object)
    padded[:, :, ph : ph + xs.shape[2], pw : pw + xs.shape[3]] = xs
    starts_h = range(0, padded.shape[2] - kh + 1, sh)
    starts_w = range(0, padded.shape[3] - kw + 1, sw)
    return np.array(
        [
            [
                [[padded[n, c, r : r + kh, q : q + kw].ravel() for q in starts_w] for r in starts_h]
                for c in range(xs.shape[1])
            ]
            for n in range(xs.shape[0])
        ],
        dtype=object,
    ).reshape(xs.shape[0], xs.shape[1], len(starts_h), len(starts_w), kh * kw)


def oracle_max_pool2d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0) -> np.ndarray:
    return np.max(_windows(x, kernel_size, stride, padding, -math.inf).astype(float), axis=-1)


def oracle_avg_pool2d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, count_include_pad=True):
    """Exact means (Fractions), the divisor kH·kW or the number of window elements inside x."""
    values = _windows(np.vectorize(Fraction, otypes=[object])(np.asarray(x)), kernel_size, stride, padding, None)
    out = np.empty(values.shape[:-1], dtype=object)
    for idx in np.ndindex(out.shape):
        inside = [v for v in values[idx] if v is not None]
        out[idx] = sum(inside, Fraction(0)) / (len(values[idx]) if count_include_pad else len(inside))
    return out


def oracle_max_pool2d_vjp(x: Any, cotangent: Any, kernel_size: Any, stride: Any = None, padding: Any = 0):
    """Each window's cotangent to the first maximal element (np.argmax returns the first), added up."""
    xs = np.asarray(x, dtype=float)
    positions = np.arange(xs.size, dtype=object).reshape(xs.shape)
    where = _windows(positions, kernel_size, stride, padding, None)  # flat index of each window element or None
    values = _windows(xs, kernel_size, stride, padding, -math.inf).astype(float)
    first = np.argmax(values, axis=-1)
    dx = np.zeros(xs.size)
    g = np.asarray(cotangent, dtype=float)
    for idx in np.ndindex(first.shape):
        dx[where[idx][first[idx]]] += g[idx]
    return dx.reshape(xs.shape)


@st.composite
def pool_cases(draw, op: str = "max", distinct: bool = False, max_side: int = 5) -> dict[str, Any]:
    """Integer inputs (or all-distinct ones), kernel 1-3, stride 1-3 or None, padding up to half the kernel."""
    k = [draw(st.integers(1, 3)) for _ in range(2)]
    p = [draw(st.integers(0, k[a] // 2)) for a in range(2)]
    size = [draw(st.integers(max(1, k[a] - 2 * p[a]), max_side)) for a in range(2)]
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2)), *size)
    n = int(np.prod(shape))
    if distinct:
        x = np.array(draw(st.permutations(range(n)))).reshape(shape) - n // 2
    else:
        x = np.array(draw(st.lists(st.integers(-3, 3), min_size=n, max_size=n))).reshape(shape)  # many ties
    stride = draw(st.none() | st.tuples(st.integers(1, 3), st.integers(1, 3)))
    case = {"x": x.astype(float).tolist(), "kernel_size": tuple(k), "stride": stride, "padding": tuple(p)}
    if op == "avg":
        case["count_include_pad"] = draw(st.booleans())
    return case


def _cotangent(shape: tuple[int, ...], seed: int) -> list:
    return np.random.default_rng(seed).integers(-4, 5, shape).astype(float).tolist()


# --- against the oracles ----------------------------------------------------------------------------


@given(pool_cases())
def test_max_pool2d_is_the_window_maximum(case: dict[str, Any]) -> None:
    """max_pool2d equals the maximum of each window of the −inf-padded input."""
    assert np.array_equal(ref.max_pool2d(**case), oracle_max_pool2d(**case))


@given(pool_cases(op="avg"))
def test_avg_pool2d_is_the_exact_window_mean(case: dict[str, Any]) -> None:
    """avg_pool2d equals the exact mean (zeros counted only when count_include_pad), correctly rounded."""
    expected = np.vectorize(float, otypes=[float])(oracle_avg_pool2d(**case))
    assert np.array_equal(ref.avg_pool2d(**case), expected)


@given(pool_cases(), st.integers(0, 2**32 - 1))
def test_max_pool2d_vjp_sends_each_window_gradient_to_its_first_maximum(case: dict[str, Any], seed: int) -> None:
    """max_pool2d_vjp routes each window's cotangent to the first maximal element, ties included."""
    hyper = {k: v for k, v in case.items() if k != "x"}
    g = _cotangent(np.shape(oracle_max_pool2d(**case)), seed)
    assert np.array_equal(ref.max_pool2d_vjp(case["x"], g, **hyper), oracle_max_pool2d_vjp(case["x"], g, **hyper))


@settings(max_examples=30)
@given(pool_cases(op="avg", max_side=4), st.integers(0, 2**32 - 1))
def test_avg_pool2d_vjp_is_the_exact_gradient_of_the_linear_map(case: dict[str, Any], seed: int) -> None:
    """avg_pool2d is linear in x, so its VJP entry k is ⟨g, avg_pool2d(e_k)⟩, exactly."""
    g = _cotangent(np.shape(oracle_avg_pool2d(**case)), seed)
    hyper = {k: v for k, v in case.items() if k != "x"}
    shape = np.shape(case["x"])
    expected = np.empty(shape)
    for idx in np.ndindex(shape):
        e = np.zeros(shape)
        e[idx] = 1.0
        expected[idx] = float((np.asarray(g, dtype=object) * oracle_avg_pool2d(e, **hyper)).sum())
    assert np.array_equal(ref.avg_pool2d_vjp(case["x"], g, **hyper), expected)


@settings(max_examples=40)
@given(pool_cases(), st.integers(0, 2**32 - 1))
def test_max_pool2d_and_its_vjp_match_pytorch_ties_included(case: dict[str, Any], seed: int) -> None:
    """On inputs full of ties the reference's values and gradients equal torch's: the first maximum gets it."""
    hyper = {k: v for k, v in case.items() if k != "x"}
    xt = torch.tensor(case["x"], dtype=torch.float64, requires_grad=True)
    y = torch.nn.functional.max_pool2d(xt, **hyper)
    g = _cotangent(tuple(y.shape), seed)
    (grad,) = torch.autograd.grad(y, xt, torch.tensor(g, dtype=torch.float64))
    assert np.array_equal(ref.max_pool2d(case["x"], **hyper), y.detach().numpy())
    assert np.array_equal(ref.max_pool2d_vjp(case["x"], g, **hyper), grad.numpy())


@settings(max_examples=40)
@given(pool_cases(op="avg"), st.integers(0, 2**32 - 1))
def test_avg_pool2d_and_its_vjp_match_pytorch(case: dict[str, Any], seed: int) -> None:
    """avg_pool2d and its VJP agree with torch.nn.functional.avg_pool2d and autograd, both padding conventions."""
    hyper = {k: v for k, v in case.items() if k != "x"}
    xt = torch.tensor(case["x"], dtype=torch.float64, requires_grad=True)
    y = torch.nn.functional.avg_pool2d(xt, **hyper)
    g = _cotangent(tuple(y.shape), seed)
    (grad,) = torch.autograd.grad(y, xt, torch.tensor(g, dtype=torch.float64))
    np.testing.assert_allclose(ref.avg_pool2d(case["x"], **hyper), y.detach().numpy(), rtol=1e-15)
    np.testing.assert_allclose(ref.avg_pool2d_vjp(case["x"], g, **hyper), grad.numpy(), rtol=1e-15)


# --- golden cases, checked by hand (the first ones are d2l-zh §6.5's) -----------------------------------

X3 = [[[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]]]]
X16 = [[[[4.0 * r + c for c in range(4)] for r in range(4)]]]


def test_pooling_golden_d2l() -> None:
    """2×2 windows with stride 1 on 0..8: maxima [[4, 5], [7, 8]], means [[2, 3], [5, 6]]."""
    assert ref.max_pool2d(X3, 2, stride=1) == [[[[4.0, 5.0], [7.0, 8.0]]]]
    assert ref.avg_pool2d(X3, 2, stride=1) == [[[[2.0, 3.0], [5.0, 6.0]]]]


def test_max_pool2d_golden_d2l_stride_and_padding() -> None:
    """arange(16) as 4×4: kernel 3 gives [[10]]; padding 1 with stride 2, or (2, 3) windows, give [[5, 7], [13, 15]]."""
    assert ref.max_pool2d(X16, 3) == [[[[10.0]]]]
    assert ref.max_pool2d(X16, 3, padding=1, stride=2) == [[[[5.0, 7.0], [13.0, 15.0]]]]
    assert ref.max_pool2d(X16, (2, 3), stride=(2, 3), padding=(0, 1)) == [[[[5.0, 7.0], [13.0, 15.0]]]]


def test_avg_pool2d_golden_count_include_pad() -> None:
    """2×2 ones, kernel 2, padding 1, stride 1: padding counts as zeros (corners ¼, edges ½) unless excluded."""
    ones = [[[[1.0, 1.0], [1.0, 1.0]]]]
    assert ref.avg_pool2d(ones, 2, stride=1, padding=1) == [[[[0.25, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 0.25]]]]
    assert ref.avg_pool2d(ones, 2, stride=1, padding=1, count_include_pad=False) == [[[[1.0] * 3] * 3]]


def test_max_pool2d_padding_never_wins() -> None:
    """Padding counts as −inf: an all-negative input pools to its own values, never to 0."""
    assert ref.max_pool2d([[[[-5.0, -7.0]]]], 3, stride=1, padding=1) == [[[[-5.0, -5.0]]]]


def test_max_pool2d_vjp_golden_tie_goes_to_the_first_maximum() -> None:
    """A 2×2 window of equal values sends the whole gradient to its top-left element (PyTorch's choice)."""
    assert ref.max_pool2d_vjp([[[[1.0, 1.0], [1.0, 1.0]]]], [[[[3.0]]]], 2) == [[[[3.0, 0.0], [0.0, 0.0]]]]


def test_pooling_vjps_add_up_over_overlapping_windows() -> None:
    """With stride 1 the centre of a 3×3 input is in all four 2×2 windows: it collects all four shares."""
    assert ref.max_pool2d_vjp(X3, [[[[1.0, 1.0], [1.0, 1.0]]]], 2, stride=1) == [
        [[[0.0, 0.0, 0.0], [0.0, 1.0, 1.0], [0.0, 1.0, 1.0]]]
    ]
    assert ref.avg_pool2d_vjp(X3, [[[[4.0, 4.0], [4.0, 4.0]]]], 2, stride=1) == [
        [[[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]]
    ]


def test_max_pool2d_propagates_nan() -> None:
    """A NaN anywhere in a window makes its maximum NaN (as PyTorch does)."""
    y = ref.max_pool2d([[[[1.0, float("nan"), 3.0, 2.0]]]], (1, 2))
    assert math.isnan(y[0][0][0][0]) and y[0][0][0][1] == 3.0


# --- bad input ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fn", "kwargs", "error", "message"),
    [
        ("max_pool2d", {"kernel_size": 0}, ValueError, r"max_pool2d: kernel_size=0; expected an int >= 1"),
        ("max_pool2d", {"stride": 0}, ValueError, r"max_pool2d: stride=0; expected an int >= 1"),
        ("avg_pool2d", {"padding": -1}, ValueError, r"avg_pool2d: padding=-1; expected an int >= 0"),
        (
            "max_pool2d",
            {"padding": 2},
            ValueError,
            r"max_pool2d: padding=\(2, 2\) but kernel_size=\(2, 2\); expected padding <= kernel_size // 2",
        ),
        (
            "avg_pool2d",
            {"kernel_size": (4, 1)},
            ValueError,
            r"avg_pool2d: the kernel spans 4 positions along the height .* padded input has only 3",
        ),
        ("max_pool2d", {"x": [[[1.0]]]}, ValueError, r"max_pool2d: x.shape=\(1, 1, 1\); expected a 4-d tensor"),
        ("avg_pool2d", {"count_include_pad": 1}, TypeError, r"avg_pool2d: count_include_pad=1; expected True or False"),
        ("max_pool2d", {"kernel_size": [2, 2, 2]}, ValueError, r"kernel_size=\[2, 2, 2\]; expected an int or a pair"),
    ],
)
def test_pooling_rejects_bad_input_with_a_clear_message(fn: str, kwargs: dict, error: type, message: str) -> None:
    """Bad hyper-parameters and shapes raise, naming the function, the argument and what was expected."""
    args = {"x": X3, "kernel_size": 2, **kwargs}
    with pytest.raises(error, match=message):
        getattr(ref, fn)(**args)


def test_pooling_vjps_reject_a_cotangent_of_the_wrong_shape() -> None:
    """The cotangent must have the pooled output's shape."""
    with pytest.raises(ValueError, match=r"max_pool2d_vjp: cotangent.shape=\(1, 1, 1, 1\) but max_pool2d\(x\).shape"):
        ref.max_pool2d_vjp(X3, [[[[1.0]]]], 2, stride=1)
    with pytest.raises(ValueError, match=r"avg_pool2d_vjp: cotangent.shape=\(1,\)"):
        ref.avg_pool2d_vjp(X3, [1.0], 2)
