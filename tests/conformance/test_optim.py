"""The gradient-descent invariants on real and broken backends, and torch.optim.SGD against the reference."""

from __future__ import annotations

import random

import pytest
import torch

from dlterms import reference as ref

GD_TERMS = "gradient-descent,learning-rate,local-minimum,batch-gradient-descent,stochastic-gradient-descent,"
GD_TERMS += "mini-batch-gradient-descent,epoch"


@pytest.mark.parametrize("backend", ["reference", "numpy", "torch"])
def test_correct_backends_pass_every_gradient_descent_invariant(conform, backend: str) -> None:
    """A correct framework exits 0 and its sgd_step passes the trajectory and learning-rate invariants."""
    run = conform(backend, "--terms", GD_TERMS, "--max-examples", "15")
    assert run.code == 0, run.out
    assert {r["term"] for r in run.rows()} == {"gradient-descent", "learning-rate"}
    assert not run.rows("fail") and not run.rows("error")
    passed = {r["invariant"] for r in run.rows("pass")}
    assert {
        "sgd_step.matches_reference",
        "sgd_step.trajectory_matches_reference",
        "sgd_step.converges_when_lr_below_two_over_curvature",
        "sgd_step.diverges_when_lr_above_two_over_curvature",
    } <= passed


def _sgd_step_ascends(param: torch.Tensor, grad: torch.Tensor, lr: float) -> torch.Tensor:
    return param + lr * grad  # climbs the cost instead of descending it


def _sgd_step_halves_lr(param: torch.Tensor, grad: torch.Tensor, lr: float) -> torch.Tensor:
    return param - 0.5 * lr * grad


class _Momentum:
    """An adapter that keeps a momentum buffer between calls (stateful: not the plain step)."""

    def __init__(self) -> None:
        self.velocity: torch.Tensor | None = None

    def __call__(self, param: torch.Tensor, grad: torch.Tensor, lr: float) -> torch.Tensor:
        if self.velocity is None or self.velocity.shape != grad.shape or self.velocity.dtype != grad.dtype:
            self.velocity = torch.zeros_like(grad)
        self.velocity = 0.9 * self.velocity.detach() + grad
        return param - lr * self.velocity


@pytest.mark.parametrize(
    ("impl", "expected"),
    [
        (_sgd_step_ascends, "sgd_step.matches_reference"),
        (_sgd_step_ascends, "sgd_step.converges_when_lr_below_two_over_curvature"),
        (_sgd_step_ascends, "sgd_step.vjp_matches_reference"),  # its own gradient is self-consistent
        (_sgd_step_halves_lr, "sgd_step.trajectory_matches_reference"),
        pytest.param(_Momentum(), "sgd_step.trajectory_matches_reference", id="momentum"),
    ],
)
def test_broken_sgd_step_fails_naming_the_invariant(conform, broken_backend, impl, expected: str) -> None:
    """A framework whose step ascends, halves the rate or keeps momentum exits 1 naming the invariant."""
    spec = broken_backend("torch", sgd_step=impl)
    run = conform(spec, "--terms", "gradient-descent,learning-rate", "--dtype", "float64", "--max-examples", "20")
    assert run.code == 1, run.out
    assert expected in run.failed_invariants(), sorted(run.failed_invariants())
    assert next(r for r in run.rows() if r["invariant"] == expected)["counterexample"] is not None


def test_a_too_large_learning_rate_is_caught_by_the_divergence_invariant(conform, broken_backend) -> None:
    """A step that silently clips the update to |Δ| ≤ 1 cannot diverge, so the lr > 2/L invariant fails."""

    def clipped(param: torch.Tensor, grad: torch.Tensor, lr: float) -> torch.Tensor:
        return param - torch.clamp(lr * grad, -1.0, 1.0)

    run = conform(broken_backend("torch", sgd_step=clipped), "--terms", "learning-rate", "--dtype", "float64")
    assert run.code == 1
    assert "sgd_step.diverges_when_lr_above_two_over_curvature" in run.failed_invariants()


# --- torch.optim.SGD itself follows the reference trajectory ------------------------------------

DATA = [(-2.0, -3.1), (-1.0, -0.9), (0.0, 1.2), (0.5, 1.9), (1.0, 3.05), (2.0, 4.8), (3.0, 7.2)]


def _line_grad(w: list[float], batch: list[tuple[float, float]]) -> list[float]:
    """Gradient of the mean over the batch of ½(w0·x + w1 − y)², by hand."""
    r = [w[0] * x + w[1] - y for x, y in batch]
    return [sum(ri * x for ri, (x, _) in zip(r, batch, strict=True)) / len(batch), sum(r) / len(batch)]


@pytest.mark.parametrize(
    "implementation", [{}, {"foreach": True}, {"fused": True}], ids=["for-loop", "foreach", "fused"]
)
@pytest.mark.parametrize(("batch_size", "shuffle"), [(7, False), (1, False), (3, False), (3, True), (2, True)])
def test_torch_optim_sgd_follows_the_reference_trajectory(batch_size: int, shuffle: bool, implementation: dict) -> None:
    """torch.optim.SGD (each of its three kernels) takes the reference's steps, batch for batch."""
    lr, epochs, seed = 0.05, 3, 11
    expected = ref.minibatch_gradient_descent(_line_grad, [0.5, -0.5], DATA, lr, epochs, batch_size, shuffle, seed)

    w = torch.tensor([0.5, -0.5], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([w], lr=lr, **implementation)
    x_all = torch.tensor([x for x, _ in DATA], dtype=torch.float64)
    y_all = torch.tensor([y for _, y in DATA], dtype=torch.float64)
    rng = random.Random(seed)  # the reference's documented shuffle: one random.Random(seed), reshuffled per epoch
    got = [w.detach().clone()]
    for _ in range(epochs):
        order = list(range(len(DATA)))
        if shuffle:
            rng.shuffle(order)
        for start in range(0, len(order), batch_size):
            idx = torch.tensor(order[start : start + batch_size])
            opt.zero_grad()
            loss = (0.5 * (w[0] * x_all[idx] + w[1] - y_all[idx]) ** 2).mean()
            loss.backward()
            opt.step()
            got.append(w.detach().clone())

    assert len(got) == len(expected) == 1 + epochs * -(-len(DATA) // batch_size)
    torch.testing.assert_close(torch.stack(got), torch.tensor(expected, dtype=torch.float64), rtol=1e-12, atol=1e-12)
