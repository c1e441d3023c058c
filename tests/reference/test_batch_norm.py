"""The batch normalization references (batch_norm, batch_norm_running_stats) against hand-computed values,
50-digit values and 50-digit finite differences of their VJPs."""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import mpmath
import pytest

from dlterms import reference as ref

NAN = math.nan

# x (N, C, L) = (2, 2, 3): channel c holds x[0][c] and x[1][c], 6 values.
X = [[[0.5, -1.25, 2.0], [3.0, 1.0, 1.5]], [[1.0, 0.25, -0.75], [2.5, -2.0, 0.0]]]
G = [[[1.0, -0.5, 0.25], [0.0, 2.0, -1.0]], [[0.5, 0.5, -2.0], [1.5, -1.0, 0.75]]]
W, B = [2.0, -0.5], [0.25, -1.0]
MEAN, VAR = [0.5, -0.25], [2.0, 0.75]


def _flat(x: Any) -> list[float]:
    return [v for example in x for channel in example for v in channel] if isinstance(x[0][0], list) else x


# --- hand-computed values ------------------------------------------------------------------------


def test_training_normalizes_each_column_of_a_batch() -> None:
    """Channel 0 holds [1, 2, 3] (mean 2, biased variance 2/3) and channel 1 [10, 20, 60] (mean 30, variance
    1400/3): z = (x − μ)/σ = [−√1.5, 0, √1.5] and [−20, −10, 30]/√(1400/3)."""
    got = ref.batch_norm([[1.0, 10.0], [2.0, 20.0], [3.0, 60.0]], [0.0, 0.0], [1.0, 1.0], training=True, eps=0.0)
    s = math.sqrt(1400 / 3)
    expected = [[-math.sqrt(1.5), -20 / s], [0.0, -10 / s], [math.sqrt(1.5), 30 / s]]
    for g_row, e_row in zip(got, expected, strict=True):
        for g, e in zip(g_row, e_row, strict=True):
            assert math.isclose(g, e, rel_tol=4.5e-16, abs_tol=0.0)


def test_evaluation_uses_the_running_statistics_not_the_batch() -> None:
    """Running mean 1 and variance 4 (eps 0), weight 2 and bias 1: x = [1, 3] gives z = [0, 1] and y = [1, 3]."""
    assert ref.batch_norm([[1.0], [3.0]], [1.0], [4.0], [2.0], [1.0], eps=0.0) == [[1.0], [3.0]]


def test_training_ignores_the_running_statistics() -> None:
    """In training the running mean and variance are not read: any values give the same output."""
    a = ref.batch_norm(X, MEAN, VAR, W, B, training=True)
    assert a == ref.batch_norm(X, [100.0, -7.0], [0.0, 9.0], W, B, training=True)


def test_running_stats_weight_the_new_batch_with_the_unbiased_variance() -> None:
    """[1, 3] with momentum 0.5: mean 2 and unbiased variance 2, so (0 + 2)/2 = 1 and (1 + 2)/2 = 1.5."""
    assert ref.batch_norm_running_stats([[1.0], [3.0]], [0.0], [1.0], momentum=0.5) == ([1.0], [1.5])


def test_running_stats_with_torchs_default_momentum() -> None:
    """Values 1, 2, 3, 5 of one channel: mean 11/4 and unbiased variance 35/12, so with momentum 1/10 the running
    mean 0 becomes 11/40 and the running variance 1 becomes 9/10 + 35/120 (each rounded once)."""
    mean, var = ref.batch_norm_running_stats([[[1.0, 2.0]], [[3.0, 5.0]]], [0.0], [1.0])
    assert mean == [float(Fraction(1, 10) * Fraction(11, 4))]  # momentum 0.1 as the float it is: within 1 ulp
    assert math.isclose(var[0], 9 / 10 + 35 / 120, rel_tol=2.3e-16)


def test_a_nan_stays_in_its_channel_in_training_and_in_its_element_in_evaluation() -> None:
    """Training: a NaN makes its channel NaN; evaluation is elementwise, so only that element is NaN."""
    train = ref.batch_norm([[NAN, 1.0], [1.0, 3.0]], [0.0, 0.0], [1.0, 1.0], training=True, eps=3.0)
    assert math.isnan(train[0][0]) and math.isnan(train[1][0]) and [train[0][1], train[1][1]] == [-0.5, 0.5]
    evaluation = ref.batch_norm([[NAN], [3.0]], [1.0], [4.0], eps=0.0)
    assert math.isnan(evaluation[0][0]) and evaluation[1][0] == 1.0


# --- 50 digits -----------------------------------------------------------------------------------


def _mp_training(x: list[list[list[Any]]], eps: Any) -> list[list[list[Any]]]:
    """z of batch normalization in training, in mpmath: channel c over the examples and positions."""
    out = [[[mpmath.mpf(0)] * len(ch) for ch in ex] for ex in x]
    for c in range(len(x[0])):
        values = [v for ex in x for v in ex[c]]
        mu = mpmath.fsum(values) / len(values)
        s = mpmath.sqrt(mpmath.fsum((v - mu) ** 2 for v in values) / len(values) + eps)
        for n, ex in enumerate(x):
            out[n][c] = [(v - mu) / s for v in ex[c]]
    return out


def test_training_z_is_within_one_ulp_of_the_50_digit_value() -> None:
    """Without weight and bias, each z is within 1 ulp of the 50-digit (x − μ)/√(σ² + ε)."""
    with mpmath.workdps(50):
        exact = _flat(_mp_training([[[mpmath.mpf(v) for v in ch] for ch in ex] for ex in X], mpmath.mpf(1e-3)))
    got = _flat(ref.batch_norm(X, MEAN, VAR, training=True, eps=1e-3))
    for g, e in zip(got, exact, strict=True):
        assert abs(g - float(e)) <= math.ulp(float(e))


def _fd(f: Callable[[Any], Any]) -> Any:
    h = mpmath.mpf("1e-20")
    return (f(h) - f(-h)) / (2 * h)


def _moved(x: list[list[list[float]]], index: tuple[int, int, int], h: Any) -> list[list[list[Any]]]:
    n, c, i = index
    out = [[[mpmath.mpf(v) for v in ch] for ch in ex] for ex in x]
    out[n][c][i] += h
    return out


def _indices() -> list[tuple[int, int, int]]:
    return [(n, c, i) for n in range(2) for c in range(2) for i in range(3)]


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_vjp_matches_finite_differences_in_50_digits(training: bool) -> None:
    """batch_norm_vjp in both modes: each partial derivative of Σ g·y within 1e−14 of a 50-digit difference."""
    eps = 1e-3
    dx, dw, db = ref.batch_norm_vjp(X, MEAN, VAR, G, W, B, training=training, eps=eps)
    with mpmath.workdps(50):

        def loss(x: list[list[list[Any]]], w: list[Any], b: list[Any]) -> Any:
            if training:
                z = _mp_training(x, mpmath.mpf(eps))
            else:
                z = [
                    [
                        [(v - MEAN[c]) / mpmath.sqrt(mpmath.mpf(VAR[c]) + mpmath.mpf(eps)) for v in ch]
                        for c, ch in enumerate(ex)
                    ]
                    for ex in x
                ]
            return mpmath.fsum(G[n][c][i] * (z[n][c][i] * w[c] + b[c]) for n, c, i in _indices())

        wm, bm = [mpmath.mpf(v) for v in W], [mpmath.mpf(v) for v in B]
        xm = [[[mpmath.mpf(v) for v in ch] for ch in ex] for ex in X]
        for n, c, i in _indices():
            expected = _fd(lambda h, k=(n, c, i): loss(_moved(X, k, h), wm, bm))
            assert abs(dx[n][c][i] - float(expected)) <= 1e-14 * max(1.0, abs(float(expected)))
        for c in range(2):
            unit = [mpmath.mpf(int(k == c)) for k in range(2)]
            dwc = _fd(lambda h, u=unit: loss(xm, [a + h * e for a, e in zip(wm, u, strict=True)], bm))
            dbc = _fd(lambda h, u=unit: loss(xm, wm, [a + h * e for a, e in zip(bm, u, strict=True)]))
            assert abs(dw[c] - float(dwc)) <= 1e-14 * max(1.0, abs(float(dwc)))
            assert abs(db[c] - float(dbc)) <= 1e-14 * max(1.0, abs(float(dbc)))


def test_running_stats_vjp_matches_finite_differences_in_50_digits() -> None:
    """batch_norm_running_stats_vjp: each partial derivative of g_μ·μ̂' + g_v·v̂' within 1e−14 of a 50-digit
    difference of the 50-digit update."""
    m, g_mean, g_var = 0.25, [1.5, -0.5], [-1.0, 2.0]
    (dx,) = ref.batch_norm_running_stats_vjp(X, MEAN, VAR, (g_mean, g_var), momentum=m)
    with mpmath.workdps(50):

        def loss(x: list[list[list[Any]]]) -> Any:
            total = mpmath.mpf(0)
            for c in range(2):
                values = [v for ex in x for v in ex[c]]
                k = len(values)
                mu = mpmath.fsum(values) / k
                unbiased = mpmath.fsum((v - mu) ** 2 for v in values) / (k - 1)
                total += g_mean[c] * ((1 - mpmath.mpf(m)) * MEAN[c] + m * mu)
                total += g_var[c] * ((1 - mpmath.mpf(m)) * VAR[c] + m * unbiased)
            return total

        for n, c, i in _indices():
            expected = _fd(lambda h, k=(n, c, i): loss(_moved(X, k, h)))
            assert abs(dx[n][c][i] - float(expected)) <= 1e-14 * max(1.0, abs(float(expected)))


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: ref.batch_norm([1.0, 2.0], [0.0], [1.0]), ("batch_norm", "x.shape=(2,)", "(N, C, *)")),
        (lambda: ref.batch_norm([[1.0, 2.0]], [0.0], [1.0]), ("batch_norm", "running_mean.shape=(1,)", "(2,)")),
        (
            lambda: ref.batch_norm([[1.0], [2.0]], [0.0], [1.0], [1.0, 2.0]),
            ("weight.shape=(2,)", "one value per channel"),
        ),
        (lambda: ref.batch_norm([[1.0], [2.0]], [0.0], [1.0], training=1), ("training is 1", "True")),
        (lambda: ref.batch_norm([[1.0]], [0.0], [1.0], training=True), ("1 value per channel", "at least 2")),
        (lambda: ref.batch_norm([[1.0], [2.0]], [0.0], [1.0], eps=-1.0), ("eps=-1.0", ">= 0")),
        (lambda: ref.batch_norm_running_stats([[1.0], [2.0]], [0.0], [1.0], momentum=1.5), ("momentum=1.5", "[0, 1]")),
        (lambda: ref.batch_norm_running_stats([[1.0]], [0.0], [1.0]), ("batch_norm_running_stats", "at least 2")),
    ],
)
def test_bad_input_is_refused_naming_the_argument(call: Callable[[], Any], words: tuple[str, ...]) -> None:
    """Each refusal names the function or argument, the value it got and what was expected."""
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    for word in words:
        assert word in str(info.value)
