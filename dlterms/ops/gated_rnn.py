"""Op records of the gated recurrent cells: LSTM and GRU (beyond the seed, section recurrent neural networks)."""

from __future__ import annotations

from .record import INF, NAN, Cases, Op, Special, relative, tensor

_WEIGHTS = (tensor("w_ih"), tensor("w_hh"), tensor("b_ih"), tensor("b_hh"))
# (batch, inputs, hidden): 64 and 33 hidden units (a vector width and its remainder), a batch of 65.
_SHAPES = ((17, 33, 64), (65, 16, 33))
_SIZES_WHY = "64 hidden units (256 and 192 gate rows), and 33 for a remainder, over batches of 17 and 65"
_ONES = {"x": [[1.0]], "w_ih": [[1.0]] * 4, "w_hh": [[1.0]] * 4, "b_hh": [0.0] * 4}
_GRU_ONES = {"x": [[1.0]], "h": [[0.5]], "w_ih": [[1.0]] * 3, "w_hh": [[1.0]] * 3, "b_hh": [0.0] * 3}

OPS = (
    Op(
        "lstm_cell",
        term="long-short-term-memory",
        summary="one LSTM step (gates i, f, g, o; two biases): (h′, c′) from x (N, in), h and c (N, H)",
        args=(tensor("x"), tensor("h"), tensor("c"), *_WEIGHTS),
        cases=Cases("invariants.gated_rnn.lstm_cases"),
        returns=("h", "c"),
        accuracy=relative(
            "rounded",
            "each gate's pre-activation sums in + H + 2 terms that can cancel (its error set by the size of the "
            "terms); σ′ ≤ 1/4 and tanh′ ≤ 1 pass it on, and c′ = f·c + i·g, h′ = o·tanh(c′) weigh each gate's "
            "error by the factor it multiplies",
            accumulation="lstm_cell",
        ),
        sizes=Cases("sizes.gated_cells", {"shapes": _SHAPES, "gates": 4}, why=_SIZES_WHY),
        special_values=(
            Special(
                "infinite_gate_biases_carry_the_cell_state",
                "with b_f = +∞ and b_i = b_o = −∞, c′ = c and h′ = 0",
                "f = σ(+∞) = 1 keeps c, i = σ(−∞) = 0 writes nothing, o = 0 outputs nothing",
                {**_ONES, "h": [[0.0]], "c": [[0.5]], "b_ih": [-INF, INF, 0.0, -INF]},
                value=[[[0.0]], [[0.5]]],
                because="c′ = 1·0.5 + 0·tanh(1) = 0.5 and h′ = 0·tanh(0.5) = 0: the limits of σ, no 0·∞ met",
            ),
            Special(
                "nan_propagates",
                "a NaN input makes h′ and c′ NaN",
                "NaN in, NaN out",
                {**_ONES, "x": [[NAN]], "h": [[0.0]], "c": [[0.5]], "b_ih": [0.0] * 4},
                value=[[[NAN]], [[NAN]]],
                because="NaN in every gate's pre-activation (IEEE 754 §6.2), so in c′ = f·c + i·g and h′",
            ),
        ),
    ),
    Op(
        "gru_cell",
        term="gated-recurrent-unit",
        summary="one GRU step (gates r, z, n; reset after the hidden matmul, two biases): h′ from x (N, in), h (N, H)",
        args=(tensor("x"), tensor("h"), *_WEIGHTS),
        cases=Cases("invariants.gated_rnn.gru_cases"),
        accuracy=relative(
            "rounded",
            "each gate's pre-activation sums in + H + 2 terms that can cancel (its error set by the size of the "
            "terms); the candidate's error adds |W_hn·h + b_hn| times the reset gate's, and h′ = (1 − z)·n + z·h "
            "adds |h − n| times the update gate's",
            accumulation="gru_cell",
        ),
        sizes=Cases("sizes.gated_cells", {"shapes": _SHAPES, "gates": 3}, why=_SIZES_WHY),
        special_values=(
            Special(
                "infinite_update_bias_keeps_the_state",
                "with b_z = +∞, h′ = h",
                "z = σ(+∞) = 1 keeps the state and 1 − z = 0 drops the candidate",
                {**_GRU_ONES, "b_ih": [0.0, INF, 0.0]},
                value=[[0.5]],
                because="h′ = 0·n + 1·0.5 = 0.5 (n = tanh(1 + σ(1.5)·0.5) is finite; n + z·(h − n) is exact here too)",
            ),
            Special(
                "nan_propagates",
                "a NaN input makes h′ NaN",
                "NaN in, NaN out",
                {**_GRU_ONES, "x": [[NAN]], "b_ih": [0.0] * 3},
                value=[[NAN]],
                because="NaN in every gate's pre-activation (IEEE 754 §6.2), so in r, z, n and h′",
            ),
        ),
    ),
)
