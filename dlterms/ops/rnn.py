"""Op records of recurrent networks (seed section: recurrent neural networks)."""

from __future__ import annotations

from .record import Cases, Op, relative, tensor

OPS = (
    Op(
        "rnn",
        term="recurrent-neural-network",
        sizes=Cases(
            "sizes.recurrent",
            {"shapes": ((3, 17, 33, 64), (2, 65, 16, 32))},
            why="64 hidden units over 17 steps, and 65 steps",
        ),
        summary="Elman RNN (tanh, one layer, batch first) over x (N, T, in) from h0 (N, H)",
        args=(tensor("x"), tensor("h0"), tensor("w_ih"), tensor("w_hh"), tensor("b_ih"), tensor("b_hh")),
        cases=Cases("invariants.rnn.rnn_cases"),
        accuracy=relative(
            "rounded",
            "each step sums in + H + 2 terms that can cancel and feeds its rounded state into the next: "
            "the error of the pre-activations, propagated through |W_hh|, is the bound (tanh' ≤ 1)",
            accumulation="recurrence",
        ),
        returns=("outputs", "h_n"),
    ),
)
