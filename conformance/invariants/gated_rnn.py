"""Invariants of the gated recurrent cells, LSTM and GRU (beyond the seed, section recurrent neural networks).

Cases are small (N ≤ 2, in ≤ 3, H ≤ 3) so that the pure-Python reference stays
fast, and weights lie in [−1, 1] so that the gates are not saturated everywhere:
a gate's pre-activation is then at most 3·2 + 1 + 3·1 + 1 = 11 in magnitude.
The saturation invariants add ±SATURATED to one gate's input bias: its
pre-activation is then beyond ±29, where σ is within 2.6·10⁻¹³ of 0 or 1.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from dlterms import ops as op_records

from .. import tolerances
from ..backends import Backend
from ..checks import as_float64, assert_close, assert_that
from ..registry import invariant, register_ops
from ..strategies import float_arrays

register_ops(op_records.gated_rnn.OPS)

LSTM_ARGS = op_records.OPS["lstm_cell"].arg_names  # x, h, c, w_ih, w_hh, b_ih, b_hh
GRU_ARGS = op_records.OPS["gru_cell"].arg_names  # x, h, w_ih, w_hh, b_ih, b_hh
# A gate's bias that saturates it whatever the other ten units of its pre-activation add: σ(±29) is
# 1 − 2.5·10⁻¹³ or 2.5·10⁻¹³, far below every dtype's tolerance (and 40 is exact in every dtype).
SATURATED = 40.0


def _sizes() -> st.SearchStrategy[tuple[int, int, int]]:
    """``(N, in, H)``."""
    return st.tuples(st.integers(1, 2), st.integers(1, 3), st.integers(1, 3))


def _cell(dtype: str, gates: int, n: int, n_in: int, hidden: int, x_max: float, lstm: bool) -> dict[str, Any]:
    """Strategies for a cell's arguments: x in [−x_max, x_max], h in [−1, 1] (a state of tanh), c in [−2, 2]."""
    fields = {
        "x": float_arrays(dtype, (n, n_in), min_value=-x_max, max_value=x_max),
        "h": float_arrays(dtype, (n, hidden), min_value=-1.0, max_value=1.0),
        "w_ih": float_arrays(dtype, (gates * hidden, n_in), min_value=-1.0, max_value=1.0),
        "w_hh": float_arrays(dtype, (gates * hidden, hidden), min_value=-1.0, max_value=1.0),
        "b_ih": float_arrays(dtype, (gates * hidden,), min_value=-1.0, max_value=1.0),
        "b_hh": float_arrays(dtype, (gates * hidden,), min_value=-1.0, max_value=1.0),
    }
    if lstm:
        fields["c"] = float_arrays(dtype, (n, hidden), min_value=-2.0, max_value=2.0)
    return fields


def lstm_cases(dtype: str, *, x_max: float = 2.0) -> st.SearchStrategy[dict[str, Any]]:
    """``{x, h, c, w_ih, w_hh, b_ih, b_hh}`` of consistent random sizes (4H gate rows)."""
    return _sizes().flatmap(lambda s: st.fixed_dictionaries(_cell(dtype, 4, *s, x_max, lstm=True)))


def gru_cases(dtype: str, *, x_max: float = 2.0) -> st.SearchStrategy[dict[str, Any]]:
    """``{x, h, w_ih, w_hh, b_ih, b_hh}`` of consistent random sizes (3H gate rows)."""
    return _sizes().flatmap(lambda s: st.fixed_dictionaries(_cell(dtype, 3, *s, x_max, lstm=False)))


def _call(bk: Backend, op: str, dtype: str, case: dict[str, Any], **replace: Any) -> list[np.ndarray]:
    """``bk.<op>`` on the case (with some arguments replaced), its outputs as float64 arrays."""
    names = LSTM_ARGS if op == "lstm_cell" else GRU_ARGS
    out = getattr(bk, op)(**{k: bk.asarray(replace.get(k, case[k]), dtype) for k in names})
    return [as_float64(bk, o) for o in (out if isinstance(out, tuple) else (out,))]


def _set_block(b: Any, gates: int, block: int, value: Any) -> list[float]:
    """The bias ``b`` (gates·H,) with the H entries of ``block`` replaced by ``value`` (a number or (H,))."""
    out = np.asarray(b, dtype=np.float64).copy()
    hidden = len(out) // gates
    out[block * hidden : (block + 1) * hidden] = value
    return out.tolist()


# --- the LSTM cell -------------------------------------------------------------------------


@invariant(
    "lstm_cell.gates_bound_the_states",
    term="long-short-term-memory",
    statement="The gates lie in (0, 1) and the candidate in (−1, 1): |c′| ≤ |c| + 1 (c′ = f·c + i·g) and "
    "|h′| ≤ 1 (h′ = o·tanh(c′)), each up to the rounding of |c| + 1 to the dtype.",
    # Inputs up to ±6 so that some candidates' pre-activations lie far beyond ±1.
    cases=lambda d: lstm_cases(d, x_max=6.0),
)
def lstm_cell_state_bounds(bk: Backend, dtype: str, **case: Any) -> None:
    h1, c1 = _call(bk, "lstm_cell", dtype, case)
    bound = (np.abs(np.asarray(case["c"], dtype=np.float64)) + 1.0) * (1.0 + 2.0 * tolerances.UNIT_ROUNDOFF[dtype])
    assert_that(np.abs(c1) <= bound, "|c′| exceeds |c| + 1: a gate or the candidate left its range", c=c1, bound=bound)
    assert_that(np.abs(h1) <= 1.0, "|h′| exceeds 1: the output gate or tanh(c′) left its range", h=h1)


@invariant(
    "lstm_cell.saturated_gates_carry_the_cell_state",
    term="long-short-term-memory",
    statement="With the forget gate saturated open (b_f = +40) and the input gate shut (b_i = −40), "
    "the cell state is carried unchanged: c′ = c (PyTorch's gate order i, f, g, o).",
    cases=lstm_cases,
)
def lstm_cell_carries_state(bk: Backend, dtype: str, **case: Any) -> None:
    b_ih = _set_block(_set_block(case["b_ih"], 4, 0, -SATURATED), 4, 1, SATURATED)
    _, c1 = _call(bk, "lstm_cell", dtype, case, b_ih=b_ih)
    assert_close(c1, np.asarray(case["c"], dtype=np.float64), tolerances.forward(dtype), "c′ with f = 1, i = 0")


# --- the GRU cell ----------------------------------------------------------------------------


@invariant(
    "gru_cell.saturated_update_gate_keeps_the_state",
    term="gated-recurrent-unit",
    statement="With the update gate saturated at 1 (b_z = +40), h′ = (1 − z)·n + z·h keeps the state: "
    "h′ = h (PyTorch's gate order r, z, n), up to the rounding of the terms (|h| + |n|).",
    cases=gru_cases,
)
def gru_cell_keeps_state(bk: Backend, dtype: str, **case: Any) -> None:
    (h1,) = _call(bk, "gru_cell", dtype, case, b_ih=_set_block(case["b_ih"], 3, 1, SATURATED))
    h = np.asarray(case["h"], dtype=np.float64)
    # The form n + z·(h − n) (PyTorch's kernels: measured, bfloat16 GRUCell gives h′ = 0 for h = 2⁻⁹, n ≈ 0.62)
    # rounds h − n and the sum: 2u·(|h| + |n|) with |n| < 1, beyond the dtype's tolerance relative to h.
    rounding = 2 * tolerances.UNIT_ROUNDOFF[dtype] * (np.abs(h) + 1.0)
    assert_close(h1, h, tolerances.forward(dtype), "h′ with z = 1", extra=rounding)


def _reset_cases(dtype: str) -> st.SearchStrategy[dict[str, Any]]:
    """A GRU case plus ``h_other`` (another state) and ``b_hn_other`` (another b_hn, at least 0.25 away)."""

    def build(s: tuple[int, int, int]) -> st.SearchStrategy[dict[str, Any]]:
        n, _, hidden = s
        fields = _cell(dtype, 3, *s, 2.0, lstm=False)
        fields["h_other"] = float_arrays(dtype, (n, hidden), min_value=-1.0, max_value=1.0)
        fields["b_hn_shift"] = float_arrays(dtype, (hidden,), min_value=-1.0, max_value=1.0, away_from=0.0, margin=0.25)
        return st.fixed_dictionaries(fields)

    return _sizes().flatmap(build)


@invariant(
    "gru_cell.reset_gate_multiplies_the_hidden_matmul",
    term="gated-recurrent-unit",
    statement="The reset gate multiplies the hidden side with its bias, n = tanh(W_in·x + b_in + r·(W_hn·h + b_hn)): "
    "with r and z shut (b_r = b_z = −40), h′ = tanh(W_in·x + b_in) depends neither on h nor on b_hn "
    "(resetting h before the matmul, Keras' reset_after=False, keeps b_hn).",
    cases=_reset_cases,
)
def gru_cell_reset_after(bk: Backend, dtype: str, h_other: Any, b_hn_shift: Any, **case: Any) -> None:
    b_ih = _set_block(_set_block(case["b_ih"], 3, 0, -SATURATED), 3, 1, -SATURATED)
    hidden = len(case["h"][0])
    b_hn = np.asarray(case["b_hh"], dtype=np.float64)[2 * hidden :] + np.asarray(b_hn_shift, dtype=np.float64)
    (h1,) = _call(bk, "gru_cell", dtype, case, b_ih=b_ih)
    (h2,) = _call(bk, "gru_cell", dtype, case, b_ih=b_ih, h=h_other, b_hh=_set_block(case["b_hh"], 3, 2, b_hn))
    assert_close(h2, h1, tolerances.forward(dtype), "h′ with r = z = 0 after h and b_hn changed")
