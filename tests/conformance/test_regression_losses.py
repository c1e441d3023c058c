"""Huber and smooth L1 losses under the conformance suite: frameworks pass, broken adapters are caught,
and the conventions (default δ, Huber versus smooth L1 scaling) are measured."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from dlterms.conformance import conventions as cv
from dlterms.conformance import runner
from dlterms.conformance.backends import load_backend

TERMS = "huber-loss,smooth-l1-loss"


@pytest.mark.parametrize("backend", ["reference", "numpy", "torch"])
def test_robust_regression_losses_pass(conform, backend: str) -> None:
    """Every check of Huber and smooth L1 passes on the reference, NumPy (forward only) and torch."""
    run = conform(backend, "--terms", TERMS, "--max-examples", "15")
    assert run.code == 0, run.out
    assert not run.rows("fail") and not run.rows("error")
    assert {r["term"] for r in run.rows()} == set(TERMS.split(","))


def _huber_quadratic_everywhere(
    input: torch.Tensor, target: torch.Tensor, delta: float = 1.0, reduction: str = "mean"
) -> torch.Tensor:
    return F.mse_loss(input, target, reduction=reduction) / 2  # ½r² even far out: no linear part


def _huber_as_smooth_l1(
    input: torch.Tensor, target: torch.Tensor, delta: float = 1.0, reduction: str = "mean"
) -> torch.Tensor:
    return F.smooth_l1_loss(input, target, beta=delta, reduction=reduction)  # the other scaling: slope 1, not δ


def _smooth_l1_as_huber(
    input: torch.Tensor, target: torch.Tensor, beta: float = 1.0, reduction: str = "mean"
) -> torch.Tensor:
    if beta == 0:
        return F.l1_loss(input, target, reduction=reduction)
    return F.huber_loss(input, target, delta=beta, reduction=reduction)  # β times too large: slope β, not 1


def _smooth_l1_ignores_beta(
    input: torch.Tensor, target: torch.Tensor, beta: float = 1.0, reduction: str = "mean"
) -> torch.Tensor:
    return F.smooth_l1_loss(input, target, reduction=reduction)  # always β = 1


@pytest.mark.parametrize(
    ("op", "impl", "expected"),
    [
        ("huber_loss", _huber_quadratic_everywhere, "huber_loss.between_its_quadratic_and_linear_bounds"),
        ("huber_loss", _huber_as_smooth_l1, "huber_loss.is_delta_times_smooth_l1"),
        ("smooth_l1_loss", _smooth_l1_as_huber, "smooth_l1_loss.within_half_beta_of_l1"),
        ("smooth_l1_loss", _smooth_l1_ignores_beta, "smooth_l1_loss.scales_with_beta"),
    ],
)
def test_broken_adapter_exits_1_naming_the_invariant(
    conform, broken_backend, op: str, impl: Callable[..., torch.Tensor], expected: str
) -> None:
    """A deliberately broken Huber or smooth L1 makes `dlterms conform` exit 1, naming the violated invariant."""
    run = conform(broken_backend("torch", **{op: impl}), "--terms", TERMS, "--max-examples", "25")
    assert run.code == 1
    assert expected in run.failed_invariants()
    row = next(r for r in run.rows("fail") if r["invariant"] == expected)
    assert row["counterexample"] is not None


def test_torch_smooth_l1_is_huber_over_beta() -> None:
    """PyTorch's own functions: smooth_l1_loss(beta=2) at r = 10 is 9 = huber_loss(delta=2)/2 = 18/2."""
    x, t = torch.tensor([10.0], dtype=torch.float64), torch.tensor([0.0], dtype=torch.float64)
    assert float(F.smooth_l1_loss(x, t, beta=2.0)) == 9.0
    assert float(F.huber_loss(x, t, delta=2.0)) == 18.0


def test_huber_conventions_are_measured() -> None:
    """Default δ = 1 everywhere; smooth L1's scaling (slope 1) in PyTorch, Huber's (slope δ) in Keras and optax."""
    smooth, huber = "smooth L1: |r| − β/2 (slope 1)", "Huber: δ(|r| − δ/2) (slope δ)"
    expected = {"reference": smooth, "torch": smooth, "jax": huber, "tensorflow": huber}
    for fw, scaling in expected.items():
        if fw != "reference":
            pytest.importorskip(fw)
        got = {r["id"]: r for r in cv.measure(fw)}
        assert got["huber_loss.default_delta"]["value"] == 1.0  # δ(3 − δ/2) = 2.5 read back
        assert got["smooth_l1_loss.scaling"]["value"] == scaling, fw


def test_half_precision_rows_of_torch_pass() -> None:
    """torch passes the float16 and bfloat16 rows of Huber and smooth L1 (its sums accumulated in float32)."""
    rows = list(runner.run(load_backend("torch"), terms=TERMS.split(","), dtypes=["float16", "bfloat16"]))
    assert rows and all(r.status == "pass" for r in rows), {r.key: r.message for r in rows if r.status != "pass"}
