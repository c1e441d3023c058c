"""Invariants of the normalization layers: layer_norm, rms_norm, group_norm (section: normalization).

The cases strategies here are named by the op records of :mod:`dlterms.ops.normalization`. Every
hand-written invariant compares a backend's outputs with a property of the exact values, within
the bound the op record declares for ``<op>.matches_reference`` (the relative model with the
``layer_norm`` / ``rms_norm`` / ``group_norm`` sensitivity and accumulation of
:mod:`dlterms.conformance.tolerances`), so no invariant has a tolerance of its own. Identities
that shift or scale the input use values on the grid k/4 (:func:`.layers.grid`) and shifts and
scales that keep them exact (a scale is a power of two, so ε·a² is exact too).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from dlterms import ops as op_records

from .. import tolerances
from ..backends import Backend
from ..checks import as_float64, assert_that
from ..registry import invariant, register_ops
from ..sensitivities import normalized_groups
from ..strategies import float_arrays, reused
from .layers import grid

# ε: PyTorch's default, a larger one, and one that dominates the variance of grid values.
EPSILONS = (1e-5, 1e-3, 0.25)
_RMS_EPSILONS = (1e-6, 1e-5, 0.25)  # rms_norm's eps is always given: None means each dtype's own machine epsilon
_SLACK = 1e-12  # the float64 arithmetic of the checks themselves (sums of at most a few hundred terms ≤ 10²)


def _values(dtype: str, shape: tuple[int, ...], exact: bool, edges: tuple[str, ...] = ()) -> st.SearchStrategy[Any]:
    if exact:
        return grid(dtype, shape)
    return float_arrays(dtype, shape, edges=edges)


# The smallest √(σ² + ε) of a gradient case: the VJP's terms are |w·ḡ|/√(σ² + ε), and the gradient
# tolerance is an atol for terms of order 1 (the grid's two nearest distinct values, k/4 apart, have σ = 1/8).
MIN_GRADIENT_SCALE = 0.125


def well_conditioned(case: dict[str, Any]) -> bool:
    """Whether every group's √(σ² + ε) is at least a quarter of its mean |x| and at least
    :data:`MIN_GRADIENT_SCALE` (see :func:`layer_norm_cases`)."""
    g = normalized_groups(case)
    return bool(np.all(g.scale >= np.maximum(g.mean_abs / 4.0, MIN_GRADIENT_SCALE)))


@reused
def affine_values(dtype: str, shape: tuple[int, ...], exact: bool, given: bool | None) -> st.SearchStrategy[Any]:
    if given is False:
        return st.none()
    values = grid(dtype, shape) if exact else float_arrays(dtype, shape, min_value=-2.0, max_value=2.0)
    return values if given else st.none() | values


@st.composite
def layer_norm_cases(
    draw: Any, dtype: str, *, edges: tuple[str, ...] = (), grid: bool = False, affine: bool | None = None
) -> dict[str, Any]:
    """``{"x", "normalized_shape", "weight", "bias", "eps"}``: x (batch..., *normalized_shape), at most 2 batch
    and 2 normalized dims. ``grid``: values k/4 and a weight and bias always, and every group well
    conditioned, √(σ² + ε) ≥ mean|x|/4 and ≥ 1/8 (the gradient cases: the VJP divides by √(σ² + ε) and
    cancels terms of size mean|x|/√(σ² + ε) and |w·ḡ|/√(σ² + ε), so a fixed gradient tolerance holds only
    where both are of order 1: a constant row −0.75 with ε = 1e−5 makes PyTorch's float32 dweight 1.4e−5
    where it is 0, and a one-value row x = [0] with w = −1.5 its float32 dx 6.1e−5 where it is 0 — the
    terms are 474·|ḡ| there); ``affine``: always (True), never (False) or either (None) a weight and a bias."""
    dims = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=2)))
    batch = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    given = True if grid and affine is None else affine
    case = {
        "x": draw(_values(dtype, (*batch, *dims), grid, edges)),
        "normalized_shape": list(dims),
        "weight": draw(affine_values(dtype, dims, grid, given)),
        "bias": draw(affine_values(dtype, dims, grid, given)),
        "eps": draw(st.sampled_from(EPSILONS)),
    }
    assume(not grid or well_conditioned(case))
    return case


@st.composite
def rms_norm_cases(
    draw: Any, dtype: str, *, edges: tuple[str, ...] = (), grid: bool = False, affine: bool | None = None
) -> dict[str, Any]:
    """``{"x", "normalized_shape", "weight", "eps"}`` as :func:`layer_norm_cases` without a bias, eps always given."""
    case = draw(layer_norm_cases(dtype, edges=edges, grid=grid, affine=affine))
    del case["bias"]
    return {**case, "eps": draw(st.sampled_from(_RMS_EPSILONS))}


@st.composite
def group_norm_cases(
    draw: Any, dtype: str, *, edges: tuple[str, ...] = (), grid: bool = False, affine: bool | None = None
) -> dict[str, Any]:
    """``{"x", "num_groups", "weight", "bias", "eps"}``: x (N, C, *spatial), N ≤ 2, C = groups·(1 or 2) ≤ 6,
    up to 2 spatial dims of at most 3, and at least 2 values in each group."""
    groups = draw(st.integers(1, 3))
    spatial = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    # At least 2 values per group: one value normalizes to 0 whatever it is, and PyTorch refuses it
    # ("Expected more than 1 value per channel when training").
    per_group = max(draw(st.integers(1, 2)), 1 if int(np.prod(spatial)) > 1 else 2)
    channels = groups * per_group
    given = True if grid and affine is None else affine
    case = {
        "x": draw(_values(dtype, (draw(st.integers(1, 2)), channels, *spatial), grid, edges)),
        "num_groups": groups,
        "weight": draw(affine_values(dtype, (channels,), grid, given)),
        "bias": draw(affine_values(dtype, (channels,), grid, given)),
        "eps": draw(st.sampled_from(EPSILONS)),
    }
    assume(not grid or well_conditioned(case))
    return case


register_ops(op_records.normalization.OPS)


def _exact(case: dict[str, Any]) -> np.ndarray:
    """The exact output (float64, first order), z·w + b, in the shape of x."""
    g = normalized_groups(case)
    return g.as_output(g.z * g.weight + g.bias, np.shape(case["x"]))


def bound(op: str, dtype: str, case: dict[str, Any]) -> np.ndarray:
    """The error ``<op>.matches_reference`` allows each output of ``case`` (the op record's relative model)."""
    y = _exact(case)
    (s,) = tolerances.sensitivity(op, case, [y])
    (a,) = tolerances.accumulation(op, case, [y], dtype)
    return tolerances.relative(dtype, op).allowed(y, s, a)


def _call(bk: Backend, op: str, dtype: str, case: dict[str, Any]) -> np.ndarray:
    args = {k: (bk.asarray(v, dtype) if k in ("x", "weight", "bias") and v is not None else v) for k, v in case.items()}
    return as_float64(bk, getattr(bk, op)(**args))


def _moments_match(bk: Backend, op: str, dtype: str, case: dict[str, Any], what: str) -> None:
    """Each group's output has mean 0 (centred ops) and mean square σ²/(σ² + ε), within the op's bound."""
    g = normalized_groups(case)
    n = g.x.shape[1]
    y = _call(bk, op, dtype, case).reshape(g.x.shape)
    b = bound(op, dtype, case).reshape(g.x.shape)
    square = np.mean(g.z * g.z, axis=1)  # σ²/(σ² + ε), or mean x²/(mean x² + ε) without centring
    err_square = np.mean(2 * np.abs(g.z) * b + b * b, axis=1) + _SLACK
    assert_that(
        np.abs(np.mean(y * y, axis=1) - square) <= err_square,
        f"{what}: a group's mean square is not σ²/(σ² + ε)",
        got=np.mean(y * y, axis=1),
        expected=square,
        n=n,
    )
    if "bias" in case:
        assert_that(
            np.abs(np.mean(y, axis=1)) <= np.mean(b, axis=1) + _SLACK,
            f"{what}: a group's mean is not 0",
            got=np.mean(y, axis=1),
        )


def _agree(bk: Backend, dtype: str, first: tuple[str, dict[str, Any]], second: tuple[str, dict[str, Any]]) -> None:
    """Two calls whose exact outputs are equal agree within the sum of their bounds."""
    (op1, c1), (op2, c2) = first, second
    y1, y2 = _call(bk, op1, dtype, c1), _call(bk, op2, dtype, c2)
    allowed = bound(op1, dtype, c1) + bound(op2, dtype, c2)
    assert_that(np.abs(y1 - y2) <= allowed, f"{op1} and {op2} differ", first=y1, second=y2)


# --- layer normalization ---------------------------------------------------------------------------


@invariant(
    "layer_norm.zero_mean_unit_variance",
    term="layer-normalization",
    statement="Without weight and bias, each normalized row has mean 0 and variance σ²/(σ² + ε): 1 up to ε "
    "(the biased variance, divided by n).",
    cases=lambda d: layer_norm_cases(d, affine=False),
)
def layer_norm_moments(bk: Backend, dtype: str, **case: Any) -> None:
    _moments_match(bk, "layer_norm", dtype, case, "layer_norm")


@invariant(
    "layer_norm.invariant_to_shifting",
    term="layer-normalization",
    statement="layer_norm(x + c) = layer_norm(x) for a constant c: the mean absorbs any shift.",
    cases=lambda d: st.tuples(layer_norm_cases(d, grid=True), st.sampled_from([-3.0, 0.5, 8.0])).map(
        lambda t: {**t[0], "shift": t[1]}
    ),
)
def layer_norm_shift(bk: Backend, dtype: str, shift: float, **case: Any) -> None:
    moved = {**case, "x": (np.asarray(case["x"]) + shift).tolist()}  # on the 1/4 grid: exact
    _agree(bk, dtype, ("layer_norm", case), ("layer_norm", moved))


# --- RMS normalization -----------------------------------------------------------------------------


@invariant(
    "rms_norm.unit_root_mean_square",
    term="rms-normalization",
    statement="Without a weight, each normalized row has mean square m/(m + ε), m its input's mean square: "
    "a root mean square of 1 up to ε.",
    cases=lambda d: rms_norm_cases(d, affine=False),
)
def rms_norm_unit(bk: Backend, dtype: str, **case: Any) -> None:
    _moments_match(bk, "rms_norm", dtype, case, "rms_norm")


def _zero_mean(dtype: str) -> st.SearchStrategy[dict[str, Any]]:
    """rms_norm cases whose rows have mean 0 exactly: grid values v followed by −v, one normalized dim."""

    def mirrored(case: dict[str, Any]) -> dict[str, Any]:
        x = np.asarray(case["x"], dtype=np.float64)
        x = x.reshape(*x.shape[: x.ndim - len(case["normalized_shape"])], -1)
        return {**case, "x": np.concatenate([x, -x], axis=-1).tolist(), "normalized_shape": [2 * x.shape[-1]]}

    return rms_norm_cases(dtype, grid=True, affine=False).map(mirrored)


@invariant(
    "rms_norm.equals_layer_norm_for_zero_mean_rows",
    term="rms-normalization",
    statement="For rows of mean 0, rms_norm(x, eps) = layer_norm(x, eps): the mean square is then the variance.",
    cases=_zero_mean,
    ops=("rms_norm", "layer_norm"),
)
def rms_norm_is_layer_norm(bk: Backend, dtype: str, **case: Any) -> None:
    _agree(bk, dtype, ("rms_norm", case), ("layer_norm", {**case, "bias": None}))


# --- group normalization ---------------------------------------------------------------------------


@invariant(
    "group_norm.one_group_is_layer_norm",
    term="group-normalization",
    statement="group_norm(x, 1) = layer_norm(x, x.shape[1:]) without affine maps: one group holds every "
    "channel and position of an example.",
    cases=lambda d: group_norm_cases(d, affine=False),
    ops=("group_norm", "layer_norm"),
)
def group_norm_one_group(bk: Backend, dtype: str, **case: Any) -> None:
    dims = list(np.shape(case["x"])[1:])
    layer = {"x": case["x"], "normalized_shape": dims, "weight": None, "bias": None, "eps": case["eps"]}
    _agree(bk, dtype, ("group_norm", {**case, "num_groups": 1}), ("layer_norm", layer))


@invariant(
    "group_norm.group_per_channel_is_instance_norm",
    term="group-normalization",
    statement="group_norm(x, C) normalizes each channel of each example over its positions (instance "
    "normalization): layer_norm(x, x.shape[2:]) without affine maps.",
    cases=lambda d: group_norm_cases(d, affine=False).filter(lambda c: np.prod(np.shape(c["x"])[2:]) > 1),
    ops=("group_norm", "layer_norm"),
)
def group_norm_per_channel(bk: Backend, dtype: str, **case: Any) -> None:
    shape = np.shape(case["x"])
    layer = {"x": case["x"], "normalized_shape": list(shape[2:]), "weight": None, "bias": None, "eps": case["eps"]}
    _agree(bk, dtype, ("group_norm", {**case, "num_groups": shape[1]}), ("layer_norm", layer))
