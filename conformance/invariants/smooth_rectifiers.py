"""Invariants of the smooth rectifiers past the seed: GELU, ELU, softplus, log-sigmoid (section: activation functions).

Split from :mod:`.activations` to keep each module under 500 lines; the cases strategies here are
named by the op records of :mod:`dlterms.ops.smooth_rectifiers`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import strategies as st

from dlterms import ops as op_records

from .. import tolerances
from ..backends import Backend
from ..checks import as_float64, assert_close, assert_that
from ..registry import invariant, register_ops
from ..strategies import float_arrays, representable
from .activations import elementwise_cases


def gelu_cases(dtype: str, **kw: Any) -> st.SearchStrategy[dict[str, Any]]:
    """``{"x", "approximate"}``: both forms, ``kw`` as for :func:`float_arrays`."""
    return st.fixed_dictionaries({"x": float_arrays(dtype, **kw), "approximate": st.sampled_from(("none", "tanh"))})


def _alphas(dtype: str) -> st.SearchStrategy[float]:
    # α = 1 (the default, the only one tf.nn.elu has) one time in two; else α in [0.1, 2] in the dtype.
    drawn = st.floats(0.1, 2.0, width=64).map(lambda a: float(representable(np.array(a), dtype)))
    return st.one_of(st.just(1.0), drawn)


def elu_cases(dtype: str, **kw: Any) -> st.SearchStrategy[dict[str, Any]]:
    """``{"x", "alpha"}`` with α = 1 or in [0.1, 2] (representable in the dtype)."""
    return st.fixed_dictionaries({"x": float_arrays(dtype, **kw), "alpha": _alphas(dtype)})


# β = 1 (the default) one time in two, else a power of two: βx and the division by β are exact, so a
# framework without β (softplus(βx)/β) is checked on its own function, not on the rounding of βx.
_BETAS = (1.0, 1.0, 1.0, 0.25, 0.5, 2.0, 4.0)


def softplus_cases(dtype: str, **kw: Any) -> st.SearchStrategy[dict[str, Any]]:
    """``{"x", "beta"}`` with β = 1 or 2^k (|k| ≤ 2), and β·x finite in the dtype."""
    largest = tolerances.LARGEST[dtype]

    def finite_product(case: dict[str, Any]) -> bool:
        with np.errstate(over="ignore"):  # β·x past float64's range is what is left out
            return bool(np.all(np.abs(case["beta"] * np.asarray(case["x"], dtype=np.float64)) <= largest))

    return st.fixed_dictionaries({"x": float_arrays(dtype, **kw), "beta": st.sampled_from(_BETAS)}).filter(
        finite_product
    )


log_sigmoid_cases = elementwise_cases


register_ops(op_records.smooth_rectifiers.OPS)


def _pair(bk: Backend, op: str, dtype: str, x: Any, **kw: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x, f(x) and f(−x) as float64 arrays."""
    xs = np.asarray(x, dtype=np.float64)
    pos = as_float64(bk, getattr(bk, op)(bk.asarray(x, dtype), **kw))
    neg = as_float64(bk, getattr(bk, op)(bk.asarray((-xs).tolist(), dtype), **kw))
    return xs, pos, neg


def _slack(dtype: str, scale: np.ndarray | float) -> np.ndarray | float:
    """What rounding may add to a bound stated on exact values: the dtype's forward tolerance at ``scale``."""
    tol = tolerances.forward(dtype)
    return tol.rtol * np.abs(scale) + tol.atol


# --- GELU ------------------------------------------------------------------------------------------

# The largest gap between the tanh form and x·Φ(x): 4.7324e−4 at x = ±2.6989 (mpmath, 40 digits; tested).
GELU_TANH_GAP = 0.00047323552068728487


@invariant(
    "gelu.mirror_difference_is_x",
    term="gelu",
    statement="gelu(x) − gelu(−x) = x, in both forms, since Φ(x) + Φ(−x) = 1 (and σ(z) + σ(−z) = 1).",
    cases=lambda d: gelu_cases(d, edges=("full_range", "signed_zeros")),
)
def gelu_mirror(bk: Backend, dtype: str, x: Any, approximate: str) -> None:
    xs, pos, neg = _pair(bk, "gelu", dtype, x, approximate=approximate)
    # |gelu(x)| + |gelu(−x)| = |x|: each within a few roundings of its value, so the difference is
    # within the dtype's tolerance relative to |x| (FORWARD: rtol·|x| + atol).
    assert_close(pos - neg, xs, tolerances.forward(dtype), f"gelu(x) - gelu(-x) (approximate={approximate!r})")


@invariant(
    "gelu.tanh_form_within_its_gap_of_exact",
    term="gelu",
    statement="|gelu(x, 'tanh') − gelu(x)| ≤ 4.7324·10⁻⁴ for every x: the tanh form approximates x·Φ(x) "
    "to within its largest gap, at x ≈ ±2.699.",
    cases=lambda d: elementwise_cases(d, min_value=-12.0, max_value=12.0),
)
def gelu_tanh_gap(bk: Backend, dtype: str, x: Any) -> None:
    xs = np.asarray(x, dtype=np.float64)
    exact = as_float64(bk, bk.gelu(bk.asarray(x, dtype), approximate="none"))
    approx = as_float64(bk, bk.gelu(bk.asarray(x, dtype), approximate="tanh"))
    # Each result within the dtype's tolerance of its exact value (|gelu(x)| ≤ |x|): twice the slack.
    bound = GELU_TANH_GAP + 2.0 * _slack(dtype, xs)
    assert_that(np.abs(approx - exact) <= bound, "gelu(x, 'tanh') further than 4.73e-4 from gelu(x)", x=xs)


# --- ELU -------------------------------------------------------------------------------------------


@invariant(
    "elu.identity_for_positive_input",
    term="elu",
    statement="elu(x, alpha) = x exactly for every x > 0, whatever alpha.",
    cases=lambda d: elu_cases(d, edges=("full_range",)),
)
def elu_identity(bk: Backend, dtype: str, x: Any, alpha: float) -> None:
    xs = np.asarray(x, dtype=np.float64)
    y = as_float64(bk, bk.elu(bk.asarray(x, dtype), alpha=alpha))
    assert_that((xs <= 0) | (y == xs), f"elu(x, alpha={alpha}) != x for x > 0", x=xs, y=y)


@invariant(
    "elu.bounded_below_by_minus_alpha",
    term="elu",
    statement="elu(x, alpha) ≥ −alpha for every x (alpha > 0): the negative part saturates at −alpha "
    "instead of growing like a leaky ReLU's.",
    cases=lambda d: elu_cases(d, edges=("full_range", "exp_underflow")),
)
def elu_bounded(bk: Backend, dtype: str, x: Any, alpha: float) -> None:
    xs = np.asarray(x, dtype=np.float64)
    y = as_float64(bk, bk.elu(bk.asarray(x, dtype), alpha=alpha))
    assert_that(y >= -alpha - _slack(dtype, alpha), f"elu(x, alpha={alpha}) below -alpha", x=xs, y=y)


# --- softplus --------------------------------------------------------------------------------------

_SOFTPLUS_EDGES = ("exp_overflow", "exp_underflow", "full_range", "signed_zeros")


@invariant(
    "softplus.mirror_difference_is_x",
    term="softplus",
    statement="softplus(x) − softplus(−x) = x for every beta, since log(1 + e^t) − log(1 + e^−t) = t.",
    cases=lambda d: softplus_cases(d, edges=_SOFTPLUS_EDGES),
)
def softplus_mirror(bk: Backend, dtype: str, x: Any, beta: float) -> None:
    xs, pos, neg = _pair(bk, "softplus", dtype, x, beta=beta)
    # |softplus(x) − softplus(−x)| = |x| with both terms ≥ 0 and the larger ≤ |x| + log 2/β: the
    # difference is within the dtype's tolerance at |x| + log 2/β.
    assert_close(
        pos - neg,
        xs,
        tolerances.forward(dtype),
        f"softplus(x) - softplus(-x) (beta={beta})",
        extra=_slack(dtype, math.log(2.0) / beta),
    )


@invariant(
    "softplus.above_relu_within_log2",
    term="softplus",
    statement="relu(x) ≤ softplus(x) ≤ relu(x) + log(2)/beta: softplus is a smooth ReLU, furthest from it "
    "at 0, by log(2)/beta.",
    cases=lambda d: softplus_cases(d, edges=_SOFTPLUS_EDGES),
)
def softplus_near_relu(bk: Backend, dtype: str, x: Any, beta: float) -> None:
    xs = np.asarray(x, dtype=np.float64)
    y = as_float64(bk, bk.softplus(bk.asarray(x, dtype), beta=beta))
    gap = y - np.maximum(xs, 0.0)  # relu(x) is exact in any dtype
    slack = _slack(dtype, np.abs(xs) + math.log(2.0) / beta)
    assert_that(gap >= -slack, f"softplus(x, beta={beta}) below relu(x)", x=xs, y=y)
    assert_that(gap <= math.log(2.0) / beta + slack, f"softplus(x, beta={beta}) above relu(x) + log 2/beta", x=xs, y=y)


# --- log-sigmoid -----------------------------------------------------------------------------------

_LOG_SIGMOID_EDGES = ("exp_overflow", "exp_underflow", "full_range", "signed_zeros")


@invariant(
    "log_sigmoid.mirror_difference_is_x",
    term="log-sigmoid",
    statement="log_sigmoid(x) − log_sigmoid(−x) = x, since σ(x)/σ(−x) = e^x.",
    cases=lambda d: elementwise_cases(d, edges=_LOG_SIGMOID_EDGES),
)
def log_sigmoid_mirror(bk: Backend, dtype: str, x: Any) -> None:
    xs, pos, neg = _pair(bk, "log_sigmoid", dtype, x)
    # Both terms ≤ 0 and the larger in size ≤ |x| + log 2: within the tolerance at |x| + log 2.
    assert_close(
        pos - neg, xs, tolerances.forward(dtype), "log_sigmoid(x) - log_sigmoid(-x)", extra=_slack(dtype, math.log(2.0))
    )


@invariant(
    "log_sigmoid.is_minus_softplus_of_minus_x",
    term="log-sigmoid",
    statement="log_sigmoid(x) = −softplus(−x) ≤ 0 for every x: finite where sigmoid(x) underflows.",
    ops=("log_sigmoid", "softplus"),
    cases=lambda d: elementwise_cases(d, edges=_LOG_SIGMOID_EDGES),
)
def log_sigmoid_softplus(bk: Backend, dtype: str, x: Any) -> None:
    xs = np.asarray(x, dtype=np.float64)
    y = as_float64(bk, bk.log_sigmoid(bk.asarray(x, dtype)))
    sp = as_float64(bk, bk.softplus(bk.asarray((-xs).tolist(), dtype)))
    assert_that(y <= 0, "log_sigmoid(x) > 0", x=xs, y=y)
    assert_close(y, -sp, tolerances.forward(dtype), "log_sigmoid(x) vs -softplus(-x)")
