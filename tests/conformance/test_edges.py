"""The edges of each dtype's range: declared once, reached by the op records' cases, and what they catch."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch
from dlterms.conformance.edges import EDGES, LIMITS, check_names, edge_values
from dlterms.conformance.registry import OPS, strategy
from dlterms.conformance.runner import select
from dlterms.conformance.strategies import float_arrays, representable
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from dlterms import ops


def test_edge_bands_are_the_formulas_thresholds() -> None:
    """float32's exp overflows at 88.72 and e^{2x} at 44.36; e^{−x} turns subnormal at 87.34 and zero at 103.28."""
    m = LIMITS["float32"]
    lo, hi = EDGES["exp_overflow"].band(m)
    assert lo < 88.7228 < hi and math.exp(hi) > m.largest > math.exp(lo)
    lo, hi = EDGES["half_exp_overflow"].band(m)
    assert lo < 44.3614 < hi
    lo, hi = EDGES["exp_underflow"].band(m)
    assert lo < 87.3365 and hi > 103.2789
    assert LIMITS["float16"].largest == 65504.0 and EDGES["exp_overflow"].band(LIMITS["float16"])[0] < 11.09


def test_every_record_names_declared_edges() -> None:
    """Each op record's cases name only edges that edges.EDGES declares (and the whole set is used)."""
    used = set()
    for record in ops.OPS.values():
        for cases in (record.cases, record.grad_cases, record.sizes):
            names = tuple((cases.kwargs if cases else {}).get("edges", ()))
            check_names(names)
            used.update(names)
    assert used == set(EDGES)


def test_unknown_edge_is_refused_with_the_known_names() -> None:
    """A misspelt edge names itself and the declared ones."""
    with pytest.raises(ValueError, match=r"unknown \['exp_overflw'\]; expected names from \[.*'exp_overflow'"):
        float_arrays("float32", edges=("exp_overflw",))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_edge_values_stay_finite_once_rounded_to_the_dtype(dtype: str, data: Any) -> None:
    """Every edge value is within ±max of the dtype, so rounding it (as float_arrays does) never overflows."""
    v = data.draw(edge_values(dtype, sorted(set(EDGES) - {"large_offsets"})))
    assert math.isfinite(v) and abs(v) <= LIMITS[dtype].largest
    assert math.isfinite(float(representable(np.array(v), dtype)))


def drawn(cases: st.SearchStrategy[Any], condition: Any, n: int = 150) -> bool:
    """Whether any of ``n`` cases Hypothesis generates (deterministically, without shrinking) meets ``condition``."""
    seen: list[bool] = []

    @settings(max_examples=n, database=None, derandomize=True, phases=[Phase.generate], deadline=None)
    @given(cases)
    def look(case: Any) -> None:
        seen.append(bool(condition(case)))

    look()
    return any(seen)


@pytest.fixture(autouse=True)
def _registered() -> None:
    assert select(["sigmoid"])  # importing the run loop registers every op's invariants


def test_sigmoid_cases_reach_past_the_overflow_and_the_largest_number() -> None:
    """Hypothesis finds sigmoid cases beyond log(max) on both sides, and ±max itself, in float32."""
    cases = OPS["sigmoid"].cases("float32")

    def values(case: dict[str, Any]) -> np.ndarray:
        return np.atleast_1d(np.asarray(case["x"]))

    assert drawn(cases, lambda c: (values(c) > 88.73).any() and (values(c) < -88.73).any())
    assert drawn(cases, lambda c: (np.abs(values(c)) == LIMITS["float32"].largest).any())
    assert drawn(cases, lambda c: any(math.copysign(1.0, v) < 0 and v == 0 for v in values(c).ravel().tolist()))


def test_logits_reach_large_offsets_with_small_spreads() -> None:
    """Softmax cases include rows near 10⁷ whose spread is a few units."""
    cases = OPS["log_softmax"].cases("float32")

    def offset_row(case: dict[str, Any]) -> bool:
        x = np.atleast_1d(np.asarray(case["x"]))
        return x.size >= 2 and np.abs(x).min() > 1e6 and np.ptp(x) <= 16 and np.ptp(x) >= 1

    assert drawn(cases, offset_row)


def test_finite_difference_cases_keep_moderate_inputs() -> None:
    """The finite-difference check draws sigmoid's gradient cases without their edges."""
    declared = ops.OPS["sigmoid"].grad_cases
    assert declared is not None and "exp_overflow" in declared.kwargs["edges"]
    fd = OPS["sigmoid"].finite_difference_cases("float64")
    assert not drawn(fd, lambda c: (np.abs(np.atleast_1d(c["x"])) > 20).any(), n=300)
    assert drawn(strategy(declared)("float64"), lambda c: (np.abs(np.atleast_1d(c["x"])) > 100).any())


def _sigmoid_overflowing(x: torch.Tensor) -> torch.Tensor:
    # 1/(1 + e^{−x}) evaluated as e^x/(1 + e^x): inf/inf = NaN once e^x overflows (x > 88.72 in float32).
    e = torch.exp(x)
    return e / (1 + e)


class _SigmoidGradByQuotient(torch.autograd.Function):
    # σ'(x) = e^{−x}/(1 + e^{−x})²: ∞/∞ = NaN below −88.72 in float32.
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return torch.sigmoid(x)

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        e = torch.exp(-x)
        return g * e / (1 + e) ** 2


def _log_softmax_epilogue(x: torch.Tensor, axis: int = -1) -> torch.Tensor:
    # x − (max + log Σ e^{x − max}): the log term is rounded away once max is 2²⁴ or more.
    m = x.amax(dim=axis, keepdim=True)
    return x - (m + torch.log(torch.exp(x - m).sum(dim=axis, keepdim=True)))


def _mse_expanded(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    # (a − b)² as a² − 2ab + b²: catastrophic cancellation when a and b are large and close.
    d = input * input - 2 * input * target + target * target
    return d if reduction == "none" else (d.mean() if reduction == "mean" else d.sum())


@pytest.mark.parametrize(
    ("op", "impl", "term", "expected"),
    [
        ("sigmoid", _sigmoid_overflowing, "sigmoid", "sigmoid.matches_reference"),
        ("sigmoid", _SigmoidGradByQuotient.apply, "sigmoid", "sigmoid.vjp_matches_reference"),
        ("log_softmax", _log_softmax_epilogue, "softmax", "log_softmax.matches_reference"),
        ("mse_loss", _mse_expanded, "mean-squared-error", "mse_loss.matches_reference"),
    ],
)
def test_formulas_that_break_at_an_edge_are_caught(conform, broken_backend, op, impl, term, expected) -> None:
    """Formulas right on tame inputs and wrong at an edge of float32 fail the record's generated checks."""
    run = conform(broken_backend("torch", **{op: impl}), "--terms", term, "--dtype", "float32")
    assert run.code == 1, run.out
    assert expected in run.failed_invariants()
