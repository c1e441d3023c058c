"""Two conformance reports compared: what changed between devices, framework versions or frameworks.

:func:`diff_reports` takes two reports (``dlterms.report/1`` dicts, A the
baseline and B the run compared with it) and returns a JSON-ready dict
(schema ``dlterms.diff/1``) of

* ``status_changes``: rows (by id, ``invariant[dtype]``) in both runs whose status differs;
* ``errors_grew``: rows in both runs whose error grew by more than ``min_growth``
  times: the error measured against the tolerance (``error_ratio``, the largest
  error over the allowed one) where both rows carry it, else ``max_abs_err``
  (``max_rel_err`` is shown beside it);
* ``only_in_a`` / ``only_in_b``: rows that one run has and the other has not;
* ``special_values`` and ``conventions``: the measured facts (by id) whose value or
  ``matches_canonical`` differs;
* ``worse``: the ids of the rows that got worse.

A row got **worse** when its status fails the run in B (``fail``, ``error``,
``xpass``) and did not in A, or when its error went past its tolerance
(``error_ratio`` above 1 in B, not in A) under an unchanged status. Nothing
else counts: a changed special value is a fact (a definition that changes
fails its ``<op>.special_values`` row, which is counted there), an error that
grows inside its tolerance is shown but passes, and a row found in one run
only is listed but not judged. ``dlterms report diff`` exits 1 when
``worse`` is not empty.

:func:`render_text`, :func:`html_section` and :func:`render_html` draw the
result; :func:`write_json` and :func:`write_html` write it atomically.
"""

from __future__ import annotations

import html
import json
import math
import os
from collections.abc import Sequence
from typing import Any

from dlterms.files import atomic_write_text

from .runner import FAILING, STATUSES

__all__ = [
    "SCHEMA",
    "check_diffable",
    "diff_reports",
    "error_ratio",
    "headline",
    "html_section",
    "render_html",
    "render_text",
    "same_fact",
    "same_value",
    "special_kind",
    "write_html",
    "write_json",
]

SCHEMA = "dlterms.diff/1"
_RUN_KEYS = {"backend": "name", "version": "version", "device": "device"}  # what a comparison is between
# What makes the rows comparable, and what a difference means.
_SETTING_MEANS = {
    "seed": "the runs did not check the same examples",
    "max_examples": "the runs did not check the same examples",
    "dtypes": "the runs did not plan the same checks",
    "terms": "the runs did not plan the same checks",
    "shard": "the runs did not plan the same checks",
}


def check_diffable(report: dict[str, Any], where: str) -> None:
    """Raise ValueError naming ``where`` (a file) and the field when ``report`` lacks what a diff reads.

    :func:`~dlterms.conformance.report.read_report` checks the envelope; this checks the
    backend, the settings and each row's ``id`` and ``status``.
    """
    if not isinstance(report.get("backend"), dict) or not isinstance(report["backend"].get("name"), str):
        raise ValueError(f"{where}: backend.name is missing; expected the backend of a conform run")
    if not isinstance(report.get("settings"), dict):
        raise ValueError(f"{where}: settings is missing; expected the settings of a conform run")
    rows = report.get("results")
    if not isinstance(rows, list):
        raise ValueError(f"{where}: results={type(rows).__name__}; expected a list of rows")
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or not isinstance(row.get("id"), str):
            raise ValueError(f"{where}: results[{i}] has no id; expected a row such as 'softmax.sums_to_one[float32]'")
        if row.get("status") not in STATUSES:
            raise ValueError(
                f"{where}: results[{i}] ({row['id']}) status={row.get('status')!r}; "
                f"expected one of {', '.join(STATUSES)}"
            )


def special_kind(probe_id: str) -> str | None:
    """The :class:`~dlterms.ops.Special` kind of probe ``<op>.<name>``: "definition", "choice", or None if unknown."""
    from dlterms import ops

    op, _, name = probe_id.partition(".")
    record = ops.OPS.get(op)
    return next((sv.kind for sv in record.special_values if sv.name == name), None) if record else None


def error_ratio(row: dict[str, Any]) -> float | None:
    """The row's largest error over its allowed error (``error_ratio``; at most 1 passes), None when not recorded."""
    return _number(row.get("error_ratio"))


def diff_reports(a: dict[str, Any], b: dict[str, Any], *, min_growth: float = 1.0) -> dict[str, Any]:
    """What changed from report ``a`` (the baseline) to report ``b``; see the module docstring.

    ``min_growth`` (≥ 1): an error is listed when it is more than that many times its value in ``a``.
    """
    if not min_growth >= 1.0:
        raise ValueError(f"min_growth={min_growth!r}; expected a number >= 1 (1: any growth)")
    rows_a = {r["id"]: r for r in a["results"]}
    rows_b = {r["id"]: r for r in b["results"]}
    both = [i for i in rows_b if i in rows_a]
    changes, grew = [], []
    for rid in both:
        ra, rb = rows_a[rid], rows_b[rid]
        if ra["status"] != rb["status"]:
            worse = rb["status"] in FAILING and ra["status"] not in FAILING
            changes.append(
                {"id": rid, "term": rb.get("term", ""), "a": ra["status"], "b": rb["status"], "worse": worse}
            )
        growth = _growth(ra, rb, min_growth)
        if growth:
            grew.append({"id": rid, "term": rb.get("term", ""), **growth})
    worse = {c["id"] for c in changes if c["worse"]} | {g["id"] for g in grew if g["past_tolerance"]}
    return {
        "schema": SCHEMA,
        "a": _run(a),
        "b": _run(b),
        "between": [what for what, k in _RUN_KEYS.items() if a["backend"].get(k) != b["backend"].get(k)],
        "settings": [
            {"key": k, "a": a["settings"].get(k), "b": b["settings"].get(k)}
            for k in _SETTING_MEANS
            if a["settings"].get(k) != b["settings"].get(k)
        ],
        "min_growth": min_growth,
        "status_changes": changes,
        "errors_grew": sorted(grew, key=lambda g: -_order_key(g["factor"])),
        "only_in_a": [{"id": i, "status": rows_a[i]["status"]} for i in rows_a if i not in rows_b],
        "only_in_b": [{"id": i, "status": rows_b[i]["status"]} for i in rows_b if i not in rows_a],
        "special_values": _facts(a.get("special_values"), b.get("special_values"), special=True),
        "conventions": _facts(a.get("conventions"), b.get("conventions"), special=False),
        "worse": [i for i in both if i in worse],
    }


def _run(report: dict[str, Any]) -> dict[str, Any]:
    backend, settings = report["backend"], report["settings"]
    return {
        "backend": backend.get("name"),
        "version": backend.get("version"),
        "device": backend.get("device", "cpu"),
        "dlterms_version": report.get("dlterms_version"),
        "hypothesis_version": report.get("hypothesis_version"),
        "created": report.get("created"),
        "seed": settings.get("seed"),
        "max_examples": settings.get("max_examples"),
        "summary": report.get("summary"),
    }


def _number(v: Any) -> float | None:
    """A report's error (a number, or "nan"/"inf"/"-inf" as written in strict JSON) as a float; None otherwise."""
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, int | float):
        return float(v)
    if isinstance(v, str) and v in ("nan", "inf", "-inf"):
        return float(v)
    return None


def _order_key(v: float) -> float:
    """NaN sorts as the largest value: an error that became NaN is the worst growth."""
    return math.inf if math.isnan(v) else v


def _factor(before: float | None, after: float | None) -> float | None:
    """How many times ``after`` is ``before`` (inf from 0 to more than 0, NaN when it became NaN)."""
    if before is None or after is None or math.isnan(before):
        return None
    if math.isnan(after):
        return math.nan
    if after <= before:
        return None
    return math.inf if before == 0 else after / before


def _growth(ra: dict[str, Any], rb: dict[str, Any], min_growth: float) -> dict[str, Any] | None:
    """The errors of a row in both runs, when its error grew by more than ``min_growth`` times (or past its tolerance).

    The growth is that of ``error_ratio`` where both rows carry it, else of ``max_abs_err``:
    ``max_rel_err`` is shown but not used, since it explodes where an expected value is near zero
    (a float64 linear row's went from 1 to 7e67 on an H200 while its absolute error stayed 8.9e-16).
    """
    errs = {k: (_number(ra.get(k)), _number(rb.get(k))) for k in ("max_abs_err", "max_rel_err")}
    ratio_a, ratio_b = error_ratio(ra), error_ratio(rb)
    measure = (ratio_a, ratio_b) if ratio_a is not None and ratio_b is not None else errs["max_abs_err"]
    factor = _factor(*measure)
    past = ratio_b is not None and ratio_b > 1 and (ratio_a is None or ratio_a <= 1) and ra["status"] == rb["status"]
    if not past and (factor is None or not (math.isnan(factor) or factor > min_growth)):
        return None
    return {
        "status": [ra["status"], rb["status"]],
        "max_abs_err": list(errs["max_abs_err"]),
        "max_rel_err": list(errs["max_rel_err"]),
        "factor": 1.0 if factor is None else factor,  # None: listed for crossing its tolerance alone
        "error_ratio": [ratio_a, ratio_b],
        "tolerance": rb.get("tolerance"),
        "past_tolerance": past,
    }


def _restore(v: Any) -> Any:
    """A fact's value with the strings "nan", "inf", "-inf" (strict JSON) as floats again."""
    if isinstance(v, str) and v in ("nan", "inf", "-inf"):
        return float(v)
    if isinstance(v, list):
        return [_restore(x) for x in v]
    return v


def same_value(x: Any, y: Any, *, finite: bool = True) -> bool:
    """Whether two measured values are the same: NaN equals NaN, −0.0 differs from 0.0, two errors are alike.

    ``finite=False`` compares finite non-zero numbers by being there only, not by value: for two
    values that both match the canonical one (each within the resolution its report measured in),
    a rounding difference between them is not a changed special value.
    """
    x, y = _restore(x), _restore(y)
    if isinstance(x, str) and isinstance(y, str) and x.startswith("error") and y.startswith("error"):
        return True  # "error: ...": a refusal, whatever its wording
    if isinstance(x, list) or isinstance(y, list):
        return (
            isinstance(x, list)
            and isinstance(y, list)
            and len(x) == len(y)
            and all(same_value(p, q, finite=finite) for p, q in zip(x, y, strict=True))
        )
    if _is_number(x) and _is_number(y):
        if math.isnan(x) or math.isnan(y):
            return math.isnan(x) and math.isnan(y)
        if not finite and math.isfinite(x) and math.isfinite(y) and x != 0 and y != 0:
            return True
        return x == y and math.copysign(1.0, x) == math.copysign(1.0, y)
    return bool(x == y)


def same_fact(fa: dict[str, Any], fb: dict[str, Any]) -> bool:
    """Whether two measurements of one fact (a special value or a convention) agree: the same
    ``matches_canonical`` and the same value (:func:`same_value`; rounding ignored where both are canonical)."""
    matches = fa.get("matches_canonical"), fb.get("matches_canonical")
    return matches[0] == matches[1] and same_value(fa.get("value"), fb.get("value"), finite=matches != (True, True))


def _is_number(v: Any) -> bool:
    return isinstance(v, float | int) and not isinstance(v, bool)


def _facts(
    facts_a: Sequence[dict[str, Any]] | None, facts_b: Sequence[dict[str, Any]] | None, *, special: bool
) -> list[dict[str, Any]]:
    """The facts (special values or conventions, by id) whose value or ``matches_canonical`` differs."""
    by_a = {f["id"]: f for f in facts_a or () if isinstance(f, dict) and "id" in f}
    by_b = {f["id"]: f for f in facts_b or () if isinstance(f, dict) and "id" in f}
    out = []
    for fid in [*by_a, *(i for i in by_b if i not in by_a)]:
        fa, fb = by_a.get(fid), by_b.get(fid)
        if fa is None or fb is None:
            continue  # measured in one run only (e.g. an older dlterms): nothing to compare
        if same_fact(fa, fb):
            continue
        first = fb
        entry: dict[str, Any] = {
            "id": fid,
            "description": first.get("description", ""),
            "canonical": first.get("canonical"),
            "a": {"value": fa.get("value"), "matches_canonical": fa.get("matches_canonical")},
            "b": {"value": fb.get("value"), "matches_canonical": fb.get("matches_canonical")},
        }
        if special:
            entry["kind"] = fb.get("kind") or fa.get("kind") or special_kind(fid)
        out.append(entry)
    return out


# --- rendering ------------------------------------------------------------------------


def _show(v: Any, width: int = 48) -> str:
    """A value as a reader writes it (nan, inf, -0.0, lists in brackets), cut at ``width`` characters."""
    v = _restore(v)
    if isinstance(v, list):
        text = "[" + ", ".join(_show(x, width) for x in v) + "]"
    else:
        text = "-" if v is None else repr(v) if isinstance(v, float) else str(v)
    return text if len(text) <= width else text[: width - 1] + "…"


def _num(v: float | None) -> str:
    return "-" if v is None else f"{v:.3g}"


def _pair(values: Sequence[float | None]) -> str:
    return "-" if all(v is None for v in values) else f"{_num(values[0])} → {_num(values[1])}"


def _times(f: float) -> str:
    return "NaN" if math.isnan(f) else "from 0" if math.isinf(f) else f"×{f:.3g}"


def _fact(side: dict[str, Any]) -> str:
    """A measured fact's value, starred when it differs from the canonical value."""
    return _show(side["value"]) + (" *" if side["matches_canonical"] is False else "")


def _run_label(run: dict[str, Any]) -> str:
    return f"{run['backend']} {run['version']} on {run['device']}"


def headline(diff: dict[str, Any]) -> str:
    """One line: which rows got worse in B, or that none did."""
    worse = diff["worse"]
    return f"worse in B: {len(worse)} ({', '.join(worse)})" if worse else "worse in B: nothing (no row newly fails)"


def _sections(diff: dict[str, Any]) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) of each table, in the order both renderers draw them."""
    more = f" (more than ×{diff['min_growth']:g})" if diff["min_growth"] > 1 else ""
    only = [[o["id"], "A", o["status"]] for o in diff["only_in_a"]] + [
        [o["id"], "B", o["status"]] for o in diff["only_in_b"]
    ]
    return [
        (
            "status changed",
            ["check", "A", "B", ""],
            [[c["id"], c["a"], c["b"], "WORSE" if c["worse"] else ""] for c in diff["status_changes"]],
        ),
        (
            "errors grew" + more,
            ["check", "abs error A → B", "rel error A → B", "growth", "of tolerance A → B", ""],
            [
                [
                    g["id"],
                    _pair(g["max_abs_err"]),
                    _pair(g["max_rel_err"]),
                    _times(g["factor"]),
                    _pair(g["error_ratio"]),
                    "PAST TOLERANCE" if g["past_tolerance"] else "",
                ]
                for g in diff["errors_grew"]
            ],
        ),
        ("rows in one run only", ["check", "run", "status"], only),
        (
            "special values that differ (* not the canonical value)",
            ["special value", "kind", "A", "B", "canonical"],
            [
                [s["id"], s.get("kind") or "?", _fact(s["a"]), _fact(s["b"]), _show(s["canonical"])]
                for s in diff["special_values"]
            ],
        ),
        (
            "conventions that differ (* not the canonical value)",
            ["convention", "A", "B", "canonical"],
            [[c["id"], _fact(c["a"]), _fact(c["b"]), _show(c["canonical"])] for c in diff["conventions"]],
        ),
    ]


def _intro(diff: dict[str, Any], names: tuple[str, str]) -> list[str]:
    a, b = diff["a"], diff["b"]
    lines = [f"A: {_run_label(a)} ({names[0]})", f"B: {_run_label(b)} ({names[1]})"]
    between = [f"{what} {a[what]} → {b[what]}" for what in diff["between"]]
    lines.append("compared: " + (", ".join(between) or "the same backend, version and device"))
    lines += [f"settings differ: {s['key']} {s['a']} → {s['b']} ({_SETTING_MEANS[s['key']]})" for s in diff["settings"]]
    return lines


def render_text(diff: dict[str, Any], names: tuple[str, str] = ("A", "B")) -> str:
    """The diff as plain-text tables for the terminal; ``names`` label the two runs (e.g. their files)."""
    lines = _intro(diff, names)
    for title, header, rows in _sections(diff):
        lines += ["", f"{title}: {len(rows)}"]
        if rows:
            widths = [max(len(r[k]) for r in [header, *rows]) for k in range(len(header))]
            for r in [header, ["-" * w for w in widths], *rows]:
                lines.append("  " + "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())
    return "\n".join([*lines, "", headline(diff)]) + "\n"


def html_section(diff: dict[str, Any], names: tuple[str, str] = ("A", "B")) -> str:
    """The diff as one HTML ``<section>`` (no script, no outside URL), for a page of its own or a report."""
    e = html.escape
    parts = ["<section class='dlterms-diff'><h2>Compared with another run</h2>"]
    parts += [f"<p>{e(line)}</p>" for line in _intro(diff, names)]
    parts.append(f"<p class='{'worse' if diff['worse'] else 'same'}'><b>{e(headline(diff))}</b></p>")
    for title, header, rows in _sections(diff):
        parts.append(f"<h3>{e(title)}: {len(rows)}</h3>")
        if rows:
            th = "".join(f"<th>{e(h)}</th>" for h in header)
            body = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in rows)
            parts.append(f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>")
    return "\n".join([*parts, "</section>"])


def render_html(diff: dict[str, Any], names: tuple[str, str] = ("A", "B")) -> str:
    """One self-contained HTML page of the diff: inline CSS, no script, no outside URL."""
    title = f"dlterms report diff: {_run_label(diff['a'])} vs {_run_label(diff['b'])}"
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>\n"
        "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}\n"
        "table{border-collapse:collapse;width:100%}\n"
        "th,td{border-bottom:1px solid #ddd;padding:.25em .5em;text-align:left}\n"
        "th{background:#f3f3f3}p.worse{color:#c62828}p.same{color:#1b7f3b}\n"
        "</style></head><body>\n<h1>dlterms report diff</h1>\n" + html_section(diff, names) + "\n</body></html>\n"
    )


def _json_safe(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return repr(v)
    if isinstance(v, list | tuple):
        return [_json_safe(x) for x in v]
    if isinstance(v, dict):
        return {k: _json_safe(x) for k, x in v.items()}
    return v


def write_json(path: str | os.PathLike[str], diff: dict[str, Any]) -> None:
    """Write the diff as strict JSON (NaN and infinities as "nan", "inf"), atomically."""
    atomic_write_text(path, json.dumps(_json_safe(diff), indent=2, ensure_ascii=False, allow_nan=False) + "\n")


def write_html(path: str | os.PathLike[str], diff: dict[str, Any], names: tuple[str, str] = ("A", "B")) -> None:
    """Write :func:`render_html`, atomically."""
    atomic_write_text(path, render_html(diff, names))
