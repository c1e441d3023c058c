"""The JAX adapter's flax layers: PyTorch's weights translated into flax's parameters, checked against the reference.

Where JAX has no op the adapter calls flax.linen (LSTMCell, GRUCell, RNN, MultiHeadDotProductAttention, Dropout).
Each translation is compared with :mod:`dlterms.reference` in float64 on fixed inputs, and a translation that
forgets one of flax's differences (the biases summed, the kernels transposed) is shown to be caught.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

pytest.importorskip("flax")
jax_backend = pytest.importorskip("dlterms.conformance.backends.jax")

import flax.linen as flax_nn  # noqa: E402

from dlterms import reference  # noqa: E402

RNG = np.random.default_rng(7)
N, T, F, H = 2, 4, 3, 5


def weights(gates: int) -> list[np.ndarray]:
    return [RNG.normal(size=(gates * H, F)), RNG.normal(size=(gates * H, H)), RNG.normal(size=gates * H),
            RNG.normal(size=gates * H)]  # fmt: skip


def as_jax(*arrays: np.ndarray) -> list[Any]:
    return [jax_backend.asarray(a, "float64") for a in arrays]


def as_lists(*arrays: np.ndarray) -> list[Any]:
    return [a.tolist() for a in arrays]


def largest_difference(got: Any, want: Any) -> float:
    got, want = (g if isinstance(g, tuple) else (g,) for g in (got, want))
    return max(float(np.max(np.abs(np.asarray(a) - np.asarray(b)))) for a, b in zip(got, want, strict=True))


X, H0, C0 = RNG.normal(size=(N, T, F)), RNG.normal(size=(N, H)), RNG.normal(size=(N, H))
LSTM_W, GRU_W = weights(4), weights(3)


@pytest.mark.parametrize("reverse", [False, True])
def test_flax_lstm_layer_equals_the_reference(reverse: bool) -> None:
    got = jax_backend.lstm(*as_jax(X, H0, C0, *LSTM_W), reverse=reverse)
    want = reference.lstm(*as_lists(X, H0, C0, *LSTM_W), reverse=reverse)
    assert largest_difference(got, want) < 1e-12


@pytest.mark.parametrize("reverse", [False, True])
def test_flax_gru_layer_equals_the_reference(reverse: bool) -> None:
    got = jax_backend.gru(*as_jax(X, H0, *GRU_W), reverse=reverse)
    want = reference.gru(*as_lists(X, H0, *GRU_W), reverse=reverse)
    assert largest_difference(got, want) < 1e-12


def test_flax_cells_equal_the_reference() -> None:
    x = X[:, 0]
    lstm = jax_backend.lstm_cell(*as_jax(x, H0, C0, *LSTM_W))
    gru = jax_backend.gru_cell(*as_jax(x, H0, *GRU_W))
    assert largest_difference(lstm, reference.lstm_cell(*as_lists(x, H0, C0, *LSTM_W))) < 1e-12
    assert largest_difference(gru, reference.gru_cell(*as_lists(x, H0, *GRU_W))) < 1e-12


@pytest.mark.parametrize("options", [{}, {"causal": True}, {"mask": [[True, False, True, True]] * 3}])
def test_flax_multi_head_attention_equals_the_reference(options: dict[str, Any]) -> None:
    e, heads = 6, 2
    q, k, v = RNG.normal(size=(N, 3, e)), RNG.normal(size=(N, 4, e)), RNG.normal(size=(N, 4, e))
    projections = [RNG.normal(size=(e, e)) for _ in range(4)]
    biases = [RNG.normal(size=3 * e), RNG.normal(size=e)]
    got = jax_backend.multi_head_attention(*as_jax(q, k, v), heads, *as_jax(*projections, *biases), **options)
    want = reference.multi_head_attention(*as_lists(q, k, v), heads, *as_lists(*projections, *biases), **options)
    assert largest_difference(got, want) < 1e-12


def test_flax_dropout_keeps_its_input_in_evaluation_and_scales_kept_units_in_training() -> None:
    x = jax_backend.asarray(np.linspace(1.0, 2.0, 4000), "float64")
    assert np.array_equal(np.asarray(jax_backend.dropout(x, x, p=0.25, training=False)), np.asarray(x))
    y = np.asarray(jax_backend.random_dropout(x, p=0.25, seed=3))
    kept = y != 0
    assert np.allclose(y[kept], np.asarray(x)[kept] / 0.75, rtol=1e-15)
    assert 0.70 < kept.mean() < 0.80  # 4000 Bernoulli(0.75) draws: 0.75 ± 0.05 is over 7 standard deviations


def test_a_translation_that_keeps_only_one_of_pytorchs_lstm_biases_is_caught() -> None:
    """flax's LSTMCell has one bias per gate: passing b_hh alone (forgetting b_ih) moves every output."""
    w_ih, w_hh, _, b_hh = as_jax(*LSTM_W)
    params = {f"i{g}": {"kernel": wi.T} for g, wi in zip("ifgo", np.split(np.asarray(w_ih), 4), strict=True)}
    params |= {
        f"h{g}": {"kernel": wh.T, "bias": bh}
        for g, wh, bh in zip("ifgo", np.split(np.asarray(w_hh), 4), np.split(np.asarray(b_hh), 4), strict=True)
    }
    (c1, h1), _ = flax_nn.LSTMCell(features=H).apply({"params": params}, tuple(as_jax(C0, H0)), as_jax(X[:, 0])[0])
    want = reference.lstm_cell(*as_lists(X[:, 0], H0, C0, *LSTM_W))
    assert largest_difference((h1, c1), want) > 1e-3


def test_a_translation_that_leaves_pytorchs_input_kernels_untransposed_is_refused() -> None:
    """PyTorch's (H, in) gate block is flax's (in, H) kernel transposed: untransposed, flax refuses the shapes."""
    w_ih, w_hh = (np.asarray(a) for a in as_jax(*GRU_W[:2]))
    params = {
        f"{side}{g}": {"kernel": w, **({"bias": np.zeros(H)} if side == "i" or g == "n" else {})}
        for side, blocks in (("i", np.split(w_ih, 3)), ("h", np.split(w_hh, 3)))
        for g, w in zip("rzn", blocks, strict=True)
    }
    with pytest.raises(Exception, match=r"(?i)shape"):
        flax_nn.GRUCell(features=H).apply({"params": params}, as_jax(H0)[0], as_jax(X[:, 0])[0])


def test_flax_conventions_are_measured_with_64_bit_types_on() -> None:
    """The gated-cell, layer and attention rows measured through flax in a process where the adapter enabled x64."""
    from dlterms.conformance import conventions

    rows = {r["id"]: r["value"] for r in conventions.measure("jax")}
    assert rows["lstm.gate_order"] == "i, f, g, o"
    assert rows["lstm.bias_count"] == 1  # one per gate, on the hidden Dense
    assert rows["lstm.forget_bias_init"] == "0"  # flax's bias_init is zeros; Keras' unit_forget_bias gives 1
    assert rows["gru.gate_order"] == "r, z, n"
    assert rows["gru.reset_after"] == "after the matmul: r ⊙ (W_hn·h + b_hn)"
    assert rows["gru.bias_count"] == 2  # the candidate's b_in and b_hn
    # flax.linen.RNN(reverse=True) keeps keep_order=False by default: outputs come in the order read, as Keras'
    assert rows["lstm.go_backwards_output_order"] == "in the order read, last input first"
    assert rows["mha.projection_layout"] == "one kernel per projection (E, H, E/H), (in, heads, features)"
    assert rows["mha.batch_first_default"] is True and rows["mha.default_bias"] is True


def test_flax_normalization_layers_give_the_jax_column_of_the_rows_jax_has_no_op_for() -> None:
    """RMS, group and batch norm: JAX has no op, so their rows are flax.linen's layers with their documented defaults
    (RMSNorm and GroupNorm ε = 1e−6; BatchNorm ε = 1e−5, momentum 0.99 on the old value: ``ra = m·ra + (1 − m)·x``)."""
    from dlterms.conformance.conventions import jax as jax_conventions

    rows = {p.convention: p.measure() for p in jax_conventions.PROBES if p.api.startswith("flax.linen.")}
    assert rows["rms_norm.default_eps"] == 1e-6 and rows["group_norm.default_eps"] == 1e-6
    assert rows["group_norm.variance"] == "biased (divides by n)"
    assert rows["batch_norm.default_eps"] == 1e-5
    assert rows["batch_norm.new_batch_weight"] == 0.01  # 1 − 0.99, read from flax's float32 running mean
    assert rows["batch_norm.momentum_meaning"] == "weights the old value"
    assert rows["batch_norm.running_variance"] == "biased (divides by n)"
