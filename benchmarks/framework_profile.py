"""Where a full conformance run's time goes, per framework, measured in one go on this machine.

For each framework (default: reference, numpy, torch, jax, tensorflow) a fresh
interpreter runs the full default suite in-process (``run_checks`` over
``plan()``: every term, float32 and float64, 25 examples, seed 0) with timers
around

* the adapter's calls (every canonical op, ``asarray``, ``to_numpy``, ``vjp``;
  outermost calls only): the time *inside the framework*, compilation included;
* the framework's compilation, where it says: JAX's ``jax.monitoring`` events
  (tracing to a jaxpr, lowering to MLIR, XLA's backend compile) and the
  programs it compiled (JAX's "Compiling ... with global shapes and types"
  log record, read at DEBUG level without turning ``jax_log_compiles`` on);
  TensorFlow's ``tf.function`` traces (TensorFlow logs each trace of a
  concrete function; the adapter runs eagerly, so any trace is Keras'); PyTorch and NumPy run
  eagerly and compile nothing;
* the invariants' checks (the property Hypothesis calls once per example):
  the run's wall time minus this is the time *inside Hypothesis* (generating,
  shrinking, its engine);
* the public functions of ``dlterms.reference`` (outermost calls, wrapped before
  the suite is imported so that every ``from dlterms.reference import f`` sees
  the timer): the time *inside the reference*;

and counts the distinct call signatures (op, and each array argument's shape
and dtype) and the rows' statuses. Where ``dlterms conform`` replaces its worker
every :data:`~dlterms.conformance.settings.CHECKS_PER_WORKER` checks (JAX:
:func:`~dlterms.conformance.isolation.worker_share`), the run empties the
framework's caches at the same points (``jax.clear_caches()``): one process
holding every program of a full JAX run exhausts Linux's memory mappings
(``vm.max_map_count``) at about check 786 of 816, and XLA then aborts. Each round runs every framework once, in
turn; the ratio of each framework's wall time to PyTorch's is taken within a
round, and the report gives medians over ``--repeat`` rounds.

``--cli`` also times the whole command ``dlterms conform --backend FW -q --jobs N``
(Python start-up, imports, worker processes and the report's probes included)
for each ``N`` of ``--jobs`` (default 1,2), and gives the speed-up of the largest ``N``.

JAX runs twice per round, on a compilation cache folder of its own that is
empty before the round (``DLTERMS_JAX_CACHE``, see
:mod:`dlterms.conformance.backends.jax`): *cold*, every program compiled (a
first run), then *warm*, every program read back from the cache (a CI job
that keeps the folder between runs). The user's own cache is never touched.

Usage: ``python benchmarks/framework_profile.py [--frameworks reference,numpy,torch,jax,tensorflow]
[--repeat 3] [--seed 0] [--terms T,...] [--cli] [--jobs 1,2] [--json FILE]``
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import logging
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

MARKER = "FRAMEWORK_PROFILE_JSON "
DEFAULT_FRAMEWORKS = "reference,numpy,torch,jax,tensorflow"
ADAPTER_CALLS = ("asarray", "to_numpy", "vjp")  # with the canonical ops: what counts as the framework's time


class Timer:
    """Seconds spent in the outermost calls of the functions it wraps (nested calls are not counted twice)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0
        self._depth = 0

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if self._depth:
                return fn(*args, **kwargs)
            self._depth += 1
            self.calls += 1
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start
                self._depth -= 1

        return timed


def signature(op: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """An op call's signature: the op and each array argument's shape and dtype (what a compiler keys on)."""
    arrays = [v for v in (*args, *kwargs.values()) if hasattr(v, "shape") and hasattr(v, "dtype")]
    return (op, *((tuple(int(d) for d in a.shape), str(a.dtype)) for a in arrays))


class TimedAdapter:
    """Stands in for an adapter: its ops, ``asarray``, ``to_numpy`` and ``vjp`` go through ``timer``.

    A wrapped function is made once per name, so an adapter that caches on the
    function (JAX's compiled VJPs) sees the same object at every call.
    """

    def __init__(self, impl: Any, ops: tuple[str, ...], timer: Timer, signatures: set[tuple[Any, ...]]) -> None:
        self._impl, self._ops, self._timer, self._signatures = impl, ops, timer, signatures
        self._wrapped: dict[str, Callable[..., Any]] = {}

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._impl, name)
        if not callable(value) or (name not in self._ops and name not in ADAPTER_CALLS):
            return value
        if name not in self._wrapped:
            self._wrapped[name] = self._timer.wrap(self._recorded(name, value) if name in self._ops else value)
        return self._wrapped[name]

    def _recorded(self, op: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def call(*args: Any, **kwargs: Any) -> Any:
            self._signatures.add(signature(op, args, kwargs))
            return fn(*args, **kwargs)

        return call


class CompileLog(logging.Handler):
    """Collects the programs a framework reports compiling or tracing (one log record each)."""

    def __init__(self, pattern: str) -> None:
        super().__init__(logging.DEBUG)
        self.pattern = re.compile(pattern)
        self.programs: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        found = self.pattern.search(record.getMessage())
        if found:
            self.programs.append((found.group(1), found.group(2) if found.lastindex and found.lastindex > 1 else ""))


def _listen(logger_name: str, handler: CompileLog) -> None:
    logger = logging.getLogger(logger_name)
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    logger.propagate = False


def jax_hooks() -> Callable[[], dict[str, Any]]:
    """Listen to JAX's compilation events; the returned function reads what they said."""
    import jax
    from jax import monitoring

    seconds: dict[str, float] = {}
    events: dict[str, int] = {}

    def on_duration(event: str, duration: float, **_: Any) -> None:
        seconds[event] = seconds.get(event, 0.0) + duration

    def on_event(event: str, **_: Any) -> None:
        events[event] = events.get(event, 0) + 1

    monitoring.register_event_duration_secs_listener(on_duration)
    monitoring.register_event_listener(on_event)
    log = CompileLog(r"Compiling (\S+) with global shapes and types (.*?)\. Argument mapping")
    _listen("jax._src.interpreters.pxla", log)

    def read() -> dict[str, Any]:
        trace = seconds.get("/jax/core/compile/jaxpr_trace_duration", 0.0)
        lower = seconds.get("/jax/core/compile/jaxpr_to_mlir_module_duration", 0.0)
        backend = seconds.get("/jax/core/compile/backend_compile_duration", 0.0)
        return {
            "compile_s": trace + lower + backend,
            "trace_s": trace,
            "lower_s": lower,
            "backend_compile_s": backend,
            "compiles": len(log.programs),
            "distinct_programs": len(set(log.programs)),
            "distinct_shapes": len({shapes for _, shapes in log.programs}),
            "persistent_cache_hits": events.get("/jax/compilation_cache/cache_hits", 0),
            "persistent_cache_misses": events.get("/jax/compilation_cache/cache_misses", 0),
            "persistent_cache_dir": jax.config.jax_compilation_cache_dir,
            "source": "jax.monitoring events; pxla's 'Compiling ...' log record",
        }

    return read


def tensorflow_hooks() -> Callable[[], dict[str, Any]]:
    """Count TensorFlow's graph traces (``tf.function`` and Keras functions) by wrapping the graph builder."""
    from tensorflow.python.framework import func_graph

    traced: list[str] = []
    timer = Timer()
    original = func_graph.func_graph_from_py_func

    def build(name: str, *args: Any, **kwargs: Any) -> Any:
        traced.append(str(name))
        return original(name, *args, **kwargs)

    func_graph.func_graph_from_py_func = timer.wrap(build)

    def read() -> dict[str, Any]:
        return {
            "compile_s": timer.seconds,
            "trace_s": timer.seconds,
            "compiles": len(traced),
            "distinct_programs": len(set(traced)),
            "distinct_shapes": None,
            "source": "tensorflow.python.framework.func_graph.func_graph_from_py_func calls (graph traces)",
        }

    return read


def eager_hooks() -> Callable[[], dict[str, Any]]:
    return lambda: {"compile_s": 0.0, "compiles": 0, "source": "eager: no compilation"}


HOOKS: dict[str, Callable[[], Callable[[], dict[str, Any]]]] = {"jax": jax_hooks, "tensorflow": tensorflow_hooks}


def jax_reset() -> None:
    """Empty JAX's caches, as a fresh worker process starts with none (see :func:`child`)."""
    import jax

    jax.clear_caches()


RESETS: dict[str, Callable[[], None]] = {"jax": jax_reset}


def child(
    framework: str, seed: int, terms: list[str] | None, max_examples: int | None, share: int | None = None
) -> dict[str, Any]:
    """One instrumented in-process run of the full suite against ``framework`` (see the module's docstring).

    The checks run in shares of ``share`` (default: the ``dlterms conform`` worker's,
    :func:`~dlterms.conformance.isolation.worker_share`; None: all at once), the
    framework's caches emptied between them (:data:`RESETS`).
    """
    import dlterms.reference as reference

    reference_timer = Timer()
    originals = {name: getattr(reference, name) for name in reference.__all__ if callable(getattr(reference, name))}
    for name, fn in originals.items():
        setattr(reference, name, reference_timer.wrap(fn))
    try:
        start = time.perf_counter()
        from dlterms.conformance.backends import CANONICAL_OPS, load_backend
        from dlterms.conformance.isolation import worker_share
        from dlterms.conformance.runner import Check, RunSettings, plan, run_checks, summary
        from dlterms.conformance.settings import DEFAULT_TIERS

        bk = load_backend(framework)
        import_s = time.perf_counter() - start
        read_compiles = HOOKS.get(framework, eager_hooks)()
        framework_timer, check_timer = Timer(), Timer()
        signatures: set[tuple[Any, ...]] = set()
        timed_bk = dataclasses.replace(bk, impl=TimedAdapter(bk.impl, CANONICAL_OPS, framework_timer, signatures))
        checks = [
            Check(dataclasses.replace(c.invariant, check=check_timer.wrap(c.invariant.check)), c.dtype)
            for c in plan(terms, tiers=DEFAULT_TIERS)  # the default run's checks (no --sizes)
        ]
        settings = RunSettings(seed=seed, **({"max_examples": max_examples} if max_examples else {}))
        share = share or worker_share(bk) or len(checks) or 1
        reset = RESETS.get(framework, lambda: None)
        rows = []
        start = time.perf_counter()
        for first in range(0, len(checks), share):
            if first:
                reset()  # where a fresh worker would take over (the time it takes is the run's)
            rows += run_checks(timed_bk, checks[first : first + share], settings)
        wall = time.perf_counter() - start
    finally:
        for name, fn in originals.items():
            setattr(reference, name, fn)
    return {
        "framework": framework,
        "version": bk.version,
        "seed": seed,
        "checks": len(rows),
        "shares": -(-len(checks) // share),
        "summary": summary(rows),
        "statuses": {r.key: r.status for r in rows},
        "import_s": import_s,
        "wall_s": wall,
        "framework_s": framework_timer.seconds,
        "framework_calls": framework_timer.calls,
        "distinct_call_signatures": len(signatures),
        "checks_s": check_timer.seconds,
        "hypothesis_s": wall - check_timer.seconds,
        "reference_s": reference_timer.seconds,
        "compilation": read_compiles(),
    }


def variants(framework: str, cache: str) -> list[tuple[str, dict[str, str]]]:
    """The runs of ``framework`` in a round: (label, environment). JAX runs twice on the compilation cache folder
    ``cache`` (empty before the round): cold (every program compiled) and warm (every program read back)."""
    if framework != "jax":
        return [(framework, {})]
    from dlterms.conformance.backends.jax import CACHE_ENV

    return [("jax (cold cache)", {CACHE_ENV: cache}), ("jax (warm cache)", {CACHE_ENV: cache})]


def run_child(framework: str, args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    cmd = [sys.executable, os.path.abspath(__file__), "--child", framework, "--seed", str(args.seed)]
    if args.terms:
        cmd += ["--terms", args.terms]
    if args.max_examples:
        cmd += ["--max-examples", str(args.max_examples)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **env})
    lines = [line for line in proc.stdout.splitlines() if line.startswith(MARKER)]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"{framework}: the profiling run exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1][len(MARKER) :])


def cli_wall(framework: str, jobs: int, args: argparse.Namespace, env: dict[str, str]) -> float:
    """Seconds of ``dlterms conform --backend FW -q --jobs N`` (exit 0 or 1: a run that found failures is timed too)."""
    cmd = [sys.executable, "-m", "dlterms", "conform", "--backend", framework, "-q", "--jobs", str(jobs)]
    cmd += ["--seed", str(args.seed)] + (["--terms", args.terms] if args.terms else [])
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **env})
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return elapsed


def machine() -> str:
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    return f"{platform.machine()}, {os.cpu_count()} cores, {model or platform.processor() or 'unknown CPU'}"


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def aggregate(rounds: list[dict[str, dict[str, Any]]], frameworks: list[str]) -> dict[str, Any]:
    """Medians over rounds per framework, and each framework's ratio to torch taken within each round."""
    out: dict[str, Any] = {}
    for fw in frameworks:
        runs = [r[fw] for r in rounds]
        med = {k: _median([run[k] for run in runs]) for k in ("wall_s", "framework_s", "checks_s", "hypothesis_s")}
        med["reference_s"] = _median([run["reference_s"] for run in runs])
        compiles = [run["compilation"] for run in runs]
        out[fw] = {
            "version": runs[0]["version"],
            "checks": runs[0]["checks"],
            "summary": runs[0]["summary"],
            "walls_s": [run["wall_s"] for run in runs],
            **med,
            "import_s": _median([run["import_s"] for run in runs]),
            "distinct_call_signatures": runs[0]["distinct_call_signatures"],
            "compilation": {
                k: (_median([c[k] for c in compiles]) if isinstance(v, float) else v) for k, v in compiles[0].items()
            },
            "same_statuses_every_round": all(run["statuses"] == runs[0]["statuses"] for run in runs),
        }
        if "torch" in frameworks:
            out[fw]["ratio_to_torch"] = _median([r[fw]["wall_s"] / r["torch"]["wall_s"] for r in rounds])
    return out


def table(result: dict[str, Any]) -> str:
    head = "| framework | wall | in framework | compile/trace | compiles | in Hypothesis | in reference | × torch |"
    lines = [head, "|---|---|---|---|---|---|---|---|"]
    for fw, m in result["frameworks"].items():
        c = m["compilation"]
        ratio = f"{m['ratio_to_torch']:.2f}" if "ratio_to_torch" in m else "—"
        lines.append(
            f"| {fw} {m['version']} | {m['wall_s']:.1f} s | {m['framework_s']:.1f} s | {c.get('compile_s', 0):.1f} s "
            f"| {c.get('compiles', 0)} | {m['hypothesis_s']:.1f} s | {m['reference_s']:.1f} s | {ratio} |"
        )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frameworks", default=DEFAULT_FRAMEWORKS)
    p.add_argument("--repeat", type=int, default=1, help="rounds (each runs every framework once); medians over them")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--terms", help="comma-separated glossary terms (default: all)")
    p.add_argument("--max-examples", type=int, help="examples per check (default: the run default)")
    p.add_argument("--cli", action="store_true", help="also time the whole `dlterms conform` command per --jobs")
    p.add_argument("--jobs", default="1,2", help="with --cli: the --jobs values to time (default 1,2)")
    p.add_argument("--json", help="write the numbers to this file (atomically)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.repeat < 1:
        p.error(f"--repeat {args.repeat}: expected at least 1")
    terms = args.terms.split(",") if args.terms else None
    if args.child:
        print(MARKER + json.dumps(child(args.child, args.seed, terms, args.max_examples)))
        return
    jobs = [int(j) for j in args.jobs.split(",")]
    load = os.getloadavg()
    rounds: list[dict[str, dict[str, Any]]] = []
    cli: dict[str, dict[int, list[float]]] = {}
    with tempfile.TemporaryDirectory(prefix="framework-profile-") as tmp:
        for i in range(args.repeat):
            rounds.append({})
            for fw in args.frameworks.split(","):
                for label, env in variants(fw, os.path.join(tmp, f"round{i}")):
                    rounds[-1][label] = run_child(fw, args, env)
                    print(f"round {i + 1}: {label} {rounds[-1][label]['wall_s']:.1f} s", flush=True)
                if not args.cli:
                    continue
                for j in jobs:
                    for label, env in variants(fw, os.path.join(tmp, f"cli{i}-jobs{j}")):
                        cli.setdefault(label, {}).setdefault(j, []).append(cli_wall(fw, j, args, env))
                        print(
                            f"round {i + 1}: {label} dlterms conform --jobs {j}: {cli[label][j][-1]:.1f} s", flush=True
                        )
    frameworks = list(rounds[0])
    result: dict[str, Any] = {
        "machine": machine(),
        "python": platform.python_version(),
        "load_average_before": list(load),
        "load_average_after": list(os.getloadavg()),
        "rounds": args.repeat,
        "seed": args.seed,
        "terms": terms,
        "frameworks": aggregate(rounds, frameworks),
    }
    if args.cli:
        result["cli"] = {
            fw: {
                **{f"jobs{j}_s": _median(cli[fw][j]) for j in jobs},
                **{f"jobs{j}_runs_s": cli[fw][j] for j in jobs},
                f"speedup_jobs{max(jobs)}": _median(cli[fw][min(jobs)]) / _median(cli[fw][max(jobs)]),
                **(
                    {"ratio_to_torch": _median(cli[fw][min(jobs)]) / _median(cli["torch"][min(jobs)])}
                    if "torch" in cli
                    else {}
                ),
            }
            for fw in cli
        }
    print(f"{result['machine']}, Python {result['python']}, {args.repeat} round(s), seed {args.seed}")
    print(table(result))
    for fw, c in result.get("cli", {}).items():
        print(f"dlterms conform --backend {fw}: " + ", ".join(f"{k} {v:.2f}" for k, v in c.items() if "runs" not in k))
    if args.json:
        from dlterms.files import atomic_write_text

        atomic_write_text(args.json, json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
