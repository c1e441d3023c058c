"""Invariants of attention: scaled_dot_product_attention (section: attention).

The cases strategies here are named by the op record of :mod:`dlterms.ops.attention`. Each
hand-written invariant compares a backend's outputs with a property of the exact values within
the forward tolerance of the dtype (the op record's absolute model: an output is a weighted sum of
values and its scores sums of products, both of which can cancel), so no invariant has a
tolerance of its own: two calls that should agree may differ by the sum of their two bounds.
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

OP = "scaled_dot_product_attention"
TERM = "scaled-dot-product-attention"
KV_CACHE = "kv-cache"  # the concept whose invariants (decoding with a cache) are stated on this op
_SCALES = (None, 0.5, 1.0, 0.125)  # the default 1/√E, and explicit ones (powers of two: exact)


def _visible(case: dict[str, Any]) -> np.ndarray:
    """Which keys each query sees, (N, H, L, S): the mask, and with causal the keys j ≤ i (top left)."""
    n, h, lq, _ = np.shape(case["query"])
    s = np.shape(case["key"])[2]
    seen = np.ones((n, h, lq, s), dtype=bool)
    if case.get("mask") is not None:
        seen &= np.broadcast_to(np.asarray(case["mask"], dtype=bool), seen.shape)
    if case.get("causal"):
        seen &= np.tril(np.ones((lq, s), dtype=bool))
    return seen


def exact(case: dict[str, Any]) -> np.ndarray:
    """The output in float64 (the bound's |y|): softmax(scale·q·kᵀ + bias) over the visible keys, times v."""
    q, k, v = (np.asarray(case[a], dtype=np.float64) for a in ("query", "key", "value"))
    scale = case.get("scale")
    scores = (1.0 / np.sqrt(q.shape[-1]) if scale is None else scale) * q @ np.swapaxes(k, -1, -2)
    if case.get("bias") is not None:
        scores = scores + np.asarray(case["bias"], dtype=np.float64)
    scores = np.where(_visible(case), scores, -np.inf)
    w = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return (w / w.sum(axis=-1, keepdims=True)) @ v


@st.composite
def attention_cases(
    draw: Any, dtype: str, *, causal: bool | None = None, masked: bool = True, min_keys: int = 1
) -> dict[str, Any]:
    """``{"query", "key", "value", "mask", "bias", "causal", "scale"}``: N, H ≤ 2, L, S ≤ 4, E ≤ 4, Ev ≤ 3,
    values in [−2, 2]; a mask (L, S) or (N, H, L, S), a bias, or neither (``masked=False``: neither);
    every query sees at least one key (key 0 is kept where a row would be hidden: a fully masked
    row is a choice, not a definition)."""
    n, h = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    lq, s, e, ev = (
        draw(st.integers(1, 4)),
        draw(st.integers(min_keys, 4)),
        draw(st.integers(1, 4)),
        draw(st.integers(1, 3)),
    )
    arrays = {
        name: draw(float_arrays(dtype, (n, h, length, width), min_value=-2.0, max_value=2.0))
        for name, length, width in (("query", lq, e), ("key", s, e), ("value", s, ev))
    }
    mask_shape = draw(st.sampled_from([(lq, s), (n, h, lq, s)]))
    case: dict[str, Any] = {
        **arrays,
        "mask": None,
        "bias": None,
        "causal": draw(st.booleans()) if causal is None else causal,
        "scale": draw(st.sampled_from(_SCALES)),
    }
    if masked and draw(st.booleans()):
        size = int(np.prod(mask_shape))
        mask = np.array(draw(st.lists(st.booleans(), min_size=size, max_size=size))).reshape(mask_shape)
        case["mask"] = mask
        hidden = ~_visible(case).any(axis=-1)  # (N, H, L): the queries that see no key
        mask[..., 0] |= hidden if mask.ndim == 4 else hidden[0, 0]  # key 0 is visible to all, causal or not
        case["mask"] = mask.tolist()
    if masked and draw(st.booleans()):
        case["bias"] = draw(
            float_arrays(dtype, draw(st.sampled_from([(lq, s), (n, h, lq, s)])), min_value=-2.0, max_value=2.0)
        )
    return case


def attention_sizes(dtype: str, rng: np.random.Generator, *, lengths: tuple[int, ...]) -> Iterator[dict[str, Any]]:
    """Calls at the size tier: L = S = n with 16 features, then 16 queries and keys with E = Ev = n, each
    with and without causal; and L = 65 queries of S = 129 keys, causal. Values in [−1, 1]."""

    def call(lq: int, s: int, e: int, causal: bool) -> dict[str, Any]:
        q, k, v = (values(dtype, rng, (1, 2, m, e), span=1.0).tolist() for m in (lq, s, s))
        return {"query": q, "key": k, "value": v, "causal": causal}

    for i, n in enumerate(lengths):
        yield call(n, n, 16, i % 2 == 0)
        yield call(16, 16, n, i % 2 == 1)
    yield call(65, 129, 16, True)


register_ops(op_records.attention.OPS)


def _call(bk: Backend, dtype: str, case: dict[str, Any]) -> np.ndarray:
    return as_float64(bk, getattr(bk, OP)(**native_args(bk, OPS[OP], case, dtype)))


def _agree(bk: Backend, dtype: str, what: str, got: np.ndarray, other: np.ndarray, expected: np.ndarray) -> None:
    """Two results whose exact values are ``expected`` agree within the sum of their forward bounds."""
    allowed = 2 * tolerances.forward(dtype).allowed(expected)
    assert_that(np.abs(got - other) <= allowed, what, first=got, second=other, allowed=allowed)


@invariant(
    f"{OP}.weights_sum_to_one",
    term=TERM,
    statement="With value = I (one value per key, the identity) the output is the attention weights: each "
    "query's weights are ≥ 0 and sum to one over the keys (a softmax over keys, not over queries).",
    cases=lambda d: attention_cases(d),
)
def weights_sum_to_one(bk: Backend, dtype: str, **case: Any) -> None:
    n, h, _, _ = np.shape(case["query"])
    s = np.shape(case["key"])[2]
    identity = np.broadcast_to(np.eye(s), (n, h, s, s)).tolist()
    w = _call(bk, dtype, {**case, "value": identity})
    tol = tolerances.forward(dtype)
    row_allowed = s * tol.atol + tol.rtol  # Σ_j (atol + rtol·w_j), Σ_j w_j = 1
    assert_that(w >= -tol.atol, "an attention weight is negative", weights=w)
    assert_that(np.abs(w.sum(axis=-1) - 1.0) <= row_allowed, "a query's weights do not sum to one", sums=w.sum(axis=-1))


@st.composite
def _with_order(draw: Any, dtype: str, *, of: str, min_keys: int = 1) -> dict[str, Any]:
    """Non-causal cases and an ``order``: a permutation of the queries (``of="query"``) or of the keys."""
    case = draw(attention_cases(dtype, causal=False, min_keys=min_keys))
    return {**case, "order": draw(st.permutations(range(np.shape(case[of])[2])))}


@invariant(
    f"{OP}.permuting_keys_and_values_leaves_the_output",
    term=TERM,
    statement="Permuting the keys and the values together (and the mask's and bias' key columns) leaves the "
    "output unchanged: attention is a weighted sum over a set of keys, without positions.",
    cases=lambda d: _with_order(d, of="key", min_keys=2),
)
def permuting_keys(bk: Backend, dtype: str, order: list[int], **case: Any) -> None:
    p = np.asarray(order)
    moved = {**case}
    for name in ("key", "value"):
        moved[name] = np.asarray(case[name])[:, :, p].tolist()
    for name in ("mask", "bias"):
        if case[name] is not None:
            moved[name] = np.asarray(case[name])[..., p].tolist()
    y = exact(case)
    _agree(
        bk, dtype, "permuting keys and values changed the output", _call(bk, dtype, case), _call(bk, dtype, moved), y
    )


@invariant(
    f"{OP}.permuting_queries_permutes_the_output",
    term=TERM,
    statement="Permuting the queries (and the mask's and bias' query rows) permutes the output rows the same "
    "way: each query attends independently.",
    cases=lambda d: _with_order(d, of="query"),
)
def permuting_queries(bk: Backend, dtype: str, order: list[int], **case: Any) -> None:
    p = np.asarray(order)
    moved = {**case, "query": np.asarray(case["query"])[:, :, p].tolist()}
    for name in ("mask", "bias"):
        if case[name] is not None:
            moved[name] = np.asarray(case[name])[..., p, :].tolist()
    y = exact(case)
    got = _call(bk, dtype, case)[:, :, p]
    _agree(bk, dtype, "permuting the queries did not permute the output", got, _call(bk, dtype, moved), y[:, :, p])


@st.composite
def _later_keys_changed(draw: Any, dtype: str) -> dict[str, Any]:
    """Causal cases without a mask, S ≥ 2, a split p (1 ≤ p ≤ min(L, S − 1)) and other keys and values from p on."""
    case = draw(attention_cases(dtype, causal=True, masked=False, min_keys=2))
    n, h, lq, e = np.shape(case["query"])
    s, ev = np.shape(case["key"])[2], np.shape(case["value"])[3]
    p = draw(st.integers(1, min(lq, s - 1)))
    other_k = draw(float_arrays(dtype, (n, h, s - p, e), min_value=-2.0, max_value=2.0))
    other_v = draw(float_arrays(dtype, (n, h, s - p, ev), min_value=-2.0, max_value=2.0))
    return {**case, "split": p, "later_key": other_k, "later_value": other_v}


@invariant(
    f"{OP}.causal_ignores_later_keys",
    term=TERM,
    statement="With causal=True, query i's output does not depend on the keys and values after position i: "
    "changing every key and value from position p on leaves the outputs of queries 0 … p − 1 unchanged.",
    cases=_later_keys_changed,
)
def causal_ignores_later(bk: Backend, dtype: str, split: int, later_key: Any, later_value: Any, **case: Any) -> None:
    p = split
    changed = {**case}
    for name, later in (("key", later_key), ("value", later_value)):
        a = np.array(case[name], dtype=np.float64)
        a[:, :, p:] = np.asarray(later, dtype=np.float64)
        changed[name] = a.tolist()
    y = exact(case)[:, :, :p]
    first, second = _call(bk, dtype, case)[:, :, :p], _call(bk, dtype, changed)[:, :, :p]
    _agree(bk, dtype, f"a causal output before position {p} changed with the keys from {p} on", first, second, y)


@st.composite
def _decoding_cases(draw: Any, dtype: str) -> dict[str, Any]:
    """Causal cases without a mask or bias, T = L = S ≥ 2 positions (one query, key and value per position)."""
    case = draw(attention_cases(dtype, causal=True, masked=False, min_keys=2))
    n, h, _, e = np.shape(case["query"])
    t = np.shape(case["key"])[2]
    return {**case, "query": draw(float_arrays(dtype, (n, h, t, e), min_value=-2.0, max_value=2.0))}


@invariant(
    f"{OP}.kv_cache_decoding_matches_causal_attention",
    term=KV_CACHE,
    statement="Incremental decoding with a key/value cache equals causal attention over the whole sequence: for "
    "each position t, query t alone over the cached keys and values 0 … t (no mask, causal=False) gives row t of "
    "the causal attention of all T positions, so appending a key and value to the cache leaves the earlier "
    "outputs unchanged.",
    cases=_decoding_cases,
)
def kv_cache_decoding(bk: Backend, dtype: str, **case: Any) -> None:
    q, k, v = (np.asarray(case[name], dtype=np.float64) for name in ("query", "key", "value"))
    steps = []
    for t in range(q.shape[2]):  # step t: query t, the cache holds keys and values 0 … t
        cached = {"query": q[:, :, t : t + 1], "key": k[:, :, : t + 1], "value": v[:, :, : t + 1]}
        steps.append(_call(bk, dtype, {**case, **{n: a.tolist() for n, a in cached.items()}, "causal": False}))
    decoded = np.concatenate(steps, axis=2)  # (N, H, T, Ev): step t's output in row t
    what = "decoding with a key/value cache differs from causal attention over the whole sequence"
    _agree(bk, dtype, what, decoded, _call(bk, dtype, case), exact(case))
