"""The "Special values" section of a term page: each op's special inputs, from :data:`dlterms.ops.OPS`.

Each :class:`~dlterms.ops.Special` of the term's ops (``op.term == term.id``) is one row: the probe ID
``<op>.<name>``, the input, the value the definition gives it and why (the record's English text,
under a bilingual heading), whether that value is a *definition* (checked: a backend that differs
fails ``<op>.special_values``) or a *choice* (a fact, reported), and, for each backend whose report
given to the build has a ``special_values`` section, the value it measured. When a framework's
reports come from several devices (``backend.device``: ``reports/torch.json`` on the CPU,
``reports/torch-cuda.json`` on ``cuda``), each device is a column, a value that changes with the
device is marked in each of them, and a line under the table lists those probes per framework.
"""

from __future__ import annotations

import html
from typing import Any

from dlterms import ops
from dlterms.glossary import Term

from .reports import Column, Reports
from .text import code, html_cell, md_cell

# How the kind of a special value reads in its column (Special.kind).
KIND_LABELS = {
    "definition": "definition · 定义<br><small>checked: a backend that differs fails</small>",
    "choice": "choice · 选择<br><small>a fact: reported, never a failure</small>",
}


def show_value(value: Any) -> str:
    """A special value as a reader writes it: ``nan``, ``inf``, ``-inf``, ``-0.0``; lists in brackets."""
    if isinstance(value, list | tuple):
        return "[" + ", ".join(show_value(v) for v in value) + "]"
    return repr(value) if isinstance(value, float) else str(value)  # floats: nan, inf, -inf, -0.0, 0.5


def _measured(record: dict[str, Any] | None, elsewhere: list[tuple[Column, dict[str, Any]]]) -> str:
    """One report cell: the measured value, marked when it differs from the definition's, and when
    it differs from the same framework's value on another device (``elsewhere``)."""
    if record is None:
        return "not in these reports"
    if record.get("value") is None:
        return '<span class="dl-status dl-unsupported">– unsupported</span>'
    same = record.get("matches_canonical")
    mark = "" if same else ' <span class="dl-status dl-differs">differs</span>'
    if elsewhere:
        tip = "; ".join(f"on {c.device}: {show_value(r.get('value'))}" for c, r in elsewhere)
        devices = ", ".join(dict.fromkeys(c.device for c, _ in elsewhere))
        mark += f' <span class="dl-status dl-differs" title="{_attr(tip)}">≠ on {_attr(devices)}</span>'
    return f"{code(show_value(record['value']))}{mark}"


def _attr(text: str) -> str:
    """Text for an HTML attribute or element inside a Markdown table cell."""
    return html_cell(html.escape(text, quote=True))


def device_changes(probe: str, cols: list[Column]) -> dict[str, list[tuple[Column, dict[str, Any]]]]:
    """Column label -> the columns of the same framework on another device whose ``probe`` differs, with their records.

    Empty when no framework has reports on two devices, or the device changes nothing.
    """
    from dlterms.conformance.diff import same_fact  # the suite's comparison of two measured facts

    out: dict[str, list[tuple[Column, dict[str, Any]]]] = {}
    for col in cols:
        mine = col.special_values.get(probe)
        if mine is None or mine.get("value") is None:
            continue
        for other in cols:
            theirs = other.special_values.get(probe)
            if other.name != col.name or other.device == col.device or theirs is None or theirs.get("value") is None:
                continue
            if not same_fact(mine, theirs):
                out.setdefault(col.label, []).append((other, theirs))
    return out


def special_values_markdown(term: Term, reports: Reports) -> str:
    """The section, or "" when none of the term's ops declares a special value."""
    probes = [(op, sv) for op in ops.by_term(term.id) for sv in op.special_values]
    if not probes:
        return ""
    cols = [c for c in reports.columns if c.special_values]
    head = "| probe | input · 输入 | value · 值 | kind · 类型 | why · 原因 |" + "".join(
        f" {md_cell(c.label)} |" for c in cols
    )
    rule = "|---|---|---|---|---|" + "---|" * len(cols)
    rows = []
    by_device: dict[str, list[str]] = {}  # framework -> probes the device changes
    for op, sv in probes:
        probe = f"{op.name}.{sv.name}"
        inputs = ", ".join(f"{k}={show_value(v)}" for k, v in sv.args.items())
        value = "refused (raises an error)" if sv.value == ops.REFUSED else code(show_value(sv.value))
        changes = device_changes(probe, cols)
        for c in cols:
            if c.label in changes:
                by_device.setdefault(c.name, []).append(probe)
        cells = "".join(f" {_measured(c.special_values.get(probe), changes.get(c.label, []))} |" for c in cols)
        kind = f"{KIND_LABELS[sv.kind]}<br><small>{md_cell(sv.because)}</small>"
        rows.append(
            f"| {code(probe)} | {code(inputs)} | {value}<br>{md_cell(sv.expect)} | {kind} | {md_cell(sv.why)} |{cells}"
        )
    intro = (
        "What the definition gives on NaN, infinities, signed zeros and other edge inputs, checked by hand; "
        "the reference is tested against it"
        + (", and each framework's measured value is shown beside it." if cols else ".")
        + " A *definition* is checked (a backend that returns another value fails `<op>.special_values`); "
        "a *choice* is reported as a fact."
        + " 定义在 NaN、无穷大、带符号零等特殊输入上给出的值（人工核对）；参考实现以此为准进行测试。"
        "“定义”会被检验，“选择”只作为事实报告。"
    )
    table = "\n".join([head, rule, *rows])
    notes = "".join(
        f"\n\nOn {md_cell(name)}, the device changes "
        f"{', '.join(code(p) for p in dict.fromkeys(found))} "
        f"({', '.join(dict.fromkeys(c.device for c in cols if c.name == name))}; "
        "compare two runs with `dlterms report diff`)."
        for name, found in by_device.items()
    )
    return f"## Special values · 特殊值\n\n{intro}\n\n<div markdown data-search-exclude>\n\n{table}{notes}\n\n</div>"
