"""Attention (scaled_dot_product_attention): the adapters pass, broken ones are caught by name, the defects found."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from dlterms.conformance import known_defects

TERM = "scaled-dot-product-attention"
OP = "scaled_dot_product_attention"


def _scores(query, key, mask=None, bias=None, causal=False, scale=None, *, diagonal=0, scaled=True):  # type: ignore[no-untyped-def]
    """The scores with hidden keys at −∞ (``diagonal``: the causal band's offset, 0 canonical)."""
    s = query @ key.transpose(-1, -2)
    if scaled:
        s = s * (1.0 / math.sqrt(query.shape[-1]) if scale is None else scale)
    if bias is not None:
        s = s + bias
    keep = torch.ones(s.shape[-2:], dtype=torch.bool)
    if mask is not None:
        keep = keep & torch.tensor(mask, dtype=torch.bool)
    if causal:
        keep = keep & torch.ones(s.shape[-2:], dtype=torch.bool).tril(diagonal)
    return s.masked_fill(~keep, -math.inf)


def _softmax_over_queries(query, key, value, mask=None, bias=None, causal=False, scale=None):  # type: ignore[no-untyped-def]
    return torch.softmax(_scores(query, key, mask, bias, causal, scale), dim=-2) @ value  # normalises each key


def _last_key_ignored(query, key, value, mask=None, bias=None, causal=False, scale=None):  # type: ignore[no-untyped-def]
    s = _scores(query, key, mask, bias, causal, scale)
    s[..., -1] = -math.inf  # a length off by one: the last key never takes part
    return torch.softmax(s, dim=-1) @ value


def _always_causal(query, key, value, mask=None, bias=None, causal=False, scale=None):  # type: ignore[no-untyped-def]
    return torch.softmax(_scores(query, key, mask, bias, True, scale), dim=-1) @ value  # causal=False ignored


def _causal_off_by_one(query, key, value, mask=None, bias=None, causal=False, scale=None):  # type: ignore[no-untyped-def]
    s = _scores(query, key, mask, bias, causal, scale, diagonal=1)  # query i also sees key i + 1
    return torch.softmax(s, dim=-1) @ value


def _scale_missing(query, key, value, mask=None, bias=None, causal=False, scale=None):  # type: ignore[no-untyped-def]
    return torch.softmax(_scores(query, key, mask, bias, causal, scale, scaled=False), dim=-1) @ value


def _decoding_drops_the_newest_key(query, key, value, mask=None, bias=None, causal=False, scale=None):  # type: ignore[no-untyped-def]
    s = _scores(query, key, mask, bias, causal, scale)
    if query.shape[-2] == 1 and key.shape[-2] > 1:  # a one-query decoding step reads a cache one key short
        s[..., -1] = -math.inf
    return torch.softmax(s, dim=-1) @ value


@pytest.mark.parametrize(
    ("impl", "expected"),
    [
        (_softmax_over_queries, f"{OP}.weights_sum_to_one"),
        (_last_key_ignored, f"{OP}.permuting_keys_and_values_leaves_the_output"),
        (_always_causal, f"{OP}.permuting_queries_permutes_the_output"),
        (_causal_off_by_one, f"{OP}.causal_ignores_later_keys"),
        (_scale_missing, f"{OP}.matches_reference"),
    ],
)
def test_broken_attention_exits_1_naming_the_invariant(conform, broken_backend, impl, expected: str) -> None:
    """A deliberately broken attention (wrong softmax axis, a key dropped, causal always on or off by one, no
    scale) makes `dlterms conform` exit 1, naming the violated invariant with a counterexample."""
    spec = broken_backend("torch", **{OP: impl})
    run = conform(spec, "--terms", TERM, "--max-examples", "40")
    assert run.code == 1
    assert expected in run.failed_invariants()
    row = next(r for r in run.rows("fail") if r["invariant"] == expected)
    assert row["counterexample"] is not None


KV_CACHE = "kv-cache"
KV_INVARIANTS = {f"{op}.kv_cache_decoding_matches_causal_attention" for op in (OP, "multi_head_attention")}


@pytest.mark.parametrize("impl", [_causal_off_by_one, _decoding_drops_the_newest_key])
def test_broken_decoding_fails_the_kv_cache_invariant(conform, broken_backend, impl) -> None:  # type: ignore[no-untyped-def]
    """A causal mask off by one, or a one-query decoding step that reads a cache one key short, fails the KV-cache
    invariant of scaled dot-product attention, with a counterexample (multi-head attention, unbroken, passes)."""
    run = conform(broken_backend("torch", **{OP: impl}), "--terms", KV_CACHE, "--max-examples", "40")
    assert run.code == 1
    expected = f"{OP}.kv_cache_decoding_matches_causal_attention"
    assert run.failed_invariants() == {expected}
    assert next(r for r in run.rows("fail") if r["invariant"] == expected)["counterexample"] is not None


@pytest.mark.parametrize("backend", ["reference", "numpy", "torch", "jax", "tensorflow"])
def test_kv_cache_decoding_matches_causal_attention_on_every_backend(conform, backend: str) -> None:  # type: ignore[no-untyped-def]
    """Decoding step by step over a key/value cache equals causal attention over the whole sequence, for scaled
    dot-product and multi-head attention, on every backend, but for Keras' documented bias-add defect (a decoding
    step of one query over a cache of H keys meets it)."""
    if backend in ("jax", "tensorflow"):
        pytest.importorskip(backend)
    run = conform(backend, "--terms", KV_CACHE, "--max-examples", "10")
    allowed = known_defects.DEFAULT_RUN_DEFECTS.get(backend, frozenset())
    failed = {f"{r['invariant']}[{r['dtype']}]" for r in run.rows() if r["status"] in ("fail", "error")}
    assert failed <= allowed, failed - allowed
    assert {r["invariant"] for r in run.rows()} == KV_INVARIANTS
    assert f"{OP}.kv_cache_decoding_matches_causal_attention" in {r["invariant"] for r in run.rows("pass")}


@pytest.mark.parametrize("backend", ["reference", "numpy", "torch", "tensorflow"])
def test_attention_passes_on_the_reference_numpy_torch_and_tensorflow(conform, backend: str) -> None:
    """Every attention invariant passes, but for PyTorch's documented NaN-query defect."""
    if backend == "tensorflow":
        pytest.importorskip("tensorflow")
    run = conform(backend, "--terms", TERM, "--max-examples", "15")
    allowed = known_defects.DEFAULT_RUN_DEFECTS.get(backend, frozenset())
    failed = {f"{r['invariant']}[{r['dtype']}]" for r in run.rows() if r["status"] in ("fail", "error")}
    assert failed <= allowed, failed - allowed
    assert f"{OP}.causal_ignores_later_keys" in {r["invariant"] for r in run.rows("pass")}


def test_torch_attention_returns_zero_for_a_nan_query() -> None:
    """PyTorch's documented defect: a query of NaN gets 0 (taken for a fully masked row), where NaN is due;
    a NaN key beside a finite one does give NaN."""
    nan = math.nan
    key, value = torch.zeros(1, 1, 2, 1), torch.tensor([[[[1.0], [3.0]]]])
    got = F.scaled_dot_product_attention(torch.tensor([[[[nan], [1.0]]]]), key, value)
    assert got.flatten().tolist() == [0.0, 2.0]
    nan_key = F.scaled_dot_product_attention(torch.ones(1, 1, 1, 1), torch.tensor([[[[nan], [0.0]]]]), value)
    assert math.isnan(float(nan_key))
    assert f"{OP}.special_values[float64]" in known_defects.TORCH_DEFECTS


def test_jax_attention_is_float32_accurate_in_float64() -> None:
    """JAX's documented defect: jax.nn.dot_product_attention's float64 softmax is float32's. Three equal keys,
    values all 1: the output is exactly 1, JAX gives 3·fl32(1/3) = 1 + 2⁻²⁵."""
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    q, k, v = np.ones((1, 1, 1, 1)), np.zeros((1, 3, 1, 1)), np.ones((1, 3, 1, 1))
    got = float(jax.nn.dot_product_attention(q, k, v)[0, 0, 0, 0])
    assert got == 1.0 + 2.0**-25  # 3 × 0.3333333432674408 (1/3 rounded to float32), summed in float64
    assert f"{OP}.grad_matches_finite_difference[float64]" in known_defects.JAX_DEFECTS


def _attention_rows(framework: str) -> dict[str, object]:
    from dlterms.conformance import conventions as cv

    return {r["id"].split(".", 1)[1]: r["value"] for r in cv.measure(framework) if r["id"].startswith("attention.")}


CANONICAL = {
    "boolean_mask_meaning": "True = takes part",
    "default_scale": "1/√E",
    "fully_masked_row": "NaN (0/0)",
    "fully_masked_bias_row": "NaN (0/0)",
    "causal_alignment": "top-left (j ≤ i)",
    "float64_softmax": "float64",
}


def test_the_reference_attention_conventions() -> None:
    """The canonical column: True keeps a key, scale 1/√E, NaN for a query that sees no key, top-left causal."""
    assert _attention_rows("reference") == CANONICAL


def test_torch_attention_returns_zero_where_no_key_is_seen() -> None:
    """PyTorch agrees with the canonical column except its fully masked rows, boolean or additive: 0."""
    assert _attention_rows("torch") == {**CANONICAL, "fully_masked_row": "0", "fully_masked_bias_row": "0"}


@pytest.mark.parametrize("framework", ["jax", "tensorflow"])
def test_jax_and_keras_attention_average_every_value_where_no_key_is_seen(framework: str) -> None:
    """JAX and Keras mask with a large finite score: a fully masked boolean row gets the mean of the values,
    an additive −∞ row NaN; JAX's float64 weights are float32's."""
    pytest.importorskip(framework)
    precision = "float32" if framework == "jax" else "float64"
    expected = {**CANONICAL, "fully_masked_row": "the mean of the values (equal weights)", "float64_softmax": precision}
    assert _attention_rows(framework) == expected
