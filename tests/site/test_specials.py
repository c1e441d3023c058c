"""The special-values table of a term page: the kind of each value, and where the device changes one.

The reports are real: ``dlterms conform`` on the fake-device plug-in (tests/conformance/fake_device.py)
on its CPU and on its device ``fake``, where max_pool2d drops NaN (a choice changes) and avg_pool2d
gives NaN for +∞ in a window (a definition changes).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from dlterms.glossary import get_term

from dlterms import ops
from dlterms.cli import main
from dlterms.site import reports
from dlterms.site.specials import special_values_markdown

FAKE_DEVICE = Path(__file__).resolve().parents[1] / "conformance"
CHANGED = ("max_pool2d.nan_in_window", "avg_pool2d.infinity_in_window")


@pytest.fixture(scope="module")
def two_devices(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A reports folder: the fake-device plug-in on "cpu" (fake_device.json) and on "fake" (fake_device-fake.json)."""
    folder = tmp_path_factory.mktemp("reports")
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(FAKE_DEVICE))
        for device, name in (("cpu", "fake_device.json"), ("fake", "fake_device-fake.json")):
            args = ["--terms", "pooling", "--max-examples", "3", "--isolation", "off", "-q"]
            main(["conform", "--backend", "fake_device", "--device", device, "--json", str(folder / name), *args])
    return folder


def _rows(section: str) -> dict[str, str]:
    """Probe id -> its table row."""
    return {line.split("`")[1]: line for line in section.splitlines() if line.startswith("| `")}


def test_each_special_value_says_whether_it_is_a_definition_or_a_choice(two_devices: Path) -> None:
    """The kind column reads "definition" or "choice", as the op record's Special.kind says."""
    section = special_values_markdown(get_term("pooling"), reports.load_reports(two_devices))
    assert "| kind · 类型 |" in section
    rows = _rows(section)
    for op in ops.by_term("pooling"):
        for sv in op.special_values:
            row = rows[f"{op.name}.{sv.name}"]
            assert f"{sv.kind} · " in row and ("choice" if sv.kind == "definition" else "definition") + " · " not in row
    assert "choice · " in rows["max_pool2d.nan_in_window"]


def test_a_framework_on_two_devices_gets_a_column_each_and_the_changed_values_marked(two_devices: Path) -> None:
    """Columns "fake_device V" and "fake_device V · fake"; the two probes the fake device changes are marked in both."""
    given = reports.load_reports(two_devices)
    assert sorted(c.device for c in given.columns) == ["cpu", "fake"]
    section = special_values_markdown(get_term("pooling"), given)
    version = given.columns[0].version
    assert f"| fake\\_device {version} | fake\\_device {version} · fake |" in section  # Markdown-escaped
    rows = _rows(section)
    for probe in CHANGED:
        assert (
            rows[probe].count("≠ on ") == 2 and "≠ on fake</span>" in rows[probe] and "≠ on cpu</span>" in rows[probe]
        )
    assert all("≠ on" not in row for probe, row in rows.items() if probe not in CHANGED)
    assert f"On fake\\_device, the device changes `{CHANGED[0]}`, `{CHANGED[1]}` (cpu, fake;" in section


def test_one_device_marks_no_device_change(two_devices: Path, tmp_path: Path) -> None:
    """With the CPU report alone, no cell is marked as changed by the device and no note is written."""
    shutil.copy(two_devices / "fake_device.json", tmp_path / "fake_device.json")
    section = special_values_markdown(get_term("pooling"), reports.load_reports(tmp_path))
    assert "≠ on" not in section and "the device changes" not in section


def test_the_matrix_has_a_column_per_device(two_devices: Path) -> None:
    """The conformance matrix shows the avg_pool2d.special_values failure on the fake device only."""
    matrix = reports.matrix_markdown(["avg_pool2d.special_values"], reports.load_reports(two_devices))
    row = next(line for line in matrix.splitlines() if line.startswith("| `avg_pool2d.special_values`"))
    cpu_cell, fake_cell = row.split(" | ")[1:3]
    assert "✓ pass" in cpu_cell and "✗ fail" in fake_cell


@pytest.mark.parametrize(
    ("device", "suffix"), [("cpu", ""), ("cpu:0", ""), ("/CPU:0", ""), ("cuda", " · cuda"), ("cuda:1", " · cuda:1")]
)
def test_a_column_label_names_the_device_unless_it_is_a_cpu(device: str, suffix: str, tmp_path: Path) -> None:
    """A report on a CPU keeps the label "name version"; on another device the device is added."""
    report = {
        "schema": "dlterms.report/1",
        "backend": {"name": "fw", "version": "1.0", "device": device},
        "results": [],
    }
    (tmp_path / "r.json").write_text(json.dumps(report), encoding="utf-8")
    (col,) = reports.load_reports(tmp_path).columns
    assert col.label == f"fw 1.0{suffix}"
