"""Caught fraction of the shipped bugs: every replay through the default run and the size tier.

For each bug of tests/conformance/shipped_bugs.py (a real framework's wrong-result bug
replayed as a broken torch op), runs ``dlterms conform`` on the torch adapter with that op
replaced, restricted to the op's glossary term and the bug's dtype, for seeds 0..N−1
(``--seeds``, default 3); then, when ``dlterms conform`` has ``--sizes``, the check the size
tier adds (``<op>.matches_reference_at_sizes``, alone with ``--repro``): the size tier catches a
bug that the default run or that check catches. A run catches the bug when an invariant of
the op (``<op>.…``) fails or errors (a timeout is no catch: it is listed apart). Prints, per
tier, the fraction of that tier's bugs caught on every seed, and per bug which invariants
caught it.

Usage: ``python benchmarks/shipped_bugs.py [--seeds 3] [--bugs NAME,NAME] [--json PATH]``
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import json
import sys
import tempfile
import time
import types
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "conformance"))

import shipped_bugs as sb  # noqa: E402  (the catalogue lives beside its tests)
from dlterms.conformance.backends import torch as torch_backend  # noqa: E402

from dlterms.cli import main as dlterms_main  # noqa: E402
from dlterms.files import atomic_write_text  # noqa: E402
from dlterms.ops import AT_SIZES  # noqa: E402

_counter = itertools.count()


def broken_spec(bug: sb.ShippedBug) -> str:
    """A ``module:attribute`` backend: the torch adapter with the bug's op replaced by its replay."""
    ns = types.SimpleNamespace(**{k: getattr(torch_backend, k) for k in dir(torch_backend) if not k.startswith("_")})
    ns.name = f"shipped-{bug.name}"
    setattr(ns, bug.op, bug.replay)
    module = types.ModuleType(f"_dlterms_shipped_{next(_counter)}")
    module.backend = ns  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    return f"{module.__name__}:backend"


def run(bug: sb.ShippedBug, seed: int, extra: list[str]) -> dict[str, Any]:
    """One conform run: the exit code, the op's failed invariants, the seconds it took."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        argv = ["conform", "--backend", broken_spec(bug), "--terms", bug.term, "--dtype", bug.dtype]
        argv += ["--seed", str(seed), "--json", str(report), "-q", *extra]
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            code = dlterms_main(argv)
        seconds = time.perf_counter() - start
        rows = json.loads(report.read_text())["results"] if report.exists() else []
    timeouts = sorted(r["invariant"] for r in rows if r["status"] == "error" and r["message"].startswith("timeout"))
    caught = sb.caught_by(bug, rows)
    return {"seed": seed, "code": code, "caught_by": caught, "timeouts": timeouts, "seconds": round(seconds, 2)}


def _union(default: dict[str, Any], at_sizes: dict[str, Any]) -> dict[str, Any]:
    """The size tier's verdict on one seed: the default run's checks plus the one it adds."""
    return {
        "seed": default["seed"],
        "code": max(default["code"], at_sizes["code"]),
        "caught_by": sorted({*default["caught_by"], *at_sizes["caught_by"]}),
        "timeouts": sorted({*default["timeouts"], *at_sizes["timeouts"]}),
        "seconds": round(default["seconds"] + at_sizes["seconds"], 2),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=3, help="seeds 0..N−1 (default 3)")
    p.add_argument("--bugs", help="comma-separated bug names (default: all)")
    p.add_argument("--json", help="write the results as JSON to this file (atomically)")
    args = p.parse_args()
    if args.seeds < 1:
        p.error(f"--seeds {args.seeds}: expected at least 1")
    names = set(args.bugs.split(",")) if args.bugs else None
    unknown = (names or set()) - {b.name for b in sb.BUGS}
    if unknown:
        p.error(f"--bugs: unknown bug(s) {sorted(unknown)}; expected names from tests/conformance/shipped_bugs.py")
    bugs = [b for b in sb.BUGS if names is None or b.name in names]
    tiers = ["default", "sizes"]
    results = []
    for bug in bugs:
        runs = {"default": [run(bug, seed, []) for seed in range(args.seeds)]}
        check = f"{bug.op}.{AT_SIZES}[{bug.dtype}]"
        at_sizes = [run(bug, s, ["--sizes", "--repro", check]) for s in range(args.seeds)]
        runs["sizes"] = [_union(d, z) for d, z in zip(runs["default"], at_sizes, strict=True)]
        results.append({"name": bug.name, "framework": bug.framework, "url": bug.url, "op": bug.op,
                        "dtype": bug.dtype, "tier": bug.tier, "runs": runs})  # fmt: skip
        line = "  ".join(
            f"{tier}: {sum(bool(r['caught_by']) for r in rs)}/{len(rs)} "
            f"{sorted({i for r in rs for i in r['caught_by']}) or '-'}"
            for tier, rs in runs.items()
        )
        timeouts = sorted({i for rs in runs.values() for r in rs for i in r["timeouts"]})
        print(f"{bug.name:40s} [{bug.tier:7s}] {line}" + (f"  (timed out: {timeouts})" if timeouts else ""), flush=True)
    summary = {}
    for tier in tiers:
        of_tier = [r for r in results if r["tier"] == tier]
        every = [r for r in of_tier if all(x["caught_by"] for x in r["runs"][tier])]
        some = [r for r in of_tier if any(x["caught_by"] for x in r["runs"][tier])]
        summary[tier] = {"bugs": len(of_tier), "caught_every_seed": len(every), "caught_some_seed": len(some)}
        print(f"tier {tier}: {len(every)}/{len(of_tier)} caught on every seed, {len(some)}/{len(of_tier)} on some seed")
    if args.json:
        doc = {"seeds": list(range(args.seeds)), "summary": summary, "bugs": results}
        atomic_write_text(args.json, json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
