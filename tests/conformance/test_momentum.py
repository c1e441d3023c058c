"""SGD with momentum and L2 weight decay in the conformance suite: every framework passes, each hand-written
invariant catches a deliberately broken step, and the cases Keras cannot express are set aside."""

from __future__ import annotations

from typing import Any

import pytest
from dlterms.conformance import known_defects

torch = pytest.importorskip("torch")

MOMENTUM_INVARIANTS = (
    "sgd_momentum_step.momentum_zero_is_sgd_step",
    "sgd_momentum_step.constant_gradient_fills_the_buffer_geometrically",
    "sgd_momentum_step.nesterov_steps_along_the_new_buffer",
    "sgd_momentum_step.trajectory_matches_reference",
    "sgd_momentum_step.l2_decay_enters_the_buffer",
    "sgd_momentum_step.l2_decay_is_decoupled_without_momentum",
)


@pytest.mark.parametrize("backend", ["reference", "numpy", "torch", "jax", "tensorflow"])
def test_correct_backends_pass_every_momentum_invariant(conform, backend: str) -> None:
    """Every framework's SGD with momentum passes its invariants; PyTorch fails only its documented first-step VJP."""
    pytest.importorskip({"jax": "optax", "tensorflow": "keras"}.get(backend, "numpy"))
    run = conform(backend, "--terms", "momentum,weight-decay", "--max-examples", "10")
    failed = run.failed_invariants()
    allowed = {c.split("[")[0] for c in known_defects.TORCH_SGD_FIRST_STEP_DEFECTS} if backend == "torch" else set()
    assert failed <= allowed, run.out
    assert not run.rows("error"), run.out
    passed = {r["invariant"] for r in run.rows("pass")}
    assert {*MOMENTUM_INVARIANTS, "sgd_momentum_step.matches_reference"} <= passed


def _step(
    param: torch.Tensor,
    grad: torch.Tensor,
    momentum_buffer: torch.Tensor,
    lr: float,
    momentum: float,
    dampening: float = 0.0,
    nesterov: bool = False,
    weight_decay: float = 0.0,
    first_step: bool = False,
    *,
    flaw: str = "",
) -> tuple[torch.Tensor, torch.Tensor]:
    """PyTorch's algorithm written out, with one ``flaw`` put in."""
    g = grad + weight_decay * param if flaw != "decoupled" else grad
    if momentum == 0.0 and flaw != "dampens_without_momentum":
        return param - lr * g, momentum_buffer
    keep = 1.0 - dampening
    if first_step and flaw != "damped_first_step":
        b = g
    else:
        b = momentum * (torch.zeros_like(g) if first_step else momentum_buffer) + keep * g
    if flaw == "forgets_the_buffer":
        b = g
    look = momentum_buffer if flaw == "nesterov_old_buffer" and not first_step else b
    update = g + momentum * look if nesterov else b
    out = param - lr * update
    if flaw == "decoupled":
        out = out - lr * weight_decay * param
    return out, b


def _flawed(flaw: str) -> Any:
    def step(
        param, grad, momentum_buffer, lr, momentum, dampening=0.0, nesterov=False, weight_decay=0.0, first_step=False
    ):
        return _step(
            param, grad, momentum_buffer, lr, momentum, dampening, nesterov, weight_decay, first_step, flaw=flaw
        )

    return step


@pytest.mark.parametrize(
    ("flaw", "expected"),
    [
        ("dampens_without_momentum", "sgd_momentum_step.momentum_zero_is_sgd_step"),
        ("damped_first_step", "sgd_momentum_step.constant_gradient_fills_the_buffer_geometrically"),
        ("nesterov_old_buffer", "sgd_momentum_step.nesterov_steps_along_the_new_buffer"),
        ("forgets_the_buffer", "sgd_momentum_step.trajectory_matches_reference"),
        ("decoupled", "sgd_momentum_step.l2_decay_enters_the_buffer"),
    ],
)
def test_broken_momentum_fails_naming_the_invariant(conform, broken_backend, flaw: str, expected: str) -> None:
    """Dampening without momentum or on the first step, Nesterov on the old buffer, no buffer, decoupled decay."""
    spec = broken_backend("torch", sgd_momentum_step=_flawed(flaw))
    run = conform(spec, "--terms", "momentum,weight-decay", "--dtype", "float64", "--max-examples", "20")
    assert run.code == 1, run.out
    assert expected in run.failed_invariants(), sorted(run.failed_invariants())
    assert next(r for r in run.rows() if r["invariant"] == expected)["counterexample"] is not None


def _no_decay_without_momentum(
    param, grad, momentum_buffer, lr, momentum, dampening=0.0, nesterov=False, weight_decay=0.0, first_step=False
):
    decay = weight_decay if momentum else 0.0
    return _step(param, grad, momentum_buffer, lr, momentum, dampening, nesterov, decay, first_step)


def test_plain_sgd_without_its_decay_is_caught(conform, broken_backend) -> None:
    """A step that drops the L2 decay when momentum is 0 fails l2_decay_is_decoupled_without_momentum."""
    spec = broken_backend("torch", sgd_momentum_step=_no_decay_without_momentum)
    run = conform(spec, "--terms", "weight-decay", "--dtype", "float64", "--max-examples", "20")
    assert "sgd_momentum_step.l2_decay_is_decoupled_without_momentum" in run.failed_invariants(), run.out


def test_keras_sets_aside_what_its_velocity_cannot_hold() -> None:
    """Keras' velocity −lr·b holds no buffer at lr = 0, and its momentum is float32: those cases are UnsupportedCase."""
    pytest.importorskip("keras")
    from dlterms.conformance.backends import UnsupportedCase
    from dlterms.conformance.backends import tensorflow as tfb

    one = tfb.asarray([1.0], "float64")
    with pytest.raises(UnsupportedCase, match="lr = 0"):
        tfb.sgd_momentum_step(one, one, one, lr=0.0, momentum=0.5)
    with pytest.raises(UnsupportedCase, match="float32"):
        tfb.sgd_momentum_step(one, one, one, lr=0.5, momentum=0.9)
    param, buffer = tfb.sgd_momentum_step(one, one, one, lr=0.5, momentum=0.5, dampening=0.5)
    assert (tfb.to_numpy(param).tolist(), tfb.to_numpy(buffer).tolist()) == ([0.5], [1.0])  # b′ = 0.5 + 0.5, by hand


# --- the conventions of SGD with momentum -----------------------------------------------------------------

SGD_CONVENTIONS = {
    # first_step_buffer, dampening, nesterov, weight_decay_coupling, float64_momentum, default_learning_rate
    "reference": ("none until", "b = μ·b", "g + μ·b′", "L2, coupled", "float64", "required"),
    "torch": ("none until", "b = μ·b", "g + μ·b′", "L2, coupled", "float64", 0.001),
    "jax": ("zeros", "no dampening", "g + μ·b′", "no weight_decay", "float64", "required"),
    "tensorflow": ("zeros", "no dampening", "g + μ·b′", "decoupled", "rounded to float32", 0.01),
}


@pytest.mark.parametrize("framework", sorted(SGD_CONVENTIONS))
def test_sgd_conventions_are_each_frameworks_documented_api(framework: str) -> None:
    """PyTorch starts the buffer at g, has dampening and L2 decay; optax and Keras start at zeros; Keras decouples."""
    import importlib

    pytest.importorskip({"jax": "optax", "tensorflow": "keras"}.get(framework, "numpy"))
    module = "reference" if framework == "reference" else framework
    probes = importlib.import_module(f"dlterms.conformance.conventions.{module}")
    names = ("first_step_buffer", "dampening", "nesterov_formulation", "weight_decay_coupling", "float64_momentum")
    for name, expected in zip(names, SGD_CONVENTIONS[framework], strict=False):
        assert getattr(probes, f"sgd_{name}")().startswith(expected), (framework, name)
    assert probes.sgd_default_learning_rate() == SGD_CONVENTIONS[framework][-1]


def test_sgd_readers_name_hand_computed_results() -> None:
    """Each reader names the form that gives θ by hand: Nesterov −3.25 new / −3 old, decay 0.4375 L2 / 0.5625 apart."""
    from dlterms.conformance.conventions import reference as cr

    assert cr.nesterov_read([-3.25]).startswith("g + μ·b′") and cr.nesterov_read([-3.0]).startswith("g + μ·b (")
    assert cr.weight_decay_coupling_read([0.4375]).startswith("L2") and cr.weight_decay_coupling_read(None).startswith(
        "no"
    )
    assert cr.weight_decay_coupling_read([0.5625]).startswith("decoupled")
    assert cr.first_step_buffer_read([-1.0], True).startswith("none") and cr.first_step_buffer_read(
        [-0.5], True
    ).startswith("zeros")
    assert cr.float64_momentum_read([-2.9]) == "float64" and cr.float64_momentum_read([-2.9 * (1 + 1e-8)]).startswith(
        "rounded"
    )
    assert cr.dampening_read(None) == "no dampening option" and "τ = 0 " in cr.dampening_read(0.0)
