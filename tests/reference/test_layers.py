"""The neuron, dense-layer and MLP reference against exact (fractions) and 50-digit (mpmath) oracles."""

from __future__ import annotations

import doctest
import itertools
import math
from fractions import Fraction

import mpmath
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlterms import reference as ref

mpmath.mp.dps = 50

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
# Multiples of 1/8 in [-4, 4]: products and sums of a few of them are exact in float64.
dyadic = st.integers(-32, 32).map(lambda k: k / 8)


@st.composite
def dense_cases(draw, values=finite, max_batch_dims: int = 2):
    n_in, n_out = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    batch = [draw(st.integers(1, 3)) for _ in range(draw(st.integers(0, max_batch_dims)))]

    def tensor(shape: list[int]):
        if not shape:
            return draw(values)
        return [tensor(shape[1:]) for _ in range(shape[0])]

    bias = tensor([n_out]) if draw(st.booleans()) else None
    return tensor([*batch, n_in]), tensor([n_out, n_in]), bias


def rows(x):
    """The vectors along the last axis of a nested list, in row-major order."""
    return [x] if not isinstance(x[0], list) else [r for item in x for r in rows(item)]


def exact_linear_row(x: list[float], weight: list[list[float]], bias: list[float] | None) -> list[Fraction]:
    return [
        sum((Fraction(w) * Fraction(v) for w, v in zip(w_row, x, strict=True)), Fraction(0))
        + (Fraction(bias[j]) if bias is not None else 0)
        for j, w_row in enumerate(weight)
    ]


def ulp_fraction(value: Fraction) -> Fraction:
    return Fraction(math.ulp(float(value)))


# --- linear -------------------------------------------------------------------------------


@given(dense_cases())
def test_linear_within_rounding_of_the_exact_sum(case) -> None:
    """Each output is the exact Σ x·w + b up to the rounding of the products and of the result."""
    x, weight, bias = case
    for got_row, x_row in zip(rows(ref.linear(x, weight, bias)), rows(x), strict=True):
        for j, exact in enumerate(exact_linear_row(x_row, weight, bias)):
            # fsum rounds the exact sum of the rounded products once: each product is off by ≤ ½ ulp.
            products = sum(abs(Fraction(w) * Fraction(v)) for w, v in zip(weight[j], x_row, strict=True))
            bound = products * Fraction(1, 2**53) + ulp_fraction(exact) / 2
            assert abs(Fraction(got_row[j]) - exact) <= bound


@given(dense_cases(values=dyadic))
def test_linear_is_correctly_rounded_when_products_are_exact(case) -> None:
    """With exactly representable products the output is the exact sum, correctly rounded."""
    x, weight, bias = case
    for got_row, x_row in zip(rows(ref.linear(x, weight, bias)), rows(x), strict=True):
        assert got_row == [float(v) for v in exact_linear_row(x_row, weight, bias)]


@given(dense_cases())
def test_linear_output_shape_is_batch_shape_plus_out_features(case) -> None:
    """linear maps (..., in_features) to (..., out_features), keeping every leading dimension."""
    x, weight, bias = case

    def shape(t):
        return (len(t), *shape(t[0])) if isinstance(t, list) else ()

    assert shape(ref.linear(x, weight, bias)) == (*shape(x)[:-1], len(weight))


@given(dense_cases(values=dyadic), st.data())
def test_linear_vjp_is_exact_for_dyadic_values(case, data) -> None:
    """dx = g W, dW = Σ_n g_nᵀ x_n, db = Σ_n g_n, computed exactly with fractions."""
    x, weight, bias = case
    out_rows = rows(ref.linear(x, weight, bias))
    g_rows = [[data.draw(dyadic) for _ in row] for row in out_rows]
    cotangent = _like(ref.linear(x, weight, bias), iter(v for row in g_rows for v in row))
    dx, dw, db = ref.linear_vjp(x, weight, bias, cotangent)
    x_rows = rows(x)
    n_in = len(weight[0])
    for got, g in zip(rows(dx), g_rows, strict=True):
        assert got == [
            float(sum(Fraction(g[j]) * Fraction(weight[j][k]) for j in range(len(weight)))) for k in range(n_in)
        ]
    for j in range(len(weight)):
        expected = [
            float(sum(Fraction(g[j]) * Fraction(xr[k]) for g, xr in zip(g_rows, x_rows, strict=True)))
            for k in range(n_in)
        ]
        assert dw[j] == expected
    if bias is None:
        assert db is None
    else:
        assert db == [float(sum(Fraction(g[j]) for g in g_rows)) for j in range(len(weight))]


def _like(template, values):
    """A nested list with the structure of ``template``, filled from the iterator ``values``."""
    return [_like(t, values) for t in template] if isinstance(template, list) else next(values)


@given(dense_cases(values=st.floats(-4, 4), max_batch_dims=1), st.data())
def test_linear_vjp_matches_central_differences(case, data) -> None:
    """⟨g, linear⟩ differentiated numerically w.r.t. every entry of x, weight and bias equals linear_vjp."""
    x, weight, bias = case
    out = ref.linear(x, weight, bias)
    g = _like(out, iter([data.draw(st.floats(-2, 2)) for _ in range(sum(len(r) for r in rows(out)))]))
    grads = ref.linear_vjp(x, weight, bias, g)

    def phi(xx, ww, bb) -> float:
        return math.fsum(
            a * b
            for ra, rb in zip(rows(ref.linear(xx, ww, bb)), rows(g), strict=True)
            for a, b in zip(ra, rb, strict=True)
        )

    args = [x, weight, bias]
    for k in range(3 if bias is not None else 2):
        numeric = ref.numerical_gradient(lambda t, k=k: phi(*[t if i == k else a for i, a in enumerate(args)]), args[k])
        for got_row, num_row in zip(rows(grads[k]), rows(numeric), strict=True):
            assert got_row == pytest.approx(num_row, rel=1e-6, abs=1e-6)


def test_linear_golden_values() -> None:
    """Hand-checked: a 2x2 layer with bias, a batch of two, no bias, and PyTorch's (out, in) layout."""
    w = [[1.0, 2.0], [3.0, 4.0], [0.0, -1.0]]  # 3 outputs, 2 inputs
    assert ref.linear([1.0, 1.0], w) == [3.0, 7.0, -1.0]
    assert ref.linear([[1.0, 0.0], [0.0, 1.0]], w, [0.5, 0.0, 1.0]) == [[1.5, 3.0, 1.0], [2.5, 4.0, 0.0]]
    assert ref.linear_vjp([1.0, 1.0], w, None, [1.0, 0.0, 0.0]) == (
        [1.0, 2.0],
        [[1.0, 1.0], [0.0, 0.0], [0.0, 0.0]],
        None,
    )


def test_linear_special_values_follow_ieee() -> None:
    """inf·0 and inf − inf give NaN, an overflowing sum gives inf, NaN propagates (fsum alone would raise)."""
    assert math.isnan(ref.linear([math.inf], [[0.0]])[0])
    assert math.isnan(ref.linear([math.inf, math.inf], [[1.0, -1.0]])[0])
    assert ref.linear([1e308, 1e308], [[1.0, 1.0]]) == [math.inf]
    assert math.isnan(ref.linear([math.nan, 1.0], [[1.0, 1.0]], [0.0])[0])


def test_linear_with_no_inputs_is_its_bias() -> None:
    """With in_features = 0 every weighted sum is empty: the output is the bias (0 without one)."""
    assert ref.linear([], [[], []], [1.0, 2.0]) == [1.0, 2.0]
    assert ref.linear([[], []], [[]]) == [[0.0], [0.0]]


# --- the neuron ---------------------------------------------------------------------------------

ACTIVATION_ORACLES = {
    "sigmoid": lambda z: 1 / (1 + mpmath.exp(-z)),
    "tanh": mpmath.tanh,
    "relu": lambda z: max(z, mpmath.mpf(0)),
    "leaky_relu": lambda z: z if z > 0 else mpmath.mpf("0.01") * z,
}
DERIVATIVE_ORACLES = {
    "sigmoid": lambda z: mpmath.exp(-z) / (1 + mpmath.exp(-z)) ** 2,
    "tanh": lambda z: 1 - mpmath.tanh(z) ** 2,
    "relu": lambda z: mpmath.mpf(1 if z > 0 else 0),
    "leaky_relu": lambda z: mpmath.mpf(1) if z > 0 else mpmath.mpf("0.01"),
}

neurons = st.integers(1, 5).flatmap(
    lambda n: st.tuples(st.lists(dyadic, min_size=n, max_size=n), st.lists(dyadic, min_size=n, max_size=n), dyadic)
)


@pytest.mark.parametrize("activation", list(ACTIVATION_ORACLES))
@given(neurons)
def test_neuron_is_activation_of_weighted_sum_plus_bias(activation: str, case) -> None:
    """neuron(x, w, b) is within 2 ulp of φ(Σ w·x + b) computed with 50 digits (the sum is exact here)."""
    x, w, b = case
    z = mpmath.fsum(mpmath.mpf(wi) * mpmath.mpf(xi) for wi, xi in zip(w, x, strict=True)) + mpmath.mpf(b)
    exact = ACTIVATION_ORACLES[activation](z)
    got = ref.neuron(x, w, b, activation)
    assert abs(mpmath.mpf(got) - exact) <= 2 * mpmath.mpf(math.ulp(float(exact)) if exact else 5e-324)


@pytest.mark.parametrize("activation", list(ACTIVATION_ORACLES))
@given(neurons.filter(lambda c: math.fsum(w * x for w, x in zip(c[1], c[0], strict=True)) + c[2] != 0), dyadic)
def test_neuron_vjp_is_the_chain_rule(activation: str, case, g: float) -> None:
    """d/dx = g·φ'(z)·w, d/dw = g·φ'(z)·x, d/db = g·φ'(z), against 50-digit derivatives (away from the kink).

    σ' = σ(1 − σ) and tanh' = 1 − tanh² are accurate in absolute terms (to a few 2⁻⁵³), not relative
    ones, where they are tiny: the tolerance allows 4·2⁻⁵³·|g| absolutely, scaled by the other factor.
    """
    x, w, b = case
    z = mpmath.fsum(mpmath.mpf(wi) * mpmath.mpf(xi) for wi, xi in zip(w, x, strict=True)) + mpmath.mpf(b)
    delta = g * DERIVATIVE_ORACLES[activation](z)
    dx, dw, db = ref.neuron_vjp(x, w, b, g, activation)
    ulp = 4 * 2**-53 * abs(g)
    assert db == pytest.approx(float(delta), rel=1e-14, abs=ulp)
    for got, exact, factor in [
        *zip(dx, [delta * wi for wi in w], w, strict=True),
        *zip(dw, [delta * xi for xi in x], x, strict=True),
    ]:
        assert got == pytest.approx(float(exact), rel=1e-14, abs=ulp * abs(factor))


def test_neuron_golden_values() -> None:
    """Hand-checked: σ(0) = 1/2, relu cuts a negative sum, tanh of a zero sum is 0."""
    assert ref.neuron([1.0, 2.0], [0.5, -0.25], 0.0) == 0.5
    assert ref.neuron([1.0, 2.0], [1.0, 1.0], -5.0, "relu") == 0.0
    assert ref.neuron([3.0], [2.0], 1.0, "relu") == 7.0
    assert ref.neuron([2.0], [1.0], -2.0, "tanh") == 0.0


# --- the multilayer perceptron ----------------------------------------------------------------------


@st.composite
def networks(draw, values=dyadic):
    sizes = [draw(st.integers(1, 3)) for _ in range(draw(st.integers(1, 4)) + 1)]
    x = [[draw(values) for _ in range(sizes[0])] for _ in range(draw(st.integers(1, 3)))]
    weights = [[[draw(values) for _ in range(i)] for _ in range(o)] for i, o in itertools.pairwise(sizes)]
    biases = [draw(st.none() | st.lists(values, min_size=o, max_size=o)) for o in sizes[1:]]
    return x, weights, biases


def exact_mlp(x: list[list[float]], weights, biases) -> list[list[Fraction]]:
    """The ReLU network in exact rational arithmetic: an independent oracle."""
    h = [[Fraction(v) for v in row] for row in x]
    for l, (w, b) in enumerate(zip(weights, biases, strict=True)):
        h = [
            [
                sum((Fraction(wjk) * v for wjk, v in zip(wj, row, strict=True)), Fraction(0))
                + (Fraction(b[j]) if b else 0)
                for j, wj in enumerate(w)
            ]
            for row in h
        ]
        if l < len(weights) - 1:
            h = [[max(v, Fraction(0)) for v in row] for row in h]
    return h


@given(networks(values=st.integers(-8, 8).map(lambda k: k / 4)))
def test_mlp_equals_exact_rational_network(case) -> None:
    """For quarter-integer values every operation is exact, so mlp equals the rational oracle exactly."""
    x, weights, biases = case
    got = ref.mlp(x, weights, biases, "relu")
    assert got == [[float(v) for v in row] for row in exact_mlp(x, weights, biases)]


@given(networks(values=st.floats(-2, 2)))
def test_mlp_with_tanh_matches_mpmath(case) -> None:
    """A tanh network agrees with the same network evaluated with 50 digits to 1e-12 (absolute, values ≤ 2)."""
    x, weights, biases = case
    h = [[mpmath.mpf(v) for v in row] for row in x]
    for l, (w, b) in enumerate(zip(weights, biases, strict=True)):
        h = [
            [
                mpmath.fsum(mpmath.mpf(a) * v for a, v in zip(wj, row, strict=True)) + (b[j] if b else 0)
                for j, wj in enumerate(w)
            ]
            for row in h
        ]
        if l < len(weights) - 1:
            h = [[mpmath.tanh(v) for v in row] for row in h]
    got = ref.mlp(x, weights, biases, "tanh")
    for got_row, row in zip(got, h, strict=True):
        assert got_row == pytest.approx([float(v) for v in row], rel=1e-12, abs=1e-12)


@given(networks())
def test_one_layer_mlp_is_linear(case) -> None:
    """With one layer there is no activation: mlp(x, [W], [b]) = linear(x, W, b)."""
    x, weights, biases = case
    assert ref.mlp(x, weights[:1], biases[:1], "sigmoid") == ref.linear(x, weights[0], biases[0])


def test_mlp_golden_values() -> None:
    """Hand-checked two-layer ReLU network: the hidden unit with a negative sum is cut to 0."""
    weights = [[[1.0, 0.0], [0.0, 1.0]], [[2.0, 3.0]]]
    assert ref.mlp([1.0, -1.0], weights, [None, [0.5]]) == [2.5]
    assert ref.mlp([[1.0, -1.0], [1.0, 1.0]], weights, [None, [0.5]]) == [[2.5], [5.5]]
    assert ref.mlp([1.0, -1.0], weights, [None, [0.5]], "leaky_relu") == [2.5 - 0.03]


# --- bad input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: ref.linear([1.0, 2.0], [[1.0, 2.0, 3.0]] * 4),
            ValueError,
            "linear: weight.shape=(4, 3) but x.shape[-1]=2; expected weight.shape[1] == x.shape[-1]",
        ),
        (
            lambda: ref.linear([1.0, 2.0], [[1.0, 2.0]], [1.0, 2.0]),
            ValueError,
            "linear: bias.shape=(2,) but weight.shape=(1, 2); expected bias.shape == (1,)",
        ),
        (lambda: ref.linear(1.0, [[1.0]]), ValueError, "linear: x is 0-d"),
        (
            lambda: ref.linear([1.0], [1.0]),
            ValueError,
            "linear: weight.shape=(1,); expected a matrix of shape (out_features, in_features)",
        ),
        (lambda: ref.linear([True], [[1.0]]), TypeError, "linear: x[0] is bool True; expected a real number"),
        (lambda: ref.linear([[1.0], [1.0, 2.0]], [[1.0]]), ValueError, "linear: x[1] has length 2 but expected 1"),
        (
            lambda: ref.linear_vjp([1.0], [[1.0]], None, [1.0, 2.0]),
            ValueError,
            "linear_vjp: cotangent.shape=(2,) but linear(x, weight).shape=(1,)",
        ),
        (
            lambda: ref.neuron([1.0, 2.0], [1.0], 0.0),
            ValueError,
            "neuron: weight.shape=(1,) but x.shape=(2,); expected one weight per input",
        ),
        (lambda: ref.neuron([[1.0]], [[1.0]], 0.0), ValueError, "neuron: x.shape=(1, 1); expected a vector"),
        (lambda: ref.neuron([1.0], [1.0], [0.0]), TypeError, "neuron: bias is list [0.0]; expected a real number"),
        (
            lambda: ref.neuron([1.0], [1.0], 0.0, "softplus"),
            ValueError,
            "neuron: activation='softplus'; expected one of 'sigmoid', 'tanh', 'relu', 'leaky_relu'",
        ),
        (lambda: ref.mlp([1.0], [[[1.0]]], [None], "step"), ValueError, "mlp: activation='step'"),
        (lambda: ref.mlp([1.0], [], []), ValueError, "mlp: weights is empty; expected at least one layer"),
        (lambda: ref.mlp([1.0], [[[1.0]]], []), ValueError, "mlp: 1 weight matrices but 0 biases"),
        (lambda: ref.mlp([1.0], [[1.0]], [None]), ValueError, "mlp: weights[0].shape=(1,); expected a matrix"),
        (
            lambda: ref.mlp([1.0], "W", [None]),
            TypeError,
            "mlp: weights is str; expected a list with one entry per layer",
        ),
        (
            lambda: ref.mlp([1.0, 2.0], [[[1.0, 1.0]] * 3, [[1.0, 1.0]]], [None, None]),
            ValueError,
            "mlp: weights[1].shape=(1, 2) but layer 0 outputs 3 features; expected weights[1].shape[1] == 3",
        ),
        (
            lambda: ref.mlp([1.0], [[[1.0]]], [[1.0, 2.0]]),
            ValueError,
            "mlp: biases[0].shape=(2,) but weights[0].shape=(1, 1)",
        ),
    ],
)
def test_bad_input_errors_name_function_argument_and_expectation(call, error: type, message: str) -> None:
    """Every refusal names the function, the argument, what it got and what was expected."""
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)


def test_doctests_run() -> None:
    """The docstring examples of dlterms.reference.layers are correct."""
    assert doctest.testmod(ref.layers).failed == 0
