"""Invariants of perplexity (section: attention): exp of the mean cross-entropy of class-index targets.

The cases strategies here are named by the op record of :mod:`dlterms.ops.perplexity`. Each
comparison allows the record's own relative bound (k·u·(|y| + s) + a + λ, with the ``perplexity``
sensitivity and accumulation: cross-entropy's bound carried through e^L), so no invariant has a
tolerance of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from hypothesis import strategies as st

from dlterms import ops as op_records
from dlterms import reference

from .. import tolerances
from ..backends import Backend
from ..checks import as_float64, assert_that
from ..registry import OPS, invariant, native_args, register_ops
from ..sensitivities import sensitivity
from ..sizes import values
from ..strategies import float_arrays, representable

OP = "perplexity"
TERM = "perplexity"
_EDGES = ("large_offsets",)  # logits 10⁷ + a few units: e^z overflows, only the differences count


@st.composite
def perplexity_cases(
    draw: Any, dtype: str, *, min_n: int = 1, min_c: int = 1, span: float = 4.0, edges: tuple[str, ...] = ()
) -> dict[str, Any]:
    """``{"logits", "target"}``: N in [min_n, 5] rows of C in [min_c, 6] logits in [−span, span] (``edges``
    reach them: ``large_offsets`` makes some arrays 10⁷ + a few units), and N class indices."""
    n, c = draw(st.integers(min_n, 5)), draw(st.integers(min_c, 6))
    logits = draw(float_arrays(dtype, (n, c), min_value=-span, max_value=span, edges=edges))
    return {"logits": logits, "target": draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n))}


def perplexity_sizes(
    dtype: str, rng: np.random.Generator, *, classes: tuple[int, ...], rows: int
) -> Iterator[dict[str, Any]]:
    """4 rows of each number of classes, and ``rows`` rows of 3 classes (a mean over many tokens); logits in [−1, 1]."""
    for c in classes:
        yield {"logits": values(dtype, rng, (4, c), span=1.0).tolist(), "target": rng.integers(0, c, 4).tolist()}
    yield {"logits": values(dtype, rng, (rows, 3), span=1.0).tolist(), "target": rng.integers(0, 3, rows).tolist()}


register_ops(op_records.perplexity.OPS)


def _call(bk: Backend, dtype: str, case: dict[str, Any]) -> float:
    return float(as_float64(bk, bk.perplexity(**native_args(bk, OPS[OP], case, dtype))))


def allowed(dtype: str, case: dict[str, Any], exact: float | None = None) -> float:
    """The record's bound on |PPL̂ − PPL| at ``case`` (``exact``: PPL where it is known, else the reference's)."""
    y = np.asarray(reference.perplexity(**case) if exact is None else exact, dtype=np.float64)
    (s,) = sensitivity(OP, case, [y])
    (a,) = tolerances.accumulation(OP, case, [y], dtype)
    return float(tolerances.relative(dtype, OP).allowed(y, s, a))


@invariant(
    f"{OP}.at_least_one",
    term=TERM,
    statement="Perplexity is at least 1: each −log q_n ≥ 0, so their mean is ≥ 0 and its exponential ≥ 1.",
    cases=lambda d: perplexity_cases(d, edges=_EDGES),
)
def at_least_one(bk: Backend, dtype: str, **case: Any) -> None:
    got = _call(bk, dtype, case)
    slack = allowed(dtype, case)
    assert_that(got >= 1.0 - slack, "the perplexity is below 1", perplexity=got, allowed=slack)


@st.composite
def _uniform(draw: Any, dtype: str) -> dict[str, Any]:
    """Rows of C equal logits (a value per row, in [−4, 4]), C in [1, 6]."""
    case = draw(perplexity_cases(dtype, edges=_EDGES))
    z = np.asarray(case["logits"], dtype=np.float64)
    return {**case, "logits": np.broadcast_to(z[:, :1], z.shape).tolist()}


@invariant(
    f"{OP}.uniform_logits_give_the_number_of_classes",
    term=TERM,
    statement="When every row's logits are equal, each class has probability 1/C and the perplexity is C: "
    "as uncertain as a choice among C equally likely classes.",
    cases=lambda d: _uniform(d),
)
def uniform_gives_c(bk: Backend, dtype: str, **case: Any) -> None:
    c = float(np.shape(case["logits"])[1])
    got = _call(bk, dtype, case)
    slack = allowed(dtype, case, exact=c)
    assert_that(abs(got - c) <= slack, f"uniform logits over C = {c:g} classes", perplexity=got, allowed=slack)


@invariant(
    f"{OP}.equals_exp_of_mean_cross_entropy",
    term=TERM,
    statement="Perplexity is e raised to the mean cross-entropy in nats: the backend's perplexity equals "
    "exp of its own cross_entropy(logits, target, reduction='mean').",
    cases=lambda d: perplexity_cases(d, min_n=2, edges=_EDGES),
)
def equals_exp_of_cross_entropy(bk: Backend, dtype: str, **case: Any) -> None:
    got = _call(bk, dtype, case)
    ce_args = native_args(bk, OPS["cross_entropy"], {**case, "reduction": "mean"}, dtype)
    loss = float(as_float64(bk, bk.cross_entropy(**ce_args)))
    # The loss is held to cross-entropy's bound, which the perplexity's carries through e^L: twice that bound
    # covers both the backend's perplexity and e^(its loss), plus the rounding of np.exp in float64.
    slack = 2 * allowed(dtype, case)
    want = float(np.exp(loss))
    assert_that(abs(got - want) <= slack, "perplexity ≠ exp(mean cross-entropy)", perplexity=got, exp_of_loss=want)


_GAP = 40.0  # (C − 1)·e^−40 ≤ 5·4.2·10⁻¹⁸: below the float64 unit roundoff, so the exact perplexity rounds to 1


@st.composite
def _confident(draw: Any, dtype: str) -> dict[str, Any]:
    """Rows whose target logit exceeds every other by 40 (the others in [−4, 4]), C in [2, 6]."""
    case = draw(perplexity_cases(dtype, min_c=2))
    z = np.array(case["logits"], dtype=np.float64)
    z = np.clip(z - np.round(z.mean()), -4.0, 4.0)  # away from a large offset: the target must be 40 above
    rows = np.arange(z.shape[0])
    z[rows, case["target"]] = np.max(z, axis=1) + _GAP
    return {**case, "logits": representable(z, dtype).tolist()}


@invariant(
    f"{OP}.confident_correct_predictions_give_one",
    term=TERM,
    statement="A model that gives every target probability 1 (its logit 40 above every other) has perplexity 1: "
    "no uncertainty left.",
    cases=lambda d: _confident(d),
)
def confident_gives_one(bk: Backend, dtype: str, **case: Any) -> None:
    got = _call(bk, dtype, case)
    slack = allowed(dtype, case, exact=1.0)
    assert_that(abs(got - 1.0) <= slack, "confident correct predictions", perplexity=got, allowed=slack)
