"""Invariants of max and average pooling, and of the CNN block conv → ReLU → pool (seed section: CNNs).

Inputs are grid values (:func:`~dlterms.conformance.strategies.grid_arrays`),
so sums are exact and only the final division of an average rounds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import strategies as st

from dlterms import ops as op_records
from dlterms import reference
from dlterms.ops import as_pair

from .. import tolerances
from ..backends import Backend
from ..checks import assert_close, assert_shape, assert_that
from ..registry import invariant, register_ops
from ..strategies import conv_params, pool_params
from .conv import conv

Case = dict[str, Any]

register_ops(op_records.pooling.OPS)


def pool(bk: Backend, op: str, dtype: str, x: Any, **kwargs: Any) -> np.ndarray:
    """``bk.<op>`` on float64 values (an array or nested lists), returned as a float64 NumPy array."""
    y = getattr(bk, op)(bk.asarray(np.asarray(x).tolist(), dtype), **kwargs)
    return np.asarray(bk.to_numpy(y), dtype=np.float64)


def _geometry(case: Case) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    k = as_pair(case["kernel_size"])
    s = k if case["stride"] is None else as_pair(case["stride"])
    return k, s, as_pair(case["padding"])


def _out_shape(case: Case) -> tuple[int, int, int, int]:
    n, c, h, w = np.shape(case["x"])
    (kh, kw), (sh, sw), (ph, pw) = _geometry(case)
    return n, c, (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1


def _in_bounds_counts(case: Case) -> np.ndarray:
    """How many elements of x (not padding) each window covers, shape (H_out, W_out)."""
    _, _, h, w = np.shape(case["x"])
    (kh, kw), (sh, sw), (ph, pw) = _geometry(case)
    _, _, oh, ow = _out_shape(case)
    rows = [len(set(range(r * sh - ph, r * sh - ph + kh)) & set(range(h))) for r in range(oh)]
    cols = [len(set(range(q * sw - pw, q * sw - pw + kw)) & set(range(w))) for q in range(ow)]
    return np.outer(rows, cols).astype(np.float64)


# --- both poolings -------------------------------------------------------------------


def _register_common(op: str, kind: str) -> None:
    statement_shape = (
        f"{op} keeps N and C and gives H_out = ⌊(H + 2p − k)/s⌋ + 1 (likewise W_out), with the stride "
        f"defaulting to the kernel size."
    )

    @invariant(f"{op}.output_shape", term="pooling", statement=statement_shape, cases=lambda d: pool_params(d, op=kind))
    def output_shape(bk: Backend, dtype: str, **case: Any) -> None:
        assert_shape(pool(bk, op, dtype, **case), _out_shape(case), f"{op} output")

    @invariant(
        f"{op}.no_parameters",
        term="pooling",
        statement=f"{op} has no learnable parameters: one fixed, symmetric rule for every window of every channel. "
        f"Reversing the elements inside each (non-overlapping, unpadded) window changes nothing, permuting "
        f"channels and examples permutes the output alike, and {op}(a·x) = a·{op}(x) for a > 0 (no bias).",
        cases=lambda d: st.tuples(pool_params(d, op=kind, padding=0), st.sampled_from([0.5, 2.0, 4.0])).map(
            lambda t: {**t[0], "stride": None, "a": t[1]}
        ),
    )
    def no_parameters(bk: Backend, dtype: str, x: Any, a: float, **hyper: Any) -> None:
        xs = np.asarray(x)
        y = pool(bk, op, dtype, xs, **hyper)
        # Reverse each kH×kW window (stride = kernel, so windows do not overlap); rows and columns no
        # window covers stay in place.
        (kh, kw), _, _ = _geometry({"x": x, **hyper})
        n, c, h, w = xs.shape
        oh, ow = h // kh, w // kw
        covered = xs[:, :, : oh * kh, : ow * kw].reshape(n, c, oh, kh, ow, kw)
        reversed_windows = xs.copy()
        reversed_windows[:, :, : oh * kh, : ow * kw] = covered[:, :, :, ::-1, :, ::-1].reshape(n, c, oh * kh, ow * kw)
        tol = tolerances.forward(dtype)
        assert_close(pool(bk, op, dtype, reversed_windows, **hyper), y, tol, f"{op} of x with reversed windows")
        perm_n, perm_c = np.arange(n)[::-1], np.roll(np.arange(c), 1)
        permuted = pool(bk, op, dtype, xs[perm_n][:, perm_c], **hyper)
        assert_close(permuted, y[perm_n][:, perm_c], tol, f"{op} of x with examples and channels permuted")
        assert_close(pool(bk, op, dtype, a * xs, **hyper), a * y, tol, f"{op}({a}·x) vs {a}·{op}(x)")


_register_common("max_pool2d", "max")
_register_common("avg_pool2d", "avg")

_CONSTANTS = st.sampled_from([-1.5, 0.0, 0.25, 2.0])


@invariant(
    "max_pool2d.constant_input",
    term="pooling",
    statement="Max pooling a constant input c gives c everywhere, padding included (it counts as −inf).",
    cases=lambda d: st.tuples(pool_params(d, op="max"), _CONSTANTS).map(lambda t: {**t[0], "c": t[1]}),
)
def max_pool_constant(bk: Backend, dtype: str, x: Any, c: float, **hyper: Any) -> None:
    y = pool(bk, "max_pool2d", dtype, np.full(np.shape(x), c), **hyper)
    assert_close(y, np.full(y.shape, c), tolerances.forward(dtype), f"max_pool2d of the constant {c}")


@invariant(
    "avg_pool2d.constant_input",
    term="pooling",
    statement="Average pooling a constant input c gives c with count_include_pad=False; with "
    "count_include_pad=True the padding counts as zeros, so a window gives c · (elements of x in it)/(kH·kW).",
    cases=lambda d: st.tuples(pool_params(d, op="avg"), _CONSTANTS).map(lambda t: {**t[0], "c": t[1]}),
)
def avg_pool_constant(bk: Backend, dtype: str, x: Any, c: float, **hyper: Any) -> None:
    case = {"x": x, **hyper}
    y = pool(bk, "avg_pool2d", dtype, np.full(np.shape(x), c), **hyper)
    (kh, kw), _, _ = _geometry(case)
    share = _in_bounds_counts(case) / (kh * kw) if hyper["count_include_pad"] else 1.0
    expected = np.broadcast_to(c * share, y.shape)
    assert_close(y, expected, tolerances.forward(dtype), f"avg_pool2d of the constant {c} ({hyper})")


@invariant(
    "max_pool2d.at_least_avg_pool2d",
    term="pooling",
    statement="Without padding, max pooling is at least average pooling over the same windows, elementwise.",
    ops=("max_pool2d", "avg_pool2d"),
    cases=lambda d: pool_params(d, op="max", padding=0),
)
def max_at_least_avg(bk: Backend, dtype: str, x: Any, **hyper: Any) -> None:
    high = pool(bk, "max_pool2d", dtype, x, **hyper)
    low = pool(bk, "avg_pool2d", dtype, x, **hyper)
    # A mean of equal values may round an ulp above them (a framework may multiply by 1/(kH·kW)),
    # so the mean may exceed the max by the forward tolerance, no more.
    tol = tolerances.forward(dtype)
    assert_that(high >= low - (tol.atol + tol.rtol * np.abs(low)), "max_pool2d < avg_pool2d", max=high, avg=low)


@invariant(
    "avg_pool2d.equals_uniform_depthwise_conv",
    term="pooling",
    statement="With count_include_pad=True, average pooling is a fixed (not learnt) convolution: each channel "
    "alone (groups = C) with a kernel of ones, same stride and zero padding, divided by kH·kW.",
    ops=("avg_pool2d", "conv2d"),
    cases=lambda d: pool_params(d, op="avg", count_include_pad=True),
)
def avg_pool_is_conv(bk: Backend, dtype: str, x: Any, **hyper: Any) -> None:
    case = {"x": x, **hyper}
    (kh, kw), stride, padding = _geometry(case)
    c = np.shape(x)[1]
    window_sums = conv(bk, dtype, x, np.ones((c, 1, kh, kw)), stride=list(stride), padding=list(padding), groups=c)
    y = pool(bk, "avg_pool2d", dtype, x, **hyper)
    assert_close(y, window_sums / (kh * kw), tolerances.forward(dtype), "avg_pool2d vs conv2d(ones)/(kH·kW)")


# --- the CNN block: conv → ReLU → pool ------------------------------------------------------


def _block_cases(dtype: str) -> st.SearchStrategy[Case]:
    def with_pool(c: Case) -> st.SearchStrategy[Case]:
        _, _, h, w = np.shape(c["x"])
        _, _, kh, kw = np.shape(c["weight"])
        (sh, sw), (ph, pw) = as_pair(c["stride"]), as_pair(c["padding"])
        oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
        block = {k: c[k] for k in ("x", "weight", "bias", "stride", "padding")}
        return st.fixed_dictionaries(
            {
                **{k: st.just(v) for k, v in block.items()},
                "pool": st.sampled_from(["max", "avg"]),
                "pool_size": st.integers(1, min(2, oh, ow)),
            }
        )

    return conv_params(dtype, dilation=1, groups=1).flatmap(with_pool)


def _block(bk: Backend, dtype: str, case: Case) -> np.ndarray:
    """conv → ReLU → pool with the backend's own ops."""
    b = None if case["bias"] is None else bk.asarray(case["bias"], dtype)
    z = bk.conv2d(
        bk.asarray(case["x"], dtype),
        bk.asarray(case["weight"], dtype),
        b,
        stride=case["stride"],
        padding=case["padding"],
    )
    pooling: Callable[..., Any] = bk.max_pool2d if case["pool"] == "max" else bk.avg_pool2d
    return np.asarray(bk.to_numpy(pooling(bk.relu(z), case["pool_size"])), dtype=np.float64)


_BLOCK_OPS = ("conv2d", "relu", "max_pool2d", "avg_pool2d")


@invariant(
    "conv_block.output_shape",
    term="convolutional-neural-network",
    statement="A CNN block (conv with stride s and padding p, ReLU, then k×k pooling with stride k) maps "
    "(N, C, H, W) to (N, O, ⌊H_conv/k⌋, ⌊W_conv/k⌋), where H_conv = ⌊(H + 2p − kH)/s⌋ + 1.",
    ops=_BLOCK_OPS,
    cases=_block_cases,
)
def block_output_shape(bk: Backend, dtype: str, **case: Any) -> None:
    n, _, h, w = np.shape(case["x"])
    o, _, kh, kw = np.shape(case["weight"])
    (sh, sw), (ph, pw), k = as_pair(case["stride"]), as_pair(case["padding"]), case["pool_size"]
    expected = (n, o, ((h + 2 * ph - kh) // sh + 1) // k, ((w + 2 * pw - kw) // sw + 1) // k)
    assert_shape(_block(bk, dtype, case), expected, f"conv → relu → {case['pool']}_pool2d({k})")


@invariant(
    "conv_block.equals_composition",
    term="convolutional-neural-network",
    statement="The backend's conv2d → relu → pooling, chained, equals the reference CNN block (the same "
    "composition computed in float64) within the forward tolerance.",
    ops=_BLOCK_OPS,
    cases=_block_cases,
)
def block_equals_composition(bk: Backend, dtype: str, **case: Any) -> None:
    expected = np.asarray(reference.conv_block(**case), dtype=np.float64)
    assert_close(_block(bk, dtype, case), expected, tolerances.forward(dtype), f"conv → relu → {case['pool']} pool")
