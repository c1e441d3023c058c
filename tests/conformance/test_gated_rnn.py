"""The gated recurrent cells' invariants: correct backends pass, and each hand-written invariant catches a
deliberately broken cell (a swapped gate order, a missing tanh, the reset gate before the matmul)."""

from __future__ import annotations

import functools
import importlib
import math

import numpy as np
import pytest
import torch
from dlterms.conformance.conventions import readings

GATED_TERMS = "long-short-term-memory,gated-recurrent-unit"


def _gates(
    x: torch.Tensor,
    h: torch.Tensor,
    w_ih: torch.Tensor,
    w_hh: torch.Tensor,
    b_ih: torch.Tensor,
    b_hh: torch.Tensor,
    blocks: int,
) -> tuple[torch.Tensor, ...]:
    return torch.chunk(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh, blocks, dim=-1)


def _lstm_i_f_swapped(x, h, c, w_ih, w_hh, b_ih, b_hh):  # type: ignore[no-untyped-def]
    f, i, g, o = _gates(x, h, w_ih, w_hh, b_ih, b_hh, 4)  # reads the blocks as f, i, g, o
    c1 = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c1), c1


def _lstm_candidate_without_tanh(x, h, c, w_ih, w_hh, b_ih, b_hh):  # type: ignore[no-untyped-def]
    i, f, g, o = _gates(x, h, w_ih, w_hh, b_ih, b_hh, 4)
    c1 = torch.sigmoid(f) * c + torch.sigmoid(i) * g  # c′ = f·c + i·g with g's tanh missing
    return torch.sigmoid(o) * torch.tanh(c1), c1


def _lstm_output_without_tanh(x, h, c, w_ih, w_hh, b_ih, b_hh):  # type: ignore[no-untyped-def]
    i, f, g, o = _gates(x, h, w_ih, w_hh, b_ih, b_hh, 4)
    c1 = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * c1, c1  # h′ = o·c′, tanh(c′) missing


def _gru(x, h, w_ih, w_hh, b_ih, b_hh, *, order="rzn", reset_before=False):  # type: ignore[no-untyped-def]
    x_r, x_z, x_n = torch.chunk(x @ w_ih.T + b_ih, 3, dim=-1)
    h_r, h_z, h_n = torch.chunk(h @ w_hh.T + b_hh, 3, dim=-1)
    if order == "zrn":
        x_r, x_z, h_r, h_z = x_z, x_r, h_z, h_r
    r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
    w_hn, b_hn = torch.chunk(w_hh, 3, dim=0)[2], torch.chunk(b_hh, 3)[2]
    # Reset before the matmul (Cho et al.'s paper, Keras' reset_after=False): W_hn·(r ⊙ h) + b_hn.
    hidden = (r * h) @ w_hn.T + b_hn if reset_before else r * h_n
    n = torch.tanh(x_n + hidden)
    return (1 - z) * n + z * h


@pytest.mark.parametrize("backend", ["reference", "numpy", "torch"])
def test_correct_backends_pass_every_gated_cell_invariant(conform, backend: str) -> None:
    """The reference, NumPy and PyTorch pass every LSTM and GRU invariant (exit 0, both terms reported)."""
    run = conform(backend, "--terms", GATED_TERMS, "--max-examples", "15")
    assert run.code == 0, run.out
    assert not run.rows("fail") and not run.rows("error")
    assert {r["term"] for r in run.rows()} == set(GATED_TERMS.split(","))


@pytest.mark.parametrize(
    ("op", "impl", "term", "expected"),
    [
        ("lstm_cell", _lstm_i_f_swapped, "long-short-term-memory", "lstm_cell.saturated_gates_carry_the_cell_state"),
        ("lstm_cell", _lstm_candidate_without_tanh, "long-short-term-memory", "lstm_cell.gates_bound_the_states"),
        ("lstm_cell", _lstm_output_without_tanh, "long-short-term-memory", "lstm_cell.gates_bound_the_states"),
        (
            "gru_cell",
            functools.partial(_gru, order="zrn"),
            "gated-recurrent-unit",
            "gru_cell.saturated_update_gate_keeps_the_state",
        ),
        (
            "gru_cell",
            functools.partial(_gru, reset_before=True),
            "gated-recurrent-unit",
            "gru_cell.reset_gate_multiplies_the_hidden_matmul",
        ),
    ],
)
def test_broken_cell_exits_1_naming_the_invariant(
    conform, broken_backend, op: str, impl, term: str, expected: str
) -> None:
    """A deliberately broken cell makes `dlterms conform` exit 1, naming the hand-written invariant it violates."""
    spec = broken_backend("torch", **{op: impl})
    run = conform(spec, "--terms", term, "--max-examples", "25", "--dtype", "float64")
    assert run.code == 1
    assert expected in run.failed_invariants()
    row = next(r for r in run.rows("fail") if r["invariant"] == expected)
    assert row["counterexample"] is not None


def test_the_correct_broken_cell_helper_passes(conform, broken_backend) -> None:
    """The broken cells' GRU helper, unbroken, passes every GRU invariant: the failures above are the breaks'."""
    spec = broken_backend("torch", gru_cell=_gru)
    run = conform(spec, "--terms", "gated-recurrent-unit", "--max-examples", "15", "--dtype", "float64")
    assert run.code == 0, run.out


def test_torch_bfloat16_grucell_rounds_h_minus_n() -> None:
    """PyTorch's bfloat16 GRUCell with z = 1 exactly returns 0 for h = 2⁻⁹ where n ≈ 0.62: it computes
    n + z·(h − n), whose h − n rounds h away (the rounding the saturated-update invariant allows, 2u·(|h| + 1))."""
    module = torch.nn.GRUCell(1, 1, device="meta", dtype=torch.bfloat16)
    params = {
        "weight_ih": torch.zeros(3, 1, dtype=torch.bfloat16),
        "weight_hh": torch.zeros(3, 1, dtype=torch.bfloat16),
        "bias_ih": torch.tensor([0.0, 40.0, 0.0], dtype=torch.bfloat16),
        "bias_hh": torch.ones(3, dtype=torch.bfloat16),
    }
    x, h = torch.zeros(1, 1, dtype=torch.bfloat16), torch.full((1, 1), 2.0**-9, dtype=torch.bfloat16)
    got = torch.func.functional_call(module, params, (x, h))
    assert float(got) == 0.0
    assert abs(float(got) - 2.0**-9) <= 2 * 2.0**-8 * (2.0**-9 + 1.0)


# --- conventions: the readers on hand-built cells, then each framework's measured facts -------------------


def _sigmoid(a: float) -> float:
    return 1.0 / (1.0 + math.exp(-a))


def _fake_lstm(order: str):  # type: ignore[no-untyped-def]
    """An LSTM cell by hand (h = 0, c = 1, zero weights) whose bias blocks drive the gates in ``order``."""

    def cell(b: list[float]) -> tuple[float, float]:
        a = dict(zip(order.split(", "), b, strict=True))
        c1 = _sigmoid(a["f"]) * 1.0 + _sigmoid(a["i"]) * math.tanh(a["g"])
        return _sigmoid(a["o"]) * math.tanh(c1), c1

    return cell


def _fake_gru(order: str):  # type: ignore[no-untyped-def]
    """A GRU cell by hand (h = 1/2, zero weights and hidden biases) whose bias blocks are the gates in ``order``."""

    def cell(b: list[float]) -> float:
        a = dict(zip(order.split(", "), b, strict=True))
        z, n = _sigmoid(a["z"]), math.tanh(a["n"] + _sigmoid(a["r"]) * 0.0)
        return (1 - z) * n + z * 0.5

    return cell


@pytest.mark.parametrize("order", ["i, f, g, o", "f, i, o, g", "o, g, f, i"])
def test_lstm_gate_order_reader_names_each_block(order: str) -> None:
    """The reader names the blocks of a hand-written cell in whatever order they drive the gates."""
    assert readings.lstm_gate_order_read(_fake_lstm(order)) == order


@pytest.mark.parametrize("order", ["r, z, n", "z, r, n", "n, z, r"])
def test_gru_gate_order_reader_names_each_block(order: str) -> None:
    """The reader names the blocks of a hand-written GRU cell in whatever order they are stacked."""
    assert readings.gru_gate_order_read(_fake_gru(order)) == order


def test_gru_reset_reader_tells_the_two_placements_apart() -> None:
    """h′ = (0, 0) reads as after the matmul, (0, tanh 1) as before it (the probe's two outcomes, by hand), and
    Keras' GRUCell(reset_after=False) on the probe reads as before."""
    assert readings.gru_reset_read([0.0, 0.0]).startswith("after")
    assert readings.gru_reset_read([0.0, math.tanh(1.0)]).startswith("before")
    keras = pytest.importorskip("keras")
    cell = keras.layers.GRUCell(2, reset_after=False, dtype="float64")
    cell.build((None, 1))
    s = readings.GATE_SATURATION
    recurrent = np.zeros((2, 6))
    recurrent[:, 4:] = np.asarray(readings.GRU_RESET_W_HN).T
    cell.set_weights([np.zeros((1, 6)), recurrent, np.array([-s, -s, *readings.GRU_RESET_R_BIAS, 0.0, 0.0])])
    h1, _ = cell(np.zeros((1, 1)), [np.asarray([readings.GRU_RESET_H])])
    assert readings.gru_reset_read(np.asarray(h1)).startswith("before")


def test_forget_bias_reader_tells_ones_from_uniform() -> None:
    """A forget block of ones over zeros reads as 1; draws within ±1/√H read as uniform."""
    assert readings.forget_bias_init_read([1.0, 1.0], [0.0] * 6, 2) == "1 (the other gates' 0)"
    assert readings.forget_bias_init_read([0.1, -0.3], [0.2] * 6, 4).startswith("uniform")


@pytest.mark.parametrize(
    ("framework", "expected"),
    [
        (
            "torch",
            {
                "lstm_gate_order": "i, f, g, o",
                "lstm_bias_count": 2,
                "gru_gate_order": "r, z, n",
                "gru_bias_count": 2,
                "gru_reset_after": "after the matmul: r ⊙ (W_hn·h + b_hn)",
                "lstm_forget_bias_init": "uniform(±1/√H), as every other bias",
            },
        ),
        (
            "tensorflow",
            {
                "lstm_gate_order": "i, f, g, o",
                "lstm_bias_count": 1,
                "gru_gate_order": "z, r, n",
                "gru_bias_count": 2,
                "gru_reset_after": "after the matmul: r ⊙ (W_hn·h + b_hn)",
                "lstm_forget_bias_init": "1 (the other gates' 0)",
            },
        ),
    ],
)
def test_each_framework_measures_its_gated_cell_conventions(framework: str, expected: dict[str, object]) -> None:
    """PyTorch stacks LSTM gates i, f, g, o and GRU gates r, z, n with two biases; Keras the LSTM's in the same
    order with one bias (its forget block initialised to 1) and the GRU's as z, r, n; both reset after the matmul."""
    probes = importlib.import_module(f"dlterms.conformance.conventions.{framework}")
    assert {name: getattr(probes, name)() for name in expected} == expected
