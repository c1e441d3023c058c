"""The optimisers' invariants on real and broken backends; torch.optim's SGD, Adam and AdamW against the reference."""

from __future__ import annotations

import functools
import importlib.util
import math
import random

import pytest
import torch
from dlterms.conformance import known_defects

from dlterms import reference as ref

GD_TERMS = "gradient-descent,learning-rate,local-minimum,batch-gradient-descent,stochastic-gradient-descent,"
GD_TERMS += "mini-batch-gradient-descent,epoch"


@pytest.mark.parametrize("backend", ["reference", "numpy", "torch"])
def test_correct_backends_pass_every_gradient_descent_invariant(conform, backend: str) -> None:
    """A correct framework exits 0 and its sgd_step passes the trajectory and learning-rate invariants."""
    run = conform(backend, "--terms", GD_TERMS, "--max-examples", "15")
    assert run.code == 0, run.out
    assert {r["term"] for r in run.rows()} == {"gradient-descent", "learning-rate"}
    assert not run.rows("fail") and not run.rows("error")
    passed = {r["invariant"] for r in run.rows("pass")}
    assert {
        "sgd_step.matches_reference",
        "sgd_step.trajectory_matches_reference",
        "sgd_step.converges_when_lr_below_two_over_curvature",
        "sgd_step.diverges_when_lr_above_two_over_curvature",
    } <= passed


def _sgd_step_ascends(param: torch.Tensor, grad: torch.Tensor, lr: float) -> torch.Tensor:
    return param + lr * grad  # climbs the cost instead of descending it


def _sgd_step_halves_lr(param: torch.Tensor, grad: torch.Tensor, lr: float) -> torch.Tensor:
    return param - 0.5 * lr * grad


class _Momentum:
    """An adapter that keeps a momentum buffer between calls (stateful: not the plain step)."""

    def __init__(self) -> None:
        self.velocity: torch.Tensor | None = None

    def __call__(self, param: torch.Tensor, grad: torch.Tensor, lr: float) -> torch.Tensor:
        if self.velocity is None or self.velocity.shape != grad.shape or self.velocity.dtype != grad.dtype:
            self.velocity = torch.zeros_like(grad)
        self.velocity = 0.9 * self.velocity.detach() + grad
        return param - lr * self.velocity


@pytest.mark.parametrize(
    ("impl", "expected"),
    [
        (_sgd_step_ascends, "sgd_step.matches_reference"),
        (_sgd_step_ascends, "sgd_step.converges_when_lr_below_two_over_curvature"),
        (_sgd_step_ascends, "sgd_step.vjp_matches_reference"),  # its own gradient is self-consistent
        (_sgd_step_halves_lr, "sgd_step.trajectory_matches_reference"),
        pytest.param(_Momentum(), "sgd_step.trajectory_matches_reference", id="momentum"),
    ],
)
def test_broken_sgd_step_fails_naming_the_invariant(conform, broken_backend, impl, expected: str) -> None:
    """A framework whose step ascends, halves the rate or keeps momentum exits 1 naming the invariant."""
    spec = broken_backend("torch", sgd_step=impl)
    run = conform(spec, "--terms", "gradient-descent,learning-rate", "--dtype", "float64", "--max-examples", "20")
    assert run.code == 1, run.out
    assert expected in run.failed_invariants(), sorted(run.failed_invariants())
    assert next(r for r in run.rows() if r["invariant"] == expected)["counterexample"] is not None


def test_a_too_large_learning_rate_is_caught_by_the_divergence_invariant(conform, broken_backend) -> None:
    """A step that silently clips the update to |Δ| ≤ 1 cannot diverge, so the lr > 2/L invariant fails."""

    def clipped(param: torch.Tensor, grad: torch.Tensor, lr: float) -> torch.Tensor:
        return param - torch.clamp(lr * grad, -1.0, 1.0)

    run = conform(broken_backend("torch", sgd_step=clipped), "--terms", "learning-rate", "--dtype", "float64")
    assert run.code == 1
    assert "sgd_step.diverges_when_lr_above_two_over_curvature" in run.failed_invariants()


# --- torch.optim.SGD itself follows the reference trajectory ------------------------------------

DATA = [(-2.0, -3.1), (-1.0, -0.9), (0.0, 1.2), (0.5, 1.9), (1.0, 3.05), (2.0, 4.8), (3.0, 7.2)]


def _line_grad(w: list[float], batch: list[tuple[float, float]]) -> list[float]:
    """Gradient of the mean over the batch of ½(w0·x + w1 − y)², by hand."""
    r = [w[0] * x + w[1] - y for x, y in batch]
    return [sum(ri * x for ri, (x, _) in zip(r, batch, strict=True)) / len(batch), sum(r) / len(batch)]


@pytest.mark.parametrize(
    "implementation", [{}, {"foreach": True}, {"fused": True}], ids=["for-loop", "foreach", "fused"]
)
@pytest.mark.parametrize(("batch_size", "shuffle"), [(7, False), (1, False), (3, False), (3, True), (2, True)])
def test_torch_optim_sgd_follows_the_reference_trajectory(batch_size: int, shuffle: bool, implementation: dict) -> None:
    """torch.optim.SGD (each of its three kernels) takes the reference's steps, batch for batch."""
    lr, epochs, seed = 0.05, 3, 11
    expected = ref.minibatch_gradient_descent(_line_grad, [0.5, -0.5], DATA, lr, epochs, batch_size, shuffle, seed)

    w = torch.tensor([0.5, -0.5], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([w], lr=lr, **implementation)
    x_all = torch.tensor([x for x, _ in DATA], dtype=torch.float64)
    y_all = torch.tensor([y for _, y in DATA], dtype=torch.float64)
    rng = random.Random(seed)  # the reference's documented shuffle: one random.Random(seed), reshuffled per epoch
    got = [w.detach().clone()]
    for _ in range(epochs):
        order = list(range(len(DATA)))
        if shuffle:
            rng.shuffle(order)
        for start in range(0, len(order), batch_size):
            idx = torch.tensor(order[start : start + batch_size])
            opt.zero_grad()
            loss = (0.5 * (w[0] * x_all[idx] + w[1] - y_all[idx]) ** 2).mean()
            loss.backward()
            opt.step()
            got.append(w.detach().clone())

    assert len(got) == len(expected) == 1 + epochs * -(-len(DATA) // batch_size)
    torch.testing.assert_close(torch.stack(got), torch.tensor(expected, dtype=torch.float64), rtol=1e-12, atol=1e-12)


# --- Adam and AdamW -------------------------------------------------------------------------------

ADAM_INVARIANTS = {
    "adam": (
        "adam_step.first_step_moves_by_lr_against_the_gradient",
        "adam_step.invariant_to_gradient_scale",
        "adam_step.trajectory_matches_reference",
    ),
    "adamw": (
        "adamw_step.zero_gradient_decays_parameters",
        "adamw_step.decay_is_decoupled_from_the_moments",
        "adamw_step.trajectory_matches_reference",
    ),
}


@pytest.mark.parametrize("backend", ["reference", "numpy", "torch", "jax", "tensorflow"])
def test_correct_backends_pass_every_adam_invariant(conform, backend: str) -> None:
    """Every framework's Adam and AdamW pass their invariants; PyTorch fails only its documented lr = 0 VJP."""
    pytest.importorskip({"jax": "optax", "tensorflow": "keras"}.get(backend, "numpy"))
    run = conform(backend, "--terms", "adam,adamw", "--max-examples", "10")
    failed = run.failed_invariants()
    allowed = {c.split("[")[0] for c in known_defects.TORCH_ADAM_DEFECTS} if backend == "torch" else set()
    assert failed <= allowed, run.out
    assert not run.rows("error"), run.out
    passed = {r["invariant"] for r in run.rows("pass")}
    assert {i for ids in ADAM_INVARIANTS.values() for i in ids} <= passed
    assert {"adam_step.matches_reference", "adamw_step.matches_reference"} <= passed


def _adam_formula(
    param: torch.Tensor,
    grad: torch.Tensor,
    m: torch.Tensor,
    v: torch.Tensor,
    t: int,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    decay: float = 0.0,
    *,
    corrected: bool = True,
    root: bool = True,
    coupled: bool = False,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Adam written out in torch, with a switch for each way to get it wrong."""
    if coupled:
        grad = grad + decay * param  # the L2 penalty through the moments (torch.optim.Adam's weight_decay)
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    c1, c2 = (1 - beta1**t, 1 - beta2**t) if corrected else (1.0, 1.0)
    denominator = (v / c2).sqrt() if root else v / c2
    decayed = param if coupled else param * (1 - lr * decay)
    return decayed - lr * (m / c1) / (denominator + eps), m, v


def _adam_without_bias_correction(param, grad, m, v, step, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    return _adam_formula(param, grad, m, v, step, lr, beta1, beta2, eps, corrected=False)


def _adam_without_square_root(param, grad, m, v, step, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    return _adam_formula(param, grad, m, v, step, lr, beta1, beta2, eps, root=False)


def _adam_always_at_step_one(param, grad, m, v, step, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    return _adam_formula(param, grad, m, v, 1, lr, beta1, beta2, eps)


def _adamw_coupled(param, grad, m, v, step, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
    return _adam_formula(param, grad, m, v, step, lr, beta1, beta2, eps, weight_decay, coupled=True)


def _adamw_always_at_step_one(param, grad, m, v, step, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
    return _adam_formula(param, grad, m, v, 1, lr, beta1, beta2, eps, weight_decay)


@pytest.mark.parametrize(
    ("op", "impl", "expected"),
    [
        ("adam_step", _adam_without_bias_correction, "adam_step.first_step_moves_by_lr_against_the_gradient"),
        ("adam_step", _adam_without_square_root, "adam_step.invariant_to_gradient_scale"),
        ("adam_step", _adam_always_at_step_one, "adam_step.trajectory_matches_reference"),
        ("adamw_step", _adamw_coupled, "adamw_step.zero_gradient_decays_parameters"),
        ("adamw_step", _adamw_coupled, "adamw_step.decay_is_decoupled_from_the_moments"),
        ("adamw_step", _adamw_always_at_step_one, "adamw_step.trajectory_matches_reference"),
    ],
)
def test_broken_adam_fails_naming_the_invariant(conform, broken_backend, op: str, impl, expected: str) -> None:
    """An Adam without bias correction or square root, stuck at step 1, or with L2 for AdamW's decay is caught."""
    spec = broken_backend("torch", **{op: impl})
    run = conform(spec, "--terms", "adam,adamw", "--dtype", "float64", "--max-examples", "20")
    assert run.code == 1, run.out
    assert expected in run.failed_invariants(), sorted(run.failed_invariants())
    assert next(r for r in run.rows() if r["invariant"] == expected)["counterexample"] is not None


def _quadratic_grad(w: torch.Tensor) -> torch.Tensor:
    """The gradient of ½Σ aᵢ(wᵢ − cᵢ)² with a = (1, 4, 0.25), c = (1, −2, 3)."""
    return torch.tensor([1.0, 4.0, 0.25], dtype=torch.float64) * (
        w - torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64)
    )


@pytest.mark.parametrize(
    "implementation", [{}, {"foreach": True}, {"fused": True}], ids=["for-loop", "foreach", "fused"]
)
@pytest.mark.parametrize("decay", [None, 0.05])
def test_torch_optim_adam_and_adamw_follow_the_reference_trajectory(implementation: dict, decay: float | None) -> None:
    """torch.optim.Adam and AdamW (each of the three kernels) take the reference's 25 steps on a quadratic."""
    hyper = {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6}
    w = torch.tensor([0.0, 0.0, 0.0], dtype=torch.float64, requires_grad=True)
    if decay is None:
        opt = torch.optim.Adam([w], **hyper, **implementation)
    else:
        opt = torch.optim.AdamW([w], **hyper, weight_decay=decay, **implementation)
    expected = [[0.0, 0.0, 0.0]]
    m = v = [0.0, 0.0, 0.0]
    for t in range(1, 26):
        w.grad = _quadratic_grad(w.detach())
        opt.step()
        grad = _quadratic_grad(torch.tensor(expected[-1], dtype=torch.float64)).tolist()
        kw = {"lr": 0.05, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6}
        step = ref.adam_step if decay is None else functools.partial(ref.adamw_step, weight_decay=decay)
        param, m, v = step(expected[-1], grad, m, v, t, **kw)
        expected.append(param)
        torch.testing.assert_close(w.detach(), torch.tensor(param, dtype=torch.float64), rtol=1e-12, atol=1e-12)


def test_torch_differentiable_adam_is_nan_at_a_zero_learning_rate() -> None:
    """PyTorch's documented defect: with differentiable=True, lr = 0 gives NaN (forward where √v = 0, backward)."""
    from torch.optim.adam import adam

    def step(grad: torch.Tensor, differentiable: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        p, m, v = torch.tensor([1.0, 2.0], dtype=torch.float64), torch.zeros(2, dtype=torch.float64), torch.zeros(2)
        m, v = m.clone(), v.double()
        hyper = {"amsgrad": False, "beta1": 0.9, "beta2": 0.999, "lr": 0.0, "weight_decay": 0.0, "eps": 1e-8}
        counter = [torch.tensor(0.0, dtype=torch.float64)]
        adam([p], [grad], [m], [v], [], counter, foreach=False, differentiable=differentiable, maximize=False, **hyper)
        return p, m, v

    zero_then_three = torch.tensor([0.0, 3.0], dtype=torch.float64)
    assert step(zero_then_three, differentiable=False)[0].tolist() == [1.0, 2.0]  # lr = 0: the identity
    forward = step(zero_then_three, differentiable=True)[0]
    assert math.isnan(forward[0]) and forward[1] == 2.0  # 0/−0 where √v is 0
    grad = zero_then_three.clone().requires_grad_(True)
    p, m, v = step(grad, differentiable=True)
    (d_grad,) = torch.autograd.grad(p.sum() + m.sum() + v.sum(), grad)
    assert torch.isnan(d_grad).all()
    cotangent = ([1.0, 1.0], [1.0, 1.0], [1.0, 1.0])
    ours = ref.adam_step_vjp([1.0, 2.0], [0.0, 3.0], [0.0, 0.0], [0.0, 0.0], 1, lr=0.0, cotangent=cotangent)
    assert ours[1] == pytest.approx([0.1, 0.106], rel=1e-12)  # (1 − β₁) + 2(1 − β₂)·g: p′ = p at lr = 0


def test_keras_epsilon_is_the_papers_epsilon_times_the_root_of_the_bias_correction() -> None:
    """Keras adds ε̂ to √v: the paper's ε on √v̂ is ε̂ = ε·√(1 − β₂ᵗ) (hand values at t = 1 and t = 2)."""
    tf_backend = pytest.importorskip("dlterms.conformance.backends.tensorflow")
    assert tf_backend.keras_epsilon(1e-8, 0.999, 1) == pytest.approx(1e-8 * math.sqrt(0.001), rel=1e-15)
    assert tf_backend.keras_epsilon(1e-8, 0.5, 2) == pytest.approx(1e-8 * math.sqrt(0.75), rel=1e-15)
    assert tf_backend.keras_epsilon(2.0, 0.0, 7) == 2.0


def test_adam_conventions_are_measured() -> None:
    """ε's default and place, Adam's own weight decay, float64 hyper-parameters and AdamW's default λ, measured."""
    from dlterms.conformance import conventions as cv

    def rows(fw: str) -> dict[str, object]:
        return {r["id"]: r.get("value") for r in cv.measure(fw) if r["id"].startswith(("adam.", "adamw."))}

    assert rows("reference") == {
        "adam.default_eps": 1e-8,
        "adam.eps_placement": "sqrt(v_hat) + eps",
        "adam.weight_decay": "no weight_decay option",
        "adam.float64_hyperparameters": "float64",
        "adamw.default_weight_decay": 0.01,
    }
    got = rows("torch")
    assert got["adam.eps_placement"] == "sqrt(v_hat) + eps" and got["adamw.default_weight_decay"] == 0.01
    assert got["adam.weight_decay"].startswith("L2 added to the gradient")
    if importlib.util.find_spec("optax"):
        got = rows("jax")
        assert got["adam.default_eps"] == 1e-8 and got["adamw.default_weight_decay"] == 1e-4
        assert got["adam.weight_decay"] == "no weight_decay option"
    if importlib.util.find_spec("keras"):
        got = rows("tensorflow")
        assert got["adam.default_eps"] == 1e-7 and got["adamw.default_weight_decay"] == 0.004
        assert got["adam.eps_placement"].startswith("sqrt(v) + eps")
        assert got["adam.weight_decay"].startswith("decoupled")
        assert got["adam.float64_hyperparameters"].startswith("rounded to float32")
