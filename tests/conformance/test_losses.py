"""The loss invariants: correct frameworks pass, deliberately broken ones are caught by name."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

LOSS_TERMS = "cost-function,mean-squared-error,cross-entropy,multinomial-distribution"


@pytest.mark.parametrize("backend", ["reference", "numpy", "torch"])
def test_correct_backends_pass_every_loss_invariant(conform, backend: str) -> None:
    """A correct framework exits 0 with rows for both loss terms and no failure."""
    run = conform(backend, "--terms", LOSS_TERMS, "--max-examples", "15")
    assert run.code == 0, run.out
    assert {r["term"] for r in run.rows()} == {"mean-squared-error", "cross-entropy"}
    assert not run.rows("fail") and not run.rows("error")
    passed = {r["invariant"] for r in run.rows("pass")}
    assert {"cross_entropy.finite_for_large_logits", "binary_cross_entropy.special_values"} <= passed


def test_numpy_reports_loss_gradients_as_unsupported(conform) -> None:
    """NumPy has no autodiff: gradient invariants of the losses are unsupported, the forward ones pass."""
    run = conform("numpy", "--terms", "cross-entropy", "--max-examples", "5")
    unsupported = {r["invariant"] for r in run.rows("unsupported")}
    assert {"cross_entropy.grad_is_softmax_minus_onehot", "binary_cross_entropy.vjp_matches_reference"} <= unsupported
    assert run.code == 0


# --- deliberately broken adapters -------------------------------------------------------------


def _cross_entropy_without_max_shift(logits: torch.Tensor, target: torch.Tensor, reduction: str = "mean"):
    per = torch.log(torch.exp(logits).sum(dim=1)) - logits.gather(1, target[:, None])[:, 0]
    return {"none": per, "sum": per.sum(), "mean": per.mean()}[reduction]


def _cross_entropy_reading_probabilities(logits: torch.Tensor, target: torch.Tensor, reduction: str = "mean"):
    # Treats the logits as if they were already probabilities (the softmax is forgotten).
    return F.nll_loss(torch.log(logits), target, reduction=reduction)


def _mse_sum_for_mean(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean"):
    return F.mse_loss(input, target, reduction="sum" if reduction == "mean" else reduction)


def _bce_without_clamp(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean"):
    per = -(target * torch.log(input) + (1 - target) * torch.log1p(-input))
    return {"none": per, "sum": per.sum(), "mean": per.mean()}[reduction]


def _bce_negated(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean"):
    return -F.binary_cross_entropy(input, target, reduction=reduction)


class _CrossEntropyGradNotDividedByN(torch.autograd.Function):
    @staticmethod
    def forward(ctx, logits, target):
        ctx.save_for_backward(logits, target)
        return F.cross_entropy(logits, target)

    @staticmethod
    def backward(ctx, g):
        logits, target = ctx.saved_tensors
        onehot = F.one_hot(target, logits.shape[1]).to(logits.dtype)
        return g * (torch.softmax(logits, dim=1) - onehot), None  # forgets the 1/N of the mean


def _cross_entropy_grad_not_divided(logits: torch.Tensor, target: torch.Tensor, reduction: str = "mean"):
    if reduction != "mean":
        return F.cross_entropy(logits, target, reduction=reduction)
    return _CrossEntropyGradNotDividedByN.apply(logits, target)


def _cross_entropy_per_batch(logits: torch.Tensor, target: torch.Tensor, reduction: str = "mean"):
    # "none" normalised by the batch's log-sum-exp of the first row: examples are not independent.
    per = F.cross_entropy(logits, target, reduction="none")
    per = per + (per[0] - per).detach() * 0.5 if len(per) > 1 else per
    return {"none": per, "sum": per.sum(), "mean": per.mean()}[reduction]


@pytest.mark.parametrize(
    ("op", "impl", "terms", "expected"),
    [
        ("cross_entropy", _cross_entropy_without_max_shift, "cross-entropy", "cross_entropy.finite_for_large_logits"),
        (
            "cross_entropy",
            _cross_entropy_reading_probabilities,
            "cross-entropy",
            "cross_entropy.equals_negative_log_softmax_at_target",
        ),
        ("cross_entropy", _cross_entropy_reading_probabilities, "cross-entropy", "cross_entropy.matches_reference"),
        (
            "cross_entropy",
            _cross_entropy_grad_not_divided,
            "cross-entropy",
            "cross_entropy.grad_is_softmax_minus_onehot",
        ),
        ("cross_entropy", _cross_entropy_per_batch, "cross-entropy", "cross_entropy.none_gives_per_example_values"),
        ("mse_loss", _mse_sum_for_mean, "mean-squared-error", "mse_loss.sum_is_n_times_mean"),
        ("mse_loss", _mse_sum_for_mean, "mean-squared-error", "mse_loss.matches_reference"),
        ("binary_cross_entropy", _bce_negated, "cross-entropy", "binary_cross_entropy.nonnegative"),
    ],
)
def test_broken_adapter_fails_naming_the_invariant(conform, broken_backend, op, impl, terms, expected) -> None:
    """A framework with one deliberately wrong loss exits 1, and the report names the broken invariant."""
    spec = broken_backend("torch", **{op: impl})
    run = conform(spec, "--terms", terms, "--dtype", "float64", "--max-examples", "25")
    assert run.code == 1, run.out
    assert expected in run.failed_invariants(), sorted(run.failed_invariants())
    row = next(r for r in run.rows() if r["invariant"] == expected)
    assert row["counterexample"] is not None
    assert expected in run.out


def _bce_unclamped(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean"):
    # The definition without PyTorch's clamp: 0·log 0 = 0 (xlogy, xlog1py), +inf when confidently wrong.
    if not bool(((input >= 0) & (input <= 1)).all()):
        raise ValueError("binary_cross_entropy: input must hold probabilities in [0, 1]")
    per = -(torch.xlogy(target, input) + torch.special.xlog1py(1 - target, -input))
    return {"none": per, "sum": per.sum(), "mean": per.mean()}[reduction]


def test_bce_without_the_clamp_is_a_fact_not_a_failure(conform, broken_backend) -> None:
    """+inf for a confidently wrong prediction (no −100 clamp) passes every check and is reported as a fact."""
    spec = broken_backend("torch", binary_cross_entropy=_bce_unclamped)
    run = conform(spec, "--terms", "cross-entropy", "--max-examples", "25")
    assert run.code == 0, run.out
    facts = {r["id"]: r for r in run.report["special_values"]}
    clamped = facts["binary_cross_entropy.clamped_when_confidently_wrong"]
    assert clamped["kind"] == "choice" and clamped["matches_canonical"] is False and clamped["value"] == ["inf", "inf"]


def _bce_finite_for_nan(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean"):
    return F.binary_cross_entropy(torch.nan_to_num(input, nan=0.5, posinf=1.0), target, reduction=reduction)


def test_bce_giving_a_number_for_a_nan_probability_fails(conform, broken_backend) -> None:
    """A NaN probability must be refused or give NaN: a finite loss fails binary_cross_entropy.special_values."""
    spec = broken_backend("torch", binary_cross_entropy=_bce_finite_for_nan)
    run = conform(spec, "--terms", "cross-entropy", "--dtype", "float64", "--max-examples", "5")
    assert run.code == 1, run.out
    row = next(r for r in run.rows("fail") if r["invariant"] == "binary_cross_entropy.special_values")
    assert row["details"]["probe"] == "binary_cross_entropy.refuses_nan"
    assert row["details"]["expected"] == "an error or NaN" and row["details"]["got"] == 0.6931471805599453


def test_bce_with_nan_for_a_certain_right_prediction_fails(conform, broken_backend) -> None:
    """0·log 0 computed as NaN (tinygrad's BCE) fails binary_cross_entropy.special_values at p = y ∈ {0, 1}."""
    spec = broken_backend("torch", binary_cross_entropy=_bce_without_clamp)
    run = conform(spec, "--terms", "cross-entropy", "--dtype", "float64", "--max-examples", "5")
    assert run.code == 1, run.out
    row = next(r for r in run.rows("fail") if r["invariant"] == "binary_cross_entropy.special_values")
    assert row["details"]["probe"] == "binary_cross_entropy.zero_when_certain_and_right"
    assert row["details"]["got"] == ["nan", "nan"] and row["details"]["expected"] == [0.0, 0.0]
