"""Reports of a conformance run: the JSON document (schema ``dlterms.report/1``) and the table."""

from __future__ import annotations

import json
import os
import platform
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import dlterms

from .backends import Backend
from .runner import Result, summary

__all__ = ["SCHEMA", "build_report", "print_table", "write_atomic", "write_json"]

SCHEMA = "dlterms.report/1"


def build_report(bk: Backend, results: Sequence[Result], settings: dict[str, Any]) -> dict[str, Any]:
    """The JSON-ready report: backend facts, settings, one row per (invariant, dtype), summary."""
    return {
        "schema": SCHEMA,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "dlterms_version": dlterms.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "backend": bk.facts(),
        "settings": settings,
        "results": [r.as_dict() for r in results],
        "summary": summary(results),
    }


def write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the new one, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: str | os.PathLike[str], report: dict[str, Any]) -> None:
    write_atomic(path, json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False) + "\n")


_MARK = {"pass": "pass", "fail": "FAIL", "error": "ERROR", "unsupported": "unsupported", "skip": "skip"}


def print_table(results: Sequence[Result], out: TextIO, *, verbose: bool = True) -> None:
    """One line per row (only the non-passing ones unless ``verbose``), then the failures in full."""
    rows = [r for r in results if verbose or r.status != "pass"]
    if rows:
        w_term = max(len(r.term) for r in rows)
        w_inv = max(len(r.invariant) for r in rows)
        out.write(f"{'term':<{w_term}}  {'invariant':<{w_inv}}  {'dtype':<8}  verdict\n")
        for r in rows:
            out.write(f"{r.term:<{w_term}}  {r.invariant:<{w_inv}}  {r.dtype:<8}  {_MARK[r.status]}")
            out.write(f"  ({r.message})\n" if r.status in ("unsupported", "skip") else "\n")
    for r in results:
        if r.status in ("fail", "error"):
            out.write(f"\n{_MARK[r.status]} {r.invariant} [{r.dtype}]: {r.statement}\n  {r.message}\n")
            if r.counterexample is not None:
                case = json.dumps(r.counterexample, ensure_ascii=False, default=str)
                out.write(f"  counterexample: {case[:2000]}\n")
    s = summary(results)
    out.write(
        "\n"
        + ", ".join(f"{s[k]} {k}" for k in ("pass", "fail", "error", "unsupported", "skip") if s[k])
        + f" ({s['total']} checks)\n"
    )
