"""Reports CI can trust: formats validate, failures reproduce, runs are isolated and deterministic."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from xml.etree import ElementTree as ET

import jsonschema
import pytest
from dlterms.conformance.report import load_schema
from dlterms.conformance.settings import usable_cores

from dlterms.cli import main

BROKEN_MODULE = '''
"""A torch adapter with a softmax that forgets the max shift, one op that raises and one that hangs."""
import time
from types import SimpleNamespace

import torch

from dlterms.conformance.backends import torch as base

ops = {k: getattr(base, k) for k in dir(base) if not k.startswith("_")}


def softmax(x, axis=-1):
    e = torch.exp(x)
    return e / e.sum(dim=axis, keepdim=True)


def tanh(x):
    raise RuntimeError("tanh kernel not implemented for this layout")


def relu(x):
    time.sleep(3600)


backend = SimpleNamespace(**{**ops, "name": "brokenmod", "softmax": softmax, "tanh": tanh, "relu": relu})
'''


@pytest.fixture
def brokenmod(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A broken adapter as a real module file on sys.path (so a separate process can load it too)."""
    (tmp_path / "brokenmod.py").write_text(BROKEN_MODULE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    sys.modules.pop("brokenmod", None)
    return tmp_path


def _conform(tmp_path: Path, *args: str) -> tuple[int, dict]:
    out = tmp_path / f"r{time.monotonic_ns()}.json"
    code = main(["conform", "--json", str(out), *args])
    return code, json.loads(out.read_text())


def test_report_validates_against_the_shipped_schema(tmp_path: Path, brokenmod: Path) -> None:
    """A report with passes, a failure, an error and a timeout is valid dlterms.report/1."""
    code, report = _conform(
        tmp_path, "--backend", "brokenmod:backend", "--terms", "softmax,tanh,relu", "--max-examples", "10",
        "--timeout", "2", "--junit", str(tmp_path / "r.xml"), "--html", str(tmp_path / "r.html"),
    )  # fmt: skip
    assert code == 1
    jsonschema.validate(report, load_schema())
    statuses = {r["status"] for r in report["results"]}
    assert {"pass", "fail", "error"} <= statuses
    row = next(r for r in report["results"] if r["invariant"] == "softmax.finite_for_large_logits")
    assert row["status"] == "fail" and row["counterexample"] and row["repro"]
    assert row["details"]["index"] is not None or "index" in row["details"]
    for key in ("backend", "dtype", "device", "examples", "max_abs_err", "max_rel_err", "tolerance", "duration_s"):
        assert key in row
    assert report["settings"]["seed"] == 0 and report["dlterms_version"] and report["python"]


def test_raising_and_hanging_ops_give_error_rows_and_the_run_completes(tmp_path: Path, brokenmod: Path) -> None:
    """An op that raises and an op that hangs each become error rows; the other checks still run."""
    started = time.monotonic()
    code, report = _conform(
        tmp_path, "--backend", "brokenmod:backend", "--terms", "tanh,relu,sigmoid", "--max-examples", "5",
        "--timeout", "1", "--dtype", "float64",
    )  # fmt: skip
    assert code == 1
    rows = {r["invariant"]: r for r in report["results"]}
    assert rows["tanh.odd"]["status"] == "error" and "RuntimeError" in rows["tanh.odd"]["message"]
    assert rows["relu.idempotent"]["status"] == "error" and "timeout" in rows["relu.idempotent"]["message"]
    assert rows["sigmoid.symmetry"]["status"] == "pass"
    conventions = {c["id"]: c for c in report["conventions"]}  # the hung relu is not probed again for them
    assert conventions["relu.sign_of_negative_zero"]["value"] == (
        "error: OpTimedOut: relu ran past its time limit on a special value; not called again"
    )
    assert time.monotonic() - started < 120


def test_junit_xml_parses_with_one_testcase_per_check(tmp_path: Path, brokenmod: Path) -> None:
    """The JUnit file parses, counts agree with the JSON summary, and failures carry the invariant."""
    junit = tmp_path / "r.xml"
    _, report = _conform(
        tmp_path, "--backend", "brokenmod:backend", "--terms", "softmax", "--max-examples", "10", "--junit", str(junit)
    )
    suite = ET.parse(junit).getroot()
    assert suite.tag == "testsuite"
    cases = suite.findall("testcase")
    assert len(cases) == report["summary"]["total"] == int(suite.get("tests"))
    failures = [c for c in cases if c.find("failure") is not None]
    assert len(failures) == report["summary"]["fail"] == int(suite.get("failures"))
    assert any(f.find("failure").get("type") == "softmax.finite_for_large_logits" for f in failures)


def test_html_report_is_self_contained(tmp_path: Path, brokenmod: Path) -> None:
    """The HTML report has no outside URL, no script, and shows the failure's reproducer."""
    page = tmp_path / "r.html"
    _conform(
        tmp_path, "--backend", "brokenmod:backend", "--terms", "softmax", "--max-examples", "10", "--html", str(page)
    )
    text = page.read_text()
    assert text.startswith("<!doctype html>")
    assert not re.search(r"(src|href)\s*=\s*['\"]?(https?:)?//", text)
    assert "<script" not in text
    assert "softmax.finite_for_large_logits" in text and "load_backend(&#x27;brokenmod:backend&#x27;)" in text


def test_reproducer_snippet_fails_standalone(tmp_path: Path, brokenmod: Path) -> None:
    """The failure's snippet, run as its own Python process, reproduces the failure (exit 1)."""
    _, report = _conform(tmp_path, "--backend", "brokenmod:backend", "--terms", "softmax", "--max-examples", "10")
    row = next(r for r in report["results"] if r["status"] == "fail")
    script = tmp_path / "repro.py"
    script.write_text(row["repro"], encoding="utf-8")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"FAIL {row['invariant']}" in proc.stdout


def test_repro_option_reruns_one_check(tmp_path: Path, brokenmod: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--repro ID` re-runs exactly that check and prints its reproducer."""
    code = main(["conform", "--backend", "brokenmod:backend", "--repro", "softmax.finite_for_large_logits[float32]"])
    out = capsys.readouterr().out
    assert code == 1
    assert "1 fail (1 checks)" in out
    assert "standalone reproducer" in out


def _verdicts(report: dict) -> list[tuple]:
    return [(r["id"], r["status"], json.dumps(r["counterexample"]), r["examples"]) for r in report["results"]]


def test_same_seed_same_report(tmp_path: Path, brokenmod: Path) -> None:
    """Two runs with the same seed give the same rows, counterexamples included (timings aside)."""
    args = ("--backend", "brokenmod:backend", "--terms", "softmax,sigmoid", "--max-examples", "10", "--seed", "7")
    assert _verdicts(_conform(tmp_path, *args)[1]) == _verdicts(_conform(tmp_path, *args)[1])


def test_two_shards_merge_into_the_full_run(tmp_path: Path, brokenmod: Path) -> None:
    """Shards 1/2 and 2/2 are disjoint, and merged they give the verdicts of one full run."""
    args = ("--backend", "brokenmod:backend", "--terms", "softmax,sigmoid", "--max-examples", "10")
    full = _conform(tmp_path, *args)[1]
    a = tmp_path / "a.json"
    b = tmp_path / "b.json"
    main(["conform", *args, "--shard", "1/2", "--json", str(a)])
    main(["conform", *args, "--shard", "2/2", "--json", str(b)])
    ids_a = {r["id"] for r in json.loads(a.read_text())["results"]}
    ids_b = {r["id"] for r in json.loads(b.read_text())["results"]}
    assert ids_a and ids_b and not ids_a & ids_b
    merged_path = tmp_path / "merged.json"
    assert main(["report", "merge", str(a), str(b), "-o", str(merged_path)]) == 1
    merged = json.loads(merged_path.read_text())
    jsonschema.validate(merged, load_schema())
    assert _verdicts(merged) == _verdicts(full)
    assert merged["summary"] == full["summary"]


def test_merge_refuses_reports_of_different_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Reports with different seeds are not shards of one run: usage error naming the setting."""
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    main(["conform", "--backend", "reference", "--terms", "relu", "--max-examples", "3", "--json", str(a)])
    main(
        ["conform", "--backend", "reference", "--terms", "relu", "--max-examples", "3", "--seed", "1", "--json", str(b)]
    )
    capsys.readouterr()
    assert main(["report", "merge", str(a), str(b), "-o", str(tmp_path / "m.json")]) == 2
    assert "settings.seed differs" in capsys.readouterr().err


def test_xfail_file_turns_failures_into_xfail_and_reports_stale_and_passing_entries(
    tmp_path: Path, brokenmod: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Listed failures become xfail (exit 0); a stale id is warned about; a listed pass is an xpass (exit 1)."""
    args = ("--backend", "brokenmod:backend", "--terms", "softmax", "--max-examples", "10")
    code, report = _conform(tmp_path, *args)
    # The softmax without a max shift overflows: which other checks its cases reach depends on the draws.
    failing = [r for r in report["results"] if r["status"] == "fail"]
    assert code == 1 and "softmax.finite_for_large_logits" in {r["invariant"] for r in failing}
    failed = sorted(r["id"] for r in failing if r["invariant"] != "softmax.finite_for_large_logits")
    listed = "".join(f'"{i}" = "the same: NaN once exp overflows"\n' for i in failed)
    xfail = tmp_path / "xfail.toml"
    xfail.write_text(
        '[xfail]\n"softmax.finite_for_large_logits" = "our softmax has no max shift (tracked upstream)"\n'
        + listed
        + '"softmax.no_such_invariant" = "stale entry"\n'
    )
    code, report = _conform(tmp_path, *args, "--xfail", str(xfail))
    assert "softmax.no_such_invariant" in capsys.readouterr().err
    assert report["xfail_stale"] == ["softmax.no_such_invariant"]
    assert {r["status"] for r in report["results"] if r["invariant"] == "softmax.finite_for_large_logits"} == {"xfail"}
    assert code == 0
    code, report = _conform(
        tmp_path, "--backend", "torch", "--terms", "softmax", "--max-examples", "5", "--xfail", str(xfail)
    )
    assert code == 1
    assert {r["status"] for r in report["results"] if r["invariant"] == "softmax.finite_for_large_logits"} == {"xpass"}


SLOW_MODULE = """
import time
from types import SimpleNamespace
from dlterms.conformance.backends import reference as base

def sigmoid(x):
    time.sleep(0.05)
    return base.sigmoid(x)

backend = SimpleNamespace(**{k: getattr(base, k) for k in dir(base) if not k.startswith("_")})
backend.sigmoid = sigmoid
backend.name = "slow"
"""


def test_sigterm_leaves_a_valid_report_marked_interrupted(tmp_path: Path) -> None:
    """SIGTERM during a run writes the checks done so far, valid JSON marked interrupted, exit 130."""
    (tmp_path / "slowmod.py").write_text(SLOW_MODULE, encoding="utf-8")
    out = tmp_path / "r.json"
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "dlterms", "conform", "--backend", "slowmod:backend", "--terms", "sigmoid,relu,tanh",
         "--max-examples", "25", "--json", str(out)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    time.sleep(8)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stdout + stderr
    report = json.loads(out.read_text())
    jsonschema.validate(report, load_schema())
    assert report["interrupted"] is True
    assert report["summary"]["total"] > 0


def test_pytest_plugin_runs_one_test_per_check(tmp_path: Path) -> None:
    """`pytest --pyargs dlterms.conformance --dlterms-backend reference` names each test by its check id."""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--pyargs", "dlterms.conformance", "--dlterms-backend", "reference",
         "--dlterms-terms", "relu", "--dlterms-max-examples", "5", "-v", "-p", "no:cacheprovider", "-o", "addopts="],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "test_invariant[relu.equals_max_zero[float64]] PASSED" in proc.stdout
    assert "test_invariant[relu.idempotent[float64]] PASSED" in proc.stdout
    assert "matches_reference_at_sizes" not in proc.stdout  # the size tier only with --dlterms-sizes


def test_pytest_plugin_adds_the_size_tier_on_request(tmp_path: Path) -> None:
    """`--dlterms-sizes` collects the size tier's checks too."""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--pyargs", "dlterms.conformance", "--dlterms-backend", "reference",
         "--dlterms-terms", "relu", "--dlterms-sizes", "--collect-only", "-q", "-p", "no:cacheprovider", "-o",
         "addopts="],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "test_invariant[relu.matches_reference_at_sizes[float64]]" in proc.stdout


def test_jobs_give_the_verdicts_of_a_sequential_run(tmp_path: Path) -> None:
    """`--jobs 2` (two forked workers) and the default (one per core) yield the rows of `--jobs 1`, in its order."""
    args = ("--backend", "reference", "--terms", "sigmoid,relu", "--max-examples", "5")
    one = _conform(tmp_path, *args, "--jobs", "1")[1]
    two = _conform(tmp_path, *args, "--jobs", "2")[1]
    auto = _conform(tmp_path, *args)[1]
    assert (one["settings"]["jobs"], two["settings"]["jobs"], auto["settings"]["jobs"]) == (1, 2, usable_cores())
    assert _verdicts(two) == _verdicts(one)
    assert _verdicts(auto) == _verdicts(one)


def test_first_line_names_the_workers(capsys: pytest.CaptureFixture[str]) -> None:
    """The run's first line says where its checks run; a bad --jobs is a usage error naming the value."""
    main(["conform", "--backend", "reference", "--terms", "relu", "--max-examples", "2", "--jobs", "2", "-q"])
    assert "seed 0, in 2 worker processes" in capsys.readouterr().out.splitlines()[0]
    main(["conform", "--backend", "reference", "--terms", "relu", "--max-examples", "2", "--isolation", "off", "-q"])
    assert capsys.readouterr().out.splitlines()[0].endswith("seed 0, in this process")
    with pytest.raises(SystemExit) as exit_info:
        main(["conform", "--backend", "reference", "--jobs", "few"])
    assert exit_info.value.code == 2
    assert "--jobs: expected a positive integer or auto, got 'few'" in capsys.readouterr().err


def test_spawned_workers_give_the_verdicts_of_a_sequential_run() -> None:
    """Spawned workers (the isolation used for JAX and TensorFlow), two at once, yield the in-process rows."""
    from dlterms.conformance import load_backend
    from dlterms.conformance.isolation import run_isolated
    from dlterms.conformance.runner import RunSettings, plan, run_checks

    checks = plan(["relu"], ["float64"])
    bk = load_backend("reference")
    settings = RunSettings(max_examples=5)
    sequential = [r.as_dict() for r in run_checks(bk, checks, settings)]
    spawned = [r.as_dict() for r in run_isolated(bk, checks, mode="spawn", spec="reference", jobs=2, settings=settings)]
    assert [(r["id"], r["status"], r["examples"]) for r in spawned] == [
        (r["id"], r["status"], r["examples"]) for r in sequential
    ]


def test_read_report_names_the_file_and_what_is_wrong(tmp_path: Path) -> None:
    """read_report accepts a dlterms.report/1 object and refuses unreadable, non-JSON or other-schema files."""
    from dlterms.conformance.report import SCHEMA, read_report

    good = tmp_path / "good.json"
    good.write_text(json.dumps({"schema": SCHEMA, "results": []}), encoding="utf-8")
    assert read_report(good)["schema"] == SCHEMA
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"schema": "something/2"}), encoding="utf-8")
    with pytest.raises(ValueError, match=r"other\.json: schema='something/2'; expected a 'dlterms\.report/1' report"):
        read_report(other)
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    with pytest.raises(ValueError, match=r"broken\.json: not JSON"):
        read_report(broken)
    with pytest.raises(ValueError, match=r"missing\.json: cannot read the report"):
        read_report(tmp_path / "missing.json")


def test_a_plugins_conventions_are_in_its_html_report_and_survive_a_merge(
    tmp_path: Path, broken_backend: Callable[..., str]
) -> None:
    """A plug-in's conventions (a declared probe, relu through its op) show in the HTML and in merged shards."""
    from dlterms.conformance import load_backend
    from dlterms.conformance.conventions import Probe

    spec = broken_backend("numpy")
    load_backend(spec).impl.conventions = (
        Probe("softmax.axis_none", "plugin.softmax(axis=None)", lambda: "all elements"),
    )
    args = ("--backend", spec, "--terms", "relu,sigmoid", "--dtype", "float64", "--max-examples", "3")
    a, b, page, merged_path = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "a.html", tmp_path / "m.json"
    assert main(["conform", *args, "--shard", "1/2", "--json", str(a), "--html", str(page)]) == 0
    assert main(["conform", *args, "--shard", "2/2", "--json", str(b)]) == 0
    conventions = {c["id"]: c for c in json.loads(a.read_text())["conventions"]}
    assert conventions["softmax.axis_none"]["value"] == "all elements"
    assert conventions["relu.sign_of_negative_zero"]["api"] == "broken-numpy adapter: relu (float64)"
    text = page.read_text()
    assert "<h2>Conventions</h2>" in text
    assert "<td>all elements</td>" in text and "plugin.softmax(axis=None)" in text
    assert "broken-numpy adapter: relu (float64)" in text
    assert main(["report", "merge", str(a), str(b), "-o", str(merged_path)]) == 0
    merged = json.loads(merged_path.read_text())
    jsonschema.validate(merged, load_schema())
    assert merged["conventions"] == json.loads(a.read_text())["conventions"]
