"""Invariants of multi-head attention (section: attention).

The cases strategies here are named by the op record of :mod:`dlterms.ops.multi_head_attention`.
As for scaled dot-product attention, each hand-written invariant compares two of a backend's results
whose exact values agree, within the sum of their two forward bounds (the op's absolute model) around
the exact value, so no invariant has a tolerance of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from hypothesis import strategies as st

from dlterms import ops as op_records

from .. import tolerances
from ..backends import Backend
from ..checks import as_float64, assert_that
from ..registry import OPS, invariant, native_args, register_ops
from ..sizes import values
from ..strategies import float_arrays
from . import attention

OP = "multi_head_attention"
TERM = "multi-head-attention"
SDPA = attention.OP
KV_CACHE = attention.KV_CACHE
_WEIGHTS = ("q_proj_weight", "k_proj_weight", "v_proj_weight")


def _f64(case: dict[str, Any], name: str) -> np.ndarray:
    return np.asarray(case[name], dtype=np.float64)


def split_heads(x: np.ndarray, heads: int) -> np.ndarray:
    """``(N, T, E)`` → ``(N, H, T, E/H)``: head h is the block of features h·E/H … (h + 1)·E/H − 1."""
    n, t, e = x.shape
    return x.reshape(n, t, heads, e // heads).transpose(0, 2, 1, 3)


def join_heads(x: np.ndarray) -> np.ndarray:
    """``(N, H, T, d)`` → ``(N, T, H·d)``: the heads' blocks side by side, head 0 first."""
    n, h, t, d = x.shape
    return x.transpose(0, 2, 1, 3).reshape(n, t, h * d)


def exact(case: dict[str, Any]) -> np.ndarray:
    """The output in float64: the three projections, each head's attention (scale 1/√d), joined and projected."""
    e, heads = np.shape(case["query"])[2], case["num_heads"]
    bias = np.zeros(3 * e) if case.get("in_proj_bias") is None else _f64(case, "in_proj_bias")
    projected = [
        split_heads(_f64(case, x) @ _f64(case, w).T + bias[i * e : (i + 1) * e], heads)
        for i, (x, w) in enumerate(zip(("query", "key", "value"), _WEIGHTS, strict=True))
    ]
    q, k, v = projected
    z = attention.exact({"query": q, "key": k, "value": v, "mask": case.get("mask"), "causal": case.get("causal")})
    out_b = 0.0 if case.get("out_proj_bias") is None else _f64(case, "out_proj_bias")
    return join_heads(z) @ _f64(case, "out_proj_weight").T + out_b


@st.composite
def mha_cases(
    draw: Any,
    dtype: str,
    *,
    biases: bool | None = None,
    causal: bool | None = None,
    masked: bool = True,
    min_keys: int = 1,
    min_heads: int = 1,
    min_width: int = 1,
    same_dims: bool = False,
    few_shapes: bool = False,
) -> dict[str, Any]:
    """``{"query", "key", "value", "num_heads", the four weights, the two biases, "mask", "causal"}``: N ≤ 2,
    H ≤ 2 heads of d ≤ 2 features (E = H·d), L, S ≤ 3, kdim and vdim ≤ 4 (E with ``same_dims``); inputs in
    [−1, 1], weights and biases in [−1/2, 1/2] (``biases``: both present, absent, or each drawn with None);
    a mask (L, S) or none (``masked=False``: none); every query sees at least one key (key 0 is kept where
    a row would be hidden: a fully masked row is a choice, not a definition). ``few_shapes``: N = 2, L = S = 3,
    1 or 2 heads of 2 features, kdim = 3, vdim = 2 only (a compiling framework builds one program per shape)."""
    n, h, d = draw(st.integers(1, 2)), draw(st.integers(min_heads, 2)), draw(st.integers(min_width, 2))
    lq, s = draw(st.integers(1, 3)), draw(st.integers(min_keys, 3))
    kdim, vdim = (0, 0) if same_dims else (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    if few_shapes:
        n, d, lq, s, kdim, vdim = 2, 2, 3, 3, 3, 2
    e = h * d
    if same_dims:
        kdim = vdim = e

    def uniform(shape: tuple[int, ...], span: float) -> Any:
        return draw(float_arrays(dtype, shape, min_value=-span, max_value=span))

    case: dict[str, Any] = {
        "query": uniform((n, lq, e), 1.0),
        "key": uniform((n, s, kdim), 1.0),
        "value": uniform((n, s, vdim), 1.0),
        "num_heads": h,
        "q_proj_weight": uniform((e, e), 0.5),
        "k_proj_weight": uniform((e, kdim), 0.5),
        "v_proj_weight": uniform((e, vdim), 0.5),
        "out_proj_weight": uniform((e, e), 0.5),
        "in_proj_bias": None,
        "out_proj_bias": None,
        "mask": None,
        "causal": draw(st.booleans()) if causal is None else causal,
    }
    for name, size in (("in_proj_bias", 3 * e), ("out_proj_bias", e)):
        if biases or (biases is None and draw(st.booleans())):
            case[name] = uniform((size,), 0.5)
    if masked and draw(st.booleans()):
        mask = np.array(draw(st.lists(st.booleans(), min_size=lq * s, max_size=lq * s))).reshape(lq, s)
        visible = mask & (np.tril(np.ones((lq, s), dtype=bool)) if case["causal"] else True)
        mask[:, 0] |= ~visible.any(axis=1)  # key 0 is visible to every query, causal or not
        case["mask"] = mask.tolist()
    return case


def mha_sizes(dtype: str, rng: np.random.Generator, *, lengths: tuple[int, ...]) -> Iterator[dict[str, Any]]:
    """Calls at the size tier: L = S = n with E = 16 in 4 heads (causal every other length), then 16 queries
    and keys with E = 64 in 4 heads and E = 128 in 2; inputs in [−1, 1], weights in ±1/√E (so every
    projection stays of order 1), biases in [−1/2, 1/2]."""

    def call(length: int, e: int, heads: int, causal: bool) -> dict[str, Any]:
        x = {name: values(dtype, rng, (1, length, e), span=1.0).tolist() for name in ("query", "key", "value")}
        w = {
            name: values(dtype, rng, (e, e), span=float(e) ** -0.5).tolist() for name in (*_WEIGHTS, "out_proj_weight")
        }
        b = {
            name: values(dtype, rng, (k * e,), span=0.5).tolist()
            for name, k in (("in_proj_bias", 3), ("out_proj_bias", 1))
        }
        return {**x, **w, **b, "num_heads": heads, "causal": causal}

    for i, n in enumerate(lengths):
        yield call(n, 16, 4, i % 2 == 0)
    yield call(16, 64, 4, False)
    yield call(16, 128, 2, True)


register_ops(op_records.multi_head_attention.OPS)


def _call(bk: Backend, dtype: str, case: dict[str, Any]) -> np.ndarray:
    return as_float64(bk, getattr(bk, OP)(**native_args(bk, OPS[OP], case, dtype)))


def _agree(what: str, dtype: str, got: np.ndarray, other: np.ndarray, expected: np.ndarray) -> None:
    """Two results whose exact values are ``expected`` agree within the sum of their forward bounds."""
    allowed = 2 * tolerances.forward(dtype).allowed(expected)
    assert_that(np.abs(got - other) <= allowed, what, first=got, second=other, allowed=allowed)


@invariant(
    f"{OP}.identity_projections_attend_per_head",
    term=TERM,
    ops=(OP, SDPA),
    statement="With identity projections and no biases, multi-head attention is the backend's scaled dot-product "
    "attention of each block of E/H features of the inputs, side by side (one head: attention of the inputs): "
    "the heads are contiguous blocks, each scaled by 1/√(E/H).",
    cases=lambda d: mha_cases(d, biases=False, same_dims=True),
)
def identity_projections(bk: Backend, dtype: str, **case: Any) -> None:
    e, heads = np.shape(case["query"])[2], case["num_heads"]
    eye = np.eye(e).tolist()
    plain = {**case, **dict.fromkeys((*_WEIGHTS, "out_proj_weight"), eye)}
    blocks = {name: split_heads(_f64(case, name), heads).tolist() for name in ("query", "key", "value")}
    sdpa = {**blocks, "mask": case["mask"], "causal": case["causal"]}
    per_head = as_float64(bk, getattr(bk, SDPA)(**native_args(bk, OPS[SDPA], sdpa, dtype)))
    _agree(
        "identity projections differ from attention per block of E/H features",
        dtype,
        _call(bk, dtype, plain),
        join_heads(per_head),
        exact(plain),
    )


@st.composite
def _with_head_order(draw: Any, dtype: str) -> dict[str, Any]:
    """Cases of 2 heads of 2 features or more, and a permutation ``order`` of the heads."""
    case = draw(mha_cases(dtype, min_heads=2, min_width=2))
    return {**case, "order": draw(st.permutations(range(case["num_heads"])))}


@invariant(
    f"{OP}.permuting_heads_leaves_the_output",
    term=TERM,
    statement="Permuting the heads (the blocks of E/H rows of the query, key and value projections and of the "
    "input bias, with the same blocks of the output projection's columns) leaves the output unchanged: the "
    "heads are a set, joined by the output projection.",
    cases=_with_head_order,
)
def permuting_heads(bk: Backend, dtype: str, order: list[int], **case: Any) -> None:
    e, heads = np.shape(case["query"])[2], case["num_heads"]
    d = e // heads
    features = np.concatenate([np.arange(h * d, (h + 1) * d) for h in order])  # the rows of the new heads
    moved = {**case, "out_proj_weight": _f64(case, "out_proj_weight")[:, features].tolist()}
    for name in _WEIGHTS:
        moved[name] = _f64(case, name)[features].tolist()
    if case["in_proj_bias"] is not None:
        bias = _f64(case, "in_proj_bias").reshape(3, e)
        moved["in_proj_bias"] = bias[:, features].reshape(3 * e).tolist()
    _agree(
        "permuting the heads changed the output", dtype, _call(bk, dtype, case), _call(bk, dtype, moved), exact(case)
    )


@st.composite
def _with_key_order(draw: Any, dtype: str) -> dict[str, Any]:
    """Non-causal cases with S ≥ 2 and a permutation ``order`` of the keys."""
    case = draw(mha_cases(dtype, causal=False, min_keys=2))
    return {**case, "order": draw(st.permutations(range(np.shape(case["key"])[1])))}


@invariant(
    f"{OP}.permuting_keys_and_values_leaves_the_output",
    term=TERM,
    statement="Permuting the keys and the values together (and the mask's key columns) leaves the output "
    "unchanged: each head is a weighted sum over a set of keys, without positions.",
    cases=_with_key_order,
)
def permuting_keys(bk: Backend, dtype: str, order: list[int], **case: Any) -> None:
    p = np.asarray(order)
    moved = {**case, "key": _f64(case, "key")[:, p].tolist(), "value": _f64(case, "value")[:, p].tolist()}
    if case["mask"] is not None:
        moved["mask"] = np.asarray(case["mask"])[:, p].tolist()
    what = "permuting keys and values changed the output"
    _agree(what, dtype, _call(bk, dtype, case), _call(bk, dtype, moved), exact(case))


@st.composite
def _later_positions_changed(draw: Any, dtype: str) -> dict[str, Any]:
    """Causal cases without a mask, S ≥ 2, a split p (1 ≤ p ≤ min(L, S − 1)) and other keys and values from p on."""
    case = draw(mha_cases(dtype, causal=True, masked=False, min_keys=2))
    n, lq, _ = np.shape(case["query"])
    (_, s, kdim), vdim = np.shape(case["key"]), np.shape(case["value"])[2]
    p = draw(st.integers(1, min(lq, s - 1)))
    other_k = draw(float_arrays(dtype, (n, s - p, kdim), min_value=-1.0, max_value=1.0))
    other_v = draw(float_arrays(dtype, (n, s - p, vdim), min_value=-1.0, max_value=1.0))
    return {**case, "split": p, "later_key": other_k, "later_value": other_v}


@invariant(
    f"{OP}.causal_ignores_later_positions",
    term=TERM,
    statement="With causal=True, query i's output does not depend on the keys and values after position i: "
    "changing every key and value from position p on leaves the outputs of queries 0 … p − 1 unchanged.",
    cases=_later_positions_changed,
)
def causal_ignores_later(bk: Backend, dtype: str, split: int, later_key: Any, later_value: Any, **case: Any) -> None:
    p = split
    changed = {**case}
    for name, later in (("key", later_key), ("value", later_value)):
        a = _f64(case, name)
        a[:, p:] = np.asarray(later, dtype=np.float64)
        changed[name] = a.tolist()
    first, second = _call(bk, dtype, case)[:, :p], _call(bk, dtype, changed)[:, :p]
    _agree(
        f"a causal output before position {p} changed with the keys from {p} on",
        dtype,
        first,
        second,
        exact(case)[:, :p],
    )


@st.composite
def _decoding_cases(draw: Any, dtype: str) -> dict[str, Any]:
    """Causal cases without a mask, T = L = S ≥ 2 positions (one query, key and value per position)."""
    case = draw(mha_cases(dtype, causal=True, masked=False, min_keys=2))
    n, t, e = np.shape(case["key"])[0], np.shape(case["key"])[1], np.shape(case["query"])[2]
    return {**case, "query": draw(float_arrays(dtype, (n, t, e), min_value=-1.0, max_value=1.0))}


@invariant(
    f"{OP}.kv_cache_decoding_matches_causal_attention",
    term=KV_CACHE,
    statement="Incremental decoding with a key/value cache equals causal multi-head attention over the whole "
    "sequence: for each position t, query t alone over the cached keys and values 0 … t (no mask, causal=False) "
    "gives row t of the causal attention of all T positions, so appending to the cache leaves the earlier outputs "
    "unchanged.",
    cases=_decoding_cases,
)
def kv_cache_decoding(bk: Backend, dtype: str, **case: Any) -> None:
    q, k, v = (_f64(case, name) for name in ("query", "key", "value"))
    steps = []
    for t in range(q.shape[1]):  # step t: query t, the cache holds keys and values 0 … t
        cached = {"query": q[:, t : t + 1], "key": k[:, : t + 1], "value": v[:, : t + 1]}
        steps.append(_call(bk, dtype, {**case, **{n: a.tolist() for n, a in cached.items()}, "causal": False}))
    decoded = np.concatenate(steps, axis=1)  # (N, T, E): step t's output in row t
    what = "decoding with a key/value cache differs from causal attention over the whole sequence"
    _agree(what, dtype, decoded, _call(bk, dtype, case), exact(case))
