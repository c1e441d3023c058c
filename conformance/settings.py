"""The settings of a conformance run and their defaults, declared once.

The CLI (``dlterms conform``), the ``--jobs`` workers, the pytest plugin and
:func:`~dlterms.conformance.runner.run` all read their defaults from here.
Standard library only, so the CLI's help and the pytest plugin's options cost
no import of numpy or Hypothesis.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DEEP_MAX_EXAMPLES",
    "DEFAULT_DTYPES",
    "DEFAULT_ISOLATION",
    "DEFAULT_MAX_EXAMPLES",
    "DEFAULT_SEED",
    "DEFAULT_TIMEOUT_S",
    "ISOLATION_MODES",
    "MAX_SHRINK_STEPS",
    "RunSettings",
]

DEFAULT_DTYPES: tuple[str, ...] = ("float32", "float64")
DEFAULT_MAX_EXAMPLES = 25
DEEP_MAX_EXAMPLES = 500  # a nightly run: ``dlterms conform --deep``
DEFAULT_SEED = 0  # every run is seeded: the same seed gives the same cases and verdicts
DEFAULT_TIMEOUT_S = 60.0
# Successful shrinking steps per failing check (Hypothesis' own default is 500): a failure whose
# case shrinks badly (a large array where one element matters) costs seconds, not minutes, and a
# count of steps keeps the counterexample the same on every run, unlike a time limit.
MAX_SHRINK_STEPS = 50
# Where checks run (see conformance/isolation.py): "auto" picks forked workers, or spawned ones for
# frameworks that cannot be forked; "off" runs them in the calling process, where a crash ends the run.
ISOLATION_MODES: tuple[str, ...] = ("auto", "fork", "spawn", "off")
DEFAULT_ISOLATION = "auto"


@dataclass(frozen=True)
class RunSettings:
    """How each check is run: Hypothesis examples per check, its seed, and the time limit per check.

    ``timeout_s`` None (or 0) means no time limit.
    """

    max_examples: int = DEFAULT_MAX_EXAMPLES
    seed: int = DEFAULT_SEED
    timeout_s: float | None = DEFAULT_TIMEOUT_S

    def __post_init__(self) -> None:
        if not isinstance(self.max_examples, int) or self.max_examples < 1:
            raise ValueError(f"RunSettings: max_examples={self.max_examples!r}; expected a positive integer")
        if self.timeout_s is not None and self.timeout_s < 0:
            raise ValueError(f"RunSettings: timeout_s={self.timeout_s!r}; expected seconds >= 0, or None")
