"""Invariants of the classification losses beyond the seed: NLL, BCE with logits, label smoothing.

A module of its own (as :mod:`dlterms.reference.classification_losses`), beside
:mod:`dlterms.conformance.invariants.losses`, to keep each under 500 lines.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from dlterms.reference.classification_losses import REDUCTIONS
from hypothesis import strategies as st

from dlterms import ops as op_records

from .. import tolerances
from ..backends import Backend, OpCall
from ..checks import as_float64, assert_close, assert_that
from ..registry import invariant, register_ops
from ..sizes import values
from ..strategies import float_arrays, representable, shapes
from .losses import ce_cases

# Within ±4 in half precision, as the seed's losses: a sum of up to 25 terms stays representable.
_SPAN = {"float16": 4.0, "bfloat16": 4.0, "float32": 20.0, "float64": 20.0}
_SMOOTHINGS = (0.0, 0.1, 0.25, 0.5, 1.0)  # ε: both ends, and between


def _reductions() -> st.SearchStrategy[str]:
    return st.sampled_from(REDUCTIONS)


def nll_cases(dtype: str, *, weights: bool = False, max_n: int = 5, max_c: int = 5) -> Any:
    """``{"input": (N, C) log-probabilities in [−span, 0], "target", "reduction"}``, with ``"weight"``
    (C,) in [0.25, 2] in some cases when ``weights``."""
    span = _SPAN[dtype]

    def build(nc: tuple[int, int]) -> Any:
        n, c = nc
        base = {
            "input": float_arrays(dtype, (n, c), min_value=-span, max_value=0.0),
            "target": st.lists(st.integers(0, c - 1), min_size=n, max_size=n),
            "reduction": _reductions(),
        }
        plain = st.fixed_dictionaries(base)
        if not weights:
            return plain
        return plain | st.fixed_dictionaries(
            {**base, "weight": float_arrays(dtype, (c,), min_value=0.25, max_value=2.0)}
        )

    return st.tuples(st.integers(1, max_n), st.integers(1, max_c)).flatmap(build)


def bce_logit_cases(
    dtype: str, *, edges: tuple[str, ...] = (), pos_weights: bool = False, dyadic_targets: bool = False, **shape_kw: Any
) -> Any:
    """``{"input": logits, "target": probabilities in [0, 1], "reduction"}`` of one shape, with
    ``"pos_weight"`` (one per class along the last axis, in [0.25, 4]) in some cases when ``pos_weights``.

    ``edges`` reach the logits; ``dyadic_targets``: targets k/64, whose 1 − y is exact in every dtype.
    """
    span = _SPAN[dtype]

    def build(s: tuple[int, ...]) -> Any:
        size = int(np.prod(s))
        target: Any = float_arrays(dtype, s, min_value=0.0, max_value=1.0)
        if dyadic_targets:
            target = st.lists(st.integers(0, 64), min_size=size, max_size=size).map(
                lambda ks: (np.reshape(np.asarray(ks, dtype=np.float64) / 64, s)).tolist()
            )
        base = {
            "input": float_arrays(dtype, s, min_value=-span, max_value=span, edges=edges),
            "target": target,
            "reduction": _reductions(),
        }
        plain = st.fixed_dictionaries(base)
        if not pos_weights or not s:
            return plain
        pw = float_arrays(dtype, (s[-1],), min_value=0.25, max_value=4.0)
        return plain | st.fixed_dictionaries({**base, "pos_weight": pw})

    return shapes(**shape_kw).flatmap(build)


def smoothed_ce_cases(dtype: str, **kw: Any) -> Any:
    """:func:`~dlterms.conformance.invariants.losses.ce_cases` with ``"label_smoothing"`` ε in :data:`_SMOOTHINGS`."""
    return st.tuples(ce_cases(dtype, **kw), st.sampled_from(_SMOOTHINGS)).map(
        lambda t: {**t[0], "label_smoothing": t[1]}
    )


def sizes(
    dtype: str, rng: np.random.Generator, *, loss: str, lengths: tuple[int, ...], rows: int = 0
) -> Iterator[dict[str, Any]]:
    """The size tier: each reduction over ``lengths`` values (NLL and label smoothing: that many classes,
    4 rows), and ``rows`` rows of 3 classes (BCE: that many values) with reduction='mean'."""
    for n in lengths:
        for reduction in ("mean", "sum"):
            yield _size_case(dtype, rng, loss, (4, n), reduction)
    if rows:
        yield _size_case(dtype, rng, loss, (rows, 3), "mean")


def _size_case(dtype: str, rng: np.random.Generator, loss: str, shape: tuple[int, int], reduction: str) -> dict:
    target = rng.integers(0, shape[1], size=shape[0]).tolist()
    if loss == "bce_logits":
        y = representable(rng.random(shape), dtype)
        return {"input": values(dtype, rng, shape).tolist(), "target": y.tolist(), "reduction": reduction}
    if loss == "nll":
        x = values(dtype, rng, shape)
        log_p = representable(x - np.log(np.sum(np.exp(x), axis=1, keepdims=True)), dtype)
        return {"input": log_p.tolist(), "target": target, "reduction": reduction}
    logits = values(dtype, rng, shape).tolist()
    return {"logits": logits, "target": target, "label_smoothing": 0.1, "reduction": reduction}


register_ops(op_records.classification_losses.OPS)


def _call(bk: Backend, op: str, dtype: str, first: Any, target: Any, **kw: Any) -> np.ndarray:
    t = bk.asarray(target, dtype if op == "binary_cross_entropy_with_logits" else "int64")
    extra = {k: (bk.asarray(v, dtype) if k in ("weight", "pos_weight") else v) for k, v in kw.items()}
    return as_float64(bk, getattr(bk, op)(bk.asarray(first, dtype), t, **extra))


# --- negative log-likelihood -----------------------------------------------------------------------


@invariant(
    "nll_loss.picks_the_target",
    term="negative-log-likelihood",
    statement="nll_loss(input, target, weight, reduction='none')[n] = −weight[target[n]]·input[n, target[n]].",
    cases=lambda d: nll_cases(d, weights=True),
)
def nll_picks_the_target(bk: Backend, dtype: str, input: Any, target: list[int], reduction: str, **w: Any) -> None:
    x = np.asarray(input, dtype=np.float64)
    weight = np.asarray(w.get("weight", np.ones(x.shape[1])), dtype=np.float64)
    expected = -weight[target] * x[np.arange(len(target)), target]
    per = _call(bk, "nll_loss", dtype, input, target, reduction="none", **w)
    assert_close(per, expected, tolerances.forward(dtype), "nll_loss(reduction='none') vs −weight[y]·input[n, y]")


@invariant(
    "nll_loss.of_log_softmax_is_cross_entropy",
    term="negative-log-likelihood",
    statement="nll_loss(log_softmax(logits), target, reduction='none') = cross_entropy(logits, target, "
    "reduction='none'): cross-entropy is the NLL of the log-softmax.",
    ops=("nll_loss", "log_softmax", "cross_entropy"),
    cases=ce_cases,
)
def nll_of_log_softmax(bk: Backend, dtype: str, logits: Any, target: list[int], reduction: str) -> None:
    log_p = bk.log_softmax(bk.asarray(logits, dtype), axis=-1)
    nll = as_float64(bk, bk.nll_loss(log_p, bk.asarray(target, "int64"), reduction="none"))
    ce = _call(bk, "cross_entropy", dtype, logits, target, reduction="none")
    # Each side computes log Σ e^(z − max z) on its own: the bound of cross_entropy's own identity.
    tol = tolerances.forward(dtype, "cross_entropy.equals_negative_log_softmax_at_target")
    assert_close(nll, ce, tol, "nll_loss(log_softmax(z)) vs cross_entropy(z)")


@invariant(
    "nll_loss.weighted_mean_divides_by_total_weight",
    term="negative-log-likelihood",
    statement="nll_loss(input, target, weight, reduction='mean') = its reduction='sum' / Σₙ weight[target[n]].",
    cases=lambda d: nll_cases(d, weights=True).filter(lambda c: "weight" in c),
)
def nll_weighted_mean(bk: Backend, dtype: str, input: Any, target: list[int], reduction: str, weight: Any) -> None:
    total = float(np.sum(np.asarray(weight, dtype=np.float64)[target]))
    mean = _call(bk, "nll_loss", dtype, input, target, reduction="mean", weight=weight)
    summed = _call(bk, "nll_loss", dtype, input, target, reduction="sum", weight=weight)
    assert_close(mean * total, summed, tolerances.forward(dtype), f"nll_loss(mean) × Σ weight[y] = {total}")


# --- binary cross-entropy with logits --------------------------------------------------------------

_BCE = "binary_cross_entropy_with_logits"


@invariant(
    f"{_BCE}.mirror_symmetric",
    term="cross-entropy",
    statement="binary_cross_entropy_with_logits(x, y) = binary_cross_entropy_with_logits(−x, 1 − y): "
    "swapping the classes negates the logit.",
    cases=lambda d: bce_logit_cases(d, edges=("exp_overflow", "signed_zeros"), dyadic_targets=True),
)
def bce_logits_mirror(bk: Backend, dtype: str, input: Any, target: Any, reduction: str) -> None:
    x, y = np.asarray(input, dtype=np.float64), np.asarray(target, dtype=np.float64)
    here = _call(bk, _BCE, dtype, input, target, reduction="none")
    there = _call(bk, _BCE, dtype, (-x).tolist(), (1.0 - y).tolist(), reduction="none")
    assert_close(here, there, tolerances.forward(dtype), "L(x, y) vs L(−x, 1 − y)")


@invariant(
    f"{_BCE}.finite_for_every_finite_logit",
    term="cross-entropy",
    statement="binary_cross_entropy_with_logits(x, y, reduction='none') is finite and ≥ 0 for every finite x, "
    "up to the largest float, and y in [0, 1].",
    cases=lambda d: bce_logit_cases(d, edges=("exp_overflow", "full_range")),
    kind="robustness",
)
def bce_logits_finite(bk: Backend, dtype: str, input: Any, target: Any, reduction: str) -> None:
    per = _call(bk, _BCE, dtype, input, target, reduction="none")
    assert_that(np.isfinite(per) & (per >= 0), "binary_cross_entropy_with_logits is inf, NaN or negative", loss=per)


@invariant(
    f"{_BCE}.pos_weight_scales_positive_targets",
    term="cross-entropy",
    statement="With hard labels, pos_weight p multiplies the loss of each positive (y = 1) by p[class] "
    "and leaves each negative's unchanged.",
    cases=lambda d: bce_logit_cases(d, pos_weights=True, dyadic_targets=True, min_dims=1).filter(
        lambda c: "pos_weight" in c
    ),
)
def bce_logits_pos_weight(bk: Backend, dtype: str, input: Any, target: Any, reduction: str, pos_weight: Any) -> None:
    hard = (np.asarray(target, dtype=np.float64) >= 0.5).astype(np.float64)
    p = np.broadcast_to(np.asarray(pos_weight, dtype=np.float64), hard.shape)
    plain = _call(bk, _BCE, dtype, input, hard.tolist(), reduction="none")
    weighted = _call(bk, _BCE, dtype, input, hard.tolist(), reduction="none", pos_weight=pos_weight)
    expected = np.where(hard == 1.0, p * plain, plain)
    assert_close(weighted, expected, tolerances.forward(dtype), "L(x, y; p) vs p·L(x, 1) and L(x, 0)")


# --- cross-entropy with label smoothing ----------------------------------------------------------

_SCE = "smoothed_cross_entropy"


@invariant(
    f"{_SCE}.zero_smoothing_is_cross_entropy",
    term="cross-entropy",
    statement="smoothed_cross_entropy(logits, target, label_smoothing=0) = cross_entropy(logits, target), "
    "example by example (reduction='none').",
    ops=(_SCE, "cross_entropy"),
    cases=ce_cases,
)
def sce_zero_smoothing(bk: Backend, dtype: str, logits: Any, target: list[int], reduction: str) -> None:
    smoothed = _call(bk, _SCE, dtype, logits, target, label_smoothing=0.0, reduction="none")
    plain = _call(bk, "cross_entropy", dtype, logits, target, reduction="none")
    tol = tolerances.forward(dtype, "cross_entropy.equals_negative_log_softmax_at_target")
    assert_close(smoothed, plain, tol, "smoothed_cross_entropy(ε = 0) vs cross_entropy")


@invariant(
    f"{_SCE}.mixes_target_and_uniform",
    term="cross-entropy",
    statement="smoothed_cross_entropy(ε)[n] = (1 − ε)·(−log pₙ[target]) + ε·(1/C)·Σ_c(−log pₙ,c): "
    "ε/C goes to every class, the target included (PyTorch's and Keras' categorical form).",
    ops=(_SCE, "log_softmax"),
    cases=smoothed_ce_cases,
)
def sce_mixes(bk: Backend, dtype: str, logits: Any, target: list[int], reduction: str, label_smoothing: float) -> None:
    eps = label_smoothing
    ls = as_float64(bk, bk.log_softmax(bk.asarray(logits, dtype), axis=-1))
    expected = (1.0 - eps) * -ls[np.arange(len(target)), target] + eps * np.mean(-ls, axis=1)
    per = _call(bk, _SCE, dtype, logits, target, label_smoothing=eps, reduction="none")
    tol = tolerances.forward(dtype, "cross_entropy.equals_negative_log_softmax_at_target")
    assert_close(per, expected, tol, f"smoothed_cross_entropy(ε={eps}) vs (1 − ε)·CE + ε·mean(−log p)")


@invariant(
    f"{_SCE}.minimum_at_smoothed_distribution",
    term="cross-entropy",
    statement="The gradient of smoothed_cross_entropy (reduction='sum') with respect to the logits vanishes at "
    "logits = log q, q = (1 − ε)·onehot(target) + ε/C (0 < ε < 1): the smoothed distribution is the minimum.",
    cases=lambda d: smoothed_ce_cases(d).filter(lambda c: 0.0 < c["label_smoothing"] < 1.0),
    needs_vjp=True,
    kind="gradient",
)
def sce_minimum(
    bk: Backend, dtype: str, logits: Any, target: list[int], reduction: str, label_smoothing: float
) -> None:
    eps = label_smoothing
    n, c = np.shape(logits)  # only the shape: the logits checked are log q
    q = np.full((n, c), eps / c)
    q[np.arange(n), target] += 1.0 - eps
    z = representable(np.log(q), dtype)
    fn = OpCall(
        bk, _SCE, {"target": bk.asarray(target, "int64"), "label_smoothing": eps, "reduction": "sum"}, ("logits",)
    )
    (g,) = bk.vjp(fn, (bk.asarray(z.tolist(), dtype),), bk.asarray(1.0, dtype))
    # log q is rounded to the dtype: the gradient softmax(z) − q is then within a few u of 0, not exactly 0.
    assert_close(as_float64(bk, g), np.zeros((n, c)), tolerances.gradient(dtype), f"gradient at log q (ε={eps})")
