"""Invariants of 2-d transposed convolution (section: CNNs, issue 13).

The cases strategy and the size tier here are named by the op record of
:mod:`dlterms.ops.conv_transpose`. Inputs are grid values
(:func:`~dlterms.conformance.strategies.grid_arrays`): products and sums of
them are exact in float16 and wider, so the comparisons check what the op
computes. Expected values are computed here with NumPy in float64 (conv2d by
im2col, :func:`~dlterms.conformance.invariants.conv.im2col_conv`), independently
of the reference.
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
from ..sizes import values
from ..strategies import grid_arrays, representable
from .conv import im2col_conv

OP = "conv_transpose2d"
TERM = "transposed-convolution"
Case = dict[str, Any]
_HYPER = ("stride", "padding", "output_padding", "groups", "dilation")


def out_size(size: int, k: int, s: int, p: int, op: int, d: int) -> int:
    """(H − 1)·s − 2p + d·(k − 1) + output_padding + 1, written here again (not the reference's)."""
    return (size - 1) * s - 2 * p + d * (k - 1) + op + 1


def _pair_or_int(draw: Callable[..., Any], h: int, w: int) -> int | list[int]:
    return h if h == w and draw(st.booleans()) else [h, w]


@st.composite
def conv_transpose_params(
    draw: Callable[..., Any], dtype: str, *, bias: bool | None = None, output_padding: bool | None = None
) -> Case:
    """Keyword arguments of one ``conv_transpose2d`` call with a non-empty output.

    Groups 1-3 dividing both channel counts, kernel 1-3, stride 1-3, dilation 1-2,
    output_padding below max(stride, dilation) (``output_padding=True``: at least 1 on
    some axis, where it can be), input 1-4 per axis, padding 0-2 leaving at least
    one output position even without the output_padding; ``bias=None`` sometimes omits
    the bias. Values are grid values.
    """
    g = draw(st.sampled_from([1, 1, 2, 3]))
    c_in, o_g = g * draw(st.integers(1, max(1, 3 // g))), draw(st.integers(1, max(1, 3 // g)))
    k, s, d, size, op, p = [], [], [], [], [], []
    for _ in range(2):
        k.append(draw(st.integers(1, 3)))
        s.append(draw(st.integers(1, 3)))
        d.append(draw(st.integers(1, 2)))
        size.append(draw(st.integers(1, 4)))
        op.append(draw(st.integers(0, max(s[-1], d[-1]) - 1)) if output_padding is not False else 0)
        longest = (size[-1] - 1) * s[-1] + d[-1] * (
            k[-1] - 1
        )  # the output size, − 1, without padding or output_padding
        p.append(draw(st.integers(0, min(2, longest // 2))))
    if output_padding and not any(op) and max(s[0], d[0]) > 1:
        op[0] = 1
    with_bias = bias if bias is not None else draw(st.booleans())
    return {
        "x": draw(grid_arrays(dtype, (draw(st.integers(1, 2)), c_in, *size))),
        "weight": draw(grid_arrays(dtype, (c_in, o_g, *k))),
        "bias": draw(grid_arrays(dtype, (o_g * g,))) if with_bias else None,
        "stride": _pair_or_int(draw, *s),
        "padding": _pair_or_int(draw, *p),
        "output_padding": _pair_or_int(draw, *op),
        "groups": g,
        "dilation": _pair_or_int(draw, *d),
    }


def conv_transpose_sizes(
    dtype: str, rng: np.random.Generator, *, layouts: tuple[tuple[int, int, int], ...]
) -> Iterator[Case]:
    """``conv_transpose2d`` on 2 images of 9×8 for each ``(in_channels, out_channels, groups)``, 3×3 kernels:
    stride 2, padding 1, output_padding 1 (the decoder's ×2 upsampling), then stride 1, padding 1;
    values on a grid of quarters, so every sum is exact."""
    for c_in, c_out, groups in layouts:
        for stride, output_padding in ((2, 1), (1, 0)):
            yield {
                "x": _grid(dtype, rng, (2, c_in, 9, 8)),
                "weight": _grid(dtype, rng, (c_in, c_out // groups, 3, 3)),
                "bias": values(dtype, rng, (c_out,), span=1.0).tolist(),
                "stride": stride,
                "padding": 1,
                "output_padding": output_padding,
                "groups": groups,
                "dilation": 1,
            }


def _grid(dtype: str, rng: np.random.Generator, shape: tuple[int, ...]) -> list[Any]:
    return representable(rng.integers(-8, 9, size=shape) * 0.25, dtype).tolist()


register_ops(op_records.conv_transpose.OPS)


def conv_t(bk: Backend, dtype: str, case: Case) -> np.ndarray:
    """``bk.conv_transpose2d`` of a case (nested lists), as a float64 NumPy array."""
    return as_float64(bk, getattr(bk, OP)(**native_args(bk, OPS[OP], case, dtype)))


@invariant(
    "conv_transpose2d.output_shape",
    term=TERM,
    statement="conv_transpose2d maps (N, C, H, W) and a (C, O/groups, kH, kW) kernel to (N, O, H_out, W_out) with "
    "H_out = (H − 1)·s − 2p + d·(kH − 1) + output_padding + 1 (and likewise W_out).",
    cases=conv_transpose_params,
)
def conv_transpose_output_shape(bk: Backend, dtype: str, **case: Any) -> None:
    n, _, h, w = np.shape(case["x"])
    _, o_g, kh, kw = np.shape(case["weight"])
    s, p, op, d = (as_pair(case[k]) for k in ("stride", "padding", "output_padding", "dilation"))
    expected = (
        n,
        o_g * case["groups"],
        out_size(h, kh, s[0], p[0], op[0], d[0]),
        out_size(w, kw, s[1], p[1], op[1], d[1]),
    )
    assert_shape(
        conv_t(bk, dtype, case),
        expected,
        f"conv_transpose2d(stride={s}, padding={p}, output_padding={op}, dilation={d})",
    )


def _adjoint_cases(dtype: str) -> st.SearchStrategy[Case]:
    def with_z(c: Case) -> st.SearchStrategy[Case]:
        n, _, h, w = np.shape(c["x"])
        _, o_g, kh, kw = np.shape(c["weight"])
        s, p, op, d = (as_pair(c[k]) for k in ("stride", "padding", "output_padding", "dilation"))
        shape = (
            n,
            o_g * c["groups"],
            out_size(h, kh, s[0], p[0], op[0], d[0]),
            out_size(w, kw, s[1], p[1], op[1], d[1]),
        )
        return grid_arrays(dtype, shape).map(lambda z: {**c, "z": z})

    return conv_transpose_params(dtype, bias=False).flatmap(with_z)


@invariant(
    "conv_transpose2d.adjoint_of_conv2d",
    term=TERM,
    statement="conv_transpose2d is the adjoint of conv2d with the same weight, stride, padding, dilation and groups: "
    "⟨conv2d(z, w), x⟩ = ⟨z, conv_transpose2d(x, w)⟩ for every x and z (conv2d's output cut to x's size where "
    "output_padding reaches past the stride).",
    cases=_adjoint_cases,
)
def conv_transpose_adjoint(bk: Backend, dtype: str, z: Any, **case: Any) -> None:
    xs, ws, zs = (np.asarray(v, dtype=np.float64) for v in (case["x"], case["weight"], z))
    hyper = {k: case[k] for k in ("stride", "padding", "dilation", "groups")}
    # conv2d's weight (out, in/groups, kH, kW) is conv_transpose2d's (in, out/groups, kH, kW): the same tensor.
    conv_z = im2col_conv(zs, ws, None, **hyper)[:, :, : xs.shape[2], : xs.shape[3]]
    expected = float(np.sum(conv_z * xs))
    y = conv_t(bk, dtype, case)
    assert_shape(y, zs.shape, "conv_transpose2d(x, w)")
    tol = tolerances.forward(dtype)
    got = float(np.sum(zs * y))
    # ⟨z, ŷ⟩ is off from ⟨z, y⟩ by at most Σ|z|·(each output's allowed error); the float64 sums are exact.
    assert_close(
        got,
        expected,
        tol,
        "⟨z, conv_transpose2d(x, w)⟩ vs ⟨conv2d(z, w), x⟩",
        extra=float(np.sum(np.abs(zs) * tol.allowed(y))),
    )


@invariant(
    "conv_transpose2d.output_padding_at_the_end",
    term=TERM,
    statement="output_padding adds rows and columns at the bottom and the right only: conv_transpose2d(x, "
    "output_padding=a) without its last a rows and columns is conv_transpose2d(x, output_padding=0).",
    cases=lambda d: conv_transpose_params(d, output_padding=True),
)
def conv_transpose_output_padding(bk: Backend, dtype: str, **case: Any) -> None:
    oh, ow = as_pair(case["output_padding"])
    full = conv_t(bk, dtype, case)
    plain = conv_t(bk, dtype, {**case, "output_padding": 0})
    cut = full[:, :, : full.shape[2] - oh, : full.shape[3] - ow]
    assert_shape(cut, plain.shape, f"conv_transpose2d(output_padding={case['output_padding']}) without its last rows")
    assert_close(
        cut, plain, tolerances.forward(dtype), f"conv_transpose2d(output_padding=({oh}, {ow}))[:-a] vs output_padding=0"
    )


_COEFFICIENTS = st.sampled_from([1.0, -1.0, 2.0, 0.5, -0.5])  # powers of two: a·x stays exact


def _linear_cases(dtype: str) -> st.SearchStrategy[Case]:
    def more(c: Case) -> st.SearchStrategy[Case]:
        extra = st.fixed_dictionaries(
            {"x2": grid_arrays(dtype, np.shape(c["x"])), "a": _COEFFICIENTS, "b": _COEFFICIENTS}
        )
        return extra.map(lambda e: {**c, **e})

    return conv_transpose_params(dtype, bias=False).flatmap(more)


@invariant(
    "conv_transpose2d.linear_in_input",
    term=TERM,
    statement="Without bias, conv_transpose2d is linear in x: convT(a·x + b·x′, w) = a·convT(x, w) + b·convT(x′, w).",
    cases=_linear_cases,
)
def conv_transpose_linear(bk: Backend, dtype: str, x: Any, x2: Any, a: float, b: float, **case: Any) -> None:
    mixed = conv_t(bk, dtype, {**case, "x": (a * np.asarray(x) + b * np.asarray(x2)).tolist()})
    first, second = conv_t(bk, dtype, {**case, "x": x}), conv_t(bk, dtype, {**case, "x": x2})
    # Each compared output may be off by its forward bound; a sum of two separately rounded outputs cancels.
    tol = tolerances.forward(dtype)
    extra = tol.allowed(a * first) + tol.allowed(b * second)
    assert_close(
        mixed, a * first + b * second, tol, f"convT({a}·x + {b}·x′) vs {a}·convT(x) + {b}·convT(x′)", extra=extra
    )
