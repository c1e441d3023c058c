"""Invariants of the learning-rate schedules: step decay, cosine annealing and linear warm-up.

A backend's schedule op takes the base rate ``lr`` (0-d) and a tensor of step counts and returns
the rate at each. Besides the generated comparisons with the reference (and the gradient with
respect to ``lr``), each schedule is held to the shape its definition gives it, checked on every
step from 0 to past the schedule's end in one call: step decay is constant between the multiples
of ``step_size`` and drops by exactly γ at each (PyTorch's ``StepLR``); cosine annealing starts
at η₀, reaches η_min at T and stays there, never increases on [0, T] and is point-symmetric about
(T/2, (η₀ + η_min)/2), since (1 + cos πx)/2 + (1 + cos π(1 − x))/2 = 1 (Loshchilov and Hutter
2017, eq. 5); linear warm-up starts at s·η₀, rises by the same amount (1 − s)·η₀/W at every step
and reaches η₀ at W (Goyal et al. 2017, §2.2).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from hypothesis import strategies as st

from dlterms import ops as op_records
from dlterms import reference

from .. import tolerances
from ..backends import Backend
from ..checks import as_float64, assert_close
from ..registry import invariant, register_ops
from ..sensitivities import sensitivity
from ..strategies import representable, reused, shapes

# Base rates: powers of two (exact in every dtype) and the usual decimal ones (rounded to the dtype).
_RATES = (1.0, 0.1, 2.0**-7, 0.5, 3e-4)
_STEP_SIZES = (1, 2, 3, 5, 10, 30)
_GAMMAS = (0.1, 0.5, 0.9, 0.95, 0.25, 1.0)
_T_MAX = (1, 2, 3, 10, 50, 100)
_ETA_MIN_FRACTIONS = (0.0, 0.01, 0.1, 0.5, 1.0)
_WARMUP = (1, 2, 3, 5, 10, 100)
_START_FACTORS = (0.0, 0.1, 0.25, 0.5, 1.0)


@reused
def _rate(dtype: str) -> st.SearchStrategy[float]:
    return st.sampled_from(_RATES).map(lambda r: float(representable(np.array(r), dtype)))


def _step_tensor(last: int) -> st.SearchStrategy[Any]:
    """Tensors (nested lists, an int when 0-d) of step counts in [0, last]."""
    ints = st.integers(0, last)

    def build(shape: tuple[int, ...]) -> Any:
        n = int(np.prod(shape))
        return st.lists(ints, min_size=n, max_size=n).map(
            lambda v: np.asarray(v, dtype=np.int64).reshape(shape).tolist()
        )

    return shapes().flatmap(build)


def step_lr_cases(dtype: str) -> st.SearchStrategy[dict[str, Any]]:
    """``step_lr`` calls: steps 0 to 200 (up to 200 drops), step sizes 1 to 30, γ from 0.1 to 1."""
    return st.fixed_dictionaries(
        {
            "lr": _rate(dtype),
            "step": _step_tensor(200),
            "step_size": st.sampled_from(_STEP_SIZES),
            "gamma": st.sampled_from(_GAMMAS),
        }
    )


@st.composite
def cosine_cases(draw: Any, dtype: str) -> dict[str, Any]:
    """``cosine_annealing_lr`` calls: T from 1 to 100, steps 0 to 3T, η_min a fraction 0 to 1 of lr."""
    lr = draw(_rate(dtype))
    t_max = draw(st.sampled_from(_T_MAX))
    eta_min = float(representable(np.array(lr * draw(st.sampled_from(_ETA_MIN_FRACTIONS))), dtype))
    return {"lr": lr, "step": draw(_step_tensor(3 * t_max)), "t_max": t_max, "eta_min": min(eta_min, lr)}


@st.composite
def warmup_cases(draw: Any, dtype: str) -> dict[str, Any]:
    """``linear_warmup_lr`` calls: W from 1 to 100, steps 0 to 2W + 5, a start factor from 0 to 1."""
    w = draw(st.sampled_from(_WARMUP))
    return {
        "lr": draw(_rate(dtype)),
        "step": draw(_step_tensor(2 * w + 5)),
        "warmup_steps": w,
        "start_factor": draw(st.sampled_from(_START_FACTORS)),
    }


_SIZE_OPTIONS: dict[str, Any] = {
    "step_lr": lambda n: {"step_size": max(1, n // 64), "gamma": 0.5},
    "cosine_annealing_lr": lambda n: {"t_max": max(1, n // 2), "eta_min": 2.0**-10},
    "linear_warmup_lr": lambda n: {"warmup_steps": max(1, n // 2), "start_factor": 0.0},
}


def schedule_sizes(
    dtype: str, rng: np.random.Generator, *, op: str, lengths: tuple[int, ...]
) -> Iterator[dict[str, Any]]:
    """``op`` at every step 0 to n − 1 (shuffled), for each length n: the schedule's whole course and past its end."""
    for n in lengths:
        steps = rng.permutation(n).tolist()
        yield {
            "lr": 0.1 if dtype == "float64" else float(representable(np.array(0.1), dtype)),
            "step": steps,
            **_SIZE_OPTIONS[op](n),
        }


register_ops(op_records.schedules.OPS)


def _rates(bk: Backend, op: str, dtype: str, lr: float, steps: list[int], **options: Any) -> np.ndarray:
    """The backend's rates of ``op`` at ``steps``, as float64."""
    return as_float64(bk, getattr(bk, op)(lr=bk.asarray(lr, dtype), step=bk.asarray(steps, "int64"), **options))


def _bound(op: str, dtype: str, case: dict[str, Any]) -> tuple[tolerances.Relative, np.ndarray]:
    """The relative bound of ``op`` in ``dtype`` and its sensitivity at ``case`` (the record's own)."""
    expected = np.asarray(getattr(reference, op)(**case), dtype=np.float64)
    return tolerances.relative(dtype, op), sensitivity(op, case, [expected])[0]


# --- step decay -----------------------------------------------------------------------------------


def _step_courses(dtype: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "lr": _rate(dtype),
            "step_size": st.sampled_from(_STEP_SIZES),
            "gamma": st.sampled_from(tuple(g for g in _GAMMAS if g != 1.0)),
            "drops": st.integers(1, 6),
        }
    )


@invariant(
    "step_lr.drops_by_gamma_exactly_at_multiples_of_step_size",
    term="learning-rate-schedule",
    statement="Step decay is constant between multiples of step_size and is multiplied by γ at each multiple: "
    "rate(t + 1) = γ·rate(t) where t + 1 is a multiple of step_size, rate(t + 1) = rate(t) elsewhere.",
    cases=_step_courses,
    dtypes=("float32", "float64"),
)
def step_lr_drops(bk: Backend, dtype: str, lr: float, step_size: int, gamma: float, drops: int) -> None:
    steps = list(range(drops * step_size + step_size))
    case = {"lr": lr, "step": steps, "step_size": step_size, "gamma": gamma}
    got = _rates(bk, "step_lr", dtype, lr, steps, step_size=step_size, gamma=gamma)
    tol, scale = _bound("step_lr", dtype, case)
    at_multiple = np.array([(t + 1) % step_size == 0 for t in steps[:-1]])
    ratio = np.where(at_multiple, gamma, 1.0)
    # got[t + 1] against ratio·got[t]: each within the bound of its exact value, which differ by that ratio.
    assert_close(
        got[1:], ratio * got[:-1], tol, "step_lr at t + 1 against γ (or 1) times its rate at t", scale=2.0 * scale[1:]
    )


@invariant(
    "step_lr.first_block_is_lr",
    term="learning-rate-schedule",
    statement="Step decay keeps the base rate lr for the first step_size steps, t = 0 to step_size − 1 (the first "
    "step is t = 0), and drops at t = step_size.",
    cases=_step_courses,
    dtypes=("float32", "float64"),
)
def step_lr_first_block(bk: Backend, dtype: str, lr: float, step_size: int, gamma: float, drops: int) -> None:
    steps = list(range(step_size + 1))
    got = _rates(bk, "step_lr", dtype, lr, steps, step_size=step_size, gamma=gamma)
    expected = np.array([lr] * step_size + [lr * gamma])  # by the definition, at the block's edge
    case = {"lr": lr, "step": steps, "step_size": step_size, "gamma": gamma}
    tol, scale = _bound("step_lr", dtype, case)
    assert_close(got, expected, tol, "step_lr on the first block and the first drop", scale=scale)


# --- cosine annealing -----------------------------------------------------------------------------


@st.composite
def _cosine_courses(draw: Any, dtype: str) -> dict[str, Any]:
    lr = draw(_rate(dtype))
    eta_min = float(representable(np.array(lr * draw(st.sampled_from(_ETA_MIN_FRACTIONS[:-1]))), dtype))
    return {"lr": lr, "t_max": draw(st.sampled_from(_T_MAX)), "eta_min": min(eta_min, lr)}


@invariant(
    "cosine_annealing_lr.starts_at_lr_and_ends_at_eta_min",
    term="learning-rate-schedule",
    statement="Cosine annealing gives lr at t = 0 and eta_min at t = T and at every step after it (T, T + 1, 2T, 3T).",
    cases=_cosine_courses,
    dtypes=("float32", "float64"),
)
def cosine_endpoints(bk: Backend, dtype: str, lr: float, t_max: int, eta_min: float) -> None:
    steps = [0, t_max, t_max + 1, 2 * t_max, 3 * t_max]
    got = _rates(bk, "cosine_annealing_lr", dtype, lr, steps, t_max=t_max, eta_min=eta_min)
    expected = np.array([lr] + [eta_min] * 4)  # by the definition: cos 0 = 1, cos π = −1
    case = {"lr": lr, "step": steps, "t_max": t_max, "eta_min": eta_min}
    tol, scale = _bound("cosine_annealing_lr", dtype, case)
    assert_close(got, expected, tol, "cosine_annealing_lr at t = 0, T, T + 1, 2T, 3T", scale=scale)


@invariant(
    "cosine_annealing_lr.non_increasing_and_point_symmetric",
    term="learning-rate-schedule",
    statement="On t = 0 … T cosine annealing never increases, and rate(t) + rate(T − t) = lr + eta_min "
    "(the half cosine is point-symmetric about (T/2, (lr + eta_min)/2)).",
    cases=_cosine_courses,
    dtypes=("float32", "float64"),
)
def cosine_shape(bk: Backend, dtype: str, lr: float, t_max: int, eta_min: float) -> None:
    steps = list(range(t_max + 1))
    got = _rates(bk, "cosine_annealing_lr", dtype, lr, steps, t_max=t_max, eta_min=eta_min)
    case = {"lr": lr, "step": steps, "t_max": t_max, "eta_min": eta_min}
    tol, scale = _bound("cosine_annealing_lr", dtype, case)
    # Non-increasing up to the bound: each rate at most the one before it plus both elements' allowed errors.
    slack = tol.allowed(got[:-1], scale[:-1]) + tol.allowed(got[1:], scale[1:])
    assert_close(
        np.maximum(got[1:] - got[:-1], 0.0), np.zeros(t_max), tol, "cosine_annealing_lr's increase", extra=slack
    )
    total = np.full(t_max + 1, lr + eta_min)
    assert_close(
        got + got[::-1], total, tol, "cosine_annealing_lr at t plus at T − t", scale=scale + scale[::-1], extra=0.0
    )


# --- linear warm-up -------------------------------------------------------------------------------


def _warmup_courses(dtype: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "lr": _rate(dtype),
            "warmup_steps": st.sampled_from(_WARMUP),
            "start_factor": st.sampled_from(_START_FACTORS),
        }
    )


@invariant(
    "linear_warmup_lr.starts_at_start_factor_and_reaches_lr",
    term="learning-rate-schedule",
    statement="Linear warm-up gives start_factor·lr at t = 0, lr at t = W and lr at every step after it.",
    cases=_warmup_courses,
    dtypes=("float32", "float64"),
)
def warmup_endpoints(bk: Backend, dtype: str, lr: float, warmup_steps: int, start_factor: float) -> None:
    w = warmup_steps
    steps = [0, w, w + 1, 2 * w + 5]
    got = _rates(bk, "linear_warmup_lr", dtype, lr, steps, warmup_steps=w, start_factor=start_factor)
    expected = np.array([start_factor * lr, lr, lr, lr])  # by the definition
    case = {"lr": lr, "step": steps, "warmup_steps": w, "start_factor": start_factor}
    tol, scale = _bound("linear_warmup_lr", dtype, case)
    assert_close(got, expected, tol, "linear_warmup_lr at t = 0, W, W + 1, 2W + 5", scale=scale)


@invariant(
    "linear_warmup_lr.rises_by_equal_steps",
    term="learning-rate-schedule",
    statement="During linear warm-up the rate rises by the same amount (1 − start_factor)·lr/W at every step "
    "t → t + 1 for t < W: it is a straight line.",
    cases=_warmup_courses,
    dtypes=("float32", "float64"),
)
def warmup_is_linear(bk: Backend, dtype: str, lr: float, warmup_steps: int, start_factor: float) -> None:
    w = warmup_steps
    steps = list(range(w + 1))
    got = _rates(bk, "linear_warmup_lr", dtype, lr, steps, warmup_steps=w, start_factor=start_factor)
    case = {"lr": lr, "step": steps, "warmup_steps": w, "start_factor": start_factor}
    tol, scale = _bound("linear_warmup_lr", dtype, case)
    rise = np.full(w, (1.0 - start_factor) * lr / w)
    slack = tol.allowed(got[:-1], scale[:-1]) + tol.allowed(got[1:], scale[1:])
    assert_close(got[1:] - got[:-1], rise, tol, "linear_warmup_lr's rise per step", extra=slack)
