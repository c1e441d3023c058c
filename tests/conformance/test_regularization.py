"""Dropout: the adapters pass, deliberately broken ones are caught (each invariant by one), conventions measured."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from dlterms.conformance import conventions as cv


def _seeded(x: torch.Tensor, seed: int, f) -> torch.Tensor:  # type: ignore[no-untyped-def]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return f(x)


def _random_keep_probability(x: torch.Tensor, p: float, seed: int) -> torch.Tensor:
    # p read as the probability of keeping (jax.random.bernoulli's p): drops a fraction 1 − p, scales by 1/p
    return _seeded(x, seed, lambda v: F.dropout(v, 1.0 - p, training=True))


def _random_unscaled(x: torch.Tensor, p: float, seed: int) -> torch.Tensor:
    # the paper's training-time form: kept units not scaled by 1/(1 − p)
    return _seeded(x, seed, lambda v: F.dropout(v, p, training=True) * (1.0 - p))


def _random_drops_the_largest(x: torch.Tensor, p: float, seed: int) -> torch.Tensor:
    # the right fraction, scaled right, but always the largest values: the output's mean is biased low
    k = round(p * x.numel())
    order = torch.argsort(x)
    keep = torch.ones_like(x)
    if k:
        keep[order[-k:]] = 0.0
    return x * keep / (1.0 - p)


def _dropout_masks_in_evaluation(x, mask, p=0.5, training=True):  # type: ignore[no-untyped-def]
    return x * (mask / (1 - p))  # training ignored: evaluation mode drops and scales too


def _dropout_scales_by_keep(x, mask, p=0.5, training=True):  # type: ignore[no-untyped-def]
    return x if not training else x * mask * (1 - p)  # × (1 − p) instead of ÷ (1 − p)


@pytest.mark.parametrize(
    ("op", "impl", "expected"),
    [
        ("random_dropout", _random_keep_probability, "dropout.random_drops_a_fraction_p"),
        ("random_dropout", _random_unscaled, "dropout.random_kept_scaled_dropped_zero"),
        ("random_dropout", _random_unscaled, "dropout.random_keeps_the_mean"),
        ("random_dropout", _random_drops_the_largest, "dropout.random_keeps_the_mean"),
        ("dropout", _dropout_masks_in_evaluation, "dropout.evaluation_is_identity"),
        ("dropout", _dropout_scales_by_keep, "dropout.matches_reference"),
    ],
)
def test_broken_dropout_exits_1_naming_the_invariant(conform, broken_backend, op: str, impl, expected: str) -> None:
    """A deliberately broken dropout makes `dlterms conform` exit 1, naming the violated invariant."""
    spec = broken_backend("torch", **{op: impl})
    run = conform(spec, "--terms", "dropout", "--dtype", "float32", "--max-examples", "10")
    assert run.code == 1
    assert expected in run.failed_invariants()
    row = next(r for r in run.rows("fail") if r["invariant"] == expected)
    assert row["counterexample"] is not None


def test_drops_the_largest_passes_the_fraction_and_scale_checks(conform, broken_backend) -> None:
    """The biased dropout above is caught by the mean check alone: its fraction and its scale are right."""
    run = conform(
        broken_backend("torch", random_dropout=_random_drops_the_largest),
        "--terms",
        "dropout",
        "--dtype",
        "float32",
        "--max-examples",
        "10",
    )
    assert run.failed_invariants() == {"dropout.random_keeps_the_mean"}


@pytest.mark.parametrize("backend", ["reference", "numpy", "torch"])
def test_dropout_passes_on_the_reference_numpy_and_torch(conform, backend: str) -> None:
    """dropout passes every invariant it can run on the reference, NumPy (forward only) and PyTorch."""
    run = conform(backend, "--terms", "dropout", "--max-examples", "15")
    assert run.code == 0, run.failed_invariants()
    assert "dropout.evaluation_is_identity" in {r["invariant"] for r in run.rows("pass")}


def test_torch_random_dropout_passes_the_statistical_checks(conform) -> None:
    """PyTorch's own seeded dropout drops a fraction p, scales by 1/(1 − p) and keeps the mean."""
    run = conform("torch", "--terms", "dropout", "--max-examples", "4")
    assert {r["invariant"] for r in run.rows("pass")} >= {
        "dropout.random_kept_scaled_dropped_zero",
        "dropout.random_drops_a_fraction_p",
        "dropout.random_keeps_the_mean",
    }


def _dropout_rows(framework: str) -> dict[str, object]:
    return {r["id"]: r["value"] for r in cv.measure(framework) if r["id"].startswith("dropout.")}


def test_the_dropout_conventions() -> None:
    """Canonical and PyTorch: inverted (kept 1 → 2 at p = 0.5), p the drop probability, a dropped NaN stays NaN."""
    canonical = {
        "dropout.scaling": 2.0,
        "dropout.rate_meaning": "drop probability",
        "dropout.dropped_nan": "NaN (x·0)",
        "dropout.float64_input": "float64",
    }
    assert _dropout_rows("reference") == canonical
    assert _dropout_rows("torch") == canonical


def test_keras_dropout_selects_zero_and_computes_in_float32() -> None:
    """Keras' Dropout is inverted with p the drop rate, but a dropped NaN becomes 0 and float64 becomes float32."""
    pytest.importorskip("tensorflow")
    assert _dropout_rows("tensorflow") == {
        "dropout.scaling": 2.0,
        "dropout.rate_meaning": "drop probability",
        "dropout.dropped_nan": "0 (a select)",
        "dropout.float64_input": "float32",
    }


def test_flax_dropout_rate_is_the_drop_probability_and_a_dropped_nan_is_zero() -> None:
    """JAX has no dropout; flax.linen.Dropout's rate is the drop probability (it passes 1 − rate to
    jax.random.bernoulli as the keep probability) and, as Keras', it selects 0 for a dropped unit, even a NaN."""
    pytest.importorskip("flax")
    rows = _dropout_rows("jax")
    assert rows["dropout.rate_meaning"] == "drop probability"
    assert rows["dropout.scaling"] == 2.0
    assert rows["dropout.dropped_nan"] == "0 (a select)"
