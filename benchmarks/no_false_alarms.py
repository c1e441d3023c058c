"""No false alarms: many seeds against correct frameworks give no failure.

Runs ``dlterms conform --backend B --seed S`` for S = 1..N (default 20) for each
backend given, and lists every check that ever failed or errored, with the seed
and the counterexample. A correct framework must give none: a failure here is
a tolerance that is too tight or a strategy that generates ill-conditioned
inputs, to be fixed at the source (filter the inputs, or justify an override
in conformance/tolerances.py), never by loosening blindly.

A failure that is one of the framework's documented defects
(:data:`dlterms.conformance.known_defects.DEFAULT_RUN_DEFECTS`, each written up on the site), or a
crash that is one of its documented crashes (``DEFAULT_RUN_CRASHES``: the op and the words the
framework printed as it died), is listed apart, as ``documented``: a correct run may meet those
where its cases reach them. Every other failed or errored row is an alarm, and the script exits 1
if there is any.

``--terms`` restricts each run to some glossary terms (``dlterms conform --terms``), for the
slow frameworks: e.g. the terms whose checks changed, over many seeds.

``--dtype`` chooses the dtypes (``dlterms conform --dtype``; e.g. ``float16,bfloat16``).

``--sizes`` adds the size tier (``dlterms conform --sizes``); ``--only-sizes`` keeps only its checks
(``--terms`` still applies), for measuring the tier over many seeds without rerunning the default one.

Usage: ``python benchmarks/no_false_alarms.py [--seeds 20] [--backends reference,numpy,torch] [--jobs 2]
[--terms sigmoid,tanh] [--dtype float16,bfloat16] [--sizes | --only-sizes] [--reports DIR]``

``--reports DIR`` reads reports written before (``dlterms conform --json DIR/jax-3.json``, e.g. by a
loop of whole commands run elsewhere) instead of running them, and summarises them the same way.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def size_tier_rows(backend: str, seed: int, terms: str | None, dtype: str | None) -> list[dict[str, object]]:
    """The size tier's rows of one seed, run in this process (``dlterms conform`` has no flag for the tier alone)."""
    from dlterms.conformance import load_backend
    from dlterms.conformance.runner import DEFAULT_DTYPES, run
    from dlterms.conformance.settings import SIZES_TIMEOUT_S

    rows = run(
        load_backend(backend),
        terms=terms.split(",") if terms else None,
        dtypes=dtype.split(",") if dtype else DEFAULT_DTYPES,
        seed=seed,
        timeout_s=SIZES_TIMEOUT_S,
        tiers=("sizes",),
    )
    return [r.as_dict() for r in rows]


def classify(seed: int, rows: list[dict[str, Any]], backend: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The failed or errored rows of one run of ``backend``, as (alarms, documented defects met), each with its seed."""
    from dlterms.conformance.known_defects import is_documented

    alarms: list[dict[str, Any]] = []
    met: list[dict[str, Any]] = []
    for row in rows:
        if row["status"] not in ("fail", "error"):
            continue
        entry = {"seed": seed, "id": row["id"], "message": row["message"][:300]}
        entry["counterexample"] = row["counterexample"]
        (met if is_documented(backend, row) else alarms).append(entry)
    return alarms, met


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=20)
    p.add_argument("--backends", default="reference,numpy,torch")
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--terms", help="comma-separated glossary terms (default: all)")
    p.add_argument("--dtype", help="comma-separated dtypes (default: dlterms conform's)")
    p.add_argument("--first-seed", type=int, default=1, help="the first seed (default 1): seeds first..first+N−1")
    p.add_argument("--sizes", action="store_true", help="add the size tier (dlterms conform --sizes)")
    p.add_argument("--only-sizes", action="store_true", help="run the size tier's checks only")
    p.add_argument("--out", help="write the summary as JSON to this file")
    p.add_argument("--reports", help="read each run's report from DIR/<backend>-<seed>.json instead of running it")
    args = p.parse_args()
    summary: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            alarms: list[dict[str, Any]] = []
            documented: list[dict[str, Any]] = []
            checks = 0
            start = time.perf_counter()
            terms = ["--terms", args.terms] if args.terms else []
            terms += ["--dtype", args.dtype] if args.dtype else []
            terms += ["--sizes"] if args.sizes else []
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                if args.reports:
                    rows = json.loads((Path(args.reports) / f"{backend}-{seed}.json").read_text())["results"]
                elif args.only_sizes:
                    rows = size_tier_rows(backend, seed, args.terms, args.dtype)
                else:
                    out = Path(tmp) / f"{backend}-{seed}.json"
                    subprocess.run(
                        [sys.executable, "-m", "dlterms", "conform", "--backend", backend, "--seed", str(seed), "-q",
                         "--jobs", str(args.jobs), "--json", str(out), *terms],
                        capture_output=True, text=True,
                    )  # fmt: skip
                    rows = json.loads(out.read_text())["results"]
                checks += len(rows)
                new, met = classify(seed, rows, backend)
                alarms += new
                documented += met
            summary[backend] = {"seeds": args.seeds, "terms": args.terms, "dtype": args.dtype, "checks": checks,
                                "alarms": alarms, "documented": documented,
                                "seconds": round(time.perf_counter() - start, 1)}  # fmt: skip
            print(f"{backend}: {args.seeds} seeds, {checks} checks, {len(alarms)} alarms, {len(documented)} documented")
            for a in alarms:
                print(f"  alarm, seed {a['seed']}: {a['id']}: {a['message']}")
            for a in documented:
                print(f"  documented defect, seed {a['seed']}: {a['id']}")
    if args.out:
        Path(args.out).write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    sys.exit(1 if any(s["alarms"] for s in summary.values()) else 0)


if __name__ == "__main__":
    main()
