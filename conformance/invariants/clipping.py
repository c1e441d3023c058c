"""Invariants of gradient clipping by the global norm (beyond the seed, section training).

A backend's ``clip_grad_norm(grads, max_norm)`` takes k gradient tensors along the leading axis of
``grads`` and returns them clipped. Besides the generated comparisons with
the reference (and its VJP), it is held to what clipping by the *global* norm means (Pascanu et al.
2013, Algorithm 1): below the threshold nothing changes; after clipping the total norm is
min(N, max_norm); and every tensor is scaled by one and the same factor, so the update keeps its
direction (clipping each tensor by its own norm, or each element by value, does not). And it does so
where it is needed most: exploding gradients, finite but so large that their squares overflow the dtype
(the global norm above √max, 1.8·10¹⁹ in float32), are clipped to max_norm, not zeroed or made NaN.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from dlterms import ops as op_records
from dlterms import reference

from .. import tolerances
from ..backends import Backend
from ..checks import as_float64, assert_close, assert_that
from ..registry import invariant, register_ops
from ..sensitivities import sensitivity
from ..sizes import values
from ..strategies import float_arrays, representable, shapes

# max_norm as a fraction of the total norm N: clipped hard, clipped a little, not clipped (max_norm = 0
# is the special value zero_max_norm).
_RATIOS = (0.01, 0.5, 0.9, 1.5, 10.0)


@st.composite
def clip_cases(draw: Any, dtype: str, *, margin: float = 0.0, ratios: tuple[float, ...] = _RATIOS) -> dict[str, Any]:
    """``{"grads", "max_norm"}``: k = 1 to 5 tensors of one shape (rank 1 to 3 in all), max_norm a fraction of N.

    ``margin > 0`` (the gradient cases) keeps N ≥ 1e-3 and N at least ``margin``·N away from max_norm,
    where the factor min(1, max_norm/N) has its kink.
    """
    shape = draw(shapes(min_dims=1, max_dims=3))
    grads = draw(float_arrays(dtype, shape))
    total = global_norm(grads)
    # N² a normal number (or N = 0): TensorFlow sums the squares unscaled, so a smaller global norm
    # underflows to 0 and is not clipped (shown directly in the tests; an edge of the range, not a rounding).
    assume(total == 0.0 or total * total >= tolerances.SMALLEST_NORMAL[dtype])
    ratio = draw(st.sampled_from(ratios))
    # All-zero gradients get max_norm 1: a threshold of 0 on a norm of 0 is 0/0 in TensorFlow's
    # t·c/max(N, c) (shown directly in the tests); zero_max_norm is a special value of its own.
    max_norm = float(representable(np.array(ratio * total), dtype)) if total > 0 else 1.0
    if margin:
        assume(total >= 1e-3 and abs(total - max_norm) >= margin * total)
    return {"grads": grads, "max_norm": max_norm}


@st.composite
def exploding_cases(draw: Any, dtype: str) -> dict[str, Any]:
    """``{"grads", "max_norm"}`` with √max < N ≤ max/2: some elements ±10^e, e uniform up to max/64, so that the
    squares overflow ``dtype`` while the global norm N is finite in it; max_norm 1%, 50% or 90% of N."""
    root, largest = math.sqrt(tolerances.LARGEST[dtype]), tolerances.LARGEST[dtype]
    grads = draw(float_arrays(dtype, shapes(min_dims=1, max_dims=3), magnitudes=(root, largest / 64)))
    total = global_norm(grads)
    assume(root < total <= largest / 2)
    ratio = draw(st.sampled_from((0.01, 0.5, 0.9)))
    return {"grads": grads, "max_norm": float(representable(np.array(ratio * total), dtype))}


def clip_sizes(dtype: str, rng: np.random.Generator, *, lengths: tuple[int, ...]) -> Iterator[dict[str, Any]]:
    """4 tensors of each length, clipped to half their global norm (the size tier)."""
    for n in lengths:
        grads = values(dtype, rng, (4, n))
        total = global_norm(grads)
        yield {"grads": grads.tolist(), "max_norm": float(representable(np.array(total / 2), dtype))}


register_ops(op_records.clipping.OPS)


def global_norm(grads: Any) -> float:
    """√(Σ g²) over every element, without overflow or underflow (math.hypot), in float64."""
    return math.hypot(*np.ravel(np.asarray(grads, dtype=np.float64)).tolist())


def _clip(bk: Backend, dtype: str, grads: Any, max_norm: float) -> np.ndarray:
    return as_float64(bk, bk.clip_grad_norm(grads=bk.asarray(grads, dtype), max_norm=max_norm))


def _bound(dtype: str, case: dict[str, Any]) -> tuple[tolerances.Relative, np.ndarray]:
    """The record's relative bound in ``dtype`` and its sensitivity at ``case``."""
    expected = np.asarray(reference.clip_grad_norm(**case), dtype=np.float64)
    return tolerances.relative(dtype, "clip_grad_norm"), sensitivity("clip_grad_norm", case, [expected])[0]


@invariant(
    "clip_grad_norm.unchanged_below_max_norm",
    term="gradient-clipping",
    statement="When the total norm N is at most max_norm, clip_grad_norm returns every gradient unchanged: "
    "clipping only ever scales a norm down.",
    cases=lambda d: clip_cases(d, ratios=(1.5, 10.0, 1000.0)),
    dtypes=("float32", "float64"),
)
def unchanged_below(bk: Backend, dtype: str, grads: Any, max_norm: float) -> None:
    got = _clip(bk, dtype, grads, max_norm)
    tol, scale = _bound(dtype, {"grads": grads, "max_norm": max_norm})
    assert_close(got, np.asarray(grads, dtype=np.float64), tol, "clip_grad_norm below max_norm", scale=scale)


@invariant(
    "clip_grad_norm.clipped_norm_is_min_of_norm_and_max_norm",
    term="gradient-clipping",
    statement="The total norm of the clipped gradients is min(N, max_norm), N the total norm before "
    "(PyTorch's own max_norm/(N + 1e-6) is translated by its adapter).",
    cases=clip_cases,
    dtypes=("float32", "float64"),
)
def clipped_norm(bk: Backend, dtype: str, grads: Any, max_norm: float) -> None:
    _assert_clipped_norm(dtype, _clip(bk, dtype, grads, max_norm), grads, max_norm)


def _assert_clipped_norm(dtype: str, got: np.ndarray, grads: Any, max_norm: float) -> None:
    """The global norm of the clipped ``got`` is min(N, max_norm), within the record's bound."""
    expected = min(global_norm(grads), max_norm)
    tol, _ = _bound(dtype, {"grads": grads, "max_norm": max_norm})
    # The norm of the clipped grads, each element within the bound of its exact value (n/2 + 2 roundings
    # relative), computed in float64 (n/2 more, far below): the same relative bound on the norm, twice.
    scale = np.array((np.size(got) + 4.0) * expected)
    assert_close(np.array(global_norm(got)), np.array(expected), tol, "the total norm after clipping", scale=scale)


@invariant(
    "clip_grad_norm.one_factor_for_every_tensor",
    term="gradient-clipping",
    statement="Clipping by the global norm scales every element of every tensor by one factor in [0, 1]: "
    "the update keeps its direction (the factor read from the largest element, the others compared with it).",
    cases=lambda d: clip_cases(d, ratios=(0.01, 0.5, 0.9)),
    dtypes=("float32", "float64"),
)
def one_factor(bk: Backend, dtype: str, grads: Any, max_norm: float) -> None:
    got = _clip(bk, dtype, grads, max_norm)
    g = np.asarray(grads, dtype=np.float64)
    if not np.any(g):
        return
    big = np.unravel_index(np.argmax(np.abs(g)), g.shape)
    factor = got[big] / g[big]
    assert_that(0.0 <= factor <= 1.0, "clip_grad_norm's factor is in [0, 1]", factor=factor)
    tol, scale = _bound(dtype, {"grads": grads, "max_norm": max_norm})
    # extra λ: a product below the smallest normal number may be flushed to 0 (XLA, TensorFlow on the CPU).
    what = "every element against the largest one's factor"
    assert_close(got, factor * g, tol, what, scale=2.0 * scale, extra=tolerances.SMALLEST_NORMAL[dtype])


@invariant(
    "clip_grad_norm.exploding_gradients_are_clipped_not_zeroed",
    term="gradient-clipping",
    statement="Exploding gradients, finite but with a global norm N whose square overflows the dtype "
    "(√max < N ≤ max/2: 1.8e19 < N in float32), are clipped to the norm max_norm, every element finite: "
    "the norm computed without overflow (as math.hypot or a scaled sum), not as √(Σ g²), which is ∞ there and "
    "makes the factor 0 (the update zeroed) or ∞/∞ (NaN).",
    cases=exploding_cases,
    dtypes=("float32", "float64"),
)
def exploding_gradients(bk: Backend, dtype: str, grads: Any, max_norm: float) -> None:
    got = _clip(bk, dtype, grads, max_norm)
    assert_that(np.isfinite(got), "clip_grad_norm of finite gradients is finite", got=got)
    _assert_clipped_norm(dtype, got, grads, max_norm)
