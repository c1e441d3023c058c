"""Whole `dlterms conform` commands in alternating rounds: times, ratios to PyTorch and `--jobs` speed-ups.

Each round runs, in turn, ``dlterms conform -q --backend FW --jobs N --json R`` for every framework
of ``--frameworks`` and every ``N`` of ``--jobs`` (Python start-up, imports, worker processes and
the report's probes included; JAX with the user's compilation cache, as a CI job that keeps it).
A ratio (a framework to PyTorch, ``--jobs`` 1 to the largest) is taken within each round, since
identical commands vary from round to round on a shared machine; the summary gives each run, each
round's ratios and their medians. Every report must give each row the same status and example count
as the framework's first report: a run whose verdicts moved is named, since a speed-up must not
change what is checked.

Usage: ``python benchmarks/cli_rounds.py [--frameworks torch,jax] [--jobs 1,2] [--repeat 3] [--terms T,...]
[--json FILE]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed_run(framework: str, jobs: int, report: Path, terms: str | None = None) -> float:
    """Seconds one whole command took (exit 1, a documented defect's failing row, is timed too)."""
    cmd = [sys.executable, "-m", "dlterms", "conform", "-q", "--backend", framework, "--jobs", str(jobs)]
    cmd += ["--terms", terms] if terms else []
    start = time.perf_counter()
    proc = subprocess.run([*cmd, "--json", str(report)], capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return elapsed


def verdicts(report: Path) -> dict[str, tuple[str, int]]:
    """Each row's (status, example count)."""
    return {r["id"]: (r["status"], r["examples"]) for r in json.loads(report.read_text())["results"]}


def changed_rows(base: dict[str, tuple[str, int]], rows: dict[str, tuple[str, int]]) -> list[str]:
    """The ids of the rows whose (status, example count) differ between two reports, or that one lacks."""
    return sorted(k for k in base.keys() | rows.keys() if base.get(k) != rows.get(k))


def round_ratios(runs: dict[str, list[float]], frameworks: list[str], jobs: list[int]) -> dict[str, list[float]]:
    """Per round: each framework's time over PyTorch's (with the first ``--jobs``), and each framework's first
    ``--jobs`` time over its last's (the speed-up)."""
    ratios: dict[str, list[float]] = {}
    for fw in frameworks:
        first = runs[f"{fw} --jobs {jobs[0]}"]
        if fw != "torch" and "torch" in frameworks:
            ratios[f"{fw} / torch, --jobs {jobs[0]}"] = [
                a / b for a, b in zip(first, runs[f"torch --jobs {jobs[0]}"], strict=True)
            ]
        if len(jobs) > 1:
            last = runs[f"{fw} --jobs {jobs[-1]}"]
            ratios[f"{fw} --jobs {jobs[0]} / --jobs {jobs[-1]}"] = [a / b for a, b in zip(first, last, strict=True)]
    return ratios


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frameworks", default="torch,jax")
    p.add_argument("--jobs", default="1,2")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--terms", help="comma-separated glossary terms (default: all)")
    p.add_argument("--json", help="write the numbers to this file (atomically)")
    args = p.parse_args()
    frameworks = args.frameworks.split(",")
    try:
        jobs = [int(j) for j in args.jobs.split(",")]
    except ValueError:
        jobs = []
    if not jobs or min(jobs) < 1:
        p.error(f"--jobs {args.jobs!r}: expected comma-separated positive integers, e.g. 1,2")
    if args.repeat < 1:
        p.error(f"--repeat {args.repeat}: expected at least 1")
    runs: dict[str, list[float]] = {}
    moved: list[str] = []
    first: dict[str, dict[str, tuple[str, int]]] = {}
    with tempfile.TemporaryDirectory(prefix="cli-rounds-") as tmp:
        for i in range(args.repeat):
            for fw in frameworks:
                for j in jobs:
                    report = Path(tmp) / f"{fw}-{j}-{i}.json"
                    key = f"{fw} --jobs {j}"
                    runs.setdefault(key, []).append(timed_run(fw, j, report, args.terms))
                    rows = verdicts(report)
                    base = first.setdefault(fw, rows)
                    changed = changed_rows(base, rows)
                    if changed:
                        moved.append(f"round {i + 1}, {key}: {len(changed)} rows, e.g. {changed[:3]}")
                    print(f"round {i + 1}: {key}: {runs[key][-1]:.1f} s", flush=True)
    ratios = round_ratios(runs, frameworks, jobs)
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.processor() or 'unknown CPU'}",
        "python": platform.python_version(),
        "runs_s": runs,
        "medians_s": {k: statistics.median(v) for k, v in runs.items()},
        "ratios_per_round": ratios,
        "median_ratios": {k: statistics.median(v) for k, v in ratios.items()},
        "verdicts_moved": moved,
    }
    for k, v in result["medians_s"].items():
        print(f"{k}: median {v:.1f} s of {', '.join(f'{t:.1f}' for t in runs[k])}")
    for k, v in ratios.items():
        print(f"{k}: median {statistics.median(v):.2f} of {', '.join(f'{r:.2f}' for r in v)}")
    print("verdicts: " + ("; ".join(moved) if moved else "every report's rows as the framework's first report's"))
    if args.json:
        with tempfile.NamedTemporaryFile("w", dir=Path(args.json).resolve().parent, delete=False, suffix=".tmp") as f:
            json.dump(result, f, indent=2)
        os.replace(f.name, args.json)


if __name__ == "__main__":
    main()
