"""What a conform run shows in the terminal: a progress bar and the table of verdicts.

On a terminal both are drawn with rich (a live bar on stderr, a coloured
table); on anything else (a CI log, a pipe, a file) the table is plain text
and there is no progress display, so logs stay plain and greppable.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TextIO

from .checks import json_safe
from .runner import FAILING, STATUSES, Result, summary

__all__ = ["MARKS", "print_table", "progress"]

# How each status is written in the table (the failing ones in capitals).
MARKS = {
    "pass": "pass",
    "fail": "FAIL",
    "error": "ERROR",
    "unsupported": "unsupported",
    "skip": "skip",
    "xfail": "xfail",
    "xpass": "XPASS",
}
_STYLES = {
    "pass": "green",
    "fail": "bold red",
    "error": "bold red",
    "unsupported": "dim",
    "skip": "dim",
    "xfail": "yellow",
    "xpass": "bold red",
}
_WITH_REASON = ("unsupported", "skip", "xfail")


@contextlib.contextmanager
def progress(total: int, stream: TextIO | None = None) -> Iterator[Callable[[Result], None]]:
    """Yield a function to call with each finished row; it advances a rich bar when ``stream`` is a terminal.

    ``stream`` defaults to stderr. On a non-terminal the function does nothing.
    The bar disappears when the block ends.
    """
    stream = stream or sys.stderr
    if not stream.isatty():
        yield lambda row: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("{task.description}"))
    with Progress(*columns, console=Console(file=stream), transient=True) as bar:
        task = bar.add_task("", total=total)

        def advance(row: Result) -> None:
            bar.update(task, advance=1, description=f"{row.key} {row.status}")

        yield advance


def print_table(results: Sequence[Result], out: TextIO, *, verbose: bool = True) -> None:
    """One line per row (only the non-passing ones unless ``verbose``), the failures in full, the counts.

    A rich table when ``out`` is a terminal, plain aligned text otherwise.
    """
    rows = [r for r in results if verbose or r.status != "pass"]
    if rows and out.isatty():
        _rich_table(rows, out)
    elif rows:
        _plain_table(rows, out)
    for r in results:
        if r.status in FAILING:
            flag = " (nondeterministic)" if r.nondeterministic else ""
            out.write(f"\n{MARKS[r.status]}{flag} {r.key}: {r.statement}\n  {r.message}\n")
            if r.details.get("traceback"):
                out.write("  " + r.details["traceback"].replace("\n", "\n  ") + "\n")
            if r.counterexample is not None:
                case = json.dumps(json_safe(r.counterexample), ensure_ascii=False)
                out.write(f"  counterexample: {case[:2000]}\n")
                out.write(f"  re-run: dlterms conform --repro '{r.key}' (same --backend and --seed)\n")
    s = summary(results)
    out.write("\n" + ", ".join(f"{s[k]} {k}" for k in STATUSES if s[k]) + f" ({s['total']} checks)\n")


def _mark(r: Result) -> str:
    """The verdict as written in the table: the status's mark, and the nondeterministic flag."""
    return MARKS[r.status] + (" (nondeterministic)" if r.nondeterministic else "")


def _plain_table(rows: Sequence[Result], out: TextIO) -> None:
    w_term = max(len(r.term) for r in rows)
    w_inv = max(len(r.invariant) for r in rows)
    out.write(f"{'term':<{w_term}}  {'invariant':<{w_inv}}  {'dtype':<8}  verdict\n")
    for r in rows:
        out.write(f"{r.term:<{w_term}}  {r.invariant:<{w_inv}}  {r.dtype:<8}  {_mark(r)}")
        out.write(f"  ({r.message})\n" if r.status in _WITH_REASON else "\n")


def _rich_table(rows: Sequence[Result], out: TextIO) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    reasons = [r.message if r.status in _WITH_REASON else "" for r in rows]
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("term", "invariant", "dtype", "verdict", *(["why"] if any(reasons) else [])):
        table.add_column(name, overflow="fold")
    for r, reason in zip(rows, reasons, strict=True):
        cells = [r.term, r.invariant, r.dtype, Text(_mark(r), style=_STYLES[r.status])]
        table.add_row(*cells, *([reason] if any(reasons) else []))
    Console(file=out, highlight=False).print(table)
