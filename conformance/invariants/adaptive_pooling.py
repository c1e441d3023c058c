"""Invariants of adaptive average pooling and global average pooling (section: CNNs, issue 13).

The cases strategy and the size tier here are named by the op record of
:mod:`dlterms.ops.adaptive_pooling`. Inputs are grid values (multiples of
1/4 in [−2, 2]), so a bin's sum is exact in float16 and wider and only the
division by the bin's size rounds. Expected values are computed here with
NumPy in float64 from PyTorch's bin rule, written again (not the reference's).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from hypothesis import strategies as st

from dlterms import ops as op_records
from dlterms.ops import as_pair

from .. import tolerances
from ..backends import Backend
from ..checks import as_float64, assert_close, assert_shape
from ..registry import OPS, invariant, native_args, register_ops
from ..strategies import grid_arrays, representable

OP = "adaptive_avg_pool2d"
TERM = "global-average-pooling"
Case = dict[str, Any]


@st.composite
def adaptive_pool_params(draw: Callable[..., Any], dtype: str, *, output_size: str = "any") -> Case:
    """``{"x", "output_size"}``: up to 2 examples and 3 channels of 1 to 7 × 1 to 7, outputs of 1 to 5 per axis.

    ``output_size``: ``"any"``, ``"input"`` (the input's size), ``"divides"`` (a divisor of each
    side) or ``"global"`` (1).
    """
    size = [draw(st.integers(1, 7)) for _ in range(2)]
    if output_size == "input":
        out: list[int] = size
    elif output_size == "divides":
        out = [draw(st.sampled_from([d for d in range(1, n + 1) if n % d == 0])) for n in size]
    elif output_size == "global":
        out = [1, 1]
    else:
        out = [draw(st.integers(1, 5)) for _ in range(2)]
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)), *size)
    return {"x": draw(grid_arrays(dtype, shape)), "output_size": out[0] if out[0] == out[1] else out}


def adaptive_pool_sizes(
    dtype: str, rng: np.random.Generator, *, sides: tuple[int, ...], outputs: tuple[int, ...]
) -> Iterator[Case]:
    """``adaptive_avg_pool2d`` of 2 × 64 planes of each side (side × side + 1) to each output size; values on a
    grid of quarters in [−2, 2], so every bin's sum (up to 33·34 quarters) is exact in float32 and wider, and in
    float16 while its partial sums stay within ±512 (2¹¹ quarters): the comparison checks the bins and the
    division, not a summation order."""
    for side in sides:
        for out in outputs:
            x = representable(rng.integers(-8, 9, size=(2, 64, side, side + 1)) * 0.25, dtype)
            yield {"x": x.tolist(), "output_size": out}


register_ops(op_records.adaptive_pooling.OPS)


def pool(bk: Backend, dtype: str, x: Any, output_size: Any) -> np.ndarray:
    """``bk.adaptive_avg_pool2d`` of nested lists, as a float64 NumPy array."""
    case = {"x": np.asarray(x).tolist(), "output_size": output_size}
    return as_float64(bk, getattr(bk, OP)(**native_args(bk, OPS[OP], case, dtype)))


def bin_means(x: np.ndarray, output_size: Any) -> np.ndarray:
    """Each output the float64 mean of its bin, rows ⌊i·H/n⌋ to ⌈(i + 1)·H/n⌉ − 1 (PyTorch's rule)."""
    oh, ow = as_pair(output_size)
    h, w = x.shape[2:]
    out = np.empty((*x.shape[:2], oh, ow))
    for i in range(oh):
        r0, r1 = i * h // oh, -(-(i + 1) * h // oh)
        for j in range(ow):
            c0, c1 = j * w // ow, -(-(j + 1) * w // ow)
            out[:, :, i, j] = x[:, :, r0:r1, c0:c1].mean(axis=(2, 3))
    return out


@invariant(
    "adaptive_avg_pool2d.mean_of_each_bin",
    term=TERM,
    statement="Output (i, j) is the mean of the input rows ⌊i·H/h_out⌋ to ⌈(i + 1)·H/h_out⌉ − 1 and the columns "
    "likewise (PyTorch's bins: they overlap by one where h_out does not divide H), shape (N, C, h_out, w_out).",
    cases=adaptive_pool_params,
)
def adaptive_mean_of_each_bin(bk: Backend, dtype: str, x: Any, output_size: Any) -> None:
    expected = bin_means(np.asarray(x, dtype=np.float64), output_size)
    got = pool(bk, dtype, x, output_size)
    assert_shape(got, expected.shape, f"adaptive_avg_pool2d(output_size={output_size})")
    assert_close(got, expected, tolerances.forward(dtype), f"adaptive_avg_pool2d(output_size={output_size}) vs bins")


@invariant(
    "adaptive_avg_pool2d.identity_at_input_size",
    term=TERM,
    statement="Pooling to the input's own size is the identity: every bin is one position.",
    cases=lambda d: adaptive_pool_params(d, output_size="input"),
)
def adaptive_identity(bk: Backend, dtype: str, x: Any, output_size: Any) -> None:
    expected = np.asarray(x, dtype=np.float64)
    got = pool(bk, dtype, x, output_size)
    assert_shape(got, expected.shape, f"adaptive_avg_pool2d(output_size={output_size}) of {expected.shape}")
    assert_close(got, expected, tolerances.forward(dtype), "adaptive_avg_pool2d to the input's size vs x")


@invariant(
    "adaptive_avg_pool2d.equals_avg_pool2d_when_divisible",
    term=TERM,
    statement="When h_out divides H and w_out divides W, adaptive average pooling is avg_pool2d with "
    "kernel = stride = (H/h_out, W/w_out): non-overlapping windows of equal size.",
    cases=lambda d: adaptive_pool_params(d, output_size="divides"),
)
def adaptive_equals_avg_pool(bk: Backend, dtype: str, x: Any, output_size: Any) -> None:
    xs = np.asarray(x, dtype=np.float64)
    n, c, h, w = xs.shape
    oh, ow = as_pair(output_size)
    # avg_pool2d with kernel = stride = (kh, kw), by reshaping each window onto its own axes.
    expected = xs.reshape(n, c, oh, h // oh, ow, w // ow).mean(axis=(3, 5))
    got = pool(bk, dtype, x, output_size)
    assert_shape(got, expected.shape, f"adaptive_avg_pool2d(output_size={output_size})")
    assert_close(got, expected, tolerances.forward(dtype), f"adaptive_avg_pool2d vs avg_pool2d({h // oh, w // ow})")


@invariant(
    "adaptive_avg_pool2d.global_is_the_mean",
    term=TERM,
    statement="output_size 1 is global average pooling: the mean of each example's channel over all H·W positions.",
    cases=lambda d: adaptive_pool_params(d, output_size="global"),
)
def adaptive_global_mean(bk: Backend, dtype: str, x: Any, output_size: Any) -> None:
    xs = np.asarray(x, dtype=np.float64)
    expected = xs.mean(axis=(2, 3), keepdims=True)
    got = pool(bk, dtype, x, output_size)
    assert_shape(got, expected.shape, "adaptive_avg_pool2d(output_size=1)")
    assert_close(got, expected, tolerances.forward(dtype), "adaptive_avg_pool2d(output_size=1) vs the channel's mean")


def _constant_cases(dtype: str) -> st.SearchStrategy[Case]:
    grid = st.integers(-8, 8).map(lambda k: k * 0.25)
    return st.tuples(adaptive_pool_params(dtype), grid).map(
        lambda t: {"x": np.full(np.shape(t[0]["x"]), t[1]).tolist(), "output_size": t[0]["output_size"]}
    )


@invariant(
    "adaptive_avg_pool2d.constant_input",
    term=TERM,
    statement="A constant input stays constant: every bin's mean is that constant, whatever the bins.",
    cases=_constant_cases,
)
def adaptive_constant(bk: Backend, dtype: str, x: Any, output_size: Any) -> None:
    xs = np.asarray(x, dtype=np.float64)
    oh, ow = as_pair(output_size)
    expected = np.full((*xs.shape[:2], oh, ow), xs.flat[0])
    got = pool(bk, dtype, x, output_size)
    assert_shape(got, expected.shape, f"adaptive_avg_pool2d(output_size={output_size}) of a constant")
    assert_close(got, expected, tolerances.forward(dtype), f"adaptive_avg_pool2d of the constant {xs.flat[0]}")
