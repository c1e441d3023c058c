"""Accuracy of the reference to the last bits, against a 50-digit mpmath oracle.

Bounds (documented in docs/reference-accuracy.md and in each docstring):

* elementwise functions and their derivatives (the VJP with cotangent 1):
  within 2 ulp of the correctly rounded value; a derivative whose terms cancel
  (SiLU's): within 3 ulp of the largest of the value and its terms;
* softmax and log_softmax: within 4 ulp per output;
* losses (mse_loss, binary_cross_entropy, cross_entropy; every reduction):
  within 4 ulp of the larger of the result and the largest term (no method
  can beat half an ulp of the result, and a sum of n terms may be larger
  than any of them; ``"none"`` is checked element by element);
* sgd_step: within 1.5 ulp of the largest of ``|param|``, ``|lr·grad|``.

Inputs include the extremes: ±700 and beyond, subnormals, ±0, logits spread by
1e4, and logits whose difference from the row maximum is not exact in float64.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import mpmath
import pytest
from dlterms.reference import activations, smooth_rectifiers
from hypothesis import given, settings
from hypothesis import strategies as st

from dlterms import reference as ref

mpmath.mp.dps = 50
M = mpmath.mpf
TINY = 5e-324  # the ulp of 0 and of every subnormal


def ulps(got: float, exact: mpmath.mpf, scale: mpmath.mpf | None = None) -> float:
    """|got − exact| in units of the last place of ``scale`` (default: the correctly rounded exact value)."""
    rounded = float(exact)
    if got == rounded:
        return 0.0
    if math.isinf(got) or math.isinf(rounded) or math.isnan(got):
        return math.inf
    unit = math.ulp(abs(float(scale if scale is not None else exact))) or TINY
    return float(abs(M(got) - exact) / M(unit))


# --- strategies: ordinary values and the extremes ------------------------------------------------

SUBNORMAL = st.floats(min_value=-2.2250738585072014e-308, max_value=2.2250738585072014e-308)
EXTREMES = st.sampled_from(
    [0.0, -0.0, TINY, -TINY, 2.2250738585072014e-308, 1e-300, 700.0, -700.0, 709.78, -745.0, -745.13, 710.0, -710.0]
)
reals = st.one_of(st.floats(-40.0, 40.0), st.floats(-750.0, 750.0), SUBNORMAL, EXTREMES, st.floats(-1e-10, 1e-10))


@st.composite
def logit_rows(draw: st.DrawFn) -> list[float]:
    """Rows of logits: spread by up to 2e4, clustered far from 0, or straddling 0 (where t − max is inexact)."""
    n = draw(st.integers(1, 8))
    kind = draw(st.sampled_from(["spread", "cluster", "straddle", "extreme"]))
    if kind == "spread":
        return draw(st.lists(st.floats(-1e4, 1e4), min_size=n, max_size=n))
    if kind == "cluster":
        centre = draw(st.floats(-1e4, 1e4))
        return [centre + d for d in draw(st.lists(st.floats(-40.0, 40.0), min_size=n, max_size=n))]
    if kind == "straddle":
        return draw(st.lists(st.floats(-745.0, 745.0), min_size=n, max_size=n))
    return draw(st.lists(reals, min_size=n, max_size=n))


# --- elementwise functions --------------------------------------------------------------------------


def sigmoid_exact(x: float) -> mpmath.mpf:
    return 1 / (1 + mpmath.exp(-M(x)))


def sigmoid_derivative_exact(x: float) -> mpmath.mpf:
    e = mpmath.exp(-abs(M(x)))  # e^-|x| / (1 + e^-|x|)², the same number as σ(1 − σ) without cancellation
    return e / (1 + e) ** 2


def tanh_derivative_exact(x: float) -> mpmath.mpf:
    return 1 / mpmath.cosh(M(x)) ** 2


ELEMENTWISE: dict[str, tuple[Callable[[float], float], Callable[[float], mpmath.mpf]]] = {
    "sigmoid": (ref.sigmoid, sigmoid_exact),
    "tanh": (ref.tanh, lambda x: mpmath.tanh(M(x))),
    "relu": (ref.relu, lambda x: max(M(x), M(0))),
    "leaky_relu": (ref.leaky_relu, lambda x: M(x) if x > 0 else M(0.01) * M(x)),
    "silu": (ref.silu, lambda x: M(x) * sigmoid_exact(x)),
    "sigmoid_vjp": (lambda x: ref.sigmoid_vjp(x, 1.0), sigmoid_derivative_exact),
    "tanh_vjp": (lambda x: ref.tanh_vjp(x, 1.0), tanh_derivative_exact),
    "relu_vjp": (lambda x: ref.relu_vjp(x, 1.0), lambda x: M(1) if x > 0 else M(0)),
    "leaky_relu_vjp": (lambda x: ref.leaky_relu_vjp(x, 1.0), lambda x: M(1) if x > 0 else M(0.01)),
    "elu": (ref.elu, lambda x: M(x) if x > 0 else mpmath.expm1(M(x))),
    "elu_vjp": (lambda x: ref.elu_vjp(x, 1.0), lambda x: M(1) if x > 0 else mpmath.exp(M(x))),
    "softplus": (ref.softplus, lambda x: mpmath.log1p(mpmath.exp(M(x)))),
    "softplus_vjp": (lambda x: ref.softplus_vjp(x, 1.0), sigmoid_exact),
    "log_sigmoid": (ref.log_sigmoid, lambda x: -mpmath.log1p(mpmath.exp(-M(x)))),
    "log_sigmoid_vjp": (lambda x: ref.log_sigmoid_vjp(x, 1.0), lambda x: sigmoid_exact(-x)),
}


def silu_derivative_terms(x: float) -> tuple[mpmath.mpf, mpmath.mpf]:
    """The two terms of SiLU's derivative, σ(x) and x·σ'(x)."""
    return sigmoid_exact(x), M(x) * sigmoid_derivative_exact(x)


# Elementwise functions whose result can cancel: (function, its terms). The bound is 3 ulp of the largest of
# the result and the terms (three roundings of terms that partly cancel: measured 2.28 ulp at x = −29.7).
# SiLU's derivative σ(x) + x·σ'(x) is 0 at x = −1 − W(1/e), where no method working in float64 keeps
# relative accuracy.
CANCELLING: dict[str, tuple[Callable[[float], float], Callable[[float], tuple[mpmath.mpf, ...]]]] = {
    "silu_vjp": (lambda x: ref.silu_vjp(x, 1.0), silu_derivative_terms),
}


_C, _K = mpmath.sqrt(2 / mpmath.pi), mpmath.mpf("0.044715")  # the tanh form's √(2/π) and 0.044715 (a decimal)


def gelu_tanh_sigma(x: float) -> tuple[mpmath.mpf, mpmath.mpf]:
    """σ(z) and x·z′ of the tanh form x·σ(z), z = 2√(2/π)(x + 0.044715x³) (½(1 + tanh(z/2)) = σ(z))."""
    z = 2 * _C * (M(x) + _K * M(x) ** 3)
    return 1 / (1 + mpmath.exp(-z)), M(x) * 2 * _C * (1 + 3 * _K * M(x) ** 2)


def gelu_tanh_derivative_terms(x: float) -> tuple[mpmath.mpf, mpmath.mpf]:
    """The two terms of the tanh form's derivative, σ(z) and x·z′·σ(z)σ(−z)."""
    s, xz = gelu_tanh_sigma(x)
    return s, xz * s * (1 - s)


# GELU through erfc: (function, its terms), within 4 ulp of the largest of the result and its terms (the
# reference's budget, docs/reference-accuracy.md). math.erfc is the C library's: glibc's is itself measured
# at 2.26 ulp, and x·Φ(x) rounds once more (measured 3.68 ulp at x = −13.7 over 30 000 inputs; the tanh form
# 2.94); the derivatives' terms cancel at GELU's minimum (measured 3.23 ulp of the largest term, the tanh
# form's 3.36).
GELU_FORMS: dict[str, tuple[Callable[[float], float], Callable[[float], tuple[mpmath.mpf, ...]]]] = {
    "gelu": (ref.gelu, lambda x: (M(x) * mpmath.ncdf(M(x)),)),
    "gelu_vjp": (lambda x: ref.gelu_vjp(x, 1.0), lambda x: (mpmath.ncdf(M(x)), M(x) * mpmath.npdf(M(x)))),
    "gelu(tanh)": (lambda x: ref.gelu(x, approximate="tanh"), lambda x: (M(x) * gelu_tanh_sigma(x)[0],)),
    "gelu_vjp(tanh)": (lambda x: ref.gelu_vjp(x, 1.0, approximate="tanh"), gelu_tanh_derivative_terms),
}


def test_every_elementwise_activation_is_measured() -> None:
    """Each elementwise activation and its VJP has an oracle here (softmax and log_softmax are tested below)."""
    along_axis = {"softmax", "log_softmax", "softmax_vjp", "log_softmax_vjp"}
    measured = set(ELEMENTWISE) | set(CANCELLING) | {name.split("(")[0] for name in GELU_FORMS}
    assert (set(activations.__all__) | set(smooth_rectifiers.__all__)) - along_axis == measured


@pytest.mark.parametrize("name", sorted(GELU_FORMS))
@settings(max_examples=150)
@given(x=st.one_of(reals, st.floats(-39.0, -36.0), st.floats(-0.8, -0.7)))
def test_gelu_within_4_ulp_of_the_largest_term(name: str, x: float) -> None:
    """GELU (both forms) and its derivatives are within 4 ulp of the larger of the 50-digit value and its terms."""
    f, terms = GELU_FORMS[name]
    parts = terms(x)
    exact = mpmath.fsum(parts)
    scale = max([abs(exact), *(abs(t) for t in parts)])
    assert ulps(f(x), exact, scale) <= 4, (name, x)


@pytest.mark.parametrize("name", sorted(CANCELLING))
@settings(max_examples=150)
@given(x=st.one_of(reals, st.floats(-1.3, -1.25)))
def test_cancelling_within_2_ulp_of_the_largest_term(name: str, x: float) -> None:
    """A function whose terms cancel is within 3 ulp of the larger of its 50-digit value and its largest term."""
    f, terms = CANCELLING[name]
    parts = terms(x)
    exact = mpmath.fsum(parts)
    scale = max([abs(exact), *(abs(t) for t in parts)])
    assert ulps(f(x), exact, scale) <= 3, (name, x)


def test_silu_depth_is_lambert_w_of_one_over_e() -> None:
    """SILU_DEPTH, the depth of SiLU's minimum used by its invariant, is W(1/e) and the reference's minimum."""
    from dlterms.conformance.invariants.activations import SILU_DEPTH

    assert float(mpmath.lambertw(1 / mpmath.e)) == SILU_DEPTH
    x_min = float(-1 - mpmath.lambertw(1 / mpmath.e))
    assert ref.silu(x_min) == pytest.approx(-SILU_DEPTH, rel=1e-15)
    assert ref.silu_vjp(x_min, 1.0) == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
@settings(max_examples=150)
@given(x=reals)
def test_elementwise_within_2_ulp_of_mpmath(name: str, x: float) -> None:
    """Each elementwise function (and its derivative) is within 2 ulp of the 50-digit value, extremes included."""
    f, exact = ELEMENTWISE[name]
    assert ulps(f(x), exact(x)) <= 2, (name, x)


@pytest.mark.parametrize(
    ("x", "exact"),
    [
        (40.0, "4.2483542552915889e-18"),  # σ'(40): σ(1 − σ) would give 0
        (-745.0, "4.9406564584124654e-324"),  # σ(-745) is the smallest subnormal
        (-750.0, "0.0"),  # e^-750 is below half the smallest subnormal
    ],
)
def test_sigmoid_derivative_far_out_keeps_its_digits(x: float, exact: str) -> None:
    """σ'(x) for large |x| is the tiny correct number, not 0 from 1 − σ rounding to 0."""
    assert ulps(ref.sigmoid_vjp(x, 1.0), sigmoid_derivative_exact(x)) <= 2
    assert ref.sigmoid_vjp(x, 1.0) == pytest.approx(float(exact), rel=1e-15, abs=0.0)


def test_tanh_derivative_far_out_keeps_its_digits() -> None:
    """tanh'(20) = 1 − tanh²(20) ≈ 1.7e-17, where 1 − tanh² rounds to 0."""
    assert ulps(ref.tanh_vjp(20.0, 1.0), tanh_derivative_exact(20.0)) <= 2
    assert ref.tanh_vjp(20.0, 1.0) > 1.6e-17


# --- softmax and log_softmax -----------------------------------------------------------------------


def log_softmax_exact(x: list[float]) -> list[mpmath.mpf]:
    m = max(x)
    k = x.index(m)
    # log Σ e^(x_j − m) = log1p(Σ_{j≠k} e^(x_j − m)): a tiny result is not lost at 50 digits.
    rest = mpmath.log1p(mpmath.fsum(mpmath.exp(M(v) - M(m)) for j, v in enumerate(x) if j != k))
    return [(M(v) - M(m)) - rest for v in x]


@settings(max_examples=200)
@given(logit_rows())
def test_softmax_within_4_ulp_per_output(x: list[float]) -> None:
    """Every softmax output is within 4 ulp of the 50-digit value, for spread, clustered and straddling logits."""
    exps = [mpmath.exp(M(v) - M(max(x))) for v in x]
    total = mpmath.fsum(exps)
    for i, (got, e) in enumerate(zip(ref.softmax(x), exps, strict=True)):
        assert ulps(got, e / total) <= 4, (x, i)


@settings(max_examples=200)
@given(logit_rows())
def test_log_softmax_within_4_ulp_per_output(x: list[float]) -> None:
    """Every log_softmax output is within 4 ulp of the 50-digit value."""
    for i, (got, exact) in enumerate(zip(ref.log_softmax(x), log_softmax_exact(x), strict=True)):
        assert ulps(got, exact) <= 4, (x, i)


def test_softmax_where_the_shift_by_the_max_is_inexact() -> None:
    """t − max(x) = -300.1 − 400.2 is not a float64; the rounding (2^-44) would cost hundreds of ulps in e^(t−m)."""
    x = [-300.1, 400.2, 399.0]
    exps = [mpmath.exp(M(v) - M(400.2)) for v in x]
    total = mpmath.fsum(exps)
    assert all(ulps(g, e / total) <= 4 for g, e in zip(ref.softmax(x), exps, strict=True))
    assert all(ulps(g, e) <= 4 for g, e in zip(ref.log_softmax(x), log_softmax_exact(x), strict=True))


# --- losses --------------------------------------------------------------------------------------------


def reduce_exact(terms: list[mpmath.mpf], reduction: str) -> mpmath.mpf:
    total = mpmath.fsum(terms)
    return total if reduction == "sum" else total / len(terms)


def assert_loss_within_4_ulp(got: object, terms: list[mpmath.mpf], reduction: str) -> None:
    """``none``: each value within 4 ulp of itself; ``sum``/``mean``: within 4 ulp of max(|result|, max |term|)."""
    if reduction == "none":
        assert isinstance(got, list)
        for i, (g, t) in enumerate(zip(got, terms, strict=True)):
            assert ulps(g, t) <= 4, (i, g, t)
        return
    exact = reduce_exact(terms, reduction)
    scale = max([abs(exact), *(abs(t) for t in terms)])
    assert ulps(got, exact, scale) <= 4, (got, exact)


REDUCTIONS = ["none", "mean", "sum"]
vectors = st.integers(1, 8).flatmap(lambda n: st.tuples(*[st.tuples(reals, reals)] * n))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@settings(max_examples=100)
@given(pairs=vectors)
def test_mse_loss_within_4_ulp_of_its_largest_term(reduction: str, pairs: tuple[tuple[float, float], ...]) -> None:
    """mse_loss is within 4 ulp of the 50-digit value (scaled by its largest term), for every reduction."""
    x, y = [p[0] for p in pairs], [p[1] for p in pairs]
    terms = [(M(a) - M(b)) ** 2 for a, b in pairs]
    assert_loss_within_4_ulp(ref.mse_loss(x, y, reduction), terms, reduction)


probabilities = st.one_of(
    st.floats(0.0, 1.0),
    st.sampled_from([0.0, 1.0, TINY, 1e-300, 0.5, 1 - 2**-53, 2**-53]),
    st.floats(-320.0, 0.0).map(lambda e: 10.0**e),
    st.floats(-17.0, 0.0).map(lambda e: 1.0 - 10.0**e),
)


def bce_exact(p: float, y: float) -> mpmath.mpf:
    """The clamped binary cross-entropy at 50 digits (log1p for log(1 − p), so a tiny p keeps its digits)."""
    p_, y_ = M(p), M(y)
    log_p = max(mpmath.log(p_), M(-100)) if p > 0 else M(-100)
    log_q = max(mpmath.log1p(-p_), M(-100)) if p < 1 else M(-100)
    return -(y_ * log_p + (1 - y_) * log_q)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@settings(max_examples=100)
@given(pairs=st.integers(1, 8).flatmap(lambda n: st.tuples(*[st.tuples(probabilities, probabilities)] * n)))
def test_binary_cross_entropy_within_4_ulp_of_its_largest_term(
    reduction: str, pairs: tuple[tuple[float, float], ...]
) -> None:
    """binary_cross_entropy (log clamped at -100) is within 4 ulp of the 50-digit value, for every reduction."""
    p, y = [q[0] for q in pairs], [q[1] for q in pairs]
    terms = [bce_exact(a, b) for a, b in pairs]
    assert_loss_within_4_ulp(ref.binary_cross_entropy(p, y, reduction), terms, reduction)


@st.composite
def logits_and_labels(draw: st.DrawFn) -> tuple[list[list[float]], list[int]]:
    c = draw(st.integers(1, 6))
    rows = draw(st.lists(logit_rows().filter(lambda r: len(r) >= c).map(lambda r: r[:c]), min_size=1, max_size=4))
    return rows, draw(st.lists(st.integers(0, c - 1), min_size=len(rows), max_size=len(rows)))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@settings(max_examples=100)
@given(case=logits_and_labels())
def test_cross_entropy_within_4_ulp_of_its_largest_term(
    reduction: str, case: tuple[list[list[float]], list[int]]
) -> None:
    """cross_entropy is within 4 ulp of the 50-digit value, for every reduction."""
    logits, labels = case
    terms = [-log_softmax_exact(row)[k] for row, k in zip(logits, labels, strict=True)]
    assert_loss_within_4_ulp(ref.cross_entropy(logits, labels, reduction), terms, reduction)


@settings(max_examples=100)
@given(case=logits_and_labels())
def test_cross_entropy_gradient_at_the_target_keeps_its_digits(case: tuple[list[list[float]], list[int]]) -> None:
    """d/dz_k of the sum reduction is softmax_k − 1 = −Σ_{j≠k} softmax_j, within 4 ulp even when softmax_k ≈ 1."""
    logits, labels = case
    grads = ref.cross_entropy_vjp(logits, labels, 1.0, reduction="sum")
    for row, k, g in zip(logits, labels, grads, strict=True):
        exps = [mpmath.exp(M(v) - M(max(row))) for v in row]
        total = mpmath.fsum(exps)
        # softmax_k − 1 written as −Σ_{j≠k} e_j / Σ e_j: at 50 digits, 1 − (1 − 1e-37) would keep only 13 of them.
        exact = [e / total if j != k else -mpmath.fsum(exps[:k] + exps[k + 1 :]) / total for j, e in enumerate(exps)]
        assert all(ulps(gj, ej) <= 4 for gj, ej in zip(g, exact, strict=True)), (row, k)


# --- the gradient-descent step -------------------------------------------------------------------------


@settings(max_examples=200)
@given(p=reals, g=reals, lr=st.floats(0.0, 10.0))
def test_sgd_step_within_1_5_ulp_of_its_largest_term(p: float, g: float, lr: float) -> None:
    """param − lr·grad is within 1.5 ulp of max(|param|, |lr·grad|) (two roundings: the product, the difference)."""
    exact = M(p) - M(lr) * M(g)
    scale = max(abs(exact), abs(M(p)), abs(M(lr) * M(g)))
    assert ulps(ref.sgd_step(p, g, lr), exact, scale) <= 1.5
