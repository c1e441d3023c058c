"""The "Special values" section of a term page: each op's special inputs, from :data:`dlterms.ops.OPS`.

Each :class:`~dlterms.ops.Special` of the term's ops (``op.term == term.id``) is one row: the probe ID
``<op>.<name>``, the input, the value the definition gives it and why (the record's English text,
under a bilingual heading), and, for each backend whose report given to the build has a
``special_values`` section, the value it measured.
"""

from __future__ import annotations

from typing import Any

from dlterms import ops
from dlterms.glossary import Term

from .reports import Reports
from .text import code, md_cell


def show_value(value: Any) -> str:
    """A special value as a reader writes it: ``nan``, ``inf``, ``-inf``, ``-0.0``; lists in brackets."""
    if isinstance(value, list | tuple):
        return "[" + ", ".join(show_value(v) for v in value) + "]"
    return repr(value) if isinstance(value, float) else str(value)  # floats: nan, inf, -inf, -0.0, 0.5


def _measured(record: dict[str, Any] | None) -> str:
    """One report cell: the measured value, marked when it differs from the definition's."""
    if record is None:
        return "not in these reports"
    if record.get("value") is None:
        return '<span class="dl-status dl-unsupported">– unsupported</span>'
    same = record.get("matches_canonical")
    mark = "" if same else ' <span class="dl-status dl-differs">differs</span>'
    return f"{code(show_value(record['value']))}{mark}"


def special_values_markdown(term: Term, reports: Reports) -> str:
    """The section, or "" when none of the term's ops declares a special value."""
    probes = [(op, sv) for op in ops.by_term(term.id) for sv in op.special_values]
    if not probes:
        return ""
    cols = [c for c in reports.columns if c.special_values]
    head = "| probe | input · 输入 | value · 值 | why · 原因 |" + "".join(f" {md_cell(c.label)} |" for c in cols)
    rule = "|---|---|---|---|" + "---|" * len(cols)
    rows = []
    for op, sv in probes:
        probe = f"{op.name}.{sv.name}"
        inputs = ", ".join(f"{k}={show_value(v)}" for k, v in sv.args.items())
        value = "refused (raises an error)" if sv.value == ops.REFUSED else code(show_value(sv.value))
        cells = "".join(f" {_measured(c.special_values.get(probe))} |" for c in cols)
        rows.append(f"| {code(probe)} | {code(inputs)} | {value}<br>{md_cell(sv.expect)} | {md_cell(sv.why)} |{cells}")
    intro = (
        "What the definition gives on NaN, infinities, signed zeros and other edge inputs, checked by hand; "
        "the reference is tested against it"
        + (", and each framework's measured value is shown beside it." if cols else ".")
        + " 定义在 NaN、无穷大、带符号零等特殊输入上给出的值（人工核对）；参考实现以此为准进行测试。"
    )
    table = "\n".join([head, rule, *rows])
    return f"## Special values · 特殊值\n\n{intro}\n\n<div markdown data-search-exclude>\n\n{table}\n\n</div>"
