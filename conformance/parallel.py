"""``dlterms conform --jobs N``: the checks spread over N processes with pytest-xdist.

The CLI hands the plan to pytest (the dlterms plugin collects one test per
check), xdist distributes the tests over N workers, every worker writes each
row to a temporary folder, and the rows are read back in plan order. The
verdicts are those of a sequential run with the same seed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .runner import Check, Result

__all__ = ["run_parallel"]


def run_parallel(
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
