"""How long a default conformance run takes, and where the time goes.

Measures, as medians of ``--repeat`` runs (default 5) on this machine:

* the full default run (every term, float32 and float64, 25 examples) against
  each backend given (default: torch and numpy), as ``dlterms conform`` runs it (``--jobs auto``:
  one worker process per usable core, recorded as ``default_jobs``);
* ``--jobs 2`` against ``--jobs 1`` for the first backend (the speed-up);
* the default run against ``--isolation off`` for the first backend (the cost of running the
  checks in worker processes that may crash);
* the share of a sequential run spent inside ``dlterms.reference`` (the oracle),
  measured by timing the outermost call of every public reference function.

Goals (issue "A conformance run a CI can trust"): PyTorch ≤ 60 s, NumPy ≤ 30 s
on 2 cores; ``--jobs 2`` ≥ 1.6× faster; reference-side time < half of the total.

Usage: ``python benchmarks/conform_speed.py [--repeat 5] [--backends torch,numpy] [--out FILE.json]``
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import statistics
import subprocess
import sys
import time

from dlterms.conformance.settings import usable_cores


def wall(cmd: list[str]) -> float:
    """Seconds the command took; exit 1 (the run found a failure, e.g. JAX's documented float64 log1p) is timed too."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return elapsed


def reference_share(backend: str, terms: list[str] | None = None) -> dict[str, float]:
    """Run the default run's checks once in-process, every public reference function timed (outermost calls only).

    The checks are those of ``dlterms conform`` without ``--sizes`` (the default tier only); ``terms``
    narrows them as ``--terms`` does. Returns the run's seconds, the reference's, its share and the checks run.
    """
    from dlterms.conformance import load_backend
    from dlterms.conformance.runner import plan, run_checks
    from dlterms.conformance.settings import DEFAULT_TIERS

    from dlterms import reference

    spent = [0.0]
    depth = [0]

    def timed(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            if depth[0]:
                return fn(*args, **kwargs)
            depth[0] += 1
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[0] += time.perf_counter() - start
                depth[0] -= 1

        return wrapper

    originals = {name: getattr(reference, name) for name in reference.__all__}
    for name, fn in originals.items():
        setattr(reference, name, timed(fn))
    try:
        bk = load_backend(backend)
        checks = plan(terms, tiers=DEFAULT_TIERS)  # the checks of `dlterms conform`, without --sizes
        start = time.perf_counter()
        for _ in run_checks(bk, checks):  # the run loop of `dlterms conform`, with its default settings
            pass
        total = time.perf_counter() - start
    finally:
        for name, fn in originals.items():
            setattr(reference, name, fn)
    return {"total_s": total, "reference_s": spent[0], "reference_share": spent[0] / total, "checks": len(checks)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--backends", default="torch,numpy")
    p.add_argument("--out", help="also write the numbers as JSON to this file")
    args = p.parse_args()
    backends = args.backends.split(",")
    exe = [sys.executable, "-m", "dlterms", "conform", "-q"]
    results: dict[str, object] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.processor() or 'unknown CPU'}",
        "python": platform.python_version(),
        "repeat": args.repeat,
        "default_jobs": usable_cores(),
    }
    for bk in backends:
        times = [wall([*exe, "--backend", bk]) for _ in range(args.repeat)]
        results[f"{bk}_full_run_s"] = statistics.median(times)
        print(f"{bk}: full default run, median of {args.repeat}: {statistics.median(times):.1f} s  {times}")
    first = backends[0]
    jobs1 = [wall([*exe, "--backend", first, "--jobs", "1"]) for _ in range(args.repeat)]
    jobs2 = [wall([*exe, "--backend", first, "--jobs", "2"]) for _ in range(args.repeat)]
    results["jobs1_s"], results["jobs2_s"] = statistics.median(jobs1), statistics.median(jobs2)
    results["jobs2_speedup"] = statistics.median(jobs1) / statistics.median(jobs2)
    print(
        f"{first}: --jobs 1 {statistics.median(jobs1):.1f} s, --jobs 2 {statistics.median(jobs2):.1f} s, "
        f"speed-up {results['jobs2_speedup']:.2f}x"
    )
    off = [wall([*exe, "--backend", first, "--isolation", "off"]) for _ in range(args.repeat)]
    results["isolation_off_s"] = statistics.median(off)
    results["isolation_ratio"] = results[f"{first}_full_run_s"] / statistics.median(off)
    print(
        f"{first}: --isolation off {statistics.median(off):.1f} s against {results[f'{first}_full_run_s']:.1f} s "
        f"with worker processes {off}"
    )
    share = reference_share(first)
    results["reference_share"] = share
    print(
        f"{first}: reference-side time {share['reference_s']:.1f} s of {share['total_s']:.1f} s "
        f"({share['reference_share']:.0%})"
    )
    if args.out:
        from dlterms.files import atomic_write_text

        atomic_write_text(args.out, json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
