"""Op records of the gated recurrent layers over a sequence, LSTM and GRU (section recurrent neural networks)."""

from __future__ import annotations

from .record import INF, NAN, Cases, Op, Special, option, relative, tensor

_WEIGHTS = (tensor("w_ih"), tensor("w_hh"), tensor("b_ih"), tensor("b_hh"))
_REVERSE = option("reverse", False, "bool")
# (batch, steps, inputs, hidden): 64 hidden units over 17 steps, and 33 (a remainder) over 65 steps.
_SHAPES = ((3, 17, 33, 64), (2, 65, 16, 33))
_SIZES_WHY = "64 hidden units over 17 steps, and 33 over 65 steps, forward and reversed"
_SATURATED = {"x": [[[1.0], [1.0]]], "w_ih": [[1.0]] * 4, "w_hh": [[1.0]] * 4, "b_hh": [0.0] * 4}
_LSTM_CARRY = {**_SATURATED, "h0": [[0.0]], "c0": [[0.5]], "b_ih": [-INF, INF, 0.0, -INF]}
_GRU_KEEP = {"x": [[[1.0], [1.0]]], "h0": [[0.5]], "w_ih": [[1.0]] * 3, "w_hh": [[1.0]] * 3, "b_hh": [0.0] * 3}
_GRU_KEEP["b_ih"] = [0.0, INF, 0.0]

OPS = (
    Op(
        "lstm",
        term="long-short-term-memory",
        summary="one LSTM layer over x (N, T, in), batch first, from h0, c0 (N, H): (outputs (N, T, H), h_n, c_n); "
        "reverse=True reads t = T … 1 (a bidirectional layer's backward half)",
        args=(tensor("x"), tensor("h0"), tensor("c0"), *_WEIGHTS, _REVERSE),
        cases=Cases("invariants.recurrent_layers.lstm_cases", why="N ≤ 2, T ≤ 3, in ≤ 2, H ≤ 2, both directions"),
        returns=("outputs", "h_n", "c_n"),
        accuracy=relative(
            "rounded",
            "each step is an LSTM cell (lstm_cell's bound at the reference's states) and the errors of h and c "
            "it starts from enter its gates through |W_hh| and its cell state through f",
            accumulation="lstm",
        ),
        sizes=Cases("invariants.recurrent_layers.layer_sizes", {"shapes": _SHAPES, "gates": 4}, why=_SIZES_WHY),
        special_values=(
            Special(
                "infinite_gate_biases_carry_the_cell_state",
                "with b_f = +∞ and b_i = b_o = −∞ at every step, c_n = c0 and every output is 0",
                "f = σ(+∞) = 1 keeps c, i = σ(−∞) = 0 writes nothing, o = 0 outputs nothing, step after step",
                _LSTM_CARRY,
                value=[[[[0.0], [0.0]]], [[0.0]], [[0.5]]],
                because="each step: c = 1·0.5 + 0·tanh(1 + 0) = 0.5 and h = 0·tanh(0.5) = 0, so the next step's "
                "h·W_hh is 0 again: the limits of σ, no 0·∞ met",
            ),
            Special(
                "reverse_nan_reaches_only_the_steps_read_after_it",
                "reversed, a NaN in x[:, 0] leaves outputs[:, 1] finite and makes outputs[:, 0], h_n and c_n NaN",
                "the reversed layer reads t = 2 before t = 1: NaN in, NaN out from where it is read on",
                {**_LSTM_CARRY, "x": [[[NAN], [1.0]]], "reverse": True},
                value=[[[[NAN], [0.0]]], [[NAN]], [[NAN]]],
                because="step t = 2 is the carrying step above (h = 0, c = 0.5); at t = 1 every gate's "
                "pre-activation holds NaN (IEEE 754 §6.2), so c and h are NaN",
            ),
        ),
    ),
    Op(
        "gru",
        term="gated-recurrent-unit",
        summary="one GRU layer over x (N, T, in), batch first, from h0 (N, H): (outputs (N, T, H), h_n); "
        "reverse=True reads t = T … 1",
        args=(tensor("x"), tensor("h0"), *_WEIGHTS, _REVERSE),
        cases=Cases("invariants.recurrent_layers.gru_cases", why="N ≤ 2, T ≤ 3, in ≤ 2, H ≤ 2, both directions"),
        returns=("outputs", "h_n"),
        accuracy=relative(
            "rounded",
            "each step is a GRU cell (gru_cell's bound at the reference's states) and the error of the h it "
            "starts from enters its gates through |W_hh| and its output through z",
            accumulation="gru",
        ),
        sizes=Cases("invariants.recurrent_layers.layer_sizes", {"shapes": _SHAPES, "gates": 3}, why=_SIZES_WHY),
        special_values=(
            Special(
                "infinite_update_bias_keeps_the_state",
                "with b_z = +∞ at every step, every output and h_n equal h0",
                "z = σ(+∞) = 1 keeps the state and 1 − z = 0 drops the candidate, step after step",
                _GRU_KEEP,
                value=[[[[0.5], [0.5]]], [[0.5]]],
                because="each step: h = 0·n + 1·0.5 = 0.5 with n = tanh(1 + σ(1.5)·0.5) finite",
            ),
            Special(
                "reverse_nan_reaches_only_the_steps_read_after_it",
                "reversed, a NaN in x[:, 0] leaves outputs[:, 1] = h0 and makes outputs[:, 0] and h_n NaN",
                "the reversed layer reads t = 2 before t = 1: NaN in, NaN out from where it is read on",
                {**_GRU_KEEP, "x": [[[NAN], [1.0]]], "reverse": True},
                value=[[[[NAN], [0.5]]], [[NAN]]],
                because="step t = 2 keeps h0 = 0.5 as above; at t = 1 every gate's pre-activation holds NaN "
                "(IEEE 754 §6.2), so z, n and h are NaN",
            ),
        ),
    ),
)
