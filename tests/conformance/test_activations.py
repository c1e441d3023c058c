"""The activation invariants: correct frameworks pass, deliberately broken ones are caught by name."""

from __future__ import annotations

import pytest
import torch

ACTIVATION_TERMS = "sigmoid,tanh,silu,relu,leaky-relu,softmax,dying-relu,vanishing-gradient"


@pytest.mark.parametrize("backend", ["reference", "numpy", "torch"])
def test_correct_backends_pass_every_activation_invariant(conform, backend: str) -> None:
    """A correct framework exits 0 and every activation term is in the report."""
    run = conform(backend, "--terms", ACTIVATION_TERMS, "--max-examples", "15")
    assert run.code == 0, run.out
    terms = {r["term"] for r in run.rows()}
    assert terms == set(ACTIVATION_TERMS.split(","))
    assert not run.rows("fail") and not run.rows("error")
    assert run.report["backend"]["name"] == backend


def test_numpy_has_no_autodiff_so_gradient_rows_are_unsupported(conform) -> None:
    """A forward-only backend reports gradient invariants as unsupported, not failed."""
    run = conform("numpy", "--terms", "sigmoid", "--max-examples", "5")
    unsupported = {r["invariant"] for r in run.rows("unsupported")}
    assert "sigmoid.grad_matches_finite_difference" in unsupported
    assert "sigmoid.vjp_matches_reference" in unsupported
    assert run.code == 0


def _softmax_without_max_shift(x: torch.Tensor, axis: int = -1) -> torch.Tensor:
    e = torch.exp(x)
    return e / e.sum(dim=axis, keepdim=True)


def _softmax_wrong_axis(x: torch.Tensor, axis: int = -1) -> torch.Tensor:
    return torch.softmax(x, dim=0)


def _leaky_relu_fixed_slope(x: torch.Tensor, negative_slope: float = 0.01) -> torch.Tensor:
    return torch.nn.functional.leaky_relu(x, 0.01)


class _SigmoidWrongGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.sigmoid(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        s = torch.sigmoid(x)
        return g * s  # forgets the factor (1 - s)


def _tanh_not_odd(x: torch.Tensor) -> torch.Tensor:
    return torch.tanh(x) + 1e-3 * (x > 0)


def _relu_leaks(x: torch.Tensor) -> torch.Tensor:
    return torch.where(x > 0, x, 1e-3 * x)


def _silu_swish_half(x: torch.Tensor) -> torch.Tensor:
    return x * torch.sigmoid(x / 2)  # swish with β = 1/2: its dip is twice as deep


def _silu_relu_gated(x: torch.Tensor) -> torch.Tensor:
    return torch.relu(x) * torch.sigmoid(x)  # no dip below 0: silu(x) − silu(−x) is x·σ(x), not x


def _log_softmax_naive(x: torch.Tensor, axis: int = -1) -> torch.Tensor:
    return torch.log(torch.softmax(x, dim=axis))


@pytest.mark.parametrize(
    ("op", "impl", "terms", "expected"),
    [
        ("softmax", _softmax_without_max_shift, "softmax", "softmax.finite_for_large_logits"),
        ("softmax", _softmax_wrong_axis, "softmax", "softmax.sums_to_one"),
        ("leaky_relu", _leaky_relu_fixed_slope, "leaky-relu", "leaky_relu.honours_negative_slope"),
        ("sigmoid", _SigmoidWrongGrad.apply, "sigmoid", "sigmoid.grad_matches_finite_difference"),
        ("sigmoid", _SigmoidWrongGrad.apply, "sigmoid", "sigmoid.derivative_identity"),
        ("tanh", _tanh_not_odd, "tanh", "tanh.odd"),
        ("relu", _relu_leaks, "relu", "relu.equals_max_zero"),
        ("silu", _silu_swish_half, "silu", "silu.within_its_minimum_of_relu"),
        ("silu", _silu_relu_gated, "silu", "silu.mirror_difference_is_x"),
        ("log_softmax", _log_softmax_naive, "softmax", "log_softmax.finite_where_softmax_underflows"),
    ],
)
def test_broken_adapter_exits_1_naming_the_invariant(
    conform, broken_backend, op: str, impl, terms: str, expected: str
) -> None:
    """A deliberately broken op makes `dlterms conform` exit 1, naming the violated invariant."""
    spec = broken_backend("torch", **{op: impl})
    run = conform(spec, "--terms", terms, "--max-examples", "25")
    assert run.code == 1
    assert expected in run.failed_invariants()
    row = next(r for r in run.rows("fail") if r["invariant"] == expected)
    assert row["counterexample"] is not None
    assert expected in run.out


def test_missing_op_is_unsupported_not_a_crash(conform, broken_backend) -> None:
    """An adapter without tanh reports tanh's invariants unsupported and still exits 0."""
    spec = broken_backend("torch", tanh=None)
    run = conform(spec, "--terms", "tanh", "--max-examples", "5")
    assert run.code == 0
    assert run.rows() and all(r["status"] == "unsupported" for r in run.rows())
    assert "tanh" not in run.report["backend"]["supported_ops"]
