"""A per-check time limit: :class:`TimeLimit` raises :class:`CheckTimeout` in the main thread.

Used by the runner (one limit per check) and by the special-value probes (one
per probe). It uses ``SIGALRM``, so it only acts in the main thread of a POSIX
process; elsewhere it is a no-op and the check runs unlimited. A call that never returns
to Python (a hang in C code) does not see the signal: the worker process that runs it
is then killed :data:`HARD_LIMIT_MARGIN_S` after the limit by its supervisor.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

__all__ = ["HARD_LIMIT_MARGIN_S", "CheckTimeout", "TimeLimit"]

# A worker process whose check is still running this long after its time limit is killed by the
# supervisor (conformance/isolation.py): a call into C code that never returns to Python cannot be
# interrupted by SIGALRM. The margin leaves the worker's own limit time to act and write its row.
HARD_LIMIT_MARGIN_S = 5.0


class CheckTimeout(BaseException):
    """A check ran past its time limit (a BaseException, so Hypothesis does not shrink it)."""


class TimeLimit:
    """``with TimeLimit(seconds):`` raises :class:`CheckTimeout` after ``seconds`` (None or 0: no limit)."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.active = (
            bool(seconds) and hasattr(signal, "SIGALRM") and threading.current_thread() is threading.main_thread()
        )
        self.previous: Any = None

    def _fire(self, signum: int, frame: FrameType | None) -> None:
        raise CheckTimeout(f"ran past its time limit of {self.seconds:g} s")

    def __enter__(self) -> TimeLimit:
        if self.active:
            self.previous = signal.signal(signal.SIGALRM, self._fire)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.active:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous)
