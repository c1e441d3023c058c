"""The reference multi-head attention: against mpmath, hand-checked heads, one head is attention, its VJP, refusals."""

from __future__ import annotations

import math
import random

import mpmath
import pytest
from dlterms.reference import multi_head_attention as mha
from dlterms.reference import multi_head_attention_vjp as mha_vjp
from dlterms.reference import scaled_dot_product_attention as sdpa

mpmath.mp.dps = 50
U = 2.0**-53
ONE = [[1.0]]


def _rows(rng: random.Random, n: int, m: int) -> list[list[float]]:
    return [[rng.uniform(-1.0, 1.0) for _ in range(m)] for _ in range(n)]


def _call(rng: random.Random, causal: bool) -> dict:
    """One example: L = 3 queries of E = 4 features in 2 heads, S = 4 keys of kdim = 3, vdim = 2, both biases."""
    return {
        "query": [_rows(rng, 3, 4)],
        "key": [_rows(rng, 4, 3)],
        "value": [_rows(rng, 4, 2)],
        "num_heads": 2,
        "q_proj_weight": _rows(rng, 4, 4),
        "k_proj_weight": _rows(rng, 4, 3),
        "v_proj_weight": _rows(rng, 4, 2),
        "out_proj_weight": _rows(rng, 4, 4),
        "in_proj_bias": _rows(rng, 1, 12)[0],
        "out_proj_bias": _rows(rng, 1, 4)[0],
        "causal": causal,
    }


def _project(x, w, b):  # type: ignore[no-untyped-def]
    return [
        [mpmath.fsum(mpmath.mpf(a) * c for a, c in zip(row, wj, strict=True)) + bj for wj, bj in zip(w, b, strict=True)]
        for row in x
    ]


def _mp_mha(call: dict, mask=None) -> list[list]:  # type: ignore[no-untyped-def]
    """The first example in 50 digits, written from the definition: project, attend per block of E/H, project."""
    e, h = len(call["query"][0][0]), call["num_heads"]
    d = e // h
    b = [mpmath.mpf(x) for x in call["in_proj_bias"]]
    q = _project(call["query"][0], call["q_proj_weight"], b[:e])
    k = _project(call["key"][0], call["k_proj_weight"], b[e : 2 * e])
    v = _project(call["value"][0], call["v_proj_weight"], b[2 * e :])
    joined = [[mpmath.mpf(0)] * e for _ in q]
    for head in range(h):
        cols = range(head * d, (head + 1) * d)
        for i, qi in enumerate(q):
            seen = [j for j in range(len(k)) if (not call["causal"] or j <= i) and (mask is None or mask[i][j])]
            w = {j: mpmath.exp(mpmath.fsum(qi[c] * k[j][c] for c in cols) / mpmath.sqrt(d)) for j in seen}
            total = mpmath.fsum(w.values())
            for c in cols:
                joined[i][c] = mpmath.fsum(w[j] * v[j][c] for j in seen) / total
    return _project(joined, call["out_proj_weight"], [mpmath.mpf(x) for x in call["out_proj_bias"]])


def _bound(call: dict, want: list[list]) -> float:
    """The reference's rounding bound for inputs and weights in [−1, 1]: each projection is correctly rounded
    (u relative); each head's scores are off by δ ≤ (d + 4)·u·Σ|q·k|/√d (attention's (d + 2) and the two
    rounded projections), which moves a weight by ≤ 2δ relatively, so a head's output is off by
    ≤ (2δ + 7)·u·max|v| (attention's 6u and v's own rounding); the output projection sums E of them times |W_O|,
    plus its own rounding u·|y|."""
    e, h = len(call["query"][0][0]), call["num_heads"]
    d = e // h
    q = [[float(x) for x in row] for row in _project(call["query"][0], call["q_proj_weight"], call["in_proj_bias"][:e])]
    k = [
        [float(x) for x in row]
        for row in _project(call["key"][0], call["k_proj_weight"], call["in_proj_bias"][e : 2 * e])
    ]
    v = _project(call["value"][0], call["v_proj_weight"], call["in_proj_bias"][2 * e :])
    qk = max(sum(abs(a * c) for a, c in zip(qi, kj, strict=True)) for qi in q for kj in k)
    delta = (d + 4) * U * qk / math.sqrt(d)
    dz = (2 * delta + 7 * U) * max(abs(float(x)) for row in v for x in row)
    w_o = max(sum(abs(x) for x in row) for row in call["out_proj_weight"])
    return w_o * dz + U * max(abs(float(x)) for row in want for x in row)


@pytest.mark.parametrize("causal", [False, True])
def test_multi_head_attention_is_within_its_rounding_bound_of_50_digits(causal: bool) -> None:
    """Random calls (two heads of two features, kdim 3, vdim 2, both biases) agree with mpmath's 50-digit
    multi-head attention within the bound of the reference's roundings (``_bound``)."""
    rng = random.Random(11)
    for _ in range(10):
        call = _call(rng, causal)
        got = mha(**call)[0]
        want = _mp_mha(call)
        allowed = _bound(call, want)
        for row_got, row_want in zip(got, want, strict=True):
            for g, w in zip(row_got, row_want, strict=True):
                assert abs(g - float(w)) <= allowed


def test_a_masked_call_is_within_its_bound_of_50_digits() -> None:
    """With a mask (L, S) the keys it hides take no part, as in mpmath's attention over the kept keys only."""
    call = _call(random.Random(5), False)
    mask = [[True, False, True, False], [False, False, False, True], [True, True, True, True]]
    got, want = mha(**call, mask=mask)[0], _mp_mha(call, mask)
    allowed = _bound(call, want)
    assert all(
        abs(g - float(w)) <= allowed for rg, rw in zip(got, want, strict=True) for g, w in zip(rg, rw, strict=True)
    )


def test_equal_keys_average_the_values_then_project() -> None:
    """One head, identity projections but W_O = 2: equal keys give weights ½, ½, so 2·(1 + 4)/2 = 5."""
    assert mha([[[1.0]]], [[[2.0], [2.0]]], [[[1.0], [4.0]]], 1, ONE, ONE, ONE, [[2.0]]) == [[[5.0]]]


def test_two_heads_each_attend_on_their_own_feature() -> None:
    """E = 2 in two heads of one feature, identity projections, scale 1: head 0 sees feature 0 only, head 1
    feature 1 only. Query (1, 0) against keys (1, 0), (0, 1): head 0 scores 1 and 0, so (e·1 + 3)/(e + 1);
    head 1 scores 0 and 0, so the mean (2 + 4)/2 = 3. Query (0, 1): head 0 the mean 2, head 1 (2 + 4e)/(1 + e)."""
    eye = [[1.0, 0.0], [0.0, 1.0]]
    keys = [[[1.0, 0.0], [0.0, 1.0]]]
    got = mha(keys, keys, [[[1.0, 2.0], [3.0, 4.0]]], 2, eye, eye, eye, eye)[0]
    want = [[(math.e + 3) / (math.e + 1), 3.0], [2.0, (2 + 4 * math.e) / (1 + math.e)]]
    for row_got, row_want in zip(got, want, strict=True):
        assert row_got == pytest.approx(row_want, rel=8 * U)  # a softmax of two and a sum of two products


def test_one_head_with_identity_projections_is_attention_of_the_inputs() -> None:
    """H = 1, identity weights, no biases: exactly the reference's scaled dot-product attention (the projections
    copy their inputs, and the split and join move values)."""
    rng = random.Random(3)
    q, k, v = [_rows(rng, 3, 3)], [_rows(rng, 4, 3)], [_rows(rng, 4, 3)]
    eye = [[float(i == j) for j in range(3)] for i in range(3)]
    for causal in (False, True):
        want = sdpa([q], [k], [v], causal=causal)[0]
        assert mha(q, k, v, 1, eye, eye, eye, eye, causal=causal) == want


def test_the_input_bias_is_the_query_key_and_value_biases_in_that_order() -> None:
    """Zero weights, in_proj_bias (0, 0, 5): every value is 5 whatever the keys, so the output is 5 (a bias read
    in another order would give 0)."""
    zero = [[0.0]]
    got = mha([[[1.0]]], [[[2.0], [3.0]]], [[[7.0], [9.0]]], 1, zero, zero, zero, ONE, in_proj_bias=[0.0, 0.0, 5.0])
    assert got == [[[5.0]]]


def test_vjp_matches_central_differences_in_50_digits() -> None:
    """Every entry of the nine gradients (query, key, value, the four weights, the two biases) is ⟨ḡ, ∂y/∂θ⟩ within
    1e-12 of mpmath's central difference (step 1e-20, 50 digits: the difference is exact to ~1e-40, and the
    reference's float64 VJP, sums of products of order 1, is within ~1e-14)."""
    call = _call(random.Random(9), True)
    call = {**call, "query": [call["query"][0][:2]]}  # L = 2: fewer entries to differentiate
    g = _rows(random.Random(1), 2, 4)
    grads = mha_vjp(**call, cotangent=[g])
    names = ("query", "key", "value", "q_proj_weight", "k_proj_weight", "v_proj_weight", "out_proj_weight")
    names += ("in_proj_bias", "out_proj_bias")
    h = mpmath.mpf("1e-20")

    def phi(changed: dict) -> mpmath.mpf:
        y = _mp_mha(changed)
        return mpmath.fsum(gi * yi for grow, yrow in zip(g, y, strict=True) for gi, yi in zip(grow, yrow, strict=True))

    def entries(x, path=()):  # type: ignore[no-untyped-def]
        if isinstance(x, list):
            for i, item in enumerate(x):
                yield from entries(item, (*path, i))
        else:
            yield path

    def moved(name: str, path: tuple, step: mpmath.mpf) -> dict:
        import copy

        value = copy.deepcopy(call[name])
        node = value
        for i in path[:-1]:
            node = node[i]
        node[path[-1]] = mpmath.mpf(node[path[-1]]) + step
        return {**call, name: value}

    for name, grad in zip(names, grads, strict=True):
        for path in entries(call[name]):
            fd = (phi(moved(name, path, h)) - phi(moved(name, path, -h))) / (2 * h)
            got = grad
            for i in path:
                got = got[i]
            assert abs(got - float(fd)) <= 1e-12, (name, path)


def test_a_missing_bias_has_no_gradient() -> None:
    """Without biases the VJP returns None for both bias gradients (the contract: nothing to differentiate)."""
    out = mha_vjp([[[1.0]]], [[[2.0]]], [[[3.0]]], 1, ONE, ONE, ONE, ONE, cotangent=[[[1.0]]])
    assert out[7] is None and out[8] is None


@pytest.mark.parametrize(
    ("kwargs", "error", "says"),
    [
        (
            {"num_heads": 3},
            ValueError,
            "num_heads=3 but query.shape=(1, 1, 2); expected E = 2 to be a positive multiple",
        ),
        ({"num_heads": 0}, ValueError, "num_heads=0; expected an int >= 1"),
        ({"q_proj_weight": [[1.0, 0.0]]}, ValueError, "q_proj_weight.shape=(1, 2) but query.shape=(1, 1, 2)"),
        ({"in_proj_bias": [0.0] * 4}, ValueError, "in_proj_bias.shape=(4,); expected (6,) or None"),
        ({"mask": [[True]]}, ValueError, "expected (L, S) = (1, 2) bools"),
        ({"key": [[[1.0, 2.0]]]}, ValueError, "expected the same N in all three and one value per key"),
        ({"causal": 1}, TypeError, "causal=1; expected True or False"),
    ],
)
def test_bad_input_is_refused_naming_the_argument(kwargs: dict, error: type, says: str) -> None:
    """Each refusal names multi_head_attention, the argument, its value and what was expected."""
    eye = [[1.0, 0.0], [0.0, 1.0]]
    call = {
        "query": [[[1.0, 0.0]]],
        "key": [[[1.0, 0.0], [0.0, 1.0]]],
        "value": [[[1.0, 2.0], [3.0, 4.0]]],
        "num_heads": 2,
        "q_proj_weight": eye,
        "k_proj_weight": eye,
        "v_proj_weight": eye,
        "out_proj_weight": eye,
    }
    with pytest.raises(error) as info:
        mha(**{**call, **kwargs})
    assert str(info.value).startswith("multi_head_attention")
    assert says in str(info.value)
