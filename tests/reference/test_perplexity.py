"""The reference perplexity: hand-checked values, against mpmath, its VJP, bad input."""

from __future__ import annotations

import math
import random

import mpmath
import pytest
from dlterms.reference import perplexity, perplexity_vjp

mpmath.mp.dps = 50
U = 2.0**-53


def _mp_perplexity(logits: list[list[float]], target: list[int]) -> mpmath.mpf:
    """exp of the mean of −log softmax(z_n)[y_n], in 50 digits."""
    losses = [
        mpmath.log(mpmath.fsum(mpmath.exp(mpmath.mpf(z)) for z in row)) - row[k]
        for row, k in zip(logits, target, strict=True)
    ]
    return mpmath.exp(mpmath.fsum(losses) / len(losses))


def test_uniform_logits_give_the_number_of_classes() -> None:
    """Four equal logits: each class has probability ¼, so the perplexity is 4."""
    assert perplexity([[0.0, 0.0, 0.0, 0.0]], [2]) == pytest.approx(4.0, rel=4 * U)


def test_a_three_to_one_prediction_has_perplexity_four_thirds() -> None:
    """Logits (ln 3, 0): the target 0 has probability ¾, so the perplexity is 4/3."""
    assert perplexity([[math.log(3.0), 0.0]], [0]) == pytest.approx(4 / 3, rel=4 * U)


def test_perplexity_is_the_geometric_mean_of_the_inverse_probabilities() -> None:
    """Two tokens with target probabilities ½ and ⅛ (logits (0, 0) and (0, ln 7)): √(2·8) = 4."""
    got = perplexity([[0.0, 0.0], [0.0, math.log(7.0)]], [1, 0])
    assert got == pytest.approx(4.0, rel=8 * U)


def test_a_confident_correct_prediction_has_perplexity_one() -> None:
    """The target 40 above three others: probability 1 − 3e⁻⁴⁰ rounds to 1, and so does the perplexity."""
    assert perplexity([[40.0, 0.0, 0.0, 0.0]], [0]) == 1.0


def test_perplexity_is_within_its_bound_of_50_digits() -> None:
    """Random batches agree with mpmath's 50-digit exp(mean cross-entropy) within (4u·(1 + L) + u)·PPL: the mean
    loss L within 4 ulp of its largest term (cross_entropy's bound), then e^L rounded once."""
    rng = random.Random(9)
    for _ in range(30):
        n, c = rng.randint(1, 6), rng.randint(2, 8)
        logits = [[rng.uniform(-6, 6) for _ in range(c)] for _ in range(n)]
        target = [rng.randrange(c) for _ in range(n)]
        want = _mp_perplexity(logits, target)
        loss = float(mpmath.log(want))
        assert abs(perplexity(logits, target) - float(want)) <= (4 * U * (1 + loss) + U) * float(want)


def test_vjp_matches_central_differences_in_50_digits() -> None:
    """⟨ḡ, J·u⟩ from the VJP equals mpmath's 50-digit central difference of ḡ·PPL along a direction u."""
    rng = random.Random(1)
    logits = [[rng.uniform(-3, 3) for _ in range(4)] for _ in range(3)]
    target = [0, 3, 1]
    u = [[rng.uniform(-1, 1) for _ in range(4)] for _ in range(3)]
    grad = perplexity_vjp(logits, target, 0.75)
    h = mpmath.mpf("1e-20")

    def f(t: mpmath.mpf) -> mpmath.mpf:
        moved = [
            [mpmath.mpf(z) + t * d for z, d in zip(row, ur, strict=True)] for row, ur in zip(logits, u, strict=True)
        ]
        return mpmath.mpf("0.75") * _mp_perplexity(moved, target)

    want = float((f(h) - f(-h)) / (2 * h))
    got = math.fsum(a * b for row, ur in zip(grad, u, strict=True) for a, b in zip(row, ur, strict=True))
    assert got == pytest.approx(want, rel=1e-13)


@pytest.mark.parametrize(
    ("kwargs", "error", "says"),
    [
        ({"logits": [], "target": []}, ValueError, "(N = 0); expected at least one example"),
        ({"target": [2]}, ValueError, "target[0]=2 is out of range for C=2 classes"),
        ({"logits": [0.0, 1.0]}, ValueError, "logits.shape=(2,); expected (N, C)"),
        ({"target": [0.0]}, TypeError, "target[0] is float 0.0; expected an int"),
    ],
)
def test_bad_input_is_refused_naming_the_argument(kwargs: dict, error: type, says: str) -> None:
    """Each bad argument raises an error that names it, its value or shape, and what was expected."""
    call = {"logits": [[0.0, 1.0]], "target": [1], **kwargs}
    with pytest.raises(error) as info:
        perplexity(**call)
    assert says in str(info.value)
    assert str(info.value).startswith("perplexity: ")
