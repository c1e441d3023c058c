"""Invariants of the Transformer encoder block (section: attention).

The cases strategies here are named by the op record of :mod:`dlterms.ops.transformer`. As for
multi-head attention, each hand-written invariant compares a backend's results with each other or
with a value the definition fixes, within the op's forward bound (absolute) around the exact value,
so no invariant has a tolerance of its own.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from dlterms import ops as op_records

from .. import tolerances
from ..backends import Backend
from ..checks import as_float64, assert_that
from ..registry import OPS, invariant, native_args, register_ops
from ..sizes import values
from ..strategies import float_arrays
from . import multi_head_attention as mha

OP = "transformer_encoder_block"
TERM = "transformer"
MIN_SIGMA = 0.25  # every layer normalization's input row has σ ≥ this in the default cases


def _f64(case: dict[str, Any], name: str) -> np.ndarray:
    return np.asarray(case[name], dtype=np.float64)


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mu = x.mean(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(((x - mu) ** 2).mean(axis=-1, keepdims=True) + eps) * w + b


def _gelu(z: np.ndarray) -> np.ndarray:
    return z * 0.5 * np.vectorize(math.erfc)(-z / math.sqrt(2.0))


def exact(case: dict[str, Any]) -> tuple[np.ndarray, list[np.ndarray]]:
    """The output in float64, and the two layer normalizations' inputs: self-attention (multi-head attention's
    float64 model with the three blocks of in_proj_weight), the feed-forward network, the residuals and norms."""
    e = np.shape(case["x"])[2]
    eps, causal = case.get("eps", 1e-5), case.get("causal", False)
    w_in = _f64(case, "in_proj_weight")
    act = _gelu if case.get("activation", "relu") == "gelu" else (lambda z: np.maximum(z, 0.0))

    def attention(u: np.ndarray) -> np.ndarray:
        blocks = {f"{p}_proj_weight": w_in[i * e : (i + 1) * e] for i, p in enumerate("qkv")}
        call = {"query": u, "key": u, "value": u, "num_heads": case["num_heads"], **blocks, "causal": causal}
        names = ("out_proj_weight", "in_proj_bias", "out_proj_bias")
        return mha.exact({**call, **{n: _f64(case, n) for n in names}, "mask": None})

    def ffn(u: np.ndarray) -> np.ndarray:
        hidden = act(u @ _f64(case, "linear1_weight").T + _f64(case, "linear1_bias"))
        return hidden @ _f64(case, "linear2_weight").T + _f64(case, "linear2_bias")

    def norm(i: int, u: np.ndarray) -> np.ndarray:
        return _layer_norm(u, _f64(case, f"norm{i}_weight"), _f64(case, f"norm{i}_bias"), eps)

    x = _f64(case, "x")
    if case.get("norm_first", False):
        h = x + attention(norm(1, x))
        return h + ffn(norm(2, h)), [x, h]
    s1 = x + attention(x)
    h = norm(1, s1)
    s2 = h + ffn(h)
    return norm(2, s2), [s1, s2]


def spread(e: int) -> np.ndarray:
    """±3/4 alternating over E features: a row of σ = 3/4 that the drawn part of x (in [−1/2, 1/2]) cannot bring
    below 1/4, so few cases are rejected for a layer normalization's small σ."""
    return 0.75 * (-1.0) ** np.arange(e)


def _sigma(x: np.ndarray) -> np.ndarray:
    return np.sqrt(((x - x.mean(axis=-1, keepdims=True)) ** 2).mean(axis=-1))


@st.composite
def block_cases(
    draw: Any,
    dtype: str,
    *,
    norm_first: bool | None = None,
    causal: bool | None = None,
    activation: str | None = None,
    few_shapes: bool = False,
    min_length: int = 1,
) -> dict[str, Any]:
    """Every argument of the block: N ≤ 2, T ≤ 3 positions (at least ``min_length``), E = H·d with H ≤ 2 heads
    of d = 2 or 4 features, F = 4 or 8 hidden units; x the :func:`spread` ±3/4 plus [−1/2, 1/2], weights and
    biases in [−1/2, 1/2], the norms' weights in [1/2, 3/2]; the options drawn unless given. ``few_shapes``:
    N = 2, T = 3, E = 4 in 2 heads, F = 8 only (a compiling framework builds one program per shape). Cases where
    a layer normalization's input row has σ < 1/4 are rejected, where its division would multiply the rounding
    errors before it."""
    n, t = draw(st.integers(1, 2)), draw(st.integers(min_length, 3))
    h, d, f = draw(st.integers(1, 2)), draw(st.sampled_from((2, 4))), draw(st.sampled_from((4, 8)))
    if few_shapes:
        n, t, h, d, f = 2, 3, 2, 2, 8
    e = h * d
    if e == 2:  # E = 4 at least: the σ of two features is half their difference, too often below 1/4
        d, e = 4, 4 * h

    def uniform(shape: tuple[int, ...], low: float, high: float) -> Any:
        return draw(float_arrays(dtype, shape, min_value=low, max_value=high))

    shapes = {
        "in_proj_weight": (3 * e, e),
        "in_proj_bias": (3 * e,),
        "out_proj_weight": (e, e),
        "out_proj_bias": (e,),
        "linear1_weight": (f, e),
        "linear1_bias": (f,),
        "linear2_weight": (e, f),
        "linear2_bias": (e,),
    }
    case: dict[str, Any] = {"x": (spread(e) + np.asarray(uniform((n, t, e), -0.5, 0.5))).tolist(), "num_heads": h}
    case.update({name: uniform(shape, -0.5, 0.5) for name, shape in shapes.items()})
    for i in (1, 2):
        case[f"norm{i}_weight"] = uniform((e,), 0.5, 1.5)
        case[f"norm{i}_bias"] = uniform((e,), -0.5, 0.5)
    case["norm_first"] = draw(st.booleans()) if norm_first is None else norm_first
    case["activation"] = draw(st.sampled_from(("relu", "gelu"))) if activation is None else activation
    case["eps"] = 1e-5
    case["causal"] = draw(st.booleans()) if causal is None else causal
    assume(all(np.all(_sigma(u) >= MIN_SIGMA) for u in exact(case)[1]))
    return case


def block_sizes(dtype: str, rng: np.random.Generator, *, lengths: tuple[int, ...]) -> Iterator[dict[str, Any]]:
    """Calls at the size tier: T = n positions with E = 16 in 4 heads and F = 64 (post-norm and causal every other
    length), then 16 positions with E = 64 in 4 heads and F = 256, pre-norm, GELU; x in [−1, 1], weights in
    ±1/√fan_in (so every stage stays of order 1), biases in [−1/2, 1/2], norms' weights in [1/2, 3/2]."""

    def call(length: int, e: int, heads: int, f: int, first: bool) -> dict[str, Any]:
        def u(shape: tuple[int, ...], span: float) -> Any:
            return values(dtype, rng, shape, span=span).tolist()

        case = {"x": u((1, length, e), 1.0), "num_heads": heads, "norm_first": first, "eps": 1e-5}
        case.update(in_proj_weight=u((3 * e, e), e**-0.5), out_proj_weight=u((e, e), e**-0.5))
        case.update(linear1_weight=u((f, e), e**-0.5), linear2_weight=u((e, f), f**-0.5))
        for name, size in (("in_proj_bias", 3 * e), ("out_proj_bias", e), ("linear1_bias", f), ("linear2_bias", e)):
            case[name] = u((size,), 0.5)
        for i in (1, 2):
            case[f"norm{i}_weight"] = (1.0 + values(dtype, rng, (e,), span=0.5)).tolist()
            case[f"norm{i}_bias"] = u((e,), 0.5)
        return case

    for i, n in enumerate(lengths):
        yield {**call(n, 16, 4, 64, False), "activation": "relu", "causal": i % 2 == 0}
    yield {**call(16, 64, 4, 256, True), "activation": "gelu", "causal": False}


register_ops(op_records.transformer.OPS)


def _call(bk: Backend, dtype: str, case: dict[str, Any]) -> np.ndarray:
    return as_float64(bk, getattr(bk, OP)(**native_args(bk, OPS[OP], case, dtype)))


def _agree(what: str, dtype: str, got: np.ndarray, other: np.ndarray, expected: np.ndarray) -> None:
    """Two results whose exact values are ``expected`` agree within the sum of their forward bounds."""
    allowed = 2 * tolerances.forward(dtype).allowed(expected)
    assert_that(np.abs(got - other) <= allowed, what, first=got, second=other, allowed=allowed)


@st.composite
def _post_norm_plain_norm2(draw: Any, dtype: str) -> dict[str, Any]:
    """Post-norm cases with norm2's weight 1 and bias 0."""
    case = draw(block_cases(dtype, norm_first=False))
    e = np.shape(case["x"])[2]
    return {**case, "norm2_weight": [1.0] * e, "norm2_bias": [0.0] * e}


@invariant(
    f"{OP}.post_norm_rows_are_normalized",
    term=TERM,
    statement="Post-norm (norm_first=False) ends with a layer normalization: with norm2's weight 1 and bias 0, "
    "every output row (one position's E features) has mean 0 and variance σ²/(σ² + ε) of 1, where σ² ≥ 1/16 is "
    "the variance of the row LN₂ normalized: between 1 − 16ε and 1.",
    cases=_post_norm_plain_norm2,
)
def post_norm_rows_are_normalized(bk: Backend, dtype: str, **case: Any) -> None:
    y = _call(bk, dtype, case)
    allowed = tolerances.forward(dtype).allowed(exact(case)[0])  # each output's bound: the mean's and variance's
    mean, var = y.mean(axis=-1), (y**2).mean(axis=-1) - y.mean(axis=-1) ** 2
    assert_that(np.abs(mean) <= allowed.mean(axis=-1), "a post-norm output row's mean is not 0", mean=mean)
    var_allowed = (2 * np.abs(y) * allowed + allowed**2).mean(axis=-1) + allowed.mean(axis=-1) ** 2
    low = 1 - case["eps"] / MIN_SIGMA**2
    in_range = (var >= low - var_allowed) & (var <= 1 + var_allowed)
    assert_that(in_range, f"a post-norm output row's variance is not in [{low}, 1]", variance=var)


@st.composite
def _zero_sublayers(draw: Any, dtype: str) -> dict[str, Any]:
    """Pre-norm cases with the attention's output projection and the second linear layer zero (weights, biases)."""
    case = draw(block_cases(dtype, norm_first=True))
    e, f = np.shape(case["x"])[2], np.shape(case["linear1_weight"])[0]
    zeros = {"out_proj_weight": np.zeros((e, e)), "out_proj_bias": np.zeros(e), "linear2_bias": np.zeros(e)}
    return {**case, **{k: v.tolist() for k, v in zeros.items()}, "linear2_weight": np.zeros((e, f)).tolist()}


@invariant(
    f"{OP}.pre_norm_zero_sublayers_is_identity",
    term=TERM,
    statement="Pre-norm (norm_first=True) keeps x on a residual path that no normalization touches: with the "
    "attention's output projection and the feed-forward network's second layer zero, both sublayers add 0 and "
    "the block returns x.",
    cases=_zero_sublayers,
)
def pre_norm_zero_sublayers_is_identity(bk: Backend, dtype: str, **case: Any) -> None:
    x = _f64(case, "x")
    y = _call(bk, dtype, case)
    allowed = tolerances.forward(dtype).allowed(x)
    assert_that(np.abs(y - x) <= allowed, "pre-norm with zero sublayers is not the identity", got=y, x=x)


@st.composite
def _with_position_order(draw: Any, dtype: str) -> dict[str, Any]:
    """Non-causal cases with T ≥ 2 positions and a permutation ``order`` of them."""
    case = draw(block_cases(dtype, causal=False, min_length=2))
    return {**case, "order": draw(st.permutations(range(np.shape(case["x"])[1])))}


@invariant(
    f"{OP}.permuting_positions_permutes_the_output",
    term=TERM,
    statement="Without a causal mask the block has no notion of position (it comes from a positional encoding "
    "added before it): permuting the positions of x permutes the output's positions the same way.",
    cases=_with_position_order,
)
def permuting_positions(bk: Backend, dtype: str, order: list[int], **case: Any) -> None:
    p = np.asarray(order)
    moved = _call(bk, dtype, {**case, "x": _f64(case, "x")[:, p].tolist()})
    what = "permuting the positions did not permute the output"
    _agree(what, dtype, moved, _call(bk, dtype, case)[:, p], exact(case)[0][:, p])


@st.composite
def _later_positions_changed(draw: Any, dtype: str) -> dict[str, Any]:
    """Causal cases with T ≥ 2, a split p (1 ≤ p ≤ T − 1) and other values of x from position p on."""
    case = draw(block_cases(dtype, causal=True, min_length=2))
    n, t, e = np.shape(case["x"])
    p = draw(st.integers(1, t - 1))
    later = (spread(e) + np.asarray(draw(float_arrays(dtype, (n, t - p, e), min_value=-0.5, max_value=0.5)))).tolist()
    return {**case, "split": p, "later": later}


@invariant(
    f"{OP}.causal_ignores_later_positions",
    term=TERM,
    statement="With causal=True, the output at position t does not depend on x after t: changing x from "
    "position p on leaves the outputs at positions 0 … p − 1 unchanged (attention is masked, the rest acts "
    "position by position).",
    cases=_later_positions_changed,
)
def causal_ignores_later(bk: Backend, dtype: str, split: int, later: Any, **case: Any) -> None:
    x = _f64(case, "x")
    x[:, split:] = np.asarray(later, dtype=np.float64)
    first, second = _call(bk, dtype, case)[:, :split], _call(bk, dtype, {**case, "x": x.tolist()})[:, :split]
    what = f"a causal output before position {split} changed with x from {split} on"
    _agree(what, dtype, first, second, exact(case)[0][:, :split])
