"""The gated recurrent layers' invariants: correct backends pass, each hand-written invariant catches a deliberately
broken layer (a swapped gate order, the state not carried, Keras' go_backwards order left as it is, ...), the
adapters' translations equal torch, and Keras' go_backwards output order shown directly."""

from __future__ import annotations

import functools
import importlib
from typing import Any

import numpy as np
import pytest
import torch
from dlterms.conformance.backends import torch as torch_backend
from dlterms.conformance.conventions import reference as cv

TERMS = "long-short-term-memory,gated-recurrent-unit"


def _layer(
    kind: str,
    x: torch.Tensor,
    states: tuple[torch.Tensor, ...],
    weights: tuple[torch.Tensor, ...],
    reverse: bool,
    *,
    swap_gates: bool = False,
    forget_state: bool = False,
    outputs_in_read_order: bool = False,
    ignore_reverse: bool = False,
    h_n_first_read: bool = False,
) -> tuple[torch.Tensor, ...]:
    """The layer as a loop over torch's own cells, with one mistake switched on by a keyword."""
    w_ih, w_hh, b_ih, b_hh = weights
    if swap_gates:  # LSTM: the first two blocks read as (f, i); GRU: as (z, r)
        w_ih, w_hh, b_ih, b_hh = (torch.cat([w.chunk(_gates(kind))[i] for i in _swap(kind)]) for w in weights)
    cell = torch_backend.lstm_cell if kind == "lstm" else torch_backend.gru_cell
    steps = range(x.shape[1] - 1, -1, -1) if reverse and not ignore_reverse else range(x.shape[1])
    state, outputs, read = states, [None] * x.shape[1], []
    for t in steps:
        out = cell(x[:, t], *(states if forget_state else state), w_ih, w_hh, b_ih, b_hh)  # forget: from h0, c0
        state = out if isinstance(out, tuple) else (out,)
        outputs[t] = state[0]
        read.append(state[0])
    stacked = torch.stack(read if outputs_in_read_order else outputs, dim=1)
    finals = (read[0], *state[1:]) if h_n_first_read else state
    return (stacked, *finals)


def _gates(kind: str) -> int:
    return 4 if kind == "lstm" else 3


def _swap(kind: str) -> tuple[int, ...]:
    return (1, 0, 2, 3) if kind == "lstm" else (1, 0, 2)


def _lstm(mistake: str, x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse=False):  # type: ignore[no-untyped-def]
    return _layer("lstm", x, (h0, c0), (w_ih, w_hh, b_ih, b_hh), reverse, **{mistake: True})


def _gru(mistake: str, x, h0, w_ih, w_hh, b_ih, b_hh, reverse=False):  # type: ignore[no-untyped-def]
    return _layer("gru", x, (h0,), (w_ih, w_hh, b_ih, b_hh), reverse, **{mistake: True})


# A mistake and the hand-written invariant that must name it, for each layer.
BREAKS = [
    ("swap_gates", "saturated_gates_carry_the_cell_state", "saturated_update_gate_keeps_the_state"),
    ("forget_state", "equals_composition_of_cells", "equals_composition_of_cells"),
    ("ignore_reverse", "causal", "causal"),
    ("h_n_first_read", "last_output_is_h_n", "last_output_is_h_n"),
    ("outputs_in_read_order", "reverse_is_flipped_forward", "reverse_is_flipped_forward"),
]


def _broken(kind: str, mistake: str) -> Any:
    return functools.partial(_lstm if kind == "lstm" else _gru, mistake)


@pytest.mark.parametrize("backend", ["reference", "numpy", "torch"])
def test_correct_backends_pass_every_layer_invariant(conform, backend: str) -> None:
    """The reference, NumPy and PyTorch pass every LSTM and GRU invariant, cells and layers (exit 0)."""
    run = conform(backend, "--terms", TERMS, "--max-examples", "10")
    assert run.code == 0, run.out
    assert not run.rows("fail") and not run.rows("error")
    assert {r["invariant"].split(".")[0] for r in run.rows("pass")} >= {"lstm", "gru"}


@pytest.mark.parametrize(("kind", "term"), [("lstm", "long-short-term-memory"), ("gru", "gated-recurrent-unit")])
@pytest.mark.parametrize("brk", BREAKS, ids=[b[0] for b in BREAKS])
def test_broken_layer_exits_1_naming_the_invariant(conform, broken_backend, kind: str, term: str, brk: Any) -> None:
    """A deliberately broken layer makes `dlterms conform` exit 1, naming the hand-written invariant it violates."""
    mistake, lstm_inv, gru_inv = brk
    expected = f"{kind}.{lstm_inv if kind == 'lstm' else gru_inv}"
    spec = broken_backend("torch", **{kind: _broken(kind, mistake)})
    run = conform(spec, "--terms", term, "--max-examples", "25", "--dtype", "float64")
    assert run.code == 1
    assert expected in run.failed_invariants()
    row = next(r for r in run.rows("fail") if r["invariant"] == expected)
    assert row["counterexample"] is not None


def test_the_broken_layers_helper_unbroken_passes(conform, broken_backend) -> None:
    """The helper with no mistake switched on passes every LSTM invariant: the failures above are the mistakes'."""
    correct = functools.partial(_layer, "lstm")
    spec = broken_backend(
        "torch",
        lstm=lambda x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse=False: correct(
            x, (h0, c0), (w_ih, w_hh, b_ih, b_hh), reverse
        ),
    )
    run = conform(spec, "--terms", "long-short-term-memory", "--max-examples", "15", "--dtype", "float64")
    assert run.code == 0, run.out


# --- the adapters' translations, and Keras' go_backwards -------------------------------------------------------


def _case(gates: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    n, steps, n_in, hidden = 2, 3, 2, 2
    case = {"x": rng.uniform(-1, 1, (n, steps, n_in)), "h0": rng.uniform(-1, 1, (n, hidden))}
    case |= {"w_ih": rng.uniform(-1, 1, (gates * hidden, n_in)), "w_hh": rng.uniform(-1, 1, (gates * hidden, hidden))}
    case |= {"b_ih": rng.uniform(-1, 1, gates * hidden), "b_hh": rng.uniform(-1, 1, gates * hidden)}
    if gates == 4:
        case["c0"] = rng.uniform(-2, 2, (n, hidden))
    return case


@pytest.mark.parametrize("framework", ["jax", "tensorflow", "numpy"])
@pytest.mark.parametrize(("kind", "gates"), [("lstm", 4), ("gru", 3)])
@pytest.mark.parametrize("reverse", [False, True])
def test_each_adapter_equals_torch_in_float64(framework: str, kind: str, gates: int, reverse: bool) -> None:
    """JAX's lax.scan of its cells, Keras' LSTM/GRU layers (go_backwards flipped back) and NumPy's loop equal
    torch's layer (its bidirectional layer's backward half for reverse) within 1e-12 in float64."""
    bk = pytest.importorskip(f"dlterms.conformance.backends.{framework}")
    case = _case(gates, seed=gates + 2 * reverse)
    expected = getattr(torch_backend, kind)(**{k: torch.tensor(v) for k, v in case.items()}, reverse=reverse)
    got = getattr(bk, kind)(**{k: bk.asarray(v.tolist(), "float64") for k, v in case.items()}, reverse=reverse)
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(bk.to_numpy(g), e.detach().numpy(), rtol=1e-12, atol=1e-12)


def test_keras_go_backwards_returns_outputs_in_the_order_it_read_them() -> None:
    """keras.layers.GRU(go_backwards=True) with a 1-unit candidate reading x only: its first output is the state after
    reading the LAST input (tanh(3)/2 from h = 0), and its last output equals its final state: outputs in read order,
    which the adapter flips back to the inputs' positions."""
    keras = pytest.importorskip("keras")
    layer = keras.layers.GRU(1, return_sequences=True, return_state=True, go_backwards=True, dtype="float64")
    layer.build((None, None, 1))
    kernel = np.zeros((1, 3))
    kernel[0, 2] = 1.0  # only the candidate n reads x (Keras' blocks z, r, n): z = ½, n = tanh(x_t + r·0)
    layer.set_weights([kernel, np.zeros((1, 3)), np.zeros((2, 3))])
    x = np.array([[[1.0], [2.0], [3.0]]])
    outputs, h_n = (np.asarray(v) for v in layer(x))
    assert outputs[0, 0, 0] == pytest.approx(np.tanh(3.0) / 2, rel=1e-15)
    assert outputs[0, -1, 0] == h_n[0, 0]


# --- conventions: the readers on hand-built results, then each framework's measured facts ----------------------


def test_the_backwards_order_reader_tells_positions_from_read_order() -> None:
    """The only non-zero output first reads as at the inputs' positions, last as the order read, else unrecognised."""
    assert cv.backwards_order_read([[[0.3], [0.0], [0.0]]]).startswith("at the inputs' positions")
    assert cv.backwards_order_read([[[0.0], [0.0], [0.3]]]) == "in the order read, last input first"
    assert cv.backwards_order_read([[[0.3], [0.1], [0.0]]]).startswith("unrecognised")


def test_the_merge_and_layout_readers_name_what_they_see() -> None:
    """Zeros mark the backward direction: [x, 0] per step is [forward, backward], [0, x] the reverse; stacked states
    name their first direction, separate ones are listed in order."""
    assert cv.merge_read([[[0.3, 0.0], [0.1, 0.0]]]) == "concat on the feature axis, [forward, backward]"
    assert cv.merge_read([[[0.0, 0.3], [0.0, 0.1]]]) == "concat on the feature axis, [backward, forward]"
    assert cv.merge_read([[[0.3], [0.1]]]).startswith("unrecognised")
    assert cv.h_n_layout_read([[[[0.0]], [[0.2]]]]) == "each state stacked (2·layers, N, H), backward first"
    assert cv.h_n_layout_read([[[0.2]], [[0.0]]]) == "2 separate (N, H) tensors: forward, backward"


@pytest.mark.parametrize(
    ("framework", "expected"),
    [
        (
            "reference",
            {
                "lstm_go_backwards_output_order": "at the inputs' positions (the state after reading x_t at t)",
                "bidirectional_merge_mode": "concat on the feature axis, [forward, backward]",
                "bidirectional_h_n_layout": "each state stacked (2·layers, N, H), forward first",
            },
        ),
        (
            "torch",
            {
                "lstm_go_backwards_output_order": "at the inputs' positions (the state after reading x_t at t)",
                "bidirectional_merge_mode": "concat on the feature axis, [forward, backward]",
                "bidirectional_h_n_layout": "each state stacked (2·layers, N, H), forward first",
            },
        ),
        (
            "tensorflow",
            {
                "lstm_go_backwards_output_order": "in the order read, last input first",
                "bidirectional_merge_mode": "concat on the feature axis, [forward, backward]",
                "bidirectional_h_n_layout": "4 separate (N, H) tensors: forward, forward, backward, backward",
            },
        ),
    ],
)
def test_each_framework_measures_its_bidirectional_conventions(framework: str, expected: dict[str, str]) -> None:
    """PyTorch's backward direction writes each output at its input's position, concatenates [forward, backward]
    and stacks h_n and c_n (2·layers, N, H) forward first; Keras' go_backwards returns outputs in the order read,
    Bidirectional concatenates by default and returns h and c of each direction as separate tensors."""
    probes = importlib.import_module(f"dlterms.conformance.conventions.{framework}")
    assert {name: getattr(probes, name)() for name in expected} == expected
