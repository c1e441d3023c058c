"""Tests of conformance/generation.py: how Hypothesis generates during a check."""

from __future__ import annotations

from typing import Any

from dlterms.conformance.generation import reused_expansions
from hypothesis import Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis.strategies._internal.flatmapped import FlatMapStrategy


def _drawn(strategy: st.SearchStrategy[Any], n: int = 40) -> list[Any]:
    """The first ``n`` values a seeded test draws from ``strategy``."""
    out: list[Any] = []

    @seed(7)
    @settings(max_examples=n, database=None, phases=[Phase.generate], derandomize=False)
    @given(strategy)
    def record(value: Any) -> None:
        out.append(value)

    record()
    return out


def _counted(values: st.SearchStrategy[Any]) -> tuple[st.SearchStrategy[Any], list[Any]]:
    """``values.flatmap`` into lists of that many integers, with the builder's calls recorded."""
    calls: list[Any] = []

    def build(v: Any) -> st.SearchStrategy[Any]:
        calls.append(v)
        return st.tuples(st.just(v), st.lists(st.integers(0, 9), min_size=1, max_size=3))

    return values.flatmap(build), calls


def test_reused_expansions_draw_the_same_cases_with_fewer_builds() -> None:
    """Within the block a flatmap draws exactly the cases it draws without it, building once per drawn value."""
    plain, plain_calls = _counted(st.integers(1, 3))
    before = _drawn(plain)
    reused, reused_calls = _counted(st.integers(1, 3))
    with reused_expansions():
        after = _drawn(reused)
    assert after == before
    assert len(plain_calls) >= len(before)
    assert sorted(set(reused_calls)) == sorted(reused_calls)  # each value built once
    assert len(reused_calls) <= 3


def test_reused_expansions_keep_equal_values_of_other_types_apart() -> None:
    """1, 1.0 and True, and 0.0 and −0.0, compare equal but are built (and drawn) each as itself."""
    strategy, calls = _counted(st.sampled_from([1, 1.0, True, 0.0, -0.0]))
    with reused_expansions():
        drawn = _drawn(strategy, 60)
    for v, _ in drawn:
        assert repr(v) in {"1", "1.0", "True", "0.0", "-0.0"}
    assert sorted(map(repr, calls)) == sorted(set(map(repr, calls)))
    assert {repr(v) for v, _ in drawn} == {repr(v) for v in calls}


def test_reused_expansions_build_unhashable_values_every_time() -> None:
    """A drawn list is not looked up: its builder runs for every example, as without the block."""
    strategy, calls = _counted(st.lists(st.integers(0, 1), max_size=2))
    with reused_expansions():
        drawn = _drawn(strategy, 30)
    assert len(calls) >= len(drawn)


def test_reused_expansions_start_afresh_past_the_limit() -> None:
    """A flatmap keeps at most ``kept`` expansions: a value seen again after the cache filled is built again."""
    strategy, calls = _counted(st.integers(0, 50))
    with reused_expansions(kept=2):
        _drawn(strategy, 60)
    assert len(strategy._dlterms_expansions) <= 2  # type: ignore[attr-defined]
    assert len(calls) > len(set(calls))


def test_reused_expansions_restore_hypothesis_after_the_block() -> None:
    """Leaving the block, even by an exception, puts Hypothesis' own ``FlatMapStrategy.do_draw`` back."""
    original = FlatMapStrategy.do_draw
    try:
        with reused_expansions():
            assert FlatMapStrategy.do_draw is not original
            raise RuntimeError("leave")
    except RuntimeError:
        pass
    assert FlatMapStrategy.do_draw is original
