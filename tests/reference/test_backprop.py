"""Backpropagation's four steps against hand-checked values and a 30-digit mpmath differentiation oracle."""

from __future__ import annotations

import doctest
import itertools
import math

import mpmath
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlterms import reference as ref

ForwardPass, Gradients = ref.backprop.ForwardPass, ref.backprop.Gradients
PHI = {"tanh": mpmath.tanh, "sigmoid": lambda z: 1 / (1 + mpmath.exp(-z))}


@st.composite
def problems(draw):  # a small network, N input-output pairs and a smooth activation
    sizes = [draw(st.integers(1, 3)) for _ in range(draw(st.integers(1, 3)) + 1)]
    n = draw(st.integers(1, 3))
    values = st.floats(-2, 2)
    return {
        "inputs": [[draw(values) for _ in range(sizes[0])] for _ in range(n)],
        "targets": [[draw(values) for _ in range(sizes[-1])] for _ in range(n)],
        "weights": [[[draw(values) for _ in range(i)] for _ in range(o)] for i, o in itertools.pairwise(sizes)],
        "biases": [draw(st.none() | st.lists(values, min_size=o, max_size=o)) for o in sizes[1:]],
        "activation": draw(st.sampled_from(sorted(PHI))),
    }


def mp_loss(p: dict, weights, biases) -> mpmath.mpf:
    """The dataset's mean squared error, evaluated independently with mpmath."""
    phi, total, count = PHI[p["activation"]], mpmath.mpf(0), 0
    for x, y in zip(p["inputs"], p["targets"], strict=True):
        h = [mpmath.mpf(v) for v in x]
        for l, (w, b) in enumerate(zip(weights, biases, strict=True)):
            h = [
                mpmath.fsum(a * v for a, v in zip(row, h, strict=True)) + (b[j] if b is not None else 0)
                for j, row in enumerate(w)
            ]
            if l < len(weights) - 1:
                h = [phi(v) for v in h]
        total += mpmath.fsum((v - t) ** 2 for v, t in zip(h, y, strict=True))
        count += len(y)
    return total / count


def mp_partial(p: dict, which: str, l: int, index: tuple[int, ...]) -> float:
    """∂L/∂(one parameter), by mpmath's numerical differentiation at 30 digits."""
    weights = [[[mpmath.mpf(v) for v in row] for row in w] for w in p["weights"]]
    biases = [None if b is None else [mpmath.mpf(v) for v in b] for b in p["biases"]]

    def loss_at(t: mpmath.mpf) -> mpmath.mpf:
        ws = [[list(row) for row in w] for w in weights]
        bs = [None if b is None else list(b) for b in biases]
        if which == "weights":
            ws[l][index[0]][index[1]] += t
        else:
            bs[l][index[0]] += t
        return mp_loss(p, ws, bs)

    return float(mpmath.diff(loss_at, 0))


@settings(max_examples=20)
@given(problems())
def test_backpropagate_matches_mpmath_derivatives(p: dict) -> None:
    """Every weight and bias gradient equals the 30-digit derivative of the loss to 1e-9 (relative or absolute)."""
    with mpmath.workdps(30):
        loss, grads = ref.backpropagate(p["inputs"], p["targets"], p["weights"], p["biases"], p["activation"])
        assert loss == pytest.approx(float(mp_loss(p, p["weights"], p["biases"])), rel=1e-12, abs=1e-15)
        for l, w in enumerate(p["weights"]):
            for j, k in itertools.product(range(len(w)), range(len(w[0]))):
                assert grads.weights[l][j][k] == pytest.approx(mp_partial(p, "weights", l, (j, k)), rel=1e-9, abs=1e-9)
            if p["biases"][l] is None:
                assert grads.biases[l] is None
            else:
                for j in range(len(w)):
                    assert grads.biases[l][j] == pytest.approx(mp_partial(p, "biases", l, (j,)), rel=1e-9, abs=1e-9)


@given(problems())
def test_dataset_loss_is_mse_of_the_network_outputs(p: dict) -> None:
    """The mean of the pairs' mean squared errors is the mean squared error of mlp over the whole batch."""
    loss, _ = ref.backpropagate(p["inputs"], p["targets"], p["weights"], p["biases"], p["activation"])
    outputs = ref.mlp(p["inputs"], p["weights"], p["biases"], p["activation"])
    assert loss == pytest.approx(ref.mse_loss(outputs, p["targets"]), rel=1e-14, abs=1e-300)


@given(problems())
def test_combined_gradient_is_mean_of_per_pair_gradients(p: dict) -> None:
    """Step 3: the dataset's gradient is the average of the pairs' backward passes (for two identical pairs, either)."""
    x, y = p["inputs"][0], p["targets"][0]
    single = ref.backward_pass(
        ref.forward_pass(x, y, p["weights"], p["biases"], p["activation"]),
        y,
        p["weights"],
        p["biases"],
        p["activation"],
    )
    _, doubled = ref.backpropagate([x, x], [y, y], p["weights"], p["biases"], p["activation"])
    assert doubled == single


@given(problems())
def test_train_step_with_a_small_learning_rate_lowers_the_loss(p: dict) -> None:
    """All four steps: a step of length 1e-6 against a non-negligible gradient lowers the loss."""
    loss, grads = ref.backpropagate(p["inputs"], p["targets"], p["weights"], p["biases"], p["activation"])
    flat = [v for w in grads.weights for row in w for v in row] + [v for b in grads.biases if b for v in b]
    norm = math.sqrt(math.fsum(v * v for v in flat))
    if norm < 1e-3:
        return
    new_w, new_b, before = ref.train_step(
        p["inputs"], p["targets"], p["weights"], p["biases"], 1e-6 / norm, p["activation"]
    )
    after, _ = ref.backpropagate(p["inputs"], p["targets"], new_w, new_b, p["activation"])
    assert before == loss
    assert after < before


@given(st.lists(st.floats(-10, 10), min_size=1, max_size=6), st.lists(st.floats(-3, 3), min_size=6, max_size=6))
def test_numerical_gradient_of_a_cubic_is_within_truncation_error(x: list[float], c: list[float]) -> None:
    """f = Σ c_i x_i³ has ∂f/∂x_i = 3 c_i x_i²; the central difference errs by c_i h² plus rounding."""
    c = c[: len(x)]

    def f(v):
        return math.fsum(ci * vi**3 for ci, vi in zip(c, v, strict=True))

    got = ref.numerical_gradient(f, x)
    for g, ci, xi in zip(got, c, x, strict=True):
        assert g == pytest.approx(3 * ci * xi**2, abs=1e-6 * (1 + abs(f(x))))


def test_numerical_gradient_keeps_the_shape() -> None:
    """A 0-d x gives a number, a matrix gives a matrix (golden: d(a·b)/da = b)."""
    assert ref.numerical_gradient(lambda t: t * t, 3.0) == pytest.approx(6.0, rel=1e-8)
    got = ref.numerical_gradient(lambda m: m[0][0] * m[1][1] - m[0][1] * m[1][0], [[1.0, 2.0], [3.0, 4.0]])
    assert got == [[pytest.approx(4.0), pytest.approx(-3.0)], [pytest.approx(-2.0), pytest.approx(1.0)]]


# --- golden cases: hand-checked --------------------------------------------------------------------


def test_forward_and_backward_pass_of_a_two_layer_relu_network() -> None:
    """x = [1, 2] → z₀ = [3, −1] → relu [3, 0] → ŷ = 2·3 + 1 = 7, target 5: loss 4, and the gradients by hand."""
    weights = [[[1.0, 1.0], [1.0, -1.0]], [[2.0, 3.0]]]
    biases = [[0.0, 0.0], [1.0]]
    fp = ref.forward_pass([1.0, 2.0], [5.0], weights, biases, "relu")
    assert fp == ForwardPass(
        inputs=[[1.0, 2.0], [3.0, 0.0]], pre_activations=[[3.0, -1.0], [7.0]], output=[7.0], loss=4.0
    )
    grads = ref.backward_pass(fp, [5.0], weights, biases, "relu")
    # dL/dŷ = 2(7 − 5) = 4; dW₁ = 4·[3, 0]; db₁ = 4; back through W₁: [8, 12], relu' = [1, 0] → δ₀ = [8, 0].
    assert grads == Gradients(weights=[[[8.0, 16.0], [0.0, 0.0]], [[12.0, 0.0]]], biases=[[8.0, 0.0], [4.0]])


def test_update_is_one_sgd_step_per_parameter_and_keeps_missing_biases() -> None:
    """θ − lr·g for every weight and bias; a layer without a bias stays without one; inputs are not changed."""
    weights, biases = [[[1.0, 2.0]], [[3.0]]], [None, [0.5]]
    new_w, new_b = ref.update(weights, biases, Gradients([[[4.0, -4.0]], [[1.0]]], [None, [2.0]]), 0.25)
    assert (new_w, new_b) == ([[[0.0, 3.0]], [[2.75]]], [None, [0.0]])
    assert weights == [[[1.0, 2.0]], [[3.0]]]


def test_train_step_runs_the_four_steps() -> None:
    """One step on two pairs for y = 2x + 0.5 starting at w = 2, b = 0.5 with targets 3: loss 1.25 (by hand)."""
    assert ref.train_step([[1.0], [2.0]], [[3.0], [3.0]], [[[2.0]]], [[0.5]], 0.1) == ([[[1.75]]], [[0.4]], 1.25)


# --- bad input ---------------------------------------------------------------------------------------

W, B = [[[1.0, 1.0]]], [[0.0]]


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: ref.forward_pass([1.0], [0.0], W, B),
            ValueError,
            "forward_pass: weights[0].shape=(1, 2) but x.shape[-1]=1",
        ),
        (
            lambda: ref.forward_pass([1.0, 2.0], [0.0, 1.0], W, B),
            ValueError,
            "forward_pass: y.shape=(2,) but the network outputs 1 values",
        ),
        (
            lambda: ref.forward_pass([[1.0, 2.0]], [0.0], W, B),
            ValueError,
            "forward_pass: x.shape=(1, 2); expected one input vector",
        ),
        (
            lambda: ref.forward_pass([1.0, 2.0], [0.0], W, B, "softmax"),
            ValueError,
            "forward_pass: activation='softmax'; expected one of",
        ),
        (
            lambda: ref.backward_pass({"loss": 0.0}, [0.0], W, B),
            TypeError,
            "backward_pass: forward is dict; expected the ForwardPass",
        ),
        (lambda: ref.combine_gradients([]), ValueError, "combine_gradients: per_pair=[]; expected a non-empty list"),
        (
            lambda: ref.update(W, B, Gradients([[[1.0, 1.0]]], [[1.0]]), -0.1),
            ValueError,
            "update: lr=-0.1; expected a learning rate >= 0",
        ),
        (
            lambda: ref.update(W, B, Gradients([[[1.0, 1.0]]], [[1.0]]), math.nan),
            ValueError,
            "update: lr=nan; expected a finite real number",
        ),
        (
            lambda: ref.update(W, B, ([[[1.0, 1.0]]], [[1.0]]), 0.1),
            TypeError,
            "update: gradients is tuple; expected the Gradients",
        ),
        (
            lambda: ref.backpropagate([[1.0, 2.0]], [[0.0], [1.0]], W, B),
            ValueError,
            "backpropagate: inputs.shape=(1, 2) and targets.shape=(2, 1)",
        ),
        (
            lambda: ref.train_step([[1.0, 2.0]], [[0.0]], W, B, "fast"),
            TypeError,
            "update: lr is str 'fast'; expected a real number",
        ),
        (lambda: ref.numerical_gradient(3.0, [1.0]), TypeError, "numerical_gradient: f is float; expected a function"),
        (
            lambda: ref.numerical_gradient(sum, [1.0], eps=0.0),
            ValueError,
            "numerical_gradient: eps=0.0; expected a step > 0",
        ),
        (
            lambda: ref.numerical_gradient(lambda v: v, [1.0]),
            TypeError,
            "numerical_gradient: f(x + eps·e_0) is list [1.000001]; expected a real number",
        ),
    ],
)
def test_bad_input_errors_name_function_argument_and_expectation(call, error: type, message: str) -> None:
    """Every refusal names the function, the argument, what it got and what was expected."""
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)


def test_doctests_run() -> None:
    """The docstring examples of dlterms.reference.backprop are correct."""
    assert doctest.testmod(ref.backprop).failed == 0
