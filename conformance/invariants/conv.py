"""Invariants of 2-d convolution (seed section: CNNs).

Inputs are grid values (:func:`~dlterms.conformance.strategies.grid_arrays`):
products and sums of them are exact in float32, so every comparison below
checks what the op computes, not its rounding. Expected values are computed
here with NumPy in float64, independently of the reference.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import strategies as st

from dlterms import ops as op_records
from dlterms.ops import as_pair

from .. import tolerances
from ..backends import Backend
from ..checks import assert_close, assert_shape
from ..registry import invariant, register_ops
from ..strategies import conv_params, grid_arrays

Case = dict[str, Any]

register_ops(op_records.conv.OPS)


def _extend(
    cases: st.SearchStrategy[Case], extra: Callable[[Case], dict[str, st.SearchStrategy[Any]]]
) -> st.SearchStrategy[Case]:
    """Each case of ``cases`` with more keyword arguments, drawn knowing the case."""
    return cases.flatmap(lambda c: st.fixed_dictionaries({**{k: st.just(v) for k, v in c.items()}, **extra(c)}))


def conv(bk: Backend, dtype: str, x: Any, weight: Any, bias: Any = None, **hyper: Any) -> np.ndarray:
    """``bk.conv2d`` on float64 values (arrays or nested lists), returned as a float64 NumPy array."""
    b = None if bias is None else bk.asarray(np.asarray(bias).tolist(), dtype)
    y = bk.conv2d(bk.asarray(np.asarray(x).tolist(), dtype), bk.asarray(np.asarray(weight).tolist(), dtype), b, **hyper)
    return np.asarray(bk.to_numpy(y), dtype=np.float64)


def _hyper(case: Case) -> dict[str, Any]:
    return {k: case[k] for k in ("stride", "padding", "dilation", "groups")}


def _out_size(size: int, k: int, s: int, p: int, d: int) -> int:
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


# --- shape, linearity, equivariance ---------------------------------------------------


@invariant(
    "conv2d.output_shape",
    term="convolution",
    statement="conv2d maps (N, C, H, W) and an (O, C/groups, kH, kW) kernel to (N, O, H_out, W_out) with "
    "H_out = ⌊(H + 2p − d(kH − 1) − 1)/s⌋ + 1 (and likewise W_out), for any stride, padding and dilation.",
    cases=conv_params,
)
def conv_output_shape(bk: Backend, dtype: str, **case: Any) -> None:
    n, _, h, w = np.shape(case["x"])
    o, _, kh, kw = np.shape(case["weight"])
    s, p, d = (as_pair(case[k]) for k in ("stride", "padding", "dilation"))
    expected = (n, o, _out_size(h, kh, s[0], p[0], d[0]), _out_size(w, kw, s[1], p[1], d[1]))
    assert_shape(conv(bk, dtype, **case), expected, f"conv2d(stride={s}, padding={p}, dilation={d})")


_COEFFICIENTS = st.sampled_from([1.0, -1.0, 2.0, 0.5, -0.5])  # powers of two: a·x stays exact


@invariant(
    "conv2d.linear_in_input",
    term="convolution",
    statement="Without bias, conv2d is linear in x: conv(a·x + b·x′, w) = a·conv(x, w) + b·conv(x′, w).",
    cases=lambda d: _extend(
        conv_params(d, bias=False),
        lambda c: {"x2": grid_arrays(d, np.shape(c["x"])), "a": _COEFFICIENTS, "b": _COEFFICIENTS},
    ),
)
def conv_linear_in_input(
    bk: Backend, dtype: str, x: Any, x2: Any, a: float, b: float, weight: Any, **case: Any
) -> None:
    hyper = _hyper(case)
    mixed = conv(bk, dtype, a * np.asarray(x) + b * np.asarray(x2), weight, **hyper)
    first, second = conv(bk, dtype, x, weight, **hyper), conv(bk, dtype, x2, weight, **hyper)
    _assert_combination(dtype, mixed, a * first, b * second, f"conv({a}·x + {b}·x′) vs {a}·conv(x) + {b}·conv(x′)")


@invariant(
    "conv2d.linear_in_weight",
    term="convolution",
    statement="Without bias, conv2d is linear in the kernel: conv(x, a·w + b·w′) = a·conv(x, w) + b·conv(x, w′).",
    cases=lambda d: _extend(
        conv_params(d, bias=False),
        lambda c: {"weight2": grid_arrays(d, np.shape(c["weight"])), "a": _COEFFICIENTS, "b": _COEFFICIENTS},
    ),
)
def conv_linear_in_weight(
    bk: Backend, dtype: str, x: Any, weight: Any, weight2: Any, a: float, b: float, **case: Any
) -> None:
    hyper = _hyper(case)
    mixed = conv(bk, dtype, x, a * np.asarray(weight) + b * np.asarray(weight2), **hyper)
    first, second = conv(bk, dtype, x, weight, **hyper), conv(bk, dtype, x, weight2, **hyper)
    what = f"conv(x, {a}·w + {b}·w′) vs {a}·conv(x, w) + {b}·conv(x, w′)"
    _assert_combination(dtype, mixed, a * first, b * second, what)


def _assert_combination(dtype: str, mixed: np.ndarray, first: np.ndarray, second: np.ndarray, what: str) -> None:
    """``mixed`` = ``first + second`` within the forward tolerance plus each output's rounding to the dtype.

    Each compared output may be off by 1 ulp ≤ 2u of itself (rounded to nearest or not). The
    grid's sums are exact in float16 and wider, so only the final rounding counts there;
    bfloat16's 8 bits cannot hold them, and a sum of separately rounded outputs cancels.
    """
    roundings = 2 * tolerances.UNIT_ROUNDOFF[dtype] * (np.abs(mixed) + np.abs(first) + np.abs(second))
    assert_close(mixed, first + second, tolerances.forward(dtype), what, extra=roundings)


def _shift_cases(dtype: str) -> st.SearchStrategy[Case]:
    def shifts(c: Case) -> dict[str, st.SearchStrategy[Any]]:
        _, _, h, w = np.shape(c["x"])
        _, _, kh, kw = np.shape(c["weight"])
        dh, dw = as_pair(c["dilation"])
        # A shift of up to H − (dilated kernel extent) leaves at least one output row away from the border.
        rows, cols = st.integers(0, h - dh * (kh - 1) - 1), st.integers(0, w - dw * (kw - 1) - 1)
        return {"shift": st.tuples(rows, cols).map(list)}

    def fits(c: Case) -> bool:
        _, _, h, w = np.shape(c["x"])
        _, _, kh, kw = np.shape(c["weight"])
        dh, dw = as_pair(c["dilation"])
        return h >= dh * (kh - 1) + 1 and w >= dw * (kw - 1) + 1

    return _extend(conv_params(dtype, stride=1).filter(fits), shifts).filter(lambda c: c["shift"] != [0, 0])


@invariant(
    "conv2d.translation_equivariant",
    term="convolution",
    statement="With stride 1, shifting the input shifts the output by the same amount: "
    "conv(shift(x)) = shift(conv(x)) at every output position whose window lies inside x before and after the shift.",
    cases=_shift_cases,
)
def conv_translation_equivariant(bk: Backend, dtype: str, x: Any, weight: Any, shift: Any, **case: Any) -> None:
    xs = np.asarray(x)
    _, _, h, w = xs.shape
    _, _, kh, kw = np.shape(weight)
    sy, sx = shift
    shifted = np.zeros_like(xs)
    shifted[..., sy:, sx:] = xs[..., : h - sy, : w - sx]  # zeros enter at the top and the left
    y = conv(bk, dtype, xs, weight, **case)
    y_shifted = conv(bk, dtype, shifted, weight, **case)
    (ph, pw), (dh, dw) = as_pair(case["padding"]), as_pair(case["dilation"])
    # Output row r reads input rows r − p + i·d; away from the border all of them lie in [0, H − shift).
    rows = slice(ph, h - sy - dh * (kh - 1) + ph)
    cols = slice(pw, w - sx - dw * (kw - 1) + pw)
    inner = y[..., rows, cols]
    moved = y_shifted[..., rows.start + sy : rows.stop + sy, cols.start + sx : cols.stop + sx]
    assert_close(moved, inner, tolerances.forward(dtype), f"conv(shift(x, {tuple(shift)})) vs shift(conv(x))")


# --- one im2col matrix product ------------------------------------------------------------


def im2col_conv(
    x: np.ndarray, weight: np.ndarray, bias: Any, stride: Any, padding: Any, dilation: Any, groups: int
) -> np.ndarray:
    """conv2d as im2col + one matrix product per group, by explicit index arithmetic (float64)."""
    (sh, sw), (ph, pw), (dh, dw) = as_pair(stride), as_pair(padding), as_pair(dilation)
    n, _, h, w = x.shape
    o, cg, kh, kw = weight.shape
    oh, ow = _out_size(h, kh, sh, ph, dh), _out_size(w, kw, sw, pw, dw)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    rows = np.arange(oh)[:, None] * sh + np.arange(kh)[None, :] * dh  # (oh, kh): padded input row read
    cols = np.arange(ow)[:, None] * sw + np.arange(kw)[None, :] * dw  # (ow, kw)
    patches = xp[:, :, rows[:, None, :, None], cols[None, :, None, :]]  # (n, c, oh, ow, kh, kw)
    og = o // groups
    out = np.empty((n, o, oh, ow))
    for g in range(groups):
        # Columns: one row per output position, one column per (channel, kernel row, kernel col).
        cols_g = patches[:, g * cg : (g + 1) * cg].transpose(0, 2, 3, 1, 4, 5).reshape(n, oh * ow, cg * kh * kw)
        w_g = weight[g * og : (g + 1) * og].reshape(og, cg * kh * kw)
        out[:, g * og : (g + 1) * og] = (cols_g @ w_g.T).transpose(0, 2, 1).reshape(n, og, oh, ow)
    return out if bias is None else out + np.asarray(bias)[None, :, None, None]


@invariant(
    "conv2d.equals_im2col_matmul",
    term="convolution",
    statement="conv2d equals the im2col matrix product: gather every (dilated, strided, zero-padded) input window "
    "into a row, and multiply by the kernel reshaped to (O, C/groups·kH·kW), one product per group, plus the bias.",
    cases=conv_params,
)
def conv_im2col(bk: Backend, dtype: str, x: Any, weight: Any, bias: Any, **hyper: Any) -> None:
    expected = im2col_conv(np.asarray(x), np.asarray(weight), bias, **hyper)
    assert_close(conv(bk, dtype, x, weight, bias, **hyper), expected, tolerances.forward(dtype), "conv2d vs im2col")


# --- kernel, feature map, stride, padding -----------------------------------------------


@st.composite
def _delta_cases(draw: Callable[..., Any], dtype: str) -> Case:
    k = [draw(st.integers(1, 3)) for _ in range(2)]
    at = [draw(st.integers(0, k[a] - 1)) for a in range(2)]
    p = [draw(st.integers(0, k[a] - 1)) for a in range(2)]
    size = [draw(st.integers(max(1, k[a] - 2 * p[a]), 6)) for a in range(2)]
    c = draw(st.integers(1, 3))
    return {"x": draw(grid_arrays(dtype, (draw(st.integers(1, 2)), c, *size))), "kernel": k, "at": at, "padding": p}


@invariant(
    "conv2d.delta_kernel_is_identity",
    term="kernel",
    statement="A one-hot (delta) kernel copies its input: with the one at kernel offset (a, b) the output is the "
    "zero-padded input shifted by (a, b), so a centred delta with padding k // 2 is the identity "
    "(a flipped kernel, as in true convolution, would read offset (k − 1 − a, k − 1 − b)).",
    cases=_delta_cases,
)
def conv_delta_kernel(bk: Backend, dtype: str, x: Any, kernel: Any, at: Any, padding: Any) -> None:
    xs = np.asarray(x)
    _, c, h, w = xs.shape
    (kh, kw), (a, b), (ph, pw) = kernel, at, padding
    weight = np.zeros((c, c, kh, kw))
    weight[np.arange(c), np.arange(c), a, b] = 1.0  # output channel i copies input channel i
    oh, ow = h + 2 * ph - kh + 1, w + 2 * pw - kw + 1
    expected = np.pad(xs, ((0, 0), (0, 0), (ph, ph), (pw, pw)))[:, :, a : a + oh, b : b + ow]
    y = conv(bk, dtype, xs, weight, padding=list(padding))
    assert_close(
        y, expected, tolerances.forward(dtype), f"conv2d with a delta kernel at {tuple(at)}, padding {padding}"
    )


@invariant(
    "conv2d.one_feature_map_per_filter",
    term="feature-map",
    statement="Each output channel (feature map) is the response of one filter alone: convolving with the "
    "o-th filter (and bias) by itself gives the o-th channel of the full output.",
    cases=lambda d: conv_params(d, groups=1),
)
def conv_feature_maps(bk: Backend, dtype: str, x: Any, weight: Any, bias: Any, **hyper: Any) -> None:
    full = conv(bk, dtype, x, weight, bias, **hyper)
    for o in range(len(weight)):
        alone = conv(bk, dtype, x, weight[o : o + 1], None if bias is None else bias[o : o + 1], **hyper)
        assert_close(alone[:, 0], full[:, o], tolerances.forward(dtype), f"filter {o} alone vs feature map {o}")


@invariant(
    "conv2d.stride_subsamples",
    term="stride",
    statement="A stride s keeps every s-th output of the stride-1 convolution: "
    "conv(x, stride=(sh, sw)) = conv(x, stride=1)[..., ::sh, ::sw].",
    cases=conv_params,
)
def conv_stride(bk: Backend, dtype: str, x: Any, weight: Any, bias: Any, stride: Any, **hyper: Any) -> None:
    sh, sw = as_pair(stride)
    strided = conv(bk, dtype, x, weight, bias, stride=stride, **hyper)
    dense = conv(bk, dtype, x, weight, bias, stride=1, **hyper)
    assert_close(strided, dense[..., ::sh, ::sw], tolerances.forward(dtype), f"conv(stride={stride}) vs every s-th")


@invariant(
    "conv2d.padding_is_zeros",
    term="padding",
    statement="Padding p adds p rows and columns of zeros on every side: "
    "conv(x, padding=p) = conv(zero_pad(x, p), padding=0).",
    cases=conv_params,
)
def conv_padding(bk: Backend, dtype: str, x: Any, weight: Any, bias: Any, padding: Any, **hyper: Any) -> None:
    ph, pw = as_pair(padding)
    padded_input = np.pad(np.asarray(x), ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    expected = conv(bk, dtype, padded_input, weight, bias, padding=0, **hyper)
    got = conv(bk, dtype, x, weight, bias, padding=padding, **hyper)
    assert_close(got, expected, tolerances.forward(dtype), f"conv(padding={padding}) vs conv(zero_pad(x))")
