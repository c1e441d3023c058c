"""Batch normalization (batch_norm, batch_norm_running_stats): adapters pass, broken ones are caught, conventions."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from dlterms.conformance import conventions as cv

TERM = "batch-normalization"


def _per_channel(x: torch.Tensor, v: torch.Tensor | None) -> torch.Tensor | None:
    return None if v is None else v.reshape((1, -1) + (1,) * (x.dim() - 2))


def _affine(x: torch.Tensor, y: torch.Tensor, weight: torch.Tensor | None, bias: torch.Tensor | None) -> torch.Tensor:
    w, b = _per_channel(x, weight), _per_channel(x, bias)
    y = y if w is None else y * w
    return y if b is None else y + b


def _dims(x: torch.Tensor) -> tuple[int, ...]:
    return (0, *range(2, x.dim()))


def _unbiased(x, running_mean, running_var, weight=None, bias=None, training=False, eps=1e-5):  # type: ignore[no-untyped-def]
    if not training:  # evaluation as torch; training divides by the unbiased variance: mean square (n − 1)/n
        return F.batch_norm(x, running_mean.clone(), running_var.clone(), weight, bias, False, 0.1, eps)
    mean, var = x.mean(_dims(x), keepdim=True), x.var(_dims(x), keepdim=True, correction=1)
    return _affine(x, (x - mean) / torch.sqrt(var + eps), weight, bias)


def _uncentred(x, running_mean, running_var, weight=None, bias=None, training=False, eps=1e-5):  # type: ignore[no-untyped-def]
    if not training:  # divides by the batch's standard deviation but never subtracts the mean
        return F.batch_norm(x, running_mean.clone(), running_var.clone(), weight, bias, False, 0.1, eps)
    var = x.var(_dims(x), keepdim=True, correction=0)
    return _affine(x, x / torch.sqrt(var + eps), weight, bias)


def _always_training(x, running_mean, running_var, weight=None, bias=None, training=False, eps=1e-5):  # type: ignore[no-untyped-def]
    # The classic bug: evaluation with the batch's statistics (a model left in train mode): not affine in x.
    return F.batch_norm(x, running_mean.clone(), running_var.clone(), weight, bias, True, 0.1, eps)


def _keras_momentum(x, running_mean, running_var, momentum=0.1):  # type: ignore[no-untyped-def]
    # Keras' meaning of momentum passed untranslated: it weights the old value, m·old + (1 − m)·batch.
    mean, var = running_mean.clone(), running_var.clone()
    F.batch_norm(x, mean, var, None, None, True, 1.0 - momentum, 1.0)
    return mean, var


@pytest.mark.parametrize(
    ("op", "impl", "expected"),
    [
        ("batch_norm", _unbiased, "batch_norm.zero_mean_unit_variance"),
        ("batch_norm", _uncentred, "batch_norm.invariant_to_shifting_and_scaling"),
        ("batch_norm", _always_training, "batch_norm.eval_is_affine"),
        ("batch_norm_running_stats", _keras_momentum, "batch_norm_running_stats.momentum_weights_the_batch"),
    ],
)
def test_broken_adapter_exits_1_naming_the_invariant(conform, broken_backend, op: str, impl, expected: str) -> None:
    """A deliberately broken batch normalization makes `dlterms conform` exit 1, naming the violated invariant."""
    spec = broken_backend("torch", **{op: impl})
    run = conform(spec, "--terms", TERM, "--max-examples", "30")
    assert run.code == 1
    assert expected in run.failed_invariants()
    row = next(r for r in run.rows("fail") if r["invariant"] == expected)
    assert row["counterexample"] is not None


@pytest.mark.parametrize("backend", ["reference", "numpy", "torch"])
def test_batch_norm_passes_on_the_reference_numpy_and_torch(conform, backend: str) -> None:
    """batch_norm and batch_norm_running_stats pass every invariant on the reference, NumPy and PyTorch."""
    run = conform(backend, "--terms", TERM, "--max-examples", "15")
    assert run.code == 0, run.failed_invariants()
    assert {r["invariant"] for r in run.rows("pass")} >= {
        "batch_norm.zero_mean_unit_variance",
        "batch_norm.invariant_to_shifting_and_scaling",
        "batch_norm.eval_is_affine",
        "batch_norm_running_stats.momentum_weights_the_batch",
    }


def test_torch_updates_its_running_statistics_outside_autograd() -> None:
    """The adapter's reason to report batch_norm_running_stats' gradient unsupported: torch's buffers after a
    training step do not require a gradient even when the input does."""
    x = torch.tensor([[0.0], [2.0]], dtype=torch.float64, requires_grad=True)
    mean, var = torch.zeros(1, dtype=torch.float64), torch.ones(1, dtype=torch.float64)
    F.batch_norm(x, mean, var, training=True)
    assert mean.item() == 0.1 and not mean.requires_grad and not var.requires_grad


def _measured(framework: str) -> dict[str, object]:
    """The batch_norm rows a framework has an API for (a row it has none for is None and left out)."""
    rows = cv.measure(framework)
    return {r["id"]: r["value"] for r in rows if r["id"].startswith("batch_norm.") and r["value"] is not None}


CANONICAL = {
    "batch_norm.default_eps": 1e-5,
    "batch_norm.new_batch_weight": 0.1,
    "batch_norm.momentum_meaning": "weights the new batch",
    "batch_norm.running_variance": "unbiased (divides by n - 1)",
}


def test_the_reference_and_torch_batch_norm_conventions_are_pytorchs() -> None:
    """The canonical column is PyTorch's: ε 1e−5, momentum 0.1 weighting the new batch, the unbiased running
    variance."""
    assert _measured("reference") == CANONICAL
    assert _measured("torch") == CANONICAL


def test_keras_batch_norm_differs_in_every_row() -> None:
    """keras.layers.BatchNormalization: ε 1e−3, momentum 0.99 weighting the old value (the new batch 0.01), and the
    biased batch variance in its moving variance."""
    pytest.importorskip("tensorflow")
    assert _measured("tensorflow") == {
        "batch_norm.default_eps": 1e-3,
        "batch_norm.new_batch_weight": 0.01,
        "batch_norm.momentum_meaning": "weights the old value",
        "batch_norm.running_variance": "biased (divides by n)",
    }


def test_jax_batch_norm_rows_are_flax_batch_norms() -> None:
    """JAX itself has no batch normalization: its rows are flax.linen.BatchNorm's, with flax's documented defaults
    (ε = 1e−5, momentum 0.99 weighting the old value) and a biased running variance."""
    pytest.importorskip("flax")
    assert _measured("jax") == {
        "batch_norm.default_eps": 1e-5,
        "batch_norm.new_batch_weight": 0.01,
        "batch_norm.momentum_meaning": "weights the old value",
        "batch_norm.running_variance": "biased (divides by n)",
    }


def test_the_evaluation_bound_allows_the_fused_form_and_stays_tight() -> None:
    """Evaluation x = [1, 3], running mean 1 and variance 4 (eps 0), weight 0.3 and bias 1: y = [1, 1.3]. A float32
    fused x·(w/s) + (b − m·w/s), as frameworks compute it, is within the bound, which is k·u·(|y| + s) with k = 16,
    u = 2⁻²⁴ and s = |w|·(|x| + |m|)/2 + |b|: at x = 3, 16·2⁻²⁴·(1.3 + 1.6) ≈ 2.77e−6 (no sum: a = γ₄·|w·z|)."""
    import numpy as np
    from dlterms.conformance.invariants.batch_norm import bound

    case = {"x": [[1.0], [3.0]], "running_mean": [1.0], "running_var": [4.0], "weight": [0.3], "bias": [1.0]}
    case = {**case, "training": False, "eps": 0.0}
    (allowed,) = bound("batch_norm", "float32", case)
    scale = np.float32(0.3) / np.sqrt(np.float32(4.0))
    fused = np.float32([[1.0], [3.0]]) * scale + (np.float32(1.0) - np.float32(1.0) * scale)
    exact = np.array([[1.0], [1.0 + 2 * 0.3 / 2]])
    assert np.all(np.abs(fused.astype(np.float64) - exact) <= allowed)
    assert 2.7e-6 < allowed.max() < 2.9e-6
