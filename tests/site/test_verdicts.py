"""A term's conformance section: each framework's verdict with its version, date and device, the conventions
of the term's ops, the recorded reports, and which report wins when a framework has two."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import pytest
from dlterms.conformance.conventions import CONVENTIONS
from dlterms.conformance.known_defects import DEFAULT_RUN_DEFECTS
from dlterms.conformance.report import read_report
from dlterms.conformance.settings import DEFAULT_DTYPES, DEFAULT_SEED
from dlterms.glossary import load_sections, load_terms

from dlterms.frameworks import FRAMEWORKS
from dlterms.site import pages, reports, verdicts
from dlterms.site.frameworks import Adapters, frameworks_markdown

REPO = Path(__file__).resolve().parents[2]
RECORDED = REPO / reports.RECORDED_DIR
TERMS = load_terms()


def _report(name: str, version: str, created: str, results: list[tuple[str, str, str]], **backend: Any) -> dict:
    """A small dlterms.report/1 report of backend ``name``: results are (invariant, dtype, status)."""
    return {
        "schema": "dlterms.report/1",
        "created": created,
        "backend": {"name": name, "version": version, **backend},
        "results": [{"term": inv.split(".")[0], "invariant": inv, "dtype": d, "status": s} for inv, d, s in results],
    }


def _write(folder: Path, file: str, report: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / file).write_text(json.dumps(report), encoding="utf-8")


PASSING = [("softmax.sums_to_one", "float32", "pass")]


def _tensorflow_report(created: str) -> dict:
    """A passing TensorFlow 2.21.0 report on /CPU:0 with Keras 3.15.1 among its framework versions."""
    versions = {"tensorflow": "2.21.0", "keras": "3.15.1"}
    return _report("tensorflow", "2.21.0", created, PASSING, device="/CPU:0", framework_versions=versions)


def test_a_report_read_first_supersedes_the_recorded_one_of_its_framework_and_device(tmp_path: Path) -> None:
    """A local torch report (older version, older date) hides the recorded CPU one; recorded cuda and numpy stay."""
    local, recorded = tmp_path / "reports", tmp_path / "recorded-reports"
    _write(local, "torch.json", _report("torch", "2.0.0", "2025-01-01T00:00:00+00:00", PASSING))
    _write(recorded, "torch.json", _report("torch", "2.13.0", "2026-11-28T00:00:00+00:00", PASSING))
    _write(recorded, "torch-cuda.json", _report("torch", "2.13.0", "2026-11-28T00:00:00+00:00", PASSING, device="cuda"))
    _write(recorded, "numpy.json", _report("numpy", "2.4.6", "2026-11-28T00:00:00+00:00", PASSING))
    given = reports.load_reports([local, recorded])
    assert [(c.name, c.version, c.device, c.paths) for c in given.columns] == [
        ("torch", "2.0.0", "cpu", ["reports/torch.json"]),
        ("torch", "2.13.0", "cuda", ["recorded-reports/torch-cuda.json"]),
        ("numpy", "2.4.6", "cpu", ["recorded-reports/numpy.json"]),
    ]
    assert [(c.name, c.version, c.paths) for c in given.superseded] == [
        ("torch", "2.13.0", ["recorded-reports/torch.json"])
    ]
    assert "Not shown, superseded" in verdicts.verdicts_markdown(["softmax.sums_to_one"], given)


def test_a_cpu_report_supersedes_a_recorded_cpu_report_named_otherwise(tmp_path: Path) -> None:
    """TensorFlow's "/CPU:0" and a local "cpu" are one device class: the recorded column goes."""
    local, recorded = tmp_path / "a", tmp_path / "b"
    _write(local, "tf.json", _report("tensorflow", "2.20.0", "2026-01-01T00:00:00+00:00", PASSING))
    _write(recorded, "tf.json", _report("tensorflow", "2.21.0", "2026-01-01T00:00:00+00:00", PASSING, device="/CPU:0"))
    given = reports.load_reports([local, recorded])
    assert [c.version for c in given.columns] == ["2.20.0"] and len(given.superseded) == 1


def test_the_reports_search_path_is_the_variable_or_local_then_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    """$DLTERMS_REPORTS is split at os.pathsep; unset, the build reads reports/ and then recorded-reports/."""
    monkeypatch.setenv(reports.ENV_VAR, f"one{os.pathsep}two")
    assert reports.reports_folder(REPO) == (Path("one"), Path("two"))
    monkeypatch.delenv(reports.ENV_VAR)
    assert reports.reports_folder(REPO) == (REPO / "reports", REPO / "recorded-reports")


def test_builtin_frameworks_come_in_the_framework_lists_order(tmp_path: Path) -> None:
    """Files named a-… and b-… still give the columns torch, numpy, jax, tensorflow, then a plug-in."""
    names = ["plugin", "tensorflow", "jax", "numpy", "torch"]
    for i, name in enumerate(names):
        _write(tmp_path, f"{chr(97 + i)}.json", _report(name, "1", "2026-01-01T00:00:00+00:00", PASSING))
    assert [c.name for c in reports.load_reports(tmp_path).columns] == [
        "torch",
        "numpy",
        "jax",
        "tensorflow",
        "plugin",
    ]


def test_verdict_counts_each_status_over_the_terms_rows_only() -> None:
    """Rows of the term's invariants are counted per status, worst first; another term's failure is not."""
    col = reports.Column("fw", "1.0")
    col.rows.update(
        {
            ("softmax.sums_to_one", "float32"): "pass",
            ("softmax.sums_to_one", "float64"): "fail",
            ("softmax.shift_invariant", "float32"): "pass",
            ("softmax.preserves_order", "float32"): "unsupported",
            ("relu.matches_reference", "float32"): "error",
        }
    )
    checks = ["softmax.sums_to_one", "softmax.shift_invariant", "softmax.preserves_order"]
    cell = verdicts.verdict_cell(col, checks)
    assert 'class="dl-status dl-fail"' in cell and "✗ 1 fail · 2 pass · 1 unsupported" in cell
    assert "error" not in cell
    assert "not run" in verdicts.verdict_cell(col, ["tanh.odd"])


def test_verdict_table_states_version_device_date_and_report_of_each_framework(tmp_path: Path) -> None:
    """TensorFlow's row has its version with Keras', its device and its day; frameworks with no report say so."""
    tf = _tensorflow_report("2026-11-28T01:02:03+00:00")
    _write(tmp_path, "tensorflow.json", tf)
    table = verdicts.verdicts_markdown(["softmax.sums_to_one"], reports.load_reports(tmp_path))
    row = next(line for line in table.splitlines() if line.startswith("| TensorFlow/Keras"))
    assert "| 2.21.0 · keras 3.15.1 | /CPU:0 | 2026-11-28 |" in row and "✓ 1 pass" in row
    assert f"`{tmp_path.name}/tensorflow.json`" in row
    for fw in FRAMEWORKS[:3]:
        assert f"| {fw.label} | – | – | – | not run | no report read by this build |" in table


def test_convention_ops_reads_the_op_off_the_convention_id() -> None:
    """Hand-checked: <op>.<what>, <dtype>.<op>_<what>, padding through conv2d, arithmetic conventions none."""
    assert verdicts.convention_ops("softmax.default_axis") == ("softmax",)
    assert verdicts.convention_ops("relu.sign_of_negative_zero") == ("relu",)
    assert verdicts.convention_ops("float16.softmax_of_logits_plus_minus_1e4") == ("softmax",)
    assert verdicts.convention_ops("bfloat16.linear_accumulation") == ("linear",)
    assert verdicts.convention_ops("padding.same_extra_cell") == ("conv2d",)
    assert verdicts.convention_ops("float16.sum_accumulation") == ()
    assert verdicts.convention_ops("float32.subnormal_arithmetic") == ()


def test_every_registered_convention_names_an_op_or_is_declared_general() -> None:
    """No convention of the registry falls through: it concerns an op, or it is one of GENERAL_CONVENTIONS."""
    for cid in CONVENTIONS:
        assert bool(verdicts.convention_ops(cid)) != (cid in verdicts.GENERAL_CONVENTIONS), cid
    assert set(CONVENTIONS) >= verdicts.GENERAL_CONVENTIONS


def test_a_convention_that_names_no_op_and_is_not_general_is_a_build_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A new convention "float16.exp_underflow" is neither: the build warns (a failure under mkdocs --strict)."""
    import dlterms.conformance.conventions as conventions

    record = {"id": "float16.exp_underflow", "description": "made up", "canonical": 0.0}
    monkeypatch.setattr(conventions, "measure", lambda framework: [record])
    with caplog.at_level(logging.WARNING, logger="mkdocs.plugins.dlterms"):
        verdicts.registry_conventions.__wrapped__()
    assert "float16.exp_underflow names no op" in caplog.text


def test_softmax_shows_the_conventions_of_softmax_and_no_other() -> None:
    """Hand-checked list: its two axis conventions and its two float16 rows, in the registry's order."""
    ids = [r["id"] for r in verdicts.term_conventions(TERMS["softmax"], reports.load_reports([]))]
    assert ids == [
        "softmax.default_axis",
        "softmax.axis_none",
        "float16.softmax_of_logits_plus_minus_1e4",
        "float16.softmax_of_logits_1e4_and_9992",
    ]
    assert [r["id"] for r in verdicts.term_conventions(TERMS["convolution"], reports.load_reports([]))] == [
        "padding.same_extra_cell",
        "conv2d.flips_kernel",
    ]


def test_conventions_block_shows_each_frameworks_value_and_marks_a_difference(tmp_path: Path) -> None:
    """leaky ReLU's default slope: 0.2 in a TensorFlow report is marked differs beside the canonical 0.01."""
    tf = _report("tensorflow", "2.21.0", "2026-11-28T00:00:00+00:00", PASSING)
    tf["conventions"] = [
        {
            "id": "leaky_relu.default_negative_slope",
            "description": "x",
            "value": 0.2,
            "canonical": 0.01,
            "matches_canonical": False,
            "api": "tf.nn.leaky_relu",
        }
    ]
    _write(tmp_path, "tf.json", tf)
    block = verdicts.term_conventions_markdown(TERMS["leaky-relu"], reports.load_reports(tmp_path))
    row = next(line for line in block.splitlines() if line.startswith("| `leaky_relu.default_negative_slope`"))
    assert row.endswith(
        '| `0.01` | `0.2` <span class="dl-status dl-differs">differs</span><br><small>`tf.nn.leaky_relu`</small> |'
    )
    other = next(line for line in block.splitlines() if line.startswith("| `leaky_relu.derivative_at_zero`"))
    assert other.endswith("| not reported |")
    assert block.startswith("### Conventions · 约定")


def test_framework_tab_states_the_version_the_reports_checked(tmp_path: Path) -> None:
    """The TensorFlow tab says "checked: 2.21.0 · keras 3.15.1 on /CPU:0, 2026-11-28"; one with no report says so."""
    tf = _tensorflow_report("2026-11-28T00:00:00+00:00")
    _write(tmp_path, "tf.json", tf)
    section = frameworks_markdown(Adapters(REPO), TERMS["softmax"], reports.load_reports(tmp_path))
    tabs = dict(part.split("\n", 1) for part in section.split('=== "')[1:])
    assert "checked: 2.21.0 · keras 3.15.1 on /CPU:0, 2026-11-28" in tabs['TensorFlow/Keras"']
    assert "no report of it was read by this build" in tabs['PyTorch"']
    assert "def softmax" in tabs['TensorFlow/Keras"']  # the source, whether or not TensorFlow is installed


def test_term_page_puts_the_verdicts_first_the_matrix_folded_and_the_conventions_after(tmp_path: Path) -> None:
    """On softmax's page: the verdict table, the matrix under a collapsed "Each check", then "Conventions · 约定"."""
    _write(tmp_path, "torch.json", _report("torch", "2.13.0", "2026-11-28T00:00:00+00:00", PASSING))
    ctx = pages.Context(
        repo_root=REPO,
        terms=TERMS,
        sections=load_sections(),
        invariants={},
        reports=reports.load_reports(tmp_path),
        papers={},
        adapters=Adapters(REPO),
        cite=None,
    )
    page = pages.term_page(ctx, TERMS["softmax"], [])
    section = page.split("## Conformance · 一致性", 1)[1]
    verdict, matrix, conventions = (
        section.find(s) for s in ("| framework · 框架 |", '??? info "Each check', "### Conventions")
    )
    assert 0 < verdict < matrix < conventions
    assert "✓ 1 pass" in section


# --- the recorded reports ---------------------------------------------------------------------


# The failures a recorded default run may hold: documented framework defects (dlterms.conformance.known_defects);
# anything else in a recorded report is a regression.


@pytest.mark.parametrize("fw", FRAMEWORKS, ids=[fw.name for fw in FRAMEWORKS])
def test_recorded_report_of_each_framework_is_a_complete_default_run(fw: Any) -> None:
    """recorded-reports/<name>.json: that backend, seed 0, the default dtypes, every check the entries list (but
    the size tier), not interrupted, and no failure but a documented defect."""
    data = read_report(RECORDED / f"{fw.name}.json")
    assert data["backend"]["name"] == fw.name and data["backend"]["version"]
    assert data["settings"]["seed"] == DEFAULT_SEED and data["settings"]["dtypes"] == list(DEFAULT_DTYPES)
    assert data["settings"]["terms"] is None and not data["interrupted"]
    listed = {inv for term in TERMS.values() for inv in term.invariants if not inv.endswith("_at_sizes")}
    assert {r["invariant"] for r in data["results"]} >= listed  # every check but the --sizes tier's
    bad = {r["id"] for r in data["results"] if r["status"] in ("fail", "error", "xpass")}
    assert bad <= DEFAULT_RUN_DEFECTS.get(fw.name, frozenset()), bad


@pytest.mark.parametrize("fw", FRAMEWORKS, ids=[fw.name for fw in FRAMEWORKS])
def test_recorded_conventions_have_the_registrys_canonical_values(fw: Any) -> None:
    """A recorded report's canonical values are the registry's today: a changed convention means re-recording."""
    canonical = verdicts.registry_conventions()
    for record in read_report(RECORDED / f"{fw.name}.json")["conventions"]:
        assert record["canonical"] == canonical[record["id"]]["canonical"], (fw.name, record["id"])
    assert {r["id"] for r in read_report(RECORDED / f"{fw.name}.json")["conventions"]} == set(canonical)
