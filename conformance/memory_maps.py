"""When a worker makes way for a fresh one: before its memory mappings reach the kernel's limit.

Linux allows a process ``vm.max_map_count`` memory mappings (65,530 by default). XLA:CPU
(JAX) keeps mappings for every program it compiles, so a long JAX run in one process reaches
the limit and dies ("LLVM compilation error: Cannot allocate memory", then SIGSEGV: the seed-0
run of 814 checks did at check 812). How fast a worker gets there depends on the run, not on its
number of checks: measured here, 74 mappings a check in a default JAX run (25 examples) and
535 a check with ``--deep`` (500 examples, twelve Adam checks). So each worker counts its own
mappings (the lines of ``/proc/self/maps``) and asks to be replaced once they pass
:data:`~.settings.MAPPINGS_SHARE` of the limit, whatever its framework.

Counting costs about 1 µs a mapping (30 ms at 30,000), so a worker does not count after every
check: :class:`WorkerLife` counts again after as many checks as could, at the fastest growth
seen so far, use half of what is left of the budget. A JAX worker is also replaced after a fixed
number of checks (:data:`~.settings.CHECKS_PER_WORKER`, chosen by :func:`.isolation.worker_share`),
which keeps it fast and also bounds it where the mappings cannot be counted (no ``/proc``).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MAPS_FILE", "MAX_MAP_COUNT_FILE", "WorkerLife", "count_mappings", "mapping_limit"]

MAPS_FILE = "/proc/self/maps"
MAX_MAP_COUNT_FILE = "/proc/sys/vm/max_map_count"
# At most this many checks between two counts, however slowly the mappings grow.
MAX_CHECKS_BETWEEN_COUNTS = 64


def count_mappings(path: str | None = None) -> int | None:
    """This process's memory mappings (one line each in ``path``, default :data:`MAPS_FILE`); None where the file
    cannot be read."""
    try:
        with open(path or MAPS_FILE, "rb") as f:
            return f.read().count(b"\n")
    except OSError:
        return None


def mapping_limit(path: str | None = None) -> int | None:
    """The kernel's limit on a process's memory mappings (``vm.max_map_count``, read from ``path``, default
    :data:`MAX_MAP_COUNT_FILE`); None where it cannot be read."""
    try:
        with open(path or MAX_MAP_COUNT_FILE, encoding="ascii") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


@dataclass
class WorkerLife:
    """How long one worker serves: until its mappings reach ``budget``, or it has answered ``checks`` checks.

    Either may be None (no such bound). A worker gets its own copy (forked or pickled), calls
    :meth:`begin` once it has loaded the backend and :meth:`after_check` after each check; a True
    from ``after_check`` means: answer this check, then make way for a fresh worker.
    """

    budget: int | None = None
    checks: int | None = None
    done: int = 0
    counted_at: int = 0  # checks done at the last count
    counted: int | None = None  # mappings at the last count
    growth: float = 0.0  # the most mappings a check added, on average between two counts
    next_count: int = 1  # count again once this many checks are done

    @classmethod
    def within(cls, share: float, checks: int | None = None) -> WorkerLife:
        """A life whose budget is ``share`` of this system's mapping limit (none where that is unknown)."""
        limit = mapping_limit()
        return cls(budget=int(limit * share) if limit and count_mappings() is not None else None, checks=checks)

    def begin(self) -> None:
        """Count the mappings the worker starts with (the framework's own)."""
        if self.budget is not None:
            self.counted, self.counted_at = count_mappings(), 0

    def after_check(self) -> bool:
        """Whether the worker has served its time, counted after the check it just answered."""
        self.done += 1
        if self.checks is not None and self.done >= self.checks:
            return True
        if self.budget is None or self.done < self.next_count:
            return False
        now = count_mappings()
        if now is None:
            return False
        if self.counted is not None:
            self.growth = max(self.growth, (now - self.counted) / (self.done - self.counted_at))
        self.counted, self.counted_at = now, self.done
        if now >= self.budget:
            return True
        room = (self.budget - now) / (2 * max(self.growth, 1.0))
        self.next_count = self.done + max(1, min(MAX_CHECKS_BETWEEN_COUNTS, int(room)))
        return False
