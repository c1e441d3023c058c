"""The settings of a conformance run and their defaults, declared once.

The CLI (``dlterms conform``), the ``--jobs`` workers, the pytest plugin and
:func:`~dlterms.conformance.runner.run` all read their defaults from here.
Standard library only, so the CLI's help and the pytest plugin's options cost
no import of numpy or Hypothesis.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

__all__ = [
    "ALL_DTYPES",
    "CHECKS_PER_WORKER",
    "DEEP_MAX_EXAMPLES",
    "DEFAULT_DTYPES",
    "DEFAULT_ISOLATION",
    "DEFAULT_JOBS",
    "DEFAULT_MATH_MODE",
    "DEFAULT_MAX_EXAMPLES",
    "DEFAULT_SEED",
    "DEFAULT_TIERS",
    "DEFAULT_TIMEOUT_S",
    "ISOLATION_MODES",
    "MAPPINGS_SHARE",
    "MATH_MODE_NAMES",
    "MAX_SHRINK_STEPS",
    "SIZES_TIMEOUT_S",
    "TIERS",
    "RunSettings",
    "expand_dtypes",
    "usable_cores",
]

DEFAULT_DTYPES: tuple[str, ...] = ("float32", "float64")
# ``--dtype all``: float16 and bfloat16 too. Not the default: they double a run's time (torch
# 29 s → 57 s, JAX 2.3 → 6 min on 2 cores), and most CI runs want the float32/float64 verdict.
ALL_DTYPES: tuple[str, ...] = ("float16", "bfloat16", "float32", "float64")
DEFAULT_MAX_EXAMPLES = 25
DEEP_MAX_EXAMPLES = 500  # a nightly run: ``dlterms conform --deep``
# The tiers of checks: "default" in every run, "sizes" (realistic shapes, a nightly run's) with
# ``--sizes``. A size-tier check covers all its shapes in one example, so it gets a longer time
# limit: the reference alone takes about 40 s for a mean of 10⁷ squares.
TIERS: tuple[str, ...] = ("default", "sizes")
DEFAULT_TIERS: tuple[str, ...] = ("default",)
SIZES_TIMEOUT_S = 600.0
DEFAULT_SEED = 0  # every run is seeded: the same seed gives the same cases and verdicts
DEFAULT_TIMEOUT_S = 60.0
# Successful shrinking steps per failing check (Hypothesis' own default is 500): a failure whose
# case shrinks badly (a large array where one element matters) costs seconds, not minutes, and a
# count of steps keeps the counterexample the same on every run, unlike a time limit.
MAX_SHRINK_STEPS = 50
# A worker process makes way for a fresh one once its memory mappings pass this share of the kernel's
# limit (vm.max_map_count, 65,530 by default; see conformance/memory_maps.py). Each compiled program of
# XLA:CPU (JAX) keeps its own mappings: a seed-0 JAX run of 814 checks in one worker died at check 812
# ("LLVM compilation error: Cannot allocate memory", then SIGSEGV). Half leaves room for the checks
# between two counts. A fresh worker costs a fork, or one framework import when spawned.
MAPPINGS_SHARE = 0.5
# A worker of a framework in isolation.RECYCLED (JAX) is also replaced after this many checks, which bounds it
# where its mappings cannot be counted (no /proc). It was for speed too, until the JAX adapter released the MLIR
# modules JAX kept (backends/jax.py, release_lowerings); since, whole runs take as long with it as without it
# (docs/decisions.md, "A worker's life").
CHECKS_PER_WORKER = 200
# Where checks run (see conformance/isolation.py): "auto" picks forked workers, or spawned ones for
# frameworks that cannot be forked; "off" runs them in the calling process, where a crash ends the run.
ISOLATION_MODES: tuple[str, ...] = ("auto", "fork", "spawn", "off")
DEFAULT_ISOLATION = "auto"
# Worker processes at once (``--jobs``): "auto" is one per CPU core this process may use (usable_cores), or 1
# where checks cannot run in workers (``--isolation off``) or run on an accelerator (each worker would hold the
# device's memory: JAX takes most of a GPU's per process). A check is seeded by itself, so the verdicts and their
# order do not depend on the number (docs/decisions.md, "Workers by default").
DEFAULT_JOBS = "auto"
# How float32 checks of matmul, convolution and RNN kernels are judged (``--math-mode``): "strict"
# by float32's tolerances, or by a reduced-precision math mode's (conformance/tolerances.py
# MATH_MODES declares each mode, its precision and its source; a test ties the names).
MATH_MODE_NAMES: tuple[str, ...] = ("strict", "tf32")
DEFAULT_MATH_MODE = "strict"


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity mask where the system has one), at least 1."""
    affinity = getattr(os, "sched_getaffinity", None)
    return max(1, len(affinity(0)) if affinity else os.cpu_count() or 1)


def expand_dtypes(names: tuple[str, ...] | list[str]) -> list[str]:
    """``--dtype`` names with ``all`` replaced by :data:`ALL_DTYPES` (each dtype once, in order)."""
    out: list[str] = []
    for name in names:
        for d in ALL_DTYPES if name == "all" else (name,):
            if d not in out:
                out.append(d)
    return out


@dataclass(frozen=True)
class RunSettings:
    """How each check is run: Hypothesis examples per check, its seed, the time limit per check, the math mode.

    ``timeout_s`` None (or 0) means no time limit. ``math_mode`` (one of
    :data:`MATH_MODE_NAMES`) judges the float32 checks of the kernels a mode affects.
    """

    max_examples: int = DEFAULT_MAX_EXAMPLES
    seed: int = DEFAULT_SEED
    timeout_s: float | None = DEFAULT_TIMEOUT_S
    math_mode: str = DEFAULT_MATH_MODE

    def __post_init__(self) -> None:
        if not isinstance(self.max_examples, int) or self.max_examples < 1:
            raise ValueError(f"RunSettings: max_examples={self.max_examples!r}; expected a positive integer")
        if self.timeout_s is not None and self.timeout_s < 0:
            raise ValueError(f"RunSettings: timeout_s={self.timeout_s!r}; expected seconds >= 0, or None")
        if self.math_mode not in MATH_MODE_NAMES:
            raise ValueError(f"RunSettings: math_mode={self.math_mode!r}; expected one of {', '.join(MATH_MODE_NAMES)}")
