"""Invariants of the activation functions (seed section: activation functions)."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from dlterms import ops as op_records
from dlterms import reference

from .. import tolerances
from ..backends import Backend, OpCall
from ..checks import as_float64, assert_close, assert_that
from ..edges import LIMITS
from ..registry import OPS, invariant, register_ops
from ..strategies import float_arrays, logits_with_axis, representable


def elementwise_cases(dtype: str, **kw: Any) -> st.SearchStrategy[dict[str, Any]]:
    """``{"x": an array}`` for an elementwise op (``kw`` as for :func:`float_arrays`)."""
    return st.fixed_dictionaries({"x": float_arrays(dtype, **kw)})


_x = elementwise_cases


def _x_away_from_zero(dtype: str) -> st.SearchStrategy[dict[str, Any]]:
    return elementwise_cases(dtype, away_from=0.0)


def _slopes(dtype: str, lo: float = 0.0, hi: float = 1.0) -> st.SearchStrategy[float]:
    # No subnormal slope: XLA and TensorFlow treat subnormal inputs as zero on CPU (a convention
    # `dlterms conventions` reports), and float_arrays leaves subnormals out for the same reason.
    # Exactly 0 is one slope in four: the slope where a·x is −0.0.
    tiny = LIMITS[dtype].tiny
    drawn = (
        st.floats(lo, hi, width=64, allow_subnormal=False)
        .map(lambda a: float(representable(np.array(a), dtype)))
        .filter(lambda a: a == 0.0 or abs(a) >= tiny)
    )
    return st.integers(0, 3).flatmap(lambda i: st.just(0.0) if i == 0 else drawn)


def leaky_relu_cases(
    dtype: str, *, slopes: tuple[float, float] = (0.0, 1.0), **kw: Any
) -> st.SearchStrategy[dict[str, Any]]:
    """``{"x", "negative_slope"}`` with a slope in ``slopes`` (default [0, 1]) representable in the dtype."""
    return st.fixed_dictionaries({"x": float_arrays(dtype, **kw), "negative_slope": _slopes(dtype, *slopes)})


register_ops(op_records.activations.OPS)


# --- SiLU -------------------------------------------------------------------------

# The depth of SiLU's minimum: min x·σ(x) = −W(1/e) at x = −1 − W(1/e) (W the Lambert W function;
# from 1 + x·σ(−x) = 0), and max x·σ(−x) over x > 0 is the same by silu(x) − silu(−x) = x.
SILU_DEPTH = 0.2784645427610738  # W(1/e), mpmath.lambertw(1/e) rounded to float64 (tested)
_SILU_EDGES = ("exp_overflow", "full_range", "signed_zeros")


@invariant(
    "silu.mirror_difference_is_x",
    term="silu",
    statement="silu(x) − silu(−x) = x, since σ(x) + σ(−x) = 1.",
    cases=lambda d: _x(d, edges=_SILU_EDGES),
)
def silu_mirror(bk: Backend, dtype: str, x: Any) -> None:
    xs = np.asarray(x, dtype=np.float64)
    pos = as_float64(bk, bk.silu(bk.asarray(x, dtype)))
    neg = as_float64(bk, bk.silu(bk.asarray((-xs).tolist(), dtype)))
    # |silu(x)| + |silu(−x)| = |x|: each within a few roundings of its value, so the difference
    # is within the dtype's tolerance relative to |x| (FORWARD: rtol·|x| + atol).
    assert_close(pos - neg, xs, tolerances.forward(dtype), "silu(x) - silu(-x)")


@invariant(
    "silu.within_its_minimum_of_relu",
    term="silu",
    statement="relu(x) − W(1/e) ≤ silu(x) ≤ relu(x): SiLU is never above ReLU, and never below it by more "
    "than the depth of its minimum, W(1/e) ≈ 0.27846.",
    cases=lambda d: _x(d, edges=_SILU_EDGES),
)
def silu_near_relu(bk: Backend, dtype: str, x: Any) -> None:
    xs = np.asarray(x, dtype=np.float64)
    y = as_float64(bk, bk.silu(bk.asarray(x, dtype)))
    gap = np.maximum(xs, 0.0) - y  # relu(x) is exact in any dtype
    # Rounding: y within the dtype's tolerance of the exact value, relative to |y| ≤ |x|.
    tol = tolerances.forward(dtype)
    slack = tol.rtol * np.abs(xs) + tol.atol
    assert_that(gap >= -slack, "silu(x) above relu(x)", x=xs, y=y)
    assert_that(gap <= SILU_DEPTH + slack, "silu(x) below relu(x) by more than W(1/e)", x=xs, y=y)


# --- sigmoid -------------------------------------------------------------------

# The strict bound (0, 1) is claimed only where the exact sigmoid is at least 16 ulp(1)
# away from 1 in the dtype (1 − σ(x) ≈ e^−x ≥ 16·2^−p), so an implementation accurate to a
# few ulp cannot round to 1 there: float32 |x| ≤ 13 (1 − σ(13) ≈ 38 ulp). Beyond, [0, 1] holds.
SIGMOID_SATURATION = {"float16": 4.5, "bfloat16": 2.5, "float32": 13.0, "float64": 33.0}


@invariant(
    "sigmoid.range_unit_interval",
    term="sigmoid",
    statement="sigmoid(x) lies in [0, 1] for every x, and strictly inside (0, 1) "
    "wherever the exact value is not rounded to 0 or 1 in the dtype.",
    cases=lambda d: _x(d, min_value=-60.0, max_value=60.0),
)
def sigmoid_range(bk: Backend, dtype: str, x: Any) -> None:
    y = as_float64(bk, bk.sigmoid(bk.asarray(x, dtype)))
    xs = np.asarray(x)
    assert_that((y >= 0) & (y <= 1), "sigmoid(x) outside [0, 1]", x=xs, y=y)
    inner = np.abs(xs) <= SIGMOID_SATURATION[dtype]
    assert_that(~inner | ((y > 0) & (y < 1)), "sigmoid(x) hit 0 or 1 for a moderate x", x=xs, y=y)


@invariant(
    "sigmoid.symmetry",
    term="sigmoid",
    statement="sigmoid(−x) = 1 − sigmoid(x).",
    cases=_x,
)
def sigmoid_symmetry(bk: Backend, dtype: str, x: Any) -> None:
    xs = np.asarray(x)
    pos = as_float64(bk, bk.sigmoid(bk.asarray(x, dtype)))
    neg = as_float64(bk, bk.sigmoid(bk.asarray((-xs).tolist(), dtype)))
    # Compared in absolute terms: 1 − σ(x) loses relative accuracy as σ(x) → 1.
    tol = tolerances.forward(dtype, "sigmoid.symmetry")
    assert_close(neg + pos, np.ones_like(pos), tol, "sigmoid(-x) + sigmoid(x)")


@invariant(
    "sigmoid.monotone",
    term="sigmoid",
    statement="sigmoid is non-decreasing: x ≤ y implies sigmoid(x) ≤ sigmoid(y).",
    cases=lambda d: _x(d, min_dims=1, max_dims=1, max_side=12),
)
def sigmoid_monotone(bk: Backend, dtype: str, x: Any) -> None:
    xs = np.sort(np.asarray(x))
    y = as_float64(bk, bk.sigmoid(bk.asarray(xs.tolist(), dtype)))
    assert_that(np.diff(y) >= 0, "sigmoid decreased between sorted inputs", x=xs, y=y)


@invariant(
    "sigmoid.derivative_identity",
    term="sigmoid",
    statement="The gradient of sigmoid is sigmoid(x)·(1 − sigmoid(x)).",
    cases=_x,
    needs_vjp=True,
)
def sigmoid_derivative_identity(bk: Backend, dtype: str, x: Any) -> None:
    xn = bk.asarray(x, dtype)
    s = as_float64(bk, bk.sigmoid(xn))
    (g,) = bk.vjp(OpCall(bk, "sigmoid"), (xn,), bk.asarray(np.ones_like(s).tolist(), dtype))
    assert_close(as_float64(bk, g), s * (1 - s), tolerances.gradient(dtype), "d sigmoid/dx")


@invariant(
    "sigmoid.derivative_at_most_quarter",
    term="vanishing-gradient",
    statement="The derivative of sigmoid is at most 1/4 (so each sigmoid layer shrinks the gradient).",
    cases=_x,
    needs_vjp=True,
)
def sigmoid_derivative_bound(bk: Backend, dtype: str, x: Any) -> None:
    xn = bk.asarray(x, dtype)
    (g,) = bk.vjp(OpCall(bk, "sigmoid"), (xn,), bk.asarray(np.ones(np.shape(x)).tolist(), dtype))
    g = as_float64(bk, g)
    assert_that((g >= 0) & (g <= 0.25), "sigmoid'(x) outside [0, 1/4]", x=np.asarray(x), grad=g)


# --- tanh ------------------------------------------------------------------------

# The same rule for tanh (1 − tanh(x) ≈ 2e^−2x ≥ 16 ulp(1)): float32 |x| ≤ 7. At 8.0 the exact
# value is only 4 ulp below 1 and TensorFlow's and XLA's float32 tanh return 1.0 from |x| ≈ 7.95.
TANH_SATURATION = {"float16": 2.5, "bfloat16": 1.5, "float32": 7.0, "float64": 17.0}


@invariant("tanh.odd", term="tanh", statement="tanh(−x) = −tanh(x).", cases=_x)
def tanh_odd(bk: Backend, dtype: str, x: Any) -> None:
    xs = np.asarray(x)
    pos = as_float64(bk, bk.tanh(bk.asarray(x, dtype)))
    neg = as_float64(bk, bk.tanh(bk.asarray((-xs).tolist(), dtype)))
    assert_close(neg, -pos, tolerances.forward(dtype), "tanh(-x) vs -tanh(x)")


@invariant(
    "tanh.range_open_interval",
    term="tanh",
    statement="tanh(x) lies in [−1, 1] for every x, and strictly inside (−1, 1) "
    "wherever the exact value is not rounded to ±1 in the dtype.",
    cases=lambda d: _x(d, min_value=-40.0, max_value=40.0),
)
def tanh_range(bk: Backend, dtype: str, x: Any) -> None:
    xs = np.asarray(x)
    y = as_float64(bk, bk.tanh(bk.asarray(x, dtype)))
    assert_that(np.abs(y) <= 1, "tanh(x) outside [-1, 1]", x=xs, y=y)
    inner = np.abs(xs) <= TANH_SATURATION[dtype]
    assert_that(~inner | (np.abs(y) < 1), "tanh(x) hit ±1 for a moderate x", x=xs, y=y)


@invariant(
    "tanh.sigmoid_identity",
    term="tanh",
    statement="tanh(x) = 2·sigmoid(2x) − 1.",
    ops=("tanh", "sigmoid"),
    cases=lambda d: _x(d, min_value=-10.0, max_value=10.0),
)
def tanh_sigmoid_identity(bk: Backend, dtype: str, x: Any) -> None:
    xs = np.asarray(x)
    t = as_float64(bk, bk.tanh(bk.asarray(x, dtype)))
    s = as_float64(bk, bk.sigmoid(bk.asarray((2 * xs).tolist(), dtype)))
    # 2σ − 1 cancels near x = 0, so the comparison is absolute (scaled by max |tanh| = 1).
    tol = tolerances.forward(dtype, "tanh.sigmoid_identity")
    assert_close(t, 2 * s - 1, tol, "tanh(x) vs 2σ(2x)−1")


# --- ReLU --------------------------------------------------------------------------


@invariant("relu.equals_max_zero", term="relu", statement="relu(x) = max(0, x) elementwise.", cases=_x)
def relu_max_zero(bk: Backend, dtype: str, x: Any) -> None:
    y = as_float64(bk, bk.relu(bk.asarray(x, dtype)))
    assert_that(y == np.maximum(np.asarray(x), 0.0), "relu(x) != max(0, x)", x=np.asarray(x), y=y)


@invariant("relu.idempotent", term="relu", statement="relu(relu(x)) = relu(x).", cases=_x)
def relu_idempotent(bk: Backend, dtype: str, x: Any) -> None:
    once = bk.relu(bk.asarray(x, dtype))
    twice = bk.relu(once)
    assert_that(as_float64(bk, twice) == as_float64(bk, once), "relu(relu(x)) != relu(x)", x=np.asarray(x))


@invariant(
    "relu.positively_homogeneous",
    term="relu",
    statement="relu(a·x) = a·relu(x) for every a ≥ 0.",
    cases=lambda d: st.fixed_dictionaries(
        {"x": float_arrays(d), "a": st.sampled_from([0.0, 0.5, 1.0, 2.0, 4.0, 0.25])}
    ),
)
def relu_homogeneous(bk: Backend, dtype: str, x: Any, a: float) -> None:
    # Powers of two (and 0) keep a·x exact in every dtype, so equality is exact. Elements
    # where a·x is subnormal are left out: frameworks may flush subnormals to zero (XLA and
    # TensorFlow do on CPU), a convention reported by `dlterms conventions`, not a ReLU bug.
    xs = np.asarray(x)
    ax = a * xs
    normal = (ax == 0) | (np.abs(ax) >= _smallest_normal(dtype))
    lhs = as_float64(bk, bk.relu(bk.asarray(ax.tolist(), dtype)))
    rhs = a * as_float64(bk, bk.relu(bk.asarray(x, dtype)))
    assert_that(~normal | (lhs == rhs), f"relu({a}·x) != {a}·relu(x)", x=xs)


def _smallest_normal(dtype: str) -> float:
    return 2.0**-126 if dtype == "bfloat16" else float(np.finfo(np.dtype(dtype)).tiny)


@invariant(
    "relu.zero_gradient_for_negative_input",
    term="dying-relu",
    statement="The gradient of relu is 0 wherever x < 0 and 1 wherever x > 0 "
    "(a unit whose inputs are all negative receives no gradient: it is dead).",
    cases=_x_away_from_zero,
    needs_vjp=True,
)
def relu_gradient(bk: Backend, dtype: str, x: Any) -> None:
    xn = bk.asarray(x, dtype)
    (g,) = bk.vjp(OpCall(bk, "relu"), (xn,), bk.asarray(np.ones(np.shape(x)).tolist(), dtype))
    expected = (np.asarray(x) > 0).astype(np.float64)
    assert_that(as_float64(bk, g) == expected, "relu'(x) is not [x > 0]", x=np.asarray(x), grad=as_float64(bk, g))


# --- leaky ReLU ------------------------------------------------------------------


@invariant(
    "leaky_relu.honours_negative_slope",
    term="leaky-relu",
    statement="leaky_relu(x, a) = x for x > 0 and a·x for x ≤ 0, for any slope a given.",
    cases=lambda d: st.fixed_dictionaries({"x": float_arrays(d), "negative_slope": _slopes(d)}),
)
def leaky_slope(bk: Backend, dtype: str, x: Any, negative_slope: float) -> None:
    xs = np.asarray(x)
    y = as_float64(bk, bk.leaky_relu(bk.asarray(x, dtype), negative_slope=negative_slope))
    expected = representable(np.where(xs > 0, xs, negative_slope * xs), dtype)
    assert_close(y, expected, tolerances.forward(dtype), f"leaky_relu(x, negative_slope={negative_slope})")


@invariant(
    "leaky_relu.zero_slope_is_relu",
    term="leaky-relu",
    statement="leaky_relu(x, negative_slope=0) = relu(x).",
    ops=("leaky_relu", "relu"),
    cases=_x,
)
def leaky_zero_slope(bk: Backend, dtype: str, x: Any) -> None:
    xn = bk.asarray(x, dtype)
    leaky = as_float64(bk, bk.leaky_relu(xn, negative_slope=0.0))
    assert_that(leaky == as_float64(bk, bk.relu(xn)), "leaky_relu(x, 0) != relu(x)", x=np.asarray(x))


# --- softmax and log_softmax ---------------------------------------------------------


@invariant(
    "softmax.sums_to_one",
    term="softmax",
    statement="softmax(x, axis) sums to one along axis.",
    cases=logits_with_axis,
)
def softmax_sums_to_one(bk: Backend, dtype: str, x: Any, axis: int) -> None:
    y = as_float64(bk, bk.softmax(bk.asarray(x, dtype), axis=axis))
    ones = np.ones(np.delete(np.shape(x), axis % np.ndim(x)))
    # The sum (in float64) is within the sum of the outputs' own bounds (softmax.matches_reference's):
    # in float16 a row of outputs each rounded once is off by up to n·u, more than one output's bound.
    spec = OPS["softmax"]
    case = {"x": x, "axis": axis}
    expected = [np.asarray(reference.softmax(**case), dtype=np.float64)]
    tol, (scale,), (extra,) = spec.forward_tolerance(dtype, case, expected)
    row_bound = np.sum(tol.allowed(expected[0], scale, extra), axis=axis)
    exact_sum = tolerances.Tolerance(0.0, 0.0, "the sum of the outputs' bounds (softmax.matches_reference)")
    assert_close(y.sum(axis=axis), ones, exact_sum, "sum of softmax along axis", extra=row_bound)


@invariant(
    "softmax.shift_invariant",
    term="softmax",
    statement="softmax(x + c) = softmax(x) for any constant c.",
    cases=lambda d: logits_with_axis(d).flatmap(
        lambda c: st.fixed_dictionaries(
            {**{k: st.just(v) for k, v in c.items()}, "c": st.sampled_from([-8.0, -1.0, 0.5, 4.0, 16.0])}
        )
    ),
)
def softmax_shift(bk: Backend, dtype: str, x: Any, axis: int, c: float) -> None:
    xs = np.asarray(x)
    shifted = representable(xs + c, dtype)
    if not np.array_equal(shifted - c, xs):  # keep only shifts that are exact in the dtype
        return
    a = as_float64(bk, bk.softmax(bk.asarray(x, dtype), axis=axis))
    b = as_float64(bk, bk.softmax(bk.asarray(shifted.tolist(), dtype), axis=axis))
    assert_close(b, a, tolerances.forward(dtype), f"softmax(x + {c}) vs softmax(x)")


@invariant(
    "softmax.preserves_order",
    term="softmax",
    statement="Along the axis, a larger logit never gets a smaller probability.",
    cases=logits_with_axis,
)
def softmax_order(bk: Backend, dtype: str, x: Any, axis: int) -> None:
    xs = np.moveaxis(np.asarray(x), axis, -1)
    y = np.moveaxis(as_float64(bk, bk.softmax(bk.asarray(x, dtype), axis=axis)), axis, -1)
    order = np.argsort(xs, axis=-1, kind="stable")
    ys = np.take_along_axis(y, order, axis=-1)
    assert_that(np.diff(ys, axis=-1) >= 0, "softmax reversed the order of two logits", x=np.asarray(x))


@invariant(
    "softmax.finite_for_large_logits",
    term="softmax",
    statement="softmax gives finite probabilities in [0, 1] summing to one for logits up to ±1e4.",
    cases=lambda d: logits_with_axis(d, min_value=-1e4, max_value=1e4),
    dtypes=("float32", "float64"),
    kind="robustness",
)
def softmax_large(bk: Backend, dtype: str, x: Any, axis: int) -> None:
    y = as_float64(bk, bk.softmax(bk.asarray(x, dtype), axis=axis))
    assert_that(np.isfinite(y), "softmax produced NaN or inf for large logits", x=np.asarray(x), y=y)
    assert_that((y >= 0) & (y <= 1), "softmax outside [0, 1] for large logits", y=y)
    assert_close(
        y.sum(axis=axis),
        np.ones(np.delete(np.shape(x), axis % np.ndim(x))),
        tolerances.forward(dtype, "softmax.finite_for_large_logits"),
        "sum of softmax",
    )


@invariant(
    "log_softmax.equals_log_of_softmax",
    term="softmax",
    statement="log_softmax(x) = log(softmax(x)) wherever softmax(x) does not underflow.",
    ops=("log_softmax", "softmax"),
    cases=lambda d: logits_with_axis(d, min_value=-10.0, max_value=10.0),
)
def log_softmax_is_log(bk: Backend, dtype: str, x: Any, axis: int) -> None:
    ls = as_float64(bk, bk.log_softmax(bk.asarray(x, dtype), axis=axis))
    s = as_float64(bk, bk.softmax(bk.asarray(x, dtype), axis=axis))
    # log of a value with relative error r has absolute error ≈ r: compare absolutely. Below the
    # dtype's smallest normal number softmax has underflowed (to 0, or to a subnormal that has
    # lost its relative precision: float16's 2⁻¹⁴ is reached at a spread of about 10): left out.
    underflowed = s < tolerances.SMALLEST_NORMAL[dtype]
    tol = tolerances.forward(dtype, "log_softmax.equals_log_of_softmax")
    with np.errstate(divide="ignore"):
        assert_close(
            np.where(underflowed, 0.0, ls), np.where(underflowed, 0.0, np.log(s)), tol, "log_softmax vs log(softmax)"
        )


@invariant(
    "log_softmax.finite_where_softmax_underflows",
    term="softmax",
    statement="log_softmax stays finite (and equals x − max − log Σ e^(x − max)) for logits "
    "spread by up to 1e4, where softmax underflows to 0.",
    cases=lambda d: logits_with_axis(d, min_value=-1e4, max_value=1e4),
    dtypes=("float32", "float64"),
    kind="robustness",
)
def log_softmax_finite(bk: Backend, dtype: str, x: Any, axis: int) -> None:
    y = as_float64(bk, bk.log_softmax(bk.asarray(x, dtype), axis=axis))
    assert_that(np.isfinite(y), "log_softmax produced -inf or NaN for spread logits", x=np.asarray(x), y=y)
    assert_that(y <= 0, "log_softmax is positive", y=y)
