"""adaptive_avg_pool2d (global average pooling): the adapters pass, broken ones are caught, conventions."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from dlterms.conformance import conventions as cv

from dlterms.ops import as_pair

TERM = "global-average-pooling"


def _floor_bins(x, output_size):
    """Non-overlapping bins ⌊i·H/n⌋ to ⌊(i + 1)·H/n⌋ (the last one to H): wrong where n does not divide H."""
    (oh, ow), (h, w) = as_pair(output_size), x.shape[2:]
    rows = [(i * h // oh, h if i == oh - 1 else max((i + 1) * h // oh, i * h // oh + 1)) for i in range(oh)]
    cols = [(j * w // ow, w if j == ow - 1 else max((j + 1) * w // ow, j * w // ow + 1)) for j in range(ow)]
    return torch.stack(
        [torch.stack([x[:, :, a:b, c:d].mean(dim=(2, 3)) for c, d in cols], dim=-1) for a, b in rows], dim=-2
    )


def _sum_of_equal_bins(x, output_size):
    """Forgets the divisor where the bins are equal: the sum of a kH × kW bin for kernel = H // n."""
    (oh, ow), (h, w) = as_pair(output_size), x.shape[2:]
    return F.adaptive_avg_pool2d(x, (oh, ow)) * ((h // oh) * (w // ow))


def _sizes_swapped(x, output_size):
    """Reads output_size (h, w) as (w, h)."""
    oh, ow = as_pair(output_size)
    return F.adaptive_avg_pool2d(x, (ow, oh))


@pytest.mark.parametrize(
    ("impl", "expected"),
    [
        (_floor_bins, "adaptive_avg_pool2d.mean_of_each_bin"),
        (_sum_of_equal_bins, "adaptive_avg_pool2d.equals_avg_pool2d_when_divisible"),
        (_sum_of_equal_bins, "adaptive_avg_pool2d.global_is_the_mean"),
        (_sum_of_equal_bins, "adaptive_avg_pool2d.constant_input"),
        (_sizes_swapped, "adaptive_avg_pool2d.identity_at_input_size"),
    ],
)
def test_broken_adaptive_avg_pool2d_exits_1_naming_the_invariant(conform, broken_backend, impl, expected) -> None:
    """A deliberately broken adaptive_avg_pool2d makes `dlterms conform` exit 1, naming the violated invariant."""
    run = conform(broken_backend("torch", adaptive_avg_pool2d=impl), "--terms", TERM, "--max-examples", "30")
    assert run.code == 1
    assert expected in run.failed_invariants()
    row = next(r for r in run.rows("fail") if r["invariant"] == expected)
    assert row["counterexample"] is not None


@pytest.mark.parametrize("backend", ["reference", "numpy", "torch"])
def test_adaptive_avg_pool2d_passes_on_the_reference_numpy_and_torch(conform, backend: str) -> None:
    """adaptive_avg_pool2d passes every invariant on the reference, NumPy (forward) and PyTorch."""
    run = conform(backend, "--terms", TERM, "--max-examples", "15")
    assert run.code == 0, run.failed_invariants()
    assert "adaptive_avg_pool2d.mean_of_each_bin" in {r["invariant"] for r in run.rows("pass")}


def _bins(framework: str) -> object:
    return next(r["value"] for r in cv.measure(framework) if r["id"] == "adaptive_avg_pool2d.bins")


def test_torch_and_keras_have_pytorchs_overlapping_bins() -> None:
    """[0, 1, 2, 3, 4] pooled to 3 is 0.5, 2, 3.5 (bins 0-1, 1-3, 3-4) in the reference, PyTorch and Keras 3."""
    assert _bins("reference") == _bins("torch") == "0.5, 2, 3.5"
    pytest.importorskip("tensorflow")
    assert _bins("tensorflow") == "0.5, 2, 3.5"


def test_jax_has_no_adaptive_pooling() -> None:
    """JAX has no adaptive pooling op, so its row is not measured (the adapter composes PyTorch's bins)."""
    pytest.importorskip("jax")
    assert _bins("jax") is None


def test_keras_float16_adaptive_average_pool_misses_the_bound_where_torch_meets_it() -> None:
    """Global average pooling of 7 × 8 planes of quarters (exact sums) in float16: Keras' mean misses the absolute
    bound (rtol 1e−3) on some channel where PyTorch's meets it on all: the documented size-tier defect."""
    pytest.importorskip("tensorflow")
    import keras
    import numpy as np
    from dlterms.conformance import known_defects

    assert "adaptive_avg_pool2d.matches_reference_at_sizes[float16]" in (
        known_defects.TENSORFLOW_REDUCED_PRECISION_ADAPTIVE_POOL_DEFECTS
    )
    x = np.random.default_rng(0).integers(-8, 9, (1, 4, 7, 8)) * 0.25
    exact = x.mean(axis=(2, 3), keepdims=True)
    bound = 1e-3 * np.abs(exact) + 1e-5  # the float16 forward tolerance (rtol, atol)
    ours = F.adaptive_avg_pool2d(torch.tensor(x, dtype=torch.float16), 1).double().numpy()
    theirs = keras.ops.convert_to_numpy(
        keras.ops.adaptive_average_pool(x.astype(np.float16), 1, data_format="channels_first")
    ).astype(np.float64)
    assert (np.abs(ours - exact) <= bound).all()
    assert (np.abs(theirs - exact) > bound).any()
