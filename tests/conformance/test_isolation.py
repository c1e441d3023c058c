"""A crash, an exit, an abort or a hang in C code becomes an error row naming it and the case; the run goes on."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema
import pytest
from dlterms.conformance import isolation, load_backend, memory_maps
from dlterms.conformance.isolation import choose_isolation, next_check, run_isolated, worker_life, worker_share
from dlterms.conformance.report import load_schema
from dlterms.conformance.runner import RunSettings, plan
from dlterms.conformance.settings import CHECKS_PER_WORKER, DEFAULT_TIERS, MAPPINGS_SHARE

from dlterms.cli import main

if TYPE_CHECKING:
    from conftest import ReluCalls

CRASH_MODULE = '''
"""A torch adapter whose tanh segfaults, relu exits and sigmoid aborts."""
import ctypes
import os
from types import SimpleNamespace

from dlterms.conformance.backends import torch as base

ops = {k: getattr(base, k) for k in dir(base) if not k.startswith("_")}


def tanh(x):
    return ctypes.string_at(0)  # reads address 0: SIGSEGV


def relu(x):
    os._exit(3)


def sigmoid(x):
    # as XLA dies: Abseil's fatal line, its indented continuation, then the native stack
    os.write(2, b"F1129 18:25:37.520100   10134 fake_kernel.cc:42] Check failed: n > 0 (0 vs. 0)\\n"
                b"\\tshape: f64[0]\\n*** Check failure stack trace: ***\\n    @     0x7ff6a02ca75f  fake()\\n")
    os.abort()


backend = SimpleNamespace(**{**ops, "name": "crashmod", "tanh": tanh, "relu": relu, "sigmoid": sigmoid})
'''


def _module_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, source: str) -> str:
    """``source`` as the module file ``name.py`` on sys.path (a spawned worker can import it too); its backend spec."""
    (tmp_path / f"{name}.py").write_text(source, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop(name, None)
    return f"{name}:backend"


@pytest.fixture
def crashmod(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The crashing adapter as a module file on sys.path (a spawned worker can import it too)."""
    return _module_on_path(tmp_path, monkeypatch, "crashmod", CRASH_MODULE)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_crashing_ops_give_error_rows_naming_the_signal_and_the_case(crashmod: str, tmp_path: Path, jobs: str) -> None:
    """Segfault, os._exit(3) and abort each become error rows with the signal or exit code and the case."""
    out = tmp_path / f"r{jobs}.json"
    code = main(["conform", "--backend", crashmod, "--terms", "tanh,relu,sigmoid,softmax", "--dtype", "float64",
                 "--max-examples", "3", "--jobs", jobs, "--json", str(out)])  # fmt: skip
    assert code == 1
    report = json.loads(out.read_text(encoding="utf-8"))
    jsonschema.validate(report, load_schema())
    rows = {r["invariant"]: r for r in report["results"]}
    expected = {"tanh.odd": "crashed: SIGSEGV", "relu.idempotent": "crashed: the worker exited with code 3",
                "sigmoid.symmetry": "crashed: SIGABRT"}  # fmt: skip
    for invariant, message in expected.items():
        row = rows[invariant]
        assert row["status"] == "error" and row["message"].startswith(message), row
        assert row["counterexample"] is not None and "x" in row["counterexample"]
        assert row["repro"]
    assert rows["tanh.odd"]["details"]["crash"] == {"exit_code": -signal.SIGSEGV, "signal": "SIGSEGV"}
    assert "in tanh" in rows["tanh.odd"]["details"]["traceback"]  # faulthandler's stack names the adapter's frame
    assert rows["relu.idempotent"]["details"]["crash"] == {"exit_code": 3, "signal": None}
    said = "fake_kernel.cc:42] Check failed: n > 0 (0 vs. 0) shape: f64[0]"  # what the aborting op printed
    assert rows["sigmoid.symmetry"]["details"]["crash"] == {"exit_code": -signal.SIGABRT, "signal": "SIGABRT",
                                                            "message": said}  # fmt: skip
    assert rows["sigmoid.symmetry"]["message"].endswith(f"a new worker. It said: {said}")
    softmax = [r for r in report["results"] if r["term"] == "softmax"]
    assert softmax and {r["status"] for r in softmax} == {"pass"}
    planned = plan(["tanh", "relu", "sigmoid", "softmax"], ["float64"], tiers=DEFAULT_TIERS)  # the default run's
    assert [r["id"] for r in report["results"]] == [c.key for c in planned]
    facts = {r["id"]: r for r in report["special_values"]}
    assert facts["tanh.nan_propagates"]["value"].startswith("error: crashed: SIGSEGV")
    assert facts["softmax.nan_poisons_its_row"]["matches_canonical"] is True  # measured although tanh crashed
    conventions = {c["id"]: c for c in report["conventions"]}  # through the plug-in's ops, in workers too
    assert conventions["relu.sign_of_negative_zero"]["value"] == "error: crashed: the worker exited with code 3"
    assert conventions["relu.derivative_at_zero"]["api"] == "crashmod adapter: relu + vjp (float64)"
    assert conventions["sigmoid.subnormal_result"]["value"] == "error: crashed: SIGABRT (signal 6)"
    assert conventions["max_pool2d.gradient_on_ties"]["value"] == "first"  # torch's max_pool2d, after the crashes


def _hang(x: Any, negative_slope: float = 0.01) -> Any:
    """A leaky_relu stuck where SIGALRM cannot reach it, as a call in C code would be."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    time.sleep(3600)


def test_hang_in_c_code_is_cut_by_the_supervisor(broken_backend: Callable[..., str]) -> None:
    """A call that blocks SIGALRM and sleeps is killed after the time limit plus the margin: a timeout error row."""
    checks = plan(["leaky-relu", "softmax"], ["float64"])
    hung, passing = checks[0], next(c for c in checks if c.invariant.term == "softmax")
    started = time.monotonic()
    bk = load_backend(broken_backend("torch", leaky_relu=_hang))
    rows = list(run_isolated(bk, [hung, passing], mode="fork", settings=RunSettings(max_examples=2, timeout_s=0.5)))
    assert time.monotonic() - started < 30
    assert rows[0].status == "error" and rows[0].message.startswith("timeout: ran past its time limit of 0.5 s")
    assert "the worker was killed" in rows[0].message and rows[0].counterexample is not None
    assert rows[1].status == "pass"


def test_spawned_workers_survive_a_crash(crashmod: str) -> None:
    """Spawned workers (the mode for jax and tensorflow) load the backend themselves and report a crash as well."""
    checks = [
        c for c in plan(["tanh", "softmax"], ["float64"]) if c.invariant.id in ("tanh.odd", "softmax.sums_to_one")
    ]
    rows = list(run_isolated(load_backend(crashmod), checks, mode="spawn", spec=crashmod,
                             settings=RunSettings(max_examples=2)))  # fmt: skip
    assert [r.key for r in rows] == [c.key for c in checks]
    assert rows[0].status == "error" and rows[0].message.startswith("crashed: SIGSEGV")
    assert rows[1].status == "pass"


def test_jax_and_tensorflow_adapters_are_spawned_not_forked(broken_backend: Callable[..., str]) -> None:
    """auto isolation forks torch, spawns JAX, and runs in-process an in-memory JAX adapter that neither can reach."""
    assert choose_isolation("auto", load_backend("torch"), "torch").mode == "fork"
    assert choose_isolation("auto", load_backend("jax"), "jax").mode == "spawn"
    spec = broken_backend("jax")
    isolation = choose_isolation("auto", load_backend(spec), spec)
    assert isolation.mode == "off" and "jax cannot be forked" in isolation.reason
    with pytest.raises(ValueError, match=r"--isolation spawn: the adapter's module .* exists only in this process"):
        choose_isolation("spawn", load_backend(spec), spec)


@pytest.mark.parametrize("isolation", ["auto", "off"])
def test_conform_leaves_no_hypothesis_folder(tmp_path: Path, isolation: str) -> None:
    """`dlterms conform` run in a fresh directory leaves no .hypothesis folder there, in workers or in-process."""
    proc = subprocess.run(
        [sys.executable, "-m", "dlterms", "conform", "--backend", "reference", "--terms", "relu", "--max-examples", "3",
         "--isolation", isolation],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env={**os.environ, "HYPOTHESIS_STORAGE_DIRECTORY": ""},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert not (tmp_path / ".hypothesis").exists()


def test_error_row_carries_the_trimmed_traceback(
    conform: Callable[..., Any], broken_backend: Callable[..., str]
) -> None:
    """An op that raises gives an error row whose details hold the traceback down to the op, without Hypothesis."""

    def tanh(x: Any) -> Any:
        raise RuntimeError("tanh kernel not implemented for this layout")

    run = conform(broken_backend("numpy", tanh=tanh), "--terms", "tanh", "--dtype", "float64", "--max-examples", "3")
    row = next(r for r in run.rows() if r["invariant"] == "tanh.odd")
    trace = row["details"]["traceback"]
    assert ", in tanh\n" in trace and trace.endswith("RuntimeError: tanh kernel not implemented for this layout")
    assert "hypothesis" not in trace and len(trace.splitlines()) <= 20
    assert "raise RuntimeError" in run.out  # the terminal shows it too


CONVENTION_CRASH_MODULE = '''
"""A numpy adapter whose declared convention probes segfault, exit, hang in C code and overrun in Python."""
import os
import signal
import time
from types import SimpleNamespace

from dlterms.conformance.backends import numpy as base
from dlterms.conformance.conventions import Probe

ops = {k: getattr(base, k) for k in dir(base) if not k.startswith("_")}


def segfaults():
    os.kill(os.getpid(), signal.SIGSEGV)


def exits():
    os._exit(4)


def hangs_in_c():
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})  # as a call in C code: SIGALRM cannot reach it
    time.sleep(3600)


def overruns():
    time.sleep(3600)


conventions = (
    Probe("softmax.default_axis", "probemod.softmax (no axis)", segfaults),
    Probe("softmax.axis_none", "probemod.softmax(axis=None)", exits),
    Probe("cross_entropy.default_reduction", "probemod.cross_entropy", hangs_in_c),
    Probe("leaky_relu.default_negative_slope", "probemod.leaky_relu", overruns),
)
backend = SimpleNamespace(**{**ops, "name": "probemod", "conventions": conventions})
'''


@pytest.fixture
def probemod(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The adapter with crashing convention probes, as a module file on sys.path (spawned workers import it)."""
    return _module_on_path(tmp_path, monkeypatch, "probemod", CONVENTION_CRASH_MODULE)


@pytest.mark.parametrize("isolation", ["fork", "spawn"])
def test_crashing_convention_probes_are_recorded_and_the_run_goes_on(
    probemod: str, tmp_path: Path, isolation: str
) -> None:
    """Convention probes that segfault, exit or hang read 'error: ...' with their api; every check row is there."""
    out, page = tmp_path / "r.json", tmp_path / "r.html"
    started = time.monotonic()
    code = main(["conform", "--backend", probemod, "--terms", "relu,softmax", "--dtype", "float64",
                 "--max-examples", "3", "--timeout", "1", "--isolation", isolation, "--json", str(out),
                 "--html", str(page)])  # fmt: skip
    assert time.monotonic() - started < 120
    assert code == 0  # conventions are facts: a crashing probe fails no check
    report = json.loads(out.read_text(encoding="utf-8"))
    jsonschema.validate(report, load_schema())
    planned = plan(["relu", "softmax"], ["float64"], tiers=DEFAULT_TIERS)  # the default run's checks
    assert [r["id"] for r in report["results"]] == [c.key for c in planned]
    assert {r["status"] for r in report["results"]} == {"pass", "unsupported"}  # NumPy has no vjp
    got = {c["id"]: c for c in report["conventions"]}
    assert got["softmax.default_axis"]["value"] == "error: crashed: SIGSEGV (signal 11)"
    assert got["softmax.default_axis"]["api"] == "probemod.softmax (no axis)"
    assert got["softmax.axis_none"]["value"] == "error: crashed: the worker exited with code 4"
    # blocked SIGALRM: killed by the supervisor HARD_LIMIT_MARGIN_S after the 1 s limit of --timeout 1
    assert got["cross_entropy.default_reduction"]["value"] == "error: killed: ran past its time limit of 1 s"
    assert got["leaky_relu.default_negative_slope"]["value"] == "error: CheckTimeout: ran past its time limit of 1 s"
    for cid in ("softmax.default_axis", "softmax.axis_none", "cross_entropy.default_reduction"):
        assert got[cid]["matches_canonical"] is None, cid
    assert got["relu.sign_of_negative_zero"]["value"] == "+0.0"  # measured through the op after the crashes
    assert got["relu.sign_of_negative_zero"]["api"] == "probemod adapter: relu (float64)"
    assert "error: crashed: SIGSEGV (signal 11)" in page.read_text(encoding="utf-8")


def test_where_mappings_cannot_be_counted_only_a_jax_adapters_workers_are_replaced() -> None:
    """The fallback share: XLA:CPU's memory mappings grow with every compiled program, so a JAX adapter's workers
    answer CHECKS_PER_WORKER checks each; PyTorch's, NumPy's and TensorFlow's keep one worker."""
    pytest.importorskip("jax")
    assert worker_share(load_backend("jax")) == CHECKS_PER_WORKER
    assert worker_share(load_backend("numpy")) is None and worker_share(load_backend("torch")) is None
    pytest.importorskip("tensorflow")
    assert worker_share(load_backend("tensorflow")) is None


def test_a_worker_not_on_jax_answers_every_check(relu_calls: Callable[[str], ReluCalls]) -> None:
    """With no share given, five checks of an adapter on no recycled framework run in one worker process."""
    calls = relu_calls("torch")
    spec = calls.spec
    checks = [c for c in plan(["relu"], ["float32", "float64"]) if c.invariant.tier == "default"][:5]
    rows = list(run_isolated(load_backend(spec), checks, mode="fork", spec=spec, settings=RunSettings(max_examples=2)))
    assert [r.key for r in rows] == [c.key for c in checks]
    assert len(calls.by_process()) == 1


def test_a_free_worker_keeps_to_its_term_then_takes_one_no_other_worker_is_on() -> None:
    """Its own term's first pending check; else the first of a term no other worker is on; else the first."""
    terms = ["a", "a", "b", "b", "c"]
    assert next_check([1, 2, 3, 4], terms, last="a", others={"b"}) == 1
    assert next_check([2, 3, 4], terms, last="a", others={"b"}) == 4
    assert next_check([2, 3, 4], terms, last=None, others=set()) == 2
    assert next_check([3], terms, last="c", others={"b"}) == 3
    with pytest.raises(ValueError, match="pending is empty"):
        next_check([], terms, last="a", others=set())


def test_with_two_workers_a_terms_checks_run_in_one_worker(relu_calls: Callable[[str], ReluCalls]) -> None:
    """Two relu checks and six sigmoid checks in two workers: every relu call comes from one process (the one that
    took the first relu check keeps to relu), and every row comes back in the run's order."""
    calls = relu_calls("torch")
    spec = calls.spec
    relu = [c for c in plan(["relu"], ["float32", "float64"]) if c.invariant.id == "relu.matches_reference"]
    sigmoid = [c for c in plan(["sigmoid"], ["float32", "float64"]) if c.invariant.tier == "default"][:6]
    assert len(relu) == 2 and len(sigmoid) == 6 and "relu" not in {op for c in sigmoid for op in c.invariant.ops}
    checks = relu + sigmoid
    rows = list(run_isolated(load_backend(spec), checks, mode="fork", spec=spec, jobs=2,
                             settings=RunSettings(max_examples=2)))  # fmt: skip
    assert [r.key for r in rows] == [c.key for c in checks]
    assert len(calls.by_process()) == 1


def test_a_worker_is_replaced_after_its_share_of_checks(relu_calls: Callable[[str], ReluCalls]) -> None:
    """With two checks per worker, five checks run in three worker processes, and every row comes back in order."""
    calls = relu_calls("torch")
    spec = calls.spec
    checks = [c for c in plan(["relu"], ["float32", "float64"]) if c.invariant.tier == "default"][:5]
    assert len(checks) == 5
    rows = list(run_isolated(load_backend(spec), checks, mode="fork", spec=spec, checks_per_worker=2,
                             settings=RunSettings(max_examples=2)))  # fmt: skip
    assert [r.key for r in rows] == [c.key for c in checks]
    assert all(r.status in ("pass", "fail") for r in rows), [(r.key, r.status, r.message) for r in rows]
    pids = calls.by_process()
    assert len(pids) == 3 and os.getpid() not in pids


def test_a_worker_is_replaced_once_its_mappings_pass_the_budget(
    relu_calls: Callable[[str], ReluCalls], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a budget every worker has passed on its first check, five checks run in five worker processes."""
    calls = relu_calls("torch")
    spec = calls.spec
    monkeypatch.setattr(isolation, "MAPPINGS_SHARE", 1e-9)  # a budget of 0 mappings
    checks = [c for c in plan(["relu"], ["float32", "float64"]) if c.invariant.tier == "default"][:5]
    rows = list(run_isolated(load_backend(spec), checks, mode="fork", spec=spec, settings=RunSettings(max_examples=2)))
    assert [r.key for r in rows] == [c.key for c in checks]
    assert all(r.status in ("pass", "fail") for r in rows), [(r.key, r.status, r.message) for r in rows]
    assert len(calls.by_process()) == 5


def test_a_runs_workers_get_half_the_kernels_mapping_limit(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Where /proc is readable every framework's workers get the mapping budget, a JAX adapter's the share of
    CHECKS_PER_WORKER checks as well; where the mappings cannot be counted, only that share."""
    limit = memory_maps.mapping_limit()
    if limit is None or memory_maps.count_mappings() is None:
        pytest.skip("this system has no /proc/self/maps or vm.max_map_count")
    numpy = load_backend("numpy")
    assert (worker_life(numpy).budget, worker_life(numpy).checks) == (int(limit * MAPPINGS_SHARE), None)
    assert worker_life(numpy, checks_per_worker=3).checks == 3
    jax = load_backend("jax") if importlib.util.find_spec("jax") else None
    if jax is not None:
        assert (worker_life(jax).budget, worker_life(jax).checks) == (int(limit * MAPPINGS_SHARE), CHECKS_PER_WORKER)
    monkeypatch.setattr(memory_maps, "MAPS_FILE", str(tmp_path / "no-such-file"))
    assert (worker_life(numpy).budget, worker_life(numpy).checks) == (None, None)
    if jax is not None:
        assert (worker_life(jax).budget, worker_life(jax).checks) == (None, CHECKS_PER_WORKER)
