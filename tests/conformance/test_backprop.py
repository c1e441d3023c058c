"""Backpropagation: correct frameworks pass; a wrong layer gradient or a wrong-signed autodiff is caught by name."""

from __future__ import annotations

import time

import pytest
import torch
import torch.nn.functional as F
from dlterms.conformance.backends import torch as torch_backend

BACKPROP = "backpropagation,chain-rule,forward-pass,gradient,finite-difference"
INVARIANTS = {"backprop.matches_autograd", "backprop.matches_finite_differences", "backprop.small_step_lowers_loss"}
ALL_TERMS = (
    "deep-learning,artificial-neural-network,neuron,weight,bias,dense-layer,deep-neural-network,"
    "multilayer-perceptron,feedforward-neural-network," + BACKPROP
)


@pytest.mark.parametrize("backend", ["reference", "torch"])
def test_backends_with_autodiff_pass_every_backprop_invariant(conform, backend: str) -> None:
    """Backpropagation through the backend's own VJPs agrees with the reference, finite differences and descent."""
    run = conform(backend, "--terms", BACKPROP, "--max-examples", "15")
    assert run.code == 0, run.out
    assert {r["invariant"] for r in run.rows("pass")} == INVARIANTS
    assert not run.rows("fail") and not run.rows("error")


def test_numpy_has_no_autodiff_so_backprop_is_unsupported(conform) -> None:
    """A forward-only backend reports the backpropagation invariants unsupported, not failed."""
    run = conform("numpy", "--terms", BACKPROP, "--max-examples", "5")
    assert run.code == 0
    assert {r["invariant"] for r in run.rows("unsupported")} == INVARIANTS


class _LinearBiasGradNotSummed(torch.autograd.Function):
    """F.linear whose backward forgets to sum the bias gradient over the batch (it keeps the first row)."""

    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.save_for_backward(x, weight)
        return F.linear(x, weight, bias)

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved_tensors
        rows, inputs = g.reshape(-1, g.shape[-1]), x.reshape(-1, x.shape[-1])
        return g @ weight, rows.T @ inputs, rows[0]


def _linear_with_wrong_bias_grad(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None
) -> torch.Tensor:
    return F.linear(x, weight) if bias is None else _LinearBiasGradNotSummed.apply(x, weight, bias)


def _vjp_wrong_sign(fn, primals, cotangent):
    return tuple(-g for g in torch_backend.vjp(fn, primals, cotangent))


@pytest.mark.parametrize(
    ("ops", "terms", "expected"),
    [
        (
            {"linear": _linear_with_wrong_bias_grad},
            "backpropagation,finite-difference,dense-layer",
            {"backprop.matches_autograd", "backprop.matches_finite_differences", "linear.vjp_matches_reference"},
        ),
        ({"vjp": _vjp_wrong_sign}, "gradient", {"backprop.small_step_lowers_loss"}),
    ],
)
def test_broken_gradient_exits_1_naming_the_invariant(
    conform, broken_backend, ops: dict, terms: str, expected: set[str]
) -> None:
    """A layer gradient that is not summed over the batch, or gradients of the wrong sign, fail by name."""
    run = conform(broken_backend("torch", **ops), "--terms", terms, "--max-examples", "25")
    assert run.code == 1
    assert expected <= run.failed_invariants()
    for name in expected:
        row = next(r for r in run.rows("fail") if r["invariant"] == name)
        assert row["counterexample"] is not None
        assert name in run.out


def test_finite_difference_failure_names_the_worst_parameter(conform, broken_backend) -> None:
    """The finite-difference row says which weight or bias entry disagrees most."""
    run = conform(broken_backend("torch", linear=_linear_with_wrong_bias_grad), "--terms", "finite-difference")
    row = next(r for r in run.rows("fail") if r["invariant"] == "backprop.matches_finite_differences")
    assert row["details"]["parameter"].startswith("biases[")
    assert row["details"]["got"] != pytest.approx(row["details"]["expected"])


def test_conformance_of_all_these_terms_is_fast(conform) -> None:
    """Both sections' 22 checks run on torch in seconds (25 examples each), so CI can run them on every commit."""
    start = time.process_time()
    run = conform("torch", "--terms", ALL_TERMS)
    assert run.code == 0
    assert len(run.rows()) == 22
    assert time.process_time() - start < 30  # CPU time: about 3 s when measured, robust to a busy machine
