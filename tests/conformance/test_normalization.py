"""Normalization ops (layer_norm, rms_norm, group_norm): the adapters pass, broken ones are caught, conventions."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from dlterms.conformance import conventions as cv

NORMALIZATION_TERMS = "layer-normalization,rms-normalization,group-normalization"


def _dims(x: torch.Tensor, normalized_shape: list[int]) -> tuple[int, ...]:
    return tuple(range(x.dim() - len(normalized_shape), x.dim()))


def _affine(y: torch.Tensor, weight: torch.Tensor | None, bias: torch.Tensor | None = None) -> torch.Tensor:
    y = y if weight is None else y * weight
    return y if bias is None else y + bias


def _layer_norm_unbiased(x, normalized_shape, weight=None, bias=None, eps=1e-5):  # type: ignore[no-untyped-def]
    dims = _dims(x, normalized_shape)  # the variance divided by n − 1: rows of variance (n − 1)/n, not 1
    y = (x - x.mean(dims, keepdim=True)) / torch.sqrt(x.var(dims, keepdim=True, correction=1) + eps)
    return _affine(y, weight, bias)


def _layer_norm_uncentred(x, normalized_shape, weight=None, bias=None, eps=1e-5):  # type: ignore[no-untyped-def]
    dims = _dims(x, normalized_shape)  # divides by the standard deviation but never subtracts the mean
    return _affine(x / torch.sqrt(x.var(dims, keepdim=True, correction=0) + eps), weight, bias)


def _layer_norm_one_pass(x, normalized_shape, weight=None, bias=None, eps=1e-5):  # type: ignore[no-untyped-def]
    dims = _dims(x, normalized_shape)  # mean(x²) − mean(x)² (jax.nn.standardize's default): cancels far from 0
    mean = x.mean(dims, keepdim=True)
    var = torch.clamp((x * x).mean(dims, keepdim=True) - mean * mean, min=0.0)
    return _affine((x - mean) / torch.sqrt(var + eps), weight, bias)


def _rms_norm_of_sum(x, normalized_shape, weight=None, eps=None):  # type: ignore[no-untyped-def]
    dims = _dims(x, normalized_shape)  # the root of the sum of squares, not of their mean
    return _affine(x / torch.sqrt((x * x).sum(dims, keepdim=True) + eps), weight)


def _rms_norm_eps_outside(x, normalized_shape, weight=None, eps=None):  # type: ignore[no-untyped-def]
    dims = _dims(x, normalized_shape)  # x/(rms + ε) instead of x/√(mean x² + ε)
    return _affine(x / (torch.sqrt((x * x).mean(dims, keepdim=True)) + eps), weight)


def _group_norm_per_channel(x, num_groups, weight=None, bias=None, eps=1e-5):  # type: ignore[no-untyped-def]
    dims = tuple(range(2, x.dim()))  # num_groups ignored: each channel normalized alone (instance normalization)
    mean = x.mean(dims, keepdim=True) if dims else x
    var = x.var(dims, keepdim=True, correction=0) if dims else torch.zeros_like(x)
    per_channel = (-1,) + (1,) * (x.dim() - 2)
    y = (x - mean) / torch.sqrt(var + eps)
    return _affine(
        y, None if weight is None else weight.reshape(per_channel), None if bias is None else bias.reshape(per_channel)
    )


def _group_norm_one_group(x, num_groups, weight=None, bias=None, eps=1e-5):  # type: ignore[no-untyped-def]
    return F.group_norm(x, 1, weight, bias, eps)  # num_groups ignored: layer normalization over (C, *)


@pytest.mark.parametrize(
    ("op", "impl", "term", "expected"),
    [
        ("layer_norm", _layer_norm_unbiased, "layer-normalization", "layer_norm.zero_mean_unit_variance"),
        ("layer_norm", _layer_norm_uncentred, "layer-normalization", "layer_norm.invariant_to_shifting"),
        ("layer_norm", _layer_norm_one_pass, "layer-normalization", "layer_norm.matches_reference"),
        ("rms_norm", _rms_norm_of_sum, "rms-normalization", "rms_norm.unit_root_mean_square"),
        ("rms_norm", _rms_norm_eps_outside, "rms-normalization", "rms_norm.equals_layer_norm_for_zero_mean_rows"),
        ("group_norm", _group_norm_per_channel, "group-normalization", "group_norm.one_group_is_layer_norm"),
        ("group_norm", _group_norm_one_group, "group-normalization", "group_norm.group_per_channel_is_instance_norm"),
    ],
)
def test_broken_adapter_exits_1_naming_the_invariant(
    conform, broken_backend, op: str, impl, term: str, expected: str
) -> None:
    """A deliberately broken normalization makes `dlterms conform` exit 1, naming the violated invariant."""
    spec = broken_backend("torch", **{op: impl})
    run = conform(spec, "--terms", term, "--max-examples", "30")
    assert run.code == 1
    assert expected in run.failed_invariants()
    row = next(r for r in run.rows("fail") if r["invariant"] == expected)
    assert row["counterexample"] is not None


@pytest.mark.parametrize("backend", ["reference", "numpy", "torch"])
def test_normalization_passes_on_the_reference_numpy_and_torch(conform, backend: str) -> None:
    """layer_norm, rms_norm and group_norm pass every invariant on the reference, NumPy and PyTorch."""
    run = conform(backend, "--terms", NORMALIZATION_TERMS, "--max-examples", "15")
    assert run.code == 0, run.failed_invariants()
    assert {r["invariant"] for r in run.rows("pass")} >= {
        "layer_norm.zero_mean_unit_variance",
        "rms_norm.unit_root_mean_square",
        "group_norm.one_group_is_layer_norm",
    }


def _measured(framework: str) -> dict[str, object]:
    """The normalization rows a framework has an API for (a row it has none for is None and left out)."""
    rows = cv.measure(framework)
    ops = ("layer_norm", "rms_norm", "group_norm")  # batch_norm's rows: tests/conformance/test_batch_norm.py
    return {r["id"]: r["value"] for r in rows if r["id"].split(".")[0] in ops and r["value"] is not None}


def test_the_reference_normalization_conventions() -> None:
    """The canonical column: PyTorch's ε (1e−5; float64's machine epsilon for rms_norm), biased, two-pass."""
    assert _measured("reference") == {
        "layer_norm.default_eps": 1e-5,
        "layer_norm.variance": "biased (divides by n)",
        "layer_norm.variance_algorithm": "two-pass",
        "rms_norm.default_eps": float(f"{2.0**-52:.3g}"),
        "group_norm.default_eps": 1e-5,
        "group_norm.variance": "biased (divides by n)",
    }


def test_torch_normalization_conventions_are_the_canonical_ones() -> None:
    """torch.nn.functional's layer_norm, rms_norm and group_norm defaults are the canonical values."""
    assert _measured("torch") == _measured("reference")


def test_keras_normalization_conventions_differ_in_eps_only() -> None:
    """Keras' layers default to ε = 1e−3 (LayerNormalization, GroupNormalization) and 1e−6 (RMSNormalization)."""
    pytest.importorskip("tensorflow")
    got = _measured("tensorflow")
    assert got["layer_norm.default_eps"] == got["group_norm.default_eps"] == 1e-3
    assert math.isclose(float(got["rms_norm.default_eps"]), 1e-6)  # type: ignore[arg-type]
    assert got["layer_norm.variance"] == got["group_norm.variance"] == "biased (divides by n)"
    assert got["layer_norm.variance_algorithm"] == "two-pass"


def test_jax_standardize_defaults_to_the_one_pass_variance() -> None:
    """jax.nn.standardize (JAX's only normalization) has ε = 1e−5 and by default mean(x²) − mean(x)², which
    cancels: the adapter passes algorithm="stable". RMS and group norm, which JAX lacks, are flax's (ε = 1e−6)."""
    pytest.importorskip("flax")
    assert _measured("jax") == {
        "layer_norm.default_eps": 1e-5,
        "layer_norm.variance": "biased (divides by n)",
        "layer_norm.variance_algorithm": "one-pass (cancels)",
        "rms_norm.default_eps": 1e-6,
        "group_norm.default_eps": 1e-6,
        "group_norm.variance": "biased (divides by n)",
    }


def test_the_variance_term_allows_a_row_below_float32_resolution_and_stays_tight_elsewhere() -> None:
    """Float32 row 1.2e7 + [0, 1]: PyTorch's Welford variance is 0, so z = −1/√ε where it is −1; the bound's
    variance term allows that, and for the row [1, 2] it allows less than 1e−5."""
    from dlterms.conformance.invariants.normalization import bound

    from dlterms import reference

    far = {"x": [11863283.0, 11863284.0], "normalized_shape": [2], "weight": None, "bias": None, "eps": 1e-5}
    got = F.layer_norm(torch.tensor(far["x"]), [2], eps=1e-5)
    assert math.isclose(float(got[0]), -1 / math.sqrt(1e-5), rel_tol=1e-6)
    assert abs(float(got[0]) - reference.layer_norm(**far)[0]) <= bound("layer_norm", "float32", far)[0]
    near = {**far, "x": [1.0, 2.0]}
    assert bound("layer_norm", "float32", near).max() < 1e-5
