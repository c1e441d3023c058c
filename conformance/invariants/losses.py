"""Invariants of the cost functions (seed section: the cost function)."""

from __future__ import annotations

from typing import Any

import numpy as np
from dlterms.reference.losses import REDUCTIONS
from hypothesis import strategies as st

from dlterms import ops as op_records

from .. import tolerances
from ..backends import Backend, OpCall
from ..checks import as_float64, assert_close, assert_shape, assert_that
from ..edges import offset
from ..registry import invariant, register_ops
from ..strategies import float_arrays, representable, shapes

# Values stay within ±4 in half precision so that a sum of up to 125 squared
# errors (≤ 125·8²) is representable: float16 overflows at 65504.
_SPAN = {"float16": 4.0, "bfloat16": 4.0, "float32": 20.0, "float64": 20.0}

# Away from p = 0 and p = 1 for gradients: the derivative 1/(p(1 − p)) blows
# up there, and the clamp of the logs makes it jump.
_P_MARGIN = 2.0**-6  # exact in every dtype (float_arrays needs representable bounds)


def _reductions() -> st.SearchStrategy[str]:
    return st.sampled_from(REDUCTIONS)


def _pairs(
    dtype: str,
    *,
    lo: float | None = None,
    hi: float | None = None,
    edges: tuple[str, ...] = (),
    **shape_kw: Any,
) -> Any:
    """``{"input", "target", "reduction"}`` with input and target of one shape.

    ``edges`` (:data:`dlterms.conformance.edges.EDGES`) reach the input's values; with
    ``"large_offsets"`` input and target sometimes share one large offset ``c`` (both are
    ``c`` + a moderate value: their difference is exact, their squares are huge).
    """
    lo = -_SPAN[dtype] if lo is None else lo
    hi = _SPAN[dtype] if hi is None else hi
    element_edges = tuple(e for e in edges if e != "large_offsets")
    pairs = shapes(**shape_kw).flatmap(
        lambda s: st.fixed_dictionaries(
            {
                "input": float_arrays(dtype, s, min_value=lo, max_value=hi, edges=element_edges),
                "target": float_arrays(dtype, s, min_value=lo, max_value=hi),
                "reduction": _reductions(),
            }
        )
    )
    if "large_offsets" not in edges:
        return pairs
    return st.tuples(pairs, st.just(0.0) | offset(dtype)).map(lambda t: _shifted(t[0], t[1], dtype))


def _shifted(case: dict[str, Any], c: float, dtype: str) -> dict[str, Any]:
    """The case with ``c`` added to input and target (rounded to the dtype)."""
    moved = {k: representable(np.asarray(case[k], dtype=np.float64) + c, dtype).tolist() for k in ("input", "target")}
    return {**case, **moved}


def mse_cases(dtype: str, **kw: Any) -> Any:
    """``{"input", "target", "reduction"}`` of one shape (``kw``: ``edges`` and shape bounds)."""
    return _pairs(dtype, **kw)


# Below e^−100 the reference's log p is clamped at −100 (PyTorch's convention, which the
# definition does not fix: its value is +∞ there).
_CLAMPED_BELOW = float(np.exp(-100.0))


def _certain_targets(case: dict[str, Any]) -> dict[str, Any]:
    """The case with the target set to p wherever p is 0 (or below e^−100) or 1.

    There the loss of any other target is the −100 clamp, a convention
    (``binary_cross_entropy.loss_at_zero_probability``), not the definition,
    which gives +∞; a certain and right prediction costs 0 by the definition.
    """
    p = np.asarray(case["input"], dtype=np.float64)
    y = np.asarray(case["target"], dtype=np.float64)
    y = np.where(p < _CLAMPED_BELOW, 0.0, np.where(p == 1.0, 1.0, y))
    return {**case, "target": y.tolist()}


def bce_cases(dtype: str, **kw: Any) -> Any:
    """``{"input", "target", "reduction"}`` with probabilities in [0, 1], certain predictions right.

    Hypothesis' floats in [0, 1] hit the end points 0 and 1 often; there the
    target equals the prediction (see :func:`_certain_targets`). ``kw``: ``edges`` of the
    input (``"probability_ends"``: within a few ulp of 0 and 1) and shape bounds.
    """
    return _pairs(dtype, lo=0.0, hi=1.0, **kw).map(_certain_targets)


def bce_grad_cases(dtype: str) -> Any:
    return shapes().flatmap(
        lambda s: st.fixed_dictionaries(
            {
                "input": float_arrays(dtype, s, min_value=_P_MARGIN, max_value=1.0 - _P_MARGIN),
                "target": float_arrays(dtype, s, min_value=0.0, max_value=1.0),
                "reduction": _reductions(),
            }
        )
    )


def ce_cases(
    dtype: str, *, span: float | None = None, max_n: int = 5, max_c: int = 5, edges: tuple[str, ...] = ()
) -> Any:
    """``{"logits": (N, C), "target": N class indices, "reduction"}`` (``edges`` reach the logits)."""
    span = _SPAN[dtype] if span is None else span

    def build(nc: tuple[int, int]) -> Any:
        n, c = nc
        return st.fixed_dictionaries(
            {
                "logits": float_arrays(dtype, (n, c), min_value=-span, max_value=span, edges=edges),
                "target": st.lists(st.integers(0, c - 1), min_size=n, max_size=n),
                "reduction": _reductions(),
            }
        )

    return st.tuples(st.integers(1, max_n), st.integers(1, max_c)).flatmap(build)


register_ops(op_records.losses.OPS)


# --- shared: every loss --------------------------------------------------------------
#
# Each loss is called as loss(first, target, reduction=...) where `first` is
# `input` (mse_loss, binary_cross_entropy) or `logits` (cross_entropy); the
# examples are the elements (elementwise losses) or the rows of the logits.

_FIRST = {"mse_loss": "input", "binary_cross_entropy": "input", "cross_entropy": "logits"}
_TERM = {"mse_loss": "mean-squared-error", "binary_cross_entropy": "cross-entropy", "cross_entropy": "cross-entropy"}
_CASES = {"mse_loss": mse_cases, "binary_cross_entropy": bce_cases, "cross_entropy": ce_cases}


def _call(bk: Backend, op: str, dtype: str, first: Any, target: Any, reduction: str) -> np.ndarray:
    t = bk.asarray(target, "int64" if op == "cross_entropy" else dtype)
    return as_float64(bk, getattr(bk, op)(bk.asarray(first, dtype), t, reduction=reduction))


def _examples(op: str, first: Any, target: Any) -> list[tuple[Any, Any]]:
    """Each example alone, as a batch of one (an element for mse/bce, a row for cross-entropy)."""
    if op == "cross_entropy":
        return [([row], [k]) for row, k in zip(first, target, strict=True)]
    return [([a], [b]) for a, b in zip(np.ravel(first).tolist(), np.ravel(target).tolist(), strict=True)]


def _register_shared(op: str) -> None:
    first_name = _FIRST[op]

    @invariant(
        f"{op}.nonnegative",
        term=_TERM[op],
        statement=f"{op} is never negative (nor NaN) for any reduction.",
        cases=_CASES[op],
    )
    def nonnegative(bk: Backend, dtype: str, reduction: str, target: Any, **first: Any) -> None:
        y = _call(bk, op, dtype, first[first_name], target, reduction)
        assert_that(y >= 0, f"{op}(reduction={reduction!r}) is negative or NaN", loss=y)

    @invariant(
        f"{op}.sum_is_n_times_mean",
        term=_TERM[op],
        statement=f"{op} with reduction='sum' equals N × its value with reduction='mean' (N examples).",
        cases=_CASES[op],
    )
    def sum_is_n_times_mean(bk: Backend, dtype: str, reduction: str, target: Any, **first: Any) -> None:
        x = first[first_name]
        n = len(x) if op == "cross_entropy" else int(np.size(x))
        total = _call(bk, op, dtype, x, target, "sum")
        mean = _call(bk, op, dtype, x, target, "mean")
        assert_close(total, n * mean, tolerances.forward(dtype), f"{op}(sum) vs {n} × {op}(mean)")

    @invariant(
        f"{op}.none_gives_per_example_values",
        term=_TERM[op],
        statement=f"{op} with reduction='none' returns one value per example, each equal to "
        f"the loss of that example alone.",
        # Small cases: the check calls the op once per example.
        cases=lambda d: _CASES[op](d, max_n=4) if op == "cross_entropy" else _CASES[op](d, max_dims=2, max_side=3),
    )
    def none_gives_per_example_values(bk: Backend, dtype: str, reduction: str, target: Any, **first: Any) -> None:
        x = first[first_name]
        per = _call(bk, op, dtype, x, target, "none")
        expected_shape = (len(x),) if op == "cross_entropy" else np.shape(x)
        assert_shape(per, expected_shape, f"{op}(reduction='none')")
        alone = [_call(bk, op, dtype, a, b, "mean") for a, b in _examples(op, x, target)]
        assert_close(np.ravel(per), np.array(alone), tolerances.forward(dtype), f"{op}(reduction='none') vs each alone")


for _op in _FIRST:
    _register_shared(_op)


# --- mean squared error --------------------------------------------------------------


@invariant(
    "mse_loss.zero_iff_equal",
    term="mean-squared-error",
    statement="mse_loss(input, target) is exactly 0 where input equals target and positive where they differ "
    "(elementwise with reduction='none'; mse_loss(x, x) = 0 for every reduction).",
    cases=lambda d: shapes().flatmap(
        lambda s: st.fixed_dictionaries(
            {
                "input": float_arrays(d, s, min_value=-_SPAN[d], max_value=_SPAN[d]),
                "other": float_arrays(d, s, min_value=-_SPAN[d], max_value=_SPAN[d]),
                "same": st.lists(st.booleans(), min_size=int(np.prod(s)), max_size=int(np.prod(s))),
            }
        )
    ),
)
def mse_zero_iff_equal(bk: Backend, dtype: str, input: Any, other: Any, same: list[bool]) -> None:
    x = np.asarray(input, dtype=np.float64)
    t = np.where(np.reshape(same, x.shape), x, np.asarray(other))
    for reduction in ("mean", "sum"):
        y = _call(bk, "mse_loss", dtype, input, input, reduction)
        assert_that(y == 0, f"mse_loss(x, x, reduction={reduction!r}) is not 0", loss=y)
    per = _call(bk, "mse_loss", dtype, input, t.tolist(), "none")
    assert_that(per[x == t] == 0, "mse_loss is not 0 where input == target", loss=per)
    # Only where the exact squared difference is a normal number of the dtype
    # (a smaller one may legitimately round or flush to 0).
    tiny = float(np.finfo(np.float32 if dtype == "bfloat16" else np.dtype(dtype)).tiny)
    differ = (x != t) & ((x - t) ** 2 >= tiny)
    assert_that(per[differ] > 0, "mse_loss is 0 where input != target", input=x, target=t, loss=per)


# --- cross-entropy ---------------------------------------------------------------------


@invariant(
    "cross_entropy.equals_negative_log_softmax_at_target",
    term="cross-entropy",
    statement="cross_entropy(logits, target, reduction='none')[n] = −log_softmax(logits)[n, target[n]].",
    ops=("cross_entropy", "log_softmax"),
    cases=ce_cases,
)
def ce_is_nll_of_log_softmax(bk: Backend, dtype: str, logits: Any, target: list[int], reduction: str) -> None:
    per = _call(bk, "cross_entropy", dtype, logits, target, "none")
    ls = as_float64(bk, bk.log_softmax(bk.asarray(logits, dtype), axis=-1))
    picked = -ls[np.arange(len(target)), target]
    tol = tolerances.forward(dtype, "cross_entropy.equals_negative_log_softmax_at_target")
    assert_close(per, picked, tol, "cross_entropy vs −log_softmax[target]")


@invariant(
    "cross_entropy.grad_is_softmax_minus_onehot",
    term="cross-entropy",
    statement="The gradient of cross_entropy (reduction='mean') with respect to the logits is "
    "(softmax(logits) − onehot(target)) / N.",
    cases=ce_cases,
    needs_vjp=True,
    kind="gradient",
)
def ce_gradient(bk: Backend, dtype: str, logits: Any, target: list[int], reduction: str) -> None:
    z = np.asarray(logits, dtype=np.float64)
    fn = OpCall(bk, "cross_entropy", {"target": bk.asarray(target, "int64"), "reduction": "mean"}, ("logits",))
    (g,) = bk.vjp(fn, (bk.asarray(logits, dtype),), bk.asarray(1.0, dtype))
    e = np.exp(z - z.max(axis=1, keepdims=True))
    onehot = np.eye(z.shape[1])[target]
    expected = (e / e.sum(axis=1, keepdims=True) - onehot) / len(target)
    assert_close(as_float64(bk, g), expected, tolerances.gradient(dtype), "d cross_entropy / d logits")


@invariant(
    "cross_entropy.finite_for_large_logits",
    term="cross-entropy",
    statement="cross_entropy is finite and non-negative for logits up to ±1e4 (where exp overflows).",
    cases=lambda d: ce_cases(d, span=1e4),
    dtypes=("float32", "float64"),
    kind="robustness",
)
def ce_large_logits(bk: Backend, dtype: str, logits: Any, target: list[int], reduction: str) -> None:
    y = _call(bk, "cross_entropy", dtype, logits, target, reduction)
    assert_that(np.isfinite(y) & (y >= 0), "cross_entropy is inf, NaN or negative for large logits", loss=y)
