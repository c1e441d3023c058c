"""Invariants of the robust regression losses: Huber and smooth L1 (section: the cost function).

Beside :mod:`.losses` (the seed's), to keep each module under 500 lines; the cases strategies
here are named by the op records of :mod:`dlterms.ops.regression_losses`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from dlterms.reference.regression_losses import REDUCTIONS
from hypothesis import strategies as st

from dlterms import ops as op_records

from .. import tolerances
from ..backends import Backend
from ..checks import as_float64, assert_close, assert_that
from ..edges import offset
from ..registry import invariant, register_ops
from ..strategies import float_arrays, representable, shapes

# Values within ±4 in half precision: a sum of up to 125 terms of residuals up to 8 (½·8² each at
# most) stays far below float16's 65504; ±20 otherwise, so residuals reach both sides of δ ≤ 4.
_SPAN = {"float16": 4.0, "bfloat16": 4.0, "float32": 20.0, "float64": 20.0}

# δ or β = 1 (the default) one time in two, else a power of two: r/δ, δ·ℓ and δ² are then exact, so an
# identity between the two losses or a rescaling is checked on the framework's own arithmetic.
_THRESHOLDS = (1.0, 1.0, 1.0, 0.25, 0.5, 2.0, 4.0)


def _residual_cases(dtype: str, name: str, values: tuple[float, ...], edges: tuple[str, ...]) -> Any:
    span = _SPAN[dtype]
    element_edges = tuple(e for e in edges if e != "large_offsets")
    pairs = shapes().flatmap(
        lambda s: st.fixed_dictionaries(
            {
                "input": float_arrays(dtype, s, min_value=-span, max_value=span, edges=element_edges),
                "target": float_arrays(dtype, s, min_value=-span, max_value=span),
                name: st.sampled_from(values),
                "reduction": st.sampled_from(REDUCTIONS),
            }
        )
    )
    if "large_offsets" not in edges:
        return pairs
    # Input and target sometimes share one large offset c: their difference is exact, the values huge.
    return st.tuples(pairs, st.just(0.0) | offset(dtype)).map(lambda t: _shifted(t[0], t[1], dtype))


def _shifted(case: dict[str, Any], c: float, dtype: str) -> dict[str, Any]:
    moved = {k: representable(np.asarray(case[k], dtype=np.float64) + c, dtype).tolist() for k in ("input", "target")}
    return {**case, **moved}


def huber_cases(dtype: str, *, edges: tuple[str, ...] = ()) -> Any:
    """``{"input", "target", "delta", "reduction"}``: δ = 1 or a power of two in [1/4, 4]."""
    return _residual_cases(dtype, "delta", _THRESHOLDS, edges)


def smooth_l1_cases(dtype: str, *, edges: tuple[str, ...] = (), positive_beta: bool = False) -> Any:
    """``{"input", "target", "beta", "reduction"}``: β = 1, a power of two in [1/4, 4], or 0 (the L1 loss)."""
    return _residual_cases(dtype, "beta", _THRESHOLDS + (() if positive_beta else (0.0,)), edges)


register_ops(op_records.regression_losses.OPS)


def _terms(bk: Backend, op: str, dtype: str, input: Any, target: Any, **kw: Any) -> np.ndarray:
    """The unreduced loss of ``op`` as float64."""
    x, t = bk.asarray(input, dtype), bk.asarray(target, dtype)
    return as_float64(bk, getattr(bk, op)(x, t, reduction="none", **kw))


def _residuals(input: Any, target: Any, dtype: str) -> np.ndarray:
    """|input − target| rounded to the dtype, as a framework computes it first (float64 values)."""
    return np.abs(representable(np.asarray(input, dtype=np.float64) - np.asarray(target, dtype=np.float64), dtype))


def _slack(dtype: str, scale: np.ndarray) -> np.ndarray:
    """What rounding may add to a bound stated on exact values: the dtype's forward tolerance at ``scale``."""
    tol = tolerances.forward(dtype)
    return tol.rtol * np.abs(scale) + tol.atol


# --- Huber -------------------------------------------------------------------------------------


@invariant(
    "huber_loss.between_its_quadratic_and_linear_bounds",
    term="huber-loss",
    statement="max(0, δ|r| − δ²/2) ≤ huber_loss ≤ min(r²/2, δ|r|) elementwise (r = input − target): below the "
    "squared error and the scaled absolute error, above their tangent line at |r| = δ.",
    cases=huber_cases,
)
def huber_bounds(bk: Backend, dtype: str, input: Any, target: Any, delta: float, reduction: str) -> None:
    y = _terms(bk, "huber_loss", dtype, input, target, delta=delta)
    r = _residuals(input, target, dtype)
    upper = np.minimum(0.5 * r * r, delta * r)
    lower = np.maximum(0.0, delta * r - 0.5 * delta * delta)
    slack = _slack(dtype, upper)
    assert_that(y <= upper + slack, f"huber_loss(delta={delta}) above min(r²/2, delta·|r|)", r=r, loss=y)
    assert_that(y >= lower - slack, f"huber_loss(delta={delta}) below delta·|r| − delta²/2", r=r, loss=y)


@invariant(
    "huber_loss.is_delta_times_smooth_l1",
    term="huber-loss",
    statement="huber_loss(input, target, delta=δ) = δ·smooth_l1_loss(input, target, beta=δ) for every δ > 0 and "
    "reduction: Huber's slope far out is δ, smooth L1's is 1.",
    ops=("huber_loss", "smooth_l1_loss"),
    cases=huber_cases,
)
def huber_is_scaled_smooth_l1(bk: Backend, dtype: str, input: Any, target: Any, delta: float, reduction: str) -> None:
    x, t = bk.asarray(input, dtype), bk.asarray(target, dtype)
    huber = as_float64(bk, bk.huber_loss(x, t, delta=delta, reduction=reduction))
    smooth = as_float64(bk, bk.smooth_l1_loss(x, t, beta=delta, reduction=reduction))
    # δ a power of two: δ·smooth_l1 is exact, so each side is within the dtype's tolerance of the same value.
    assert_close(huber, delta * smooth, tolerances.forward(dtype), f"huber_loss vs {delta} × smooth_l1_loss")


# --- smooth L1 ---------------------------------------------------------------------------------


@invariant(
    "smooth_l1_loss.within_half_beta_of_l1",
    term="smooth-l1-loss",
    statement="|r| − β/2 ≤ smooth_l1_loss ≤ |r| elementwise (r = input − target, β ≥ 0): the absolute error, "
    "rounded off by at most β/2 near 0.",
    cases=smooth_l1_cases,
)
def smooth_l1_near_l1(bk: Backend, dtype: str, input: Any, target: Any, beta: float, reduction: str) -> None:
    y = _terms(bk, "smooth_l1_loss", dtype, input, target, beta=beta)
    r = _residuals(input, target, dtype)
    slack = _slack(dtype, r)
    assert_that(y <= r + slack, f"smooth_l1_loss(beta={beta}) above |r|", r=r, loss=y)
    assert_that(y >= r - 0.5 * beta - slack, f"smooth_l1_loss(beta={beta}) below |r| − beta/2", r=r, loss=y)


@invariant(
    "smooth_l1_loss.scales_with_beta",
    term="smooth-l1-loss",
    statement="smooth_l1_loss(input, target, beta=β) = β·smooth_l1_loss(input/β, target/β, beta=1) for β > 0: "
    "β sets the scale of the quadratic zone and nothing else.",
    cases=lambda d: smooth_l1_cases(d, positive_beta=True),
)
def smooth_l1_scaling(bk: Backend, dtype: str, input: Any, target: Any, beta: float, reduction: str) -> None:
    x, t = np.asarray(input, dtype=np.float64), np.asarray(target, dtype=np.float64)
    scaled = as_float64(
        bk, bk.smooth_l1_loss(bk.asarray(input, dtype), bk.asarray(target, dtype), beta=beta, reduction=reduction)
    )
    # β a power of two and the values far from the dtype's limits: x/β and t/β are exact.
    unit = as_float64(
        bk,
        bk.smooth_l1_loss(
            bk.asarray((x / beta).tolist(), dtype),
            bk.asarray((t / beta).tolist(), dtype),
            beta=1.0,
            reduction=reduction,
        ),
    )
    assert_close(scaled, beta * unit, tolerances.forward(dtype), f"smooth_l1_loss(beta={beta}) vs {beta} × beta=1")
