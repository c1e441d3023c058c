"""The gradient-descent reference: the step against exact arithmetic, the drivers' batching contract,
and the learning-rate threshold 2/L on convex quadratics."""

from __future__ import annotations

import itertools
import math
import random
from fractions import Fraction
from typing import Any

import mpmath
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from dlterms import reference as ref

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False)
rates = st.floats(0.0, 10.0, allow_subnormal=False)


# --- sgd_step ---------------------------------------------------------------------------


@given(st.integers(1, 6).flatmap(lambda n: st.tuples(*[st.lists(finite, min_size=n, max_size=n)] * 2)), rates)
def test_sgd_step_is_param_minus_lr_times_grad(pg: tuple[list[float], list[float]], lr: float) -> None:
    """sgd_step(p, g, lr) is p − lr·g within the two roundings of float arithmetic (exact rational oracle)."""
    p, g = pg
    for got, pi, gi in zip(ref.sgd_step(p, g, lr), p, g, strict=True):
        exact = Fraction(pi) - Fraction(lr) * Fraction(gi)
        bound = Fraction(2**-53) * (abs(Fraction(lr) * Fraction(gi)) + abs(Fraction(got)))
        assert abs(Fraction(got) - exact) <= bound


def test_sgd_step_keeps_the_shape_and_is_exact_on_golden_values() -> None:
    """Any rank, 0-d included; powers of two make every value exact."""
    assert ref.sgd_step([[1.0, -2.0], [0.5, 0.0]], [[0.5, -4.0], [1.0, 8.0]], 0.25) == [[0.875, -1.0], [0.25, -2.0]]
    assert ref.sgd_step(3.0, 2.0, 0.5) == 2.0
    assert ref.sgd_step([], [], 0.1) == []
    assert ref.sgd_step([1.0], [5.0], 0.0) == [1.0]
    assert ref.sgd_step_vjp([1.0, 2.0], [3.0, 4.0], 0.5, [1.0, -2.0]) == ([1.0, -2.0], [-0.5, 1.0])


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: ref.sgd_step([1.0, 2.0], [1.0], 0.1),
            ValueError,
            r"sgd_step: grad.shape=\(1,\) but param.shape=\(2,\)",
        ),
        (lambda: ref.sgd_step([1.0], [1.0], -0.1), ValueError, r"sgd_step: lr=-0.1; expected a learning rate >= 0"),
        (lambda: ref.sgd_step([1.0], [1.0], math.nan), ValueError, r"sgd_step: lr=nan; expected a finite"),
        (lambda: ref.sgd_step([1.0], [1.0], math.inf), ValueError, r"sgd_step: lr=inf"),
        (lambda: ref.sgd_step([1.0], [1.0], True), TypeError, r"sgd_step: lr is bool True"),
        (lambda: ref.sgd_step([1.0], [1.0], "0.1"), TypeError, r"sgd_step: lr is str"),
        (lambda: ref.sgd_step_vjp([1.0], [1.0], 0.1, [1.0, 2.0]), ValueError, r"sgd_step_vjp: cotangent.shape=\(2,\)"),
    ],
)
def test_sgd_step_bad_input_raises_a_clear_error(call, error: type, message: str) -> None:
    """Mismatched shapes and learning rates that are negative, not finite or not numbers are refused by name."""
    with pytest.raises(error, match=message):
        call()


# --- convex quadratics: the learning-rate threshold 2/L -------------------------------------------


def quadratic_cost(a: list[float], c: list[float], w: list[float]) -> float:
    return 0.5 * math.fsum(ai * (wi - ci) ** 2 for ai, wi, ci in zip(a, w, c, strict=True))


def quadratic(lr_factor: tuple[float, float]) -> st.SearchStrategy[dict[str, Any]]:
    """Curvatures a in [0.1, 10], minimum c, start w0 at least 0.5 from c per coordinate, lr = factor·2/max(a)."""

    def build(n: int) -> st.SearchStrategy[dict[str, Any]]:
        vec = lambda lo, hi: st.lists(st.floats(lo, hi), min_size=n, max_size=n)  # noqa: E731
        return st.fixed_dictionaries(
            {
                "a": vec(0.1, 10.0),
                "c": vec(-5.0, 5.0),
                "d": vec(0.5, 10.0),
                "sign": st.lists(st.sampled_from([-1.0, 1.0]), min_size=n, max_size=n),
                "factor": st.floats(*lr_factor),
            }
        ).map(
            lambda q: {
                "a": q["a"],
                "c": q["c"],
                "w0": [ci + si * di for ci, si, di in zip(q["c"], q["sign"], q["d"], strict=True)],
                "lr": q["factor"] * 2.0 / max(q["a"]),
            }
        )

    return st.integers(1, 4).flatmap(build)


def descend(q: dict[str, Any], epochs: int) -> list[list[float]]:
    """Batch gradient descent on the quadratic (its gradient does not depend on data; one dummy example)."""

    def grad(w: list[float], batch: list[Any]) -> list[float]:
        return [ai * (wi - ci) for ai, wi, ci in zip(q["a"], w, q["c"], strict=True)]

    return ref.batch_gradient_descent(grad, q["w0"], [None], q["lr"], epochs)


@given(quadratic((0.05, 0.95)))
def test_lr_below_two_over_curvature_decreases_the_cost_monotonically_to_the_minimum(q: dict[str, Any]) -> None:
    """With 0 < lr < 2/L the cost never increases and falls at least as fast as max|1 − lr·a_i|² per step."""
    costs = [quadratic_cost(q["a"], q["c"], w) for w in descend(q, 60)]
    assert all(later <= earlier for earlier, later in itertools.pairwise(costs))
    rate = max(abs(1 - q["lr"] * ai) for ai in q["a"])
    # Up to float64 rounding of w near c (|w − c| ~ 1e-15·|c|, cost ~ 1e-28).
    assert costs[-1] <= rate ** (2 * 60) * costs[0] * (1 + 1e-9) + 1e-25


@given(quadratic((1.05, 1.5)))
def test_lr_above_two_over_curvature_diverges(q: dict[str, Any]) -> None:
    """With lr > 2/L the distance to the minimum along the largest curvature grows by |1 − lr·L| every step."""
    k = max(range(len(q["a"])), key=lambda i: q["a"][i])
    growth = abs(1 - q["lr"] * q["a"][k])
    dist = [abs(w[k] - q["c"][k]) for w in descend(q, 30)]
    for before, after in itertools.pairwise(dist):
        assert after == pytest.approx(growth * before, rel=1e-9)
    assert quadratic_cost(q["a"], q["c"], descend(q, 200)[-1]) > 1e6 * quadratic_cost(q["a"], q["c"], q["w0"])


def test_lr_exactly_one_over_curvature_reaches_a_one_dimensional_minimum_in_one_step() -> None:
    """On J(w) = L/2 (w − c)², lr = 1/L lands on c at once; lr = 2/L bounces between c ± d forever."""
    grad = lambda w, batch: [4.0 * (w[0] - 1.0)]  # noqa: E731  L = 4, c = 1
    assert ref.batch_gradient_descent(grad, [3.0], [None], 0.25, 2) == [[3.0], [1.0], [1.0]]
    assert ref.batch_gradient_descent(grad, [3.0], [None], 0.5, 3) == [[3.0], [-1.0], [3.0], [-1.0]]


# --- the drivers' batching contract -------------------------------------------------------------------

examples = st.lists(st.tuples(st.floats(-3, 3), st.floats(-3, 3)), min_size=1, max_size=9)


def line_grad(w: list[float], batch: list[tuple[float, float]]) -> list[float]:
    """Gradient of the mean of ½(w0·x + w1 − y)² over the batch; fsum makes it independent of the order."""
    r = [w[0] * x + w[1] - y for x, y in batch]
    return [math.fsum(ri * x for ri, (x, _) in zip(r, batch, strict=True)) / len(batch), math.fsum(r) / len(batch)]


@given(examples, st.integers(1, 3), st.integers(0, 2**16), st.booleans())
def test_minibatch_with_batch_size_n_equals_batch_gradient_descent(data, epochs: int, seed: int, shuffle: bool) -> None:
    """A mini-batch as large as the dataset (in any order) gives exactly the batch trajectory."""
    batch = ref.batch_gradient_descent(line_grad, [0.0, 0.0], data, 0.1, epochs)
    mini = ref.minibatch_gradient_descent(line_grad, [0.0, 0.0], data, 0.1, epochs, len(data), shuffle, seed)
    assert mini == batch
    assert len(batch) == 1 + epochs


def hand_written_sgd(data: list[Any], lr: float, epochs: int, shuffle: bool, seed: int) -> list[list[float]]:
    """The textbook loop, written out: per epoch, maybe shuffle the indices, then one step per example."""
    rng, w, out = random.Random(seed), [0.0, 0.0], [[0.0, 0.0]]
    for _ in range(epochs):
        order = list(range(len(data)))
        if shuffle:
            rng.shuffle(order)
        for i in order:
            g = line_grad(w, [data[i]])
            w = [wj - lr * gj for wj, gj in zip(w, g, strict=True)]
            out.append(w)
    return out


@given(examples, st.integers(1, 3), st.integers(0, 2**16), st.booleans())
def test_batch_size_one_is_stochastic_gradient_descent(data, epochs: int, seed: int, shuffle: bool) -> None:
    """Batch size 1 (with or without the seeded shuffle) is the hand-written SGD loop, step for step."""
    expected = hand_written_sgd(data, 0.05, epochs, shuffle, seed)
    assert ref.stochastic_gradient_descent(line_grad, [0.0, 0.0], data, 0.05, epochs, shuffle, seed) == expected
    assert ref.minibatch_gradient_descent(line_grad, [0.0, 0.0], data, 0.05, epochs, 1, shuffle, seed) == expected


@given(st.integers(1, 12), st.integers(1, 5), st.integers(1, 3), st.booleans(), st.integers(0, 99))
def test_each_example_is_used_exactly_once_per_epoch(
    n: int, batch_size: int, epochs: int, shuffle: bool, seed: int
) -> None:
    """Every epoch is ⌈N/B⌉ steps whose batches partition the dataset; only the last batch may be smaller."""
    seen: list[list[int]] = []

    def grad(w: list[float], batch: list[int]) -> list[float]:
        seen.append(list(batch))
        return [0.0]

    trajectory = ref.minibatch_gradient_descent(grad, [0.0], list(range(n)), 0.1, epochs, batch_size, shuffle, seed)
    steps = -(-n // batch_size)
    assert len(seen) == epochs * steps
    assert len(trajectory) == 1 + epochs * steps
    for e in range(epochs):
        batches = seen[e * steps : (e + 1) * steps]
        assert sorted(i for b in batches for i in b) == list(range(n))
        assert [len(b) for b in batches] == [batch_size] * (steps - 1) + [n - (steps - 1) * batch_size]
        if not shuffle:
            assert [i for b in batches for i in b] == list(range(n))


def test_shuffle_is_seeded_and_changes_every_epoch() -> None:
    """The same seed repeats the order; each epoch draws a new permutation from one random.Random(seed)."""
    orders: list[list[int]] = []
    grad = lambda w, batch: (orders.append(batch[0]), [0.0])[1]  # noqa: E731
    ref.stochastic_gradient_descent(grad, [0.0], list(range(20)), 0.1, epochs=2, seed=7)
    first, second = orders[:20], orders[20:]
    rng = random.Random(7)
    expected = [list(range(20)), list(range(20))]
    rng.shuffle(expected[0])
    rng.shuffle(expected[1])
    assert [first, second] == expected
    assert first != second


def test_gradient_descent_fits_a_line_by_least_squares() -> None:
    """Batch GD on y = 2x + 1 converges to w = [2, 1] (the exact least-squares solution)."""
    data = [(float(x), 2.0 * x + 1.0) for x in range(-3, 4)]
    w = ref.batch_gradient_descent(line_grad, [0.0, 0.0], data, 0.1, 300)[-1]
    assert w == pytest.approx([2.0, 1.0], abs=1e-12)


def test_the_trajectory_starts_with_a_float_copy_of_the_parameters() -> None:
    """trajectory[0] equals the initial parameters as floats but is not the caller's list."""
    params = [1, 2]
    trajectory = ref.gradient_descent(lambda w, b: [0.0, 0.0], params, [None], 0.1, epochs=0)
    assert trajectory == [[1.0, 2.0]] and trajectory[0] is not params
    assert all(isinstance(v, float) for v in trajectory[0])


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: ref.gradient_descent(line_grad, [0.0, 0.0], [], 0.1, 1), ValueError, r"data is empty"),
        (lambda: ref.gradient_descent(line_grad, [0.0, 0.0], "ab", 0.1, 1), TypeError, r"data is str"),
        (lambda: ref.gradient_descent(line_grad, [0.0, 0.0], {1, 2}, 0.1, 1), TypeError, r"data is set"),
        (lambda: ref.gradient_descent(None, [0.0], [1], 0.1, 1), TypeError, r"grad_fn is NoneType"),
        (lambda: ref.gradient_descent(line_grad, [0.0, 0.0], [(1.0, 1.0)], 0.1, -1), ValueError, r"epochs=-1"),
        (lambda: ref.gradient_descent(line_grad, [0.0, 0.0], [(1.0, 1.0)], 0.1, 1.5), TypeError, r"epochs is float"),
        (lambda: ref.gradient_descent(line_grad, [0.0, 0.0], [(1.0, 1.0)], 0.1, 1, 0), ValueError, r"batch_size=0"),
        (lambda: ref.gradient_descent(line_grad, [0.0, 0.0], [(1.0, 1.0)], -1.0, 1), ValueError, r"lr=-1.0"),
        (lambda: ref.gradient_descent(line_grad, [0.0, 0.0], [(1.0, 1.0)], 0.1, 1, shuffle=1), TypeError, r"shuffle"),
        (
            lambda: ref.gradient_descent(lambda w, b: [0.0], [0.0, 0.0], [(1.0, 1.0)], 0.1, 1),
            ValueError,
            r"gradient_descent: grad_fn\(params, batch\).shape=\(1,\) but params.shape=\(2,\)",
        ),
        (lambda: ref.minibatch_gradient_descent(line_grad, [0.0], [1], 0.1, 1, None), TypeError, r"batch_size is None"),
    ],
)
def test_driver_bad_input_raises_a_clear_error(call, error: type, message: str) -> None:
    """Empty or non-list data, bad epochs/batch sizes/rates and a gradient of the wrong shape are refused."""
    with pytest.raises(error, match=message):
        call()


# --- Adam and AdamW (dlterms.reference.adaptive_optim) ------------------------------------------

U = 2.0**-53
BETAS = st.sampled_from([0.0, 0.5, 0.9, 0.95, 0.99, 0.999])
moderate = st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False)


def _adam_exact(p: float, g: float, m: float, v: float, t: int, hyper: dict[str, float]) -> tuple[Any, Any, Any]:
    """The AdamW step of one element in mpmath's working precision (λ = 0: Adam), from the papers' formulas."""
    mp = mpmath.mpf
    b1, b2 = mp(hyper["beta1"]), mp(hyper["beta2"])
    m1 = b1 * mp(m) + (1 - b1) * mp(g)
    v1 = b2 * mp(v) + (1 - b2) * mp(g) ** 2
    u = (m1 / (1 - b1**t)) / (mpmath.sqrt(v1 / (1 - b2**t)) + mp(hyper["eps"]))
    lr = mp(hyper["lr"])
    return mp(p) * (1 - lr * mp(hyper.get("weight_decay", 0.0))) - lr * u, m1, v1


@st.composite
def adam_calls(draw: st.DrawFn) -> tuple[list[float], list[float], list[float], list[float], int, dict[str, float]]:
    n = draw(st.integers(1, 4))
    vec = st.lists(moderate, min_size=n, max_size=n)
    p, g, m = draw(vec), draw(vec), draw(vec)
    v = [abs(x) for x in draw(vec)]
    hyper = {
        "lr": draw(st.sampled_from([0.0, 1e-3, 0.1, 0.5])),
        "beta1": draw(BETAS),
        "beta2": draw(BETAS),
        "eps": draw(st.sampled_from([1e-8, 1e-6, 1e-3])),
        "weight_decay": draw(st.sampled_from([0.0, 1e-2, 0.5])),
    }
    return p, g, m, v, draw(st.sampled_from([1, 2, 3, 10, 1000, 10**6])), hyper


@given(adam_calls())
def test_adamw_step_is_within_16u_of_each_outputs_terms_against_mpmath(call: tuple) -> None:
    """Each output of adamw_step is within 16u of the 50-digit value, relative to the terms it is made of.

    m′ and v′ relative to their two terms; param′ relative to |param| and to the step lr·|u| with the
    moments' terms carried through u = m̂/(√v̂ + ε) (the step itself cancels against param).
    """
    p, g, m, v, t, hyper = call
    got = ref.adamw_step(p, g, m, v, t, **hyper)
    for i in range(len(p)):
        with mpmath.workdps(50):
            exact_p, exact_m, exact_v = _adam_exact(p[i], g[i], m[i], v[i], t, hyper)
        b1, b2, lr, eps = hyper["beta1"], hyper["beta2"], hyper["lr"], hyper["eps"]
        terms_m = b1 * abs(m[i]) + (1 - b1) * abs(g[i])
        terms_v = b2 * v[i] + (1 - b2) * g[i] ** 2
        c1, c2 = 1 - b1**t, 1 - b2**t
        den = math.sqrt(float(exact_v) / c2) + eps
        step = lr * abs(float(exact_m)) / c1 / den
        through_v = step * terms_v / (2 * den * math.sqrt(c2 * float(exact_v))) if float(exact_v) else 0.0
        terms_p = abs(p[i]) + step + lr * terms_m / (c1 * den) + through_v
        assert abs(got[1][i] - exact_m) <= 16 * U * terms_m
        assert abs(got[2][i] - exact_v) <= 16 * U * terms_v
        assert abs(got[0][i] - exact_p) <= 16 * U * terms_p


@pytest.mark.parametrize(("beta", "t"), [(0.999, 2), (0.999, 3), (0.9999, 2), (0.9, 7), (0.5, 60), (0.0, 1)])
def test_bias_correction_does_not_cancel(beta: float, t: int) -> None:
    """1 − βᵗ to 4 ulp against mpmath where 1 − β**t loses hundreds (β₂ = 0.999 at t = 2: 500 u)."""
    from dlterms.reference.adaptive_optim import bias_correction

    with mpmath.workdps(50):
        exact = 1 - mpmath.mpf(beta) ** t
        assert abs(bias_correction(beta, t) - exact) <= 4 * U * exact


def test_adam_first_step_golden_values() -> None:
    """From zero moments the bias correction makes m̂ = g, v̂ = g²: the step is lr·g/(|g| + ε) (by hand)."""
    param, m, v = ref.adam_step([1.0, 1.0, 1.0], [0.5, -40.0, 0.0], [0.0] * 3, [0.0] * 3, step=1, lr=0.125, eps=0.0)
    assert param[:2] == [0.875, 1.125]  # 1 ∓ 1/8 exactly: g/|g| = ±1 whatever |g|
    assert math.isnan(param[2])  # 0/0 with ε = 0: IEEE, not an exception
    assert m == pytest.approx([0.05, -4.0, 0.0], rel=1e-15)  # (1 − β₁)·g
    assert v[:2] == pytest.approx([0.001 * 0.25, 0.001 * 1600.0], rel=1e-15)
    eps_step = ref.adam_step([0.0], [1e-6], [0.0], [0.0], step=1, lr=1.0, eps=1e-6)[0]
    assert eps_step == pytest.approx([-0.5], rel=1e-15)  # g = ε: half a learning rate


def test_adamw_zero_gradient_multiplies_the_parameters_by_one_minus_lr_times_decay() -> None:
    """AdamW's decay alone: a zero gradient and m = 0 give param·(1 − lr·λ), m = 0 and v decayed to β₂·v."""
    param, m, v = ref.adamw_step([2.0, -4.0], [0.0, 0.0], [0.0, 0.0], [0.5, 0.0], step=7, lr=0.25, weight_decay=0.5)
    assert param == [1.75, -3.5] and m == [0.0, 0.0] and v == [0.999 * 0.5, 0.0]
    assert ref.adamw_step([2.0], [0.0], [0.0], [0.0], step=1, weight_decay=0.0) == ref.adam_step(
        [2.0], [0.0], [0.0], [0.0], step=1
    )


@given(adam_calls(), st.randoms(use_true_random=False))
def test_adamw_step_vjp_matches_mpmath_derivatives(call: tuple, rnd: random.Random) -> None:
    """adamw_step_vjp is the transposed Jacobian of the step: mpmath's derivatives at 50 digits, to 1e-9 relative."""
    p, g, m, v, t, hyper = call
    assume(hyper["beta2"] > 0)  # with v ≥ 1/4 below: √v̂ away from 0, where its derivative is infinite
    v = [x + 0.25 for x in v]
    cot = tuple([rnd.uniform(-1, 1) for _ in p] for _ in range(3))
    got = ref.adamw_step_vjp(p, g, m, v, t, **hyper, cotangent=cot)
    for i in range(len(p)):
        point = [p[i], g[i], m[i], v[i]]
        for k in range(4):

            def f(x: Any, k: int = k, i: int = i, point: list[float] = point) -> Any:
                args = [*point]
                args[k] = x
                outs = _adam_exact(*args, t, hyper)
                return sum(c[i] * o for c, o in zip(cot, outs, strict=True))

            with mpmath.workdps(50):
                exact = mpmath.diff(f, mpmath.mpf(point[k]))
            assert abs(got[k][i] - exact) <= 1e-9 * (1 + abs(exact)), (k, i)


def test_adam_doctests_run() -> None:
    """The examples in the docstrings of dlterms.reference.adaptive_optim give what they show."""
    import doctest

    from dlterms.reference import adaptive_optim

    assert doctest.testmod(adaptive_optim).failed == 0
