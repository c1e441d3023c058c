"""Embedding: the adapters pass, deliberately broken ones are caught (each invariant by one), conventions measured."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from dlterms.conformance import conventions as cv


def _embedding_off_by_one(weight, indices, padding_idx=None):  # type: ignore[no-untyped-def]
    return F.embedding((indices + 1) % weight.shape[0], weight)  # the next row


class _Overwrite(torch.autograd.Function):
    """A lookup whose backward writes each position's cotangent into its row (the last one wins), not adds."""

    @staticmethod
    def forward(ctx, weight, indices):  # type: ignore[no-untyped-def]
        ctx.save_for_backward(indices)
        ctx.rows = weight.shape[0]
        return weight[indices]

    @staticmethod
    def backward(ctx, g):  # type: ignore[no-untyped-def]
        (indices,) = ctx.saved_tensors
        grad = torch.zeros((ctx.rows, g.shape[-1]), dtype=g.dtype)
        grad[indices.reshape(-1)] = g.reshape(-1, g.shape[-1])  # index_put without accumulate
        return grad, None


def _embedding_overwrites(weight, indices, padding_idx=None):  # type: ignore[no-untyped-def]
    return _Overwrite.apply(weight, indices)


def _embedding_ignores_padding(weight, indices, padding_idx=None):  # type: ignore[no-untyped-def]
    return F.embedding(indices, weight)  # the padding row trains like any other


@pytest.mark.parametrize(
    ("impl", "expected"),
    [
        (_embedding_off_by_one, "embedding.equals_one_hot_product"),
        (_embedding_overwrites, "embedding.gradient_sums_repeated_indices"),
        (_embedding_ignores_padding, "embedding.padding_row_gets_no_gradient"),
    ],
)
def test_broken_embedding_exits_1_naming_the_invariant(conform, broken_backend, impl, expected: str) -> None:
    """A deliberately broken embedding makes `dlterms conform` exit 1, naming the violated invariant."""
    run = conform(broken_backend("torch", embedding=impl), "--terms", "embedding", "--max-examples", "15")
    assert run.code == 1
    assert expected in run.failed_invariants()
    row = next(r for r in run.rows("fail") if r["invariant"] == expected)
    assert row["counterexample"] is not None


@pytest.mark.parametrize("backend", ["reference", "numpy", "torch"])
def test_embedding_passes_on_the_reference_numpy_and_torch(conform, backend: str) -> None:
    """embedding passes every invariant it can run on the reference, NumPy (forward only) and PyTorch."""
    run = conform(backend, "--terms", "embedding", "--max-examples", "15")
    assert run.code == 0, run.failed_invariants()
    assert "embedding.equals_one_hot_product" in {r["invariant"] for r in run.rows("pass")}


def _embedding_rows(framework: str) -> dict[str, object]:
    return {r["id"]: r["value"] for r in cv.measure(framework) if r["id"].startswith("embedding.")}


def test_the_embedding_conventions_of_the_reference_and_torch() -> None:
    """The reference refuses indices outside [0, V) and gives the padding row no gradient, as PyTorch does;
    PyTorch initialises a table from N(0, 1)."""
    canonical = {
        "embedding.padding_index": "no gradient",
        "embedding.default_init": None,
        "embedding.out_of_range_index": "error",
        "embedding.negative_index": "error",
    }
    assert _embedding_rows("reference") == canonical
    assert _embedding_rows("torch") == {**canonical, "embedding.default_init": "normal(0, 1)"}


def test_jax_and_numpy_wrap_negative_indices() -> None:
    """jnp.take fills an index past the end with NaN and wraps −1 to the last row; NumPy refuses V, wraps −1."""
    pytest.importorskip("jax")
    jx, np_rows = _embedding_rows("jax"), _embedding_rows("numpy")
    assert (jx["embedding.out_of_range_index"], jx["embedding.negative_index"]) == ("NaN (filled)", "row 2")
    assert (np_rows["embedding.out_of_range_index"], np_rows["embedding.negative_index"]) == ("error", "row 2")


def test_keras_embedding_trains_the_masked_row_and_starts_uniform() -> None:
    """Keras' mask_zero does not stop row 0's gradient, and its table starts uniform in [−0.05, 0.05]."""
    pytest.importorskip("tensorflow")
    tf = _embedding_rows("tensorflow")
    assert tf["embedding.padding_index"] == "gradient"
    assert tf["embedding.default_init"] == "uniform(−0.05, 0.05)"
