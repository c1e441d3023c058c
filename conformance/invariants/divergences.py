"""Invariants of the Kullback-Leibler divergence as a loss (section: the cost function).

Beside :mod:`.losses` (the seed's), to keep each module under 500 lines; :func:`kl_cases` is named
by the op record of :mod:`dlterms.ops.divergences`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from dlterms.reference.divergences import KL_REDUCTIONS
from hypothesis import strategies as st

from dlterms import ops as op_records

from .. import tolerances
from ..backends import Backend
from ..checks import as_float64, assert_close, assert_that
from ..registry import invariant, register_ops
from ..strategies import float_arrays, representable

# Logits in [−span, span] over at most 5 classes: every probability is at least e^(−2·span)/5 (8.4e-5 for
# span 4, a normal float16 number; 4.6e-3 for span 2), so no input is subnormal and Keras' clip to
# [1e-7, 1] never changes a probability (the convention kl_div.clipping).
_SPAN = {"float16": 2.0, "bfloat16": 2.0, "float32": 4.0, "float64": 4.0}


def _log_softmax(z: np.ndarray) -> np.ndarray:
    m = z.max(axis=-1, keepdims=True)
    return z - m - np.log(np.sum(np.exp(z - m), axis=-1, keepdims=True))


def _build(dtype: str, q_logits: Any, p_logits: Any, drop: list[bool], reduction: str, log_target: bool) -> Any:
    log_q = representable(_log_softmax(np.asarray(q_logits, dtype=np.float64)), dtype)
    p = np.exp(_log_softmax(np.asarray(p_logits, dtype=np.float64)))
    if not log_target:  # zero probabilities (never a whole row): the terms that contribute nothing
        keep = ~np.reshape(drop, p.shape)
        keep[:, 0] |= ~keep.any(axis=1)
        p = np.where(keep, p, 0.0)
        p = p / p.sum(axis=1, keepdims=True)
    target = representable(np.log(p), dtype) if log_target else representable(p, dtype)
    return {"input": log_q.tolist(), "target": target.tolist(), "reduction": reduction, "log_target": log_target}


def kl_cases(dtype: str, *, zeros: bool = True) -> Any:
    """``{"input", "target", "reduction", "log_target"}``: N ≤ 4 rows of C in [2, 5] classes, input a
    log-softmax, target a softmax with some probabilities set to 0 (``zeros``; only as probabilities)
    or its log (``log_target``)."""
    span = _SPAN[dtype]

    def build(nc: tuple[int, int]) -> Any:
        n, c = nc
        return st.builds(
            lambda q, p, drop, reduction, log_target: _build(dtype, q, p, drop, reduction, log_target),
            float_arrays(dtype, (n, c), min_value=-span, max_value=span),
            float_arrays(dtype, (n, c), min_value=-span, max_value=span),
            st.lists(st.booleans() if zeros else st.just(False), min_size=n * c, max_size=n * c),
            st.sampled_from(KL_REDUCTIONS),
            st.booleans(),
        )

    return st.tuples(st.integers(1, 4), st.integers(2, 5)).flatmap(build)


register_ops(op_records.divergences.OPS)


def _kl(bk: Backend, dtype: str, input: Any, target: Any, reduction: str, log_target: bool) -> np.ndarray:
    x, t = bk.asarray(input, dtype), bk.asarray(target, dtype)
    return as_float64(bk, bk.kl_div(x, t, reduction=reduction, log_target=log_target))


def _probabilities(target: Any, log_target: bool) -> np.ndarray:
    t = np.asarray(target, dtype=np.float64)
    return np.exp(t) if log_target else t


def _size(input: Any, target: Any, log_target: bool) -> np.ndarray:
    """Each term's size p·(|log p| + |log q| + 1): what its rounding is relative to (see the accuracy model)."""
    p = _probabilities(target, log_target)
    with np.errstate(divide="ignore"):
        log_p = np.where(p > 0, np.log(np.where(p > 0, p, 1.0)), 0.0)
    return p * (np.abs(log_p) + np.abs(np.asarray(input, dtype=np.float64)) + 1.0)


def _slack(dtype: str, scale: np.ndarray) -> np.ndarray:
    tol = tolerances.forward(dtype)
    return tol.rtol * scale + tol.atol


@invariant(
    "kl_div.nonnegative_for_distributions",
    term="kl-divergence",
    statement="Gibbs' inequality: for rows that are distributions (target p, input log q), each row's "
    "divergence Σ p·(log p − log q) is ≥ 0, and so is every reduction of it.",
    cases=kl_cases,
)
def kl_nonnegative(bk: Backend, dtype: str, input: Any, target: Any, reduction: str, log_target: bool) -> None:
    terms = _kl(bk, dtype, input, target, "none", log_target)
    size = _size(input, target, log_target)
    # Each term within the tolerance of its size; the rows of rounded inputs sum to 1 within a few u.
    rows = terms.sum(axis=-1)
    assert_that(rows >= -_slack(dtype, size.sum(axis=-1)), "a row's KL divergence is negative", per_row=rows)
    if reduction != "none":
        total = _kl(bk, dtype, input, target, reduction, log_target)
        assert_that(total >= -_slack(dtype, size.sum()), f"kl_div(reduction={reduction!r}) is negative", loss=total)


@invariant(
    "kl_div.zero_at_its_target",
    term="kl-divergence",
    statement="kl_div(log p, p) = 0 elementwise (and with log_target, kl_div(log p, log p) = 0): the divergence "
    "of a distribution from itself is 0.",
    cases=kl_cases,
)
def kl_zero_at_target(bk: Backend, dtype: str, input: Any, target: Any, reduction: str, log_target: bool) -> None:
    p = _probabilities(target, log_target)
    with np.errstate(divide="ignore"):
        log_p = representable(np.log(p), dtype)  # −∞ where p = 0 (that term is 0 whatever log q is)
    same = np.where(p > 0, log_p, np.asarray(input, dtype=np.float64))
    y = _kl(bk, dtype, same.tolist(), target, "none", log_target)
    # A framework that reads q = e^(log p) as a probability rounds it once: within the tolerance at p·(|log p| + 1).
    assert_that(np.abs(y) <= _slack(dtype, _size(same, target, log_target)), "kl_div(log p, p) is not 0", loss=y)


@invariant(
    "kl_div.batchmean_is_sum_over_batch",
    term="kl-divergence",
    statement="kl_div with reduction='batchmean' × N (the batch size, the first dimension) and with "
    "reduction='mean' × the number of elements both equal reduction='sum'.",
    cases=kl_cases,
)
def kl_batchmean(bk: Backend, dtype: str, input: Any, target: Any, reduction: str, log_target: bool) -> None:
    n_rows, n = len(input), int(np.size(input))
    total = _kl(bk, dtype, input, target, "sum", log_target)
    batchmean = _kl(bk, dtype, input, target, "batchmean", log_target)
    mean = _kl(bk, dtype, input, target, "mean", log_target)
    # The sum's terms have both signs: each reduction is held to the tolerance at Σ|size| (not at |sum|).
    extra = _slack(dtype, _size(input, target, log_target).sum())
    tol = tolerances.forward(dtype)
    assert_close(n_rows * batchmean, total, tol, f"{n_rows} × kl_div(batchmean) vs kl_div(sum)", extra=extra)
    assert_close(n * mean, total, tol, f"{n} × kl_div(mean) vs kl_div(sum)", extra=extra)


@invariant(
    "kl_div.log_target_is_the_same_divergence",
    term="kl-divergence",
    statement="kl_div(input, p) = kl_div(input, log p, log_target=True) for p > 0, for every reduction.",
    cases=lambda d: kl_cases(d, zeros=False),
)
def kl_log_target(bk: Backend, dtype: str, input: Any, target: Any, reduction: str, log_target: bool) -> None:
    p = _probabilities(target, log_target)
    as_p = _kl(bk, dtype, input, representable(p, dtype).tolist(), reduction, False)
    as_log = _kl(bk, dtype, input, representable(np.log(p), dtype).tolist(), reduction, True)
    size = _size(input, target, log_target)
    scale = size if reduction == "none" else size.sum()
    assert_close(
        as_log, as_p, tolerances.forward(dtype), "kl_div(log_target=True) vs False", extra=_slack(dtype, scale)
    )
