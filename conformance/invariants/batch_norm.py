"""Invariants of batch normalization: batch_norm and batch_norm_running_stats (section: normalization).

The cases strategies here are named by the op records of :mod:`dlterms.ops.batch_norm`. Every
hand-written invariant compares a backend's outputs with a property of the exact values within the
bound the op record declares for ``<op>.matches_reference`` (the relative model with the
``batch_norm`` / ``batch_norm_running_stats`` sensitivity and accumulation of
:mod:`dlterms.conformance.tolerances`), so no invariant has a tolerance of its own. Identities that
shift, scale or average inputs use values on the grid k/4 (:func:`.layers.grid`) and shifts,
power-of-two scales and midpoints that keep them exact.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from dlterms import ops as op_records
from dlterms import reference

from .. import tolerances
from ..backends import Backend
from ..checks import assert_that
from ..gradcheck import as_arrays
from ..registry import invariant, register_ops
from ..sensitivities import batch_norm_as_group_norm, normalized_groups
from ..strategies import float_arrays, representable
from .layers import grid
from .normalization import EPSILONS, affine_values, well_conditioned

_SLACK = 1e-12  # the float64 arithmetic of the checks themselves (sums of at most a few dozen terms ≤ 10²)
_TENSORS = ("x", "running_mean", "running_var", "weight", "bias")
_MOMENTA = (0.0, 0.1, 0.5, 0.9, 1.0)


def _variances(dtype: str, channels: int, exact: bool) -> st.SearchStrategy[Any]:
    """Running variances in [1/4, 4]: multiples of 1/4 (exact), or any values of the dtype."""
    if exact:
        return st.lists(st.integers(1, 16), min_size=channels, max_size=channels).map(
            lambda v: representable(np.asarray(v) / 4.0, dtype).tolist()
        )
    return float_arrays(dtype, (channels,), min_value=0.25, max_value=4.0)


@st.composite
def _batch(draw: Any, dtype: str, exact: bool, edges: tuple[str, ...]) -> dict[str, Any]:
    """``{"x", "running_mean", "running_var"}``: x (N, C, *) with C ≤ 3, up to 2 spatial dims of at most 3,
    and at least 2 values per channel (one value has no variance, and PyTorch refuses it in training)."""
    channels = draw(st.integers(1, 3))
    spatial = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    batch = draw(st.integers(1 if math.prod(spatial) > 1 else 2, 3))
    shape = (batch, channels, *spatial)
    x = grid(dtype, shape) if exact else float_arrays(dtype, shape, edges=edges)
    return {
        "x": draw(x),
        "running_mean": draw(affine_values(dtype, (channels,), exact, True)),
        "running_var": draw(_variances(dtype, channels, exact)),
    }


@st.composite
def batch_norm_cases(
    draw: Any,
    dtype: str,
    *,
    edges: tuple[str, ...] = (),
    grid: bool = False,
    affine: bool | None = None,
    training: bool | None = None,
) -> dict[str, Any]:
    """``{"x", "running_mean", "running_var", "weight", "bias", "training", "eps"}``. ``grid``: values k/4, a
    weight and bias always, and in training every channel well conditioned, √(σ² + ε) ≥ mean|x|/4 (the
    gradient cases, as :func:`.normalization.layer_norm_cases`); ``affine``: always (True), never (False) or
    either (None) a weight and a bias; ``training``: the mode, or either (None)."""
    case = draw(_batch(dtype, grid, edges))
    channels = len(case["running_mean"])
    given = True if grid and affine is None else affine
    case.update(
        weight=draw(affine_values(dtype, (channels,), grid, given)),
        bias=draw(affine_values(dtype, (channels,), grid, given)),
        training=draw(st.booleans()) if training is None else training,
        eps=draw(st.sampled_from(EPSILONS)),
    )
    assume(not (grid and case["training"]) or well_conditioned(batch_norm_as_group_norm(case)))
    return case


@st.composite
def running_stats_cases(draw: Any, dtype: str, *, grid: bool = False) -> dict[str, Any]:
    """``{"x", "running_mean", "running_var", "momentum"}`` (``grid``: values k/4)."""
    return {**draw(_batch(dtype, grid, ())), "momentum": draw(st.sampled_from(_MOMENTA))}


register_ops(op_records.batch_norm.OPS)


def bound(op: str, dtype: str, case: dict[str, Any]) -> list[np.ndarray]:
    """The error ``<op>.matches_reference`` allows each output of ``case`` (the op record's relative model)."""
    out = getattr(reference, op)(**case)
    ys = [np.asarray(o, dtype=np.float64) for o in (out if isinstance(out, tuple) else (out,))]
    name = op_records.OPS[op].accuracy.sensitivity
    s = tolerances.sensitivity(name, case, ys)
    a = tolerances.accumulation(op_records.OPS[op].accuracy.accumulation, case, ys, dtype)
    return [tolerances.relative(dtype, name).allowed(y, si, ai) for y, si, ai in zip(ys, s, a, strict=True)]


def _call(bk: Backend, op: str, dtype: str, case: dict[str, Any]) -> list[np.ndarray]:
    args = {k: (bk.asarray(v, dtype) if k in _TENSORS and v is not None else v) for k, v in case.items()}
    return as_arrays(bk, getattr(bk, op)(**args))


def _agree(bk: Backend, dtype: str, cases: list[dict[str, Any]], combine: list[float], what: str) -> None:
    """Σ combine[i]·batch_norm(cases[i]) = 0 within Σ |combine[i]|·bound(cases[i]): exact outputs that satisfy
    the identity."""
    total = sum(c * _call(bk, "batch_norm", dtype, case)[0] for c, case in zip(combine, cases, strict=True))
    allowed = sum(abs(c) * bound("batch_norm", dtype, case)[0] for c, case in zip(combine, cases, strict=True))
    assert_that(np.abs(total) <= allowed + _SLACK, what, residual=total, allowed=allowed)


# --- batch_norm ------------------------------------------------------------------------------------


@invariant(
    "batch_norm.zero_mean_unit_variance",
    term="batch-normalization",
    statement="In training without weight and bias, each channel's output over the batch has mean 0 and "
    "variance σ²/(σ² + ε): 1 up to ε (the biased variance, divided by n).",
    cases=lambda d: batch_norm_cases(d, affine=False, training=True),
)
def batch_norm_moments(bk: Backend, dtype: str, **case: Any) -> None:
    g = normalized_groups(batch_norm_as_group_norm(case))  # one row per channel
    shape = np.shape(case["x"])
    y = _call(bk, "batch_norm", dtype, case)[0]
    rows = np.moveaxis(np.reshape(y, shape), 1, 0).reshape(g.x.shape)
    b = np.moveaxis(bound("batch_norm", dtype, case)[0], 1, 0).reshape(g.x.shape)
    square = np.mean(g.z * g.z, axis=1)
    assert_that(
        np.abs(np.mean(rows * rows, axis=1) - square) <= np.mean(2 * np.abs(g.z) * b + b * b, axis=1) + _SLACK,
        "batch_norm: a channel's mean square is not σ²/(σ² + ε)",
        got=np.mean(rows * rows, axis=1),
        expected=square,
    )
    assert_that(
        np.abs(np.mean(rows, axis=1)) <= np.mean(b, axis=1) + _SLACK,
        "batch_norm: a channel's mean is not 0",
        got=np.mean(rows, axis=1),
    )


def _shifted(dtype: str) -> st.SearchStrategy[dict[str, Any]]:
    """Training grid cases with a scale a (a power of two) and a shift per channel c_k (multiples of 1/4)."""
    return st.tuples(
        batch_norm_cases(dtype, grid=True, training=True),
        st.sampled_from([0.5, 2.0, 4.0]),
        st.lists(st.integers(-12, 12), min_size=3, max_size=3),
    ).map(lambda t: {**t[0], "scale": t[1], "shifts": [k / 4.0 for k in t[2]]})


@invariant(
    "batch_norm.invariant_to_shifting_and_scaling",
    term="batch-normalization",
    statement="In training, batch_norm(a·x + c, eps·a²) = batch_norm(x, eps) for a > 0 and a shift c_k per "
    "channel: each channel's mean absorbs its shift and its standard deviation the scale.",
    cases=_shifted,
)
def batch_norm_shift_scale(bk: Backend, dtype: str, scale: float, shifts: list[float], **case: Any) -> None:
    x = np.asarray(case["x"], dtype=np.float64)
    c = np.asarray(shifts[: x.shape[1]]).reshape((1, x.shape[1]) + (1,) * (x.ndim - 2))
    moved = {**case, "x": (scale * x + c).tolist(), "eps": case["eps"] * scale * scale}  # grid values: exact
    _agree(bk, dtype, [case, moved], [1.0, -1.0], "batch_norm(a·x + c, eps·a²) differs from batch_norm(x, eps)")


def _pairs(dtype: str) -> st.SearchStrategy[dict[str, Any]]:
    """Evaluation grid cases with a second input of x's shape (multiples of 1/4)."""
    return batch_norm_cases(dtype, grid=True, training=False).flatmap(
        lambda case: grid(dtype, np.shape(case["x"])).map(lambda other: {**case, "other": other})
    )


@invariant(
    "batch_norm.eval_is_affine",
    term="batch-normalization",
    statement="In evaluation, batch_norm is an affine map of x: batch_norm((x₁ + x₂)/2) = (batch_norm(x₁) + "
    "batch_norm(x₂))/2, the running statistics fixed.",
    cases=_pairs,
)
def batch_norm_affine(bk: Backend, dtype: str, other: Any, **case: Any) -> None:
    middle = ((np.asarray(case["x"]) + np.asarray(other)) / 2).tolist()  # multiples of 1/8: exact
    cases = [{**case, "x": middle}, case, {**case, "x": other}]
    _agree(bk, dtype, cases, [1.0, -0.5, -0.5], "batch_norm((x₁ + x₂)/2) is not the mean of the two outputs")


# --- batch_norm_running_stats ----------------------------------------------------------------------


@invariant(
    "batch_norm_running_stats.momentum_weights_the_batch",
    term="batch-normalization",
    statement="With momentum 0 the running statistics are unchanged; with momentum 1 they are the batch's mean "
    "and its unbiased variance, n/(n − 1)·σ² (PyTorch's convention: momentum weights the new batch).",
    cases=lambda d: st.tuples(running_stats_cases(d, grid=True), st.sampled_from([0.0, 1.0])).map(
        lambda t: {**t[0], "momentum": t[1]}
    ),
)
def running_stats_endpoints(bk: Backend, dtype: str, **case: Any) -> None:
    got = _call(bk, "batch_norm_running_stats", dtype, case)
    allowed = bound("batch_norm_running_stats", dtype, case)
    x = np.moveaxis(np.asarray(case["x"], dtype=np.float64), 1, 0).reshape(len(case["running_mean"]), -1)
    if case["momentum"] == 0.0:
        expected = [np.asarray(case["running_mean"]), np.asarray(case["running_var"])]
    else:
        expected = [np.mean(x, axis=1), np.var(x, axis=1, ddof=1)]
    for name, g, e, a in zip(("running_mean", "running_var"), got, expected, allowed, strict=True):
        assert_that(
            np.abs(g - e) <= a + _SLACK,
            f"batch_norm_running_stats: {name} with momentum {case['momentum']} is not "
            + ("the old value" if case["momentum"] == 0.0 else "the batch's (unbiased) statistic"),
            got=g,
            expected=e,
        )
