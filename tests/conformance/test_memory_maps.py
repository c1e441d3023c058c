"""A worker counts its memory mappings and says when it has served its time, counting rarely far from its budget."""

from __future__ import annotations

import mmap
from pathlib import Path

import pytest
from dlterms.conformance import memory_maps
from dlterms.conformance.memory_maps import WorkerLife, count_mappings, mapping_limit


def test_count_mappings_sees_new_mappings() -> None:
    """Two hundred one-page mappings of alternating protection (the kernel cannot merge them) add 200 or more."""
    before = count_mappings()
    if before is None:
        pytest.skip("this system has no /proc/self/maps")
    pages = [
        mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ if i % 2 else mmap.PROT_READ | mmap.PROT_WRITE)
        for i in range(200)
    ]
    after = count_mappings()
    for page in pages:
        page.close()
    assert after is not None and after - before >= 200


def test_files_that_cannot_be_read_give_none(tmp_path: Path) -> None:
    """A missing maps file, a missing limit file and a limit that is not a number give None, not an error."""
    (tmp_path / "limit").write_text("many\n", encoding="ascii")
    (tmp_path / "ok").write_text("1024\n", encoding="ascii")
    assert count_mappings(str(tmp_path / "missing")) is None
    assert mapping_limit(str(tmp_path / "missing")) is None
    assert mapping_limit(str(tmp_path / "limit")) is None
    assert mapping_limit(str(tmp_path / "ok")) == 1024


class _FakeMaps:
    """A process whose mappings grow by ``per_check`` with each check; counts how often they are read."""

    def __init__(self, start: int, per_check: int) -> None:
        self.now, self.per_check, self.reads = start, per_check, 0

    def check(self) -> None:
        self.now += self.per_check

    def count(self, path: str | None = None) -> int:
        self.reads += 1
        return self.now


def _serve(life: WorkerLife, maps: _FakeMaps, limit: int = 10_000) -> int:
    """Checks answered until ``life`` says the worker has served its time."""
    life.begin()
    for done in range(1, limit + 1):
        maps.check()
        if life.after_check():
            return done
    raise AssertionError(f"still serving after {limit} checks")


def test_a_worker_serves_until_its_mappings_reach_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """Growing by 100 a check from 500 against a budget of 20,000, the worker stops on the check that reaches it,
    having counted far fewer times than it answered checks."""
    maps = _FakeMaps(start=500, per_check=100)
    monkeypatch.setattr(memory_maps, "count_mappings", maps.count)
    done = _serve(WorkerLife(budget=20_000), maps)
    assert done == 195  # 500 + 195 × 100 = 20,000
    assert maps.reads < done / 4


def test_a_faster_growth_is_counted_more_often_and_still_stops_in_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """At 2,000 mappings a check (a --deep run's order) the worker stops on the first check past the budget."""
    maps = _FakeMaps(start=500, per_check=2_000)
    monkeypatch.setattr(memory_maps, "count_mappings", maps.count)
    done = _serve(WorkerLife(budget=32_765), maps)
    assert done == 17  # the first n with 500 + 2,000 n ≥ 32,765
    assert maps.now < 32_765 + 2_000


def test_a_share_of_checks_ends_a_workers_life_without_counting(monkeypatch: pytest.MonkeyPatch) -> None:
    """With no budget (mappings not countable) and a share of 200 checks, the worker serves 200 and never counts."""
    maps = _FakeMaps(start=500, per_check=100)
    monkeypatch.setattr(memory_maps, "count_mappings", maps.count)
    assert _serve(WorkerLife(checks=200), maps) == 200
    assert maps.reads == 0


def test_within_takes_a_share_of_the_limit(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The budget is the share of vm.max_map_count; None where the limit cannot be read."""
    limit = tmp_path / "max_map_count"
    limit.write_text("65530\n", encoding="ascii")
    monkeypatch.setattr(memory_maps, "MAX_MAP_COUNT_FILE", str(limit))
    monkeypatch.setattr(memory_maps, "count_mappings", lambda path=None: 1000)
    assert WorkerLife.within(0.5).budget == 32_765
    assert WorkerLife.within(0.5, checks=7).checks == 7
    monkeypatch.setattr(memory_maps, "MAX_MAP_COUNT_FILE", str(tmp_path / "missing"))
    assert WorkerLife.within(0.5).budget is None
