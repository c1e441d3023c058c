"""How long ``dlterms show softmax`` takes, start to finish: the core install's start-up (goal: under 0.3 s).

Usage::

    python benchmarks/cli_startup.py [--runs 9] [--bare]

Without ``--bare`` it times the ``dlterms`` next to this Python (the development
install, extras and all). With ``--bare`` it builds the wheel, installs it alone
(no extras, offline) into a fresh venv, as ``pip install dlterms`` would, and
times that one. It prints the median and range of ``--runs`` runs, the cumulative
import time of ``dlterms.cli`` (``python -X importtime``) and the machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_S = 0.3


def bare_install(folder: Path) -> Path:
    """Build the wheel (from the sdist, so the source tree gets no build/ folder) and install it alone in a venv.

    The venv is made under ``folder``, and the wheel installed with no dependencies; returns the venv's bin/.
    """
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(folder / "dist"), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = (folder / "dist").glob("dlterms-*.whl")
    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(bindir / "python"), "install", "-q", "--no-index", "--no-deps",
         "--disable-pip-version-check", str(wheel)],
        check=True,
    )  # fmt: skip
    return bindir


def wall(argv: list[str], cwd: Path) -> float:
    """Seconds one run of ``argv`` takes, its output discarded."""
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def cli_import_s(python: str, cwd: Path) -> float:
    """The cumulative import time of ``dlterms.cli`` in seconds, as ``python -X importtime`` reports it."""
    proc = subprocess.run(
        [python, "-X", "importtime", "-c", "import dlterms.cli"], cwd=cwd, capture_output=True, text=True, check=True
    )
    line = next(ln for ln in proc.stderr.splitlines() if ln.rstrip().endswith("| dlterms.cli"))
    return int(line.split("|")[1]) / 1e6


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=9, help="timed runs (default: 9), after one warm-up run")
    p.add_argument("--bare", action="store_true", help="time a bare install of the wheel in a fresh venv")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="dlterms-startup-") as tmp:
        cwd = Path(tmp)
        bindir = bare_install(cwd) if args.bare else Path(sys.executable).parent
        exe = [str(bindir / "dlterms"), "show", "softmax"]
        wall(exe, cwd)  # warm the file cache and the bytecode
        times = [wall(exe, cwd) for _ in range(args.runs)]
        imports = cli_import_s(str(bindir / "python"), cwd)
    median = statistics.median(times)
    where = "bare install (no extras)" if args.bare else "this environment"
    print(f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs")
    print(f"python: {platform.python_implementation()} {platform.python_version()}")
    print(
        f"dlterms show softmax, {where}: median {median:.3f} s of {args.runs} runs "
        f"(min {min(times):.3f}, max {max(times):.3f}); goal < {GOAL_S} s: {'met' if median < GOAL_S else 'NOT met'}"
    )
    print(f"import dlterms.cli: {imports:.3f} s cumulative (python -X importtime)")


if __name__ == "__main__":
    main()
