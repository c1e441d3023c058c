"""The Transformer block: the adapters pass, broken ones are caught by name, torch's fast path and conventions."""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torch.nn.functional as F
from dlterms.conformance import known_defects
from dlterms.conformance.backends import torch as torch_backend

TERM = "transformer"
OP = "transformer_encoder_block"
FAST = ("--dtype", "float64", "--max-examples", "10")  # each mistake is gross: float64 and 10 examples catch it


def _composed(
    x: torch.Tensor,
    num_heads: int,
    in_proj_weight: torch.Tensor,
    in_proj_bias: torch.Tensor,
    out_proj_weight: torch.Tensor,
    out_proj_bias: torch.Tensor,
    linear1_weight: torch.Tensor,
    linear1_bias: torch.Tensor,
    linear2_weight: torch.Tensor,
    linear2_bias: torch.Tensor,
    norm1_weight: torch.Tensor,
    norm1_bias: torch.Tensor,
    norm2_weight: torch.Tensor,
    norm2_bias: torch.Tensor,
    norm_first: bool = False,
    activation: str = "relu",
    eps: float = 1e-5,
    causal: bool = False,
    *,
    flip_order: bool = False,
    no_residual: bool = False,
    post_norm_before: bool = False,
    always_causal: bool = False,
    causal_diagonal: int = 0,
) -> torch.Tensor:
    """The block written out in torch (the adapter's multi-head attention, F.layer_norm, F.linear), with one
    mistake switched on by a keyword."""
    e, t = x.shape[-1], x.shape[1]
    wq, wk, wv = in_proj_weight.split(e)
    keep = torch.ones(t, t, dtype=torch.bool).tril(causal_diagonal).tolist() if causal or always_causal else None

    def attention(u: torch.Tensor) -> torch.Tensor:
        weights = (wq, wk, wv, out_proj_weight, in_proj_bias, out_proj_bias)
        return torch_backend.multi_head_attention(u, u, u, num_heads, *weights, mask=keep)

    def ffn(u: torch.Tensor) -> torch.Tensor:
        hidden = F.linear(u, linear1_weight, linear1_bias)
        hidden = F.gelu(hidden) if activation == "gelu" else F.relu(hidden)
        return F.linear(hidden, linear2_weight, linear2_bias)

    def norm1(u: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(u, (e,), norm1_weight, norm1_bias, eps)

    def norm2(u: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(u, (e,), norm2_weight, norm2_bias, eps)

    skip = 0 if no_residual else 1  # the attention sublayer's residual
    if norm_first != flip_order:
        h = skip * x + attention(norm1(x))
        return h + ffn(norm2(h))
    if post_norm_before:  # post-norm's layer normalizations moved before each sublayer: pre-norm's order
        h = x + attention(norm1(x))
        return h + ffn(norm2(h))
    h = norm1(skip * x + attention(x))
    return norm2(h + ffn(h))


def _broken(**mistake: Any) -> Any:
    def block(*args: Any, **kwargs: Any) -> torch.Tensor:
        return _composed(*args, **kwargs, **mistake)

    return block


def test_the_composed_torch_block_passes(conform, broken_backend) -> None:  # type: ignore[no-untyped-def]
    """The torch composition the broken adapters start from, with no mistake switched on, passes every check:
    so a failure below is the mistake's."""
    run = conform(broken_backend("torch", **{OP: _composed}), "--terms", TERM, *FAST)
    assert run.code == 0, run.failed_invariants()


@pytest.mark.parametrize(
    ("mistake", "expected"),
    [
        ({"flip_order": True}, (f"{OP}.pre_norm_zero_sublayers_is_identity", f"{OP}.post_norm_rows_are_normalized")),
        ({"no_residual": True}, (f"{OP}.pre_norm_zero_sublayers_is_identity",)),
        ({"post_norm_before": True}, (f"{OP}.post_norm_rows_are_normalized",)),
        ({"always_causal": True}, (f"{OP}.permuting_positions_permutes_the_output",)),
        ({"causal_diagonal": 1}, (f"{OP}.causal_ignores_later_positions",)),
    ],
)
def test_broken_transformer_block_exits_1_naming_the_invariant(
    conform,  # type: ignore[no-untyped-def]
    broken_backend,
    mistake: dict[str, Any],
    expected: tuple[str, ...],
) -> None:
    """A deliberately broken block (norm_first flipped, the attention's residual missing, post-norm's layer
    normalizations before the sublayers, a causal mask always on, causal off by one) makes `dlterms conform`
    exit 1, naming the violated invariant with a counterexample."""
    run = conform(broken_backend("torch", **{OP: _broken(**mistake)}), "--terms", TERM, *FAST)
    assert run.code == 1
    assert set(expected) <= run.failed_invariants()
    for invariant_id in expected:
        row = next(r for r in run.rows("fail") if r["invariant"] == invariant_id)
        assert row["counterexample"] is not None


@pytest.mark.parametrize("backend", ["reference", "numpy", "torch", "jax", "tensorflow"])
def test_transformer_block_passes_on_every_backend(conform, backend: str) -> None:  # type: ignore[no-untyped-def]
    """Every Transformer block check passes on each backend (none has a documented defect here)."""
    if backend in ("jax", "tensorflow"):
        pytest.importorskip(backend)
    run = conform(backend, "--terms", TERM, "--max-examples", "5")
    allowed = known_defects.DEFAULT_RUN_DEFECTS.get(backend, frozenset())
    failed = {f"{r['invariant']}[{r['dtype']}]" for r in run.rows() if r["status"] in ("fail", "error")}
    assert failed <= allowed, failed - allowed
    assert f"{OP}.causal_ignores_later_positions" in {r["invariant"] for r in run.rows("pass")}


def _call(num_heads: int, dtype: torch.dtype) -> dict[str, Any]:
    """The adapter's arguments for E = 4, F = 8, two positions: weights drawn from a seeded generator."""
    g = torch.Generator().manual_seed(0)

    def u(*shape: int) -> torch.Tensor:
        return (torch.rand(*shape, generator=g, dtype=torch.float64) - 0.5).to(dtype)

    return {
        "x": u(1, 2, 4),
        "num_heads": num_heads,
        "in_proj_weight": u(12, 4),
        "in_proj_bias": u(12),
        "out_proj_weight": u(4, 4),
        "out_proj_bias": u(4),
        "linear1_weight": u(8, 4),
        "linear1_bias": u(8),
        "linear2_weight": u(4, 8),
        "linear2_bias": u(4),
        "norm1_weight": 1 + u(4),
        "norm1_bias": u(4),
        "norm2_weight": 1 + u(4),
        "norm2_bias": u(4),
    }


@pytest.mark.parametrize(("num_heads", "fused"), [(2, 1), (1, 0)])
def test_the_torch_forward_check_takes_the_fused_path_as_users_do(
    monkeypatch: pytest.MonkeyPatch, num_heads: int, fused: int
) -> None:
    """The adapter's forward call, with tensors that need no gradient, goes through PyTorch's fused
    torch._transformer_encoder_layer_fwd for an even number of heads (what inference runs) and not for one head;
    with a tensor that needs a gradient it never does (the gradient checks cover the autograd path)."""
    calls: list[int] = []
    fused_fwd = torch._transformer_encoder_layer_fwd

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return fused_fwd(*args, **kwargs)

    monkeypatch.setattr(torch, "_transformer_encoder_layer_fwd", spy)
    call = _call(num_heads, torch.float32)
    torch_backend.transformer_encoder_block(**call)
    assert len(calls) == fused
    torch_backend.transformer_encoder_block(**{**call, "x": call["x"].requires_grad_(True)})
    assert len(calls) == fused


def test_torch_fused_and_autograd_paths_agree_to_rounding() -> None:
    """PyTorch's fused encoder-layer kernel and its autograd path give the same block to within a few float32
    ulp (measured here: 1.3e-7 at most for outputs of order 1), post-norm and pre-norm, causal or not."""
    for norm_first in (False, True):
        for causal in (False, True):
            call = {**_call(2, torch.float32), "norm_first": norm_first, "causal": causal}
            fused = torch_backend.transformer_encoder_block(**call)
            grad_path = torch_backend.transformer_encoder_block(**{**call, "x": call["x"].clone().requires_grad_()})
            diff = (fused - grad_path.detach()).abs().max().item()
            assert diff <= 4 * 2.0**-23 * max(1.0, fused.abs().max().item()), (norm_first, causal, diff)


def _transformer_rows(framework: str) -> dict[str, object]:
    from dlterms.conformance import conventions as cv

    return {r["id"].split(".", 1)[1]: r["value"] for r in cv.measure(framework) if r["id"].startswith("transformer.")}


def test_the_transformer_conventions_of_the_reference_torch_and_keras() -> None:
    """Measured: PyTorch's TransformerEncoderLayer is post-norm with ReLU, 2048 hidden units and ε = 1e-5 by
    default, and takes its fused path in eval mode without gradients; Keras' LayerNormalization has ε = 1e-3;
    the reference's defaults are PyTorch's."""
    torch_rows = _transformer_rows("torch")
    assert torch_rows == {
        "norm_first_default": False,
        "activation_default": "relu",
        "dim_feedforward_default": 2048,
        "layer_norm_eps": 1e-5,
        "batch_first_default": False,
        "eval_fast_path": "taken (eval mode, no gradient, an even number of heads)",
    }
    reference_rows = _transformer_rows("reference")
    assert {k: reference_rows[k] for k in ("norm_first_default", "activation_default", "layer_norm_eps")} == {
        "norm_first_default": False,
        "activation_default": "relu",
        "layer_norm_eps": 1e-5,
    }
    pytest.importorskip("tensorflow")
    assert _transformer_rows("tensorflow")["layer_norm_eps"] == pytest.approx(1e-3)
