"""Learning-rate schedules: the adapters pass, deliberately broken ones are caught (each hand-written invariant
by one), PyTorch's recursive schedulers measured against the closed forms, conventions measured."""

from __future__ import annotations

import pytest
import torch
from dlterms.conformance import conventions as cv
from dlterms.conformance.backends import torch as torch_backend

from dlterms import reference as ref


def _step_lr_late_drops(lr, step, step_size, gamma=0.1):  # type: ignore[no-untyped-def]
    # k² drops instead of k: the first block and the first drop are right, every later drop is too deep
    return lr * gamma ** ((step // step_size) ** 2).to(lr.dtype)


def _step_lr_counts_from_one(lr, step, step_size, gamma=0.1):  # type: ignore[no-untyped-def]
    # t + 1 for t: every drop comes one step early
    return lr * gamma ** ((step + 1) // step_size).to(lr.dtype)


def _cosine_t_off_by_one(lr, step, t_max, eta_min=0.0):  # type: ignore[no-untyped-def]
    return torch_backend.cosine_annealing_lr(lr, step, t_max + 1, eta_min)  # T + 1 steps: not at η_min at T


def _cosine_rises_after_t_max(lr, step, t_max, eta_min=0.0):  # type: ignore[no-untyped-def]
    # torch's CosineAnnealingLR read without the clamp at T: the cosine rises again after T
    x = step.to(lr.dtype) / t_max
    return eta_min + (lr - eta_min) * (1 + torch.cos(torch.pi * x)) / 2


def _cosine_quadratic(lr, step, t_max, eta_min=0.0):  # type: ignore[no-untyped-def]
    # (1 − t/T)²: right at 0 and T, non-increasing, but not the point-symmetric half cosine
    x = torch.clamp(step, max=t_max).to(lr.dtype) / t_max
    return eta_min + (lr - eta_min) * (1 - x) ** 2


def _warmup_counts_from_one(lr, step, warmup_steps, start_factor=0.0):  # type: ignore[no-untyped-def]
    x = torch.clamp(step + 1, max=warmup_steps).to(lr.dtype) / warmup_steps
    return lr * (start_factor + (1 - start_factor) * x)


def _warmup_quadratic(lr, step, warmup_steps, start_factor=0.0):  # type: ignore[no-untyped-def]
    x = torch.clamp(step, max=warmup_steps).to(lr.dtype) / warmup_steps
    return lr * (start_factor + (1 - start_factor) * x**2)


@pytest.mark.parametrize(
    ("op", "impl", "expected"),
    [
        ("step_lr", _step_lr_late_drops, "step_lr.drops_by_gamma_exactly_at_multiples_of_step_size"),
        ("step_lr", _step_lr_counts_from_one, "step_lr.first_block_is_lr"),
        ("cosine_annealing_lr", _cosine_t_off_by_one, "cosine_annealing_lr.starts_at_lr_and_ends_at_eta_min"),
        ("cosine_annealing_lr", _cosine_rises_after_t_max, "cosine_annealing_lr.starts_at_lr_and_ends_at_eta_min"),
        ("cosine_annealing_lr", _cosine_quadratic, "cosine_annealing_lr.non_increasing_and_point_symmetric"),
        ("linear_warmup_lr", _warmup_counts_from_one, "linear_warmup_lr.starts_at_start_factor_and_reaches_lr"),
        ("linear_warmup_lr", _warmup_quadratic, "linear_warmup_lr.rises_by_equal_steps"),
    ],
)
def test_broken_schedule_exits_1_naming_the_invariant(conform, broken_backend, op: str, impl, expected: str) -> None:
    """A deliberately broken schedule makes `dlterms conform` exit 1, naming the violated invariant."""
    spec = broken_backend("torch", **{op: impl})
    run = conform(spec, "--terms", "learning-rate-schedule", "--dtype", "float64", "--max-examples", "10")
    assert run.code == 1
    assert expected in run.failed_invariants()


def test_the_quadratic_cosine_passes_the_endpoint_check(conform, broken_backend) -> None:
    """(1 − t/T)² has the right ends, so only the shape invariant (symmetry) catches it, not the endpoints."""
    run = conform(
        broken_backend("torch", cosine_annealing_lr=_cosine_quadratic),
        "--terms",
        "learning-rate-schedule",
        "--dtype",
        "float64",
        "--max-examples",
        "10",
    )
    assert "cosine_annealing_lr.starts_at_lr_and_ends_at_eta_min" not in run.failed_invariants()


@pytest.mark.parametrize("backend", ["reference", "numpy", "torch"])
def test_schedules_pass_on_the_reference_numpy_and_torch(conform, backend: str) -> None:
    """The three schedules pass every invariant they can run on the reference, NumPy and PyTorch."""
    run = conform(backend, "--terms", "learning-rate-schedule", "--max-examples", "10")
    assert run.code == 0, run.failed_invariants()


def _torch_course(scheduler, steps: int) -> list[float]:  # type: ignore[no-untyped-def]
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    s = scheduler(optimizer)
    rates = [optimizer.param_groups[0]["lr"]]
    for _ in range(steps):
        optimizer.step()
        s.step()
        rates.append(optimizer.param_groups[0]["lr"])
    return rates


def test_torch_recursive_cosine_is_exact_in_absolute_terms_but_not_relative_near_t_max() -> None:
    """CosineAnnealingLR's chainable form (rate_t from rate_{t−1}) stays within 4 u of η₀ of the closed form
    over T = 1000 steps, but relative to the small rates near T it is off by more than 10⁴ u (measured)."""
    t_max = 1000
    got = _torch_course(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, t_max), t_max)
    exact = ref.cosine_annealing_lr(1.0, list(range(t_max + 1)), t_max=t_max)
    u = 2.0**-53
    assert max(abs(a - b) for a, b in zip(got, exact, strict=True)) <= 4 * u
    assert max(abs(a - b) / b for a, b in zip(got, exact, strict=True) if b > 0) > 1e4 * u


def test_torch_cosine_annealing_rises_again_after_t_max() -> None:
    """PyTorch's CosineAnnealingLR(T_max=4) is back at the base rate 1 at t = 2T = 8: the cosine's period is 2T."""
    got = _torch_course(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 4), 8)
    assert got[4] == pytest.approx(0.0, abs=1e-15) and got[8] == pytest.approx(1.0, rel=1e-12)


def test_torch_linear_lr_refuses_a_zero_start_factor() -> None:
    """LinearLR refuses start_factor = 0 (a warm-up from zero), so the adapter sets such a case aside."""
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    with pytest.raises(ValueError, match="Starting multiplicative factor expected to be greater than 0"):
        torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.0)


def test_optax_exponential_decay_reads_a_zero_rate_as_no_decay() -> None:
    """optax.exponential_decay(decay_rate=0) is a constant schedule (lr at every step), where 0ᵏ = 0 for k ≥ 1."""
    optax = pytest.importorskip("optax")
    schedule = optax.exponential_decay(1.0, transition_steps=2, decay_rate=0.0, staircase=True)
    assert float(schedule(4)) == 1.0
    assert ref.step_lr(1.0, [4], step_size=2, gamma=0.0) == [0.0]


def _rows(framework: str) -> dict[str, object]:
    prefixes = ("step_lr.", "cosine_annealing_lr.", "linear_warmup_lr.", "lr_schedule.")
    return {r["id"]: r["value"] for r in cv.measure(framework) if r["id"].startswith(prefixes)}


def test_the_schedule_conventions_of_the_reference_and_torch() -> None:
    """Canonical: γ 0.1, η_min 0, start factor 0, first step t = 0, η_min after T; PyTorch: its LinearLR's 1/3
    and a cosine that is back at η₀ at 2T."""
    assert _rows("reference") == {
        "step_lr.default_gamma": 0.1,
        "cosine_annealing_lr.default_eta_min": 0.0,
        "cosine_annealing_lr.after_t_max": 0.0,
        "linear_warmup_lr.default_start_factor": 0.0,
        "lr_schedule.first_step_count": 0,
        "lr_schedule.float64_hyperparameters": "float64",
    }
    assert _rows("torch") == {
        "step_lr.default_gamma": 0.1,
        "cosine_annealing_lr.default_eta_min": 0.0,
        "cosine_annealing_lr.after_t_max": 1.0,
        "linear_warmup_lr.default_start_factor": 0.333333,
        "lr_schedule.first_step_count": 0,
        "lr_schedule.float64_hyperparameters": "float64",
    }


def test_the_schedule_conventions_of_optax_and_keras() -> None:
    """optax and Keras stay at η_min after T; Keras rounds a float64 schedule's γ to float32."""
    pytest.importorskip("optax")
    pytest.importorskip("tensorflow")
    jax_rows, tf_rows = _rows("jax"), _rows("tensorflow")
    assert jax_rows["cosine_annealing_lr.after_t_max"] == 0.0 and tf_rows["cosine_annealing_lr.after_t_max"] == 0.0
    assert jax_rows["lr_schedule.first_step_count"] == 0 and tf_rows["lr_schedule.first_step_count"] == 0
    assert tf_rows["lr_schedule.float64_hyperparameters"] == "float32"


@pytest.mark.parametrize(
    ("op", "options", "scheduler"),
    [
        ("step_lr", {"step_size": 7, "gamma": 0.5}, lambda o: torch.optim.lr_scheduler.StepLR(o, 7, gamma=0.5)),
        ("cosine_annealing_lr", {"t_max": 50}, lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 50)),
        (
            "linear_warmup_lr",
            {"warmup_steps": 20, "start_factor": 0.1},
            lambda o: torch.optim.lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=20),
        ),
    ],
)
def test_torch_adapter_schedules_equal_a_training_loop_that_steps_the_optimizer_every_time(
    op: str, options: dict, scheduler
) -> None:  # type: ignore[no-untyped-def]
    """The torch adapter steps the optimizer once, before the first scheduler step; the rates it reads are
    those of a loop calling ``optimizer.step()`` before every ``scheduler.step()``, exactly, over 300 steps."""
    steps = list(range(301))
    lr = torch.tensor(1.0, dtype=torch.float64)
    got = getattr(torch_backend, op)(lr=lr, step=torch.tensor(steps), **options)
    expected = _torch_course(scheduler, 300)
    if op == "cosine_annealing_lr":  # the adapter reads the canonical schedule at min(t, T): see its comment
        expected = [expected[min(t, 50)] for t in steps]
    assert got.tolist() == expected
