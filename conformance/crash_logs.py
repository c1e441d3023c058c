"""What a dead worker's log says: the stack at its fatal signal, and the framework's own last words.

A worker's stderr goes to a log file beside it (:mod:`.isolation`), where Python's :mod:`faulthandler`
writes the Python stack of a fatal signal. A framework that aborts says why just before: XLA and
TensorFlow through Abseil's fatal log line (``F1129 18:25:37.520100 10134 algebraic_simplifier.cc:586]
Check failed: …``, continued on indented lines), C++ through ``terminate called after throwing …`` and
its ``what():`` line, C through ``assert``'s ``…: Assertion `…' failed.``. Those lines are followed by a
native stack of hundreds of lines, so the end of the log alone loses them.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = [
    "FATAL_MESSAGE_CHARS",
    "ROW_MESSAGE_CHARS",
    "TRACEBACK_LINES",
    "clip",
    "fatal_message",
    "log_tail",
    "read_log",
]

# How many lines of a dead worker's log (its fatal-signal stack, its stderr) a row keeps.
TRACEBACK_LINES = 20
# How many characters of the framework's fatal message a crash row keeps in details.crash.message, and in its
# one-line message.
FATAL_MESSAGE_CHARS = 600
ROW_MESSAGE_CHARS = 200

# Abseil's (and glog's) fatal line: severity F, MMDD, time, thread id, file:line] message.
_ABSL_FATAL = re.compile(r"^F\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+ (?P<message>\S+:\d+\] .*)$")
_TERMINATE = re.compile(r"^terminate called (after throwing|without an active exception)")
_ASSERTION = re.compile(r"Assertion `.*' failed\.$")


def read_log(path: Path) -> list[str]:
    """The log's lines, or none where it cannot be read."""
    try:
        return path.read_text(encoding="utf-8", errors="replace").rstrip().splitlines()
    except OSError:
        return []


def log_tail(lines: list[str]) -> str:
    """The stack faulthandler wrote at the fatal signal (innermost frame first) after the last lines
    the framework printed before it, else the log's last :data:`TRACEBACK_LINES` lines."""
    fatal = [i for i, line in enumerate(lines) if line.startswith("Fatal Python error")]
    if not fatal:
        return "\n".join(lines[-TRACEBACK_LINES:])
    before = lines[max(0, fatal[-1] - 5) : fatal[-1]]
    stack = [line for line in lines[fatal[-1] :] if not line.startswith("Extension modules:")]
    return "\n".join(before + stack[: TRACEBACK_LINES - len(before)])


def fatal_message(lines: list[str]) -> str | None:
    """The framework's last fatal message in the log, on one line (whitespace collapsed, at most
    :data:`FATAL_MESSAGE_CHARS` characters), or None where it printed none that is recognised."""
    for i in range(len(lines) - 1, -1, -1):
        line = lines[i]
        if match := _ABSL_FATAL.match(line):
            parts = [match["message"], *_continuation(lines[i + 1 :])]
        elif _TERMINATE.match(line):
            parts = [line, *(ln for ln in lines[i + 1 : i + 2] if ln.lstrip().startswith("what():"))]
        elif _ASSERTION.search(line):
            parts = [line]
        else:
            continue
        return clip(" ".join(" ".join(parts).split()), FATAL_MESSAGE_CHARS)
    return None


def clip(text: str, chars: int) -> str:
    """``text`` cut to ``chars`` characters, the last an ellipsis where it was cut."""
    return text if len(text) <= chars else text[: chars - 1] + "…"


def _continuation(lines: list[str]) -> list[str]:
    """The indented lines that continue a fatal log line, up to the native stack (``*** Check failure
    stack trace: ***``, frames ``    @ 0x…``) or the next unindented line."""
    out = []
    for line in lines:
        if not line[:1].isspace() or line.lstrip().startswith("@ "):
            break
        out.append(line)
    return out
