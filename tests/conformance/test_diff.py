"""Comparing two runs: ``dlterms report diff`` and ``dlterms conform --compare-device``, on real reports.

The reports come from the fake-device plug-in (``fake_device.py`` beside this file): the NumPy
backend, on whose device ``"fake"`` sigmoid is a few ulp off, max_pool2d drops NaN (a choice
changes) and avg_pool2d gives NaN for a window holding +∞ (a definition changes, so
``avg_pool2d.special_values`` fails). Each run checks two terms with 10 examples, in-process.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dlterms.conformance.diff import diff_reports, render_text, same_value, special_kind

from dlterms.cli import main

HERE = Path(__file__).resolve().parent
RUN = ["--terms", "sigmoid,pooling", "--max-examples", "10", "--isolation", "off"]
AVG_ROWS = ["avg_pool2d.special_values[float32]", "avg_pool2d.special_values[float64]"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """The fake-device plug-in's reports on its two devices: {"cpu": path, "fake": path}."""
    folder = tmp_path_factory.mktemp("diff")
    paths = {d: folder / f"{d}.json" for d in ("cpu", "fake")}
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(HERE))
        for device, path in paths.items():
            main(["conform", "--backend", "fake_device", "--device", device, "--json", str(path), "-q", *RUN])
        yield paths


def _read(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def test_diff_between_devices_finds_what_the_fake_device_changes(runs: dict[str, Path]) -> None:
    """CPU → fake: both avg_pool2d.special_values rows fail (worse), sigmoid errors grow, two special values differ."""
    diff = diff_reports(_read(runs["cpu"]), _read(runs["fake"]))
    assert diff["between"] == ["device"]
    assert [(c["id"], c["a"], c["b"], c["worse"]) for c in diff["status_changes"]] == [
        (rid, "pass", "fail", True) for rid in AVG_ROWS
    ]
    assert diff["worse"] == AVG_ROWS
    grew = {g["id"] for g in diff["errors_grew"]}
    assert {"sigmoid.matches_reference[float32]", "sigmoid.matches_reference[float64]"} <= grew
    assert all(g["id"].startswith("sigmoid.") and g["status"] == ["pass", "pass"] for g in diff["errors_grew"])
    specials = {
        s["id"]: (s["kind"], s["a"]["matches_canonical"], s["b"]["matches_canonical"]) for s in diff["special_values"]
    }
    assert specials == {
        "max_pool2d.nan_in_window": ("choice", True, False),
        "avg_pool2d.infinity_in_window": ("definition", True, False),
    }
    assert diff["only_in_a"] == diff["only_in_b"] == [] and diff["conventions"] == []


def test_diff_of_a_run_with_itself_is_empty(runs: dict[str, Path]) -> None:
    """A report compared with itself has no change, no growth, nothing worse."""
    report = _read(runs["fake"])
    diff = diff_reports(report, report)
    assert diff["status_changes"] == diff["errors_grew"] == diff["special_values"] == diff["worse"] == []
    assert "worse in B: nothing" in render_text(diff)


def test_report_diff_exits_1_when_a_row_got_worse_and_0_the_other_way(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """cpu → fake exits 1 and names the worse rows; fake → cpu (the rows got better) exits 0."""
    assert main(["report", "diff", str(runs["cpu"]), str(runs["fake"])]) == 1
    out = capsys.readouterr().out
    assert "compared: device cpu → fake" in out and f"worse in B: 2 ({', '.join(AVG_ROWS)})" in out
    assert main(["report", "diff", str(runs["fake"]), str(runs["cpu"])]) == 0
    assert "worse in B: nothing" in capsys.readouterr().out


def test_report_diff_writes_json_and_self_contained_html(runs: dict[str, Path], tmp_path: Path) -> None:
    """--json writes the diff (schema dlterms.diff/1); --html a page with the changes, no script and no outside URL."""
    out_json, out_html = tmp_path / "d" / "diff.json", tmp_path / "diff.html"
    code = main(
        ["report", "diff", str(runs["cpu"]), str(runs["fake"]), "--json", str(out_json), "--html", str(out_html)]
    )
    assert code == 1
    data = _read(out_json)
    assert data["schema"] == "dlterms.diff/1" and data["worse"] == AVG_ROWS
    page = out_html.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and "max_pool2d.nan_in_window" in page and AVG_ROWS[0] in page
    assert "<script" not in page and "http" not in page
    assert not list(tmp_path.glob("**/.*.tmp"))  # atomic writes leave no temporary file


def test_min_growth_hides_smaller_growth(runs: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    """--min-growth 100 hides sigmoid's errors (a few ulp: under ×10); --min-growth below 1 is a usage error."""
    assert main(["report", "diff", str(runs["cpu"]), str(runs["fake"]), "--min-growth", "100"]) == 1
    assert "errors grew (more than ×100): 0" in capsys.readouterr().out
    assert main(["report", "diff", str(runs["cpu"]), str(runs["fake"]), "--min-growth", "0.5"]) == 2
    assert "--min-growth 0.5: expected a number >= 1" in capsys.readouterr().err


def test_rows_in_one_run_only_are_listed_not_judged(runs: dict[str, Path]) -> None:
    """A row missing from A (and a failing one at that) is listed under only_in_b and is not counted as worse."""
    a, b = _read(runs["cpu"]), _read(runs["fake"])
    a["results"] = [r for r in a["results"] if r["id"] != AVG_ROWS[0]]
    b["results"] = [r for r in b["results"] if r["id"] != "sigmoid.monotone[float32]"]
    diff = diff_reports(a, b)
    assert diff["only_in_b"] == [{"id": AVG_ROWS[0], "status": "fail"}]
    assert diff["only_in_a"] == [{"id": "sigmoid.monotone[float32]", "status": "pass"}]
    assert diff["worse"] == AVG_ROWS[1:]


def test_an_error_past_its_tolerance_is_worse_under_an_unchanged_status(runs: dict[str, Path]) -> None:
    """A row that passes in both runs (a math mode's verdict) but whose error_ratio goes from 0.5 to 1.5 got worse."""
    a, b = _read(runs["cpu"]), _read(runs["cpu"])
    rid = "sigmoid.matches_reference[float32]"
    row_a = next(r for r in a["results"] if r["id"] == rid)
    row_b = next(r for r in b["results"] if r["id"] == rid)
    row_a["error_ratio"], row_b["error_ratio"] = 0.5, 1.5
    row_b["max_abs_err"] = 3 * row_a["max_abs_err"]
    diff = diff_reports(a, b)
    (grew,) = diff["errors_grew"]
    assert grew["id"] == rid and grew["past_tolerance"] and grew["error_ratio"] == [0.5, 1.5]
    assert diff["worse"] == [rid]
    row_b["error_ratio"] = 0.9  # grew, but inside its tolerance: shown, not worse
    assert diff_reports(a, b)["worse"] == []


def test_conventions_that_differ_are_listed(runs: dict[str, Path]) -> None:
    """A convention whose value changes (as between two framework versions) is listed with both values."""
    a = _read(runs["cpu"])
    a["conventions"] = [{"id": "softmax.default_axis", "description": "d", "value": -1, "canonical": -1}]
    b = copy.deepcopy(a)
    b["conventions"][0].update(value=1, matches_canonical=False)
    (conv,) = diff_reports(a, b)["conventions"]
    assert conv["id"] == "softmax.default_axis" and conv["a"]["value"] == -1 and conv["b"]["value"] == 1
    assert diff_reports(a, copy.deepcopy(a))["conventions"] == []


def test_same_value_compares_special_values_as_measured() -> None:
    """NaN equals NaN, −0.0 differs from 0.0, two errors are alike, and rounding counts only when asked."""
    assert same_value(["nan", 1.0], [float("nan"), 1.0])
    assert not same_value([0.0], [-0.0])
    assert same_value("error: ValueError: x", "error: RuntimeError: y")
    assert not same_value("error: ValueError: x", "nan")
    assert not same_value([1.0, 0.9999999999999997], [1.0, 1.0])
    assert same_value([1.0, 0.9999999999999997], [1.0, 1.0], finite=False)
    assert not same_value(["inf"], [1e308], finite=False)
    assert not same_value("mean", "sum")


def test_special_kind_reads_the_op_records() -> None:
    """The kind of a probe is its op record's: max_pool2d's NaN window is a choice, avg_pool2d's +∞ a definition."""
    assert special_kind("max_pool2d.nan_in_window") == "choice"
    assert special_kind("avg_pool2d.infinity_in_window") == "definition"
    assert special_kind("max_pool2d.no_such_probe") is None and special_kind("nothing") is None


def test_report_diff_refuses_a_file_that_is_not_a_report(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not a report, or a row without a valid status: exit 2 naming the file and the field."""
    other = tmp_path / "other.json"
    other.write_text('{"schema": "something/else"}', encoding="utf-8")
    assert main(["report", "diff", str(runs["cpu"]), str(other)]) == 2
    assert f"{other}: schema='something/else'" in capsys.readouterr().err
    broken = _read(runs["cpu"])
    broken["results"][3]["status"] = "great"
    other.write_text(json.dumps(broken), encoding="utf-8")
    assert main(["report", "diff", str(other), str(runs["cpu"])]) == 2
    assert "results[3]" in (err := capsys.readouterr().err) and "status='great'" in err


# --- conform --compare-device -------------------------------------------------------------


@pytest.fixture
def fake_on_path(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.syspath_prepend(str(HERE))
    return "fake_device"


@pytest.mark.parametrize("isolation", ["off", "fork"])
def test_compare_device_runs_both_and_prints_the_diff(
    fake_on_path: str, isolation: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--device fake --compare-device cpu: both reports written (each on its device), the diff printed, exit 1."""
    main_json, other_json = tmp_path / "fake.json", tmp_path / "cpu.json"
    args = ["--terms", "pooling", "--max-examples", "5", "--isolation", isolation, "-q"]
    code = main(
        ["conform", "--backend", fake_on_path, "--device", "fake", "--compare-device", "cpu",
         "--json", str(main_json), "--compare-json", str(other_json), *args]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 1
    assert _read(main_json)["backend"]["device"] == "fake" and _read(other_json)["backend"]["device"] == "cpu"
    assert {r["device"] for r in _read(other_json)["results"]} == {"cpu"}
    assert "A: fake_device" in out and "on cpu (--compare-device cpu)" in out and "on fake (--device fake)" in out
    assert f"worse in B: 2 ({', '.join(AVG_ROWS)})" in out
    assert "max_pool2d.nan_in_window" in out.split("special values that differ")[1]


def test_compare_device_puts_the_diff_in_the_html_report(
    fake_on_path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With --html, the main run's HTML report ends with the diff against the compare device."""
    page = tmp_path / "fake.html"
    args = ["--terms", "pooling", "--max-examples", "5", "--isolation", "off", "-q", "--html", str(page)]
    code = main(["conform", "--backend", fake_on_path, "--device", "fake", "--compare-device", "cpu", *args])
    assert code == 1
    text = page.read_text()
    assert "<section class='dlterms-diff'><h2>Compared with another run</h2>" in text
    assert text.index("dlterms-diff") > text.index("<h1>dlterms conformance report</h1>")
    assert "max_pool2d.nan_in_window" in text.split("dlterms-diff")[1]
    assert "(with the diff)" in capsys.readouterr().out


def test_compare_device_usage_errors(fake_on_path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The run's own device, a device that is not there, or --compare-json alone: exit 2 before anything runs."""
    report = tmp_path / "r.json"
    base = ["conform", "--backend", fake_on_path, "--terms", "pooling", "--json", str(report)]
    assert main([*base, "--device", "fake", "--compare-device", "fake"]) == 2
    assert "--compare-device 'fake': the run's own device" in capsys.readouterr().err
    assert main([*base, "--device", "fake", "--compare-device", "tpu"]) == 2
    assert "there is no 'tpu'" in capsys.readouterr().err
    assert main([*base, "--compare-json", str(tmp_path / "c.json")]) == 2
    assert "needs --compare-device" in capsys.readouterr().err
    assert not report.exists()


def test_conform_line_separates_checked_definitions_from_choices(
    fake_on_path: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """On the fake device the definitions' line names the failing avg_pool2d rows; the choices' line the NaN window."""
    main(["conform", "--backend", fake_on_path, "--device", "fake", "--terms", "pooling", "--max-examples", "3",
          "--isolation", "off", "-q"])  # fmt: skip
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("special values")]
    definitions, choices = lines
    assert "definitions fix" in definitions and f"failing: {', '.join(AVG_ROWS)}" in definitions
    assert "facts, not failures" not in definitions and "max_pool2d.nan_in_window" not in definitions
    assert "facts, not failures" in choices and "max_pool2d.nan_in_window" in choices
    assert "avg_pool2d" not in choices


def test_compare_device_cuda_against_cpu(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """On a machine with CUDA, torch on cuda against the CPU: two real device runs, no error row, the diff printed.

    Spawned workers: a worker forked from a process that has initialised CUDA cannot use it.
    """
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device (torch.cuda.is_available() is False); the fake device covers this path")
    main_json, other_json = tmp_path / "cuda.json", tmp_path / "cpu.json"
    code = main(["conform", "--backend", "torch", "--device", "cuda", "--compare-device", "cpu",
                 "--terms", "pooling", "--max-examples", "5", "--isolation", "spawn", "-q",
                 "--json", str(main_json), "--compare-json", str(other_json)])  # fmt: skip
    out = capsys.readouterr().out
    assert code in (0, 1)
    assert "on cpu (--compare-device cpu)" in out and "(--device cuda" in out and "worse in B:" in out
    for path, device in ((main_json, "cuda"), (other_json, "cpu")):
        report = _read(path)
        assert report["backend"]["device"].startswith(device)
        assert [r["id"] for r in report["results"] if r["status"] == "error"] == []
