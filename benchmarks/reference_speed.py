"""The reference's own speed, per function, on the inputs the conformance suite generates.

For every op the suite registers (:data:`dlterms.conformance.registry.OPS`),
draws the first ``--cases`` float64 cases of its strategy, exactly as a
derandomized run draws them, and times the reference function and its
``<op>_vjp`` on them: µs per call as the median of ``--repeat`` passes over
all the cases. Also reports the median number of input elements per case, so
the numbers can be read per element.

Usage: ``python benchmarks/reference_speed.py [--cases 25] [--repeat 7] [--out FILE.json]``
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from typing import Any

import dlterms.conformance.invariants  # noqa: F401  (registers the ops)
import numpy as np
from dlterms.conformance.registry import OPS, OpSpec
from hypothesis import HealthCheck, given, settings

from dlterms import reference


def draw_cases(spec: OpSpec, n: int) -> list[dict[str, Any]]:
    """The first ``n`` float64 cases of the op's strategy, as a derandomized suite run draws them."""
    cases: list[dict[str, Any]] = []

    @settings(max_examples=n, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(spec.cases("float64"))
    def collect(case: dict[str, Any]) -> None:
        cases.append(case)

    collect()
    return cases[:n]


def elements(spec: OpSpec, case: dict[str, Any]) -> int:
    return sum(int(np.asarray(case[k]).size) for k in spec.tensors if case.get(k) is not None)


def with_cotangent(op: str, case: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    out = getattr(reference, op)(**case)
    items = out if isinstance(out, tuple) else (out,)
    cots = [rng.standard_normal(np.asarray(o, dtype=np.float64).shape).tolist() for o in items]
    return {**case, "cotangent": cots[0] if len(cots) == 1 else tuple(cots)}


def per_call_us(fn: Any, calls: list[dict[str, Any]], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for kwargs in calls:
            fn(**kwargs)
        times.append((time.perf_counter() - start) / len(calls) * 1e6)
    return statistics.median(times)


def measure(n_cases: int, repeat: int) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    rows = {}
    for op, spec in OPS.items():
        cases = draw_cases(spec, n_cases)
        row = {
            "cases": len(cases),
            "median_elements": statistics.median(elements(spec, c) for c in cases),
            "forward_us": per_call_us(getattr(reference, op), cases, repeat),
        }
        vjp = getattr(reference, f"{op}_vjp", None)
        if vjp is not None:
            row["vjp_us"] = per_call_us(vjp, [with_cotangent(op, c, rng) for c in cases], repeat)
        rows[op] = row
    return rows


def table(rows: dict[str, Any]) -> str:
    lines = ["| function | cases | median elements | µs per call | µs per VJP call |", "|---|---|---|---|---|"]
    for op, r in rows.items():
        vjp = f"{r['vjp_us']:.0f}" if "vjp_us" in r else "—"
        lines.append(f"| {op} | {r['cases']} | {r['median_elements']:.0f} | {r['forward_us']:.0f} | {vjp} |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cases", type=int, default=25, help="cases per op (the suite's default examples per check)")
    p.add_argument("--repeat", type=int, default=7, help="timed passes over the cases (median)")
    p.add_argument("--out", help="write the results as JSON")
    args = p.parse_args()
    rows = measure(args.cases, args.repeat)
    print(table(rows))
    if args.out:
        meta = {"machine": platform.processor() or platform.machine(), "python": platform.python_version()}
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump({"meta": meta, "settings": vars(args), "results": rows}, f, indent=2)


if __name__ == "__main__":
    main()
