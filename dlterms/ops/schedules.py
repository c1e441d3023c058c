"""Op records of the learning-rate schedules (beyond the seed, section gradient descent).

A schedule is a function of the step count: each op takes the base rate ``lr`` (a 0-d tensor,
differentiable: the rate is a function of it) and ``step``, an integer tensor of step counts
(t ≥ 0, 0 for the first step), and returns the rate at each step, so one call evaluates the
schedule at many steps. The step count has no gradient; the generated gradient checks differentiate
the rates with respect to ``lr``.
"""

from __future__ import annotations

from .record import VECTOR_LENGTHS, Cases, Op, Special, index, option, relative, tensor

_LR = tensor("lr", annotation="0-d, ≥ 0: the base rate η₀")
_STEP = index("step", annotation="ints ≥ 0, any shape: the step counts t (0 for the first step)")
# float32 and float64: a rate is a hyper-parameter that the optimisers keep in float32 or float64.
_DTYPES = ("float32", "float64")
_SIZES_WHY = "step vectors of every length 2^k − 1, 2^k, 2^k + 1 (steps 0 to 4,096 past the schedule's end)"

OPS = (
    Op(
        "step_lr",
        term="learning-rate-schedule",
        summary="lr·γ^⌊t/step_size⌋ at each step count t (step decay)",
        args=(_LR, _STEP, option("step_size", annotation="int ≥ 1"), option("gamma", 0.1, "float ≥ 0")),
        cases=Cases("invariants.schedules.step_lr_cases"),
        dtypes=_DTYPES,
        accuracy=relative(
            "step_lr",
            "one power and one product per rate; γ rounded to the dtype by u moves γᵏ by k·u (and PyTorch's "
            "recursion multiplies k times), so the bound grows with k = ⌊t/step_size⌋",
        ),
        sizes=Cases(
            "invariants.schedules.schedule_sizes", {"op": "step_lr", "lengths": VECTOR_LENGTHS}, why=_SIZES_WHY
        ),
        special_values=(
            Special(
                "zero_gamma",
                "step_lr with γ = 0 keeps lr before the first multiple of step_size and is 0 from it on",
                "γ⁰ = 1 before the first drop, γᵏ = 0 after",
                {"lr": 1.0, "step": [0, 1, 2, 3], "step_size": 2, "gamma": 0.0},
                value=[1.0, 1.0, 0.0, 0.0],
                kind="choice",
                because="0⁰ = 1 (no drop has happened yet) and 0ᵏ = 0 for k ≥ 1, as PyTorch and Keras give; "
                "optax's exponential_decay reads decay_rate = 0 as a constant schedule (lr at every step)",
            ),
        ),
    ),
    Op(
        "cosine_annealing_lr",
        term="learning-rate-schedule",
        summary="eta_min + (lr − eta_min)·(1 + cos(π·min(t, T)/T))/2 at each step count t (cosine annealing)",
        args=(
            _LR,
            _STEP,
            option("t_max", annotation="int ≥ 1: T, the steps of the annealing"),
            option("eta_min", 0.0, "float ≥ 0: the final rate"),
        ),
        cases=Cases("invariants.schedules.cosine_cases"),
        dtypes=_DTYPES,
        accuracy=relative(
            "cosine_annealing_lr",
            "two terms ≥ 0 and a cosine of π·t/T: its argument's rounding is amplified by π/2·x·|sin πx|, "
            "and PyTorch's recursion adds a few roundings of (η₀ − η_min) per step",
        ),
        sizes=Cases(
            "invariants.schedules.schedule_sizes",
            {"op": "cosine_annealing_lr", "lengths": VECTOR_LENGTHS},
            why=_SIZES_WHY,
        ),
        special_values=(
            Special(
                "after_t_max",
                "cosine_annealing_lr stays at eta_min after T steps",
                "the annealing ends at η_min",
                {"lr": 1.0, "step": [2, 3, 4, 6], "t_max": 2, "eta_min": 0.25},
                value=[0.25, 0.25, 0.25, 0.25],
                kind="choice",
                because="optax's and Keras' schedules clamp t at T; PyTorch's CosineAnnealingLR follows the cosine "
                "back up (period 2T, η₀ again at t = 2T) unless restarted (SGDR restarts at T)",
            ),
        ),
    ),
    Op(
        "linear_warmup_lr",
        term="learning-rate-schedule",
        summary="lr·(s + (1 − s)·min(t, W)/W) at each step count t (linear warm-up from s·lr to lr over W steps)",
        args=(
            _LR,
            _STEP,
            option("warmup_steps", annotation="int ≥ 1: W"),
            option("start_factor", 0.0, "float in [0, 1]: s, the first rate's fraction of lr"),
        ),
        cases=Cases("invariants.schedules.warmup_cases"),
        dtypes=_DTYPES,
        accuracy=relative(
            "linear_warmup_lr",
            "two terms ≥ 0 and a quotient (a few roundings of lr); Keras' (s·lr − lr)(1 − p) + lr and PyTorch's "
            "recursion (a ratio per step) add roundings of lr and of t products",
        ),
        sizes=Cases(
            "invariants.schedules.schedule_sizes", {"op": "linear_warmup_lr", "lengths": VECTOR_LENGTHS}, why=_SIZES_WHY
        ),
        special_values=(
            Special(
                "reaches_lr_at_warmup_steps",
                "linear_warmup_lr rises from start_factor·lr to lr at t = W and stays there",
                "a straight line from s·lr at t = 0 to lr at t = W, then lr",
                {"lr": 2.0, "step": [0, 2, 4, 9], "warmup_steps": 4, "start_factor": 0.25},
                value=[0.5, 1.25, 2.0, 2.0],
                because="s + (1 − s)·min(t, W)/W is 1/4 at t = 0, 5/8 at t = W/2 and 1 from t = W on",
            ),
        ),
    ),
)
