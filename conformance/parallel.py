"""``dlterms conform --jobs N``: the checks spread over N processes.

Two ways, the same verdicts as a sequential run with the same seed, rows in plan order:

* **forked workers** (POSIX, the default): the CLI process has already imported the
  framework and the suite, so N forked workers start at once and take checks one at
  a time. On a 15-second run this matters: pytest-xdist workers each re-import the
  framework and re-collect the suite, which cost more than the parallelism gained.
* **pytest-xdist** (where fork is unsafe or missing: JAX and TensorFlow run thread
  pools that a fork cannot copy, and Windows has no fork): the CLI hands the plan to
  pytest (the dlterms plugin collects one test per check), xdist distributes the tests
  over N workers, every worker writes each row to a temporary folder, and the rows are
  read back.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .runner import Check, Result, RunSettings, apply_xfail, run_checks

__all__ = ["run_parallel"]


# Frameworks whose runtime threads make os.fork() unsafe after import.
_NO_FORK = ("jax", "tensorflow")


def run_parallel(
    backend_spec: str,
    checks: Sequence[Check],
    *,
    jobs: int,
    settings: RunSettings | None = None,
    xfail: Mapping[str, str] | None = None,
    backend: Any = None,
    on_row: Callable[[Result], None] = lambda row: None,
) -> list[Result]:
    """Run ``checks`` on ``jobs`` processes; the rows come back in plan order, ``xfail`` applied.

    ``backend`` (already loaded) enables forked workers, which report each row
    to ``on_row`` as it is done, in plan order; the pytest-xdist path reports
    them all at the end. ``settings`` None means the defaults.
    """
    settings = settings or RunSettings()
    forkable = "fork" in multiprocessing.get_all_start_methods() and not any(m in sys.modules for m in _NO_FORK)
    if backend is not None and forkable:
        rows = _run_forked(backend, checks, jobs=jobs, settings=settings, xfail=xfail or {}, on_row=on_row)
    else:
        rows = [apply_xfail(r, xfail or {}) for r in _run_xdist(backend_spec, checks, jobs=jobs, settings=settings)]
        for row in rows:
            on_row(row)
    return rows


_WORK: dict[str, Any] = {}


def _run_check(index: int) -> dict[str, Any]:
    """A forked worker: one check through the run loop, as a report row."""
    w = _WORK
    (row,) = run_checks(w["backend"], [w["checks"][index]], w["settings"], xfail=w["xfail"])
    return row.as_dict()


def _run_forked(
    backend: Any,
    checks: Sequence[Check],
    *,
    jobs: int,
    settings: RunSettings,
    xfail: Mapping[str, str],
    on_row: Callable[[Result], None],
) -> list[Result]:
    _WORK.update(backend=backend, checks=list(checks), settings=settings, xfail=xfail)
    rows = []
    try:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            for data in pool.imap(_run_check, range(len(checks)), chunksize=1):
                rows.append(_row(data))
                on_row(rows[-1])
    finally:
        _WORK.clear()
    return rows


def _run_xdist(backend_spec: str, checks: Sequence[Check], *, jobs: int, settings: RunSettings) -> list[Result]:
    try:
        import xdist  # noqa: F401
    except ImportError:
        raise RuntimeError("--jobs needs pytest-xdist: pip install 'dlterms[conformance]'") from None
    with tempfile.TemporaryDirectory(prefix="dlterms-jobs-") as tmp:
        folder = Path(tmp)
        listing = folder / "checks.txt"
        listing.write_text("\n".join(c.key for c in checks), encoding="utf-8")
        dtypes = ",".join(dict.fromkeys(c.dtype for c in checks))
        cmd = [
            sys.executable, "-m", "pytest", "--pyargs", "dlterms.conformance.test_conformance",
            "-p", "xdist", "-n", str(jobs), "--dist", "load", "-q", "--no-header", "-p", "no:cacheprovider",
            "-o", "addopts=", "--rootdir", tmp,
            "--dlterms-backend", backend_spec, "--dlterms-dtype", dtypes,
            "--dlterms-max-examples", str(settings.max_examples), "--dlterms-seed", str(settings.seed),
            "--dlterms-timeout", str(settings.timeout_s or 0), "--dlterms-results", str(folder),
            "--dlterms-checks", str(listing),
        ]  # fmt: skip
        proc = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, env=os.environ.copy())
        rows = {}
        for path in folder.glob("*.json"):
            data = json.loads(path.read_text(encoding="utf-8"))
            rows[data["id"]] = data
        missing = [c.key for c in checks if c.key not in rows]
        if missing:
            tail = (proc.stdout + proc.stderr)[-3000:]
            raise RuntimeError(
                f"--jobs {jobs}: {len(missing)} checks produced no row (first: {missing[0]}); pytest said:\n{tail}"
            )
        return [_row(rows[c.key]) for c in checks]


def _row(data: dict) -> Result:
    fields = {k: data[k] for k in Result.__dataclass_fields__ if k in data}
    return Result(**fields)
