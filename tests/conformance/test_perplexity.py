"""Perplexity: the adapters pass, broken ones are caught by the invariant they violate."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from dlterms.conformance import known_defects

OP = TERM = "perplexity"


def _base_two(logits, target):  # type: ignore[no-untyped-def]
    return torch.pow(2.0, F.cross_entropy(logits, target))  # 2 to a mean in nats: the bases mixed


def _sign_lost(logits, target):  # type: ignore[no-untyped-def]
    return torch.exp(-F.cross_entropy(logits, target))  # exp of the mean log-likelihood: 1/PPL


def _mean_of_exponentials(logits, target):  # type: ignore[no-untyped-def]
    return torch.exp(F.cross_entropy(logits, target, reduction="none")).mean()  # mean(e^ℓ) ≥ e^mean(ℓ)


def _softmax_forgotten(logits, target):  # type: ignore[no-untyped-def]
    return torch.exp(-logits.gather(1, target[:, None]).mean())  # −mean logit taken for the loss


@pytest.mark.parametrize(
    ("impl", "expected"),
    [
        (_base_two, f"{OP}.uniform_logits_give_the_number_of_classes"),
        (_sign_lost, f"{OP}.at_least_one"),
        (_mean_of_exponentials, f"{OP}.equals_exp_of_mean_cross_entropy"),
        (_softmax_forgotten, f"{OP}.confident_correct_predictions_give_one"),
    ],
)
def test_broken_perplexity_exits_1_naming_the_invariant(conform, broken_backend, impl, expected: str) -> None:
    """A deliberately broken perplexity (base 2 on a loss in nats, the sign lost, the mean of exponentials, the
    softmax forgotten) makes `dlterms conform` exit 1, naming the violated invariant with a counterexample."""
    spec = broken_backend("torch", **{OP: impl})
    run = conform(spec, "--terms", TERM, "--max-examples", "30")
    assert run.code == 1
    assert expected in run.failed_invariants()
    row = next(r for r in run.rows("fail") if r["invariant"] == expected)
    assert row["counterexample"] is not None


@pytest.mark.parametrize("backend", ["reference", "numpy", "torch", "jax", "tensorflow"])
def test_perplexity_passes_on_every_backend(conform, backend: str) -> None:
    """Every perplexity invariant passes on the reference and on exp of each framework's cross-entropy."""
    if backend in ("jax", "tensorflow"):
        pytest.importorskip(backend)
    run = conform(backend, "--terms", TERM, "--max-examples", "15")
    allowed = known_defects.DEFAULT_RUN_DEFECTS.get(backend, frozenset())
    failed = {f"{r['invariant']}[{r['dtype']}]" for r in run.rows() if r["status"] in ("fail", "error")}
    assert failed <= allowed, failed - allowed
    assert f"{OP}.equals_exp_of_mean_cross_entropy" in {r["invariant"] for r in run.rows("pass")}
