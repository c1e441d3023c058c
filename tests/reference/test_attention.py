"""The reference scaled dot-product attention: against mpmath, hand-checked masks and alignment, its VJP, bad input."""

from __future__ import annotations

import math
import random

import mpmath
import pytest
from dlterms.reference import scaled_dot_product_attention as sdpa
from dlterms.reference import scaled_dot_product_attention_vjp as sdpa_vjp

mpmath.mp.dps = 50


def _mp_attention(q, k, v, scale, keep):  # type: ignore[no-untyped-def]
    """One head in 50 digits: softmax over the kept keys of scale·q·k, times v (rows of q, k, v)."""
    out = []
    for i, qi in enumerate(q):
        s = [scale * mpmath.fsum(mpmath.mpf(a) * b for a, b in zip(qi, kj, strict=True)) for kj in k]
        e = [mpmath.exp(x) if keep(i, j) else mpmath.mpf(0) for j, x in enumerate(s)]
        total = mpmath.fsum(e)
        out.append([mpmath.fsum(w * vj[c] for w, vj in zip(e, v, strict=True)) / total for c in range(len(v[0]))])
    return out


def _rows(rng: random.Random, n: int, m: int) -> list[list[float]]:
    return [[rng.uniform(-3.0, 3.0) for _ in range(m)] for _ in range(n)]


@pytest.mark.parametrize("causal", [False, True])
def test_attention_is_within_its_rounding_bound_of_50_digits(causal: bool) -> None:
    """Random heads (3 queries, 4 keys, 5 features) agree with mpmath's 50-digit attention within the bound of
    the reference's roundings: scores off by δ ≤ (E + 2)·u·s·Σ|q·k| move each weight by ≤ 2δ relatively, so
    |Δy| ≤ (2δ + 6u)·max|v| + u·|y| (the output is a weighted sum of values of both signs: it can cancel)."""
    u = 2.0**-53
    rng = random.Random(7)
    for _ in range(20):
        q, k, v = _rows(rng, 3, 5), _rows(rng, 4, 5), _rows(rng, 4, 2)
        got = sdpa([[q]], [[k]], [[v]], causal=causal)[0][0]
        want = _mp_attention(q, k, v, 1 / mpmath.sqrt(5), lambda i, j: not causal or j <= i)
        delta = 7 * u / math.sqrt(5) * max(sum(abs(a * b) for a, b in zip(qi, kj, strict=True)) for qi in q for kj in k)
        v_max = max(abs(x) for row in v for x in row)
        for row_got, row_want in zip(got, want, strict=True):
            for g, w in zip(row_got, row_want, strict=True):
                assert abs(g - float(w)) <= (2 * delta + 6 * u) * v_max + u * abs(float(w))


def test_equal_keys_give_the_mean_of_the_values() -> None:
    """Two equal keys: weights ½ and ½, so the output is (1 + 4)/2 = 2.5."""
    assert sdpa([[[[1.0]]]], [[[[2.0], [2.0]]]], [[[[1.0], [4.0]]]]) == [[[[2.5]]]]


def test_a_false_mask_entry_hides_its_key() -> None:
    """mask [[True, False]]: only key 0 takes part, so the output is value 0 exactly, whatever the scores."""
    got = sdpa([[[[1.0]]]], [[[[0.0], [9.0]]]], [[[[5.0], [-7.0]]]], mask=[[True, False]])
    assert got == [[[[5.0]]]]


def test_causal_is_aligned_top_left_when_there_are_more_queries_than_keys() -> None:
    """L = 3, S = 2, causal: query 0 sees key 0 only (value 1); queries 1 and 2 see both keys (scores 0: mean 2)."""
    q, k, v = [[[[1.0], [1.0], [1.0]]]], [[[[0.0], [0.0]]]], [[[[1.0], [3.0]]]]
    assert sdpa(q, k, v, causal=True) == [[[[1.0], [2.0], [2.0]]]]


def test_causal_is_aligned_top_left_when_there_are_more_keys_than_queries() -> None:
    """L = 2, S = 3, causal: query 0 sees key 0 (value 1), query 1 keys 0 and 1 (mean 2), never key 2 (value 100)."""
    q, k, v = [[[[1.0], [1.0]]]], [[[[0.0], [0.0], [0.0]]]], [[[[1.0], [3.0], [100.0]]]]
    assert sdpa(q, k, v, causal=True) == [[[[1.0], [2.0]]]]


def test_the_bias_is_added_to_the_scores() -> None:
    """Scores 0 and 0 with bias [0, ln 3]: weights ¼ and ¾, output ¼·0 + ¾·4 = 3."""
    got = sdpa([[[[1.0]]]], [[[[0.0], [0.0]]]], [[[[0.0], [4.0]]]], bias=[[0.0, math.log(3.0)]])
    assert got[0][0][0][0] == pytest.approx(3.0, rel=1e-15)


def test_the_default_scale_is_one_over_the_root_of_e() -> None:
    """E = 4, q·k = 4·ln 2: scaled by ½ the scores are 2 ln 2 and 0, weights 4/5 and 1/5, output 4/5."""
    a = math.sqrt(math.log(2.0))
    got = sdpa([[[[a, a, a, a]]]], [[[[a, a, a, a], [0.0, 0.0, 0.0, 0.0]]]], [[[[1.0], [0.0]]]])
    assert got[0][0][0][0] == pytest.approx(0.8, rel=1e-14)
    explicit = sdpa([[[[a, a, a, a]]]], [[[[a, a, a, a], [0.0, 0.0, 0.0, 0.0]]]], [[[[1.0], [0.0]]]], scale=1.0)
    assert explicit[0][0][0][0] == pytest.approx(16 / 17, rel=1e-14)  # scores 4 ln 2 and 0: 16/(16 + 1)


def test_a_query_that_sees_no_key_is_nan() -> None:
    """A mask row all False: the average over no key is 0/0, NaN; the other query is unaffected."""
    got = sdpa([[[[1.0], [1.0]]]], [[[[0.0], [0.0]]]], [[[[1.0], [3.0]]]], mask=[[False, False], [True, True]])
    assert math.isnan(got[0][0][0][0]) and got[0][0][1] == [2.0]


def test_vjp_matches_central_differences_in_50_digits() -> None:
    """⟨ḡ, J·u⟩ from the VJP equals the 50-digit central difference of mpmath's attention, for q, k and v."""
    rng = random.Random(3)
    q, k, v = _rows(rng, 2, 3), _rows(rng, 3, 3), _rows(rng, 3, 2)
    mask = [[True, False, True], [True, True, False]]
    g = _rows(rng, 2, 2)
    dq, dk, dv = sdpa_vjp([[q]], [[k]], [[v]], cotangent=[[g]], mask=mask, scale=0.7)
    keep = lambda i, j: mask[i][j]  # noqa: E731
    h = mpmath.mpf("1e-20")
    for name, grad in (("q", dq[0][0]), ("k", dk[0][0]), ("v", dv[0][0])):
        args = {"q": q, "k": k, "v": v}
        u = _rows(rng, len(args[name]), len(args[name][0]))

        def moved(t, name=name, u=u, args=args):  # type: ignore[no-untyped-def]
            new = dict(args)
            new[name] = [
                [mpmath.mpf(a) + t * b for a, b in zip(r, ur, strict=True)] for r, ur in zip(args[name], u, strict=True)
            ]
            y = _mp_attention(new["q"], new["k"], new["v"], mpmath.mpf("0.7"), keep)
            return mpmath.fsum(yi * gi for yr, gr in zip(y, g, strict=True) for yi, gi in zip(yr, gr, strict=True))

        want = (moved(h) - moved(-h)) / (2 * h)
        got = math.fsum(a * b for r, ur in zip(grad, u, strict=True) for a, b in zip(r, ur, strict=True))
        assert abs(got - float(want)) <= 1e-13 * (1 + abs(float(want))), name


@pytest.mark.parametrize(
    ("kwargs", "error", "says"),
    [
        ({"query": [[[1.0]]]}, ValueError, "query.shape=(1, 1, 1); expected 4 axes"),
        ({"key": [[[[1.0, 2.0]]]]}, ValueError, "expected key.shape[3] == 1"),
        ({"value": [[[[1.0], [2.0]]]]}, ValueError, "expected one value per key"),
        ({"query": [[[[]]]], "key": [[[[]]]]}, ValueError, "expected at least one feature (E >= 1)"),
        ({"mask": [[1]]}, TypeError, "mask[0][0] is 1; expected True (takes part) or False"),
        ({"mask": [True]}, ValueError, "mask.shape=(1,); expected (L, S) = (1, 1) or (N, H, L, S) = (1, 1, 1, 1)"),
        ({"bias": [[[0.0]]]}, ValueError, "bias.shape=(1, 1, 1); expected (L, S) = (1, 1) or (N, H, L, S) ="),
        ({"causal": 1}, TypeError, "causal=1; expected True or False"),
        ({"scale": math.nan}, ValueError, "scale=nan; expected a finite real number"),
    ],
)
def test_bad_input_is_refused_naming_the_argument(kwargs: dict, error: type, says: str) -> None:
    """Each bad argument raises an error that names it, its value or shape, and what was expected."""
    call = {"query": [[[[1.0]]]], "key": [[[[1.0]]]], "value": [[[[1.0]]]], **kwargs}
    with pytest.raises(error) as info:
        sdpa(**call)
    assert says in str(info.value)
    assert str(info.value).startswith("scaled_dot_product_attention: ")
