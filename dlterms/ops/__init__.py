"""The canonical ops, each declared once as an :class:`~dlterms.ops.record.Op` record.

:data:`OPS` maps an op's name to its record, in the seed's order (one module
per section, mirroring :mod:`dlterms.reference`). The backend contract's op
list, the generated invariants, the special-value probes, the adapter guide's
op table and the site's framework tabs all read it. Standard library only.

Adding an op: write the reference function and its VJP, add an :class:`Op`
to the section's module here, and the glossary entry (see the docs' *Add a
term* page).
"""

from __future__ import annotations

from . import (
    activations,
    adaptive_optim,
    adaptive_pooling,
    attention,
    batch_norm,
    classification_losses,
    clipping,
    conv,
    conv_transpose,
    divergences,
    embedding,
    gated_rnn,
    initialization,
    interpolate,
    layers,
    losses,
    momentum,
    multi_head_attention,
    normalization,
    optim,
    perplexity,
    pooling,
    positional,
    recurrent_layers,
    regression_losses,
    regularization,
    rmsprop,
    rnn,
    schedules,
    smooth_rectifiers,
    transformer,
)
from .record import (
    ABSOLUTE,
    AT_SIZES,
    GENERATED,
    HUGE_ROWS,
    INF,
    LONG_REDUCTION,
    MANY_ROWS,
    NAN,
    REDUCTION_LENGTHS,
    REFUSED,
    REQUIRED,
    SPECIAL_VALUES,
    VECTOR_LENGTHS,
    Accuracy,
    Arg,
    Cases,
    Op,
    Special,
    as_pair,
    relative,
)

__all__ = [
    "ABSOLUTE",
    "AT_SIZES",
    "GENERATED",
    "HUGE_ROWS",
    "INF",
    "LONG_REDUCTION",
    "MANY_ROWS",
    "NAN",
    "OPS",
    "REDUCTION_LENGTHS",
    "REFUSED",
    "REQUIRED",
    "SPECIAL_VALUES",
    "VECTOR_LENGTHS",
    "Accuracy",
    "Arg",
    "Cases",
    "Op",
    "Special",
    "as_pair",
    "by_term",
    "markdown_table",
    "relative",
]

OPS: dict[str, Op] = {}
for _module in (
    activations,
    smooth_rectifiers,
    layers,
    normalization,
    batch_norm,
    regularization,
    clipping,
    initialization,
    losses,
    regression_losses,
    classification_losses,
    divergences,
    optim,
    momentum,
    adaptive_optim,
    rmsprop,
    schedules,
    conv,
    conv_transpose,
    pooling,
    adaptive_pooling,
    interpolate,
    rnn,
    gated_rnn,
    recurrent_layers,
    embedding,
    attention,
    multi_head_attention,
    transformer,
    positional,
    perplexity,
):
    for _op in _module.OPS:
        if _op.name in OPS:
            raise ValueError(f"op {_op.name!r} is declared twice (dlterms.ops.{_module.__name__.rsplit('.', 1)[1]})")
        OPS[_op.name] = _op


def by_term(term_id: str) -> tuple[Op, ...]:
    """The ops that belong to the glossary entry ``term_id``, in :data:`OPS` order."""
    return tuple(op for op in OPS.values() if op.term == term_id)


def markdown_table() -> str:
    """The adapter guide's table of the canonical ops (the guide holds a copy, tied by a test)."""
    rows = ["| op | signature | what it computes | differentiated |", "|---|---|---|---|"]
    for op in OPS.values():
        diff = ", ".join(f"`{a}`" for a in op.diff_args)
        rows.append(f"| `{op.name}` | `{op.signature}` | {op.summary} | {diff} |")
    return "\n".join(rows) + "\n"
