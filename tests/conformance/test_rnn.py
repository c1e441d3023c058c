"""The RNN invariants: correct frameworks pass, deliberately broken RNNs are caught by name."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

Tensor = torch.Tensor
Pair = tuple[torch.Tensor, torch.Tensor]

RNN_TERMS = (
    "recurrent-neural-network,hidden-state,rnn-one-to-one,rnn-one-to-many,rnn-many-to-one,"
    "rnn-many-to-many,sequence-applications"
)
# sequence-applications is a concept: it lists invariants of the other terms and has none of its own.
TERMS_WITH_INVARIANTS = set(RNN_TERMS.split(",")) - {"sequence-applications"}


@pytest.mark.parametrize("backend", ["reference", "numpy", "torch"])
def test_correct_backends_pass_every_rnn_invariant(conform, backend: str) -> None:
    """A correct framework exits 0, and every RNN term is in the report."""
    run = conform(backend, "--terms", RNN_TERMS, "--max-examples", "15")
    assert run.code == 0, run.out
    assert {r["term"] for r in run.rows()} == TERMS_WITH_INVARIANTS
    assert not run.rows("fail") and not run.rows("error")
    assert "rnn" in run.report["backend"]["supported_ops"]


def test_torch_runs_the_gradient_checks_through_time(conform) -> None:
    """torch differentiates its RNN w.r.t. all six tensors: the tuple-output gradient rows pass, not unsupported."""
    run = conform("torch", "--terms", "recurrent-neural-network", "--max-examples", "10")
    passed = {(r["invariant"], r["dtype"]) for r in run.rows("pass")}
    assert ("rnn.grad_matches_finite_difference", "float64") in passed
    assert ("rnn.vjp_matches_reference", "float32") in passed
    assert ("rnn.vjp_matches_reference", "float64") in passed


def test_half_precision_rnn_is_compared_under_the_recurrence_bound(conform) -> None:
    """In float16 the comparisons with the reference run too (under the recurrence's bound), and torch passes them."""
    run = conform(
        "torch", "--terms", "hidden-state,recurrent-neural-network", "--dtype", "float16", "--max-examples", "10"
    )
    assert run.code == 0, run.out
    ran = {r["invariant"] for r in run.rows()}
    assert {"rnn.hidden_state_range", "rnn.remembers_earlier_inputs", "rnn.causal", "rnn.matches_reference"} <= ran
    assert {"rnn.single_step_is_dense_tanh", "rnn.vjp_matches_reference"} <= ran


# --- deliberately broken RNNs (torch ops, so that autograd still works) ------------------------------


def _loop(
    x: torch.Tensor,
    h0: torch.Tensor,
    w_ih: torch.Tensor,
    w_hh: torch.Tensor,
    b_ih: torch.Tensor,
    b_hh: torch.Tensor,
    *,
    step: Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The Elman recurrence written out; ``step(h_prev, x_t W_ihᵀ + b_ih, t)`` may replace the update."""
    h, outputs = h0, []
    for t in range(x.shape[1]):
        u = x[:, t] @ w_ih.T + b_ih
        h = step(h, u, t) if step else torch.tanh(u + h @ w_hh.T + b_hh)
        outputs.append(h)
    return torch.stack(outputs, dim=1), h


def _rnn_without_b_hh(x: Tensor, h0: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor, b_hh: Tensor) -> Pair:
    return _loop(x, h0, w_ih, w_hh, b_ih, torch.zeros_like(b_hh))


def _rnn_reversed_in_time(x: Tensor, h0: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor, b_hh: Tensor) -> Pair:
    outputs, h_n = _loop(x.flip(1), h0, w_ih, w_hh, b_ih, b_hh)
    return outputs.flip(1), h_n


def _rnn_truncated_backprop(x: Tensor, h0: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor, b_hh: Tensor) -> Pair:
    # Forward is right; the gradient stops at every step boundary (h_{t-1} detached).
    return _loop(x, h0, w_ih, w_hh, b_ih, b_hh, step=lambda h, u, t: torch.tanh(u + h.detach() @ w_hh.T + b_hh))


def _rnn_forgets(x: Tensor, h0: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor, b_hh: Tensor) -> Pair:
    # Every step restarts from h0: no memory of earlier inputs.
    return _loop(x, h0, w_ih, w_hh, b_ih, b_hh, step=lambda h, u, t: torch.tanh(u + h0 @ w_hh.T + b_hh))


def _rnn_hard_tanh(x: Tensor, h0: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor, b_hh: Tensor) -> Pair:
    # A cheap clamp instead of tanh: stays in [-1, 1] but hits ±1 for moderate pre-activations.
    return _loop(x, h0, w_ih, w_hh, b_ih, b_hh, step=lambda h, u, t: torch.clamp(u + h @ w_hh.T + b_hh, -1, 1))


def _rnn_returns_first_state(x: Tensor, h0: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor, b_hh: Tensor) -> Pair:
    outputs, _ = _loop(x, h0, w_ih, w_hh, b_ih, b_hh)
    return outputs, outputs[:, 0]


@pytest.mark.parametrize(
    ("impl", "terms", "expected"),
    [
        (_rnn_without_b_hh, "recurrent-neural-network", "rnn.matches_reference"),
        (_rnn_reversed_in_time, "recurrent-neural-network", "rnn.causal"),
        (_rnn_truncated_backprop, "recurrent-neural-network", "rnn.vjp_matches_reference"),
        (_rnn_truncated_backprop, "recurrent-neural-network", "rnn.grad_matches_finite_difference"),
        (_rnn_forgets, "hidden-state", "rnn.remembers_earlier_inputs"),
        (_rnn_hard_tanh, "hidden-state", "rnn.hidden_state_range"),
        (_rnn_returns_first_state, "hidden-state", "rnn.last_output_is_final_state"),
    ],
)
def test_broken_rnn_exits_1_naming_the_invariant(conform, broken_backend, impl, terms: str, expected: str) -> None:
    """A deliberately broken rnn makes `dlterms conform` exit 1, naming the violated invariant."""
    # float64 only: one dtype names the invariant, and each failure costs a shrink.
    run = conform(broken_backend("torch", rnn=impl), "--terms", terms, "--dtype", "float64", "--max-examples", "25")
    assert run.code == 1
    assert expected in run.failed_invariants()
    row = next(r for r in run.rows("fail") if r["invariant"] == expected)
    assert row["counterexample"] is not None
    assert expected in run.out


def test_truncated_backprop_keeps_a_correct_forward_pass(conform, broken_backend) -> None:
    """Only the gradient rows catch a truncated BPTT: its forward pass still matches the reference."""
    spec = broken_backend("torch", rnn=_rnn_truncated_backprop)
    run = conform(spec, "--terms", "recurrent-neural-network", "--dtype", "float64")
    assert {r["invariant"] for r in run.rows("pass")} >= {"rnn.matches_reference", "rnn.causal"}


def _linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    return torch.nn.functional.linear(x, weight, bias)


def test_modes_are_built_from_the_backends_rnn_and_linear(conform, broken_backend) -> None:
    """With linear present the four mode invariants and the dense-layer identity run and pass."""
    run = conform(broken_backend("torch", linear=_linear), "--terms", RNN_TERMS, "--max-examples", "10")
    assert run.code == 0, run.out
    passed = {r["invariant"] for r in run.rows("pass")}
    modes = {f"rnn.{m}_output" for m in ("one_to_one", "one_to_many", "many_to_one", "many_to_many")}
    assert modes | {"rnn.single_step_is_dense_tanh"} <= passed


def test_broken_rnn_fails_the_modes_and_dense_identity(conform, broken_backend) -> None:
    """An RNN that drops b_hh fails every mode (checked against the reference) and the T = 1 dense-layer identity."""
    spec = broken_backend("torch", rnn=_rnn_without_b_hh, linear=_linear)
    mode_terms = "rnn-one-to-one,rnn-one-to-many,rnn-many-to-one,rnn-many-to-many,recurrent-neural-network"
    run = conform(spec, "--terms", mode_terms, "--dtype", "float64", "--max-examples", "25")
    assert run.code == 1
    modes = {f"rnn.{m}_output" for m in ("one_to_one", "one_to_many", "many_to_one", "many_to_many")}
    assert modes | {"rnn.single_step_is_dense_tanh"} <= run.failed_invariants()


def test_missing_rnn_is_unsupported_not_a_crash(conform, broken_backend) -> None:
    """An adapter without rnn reports every RNN invariant unsupported and still exits 0."""
    run = conform(broken_backend("torch", rnn=None), "--terms", RNN_TERMS, "--max-examples", "5")
    assert run.code == 0
    assert run.rows() and all(r["status"] == "unsupported" for r in run.rows())
    assert "rnn" not in run.report["backend"]["supported_ops"]
