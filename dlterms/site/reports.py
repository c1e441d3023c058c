"""Conformance reports given to the build, and the recorded reports that stand in for missing ones.

A build reads the reports of a search path of folders: the folders named in ``$DLTERMS_REPORTS``
(several separated by ``os.pathsep``, ``:`` on POSIX), or, when it is unset, ``reports/`` (the
runs made where the site is built) and then :data:`RECORDED_DIR` (``recorded-reports/``: one
report per built-in framework, committed, re-recorded by ``scripts/record_reports.py``). Every
``*.json`` of a folder is read. **An earlier folder wins**: the reports of a framework and device
class (the CPU, or each other device by name) in one folder hide every report of that framework
and device class in the folders after it, whatever their versions and dates, so a local
``reports/torch.json`` replaces the recorded PyTorch column and the recorded NumPy, JAX and
TensorFlow columns stay (a run made for this build is what its builder asked to show; comparing
versions or dates would let a committed file hide it, and the page states each column's version
and date anyway). The hidden columns are kept in :attr:`Reports.superseded` and named on
the pages. Setting ``$DLTERMS_REPORTS`` to one folder shows exactly the reports in it.

A report follows the schema ``dlterms.report/1`` (see ``conformance/report.py``): ``backend.name``,
``backend.version``, ``results[]`` with ``term``, ``invariant``, ``dtype``, ``status``, and optionally
``conventions[]`` with ``id``, ``description``, ``value``, ``canonical`` (and, when given,
``matches_canonical`` and ``api``, the framework call that was measured), and optionally
``special_values[]`` with ``id`` (``<op>.<name>``), ``value`` and ``matches_canonical``. Reports of
one folder with the same backend, version and device (``backend.device``, ``cpu`` when absent) are
merged into one column; a report on another device is a column of its own, labelled with the device
unless it is a CPU, next to the framework's other columns (the CPU's first). The built-in frameworks'
columns come in the order of :data:`dlterms.frameworks.FRAMEWORKS`, any other backend's after them.

A framework's version on the site is the ``backend.version`` of its reports (the adapter's
``version``, the framework's ``__version__``), with ``backend.framework_versions`` (the adapter's
facts: Keras beside TensorFlow) when the report has them; the site never asks the installed
packages, so a page states the version that was checked.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlterms.frameworks import FRAMEWORKS

from .text import code, log, md_cell

ENV_VAR = "DLTERMS_REPORTS"
RECORDED_DIR = "recorded-reports"  # the committed reports of every built-in framework (scripts/record_reports.py)
# How a cell reads, worst status first: one failing dtype makes the cell fail.
STATUS_ORDER = ("error", "fail", "xpass", "xfail", "pass", "skip", "unsupported")
STATUS_LABELS = {
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
    """One backend (name, version and device) and every row the reports of one folder give for it."""

    name: str
    version: str
    device: str = "cpu"
    files: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    dtypes: set[str] = field(default_factory=set)
    rows: dict[tuple[str, str], str] = field(default_factory=dict)  # (invariant, dtype) -> status
    conventions: list[dict[str, Any]] = field(default_factory=list)
    special_values: dict[str, dict[str, Any]] = field(default_factory=dict)  # probe id -> record
    folder: Path | None = None  # the folder its reports were read from
    framework_versions: dict[str, str] = field(default_factory=dict)  # backend.framework_versions

    @property
    def on_cpu(self) -> bool:
        """Whether the device is a CPU (``cpu``, ``cpu:0``, ``/CPU:0``, ...)."""
        return "cpu" in self.device.lower()

    @property
    def device_class(self) -> str:
        """``cpu`` for any CPU, else the device as reported: what a report in an earlier folder supersedes."""
        return "cpu" if self.on_cpu else self.device

    @property
    def label(self) -> str:
        """``name version``, and the device when it is not a CPU: ``torch 2.11.0 · cuda``."""
        return f"{self.name} {self.version}".strip() + ("" if self.on_cpu else f" · {self.device}")

    @property
    def date(self) -> str:
        """The day of its latest report (``created``, ISO 8601, cut to ``YYYY-MM-DD``), or ""."""
        return max(self.created)[:10] if self.created else ""

    @property
    def paths(self) -> list[str]:
        """Its report files as ``folder/file`` (the folder's own name)."""
        prefix = f"{self.folder.name}/" if self.folder is not None else ""
        return [prefix + f for f in self.files]

    def cell(self, invariant: str) -> tuple[str | None, str]:
        """The worst status of ``invariant`` over the dtypes run, and a per-dtype tooltip."""
        per_dtype = {d: s for (inv, d), s in self.rows.items() if inv == invariant}
        if not per_dtype:
            return None, "not in these reports"
        return worst(per_dtype.values()), "; ".join(f"{d}: {s}" for d, s in sorted(per_dtype.items()))


def version_text(col: Column) -> str:
    """The version a column's reports give: ``backend.version``, then each other entry of
    ``backend.framework_versions`` (``2.21.0 · keras 3.15.1``)."""
    others = [f"{k} {v}" for k, v in col.framework_versions.items() if k != col.name]
    return " · ".join([col.version or "version not reported", *others])


def worst(statuses: Iterable[str]) -> str | None:
    """The worst of ``statuses`` in :data:`STATUS_ORDER` (an unknown status counts as the worst); None if empty."""
    found = list(statuses)
    return min(found, key=lambda s: STATUS_ORDER.index(s) if s in STATUS_ORDER else -1) if found else None


@dataclass
class Reports:
    """The columns a build shows, the folders they were read from, and the columns an earlier folder hid."""

    folders: tuple[Path, ...]
    columns: list[Column]
    superseded: list[Column] = field(default_factory=list)

    @property
    def given(self) -> bool:
        return bool(self.columns)

    @property
    def where(self) -> str:
        """The folders, as a reader sees them: `` `reports/`, `recorded-reports/` ``."""
        return ", ".join(code(f"{f.name}/") for f in self.folders) or "no folder"


def reports_folder(repo_root: Path) -> tuple[Path, ...]:
    """The search path of report folders: ``$DLTERMS_REPORTS`` (split at ``os.pathsep``) when set,
    else ``repo_root/reports`` and then ``repo_root/recorded-reports``."""
    value = os.environ.get(ENV_VAR)
    if value:
        return tuple(Path(p) for p in value.split(os.pathsep) if p)
    return (repo_root / "reports", repo_root / RECORDED_DIR)


def _read_folder(folder: Path) -> dict[tuple[str, str, str], Column]:
    """The columns of the reports in one folder; a file that is not a report is skipped with a warning."""
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
        col = columns.setdefault(key, Column(*key, folder=folder))
        col.files.append(path.name)
        versions = backend.get("framework_versions") or {}
        col.framework_versions.update((str(k), str(v)) for k, v in versions.items() if v)
        if data.get("created"):
            col.created.append(str(data["created"]))
        for row in data.get("results", []):
            col.rows[(row["invariant"], row["dtype"])] = row["status"]
            col.dtypes.add(row["dtype"])
        col.conventions += [c for c in data.get("conventions", []) or [] if isinstance(c, dict) and "id" in c]
        col.special_values.update(
            (str(r["id"]), r) for r in data.get("special_values", []) or [] if isinstance(r, dict) and "id" in r
        )
    return columns


def load_reports(folders: Path | Sequence[Path]) -> Reports:
    """Read every report in ``folders`` (one folder, or a search path: an earlier folder wins, see the module)."""
    search = (folders,) if isinstance(folders, Path) else tuple(Path(f) for f in folders)
    kept: list[Column] = []
    superseded: list[Column] = []
    for folder in search:
        shown = {(c.name, c.device_class) for c in kept}
        for col in _read_folder(folder).values():
            (superseded if (col.name, col.device_class) in shown else kept).append(col)
    # A framework's columns side by side, its CPU first; the built-in frameworks in the framework list's
    # order, then any other backend in the order of its first file.
    first = {fw.name: i for i, fw in enumerate(FRAMEWORKS)}
    for col in kept:
        first.setdefault(col.name, len(first))
    ordered = sorted(kept, key=lambda c: (first[c.name], not c.on_cpu, c.device))
    return Reports(folders=search, columns=ordered, superseded=superseded)


def _cell(status: str | None, tip: str) -> str:
    css = f"dl-status dl-{status or 'none'}"
    return f'<span class="{css}" title="{tip}">{STATUS_LABELS.get(status, status)}</span>'


def no_reports(what: str, reports: Reports) -> str:
    """The admonition of a build given no report (``what``: what would have been shown)."""
    return (
        '!!! info "No conformance report was given to this build"\n'
        f"    {what} is filled from the JSON reports in `${ENV_VAR}` (here {reports.where}). "
        "Run `dlterms conform --backend torch --json reports/torch.json` and rebuild the site "
        "([how](../how-to/conform.md))."
    )


def matrix_markdown(invariant_ids: list[str], reports: Reports) -> str:
    """The conformance matrix of one term: a row per invariant, a column per backend."""
    if not reports.given:
        return no_reports("The matrix", reports)
    cols = reports.columns
    head = "| invariant | " + " | ".join(md_cell(c.label) for c in cols) + " |"
    rule = "|---|" + "---|" * len(cols)
    rows = [f"| {code(inv)} | " + " | ".join(_cell(*c.cell(inv)) for c in cols) + " |" for inv in invariant_ids]
    sources = "; ".join(
        f"{c.label}: {', '.join(code(f) for f in c.paths)}"
        + (f" ({', '.join(sorted(c.dtypes))}; created {max(c.created)})" if c.created else "")
        for c in cols
    )
    note = (
        "A cell shows the worst verdict over the dtypes run (hover for each dtype). "
        f"From the reports read by this build: {sources}."
    )
    return "\n".join([head, rule, *rows]) + "\n\n" + note


def show_json(value: Any) -> str:
    """A measured or canonical value as inline code: a string as it is (``axis -1``, ``inf``), anything else
    in JSON (``null``, ``0.01``, ``[1.0, 0.0]``)."""
    return code(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))


def convention_cell(record: dict[str, Any] | None) -> str:
    """One framework's value of a convention: the value, marked *differs* when it is not the canonical one,
    and the API that was measured; "not reported" when its report has no such record."""
    if record is None:
        return "not reported"
    value = record.get("value")
    if value is None:
        return '<span class="dl-status dl-unsupported">– no such API</span>'
    same = record.get("matches_canonical", value == record.get("canonical"))
    differs = ' <span class="dl-status dl-differs">differs</span>' if same is False else ""
    api = f"<br><small>{code(str(record['api']))}</small>" if record.get("api") else ""
    return f"{show_json(value)}{differs}{api}"


def convention_record(col: Column, convention: str) -> dict[str, Any] | None:
    """``col``'s record of ``convention`` (its last, when its reports give several), or None."""
    return next((c for c in reversed(col.conventions) if c["id"] == convention), None)


def conventions_markdown(reports: Reports) -> str:
    """The conventions page body: one row per convention, one column per backend that reported it."""
    cols = [c for c in reports.columns if c.conventions]
    if not cols:
        return (
            '!!! info "No report with conventions was given to this build"\n'
            f"    Conventions are read from the `conventions` section of the JSON reports in `${ENV_VAR}` "
            f"(here {reports.where}). No report there has one."
        )
    ids: dict[str, dict[str, Any]] = {}
    for c in cols:
        for conv in c.conventions:
            ids.setdefault(conv["id"], conv)
    head = "| convention | canonical | " + " | ".join(md_cell(c.label) for c in cols) + " |"
    rule = "|---|---|" + "---|" * len(cols)
    rows = []
    for cid, first in ids.items():
        cells = " | ".join(convention_cell(convention_record(c, cid)) for c in cols)
        desc = md_cell(str(first.get("description", "")))
        rows.append(f"| {code(cid)}<br>{desc} | {show_json(first.get('canonical'))} | {cells} |")
    sources = "; ".join(f"{c.label}: {', '.join(code(f) for f in c.paths)}" for c in cols)
    return "\n".join([head, rule, *rows]) + f"\n\nFrom the reports read by this build: {sources}."
