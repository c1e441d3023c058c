"""Op records of recurrent networks (seed section: recurrent neural networks)."""

from __future__ import annotations

from .record import ABSOLUTE, Cases, Op, tensor

OPS = (
    Op(
        "rnn",
        term="recurrent-neural-network",
        summary="Elman RNN (tanh, one layer, batch first) over x (N, T, in) from h0 (N, H)",
        args=(tensor("x"), tensor("h0"), tensor("w_ih"), tensor("w_hh"), tensor("b_ih"), tensor("b_hh")),
        cases=Cases("invariants.rnn.rnn_cases"),
        accuracy=ABSOLUTE,
        returns=("outputs", "h_n"),
        # Comparisons of values are claimed in float32 and float64 only: in float16 and bfloat16
        # every step rounds in + H + 2 products and sums and feeds the rounded state into the
        # next, so where a pre-activation cancels the error of a small output is many times a
        # single op's tolerance (see dlterms.conformance.invariants.rnn).
        dtypes=("float32", "float64"),
    ),
)
