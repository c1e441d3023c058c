"""RMSprop and Adagrad (dlterms.reference.rmsprop): 50-digit accuracy, hand values, VJPs and bad input."""

from __future__ import annotations

import doctest
import math
import random
from typing import Any

import mpmath
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlterms import reference as ref

U = 2.0**-53
# |x| ≥ 1e−100 or 0: no square underflows (where g² does, v′ loses it: a rounding of v′ by λ, not of its terms).
moderate = st.just(0.0) | st.floats(1e-100, 1e3) | st.floats(-1e3, -1e-100)


def _exact(p: float, g: float, v: float, hyper: dict[str, Any]) -> tuple[Any, Any]:
    """One element's RMSprop (``alpha`` given) or Adagrad step in mpmath's precision, from the papers' formulas."""
    mp = mpmath.mpf
    if "alpha" in hyper:
        a = mp(hyper["alpha"])
        v1 = a * mp(v) + (1 - a) * mp(g) ** 2
        lr = mp(hyper["lr"])
    else:
        v1 = mp(v) + mp(g) ** 2
        lr = mp(hyper["lr"]) / (1 + (hyper["step"] - 1) * mp(hyper["lr_decay"]))
    eps = mp(hyper["eps"])
    den = mpmath.sqrt(v1 + eps) if hyper["eps_in_sqrt"] else mpmath.sqrt(v1) + eps
    return mp(p) - lr * mp(g) / den, v1


@st.composite
def calls(draw: st.DrawFn, adagrad: bool) -> tuple[list[float], list[float], list[float], dict[str, Any]]:
    n = draw(st.integers(1, 4))
    vec = st.lists(moderate, min_size=n, max_size=n)
    p, g, v = draw(vec), draw(vec), [abs(x) for x in draw(vec)]
    hyper: dict[str, Any] = {
        "lr": draw(st.sampled_from([0.0, 1e-3, 0.1, 0.5])),
        "eps": draw(st.sampled_from([1e-10, 1e-8, 1e-3])),
        "eps_in_sqrt": draw(st.booleans()),
    }
    if adagrad:
        hyper |= {"step": draw(st.sampled_from([1, 2, 7, 1000])), "lr_decay": draw(st.sampled_from([0.0, 0.1, 1.0]))}
    else:
        hyper["alpha"] = draw(st.sampled_from([0.0, 0.5, 0.9, 0.99, 0.999]))
    return p, g, v, hyper


def _call(op: str, p: list[float], g: list[float], v: list[float], hyper: dict[str, Any]) -> tuple[Any, Any]:
    return getattr(ref, op)(p, g, v, **hyper)


@pytest.mark.parametrize("op", ["rmsprop_step", "adagrad_step"])
@given(data=st.data())
def test_step_is_within_16u_of_each_outputs_terms_against_mpmath(op: str, data: st.DataObject) -> None:
    """Each output is within 16u of the 50-digit value, relative to its terms (the state's two, param's |p| + step).

    The step lr_t·|g|/d carries the state's error through ∂d/∂v = 1/(2r) (r the root) and ε's rounding.
    """
    p, g, v, hyper = data.draw(calls(op == "adagrad_step"))
    got = _call(op, p, g, v, hyper)
    for i in range(len(p)):
        with mpmath.workdps(50):
            exact_p, exact_v = _exact(p[i], g[i], v[i], hyper)
        keep = hyper.get("alpha", 1.0)
        terms_v = keep * v[i] + (1 - keep if "alpha" in hyper else 1.0) * g[i] ** 2
        root = math.sqrt(float(exact_v) + hyper["eps"]) if hyper["eps_in_sqrt"] else math.sqrt(float(exact_v))
        den = root if hyper["eps_in_sqrt"] else root + hyper["eps"]
        step = abs(float(exact_p) - p[i]) if den else 0.0
        through_v = step * terms_v / (2 * den * root) if root else 0.0
        assert abs(got[1][i] - exact_v) <= 16 * U * terms_v
        assert abs(got[0][i] - exact_p) <= 16 * U * (abs(p[i]) + step + through_v)


def test_rmsprop_golden_values() -> None:
    """Hand-computed steps: ε on the root or under it, the first step lr/√(1 − α), and 0/0 as NaN."""
    # α = 0.75, g = 2: v′ = 0.25·4 = 1, so θ′ = θ − lr·2/(1 + ε) or θ − lr·2/√(1 + ε).
    assert ref.rmsprop_step([1.0], [2.0], [0.0], lr=0.5, alpha=0.75, eps=0.0) == ([0.0], [1.0])
    assert ref.rmsprop_step([1.0], [2.0], [0.0], lr=0.5, alpha=0.75, eps=1.0)[0] == [0.5]
    assert ref.rmsprop_step([1.0], [2.0], [0.0], lr=0.5, alpha=0.75, eps=3.0, eps_in_sqrt=True)[0] == [0.5]
    # From v = 0 with ε = 0 every parameter moves by lr/√(1 − α) = 0.25/√0.25 = 0.5, whatever g.
    param, v = ref.rmsprop_step([0.0, 0.0, 0.0], [1e-3, -7.0, 0.0], [0.0] * 3, lr=0.25, alpha=0.75, eps=0.0)
    assert param[:2] == pytest.approx([-0.5, 0.5], rel=1e-15)
    assert math.isnan(param[2])  # 0/0 with ε = 0: IEEE, not an exception
    assert v == pytest.approx([0.25e-6, 0.25 * 49.0, 0.0], rel=1e-15)
    # A zero gradient keeps θ and decays v: v′ = α·v.
    assert ref.rmsprop_step([3.0], [0.0], [8.0], alpha=0.5) == ([3.0], [4.0])


def test_adagrad_golden_values() -> None:
    """Hand-computed steps: the sum grows by g², the first step from 0 is lr·sign(g), lr decays as lr/(1 + (t − 1)δ)."""
    assert ref.adagrad_step([1.0], [3.0], [16.0], step=1, lr=0.5, eps=0.0) == ([0.7], [25.0])
    param, s = ref.adagrad_step([0.0, 0.0], [1e-3, -40.0], [0.0, 0.0], step=1, lr=0.125, eps=0.0)
    assert param == [-0.125, 0.125] and s == pytest.approx([1e-6, 1600.0], rel=1e-15)
    # t = 5, δ = 0.25: lr_t = lr/2; g = 3, s′ = 16 + 9 = 25: θ′ = 1 − 0.5·3/5 = 0.7.
    assert ref.adagrad_step([1.0], [3.0], [16.0], step=5, lr=1.0, lr_decay=0.25, eps=0.0)[0] == [0.7]
    # g = ε = 1e−6 from s = 0: 0.5·lr on the root (g/(g + ε)), about 0.001·lr under it (g/√(g² + ε)).
    assert ref.adagrad_step([0.0], [1e-6], [0.0], step=1, lr=1.0, eps=1e-6)[0] == pytest.approx([-0.5], rel=1e-15)
    under = ref.adagrad_step([0.0], [1e-6], [0.0], step=1, lr=1.0, eps=1e-6, eps_in_sqrt=True)[0]
    assert under == pytest.approx([-1e-6 / math.sqrt(1e-12 + 1e-6)], rel=1e-15)


def test_adagrad_rate_hand_values() -> None:
    """PyTorch's decayed rate lr/(1 + (t − 1)·lr_decay): no decay at t = 1, halved at t = 3 with δ = 0.5."""
    from dlterms.reference.rmsprop import adagrad_rate

    assert adagrad_rate(0.1, 0.5, 1) == 0.1
    assert adagrad_rate(0.1, 0.5, 3) == 0.05
    assert adagrad_rate(0.1, 0.0, 10**6) == 0.1


def test_the_two_eps_placements_agree_at_zero_eps() -> None:
    """With ε = 0, g/(√v + ε) and g/√(v + ε) are the same number (both ops)."""
    a = ref.rmsprop_step([1.0, -2.0], [0.3, 5.0], [0.5, 2.0], eps=0.0)
    b = ref.rmsprop_step([1.0, -2.0], [0.3, 5.0], [0.5, 2.0], eps=0.0, eps_in_sqrt=True)
    c = ref.adagrad_step([1.0, -2.0], [0.3, 5.0], [0.5, 2.0], 3, eps=0.0)
    d = ref.adagrad_step([1.0, -2.0], [0.3, 5.0], [0.5, 2.0], 3, eps=0.0, eps_in_sqrt=True)
    assert a == b and c == d


@pytest.mark.parametrize("op", ["rmsprop_step", "adagrad_step"])
@given(data=st.data(), rnd=st.randoms(use_true_random=False))
def test_step_vjp_matches_mpmath_derivatives(op: str, data: st.DataObject, rnd: random.Random) -> None:
    """The VJP is the transposed Jacobian of the step: mpmath's derivatives at 50 digits, to 1e-9 relative."""
    p, g, v, hyper = data.draw(calls(op == "adagrad_step"))
    if "alpha" in hyper:
        hyper["alpha"] = max(hyper["alpha"], 0.5)  # with v ≥ 1/4 below: the root away from 0
    v = [x + 0.25 for x in v]
    cot = tuple([rnd.uniform(-1, 1) for _ in p] for _ in range(2))
    got = getattr(ref, f"{op}_vjp")(p, g, v, **hyper, cotangent=cot)
    for i in range(len(p)):
        point = [p[i], g[i], v[i]]
        for k in range(3):

            def f(x: Any, k: int = k, i: int = i, point: list[float] = point) -> Any:
                args = [*point]
                args[k] = x
                outs = _exact(*args, hyper)
                return sum(c[i] * o for c, o in zip(cot, outs, strict=True))

            with mpmath.workdps(50):
                exact = mpmath.diff(f, mpmath.mpf(point[k]))
            assert abs(got[k][i] - exact) <= 1e-9 * (1 + abs(exact)), (k, i)


def test_vjp_at_zero_gradient_and_zero_rate_adds_nothing_through_the_root() -> None:
    """Where g = 0 the update is 0 for every v (∂u/∂v = 0), and lr = 0 is the identity: no NaN from the root at 0."""
    d_param, d_grad, d_v = ref.rmsprop_step_vjp([1.0], [0.0], [0.0], alpha=0.0, eps=1e-8, cotangent=([1.0], [1.0]))
    assert d_param == [1.0] and d_v == [0.0]
    assert d_grad == pytest.approx([-0.01 / 1e-8], rel=1e-12)  # −lr/ε: u = g/(|g| + ε) near g = 0
    zero_rate = ref.adagrad_step_vjp([1.0], [0.0], [0.0], 1, lr=0.0, cotangent=([1.0], [1.0]))
    assert zero_rate == ([1.0], [0.0], [1.0])


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: ref.rmsprop_step([1.0], [1.0], [-1.0]), ValueError, r"square_avg has -1\.0 at flat index 0"),
        (lambda: ref.rmsprop_step([1.0], [1.0], [1.0], alpha=1.0), ValueError, r"alpha=1\.0; expected a decay rate"),
        (lambda: ref.rmsprop_step([1.0], [1.0], [1.0], eps=-1e-8), ValueError, r"eps=-1e-08; expected a number >= 0"),
        (lambda: ref.rmsprop_step([1.0], [1.0], [1.0], lr=-0.1), ValueError, r"lr=-0\.1; expected a learning rate"),
        (lambda: ref.rmsprop_step([1.0], [1.0], [1.0], eps_in_sqrt=1), TypeError, r"eps_in_sqrt is int 1"),
        (lambda: ref.rmsprop_step([1.0, 2.0], [1.0], [1.0, 1.0]), ValueError, r"grad"),
        (lambda: ref.adagrad_step([1.0], [1.0], [-0.5], 1), ValueError, r"state_sum has -0\.5 at flat index 0"),
        (lambda: ref.adagrad_step([1.0], [1.0], [1.0], 0), ValueError, r"step=0; expected an int >= 1"),
        (lambda: ref.adagrad_step([1.0], [1.0], [1.0], 1.5), TypeError, r"step is"),
        (lambda: ref.adagrad_step([1.0], [1.0], [1.0], 1, lr_decay=-1.0), ValueError, r"lr_decay=-1\.0; expected"),
        (lambda: ref.adagrad_step([1.0], [1.0], [1.0], 1, eps=math.nan), ValueError, r"eps=nan; expected a finite"),
        (
            lambda: ref.adagrad_step_vjp([1.0], [1.0], [1.0], 1, cotangent=([1.0],)),
            TypeError,
            r"cotangent is tuple; expected a tuple \(of param, of state_sum\)",
        ),
    ],
)
def test_bad_input_raises_a_clear_error(call, error: type, message: str) -> None:
    """Negative states, decays outside [0, 1), negative ε, rates or decays, bad flags, steps and shapes are refused."""
    with pytest.raises(error, match=message) as info:
        call()
    assert "_step" in str(info.value)  # the message names the function


def test_rmsprop_doctests_run() -> None:
    """The docstrings' examples give what they print."""
    from dlterms.reference import rmsprop

    assert doctest.testmod(rmsprop).failed == 0
