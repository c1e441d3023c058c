"""Conformance reports given to the build: every ``*.json`` in ``$DLTERMS_REPORTS`` (default ``reports/``).

A report follows the schema ``dlterms.report/1`` (see ``conformance/report.py``): ``backend.name``,
``backend.version``, ``results[]`` with ``term``, ``invariant``, ``dtype``, ``status``, and optionally
``conventions[]`` with ``id``, ``description``, ``value``, ``canonical`` (and, when given,
``matches_canonical`` and ``api``, the framework call that was measured), and optionally
``special_values[]`` with ``id`` (``<op>.<name>``), ``value`` and ``matches_canonical``. Reports of
the same backend, version and device (``backend.device``, ``cpu`` when absent) are merged into one
column; a report on another device is a column of its own, labelled with the device unless it is a CPU,
next to the framework's other columns (the CPU's first).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .text import code, log, md_cell

ENV_VAR = "DLTERMS_REPORTS"
# How a cell reads, worst status first: one failing dtype makes the cell fail.
_ORDER = ("error", "fail", "xpass", "xfail", "pass", "skip", "unsupported")
_LABEL = {
    "pass": "✓ pass",
    "fail": "✗ fail",
    "error": "✗ error",
    "xpass": "✗ unexpected pass",
    "xfail": "≈ expected failure",
    "unsupported": "– unsupported",
    "skip": "· skipped",
    None: "not run",
}


@dataclass
class Column:
    """One backend (name, version and device) and every row the reports give for it."""

    name: str
    version: str
    device: str = "cpu"
    files: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    dtypes: set[str] = field(default_factory=set)
    rows: dict[tuple[str, str], str] = field(default_factory=dict)  # (invariant, dtype) -> status
    conventions: list[dict[str, Any]] = field(default_factory=list)
    special_values: dict[str, dict[str, Any]] = field(default_factory=dict)  # probe id -> record

    @property
    def on_cpu(self) -> bool:
        """Whether the device is a CPU (``cpu``, ``cpu:0``, ``/CPU:0``, ...)."""
        return "cpu" in self.device.lower()

    @property
    def label(self) -> str:
        """``name version``, and the device when it is not a CPU: ``torch 2.11.0 · cuda``."""
        return f"{self.name} {self.version}".strip() + ("" if self.on_cpu else f" · {self.device}")

    def cell(self, invariant: str) -> tuple[str | None, str]:
        """The worst status of ``invariant`` over the dtypes run, and a per-dtype tooltip."""
        per_dtype = {d: s for (inv, d), s in self.rows.items() if inv == invariant}
        if not per_dtype:
            return None, "not in these reports"
        worst = min(per_dtype.values(), key=lambda s: _ORDER.index(s) if s in _ORDER else 0)
        return worst, "; ".join(f"{d}: {s}" for d, s in sorted(per_dtype.items()))


@dataclass
class Reports:
    folder: Path
    columns: list[Column]

    @property
    def given(self) -> bool:
        return bool(self.columns)


def reports_folder(repo_root: Path) -> Path:
    """``$DLTERMS_REPORTS`` when set, else ``repo_root/reports``."""
    value = os.environ.get(ENV_VAR)
    return Path(value) if value else repo_root / "reports"


def load_reports(folder: Path) -> Reports:
    """Read every report in ``folder``; a file that is not a report is skipped with a warning."""
    from dlterms.conformance.report import read_report  # the suite's reader: one schema check

    columns: dict[tuple[str, str, str], Column] = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            data = read_report(path)
        except ValueError as exc:
            log.warning("dlterms: %s; skipped", exc)
            continue
        backend = data.get("backend") or {}
        key = (str(backend.get("name", "?")), str(backend.get("version", "")), str(backend.get("device") or "cpu"))
        col = columns.setdefault(key, Column(*key))
        col.files.append(path.name)
        if data.get("created"):
            col.created.append(str(data["created"]))
        for row in data.get("results", []):
            col.rows[(row["invariant"], row["dtype"])] = row["status"]
            col.dtypes.add(row["dtype"])
        col.conventions += [c for c in data.get("conventions", []) or [] if isinstance(c, dict) and "id" in c]
        col.special_values.update(
            (str(r["id"]), r) for r in data.get("special_values", []) or [] if isinstance(r, dict) and "id" in r
        )
    # A framework's columns side by side, its CPU first; frameworks in the order of their first file.
    first: dict[str, int] = {}
    for col in columns.values():
        first.setdefault(col.name, len(first))
    ordered = sorted(columns.values(), key=lambda c: (first[c.name], not c.on_cpu, c.device))
    return Reports(folder=folder, columns=ordered)


def _cell(status: str | None, tip: str) -> str:
    css = f"dl-status dl-{status or 'none'}"
    return f'<span class="{css}" title="{tip}">{_LABEL.get(status, status)}</span>'


def matrix_markdown(invariant_ids: list[str], reports: Reports) -> str:
    """The conformance matrix of one term: a row per invariant, a column per backend."""
    if not reports.given:
        return (
            '!!! info "No conformance report was given to this build"\n'
            f"    The matrix is filled from the JSON reports in `${ENV_VAR}` (here `{reports.folder.name}/`). "
            "Run `dlterms conform --backend torch --json reports/torch.json` and rebuild the site "
            "([how](../how-to/conform.md))."
        )
    cols = reports.columns
    head = "| invariant | " + " | ".join(md_cell(c.label) for c in cols) + " |"
    rule = "|---|" + "---|" * len(cols)
    rows = [f"| {code(inv)} | " + " | ".join(_cell(*c.cell(inv)) for c in cols) + " |" for inv in invariant_ids]
    sources = "; ".join(
        f"{c.label}: {', '.join(code(f) for f in c.files)}"
        + (f" ({', '.join(sorted(c.dtypes))}; created {max(c.created)})" if c.created else "")
        for c in cols
    )
    note = (
        "A cell shows the worst verdict over the dtypes run (hover for each dtype). "
        f"From the reports given to this build: {sources}."
    )
    return "\n".join([head, rule, *rows]) + "\n\n" + note


def conventions_markdown(reports: Reports) -> str:
    """The conventions page body: one row per convention, one column per backend that reported it."""
    cols = [c for c in reports.columns if c.conventions]
    if not cols:
        return (
            '!!! info "No report with conventions was given to this build"\n'
            f"    Conventions are read from the `conventions` section of the JSON reports in `${ENV_VAR}` "
            f"(here `{reports.folder.name}/`). No report there has one."
        )
    ids: dict[str, dict[str, Any]] = {}
    for c in cols:
        for conv in c.conventions:
            ids.setdefault(conv["id"], conv)
    head = "| convention | canonical | " + " | ".join(md_cell(c.label) for c in cols) + " |"
    rule = "|---|---|" + "---|" * len(cols)
    rows = []
    for cid, first in ids.items():
        cells = []
        for c in cols:
            got = next((v for v in c.conventions if v["id"] == cid), None)
            if got is None:
                cells.append("not reported")
                continue
            value = json.dumps(got.get("value"), ensure_ascii=False)
            same = got.get("matches_canonical", got.get("value") == got.get("canonical"))
            api = f"<br><small>{code(str(got['api']))}</small>" if got.get("api") else ""
            differs = "" if same else ' <span class="dl-status dl-differs">differs</span>'
            cells.append(f"{code(value)}{differs}{api}")
        canonical = code(json.dumps(first.get("canonical"), ensure_ascii=False))
        desc = md_cell(str(first.get("description", "")))
        rows.append(f"| {code(cid)}<br>{desc} | {canonical} | " + " | ".join(cells) + " |")
    sources = "; ".join(f"{c.label}: {', '.join(code(f) for f in c.files)}" for c in cols)
    return "\n".join([head, rule, *rows]) + f"\n\nFrom the reports given to this build: {sources}."
