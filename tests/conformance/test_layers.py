"""Neurons, weights, biases and depth: correct frameworks pass, deliberately broken dense layers are caught by name."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

WHAT_IS_DL = "deep-learning,artificial-neural-network,neuron,weight,bias"
WHY_DEEP = "dense-layer,deep-neural-network,multilayer-perceptron,feedforward-neural-network"
INVARIANTS = {
    "linear.matches_reference",
    "linear.affine_in_x",
    "linear.linear_in_weight",
    "linear.bias_shifts_output",
    "neuron.is_activation_of_affine_map",
    "mlp.composition_of_layers",
    "mlp.linear_layers_collapse_without_activation",
}
GRADIENTS = {"linear.vjp_matches_reference", "linear.grad_matches_finite_difference"}


@pytest.mark.parametrize("backend", ["reference", "numpy", "torch"])
def test_correct_backends_pass_every_layer_invariant(conform, backend: str) -> None:
    """A correct framework exits 0 and passes every forward invariant of both sections."""
    run = conform(backend, "--terms", f"{WHAT_IS_DL},{WHY_DEEP}", "--max-examples", "15")
    assert run.code == 0, run.out
    assert not run.rows("fail") and not run.rows("error")
    passed = {r["invariant"] for r in run.rows("pass")}
    assert passed >= INVARIANTS
    assert (passed >= GRADIENTS) == (backend != "numpy")  # numpy has no autodiff


def test_every_dtype_torch_offers_passes(conform) -> None:
    """float16 and bfloat16 too: grid values keep the exact identities exact (bfloat16 is claimed only by linear)."""
    run = conform(
        "torch", "--terms", "dense-layer,weight,bias,neuron", "--dtype", "float16,bfloat16", "--max-examples", "10"
    )
    assert run.code == 0, run.out
    assert {(r["invariant"], r["dtype"]) for r in run.rows("pass")} >= {
        ("linear.matches_reference", "bfloat16"),
        ("linear.bias_shifts_output", "float16"),
        ("neuron.is_activation_of_affine_map", "float16"),
    }


def _linear_forgets_bias(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    return F.linear(x, weight)


def _linear_transposes_square_weight(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None
) -> torch.Tensor:
    # The classic layout slip x·W + b (Keras' (in, out) kernel), which only runs when W is square.
    w = weight.T if weight.shape[0] == weight.shape[1] else weight
    return F.linear(x, w, bias)


def _numpy_linear_adds_bias_twice(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    y = x @ weight.T
    return y if bias is None else y + 2 * bias


@pytest.mark.parametrize(
    ("base", "impl", "terms", "expected"),
    [
        (
            "torch",
            _linear_forgets_bias,
            WHAT_IS_DL,
            {"linear.bias_shifts_output", "neuron.is_activation_of_affine_map"},
        ),
        ("numpy", _numpy_linear_adds_bias_twice, WHAT_IS_DL, {"linear.bias_shifts_output"}),
        (
            "torch",
            _linear_transposes_square_weight,
            "dense-layer,multilayer-perceptron",
            {"linear.matches_reference", "mlp.composition_of_layers"},
        ),
    ],
)
def test_broken_linear_exits_1_naming_the_invariant(
    conform, broken_backend, base: str, impl, terms: str, expected: set[str]
) -> None:
    """A dense layer that drops the bias, doubles it, or transposes the weight fails the invariants that state it."""
    run = conform(broken_backend(base, linear=impl), "--terms", terms, "--dtype", "float64", "--max-examples", "25")
    assert run.code == 1
    assert expected <= run.failed_invariants()
    for name in expected:
        row = next(r for r in run.rows() if r["invariant"] == name and r["status"] == "fail")
        assert row["counterexample"] is not None
        assert name in run.out


def test_backend_without_linear_reports_unsupported(conform, broken_backend) -> None:
    """An adapter without linear reports every invariant that needs it as unsupported and exits 0."""
    run = conform(broken_backend("torch", linear=None), "--terms", f"{WHAT_IS_DL},{WHY_DEEP}", "--max-examples", "5")
    assert run.code == 0
    assert run.rows() and all(r["status"] == "unsupported" for r in run.rows())
