"""Invariants of embedding (section: rnn): the lookup, and its gradient's sums over repeated indices.

The cases strategies here are named by the op record of :mod:`dlterms.ops.embedding`. The
identities use weights and cotangents on the grid k/4 (:func:`.layers.grid`): a lookup, a
one-hot product and a sum of a few such values are then exact in every dtype, so each check
asks for equality, with no tolerance.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from hypothesis import strategies as st

from dlterms import ops as op_records

from ..backends import Backend, OpCall
from ..checks import as_float64, assert_that
from ..registry import invariant, register_ops
from ..sizes import values
from ..strategies import float_arrays
from .layers import grid


@st.composite
def embedding_cases(
    draw: Any,
    dtype: str,
    *,
    edges: tuple[str, ...] = (),
    exact: bool = False,
    padding: bool | None = None,
    repeats: bool = False,
) -> dict[str, Any]:
    """``{"weight", "indices", "padding_idx"}``: weight (V, D), V ≤ 6 and D ≤ 4; indices of 0 to 2 dims (each
    ≤ 5 long) in [0, V); padding_idx None or a row (negative one time in four), always (True), never (False)
    or either (None). ``exact``: weight on the grid k/4; ``repeats``: some index occurs at least twice."""
    v, d = draw(st.integers(1, 6)), draw(st.integers(1, 4))
    weight = draw(grid(dtype, (v, d)) if exact else float_arrays(dtype, (v, d), edges=edges))
    shape = tuple(draw(st.lists(st.integers(1, 5), max_size=2)))
    size = int(np.prod(shape))
    flat = draw(st.lists(st.integers(0, v - 1), min_size=size, max_size=size))
    if repeats:
        flat = [*flat[:-1], flat[0]] if size >= 2 else flat
        if size < 2:
            shape, flat = (2,), [flat[0], flat[0]] if flat else [0, 0]
    indices: Any = np.asarray(flat, dtype=np.int64).reshape(shape).tolist()
    given = draw(st.booleans()) if padding is None else padding
    pad = None
    if given:
        row = draw(st.sampled_from(flat)) if flat else 0
        pad = row - v if draw(st.integers(0, 3)) == 0 else row
    return {"weight": weight, "indices": indices, "padding_idx": pad}


def embedding_sizes(
    dtype: str, rng: np.random.Generator, *, vocab: tuple[int, ...], lookups: int
) -> Iterator[dict[str, Any]]:
    """``embedding`` calls: a (V, 64) table for each V, looked up at ``lookups`` indices (the size tier)."""
    for v in vocab:
        weight = values(dtype, rng, (v, 64)).tolist()
        yield {"weight": weight, "indices": rng.integers(0, v, size=lookups).tolist(), "padding_idx": None}


register_ops(op_records.embedding.OPS)


def _gradient(bk: Backend, dtype: str, weight: Any, indices: Any, padding_idx: int | None, g: np.ndarray) -> np.ndarray:
    call = OpCall(bk, "embedding", {"indices": bk.asarray(indices, "int64"), "padding_idx": padding_idx})
    (dw,) = bk.vjp(call, (bk.asarray(weight, dtype),), bk.asarray(g.tolist(), dtype))
    return as_float64(bk, dw)


def _cotangent(case: dict[str, Any]) -> np.ndarray:
    """A cotangent for the output of ``case``: k/4 values from a generator seeded by the case (exact sums)."""
    shape = (*np.shape(case["indices"]), np.shape(case["weight"])[1])
    seed = int(np.sum(np.asarray(case["indices"], dtype=np.int64))) + 7 * int(np.prod(shape))
    return np.random.default_rng(seed).integers(-8, 9, size=shape) / 4.0


@invariant(
    "embedding.equals_one_hot_product",
    term="embedding",
    statement="embedding(W, i) = one_hot(i)·W: the lookup equals the product of each index's one-hot row with "
    "the weight, computed by the framework's own linear layer.",
    cases=lambda d: embedding_cases(d, exact=True),
    ops=("embedding", "linear"),
)
def one_hot_product(bk: Backend, dtype: str, weight: Any, indices: Any, padding_idx: int | None) -> None:
    w = np.asarray(weight, dtype=np.float64)
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    one_hot = np.eye(w.shape[0])[idx]
    looked = as_float64(
        bk,
        bk.embedding(weight=bk.asarray(weight, dtype), indices=bk.asarray(indices, "int64"), padding_idx=padding_idx),
    )
    # linear(x, W') = x·W'ᵀ, so W' = Wᵀ (D, V): one exact product and a sum of zeros per output.
    product = as_float64(bk, bk.linear(x=bk.asarray(one_hot.tolist(), dtype), weight=bk.asarray(w.T.tolist(), dtype)))
    assert_that(
        bool(np.array_equal(looked.reshape(product.shape), product)),
        "embedding(W, i) differs from one_hot(i)·W",
        lookup=looked,
        product=product,
    )


@invariant(
    "embedding.gradient_sums_repeated_indices",
    term="embedding",
    statement="The gradient of weight row v is the sum of the cotangents of every position whose index is v "
    "(0 for a row never looked up): repeated indices accumulate, none overwrites another.",
    cases=lambda d: embedding_cases(d, exact=True, padding=False, repeats=True),
    needs_vjp=True,
)
def gradient_sums(bk: Backend, dtype: str, weight: Any, indices: Any, padding_idx: int | None) -> None:
    case = {"weight": weight, "indices": indices}
    g = _cotangent(case)
    w = np.asarray(weight, dtype=np.float64)
    expected = np.zeros_like(w)
    np.add.at(expected, np.asarray(indices, dtype=np.int64).reshape(-1), g.reshape(-1, w.shape[1]))
    got = _gradient(bk, dtype, weight, indices, None, g)
    assert_that(
        bool(np.array_equal(got, expected)),
        "the weight's gradient is not the sum of the cotangents per index",
        got=got,
        expected=expected,
        indices=indices,
    )


@invariant(
    "embedding.padding_row_gets_no_gradient",
    term="embedding",
    statement="With padding_idx = k, row k's gradient is 0 even where k is looked up, and every other row's "
    "is the sum of its cotangents as without padding.",
    cases=lambda d: embedding_cases(d, exact=True, padding=True, repeats=True),
    needs_vjp=True,
)
def padding_no_gradient(bk: Backend, dtype: str, weight: Any, indices: Any, padding_idx: int | None) -> None:
    assert padding_idx is not None
    g = _cotangent({"weight": weight, "indices": indices})
    w = np.asarray(weight, dtype=np.float64)
    row = padding_idx % w.shape[0]
    expected = np.zeros_like(w)
    np.add.at(expected, np.asarray(indices, dtype=np.int64).reshape(-1), g.reshape(-1, w.shape[1]))
    expected[row] = 0.0
    got = _gradient(bk, dtype, weight, indices, padding_idx, g)
    assert_that(
        bool(np.all(got[row] == 0.0)),
        f"the padding row {padding_idx} has a gradient",
        padding_row_gradient=got[row],
    )
    assert_that(
        bool(np.array_equal(got, expected)), "a row's gradient is wrong with padding", got=got, expected=expected
    )
