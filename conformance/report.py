"""Reports of a conformance run: JSON (schema ``dlterms.report/1``), JUnit XML and HTML.

The JSON document is the source of truth; JUnit and HTML are rendered from
it. Every file is written atomically (a temporary file renamed into place),
so a reader never sees half a report, even when the run is interrupted.
The terminal's table is drawn by :mod:`.console`.
"""

from __future__ import annotations

import html
import json
import os
import platform
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import hypothesis

import dlterms
from dlterms.files import atomic_write_text

from .backends import Backend
from .runner import STATUSES, Result, summary

__all__ = [
    "SCHEMA",
    "build_report",
    "load_schema",
    "merge_reports",
    "read_report",
    "repro_snippet",
    "write_html",
    "write_json",
    "write_junit",
]

SCHEMA = "dlterms.report/1"


def load_schema() -> dict[str, Any]:
    """The JSON Schema of ``dlterms.report/1`` shipped with the package."""
    return json.loads(resources.files("dlterms.conformance").joinpath("report.schema.json").read_text("utf-8"))


def build_report(
    bk: Backend,
    results: Sequence[Result],
    settings: dict[str, Any],
    *,
    backend_spec: str,
    interrupted: bool = False,
    extra: dict[str, Any] | None = None,
    special_values: list[dict[str, Any]] | None = None,
    conventions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The JSON-ready report: versions, backend facts, settings, one row per check, summary, conventions
    and special values.

    ``special_values`` and ``conventions`` are the measured facts when measured
    elsewhere (in a worker process, see :func:`.session.measure_facts`); None
    measures them here, each probe within :func:`probe_time_limit` of the
    settings' ``timeout_s``.
    """
    rows = [r.as_dict() for r in results]
    for row in rows:
        if row["status"] in ("fail", "error", "xpass", "xfail") and row["counterexample"] is not None:
            row["repro"] = repro_snippet(backend_spec, row, settings)
    return {
        "schema": SCHEMA,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "dlterms_version": dlterms.__version__,
        "python": platform.python_version(),
        # A seed's cases are drawn by Hypothesis: the same seed draws other cases under another version.
        "hypothesis_version": hypothesis.__version__,
        "platform": platform.platform(),
        "backend": {**bk.facts(), "spec": backend_spec, "device": bk.device},
        "settings": settings,
        "interrupted": interrupted,
        "results": rows,
        "summary": summary(rows),
        "conventions": conventions if conventions is not None else measured_conventions(bk, settings.get("timeout_s")),
        "special_values": special_values
        if special_values is not None
        else measured_special_values(bk, settings.get("timeout_s")),
        **(extra or {}),
    }


def measured_conventions(bk: Backend, timeout_s: float | None = None) -> list[dict[str, Any]]:
    """The backend's conventions (one record per convention, see :mod:`.conventions`), measured in this process.

    A built-in framework's column is measured through its own API; a plug-in's
    through its ops and ``vjp`` and through the probes it declares (the probe of
    each convention is :func:`.worker.convention_probes`'s; the records are those
    of :func:`.conventions.measure_backend`). Each probe has
    :func:`probe_time_limit` of ``timeout_s``; one that runs past it reads
    ``"error: CheckTimeout: ..."``. A probe that crashes ends this process: a
    conform run measures them in a worker instead (:func:`.session.measure_facts`)
    unless its isolation is off.
    """
    from .conventions import CONVENTIONS
    from .worker import measure_convention

    return [measure_convention(bk, cid, probe_time_limit(timeout_s)) for cid in CONVENTIONS]


def probe_time_limit(timeout_s: float | None) -> float:
    """Each special-value and convention probe has at most 5 s, or the run's per-check time limit if shorter."""
    return min(5.0, timeout_s) if timeout_s else 5.0


def measured_special_values(bk: Backend, timeout_s: float | None = None) -> list[dict[str, Any]]:
    """What the backend's ops return on NaN, ±inf, −0.0 and other special inputs (see :mod:`.special_values`).

    Measured in this process, each probe within :func:`probe_time_limit` of ``timeout_s``.
    """
    from .special_values import measure

    return measure(bk, timeout_s=probe_time_limit(timeout_s))


def repro_snippet(backend_spec: str, row: dict[str, Any], settings: dict[str, Any]) -> str:
    """A standalone script that re-checks one counterexample against the backend alone.

    It needs only dlterms and the framework (no Hypothesis run, no test runner):
    it loads the backend, calls the invariant's check on the shrunk case and
    exits 1 while the failure persists. An exception is printed with its
    traceback; a crash prints the Python stack (:mod:`faulthandler`). For a row
    flagged nondeterministic the check runs twice more with every op output
    recorded (:func:`.nondeterminism.rerun`) and both results are printed.
    """
    case = row["counterexample"]
    case_src = repr(_restore_floats(case))
    label = f"{row['invariant']} [{row['dtype']}]"
    check = f"INVARIANTS[{row['invariant']!r}].check"
    head = (
        f"# Reproduces dlterms {label} on backend {backend_spec!r}.\n"
        f"# {row['statement']}\n"
        "# Exit status 1 while the failure persists, 0 once it is fixed.\n"
        "import faulthandler\n"
        "import sys\n"
        "import traceback\n"
        "from math import inf, nan  # noqa: F401  (the case may hold them)\n\n"
        "import dlterms.conformance.runner  # noqa: F401  (registers the invariants)\n"
        "from dlterms.conformance import load_backend\n"
        + ("from dlterms.conformance.nondeterminism import rerun\n" if row.get("nondeterministic") else "")
        + "from dlterms.conformance.registry import INVARIANTS\n\n"
        "faulthandler.enable(sys.__stderr__)  # a crash prints the Python stack\n"
        f"backend = load_backend({backend_spec!r}"
        + (f", device={settings['device']!r}" if settings.get("device") else "")
        + ")\n"
        f"case = {case_src}\n"
    )
    if row.get("nondeterministic"):
        return head + (
            f"found = rerun(backend, {check}, {row['dtype']!r}, case)\n"
            "if found is not None:\n"
            f"    print('FAIL {label}:', found.describe())\n"
            "    for i, outcome in enumerate(found.outcomes, 1):\n"
            "        print(f'  run {i}: {outcome}')\n"
            "    sys.exit(1)\n"
            "print('two runs on the same input agree now')\n"
        )
    return head + (
        "try:\n"
        f"    {check}(backend, {row['dtype']!r}, **case)\n"
        "except AssertionError as exc:  # the invariant does not hold\n"
        f"    print('FAIL {label}:', exc)\n"
        "    sys.exit(1)\n"
        "except Exception:  # the backend raised\n"
        "    traceback.print_exc()\n"
        f"    print('ERROR {label}: the backend raised (traceback above)')\n"
        "    sys.exit(1)\n"
        "print('passes: the failure no longer reproduces')\n"
    )


def _restore_floats(v: Any) -> Any:
    # The report stores NaN and infinities as strings (JSON has none); the script needs floats.
    if isinstance(v, str) and v in ("nan", "inf", "-inf"):
        return float(v)
    if isinstance(v, list):
        return [_restore_floats(x) for x in v]
    if isinstance(v, dict):
        return {k: _restore_floats(x) for k, x in v.items()}
    return v


# --- writing -----------------------------------------------------------------------


def read_report(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A JSON report written by :func:`write_json`; ValueError naming the file if it is not one.

    Only the envelope is checked (JSON, an object, ``schema`` equal to :data:`SCHEMA`): a report
    of this schema version is read whole, and :func:`load_schema` validates the rest when needed.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the report: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not JSON: {exc}") from None
    schema = data.get("schema") if isinstance(data, dict) else None
    if schema != SCHEMA:
        raise ValueError(f"{path}: schema={schema!r}; expected a {SCHEMA!r} report")
    return data


def write_json(path: str | os.PathLike[str], report: dict[str, Any]) -> None:
    atomic_write_text(path, json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False) + "\n")


def write_junit(path: str | os.PathLike[str], report: dict[str, Any]) -> None:
    """JUnit XML: one testsuite per backend, one testcase per check (classname = term)."""
    s = report["summary"]
    b = report["backend"]
    suite = ET.Element(
        "testsuite",
        name=f"dlterms.{b['name']}",
        tests=str(s["total"]),
        failures=str(s["fail"] + s["xpass"]),
        errors=str(s["error"]),
        skipped=str(s["unsupported"] + s["skip"] + s["xfail"]),
        time=f"{sum(r['duration_s'] for r in report['results']):.3f}",
        timestamp=report["created"],
    )
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("backend", f"{b['name']} {b['version']}"),
        ("device", b.get("device", "cpu")),
        ("dlterms", report["dlterms_version"]),
        ("python", report["python"]),
        ("hypothesis", report.get("hypothesis_version", "unknown")),
        ("seed", str(report["settings"].get("seed"))),
        ("interrupted", str(report["interrupted"]).lower()),
    ):
        ET.SubElement(props, "property", name=name, value=value)
    for r in report["results"]:
        case = ET.SubElement(
            suite, "testcase", classname=f"dlterms.{r['term']}", name=r["id"], time=f"{r['duration_s']:.4f}"
        )
        status = r["status"]
        if status in ("fail", "xpass"):
            kind = "nondeterministic" if r.get("nondeterministic") else r["invariant"]
            el = ET.SubElement(case, "failure", message=r["message"][:500], type=kind)
            el.text = _failure_text(r)
        elif status == "error":
            el = ET.SubElement(case, "error", message=r["message"][:500], type=r["invariant"])
            el.text = _failure_text(r)
        elif status in ("unsupported", "skip", "xfail"):
            ET.SubElement(case, "skipped", message=f"{status}: {r['message']}"[:500])
    ET.indent(suite)
    atomic_write_text(path, '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n")


def _failure_text(r: dict[str, Any]) -> str:
    parts = [r["statement"], r["message"]]
    if r.get("details", {}).get("traceback"):
        parts.append("traceback:\n" + r["details"]["traceback"])
    if r.get("counterexample") is not None:
        parts.append("counterexample: " + json.dumps(r["counterexample"], ensure_ascii=False))
    if r.get("repro"):
        parts.append("reproduce:\n" + r["repro"])
    return "\n".join(parts)


_COLOURS = {
    "pass": "#1b7f3b",
    "fail": "#c62828",
    "error": "#b71c1c",
    "unsupported": "#6d6d6d",
    "skip": "#6d6d6d",
    "xfail": "#8d6e00",
    "xpass": "#c62828",
}


def _status(r: dict[str, Any]) -> str:
    """The row's status as shown, with the nondeterministic flag."""
    return f"{r['status']} (nondeterministic)" if r.get("nondeterministic") else r["status"]


def _num(v: float | str | None) -> str:
    return v if isinstance(v, str) else "" if v is None else f"{v:.3g}"


def _fact(v: Any) -> str:
    """A measured fact as the HTML report shows it: ``-`` for none, else as written in the JSON."""
    return "-" if v is None else json.dumps(v, ensure_ascii=False) if isinstance(v, bool) else str(v)


def write_html(path: str | os.PathLike[str], report: dict[str, Any], sections: Sequence[str] = ()) -> None:
    """One self-contained HTML file: inline CSS, no script, no outside URL.

    The rows, then each failure with its details, then the conventions (one row per convention: value,
    canonical value, whether they agree, and the API or adapter op that was measured), then
    ``sections``: HTML fragments appended as they are (``conform --compare-device``'s diff).
    """
    e = html.escape
    b = report["backend"]
    s = report["summary"]
    rows = []
    for r in report["results"]:
        err = "" if r["max_abs_err"] is None else f"{_num(r['max_abs_err'])} / {_num(r['max_rel_err'])}"
        tol = "" if not r["tolerance"] else f"{r['tolerance']['rtol']:g} / {r['tolerance']['atol']:g}"
        rows.append(
            f"<tr class='{e(r['status'])}'><td>{e(r['term'])}</td>"
            f"<td title='{e(r['statement'])}'>{e(r['invariant'])}</td>"
            f"<td>{e(r['dtype'])}</td><td>{e(r['device'])}</td><td class='st'>{e(_status(r))}</td>"
            f"<td>{r['examples']}</td><td>{e(err)}</td><td>{e(tol)}</td><td>{r['duration_s']:.3f}</td></tr>"
        )
    failures = []
    for r in report["results"]:
        if r["status"] in ("fail", "error", "xpass"):
            failures.append(
                f"<section><h3 id='{e(r['id'])}'>{e(r['id'])}: {e(_status(r))}</h3><p>{e(r['statement'])}</p>"
                f"<pre>{e(r['message'])}</pre>"
                + (
                    f"<p>Traceback</p><pre>{e(r['details']['traceback'])}</pre>"
                    if r.get("details", {}).get("traceback")
                    else ""
                )
                + (
                    f"<p>Counterexample</p><pre>{e(json.dumps(r['counterexample'], ensure_ascii=False))}</pre>"
                    if r["counterexample"] is not None
                    else ""
                )
                + (f"<p>Reproduce</p><pre>{e(r['repro'])}</pre>" if r.get("repro") else "")
                + "</section>"
            )
    conventions = "".join(
        f"<tr><td title='{e(c['description'])}'>{e(c['id'])}</td><td>{e(_fact(c['value']))}</td>"
        f"<td>{e(_fact(c['canonical']))}</td><td>{e(_fact(c['matches_canonical']))}</td><td>{e(_fact(c['api']))}</td></tr>"
        for c in report.get("conventions") or ()
    )
    if conventions:
        conventions = (
            "<h2>Conventions</h2><p>Facts, not failures: what the backend chose where a definition leaves room.</p>"
            "<table><thead><tr><th>convention</th><th>value</th><th>canonical</th><th>same as canonical</th>"
            f"<th>measured through</th></tr></thead><tbody>{conventions}</tbody></table>"
        )
    css = "".join(f"tr.{k} td.st{{color:{c};font-weight:600}}" for k, c in _COLOURS.items())
    counts = ", ".join(f"{s[k]} {k}" for k in STATUSES if s[k])
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>dlterms conformance: {e(b["name"])} {e(b["version"])}</title>
<style>
body{{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}}
table{{border-collapse:collapse;width:100%}}th,td{{border-bottom:1px solid #ddd;padding:.25em .5em;text-align:left}}
th{{background:#f3f3f3}}pre{{background:#f7f7f7;padding:.75em;overflow:auto}}{css}
</style></head><body>
<h1>dlterms conformance report</h1>
<p>Backend <b>{e(b["name"])} {e(b["version"])}</b> on {e(b.get("device", "cpu"))};
dlterms {e(report["dlterms_version"])}; Python {e(report["python"])};
Hypothesis {e(report.get("hypothesis_version", "unknown"))}; seed {e(str(report["settings"].get("seed")))};
{e(report["created"])}{" — <b>interrupted</b>" if report["interrupted"] else ""}</p>
<p><b>{e(counts)}</b> ({s["total"]} checks)</p>
<table><thead><tr><th>term</th><th>invariant</th><th>dtype</th><th>device</th><th>status</th><th>examples</th>
<th>max abs / rel error</th><th>rtol / atol</th><th>seconds</th></tr></thead><tbody>
{"".join(rows)}
</tbody></table>
{"".join(failures)}
{conventions}
{"".join(sections)}
</body></html>
"""
    atomic_write_text(path, page)


# --- merging shards -------------------------------------------------------------------

_MUST_AGREE = ("terms", "dtypes", "max_examples", "seed")


def merge_reports(reports: Sequence[dict[str, Any]], order: Iterable[str] | None = None) -> dict[str, Any]:
    """Combine shard reports of one run into one report (same backend and settings required).

    Rows are put in ``order`` (check keys ``invariant[dtype]``, the plan order)
    when given, else in the order the shards list them.
    """
    if not reports:
        raise ValueError("merge: no reports given")
    first = reports[0]
    for rep in reports:
        if rep.get("schema") != SCHEMA:
            raise ValueError(f"merge: schema {rep.get('schema')!r}; expected {SCHEMA!r}")
        for key in ("name", "version"):
            if rep["backend"][key] != first["backend"][key]:
                raise ValueError(f"merge: backend.{key} differs: {rep['backend'][key]!r} vs {first['backend'][key]!r}")
        for key in _MUST_AGREE:
            if rep["settings"].get(key) != first["settings"].get(key):
                raise ValueError(
                    f"merge: settings.{key} differs: {rep['settings'].get(key)!r} vs {first['settings'].get(key)!r}"
                )
    rows: dict[str, dict[str, Any]] = {}
    for rep in reports:
        for row in rep["results"]:
            if row["id"] in rows:
                raise ValueError(f"merge: check {row['id']} appears in more than one report (overlapping shards?)")
            rows[row["id"]] = row
    if order is not None:
        rank = {key: i for i, key in enumerate(order)}
        ordered = sorted(rows.values(), key=lambda r: rank.get(r["id"], len(rank)))
    else:
        ordered = list(rows.values())
    merged = dict(first)
    merged["settings"] = {**first["settings"], "shard": None, "merged_from": len(reports)}
    merged["results"] = ordered
    merged["summary"] = summary(ordered)
    merged["interrupted"] = any(rep.get("interrupted") for rep in reports)
    return merged
