"""The reference Transformer block: against 50-digit mpmath (forward and gradients), hand-checked blocks, refusals."""

from __future__ import annotations

import math
import random

import mpmath
import pytest
from dlterms.reference import layer_norm, multi_head_attention
from dlterms.reference import transformer_encoder_block as block
from dlterms.reference import transformer_encoder_block_vjp as block_vjp
from dlterms.reference.transformer import PARAMETERS

mpmath.mp.dps = 50
U = 2.0**-53
E, H, F, T = 4, 2, 6, 3


def _rows(rng: random.Random, n: int, m: int, span: float = 0.5) -> list[list[float]]:
    return [[rng.uniform(-span, span) for _ in range(m)] for _ in range(n)]


def _call(rng: random.Random) -> dict:
    """One example: T = 3 positions of E = 4 features in 2 heads, F = 6; x in [−1, 1], the rest in [−1/2, 1/2]
    (the norms' weights in [1/2, 3/2])."""
    vec = lambda n: _rows(rng, 1, n)[0]  # noqa: E731
    return {
        "x": [_rows(rng, T, E, 1.0)],
        "num_heads": H,
        "in_proj_weight": _rows(rng, 3 * E, E),
        "in_proj_bias": vec(3 * E),
        "out_proj_weight": _rows(rng, E, E),
        "out_proj_bias": vec(E),
        "linear1_weight": _rows(rng, F, E),
        "linear1_bias": vec(F),
        "linear2_weight": _rows(rng, E, F),
        "linear2_bias": vec(E),
        "norm1_weight": [1.0 + w for w in vec(E)],
        "norm1_bias": vec(E),
        "norm2_weight": [1.0 + w for w in vec(E)],
        "norm2_bias": vec(E),
    }


# --- the block in 50 digits, written from the definition ---------------------------------------------------


def _linear(x: list, w: list, b: list) -> list:
    return [
        [mpmath.fsum(mpmath.mpf(a) * c for a, c in zip(row, wj, strict=True)) + bj for wj, bj in zip(w, b, strict=True)]
        for row in x
    ]


def _norm(x: list, w: list, b: list, eps: float) -> tuple[list, list]:
    """Each row (x − μ)/√(σ² + ε)·w + b, and each row's σ."""
    out, sigmas = [], []
    for row in x:
        mu = mpmath.fsum(row) / len(row)
        var = mpmath.fsum((v - mu) ** 2 for v in row) / len(row)
        out.append([(v - mu) / mpmath.sqrt(var + eps) * wi + bi for v, wi, bi in zip(row, w, b, strict=True)])
        sigmas.append(mpmath.sqrt(var))
    return out, sigmas


def _attention(x: list, p: dict, heads: int, causal: bool) -> list:
    e = len(x[0])
    d = e // heads
    w, b = p["in_proj_weight"], [mpmath.mpf(v) for v in p["in_proj_bias"]]
    q, k, v = (_linear(x, w[i * e : (i + 1) * e], b[i * e : (i + 1) * e]) for i in range(3))
    joined = [[mpmath.mpf(0)] * e for _ in x]
    for h in range(heads):
        cols = range(h * d, (h + 1) * d)
        for i, qi in enumerate(q):
            seen = [j for j in range(len(x)) if not causal or j <= i]
            s = {j: mpmath.exp(mpmath.fsum(qi[c] * k[j][c] for c in cols) / mpmath.sqrt(d)) for j in seen}
            total = mpmath.fsum(s.values())
            for c in cols:
                joined[i][c] = mpmath.fsum(s[j] * v[j][c] for j in seen) / total
    return _linear(joined, p["out_proj_weight"], p["out_proj_bias"])


def _mp_block(p: dict, norm_first: bool, activation: str, causal: bool, eps: float = 1e-5) -> tuple[list, list]:
    """The first example's block in 50 digits, and the σ of every row each layer normalization divides by."""
    x = [[mpmath.mpf(v) for v in row] for row in p["x"][0]]
    act = (lambda z: z * mpmath.erfc(-z / mpmath.sqrt(2)) / 2) if activation == "gelu" else (lambda z: max(z, 0))

    def ffn(u: list) -> list:
        hidden = [[act(z) for z in row] for row in _linear(u, p["linear1_weight"], p["linear1_bias"])]
        return _linear(hidden, p["linear2_weight"], p["linear2_bias"])

    def add(a: list, b: list) -> list:
        return [[s + t for s, t in zip(ra, rb, strict=True)] for ra, rb in zip(a, b, strict=True)]

    def norm(i: int, u: list) -> tuple[list, list]:
        return _norm(u, p[f"norm{i}_weight"], p[f"norm{i}_bias"], eps)

    if norm_first:
        u, s1 = norm(1, x)
        h = add(x, _attention(u, p, p["num_heads"], causal))
        v, s2 = norm(2, h)
        return add(h, ffn(v)), s1 + s2
    h, s1 = norm(1, add(x, _attention(x, p, p["num_heads"], causal)))
    y, s2 = norm(2, add(h, ffn(h)))
    return y, s1 + s2


def _bound(sigmas: list) -> float:
    """The reference's rounding bound for outputs of order 1: each stage (a correctly rounded linear map, attention,
    a residual sum) within 16 u of its exact value for order-1 inputs, 64 u over the four before a normalization,
    and each layer normalization multiplying its input's error by 1/σ of its row (then 1 ulp of its own); measured
    on these calls: 4 u for the whole block."""
    amplification = max(1.0, 1.0 / float(min(sigmas)))
    return 64 * U * (1 + amplification) ** 2


OPTIONS = [(nf, act, causal) for nf in (False, True) for act in ("relu", "gelu") for causal in (False, True)]


@pytest.mark.parametrize(("norm_first", "activation", "causal"), OPTIONS)
def test_the_block_is_within_its_rounding_bound_of_50_digits(norm_first: bool, activation: str, causal: bool) -> None:
    """Random blocks (T = 3, E = 4 in 2 heads, F = 6), post-norm and pre-norm, ReLU and GELU, causal or not, agree
    with mpmath's 50-digit block written from the definition within the reference's rounding bound."""
    rng = random.Random(7)
    for _ in range(3):
        call = _call(rng)
        got = block(**call, norm_first=norm_first, activation=activation, causal=causal)[0]
        want, sigmas = _mp_block(call, norm_first, activation, causal)
        allowed = _bound(sigmas)
        for rg, rw in zip(got, want, strict=True):
            for g, w in zip(rg, rw, strict=True):
                assert abs(g - float(w)) <= allowed * max(1.0, abs(float(w)))


@pytest.mark.parametrize(("norm_first", "activation", "causal"), OPTIONS)
def test_every_gradient_is_the_50_digit_directional_derivative(norm_first: bool, activation: str, causal: bool) -> None:
    """For each of the 13 differentiable arguments, ⟨the VJP's gradient, u⟩ equals vᵀ·J·u, the central difference
    of mpmath's 50-digit block along a random direction u with step 10⁻²⁰ (truncation ~10⁻⁴⁰), within 10⁻¹¹
    relative to the terms Σ|gradient·u| (the reference's VJP rounds each stage's sums, as the forward)."""
    rng = random.Random(3)
    call = _call(rng)
    v = _rows(rng, T, E, 1.0)
    options = {"norm_first": norm_first, "activation": activation, "causal": causal}
    grads = block_vjp(**call, cotangent=[v], **options)
    step = mpmath.mpf(10) ** -20

    def flat(t: object) -> list[float]:
        return [a for b in t for a in flat(b)] if isinstance(t, list) else [t]  # type: ignore[union-attr]

    def shifted(name: str, u: list[float], sign: int) -> dict:
        shape_rows = call[name]
        values = iter(u)

        def rebuild(t: object) -> object:
            if isinstance(t, list):
                return [rebuild(a) for a in t]
            return mpmath.mpf(t) + sign * step * next(values)

        return {**call, name: rebuild(shape_rows)}

    for name, g in zip(("x", *PARAMETERS), grads, strict=True):
        u = [rng.uniform(-1.0, 1.0) for _ in flat(call[name])]
        plus = _mp_block(shifted(name, u, 1), norm_first, activation, causal)[0]
        minus = _mp_block(shifted(name, u, -1), norm_first, activation, causal)[0]
        want = mpmath.fsum(
            vi * (a - b) / (2 * step)
            for rv, rp, rm in zip(v, plus, minus, strict=True)
            for vi, a, b in zip(rv, rp, rm, strict=True)
        )
        terms = [gi * ui for gi, ui in zip(flat(g), u, strict=True)]
        assert abs(math.fsum(terms) - float(want)) <= 1e-11 * max(1.0, math.fsum(abs(t) for t in terms)), name


def test_zero_sublayers_make_pre_norm_the_identity() -> None:
    """Pre-norm with the output projection and the second linear layer zero returns x exactly: both sublayers
    add exact zeros to the residual path."""
    call = _call(random.Random(1))
    zeros = {
        "out_proj_weight": [[0.0] * E for _ in range(E)],
        "out_proj_bias": [0.0] * E,
        "linear2_weight": [[0.0] * F for _ in range(E)],
        "linear2_bias": [0.0] * E,
    }
    assert block(**{**call, **zeros}, norm_first=True) == call["x"]


def test_post_norm_is_attention_then_layer_norm_by_hand() -> None:
    """E = 2, one head, identity projections and a zero feed-forward network, norms without affine maps: each
    position's output is layer_norm(x + MHA(x)) (the reference's own pieces), normalized again: with two
    features, (a − b)/2 over √((a − b)²/4 + ε), sign for sign."""
    x = [[[1.0, -1.0], [0.5, 2.0]]]
    eye = [[1.0, 0.0], [0.0, 1.0]]
    zero2 = [[0.0, 0.0], [0.0, 0.0]]
    call = {
        "x": x,
        "num_heads": 1,
        "in_proj_weight": eye + eye + eye,
        "in_proj_bias": [0.0] * 6,
        "out_proj_weight": eye,
        "out_proj_bias": [0.0, 0.0],
        "linear1_weight": eye,
        "linear1_bias": [0.0, 0.0],
        "linear2_weight": zero2,
        "linear2_bias": [0.0, 0.0],
        "norm1_weight": [1.0, 1.0],
        "norm1_bias": [0.0, 0.0],
        "norm2_weight": [1.0, 1.0],
        "norm2_bias": [0.0, 0.0],
    }
    attended = multi_head_attention(x, x, x, 1, eye, eye, eye, eye)
    s1 = [[[a + b for a, b in zip(ra, rb, strict=True)] for ra, rb in zip(x[0], attended[0], strict=True)]]
    want = layer_norm(layer_norm(s1, 2), 2)
    assert block(**call) == want
    for (a, b), (ya, yb) in zip(s1[0], want[0], strict=True):
        z = (a - b) / 2 / math.sqrt((a - b) ** 2 / 4 + 1e-5)
        z2 = z / math.sqrt(z * z + 1e-5)
        assert (ya, yb) == pytest.approx((z2, -z2), rel=8 * U)


def _shape_call() -> dict:
    return _call(random.Random(0))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"x": [[1.0, 2.0, 3.0, 4.0]]}, "x.shape=(1, 4); expected 3 axes (N, T, E)"),
        ({"num_heads": 3}, "num_heads=3 but x.shape=(1, 3, 4); expected E = 4 to be a positive multiple"),
        ({"in_proj_weight": [[0.0] * 4] * 4}, "in_proj_weight.shape=(4, 4) but x.shape=(1, 3, 4)"),
        ({"linear1_weight": [[0.0] * 3] * 6}, "linear1_weight.shape=(6, 3) but x.shape=(1, 3, 4); expected (F, 4)"),
        ({"linear2_bias": [0.0] * 6}, "linear2_bias.shape=(6,) but x.shape=(1, 3, 4) and linear1_weight.shape=(6, 4)"),
        ({"activation": "tanh"}, "activation='tanh'; expected one of 'relu', 'gelu'"),
        ({"eps": -1.0}, "eps"),
    ],
)
def test_bad_arguments_are_refused_naming_the_argument(change: dict, message: str) -> None:
    """A wrong shape, head count, activation or ε is refused with the function's name, the argument and what was
    expected."""
    with pytest.raises(ValueError, match=r"^transformer_encoder_block: ") as info:
        block(**{**_shape_call(), **change})
    assert message in str(info.value)


def test_the_vjp_refuses_a_cotangent_of_another_shape() -> None:
    """The cotangent must have the output's shape, x's."""
    with pytest.raises(ValueError, match=r"transformer_encoder_block_vjp: cotangent.shape=\(1, 2, 4\)"):
        block_vjp(**_shape_call(), cotangent=[[[0.0] * 4] * 2])
