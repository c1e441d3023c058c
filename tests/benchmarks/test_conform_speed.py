"""benchmarks/conform_speed.py: the reference share is measured on the default run's checks."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType


def test_reference_share_runs_the_default_runs_checks(load_script: Callable[[str], ModuleType]) -> None:
    """The timed run has the checks of ``dlterms conform`` (no size tier), and times some of them in the reference."""
    from dlterms.conformance.runner import plan
    from dlterms.conformance.settings import DEFAULT_TIERS

    speed = load_script("conform_speed")
    share = speed.reference_share("reference", terms=["relu"])
    default_run = plan(["relu"], tiers=DEFAULT_TIERS)
    assert len(plan(["relu"])) > len(default_run)  # relu has size-tier checks that a default run leaves out
    assert share["checks"] == len(default_run)
    assert 0 < share["reference_s"] <= share["total_s"]
    assert 0 < share["reference_share"] <= 1
