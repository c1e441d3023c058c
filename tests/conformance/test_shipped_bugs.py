"""Real wrong-result bugs, replayed as broken torch ops, are caught by the run of their tier.

The catalogue is tests/conformance/shipped_bugs.py (one record per bug report, with its
replay). A bug the run of its tier misses today is a strict xfail whose reason names the
inputs the strategies do not draw: that list is the checklist of the edge strategies, and
a mark comes off when its bug starts being caught (a strict xfail that passes fails).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the catalogue lives beside this file
import shipped_bugs as sb
from dlterms.conformance.backends import torch as correct

PAGE = Path(__file__).resolve().parents[2] / "docs" / "findings" / "shipped-bugs.md"


def _param(bug: sb.ShippedBug) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=f"not drawn: {bug.not_drawn}")] if bug.not_drawn else []
    return pytest.param(bug, id=bug.name, marks=marks)


def _ids(bugs: tuple[sb.ShippedBug, ...] | list[sb.ShippedBug]) -> list[str]:
    return [b.name for b in bugs]


@pytest.mark.parametrize("bug", sb.BUGS, ids=_ids(sb.BUGS))
def test_replay_equals_torch_on_its_tame_case(bug: sb.ShippedBug) -> None:
    """On an ordinary input the replay returns torch's outputs and gradients bit for bit."""
    assert sb.same(
        sb.evaluate(bug.replay, bug, bug.tame_case), sb.evaluate(getattr(correct, bug.op), bug, bug.tame_case)
    )


@pytest.mark.parametrize("bug", sb.BUGS, ids=_ids(sb.BUGS))
def test_replay_differs_from_torch_on_its_trigger_case(bug: sb.ShippedBug) -> None:
    """Where the real bug showed, the replay's outputs or gradients are not torch's."""
    replayed = sb.evaluate(bug.replay, bug, bug.trigger_case)
    assert not sb.same(replayed, sb.evaluate(getattr(correct, bug.op), bug, bug.trigger_case))


@pytest.mark.parametrize("bug", [_param(b) for b in sb.BUGS if b.tier == "default"])
def test_default_run_catches_the_replayed_bug(
    bug: sb.ShippedBug, conform: Callable[..., Any], broken_backend: Callable[..., str]
) -> None:
    """``dlterms conform`` on the op's term and the bug's dtype fails an invariant of that op."""
    run = conform(broken_backend("torch", **{bug.op: bug.replay}), "--terms", bug.term, "--dtype", bug.dtype, "-q")
    assert run.code != 0 and sb.caught_by(bug, run.rows()), (run.code, sorted(run.failed_invariants()))


@pytest.mark.nightly
@pytest.mark.parametrize("bug", [_param(b) for b in sb.BUGS if b.tier == "sizes"])
def test_size_tier_catches_the_replayed_bug(
    bug: sb.ShippedBug, conform: Callable[..., Any], broken_backend: Callable[..., str]
) -> None:
    """``dlterms conform --sizes`` fails ``<op>.matches_reference_at_sizes`` (run alone, with ``--repro``).

    A nightly test, as the size tier is a nightly run's: its checks over 2²¹ rows and 10⁷
    elements take a minute or more each (tests/conformance/test_sizes.py checks the tier's
    mechanism in every run).
    """
    check = f"{bug.op}.matches_reference_at_sizes[{bug.dtype}]"
    run = conform(broken_backend("torch", **{bug.op: bug.replay}), "--sizes", "--repro", check, "-q")
    assert run.code != 0 and sb.caught_by(bug, run.rows()), (run.code, [(r["id"], r["message"]) for r in run.rows()])


def test_every_catalogue_url_is_on_the_findings_page_and_every_page_link_is_in_the_catalogue() -> None:
    """docs/findings/shipped-bugs.md links exactly the catalogue's bug reports."""
    page_links = set(re.findall(r"\((https://github\.com/[^)\s]+)\)", PAGE.read_text(encoding="utf-8")))
    assert page_links == {b.url for b in sb.BUGS}


def test_catalogue_names_and_urls_are_unique_and_every_tier_has_bugs() -> None:
    """One record per bug report: no name or URL twice, and both tiers are represented."""
    assert len({b.name for b in sb.BUGS}) == len(sb.BUGS)
    assert len({b.url for b in sb.BUGS}) == len(sb.BUGS)
    assert {b.tier for b in sb.BUGS} == set(sb.TIERS)


def test_a_record_with_an_unknown_op_is_refused_with_its_name() -> None:
    """A typo in a record's op is an error naming the record, the value and the ops expected."""
    bug = sb.BUGS[0]
    with pytest.raises(ValueError, match=r"ShippedBug typo: op='relux'; expected one of"):
        sb.ShippedBug(**{**bug.__dict__, "name": "typo", "op": "relux"})
