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
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .runner import Check, Result, run_one

__all__ = ["run_parallel"]


# Frameworks whose runtime threads make os.fork() unsafe after import.
_NO_FORK = ("jax", "tensorflow")


def run_parallel(
    backend_spec: str,
    checks: Sequence[Check],
    *,
    jobs: int,
    max_examples: int,
    seed: int,
    timeout_s: float | None,
    backend: Any = None,
) -> list[Result]:
    """Run ``checks`` on ``jobs`` processes; ``backend`` (already loaded) enables forked workers."""
    forkable = "fork" in multiprocessing.get_all_start_methods() and not any(m in sys.modules for m in _NO_FORK)
    if backend is not None and forkable:
        return _run_forked(backend, checks, jobs=jobs, max_examples=max_examples, seed=seed, timeout_s=timeout_s)
    return _run_xdist(backend_spec, checks, jobs=jobs, max_examples=max_examples, seed=seed, timeout_s=timeout_s)


_WORK: dict[str, Any] = {}


def _run_check(index: int) -> dict[str, Any]:
    w = _WORK
    check = w["checks"][index]
    row = run_one(w["backend"], check.invariant, check.dtype, max_examples=w["max_examples"], seed=w["seed"],
                  timeout_s=w["timeout_s"])  # fmt: skip
    return row.as_dict()


def _run_forked(
    backend: Any, checks: Sequence[Check], *, jobs: int, max_examples: int, seed: int, timeout_s: float | None
) -> list[Result]:
    _WORK.update(backend=backend, checks=list(checks), max_examples=max_examples, seed=seed, timeout_s=timeout_s)
    try:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            rows = pool.map(_run_check, range(len(checks)), chunksize=1)
    finally:
        _WORK.clear()
    return [_row(r) for r in rows]


def _run_xdist(
    backend_spec: str,
    checks: Sequence[Check],
    *,
    jobs: int,
    max_examples: int,
    seed: int,
    timeout_s: float | None,
) -> list[Result]:
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
            "--dlterms-max-examples", str(max_examples), "--dlterms-seed", str(seed),
            "--dlterms-timeout", str(timeout_s or 0), "--dlterms-results", str(folder),
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
