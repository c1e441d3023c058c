#!/usr/bin/env python
"""Re-record the conformance reports the site shows when no run of a framework is given to the build.

For each framework of :data:`dlterms.frameworks.FRAMEWORKS` (or those named with ``--only``), in
that order and one at a time, this runs::

    python -m dlterms conform --backend NAME --seed 0 --json <tmp>/NAME.json

with every other setting at its default (:mod:`dlterms.conformance.settings`), checks that the
file is a ``dlterms.report/1`` report, and writes it atomically to ``recorded-reports/NAME.json``
(:data:`dlterms.site.reports.RECORDED_DIR`). A run that fails a check still records its report
(the site then shows the failure); a run that ends in a usage error (exit 2) or is interrupted
(130) leaves the recorded file as it was and makes this script exit 1.

    python scripts/record_reports.py                    # all four, about 15-25 minutes on 2 cores
    python scripts/record_reports.py --only torch,numpy

Which report a build shows when a framework has both a recorded report and a fresh one is
explained in :mod:`dlterms.site.reports`.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dlterms.conformance.report import read_report
from dlterms.conformance.settings import DEFAULT_SEED

from dlterms.files import atomic_write
from dlterms.frameworks import FRAMEWORKS, by_name
from dlterms.site.reports import RECORDED_DIR

REPO = Path(__file__).resolve().parents[1]
# dlterms conform's exit statuses that still leave a complete report: all passed, or a check failed.
COMPLETE = (0, 1)


def record(name: str, out: Path) -> bool:
    """Run ``name``'s conformance on the default seed and record its report in ``out``; whether it was recorded."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / f"{name}.json"
        cmd = [sys.executable, "-m", "dlterms", "conform", "--backend", name, "--seed", str(DEFAULT_SEED)]
        cmd += ["--json", str(report)]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=REPO, check=False)
        seconds = time.perf_counter() - t0
        if proc.returncode not in COMPLETE or not report.is_file():
            print(f"{name}: dlterms conform exited {proc.returncode} after {seconds:.0f} s; {out / report.name} kept")
            return False
        data = read_report(report)  # ValueError if the run wrote something that is not a report
        atomic_write(out / report.name, report.read_bytes())
        summary = data.get("summary", {})
        print(f"{name}: recorded {out / report.name} in {seconds:.0f} s ({summary})")
        return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        default=",".join(fw.name for fw in FRAMEWORKS),
        help="comma-separated framework names (default: all, in the framework list's order)",
    )
    parser.add_argument("--out", type=Path, default=REPO / RECORDED_DIR, help=f"folder (default: {RECORDED_DIR}/)")
    args = parser.parse_args(argv)
    try:
        names = [by_name(n.strip()).name for n in args.only.split(",") if n.strip()]
    except ValueError as exc:
        parser.error(f"--only={args.only!r}: {exc}")
    ok = [record(name, args.out) for name in names]  # one after another: each run uses the machine's cores
    return 0 if all(ok) else 1


if __name__ == "__main__":
    sys.exit(main())
