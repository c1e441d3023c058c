"""SGD with momentum: the reference step against exact rational arithmetic and hand-worked values, its VJP against
the exact Jacobian, and torch.optim.SGD's own kernels against the reference."""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlterms import reference as ref

U = 2.0**-53
moderate = st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False)
HYPER = st.fixed_dictionaries(
    {
        "lr": st.sampled_from([0.0, 1e-3, 0.1, 0.5]),
        "momentum": st.sampled_from([0.0, 0.5, 0.9, 0.99]),
        "dampening": st.sampled_from([0.0, 0.1, 0.5]),
        "nesterov": st.booleans(),
        "weight_decay": st.sampled_from([0.0, 1e-2, 0.5]),
        "first_step": st.booleans(),
    }
).map(lambda h: {**h, "dampening": 0.0} if h["nesterov"] else h)


@st.composite
def calls(draw: st.DrawFn) -> tuple[list[float], list[float], list[float], dict[str, Any]]:
    n = draw(st.integers(1, 4))
    vec = st.lists(moderate, min_size=n, max_size=n)
    return draw(vec), draw(vec), draw(vec), draw(HYPER)


def _exact(p: float, g: float, b: float, h: dict[str, Any]) -> tuple[Fraction, Fraction, Fraction, Fraction]:
    """One step in exact rational arithmetic, PyTorch's algorithm; also the sizes of param's and b's terms."""
    lr, mu, tau, wd = (Fraction(h[k]) for k in ("lr", "momentum", "dampening", "weight_decay"))
    p_, g_, b_ = Fraction(p), Fraction(g), Fraction(b)
    gt = g_ + wd * p_
    size_g = abs(g_) + wd * abs(p_)
    if mu == 0:
        return p_ - lr * gt, b_, abs(p_) + lr * size_g, abs(b_)
    b1 = gt if h["first_step"] else mu * b_ + (1 - tau) * gt
    size_b = size_g if h["first_step"] else mu * abs(b_) + (1 - tau) * size_g
    update, size_u = (gt + mu * b1, size_g + mu * size_b) if h["nesterov"] else (b1, size_b)
    return p_ - lr * update, b1, abs(p_) + lr * size_u, size_b


@given(calls())
def test_sgd_momentum_step_is_within_8u_of_its_terms_against_exact_arithmetic(call: tuple) -> None:
    """Each output is within 8u of the exact rational step, relative to the sizes of the terms it adds."""
    p, g, b, hyper = call
    got_p, got_b = ref.sgd_momentum_step(p, g, b, **hyper)
    for i in range(len(p)):
        exact_p, exact_b, size_p, size_b = _exact(p[i], g[i], b[i], hyper)
        assert abs(Fraction(got_b[i]) - exact_b) <= 8 * Fraction(U) * size_b
        assert abs(Fraction(got_p[i]) - exact_p) <= 8 * Fraction(U) * size_p


def test_sgd_momentum_step_golden_values() -> None:
    """Hand-worked steps in powers of two (exact): heavy ball, Nesterov, dampening, first step, no momentum."""
    # b′ = 0.5·2 + 0.5 = 1.5, θ = 1 − 0.5·1.5; Nesterov: θ = 1 − 0.5·(0.5 + 0.5·1.5)
    assert ref.sgd_momentum_step([1.0], [0.5], [2.0], lr=0.5, momentum=0.5) == ([0.25], [1.5])
    assert ref.sgd_momentum_step([1.0], [0.5], [2.0], lr=0.5, momentum=0.5, nesterov=True) == ([0.375], [1.5])
    # dampening 0.5: b′ = 0.5·2 + 0.5·0.5 = 1.25; on the first step it is not applied and the buffer not read
    assert ref.sgd_momentum_step([1.0], [0.5], [2.0], lr=0.5, momentum=0.5, dampening=0.5) == ([0.375], [1.25])
    first = ref.sgd_momentum_step([1.0], [0.5], [float("nan")], lr=0.5, momentum=0.5, dampening=0.5, first_step=True)
    assert first == ([0.75], [0.5])
    # weight decay 0.5: g̃ = 0.5 + 0.5·1 = 1, b′ = 0.5·2 + 1 = 2, θ = 1 − 0.5·2
    assert ref.sgd_momentum_step([1.0], [0.5], [2.0], lr=0.5, momentum=0.5, weight_decay=0.5) == ([0.0], [2.0])
    # momentum 0: PyTorch's plain step, dampening ignored, buffer unchanged
    assert ref.sgd_momentum_step([1.0], [0.5], [2.0], lr=0.5, momentum=0.0, dampening=0.5) == ([0.75], [2.0])


def test_constant_gradient_fills_the_buffer_geometrically() -> None:
    """k steps of one gradient give b_k = (1 − μᵏ)/(1 − μ)·g (μ = 1/2: 1, 1.5, 1.75, 1.875 times g)."""
    p, b = [0.0], [0.0]
    buffers = []
    for t in range(1, 5):
        p, b = ref.sgd_momentum_step(p, [2.0], b, lr=0.25, momentum=0.5, first_step=t == 1)
        buffers.append(b[0])
    assert buffers == [2.0, 3.0, 3.5, 3.75]
    assert p == [-0.25 * (2.0 + 3.0 + 3.5 + 3.75)]


def test_l2_decay_equals_decoupled_decay_only_without_momentum() -> None:
    """Plain SGD's L2 step is AdamW's kind of decay, (1 − lr·λ)·θ − lr·g; for Adam, L2 through the gradient differs."""
    sgd = ref.sgd_momentum_step([2.0], [0.5], [0.0], lr=0.25, momentum=0.0, weight_decay=0.5)[0]
    assert sgd == [(1 - 0.25 * 0.5) * 2.0 - 0.25 * 0.5]  # 1.625, by hand
    coupled = ref.adam_step([2.0], [0.5 + 0.5 * 2.0], [0.0], [0.0], step=1, lr=0.25, eps=0.0)[0]  # g̃ = 1.5
    decoupled = ref.adamw_step([2.0], [0.5], [0.0], [0.0], step=1, lr=0.25, eps=0.0, weight_decay=0.5)[0]
    assert coupled == [1.75] and decoupled == [1.5]  # 2 − 0.25·sign; 2·(1 − 0.125) − 0.25·sign


@given(calls(), st.randoms(use_true_random=False))
def test_sgd_momentum_step_vjp_is_the_transposed_exact_jacobian(call: tuple, rnd: random.Random) -> None:
    """The step is linear in (param, grad, buffer): its VJP is cᵀJ with J from exact rational differences."""
    p, g, b, hyper = call
    cot = ([rnd.uniform(-1, 1) for _ in p], [rnd.uniform(-1, 1) for _ in p])
    got = ref.sgd_momentum_step_vjp(p, g, b, **hyper, cotangent=cot)
    for i in range(len(p)):
        point = [p[i], g[i], b[i]]
        base = _exact(*point, hyper)[:2]
        for k in range(3):
            moved = list(point)
            moved[k] += 1.0
            # Exact: f(x + e_k) − f(x) in rationals (the float x + 1 may round; the difference is then scaled back).
            step = Fraction(moved[k]) - Fraction(point[k])
            outs = _exact(*moved, hyper)[:2]
            exact = sum(Fraction(c[i]) * (o - o0) / step for c, o, o0 in zip(cot, outs, base, strict=True))
            assert abs(Fraction(got[k][i]) - exact) <= Fraction(1e-12) * (1 + abs(exact)), (k, i)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"momentum": -0.5}, "momentum=-0.5; expected a number >= 0"),
        ({"dampening": 1.5}, "dampening=1.5; expected a number in [0, 1]"),
        ({"weight_decay": -1.0}, "weight_decay=-1.0; expected a number >= 0"),
        ({"nesterov": True, "dampening": 0.1}, "nesterov=True with dampening=0.1; expected dampening=0"),
    ],
)
def test_bad_hyper_parameters_are_refused_by_name(kwargs: dict[str, Any], message: str) -> None:
    """Each bad hyper-parameter is refused with its name, its value and what was expected."""
    call = {"lr": 0.1, "momentum": 0.9, **kwargs}
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        ref.sgd_momentum_step([1.0], [1.0], [0.0], **call)


def test_nesterov_flag_must_be_a_bool() -> None:
    """nesterov=1 is refused: a flag is True or False."""
    with pytest.raises(TypeError, match="nesterov is int 1; expected True or False"):
        ref.sgd_momentum_step([1.0], [1.0], [0.0], lr=0.1, momentum=0.9, nesterov=1)


def test_momentum_doctests_run() -> None:
    """The examples in the docstrings of dlterms.reference.momentum give what they show."""
    import doctest

    from dlterms.reference import momentum

    assert doctest.testmod(momentum).failed == 0


# --- torch.optim.SGD itself ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kernel", [{"foreach": False}, {"foreach": True}, {"fused": True}])
@pytest.mark.parametrize(
    "hyper",
    [
        {"momentum": 0.9},
        {"momentum": 0.9, "dampening": 0.5, "weight_decay": 0.01},
        {"momentum": 0.99, "nesterov": True, "weight_decay": 0.5},
        {"momentum": 0.0, "dampening": 0.5},
    ],
)
def test_torch_optim_sgd_follows_the_reference_for_three_steps(kernel: dict[str, bool], hyper: dict[str, Any]) -> None:
    """torch.optim.SGD's for-loop, foreach and fused kernels (float64) take the reference's three steps and buffers."""
    torch = pytest.importorskip("torch")
    rnd = random.Random(0)
    p0 = [rnd.uniform(-2, 2) for _ in range(5)]
    grads = [[rnd.uniform(-2, 2) for _ in range(5)] for _ in range(3)]
    param = torch.nn.Parameter(torch.tensor(p0, dtype=torch.float64))
    opt = torch.optim.SGD([param], lr=0.125, **hyper, **kernel)
    p, b = p0, [0.0] * 5
    for t, g in enumerate(grads):
        param.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        p, b = ref.sgd_momentum_step(p, g, b, lr=0.125, **hyper, first_step=t == 0)
        assert param.detach().tolist() == pytest.approx(p, rel=1e-14, abs=1e-14)
        if hyper["momentum"]:
            assert opt.state[param]["momentum_buffer"].tolist() == pytest.approx(b, rel=1e-14, abs=1e-14)


def test_torch_differentiable_sgd_loses_the_first_steps_gradient() -> None:
    """torch.optim.SGD(differentiable=True) detaches its first buffer: ∂θ₁/∂g is 0, not −lr (a documented defect)."""
    torch = pytest.importorskip("torch")
    g = torch.tensor([2.0], dtype=torch.float64, requires_grad=True)
    param = torch.tensor([1.0], dtype=torch.float64, requires_grad=True).clone()
    opt = torch.optim.SGD([param], lr=0.25, momentum=0.9, differentiable=True)
    param.grad = g * 1.0
    opt.step()
    (first,) = torch.autograd.grad(param.sum(), g, allow_unused=True)
    assert first is None or first.tolist() == [0.0]  # the reference: d param/d g = −lr = −0.25
    expected = ref.sgd_momentum_step_vjp([1.0], [2.0], [0.0], 0.25, 0.9, first_step=True, cotangent=([1.0], [0.0]))
    assert expected[1] == [-0.25]
    second_g = torch.tensor([2.0], dtype=torch.float64, requires_grad=True)
    param.grad = second_g * 1.0
    opt.step()
    (second,) = torch.autograd.grad(param.sum(), second_g)
    assert second.tolist() == [-0.25]  # later steps are differentiated: −lr·(1 − τ), τ = 0
