"""Multi-head attention: the adapters pass, broken ones are caught by name, Keras' bias-add defect shown directly."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch
from dlterms.conformance import known_defects

TERM = "multi-head-attention"
OP = "multi_head_attention"


def _composed(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    num_heads: int,
    q_proj_weight: torch.Tensor,
    k_proj_weight: torch.Tensor,
    v_proj_weight: torch.Tensor,
    out_proj_weight: torch.Tensor,
    in_proj_bias: torch.Tensor | None = None,
    out_proj_bias: torch.Tensor | None = None,
    mask: Any = None,
    causal: bool = False,
    *,
    interleaved: bool = False,
    joined_interleaved: bool = False,
    scale_by_e: bool = False,
    diagonal: int = 0,
    drop_last_key: bool = False,
) -> torch.Tensor:
    """Multi-head attention written out in torch, with one mistake switched on by a keyword."""
    n, lq, e = query.shape
    s, d = key.shape[1], e // num_heads
    b = torch.zeros(3 * e, dtype=query.dtype) if in_proj_bias is None else in_proj_bias

    def heads(x: torch.Tensor) -> torch.Tensor:  # (N, T, E) → (N, H, T, d)
        if interleaved:  # head h takes features h, h + H, h + 2H, …: the blocks' mistake
            return x.reshape(n, x.shape[1], d, num_heads).permute(0, 3, 1, 2)
        return x.reshape(n, x.shape[1], num_heads, d).transpose(1, 2)

    q, k, v = (
        heads(x @ w.T + b[i * e : (i + 1) * e])
        for i, (x, w) in enumerate(((query, q_proj_weight), (key, k_proj_weight), (value, v_proj_weight)))
    )
    scores = q @ k.transpose(-1, -2) / math.sqrt(e if scale_by_e else d)
    keep = torch.ones(lq, s, dtype=torch.bool) if mask is None else torch.tensor(mask, dtype=torch.bool)
    if causal:
        keep = keep & torch.ones(lq, s, dtype=torch.bool).tril(diagonal)
    if drop_last_key:
        keep = keep.clone()
        keep[:, -1] = False
    z = torch.softmax(scores.masked_fill(~keep, -math.inf), dim=-1) @ v  # (N, H, L, d)
    # interleaved join: feature j·H + h is head h's feature j (with a block split: a split and join that disagree)
    joined = (z.permute(0, 2, 3, 1) if interleaved or joined_interleaved else z.transpose(1, 2)).reshape(n, lq, e)
    return joined @ out_proj_weight.T + (0 if out_proj_bias is None else out_proj_bias)


def _interleaved(*args: Any, **kwargs: Any) -> torch.Tensor:
    return _composed(*args, **kwargs, interleaved=True)


def _joined_interleaved(*args: Any, **kwargs: Any) -> torch.Tensor:
    return _composed(*args, **kwargs, joined_interleaved=True)


def _scaled_by_e(*args: Any, **kwargs: Any) -> torch.Tensor:
    return _composed(*args, **kwargs, scale_by_e=True)


def _causal_off_by_one(*args: Any, **kwargs: Any) -> torch.Tensor:
    return _composed(*args, **kwargs, diagonal=1)


def _last_key_dropped(*args: Any, **kwargs: Any) -> torch.Tensor:
    return _composed(*args, **kwargs, drop_last_key=True)


def _decoding_drops_the_newest_key(query: torch.Tensor, key: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
    one_step = query.shape[1] == 1 and key.shape[1] > 1  # a one-query decoding step reads a cache one key short
    return _composed(query, key, *args, **kwargs, drop_last_key=one_step)


def test_the_composed_torch_attention_passes(conform, broken_backend) -> None:  # type: ignore[no-untyped-def]
    """The torch composition the broken adapters start from, with no mistake switched on, passes every check:
    so a failure below is the mistake's."""
    run = conform(broken_backend("torch", **{OP: _composed}), "--terms", TERM, "--max-examples", "20")
    assert run.code == 0, run.failed_invariants()


@pytest.mark.parametrize(
    ("impl", "expected"),
    [
        (_interleaved, f"{OP}.identity_projections_attend_per_head"),
        (_joined_interleaved, f"{OP}.permuting_heads_leaves_the_output"),
        (_scaled_by_e, f"{OP}.identity_projections_attend_per_head"),
        (_causal_off_by_one, f"{OP}.causal_ignores_later_positions"),
        (_last_key_dropped, f"{OP}.permuting_keys_and_values_leaves_the_output"),
    ],
)
def test_broken_multi_head_attention_exits_1_naming_the_invariant(conform, broken_backend, impl, expected: str) -> None:  # type: ignore[no-untyped-def]
    """A deliberately broken multi-head attention (heads interleaved instead of blocks, split in blocks but
    joined interleaved, the scale 1/√E instead of 1/√(E/H), causal off by one, a key dropped) makes `dlterms
    conform` exit 1, naming the violated invariant with a counterexample."""
    run = conform(broken_backend("torch", **{OP: impl}), "--terms", TERM, "--max-examples", "30")
    assert run.code == 1
    assert expected in run.failed_invariants()
    row = next(r for r in run.rows("fail") if r["invariant"] == expected)
    assert row["counterexample"] is not None


@pytest.mark.parametrize("impl", [_causal_off_by_one, _decoding_drops_the_newest_key])
def test_broken_decoding_fails_the_kv_cache_invariant(conform, broken_backend, impl) -> None:  # type: ignore[no-untyped-def]
    """A causal mask off by one, or a one-query decoding step that reads a cache one key short, fails the KV-cache
    invariant of multi-head attention, with a counterexample (scaled dot-product attention, unbroken, passes)."""
    run = conform(broken_backend("torch", **{OP: impl}), "--terms", "kv-cache", "--max-examples", "30")
    assert run.code == 1
    expected = f"{OP}.kv_cache_decoding_matches_causal_attention"
    assert run.failed_invariants() == {expected}
    assert next(r for r in run.rows("fail") if r["invariant"] == expected)["counterexample"] is not None


@pytest.mark.parametrize("backend", ["reference", "numpy", "torch", "jax", "tensorflow"])
def test_multi_head_attention_passes_on_every_backend(conform, backend: str) -> None:  # type: ignore[no-untyped-def]
    """Every multi-head attention check passes on each backend, but for Keras' documented bias-add defect."""
    if backend in ("jax", "tensorflow"):
        pytest.importorskip(backend)
    run = conform(backend, "--terms", TERM, "--max-examples", "10")
    allowed = known_defects.DEFAULT_RUN_DEFECTS.get(backend, frozenset())
    failed = {f"{r['invariant']}[{r['dtype']}]" for r in run.rows() if r["status"] in ("fail", "error")}
    assert failed <= allowed, failed - allowed
    assert f"{OP}.causal_ignores_later_positions" in {r["invariant"] for r in run.rows("pass")}


def test_keras_add_puts_a_column_bias_along_axis_1() -> None:
    """Keras 3's documented defect: keras.ops.add(x, b) with x (1, 3, 3, 1) and b (3, 1) adds b[i] to row i of
    axis 1 (tf.nn.bias_add, NCHW) where broadcasting adds b[j] along axis 2."""
    keras = pytest.importorskip("keras")
    bias = np.array([[1.0], [2.0], [3.0]])
    got = np.asarray(keras.ops.add(np.zeros((1, 3, 3, 1)), bias))[0, :, :, 0]
    assert got.tolist() == [[1.0, 1.0, 1.0], [2.0, 2.0, 2.0], [3.0, 3.0, 3.0]]  # broadcasting: rows [1, 2, 3]
    assert f"{OP}.matches_reference[float64]" in known_defects.TENSORFLOW_DRAWN_DEFECTS


def test_keras_multi_head_attention_puts_a_heads_bias_on_a_position() -> None:
    """Keras' MultiHeadAttention with key_dim = 1, two heads and two keys: zero weights and the value bias (1, 0)
    make every value (1, 0), so every query's heads are (1, 0); Keras gives key 0 the value (1, 1) and key 1
    (0, 0), so a query that sees key 0 only gets (1, 1)."""
    keras = pytest.importorskip("keras")
    layer = keras.layers.MultiHeadAttention(2, key_dim=1, dtype="float64", kernel_initializer="zeros")
    layer.build((None, None, 2), (None, None, 1), (None, None, 1))
    layer._value_dense.bias.assign([[1.0], [0.0]])  # head 0's value bias 1, head 1's 0
    layer._output_dense.kernel.assign(np.eye(2).reshape(2, 1, 2))  # the heads side by side, as they are
    keys = np.array([[[1.0], [2.0]]])
    only_key_0 = np.array([[[True, False]]])
    got = np.asarray(layer(np.zeros((1, 1, 2)), keys, keys, attention_mask=only_key_0))
    assert got.reshape(2).tolist() == [1.0, 1.0]  # the definition: (1, 0)


def _mha_rows(framework: str) -> dict[str, object]:
    from dlterms.conformance import conventions as cv

    return {r["id"].split(".", 1)[1]: r["value"] for r in cv.measure(framework) if r["id"].startswith("mha.")}


def test_the_mha_readers_tell_the_behaviours_apart() -> None:
    """The mask reader names 1 (key 0, the True one, taken) and 3 (key 1 taken) apart, and the layout reader
    the three layouts by their shapes for E = 4 in 2 heads."""
    from dlterms.conformance.conventions import reference as rc

    assert rc.mha_mask_read(1.0) == "True = takes part"
    assert rc.mha_mask_read(3.0) == "True = masked out"
    assert rc.mha_mask_read(2.0) == "other (2)"
    assert rc.mha_layout_read({"in_proj_weight": (12, 4)}, 4, 2).startswith("packed")
    assert rc.mha_layout_read({"query": (4, 2, 2)}, 4, 2).startswith("one kernel per projection")
    assert rc.mha_layout_read({"q_proj_weight": (4, 4)}, 4, 2).startswith("separate")


def test_the_mha_conventions_of_the_reference_torch_and_keras() -> None:
    """Measured: PyTorch's MultiheadAttention reads True as masked out, packs (3E, E), is sequence first and has
    biases by default; Keras reads True as attend, keeps per-head kernels, is batch first and has biases; the
    reference: True takes part, separate (E, E) weights, batch first, no bias unless given."""
    assert _mha_rows("reference") == {
        "boolean_mask_meaning": "True = takes part",
        "projection_layout": "separate (E, E) weights, (out, in)",
        "batch_first_default": True,
        "default_bias": False,
    }
    assert _mha_rows("torch") == {
        "boolean_mask_meaning": "True = masked out",
        "projection_layout": "packed in_proj_weight (3E, E), (out, in)",
        "batch_first_default": False,
        "default_bias": True,
    }
    pytest.importorskip("tensorflow")
    assert _mha_rows("tensorflow") == {
        "boolean_mask_meaning": "True = takes part",
        "projection_layout": "one kernel per projection (E, H, E/H), (in, heads, features)",
        "batch_first_default": True,
        "default_bias": True,
    }
