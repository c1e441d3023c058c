"""A term's conformance section: each framework's verdict on the term's checks, and the conventions of its ops.

The verdict of a framework is counted over the term's checks (:func:`term_checks`: each
invariant run in each dtype, one row of the report each), with the framework's version
(:func:`.reports.version_text`), the device and the day of its report, and the report file it
came from: ``reports/…`` when it was run where the site was built, ``recorded-reports/…`` when it
is the committed one (which report wins: :mod:`.reports`). A framework of
:data:`dlterms.frameworks.FRAMEWORKS` with no report says so in its own row.

The conventions that concern a term are those of the ops its framework tabs show
(:func:`dlterms.site.frameworks.framework_ops`): a convention concerns an op when its id names
it (:func:`convention_ops`). The conventions, their descriptions and canonical values come from
the registry (``conformance/conventions/``, :func:`dlterms.conformance.conventions.measure` of
``"reference"``); each framework's measured value from the ``conventions`` of its report.
"""

from __future__ import annotations

import functools
from collections import Counter
from typing import Any

from dlterms import ops
from dlterms.frameworks import FRAMEWORKS
from dlterms.glossary import Term

from .frameworks import framework_ops
from .reports import (
    STATUS_LABELS,
    STATUS_ORDER,
    Column,
    Reports,
    convention_cell,
    convention_record,
    show_json,
    version_text,
    worst,
)
from .text import code, log, md_cell

__all__ = [
    "GENERAL_CONVENTIONS",
    "MEASURED_THROUGH",
    "convention_ops",
    "term_checks",
    "term_conventions",
    "term_conventions_markdown",
    "verdicts_markdown",
]

# Conventions whose id does not start with the op they concern, and the ops each is measured through
# (every framework's probe of "same" padding calls its convolution: conformance/conventions/<fw>.py).
MEASURED_THROUGH: dict[str, tuple[str, ...]] = {
    "padding.same_extra_cell": ("conv2d",),
    # attention.*: each framework's attention, called by readings.attention_*_read.
    "attention.boolean_mask_meaning": ("scaled_dot_product_attention",),
    "attention.default_scale": ("scaled_dot_product_attention",),
    "attention.fully_masked_row": ("scaled_dot_product_attention",),
    "attention.fully_masked_bias_row": ("scaled_dot_product_attention",),
    "attention.causal_alignment": ("scaled_dot_product_attention",),
    "attention.float64_softmax": ("scaled_dot_product_attention",),
    # adam.*, adamw.*: each framework's Adam or AdamW optimizer, one step (conformance/conventions/<fw>.py).
    "adam.default_eps": ("adam_step",),
    "adam.eps_placement": ("adam_step",),
    "adam.weight_decay": ("adam_step",),
    "adam.float64_hyperparameters": ("adam_step",),
    "adamw.default_weight_decay": ("adamw_step",),
    # sgd.*: each framework's SGD optimizer with momentum, one step (conformance/conventions/<fw>.py).
    "sgd.momentum_formulation": ("sgd_momentum_step",),
    "sgd.first_step_buffer": ("sgd_momentum_step",),
    "sgd.dampening": ("sgd_momentum_step",),
    "sgd.nesterov_formulation": ("sgd_momentum_step",),
    "sgd.weight_decay_coupling": ("sgd_momentum_step",),
    "sgd.float64_momentum": ("sgd_momentum_step",),
    "sgd.default_learning_rate": ("sgd_step", "sgd_momentum_step"),
    # rmsprop.*, adagrad.*: each framework's optimizer, one step.
    "rmsprop.eps_placement": ("rmsprop_step",),
    "rmsprop.default_decay": ("rmsprop_step",),
    "rmsprop.default_eps": ("rmsprop_step",),
    "rmsprop.default_lr": ("rmsprop_step",),
    "adagrad.eps_placement": ("adagrad_step",),
    "adagrad.default_eps": ("adagrad_step",),
    "adagrad.default_lr": ("adagrad_step",),
    "adagrad.initial_accumulator": ("adagrad_step",),
    # kaiming.*, init.*: each framework's initialisers.
    "kaiming.default_mode": ("kaiming_uniform", "kaiming_normal"),
    "kaiming.default_gain": ("kaiming_uniform", "kaiming_normal"),
    "init.conv_fan_layout": ("xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal"),
    # lr_schedule.*: each framework's schedules.
    "lr_schedule.first_step_count": ("step_lr", "cosine_annealing_lr", "linear_warmup_lr"),
    "lr_schedule.float64_hyperparameters": ("step_lr", "cosine_annealing_lr", "linear_warmup_lr"),
    # lstm.*, gru.*: each framework's cells, probed one gate at a time (readings.lstm_gate_order_read, ...);
    # a layer over a sequence has its cell's layout.
    "lstm.gate_order": ("lstm_cell", "lstm"),
    "lstm.bias_count": ("lstm_cell", "lstm"),
    "lstm.forget_bias_init": ("lstm_cell", "lstm"),
    "gru.gate_order": ("gru_cell", "gru"),
    "gru.reset_after": ("gru_cell", "gru"),
    "gru.bias_count": ("gru_cell", "gru"),
    # Each framework's recurrent layers run backwards and in both directions (Keras' go_backwards, Bidirectional).
    "lstm.go_backwards_output_order": ("lstm", "gru"),
    "bidirectional.merge_mode": ("lstm", "gru"),
    "bidirectional.h_n_layout": ("lstm", "gru"),
    # mha.*: each framework's multi-head attention layer.
    "mha.boolean_mask_meaning": ("multi_head_attention",),
    "mha.projection_layout": ("multi_head_attention",),
    "mha.batch_first_default": ("multi_head_attention",),
    "mha.default_bias": ("multi_head_attention",),
    # transformer.*: each framework's Transformer block (or the layer normalization a block is built from).
    "transformer.norm_first_default": ("transformer_encoder_block",),
    "transformer.activation_default": ("transformer_encoder_block",),
    "transformer.dim_feedforward_default": ("transformer_encoder_block",),
    "transformer.layer_norm_eps": ("transformer_encoder_block",),
    "transformer.batch_first_default": ("transformer_encoder_block",),
    "transformer.eval_fast_path": ("transformer_encoder_block",),
}
# Conventions about a framework's arithmetic or an API no term has (a variance): shown on /conventions/ only.
GENERAL_CONVENTIONS = frozenset(
    {
        "variance.default_correction",
        "float32.subnormal_arithmetic",
        "float16.exp_overflow",
        "float16.largest_finite",
        "float16.sum_accumulation",
        "bfloat16.sum_accumulation",
    }
)


def convention_ops(convention: str) -> tuple[str, ...]:
    """The canonical ops a convention concerns, read off its id.

    ``<op>.<what>`` concerns ``op`` (``softmax.default_axis``); ``<dtype>.<op>_<what>`` concerns
    ``op`` (``float16.softmax_of_logits_plus_minus_1e4``, ``bfloat16.linear_accumulation``);
    :data:`MEASURED_THROUGH` names the others' ops; any other concerns none (:data:`GENERAL_CONVENTIONS`).
    """
    if convention in MEASURED_THROUGH:
        return MEASURED_THROUGH[convention]
    head, _, rest = convention.partition(".")
    if head in ops.OPS:
        return (head,)
    named = [op for op in ops.OPS if rest == op or rest.startswith(op + "_")]
    return (max(named, key=len),) if named else ()  # the longest: log_softmax_… is not softmax's


@functools.cache
def registry_conventions() -> dict[str, dict[str, Any]]:
    """Every declared convention's record on the reference (id, description, canonical), in the registry's order.

    Empty when the conformance suite cannot be imported (the reports' own records are used then).
    """
    try:
        from dlterms.conformance.conventions import measure
    except ImportError:
        return {}
    records = {r["id"]: r for r in measure("reference")}
    for cid in records:
        if not convention_ops(cid) and cid not in GENERAL_CONVENTIONS:
            log.warning(
                "dlterms: convention %s names no op; add it to MEASURED_THROUGH or GENERAL_CONVENTIONS in %s",
                cid,
                __name__,
            )
    return records


def term_conventions(term: Term, reports: Reports) -> list[dict[str, Any]]:
    """The records (id, description, canonical) of the conventions that concern ``term``'s ops, in the registry's order,
    then those that only the reports know."""
    term_ops = set(framework_ops(term)[0])
    found = dict(registry_conventions())
    for col in reports.columns:
        for record in col.conventions:
            found.setdefault(record["id"], record)
    return [r for cid, r in found.items() if term_ops & set(convention_ops(cid))]


def term_checks(term: Term, reports: Reports) -> list[str]:
    """The invariants that check ``term``: those its entry lists, then any a report ran on its reference functions."""
    ids = list(term.invariants)
    for col in reports.columns:
        ids += [inv for inv, _ in col.rows if inv.split(".")[0] in term.reference]
    return list(dict.fromkeys(ids))


def _framework_label(name: str) -> str:
    return next((fw.label for fw in FRAMEWORKS if fw.name == name), name)


def verdict_cell(col: Column, checks: list[str]) -> str:
    """``col``'s verdict on ``checks``: the count of each status over their rows (invariant × dtype), worst first."""
    wanted = set(checks)
    counts = Counter(status for (inv, _), status in col.rows.items() if inv in wanted)
    if not counts:
        return '<span class="dl-status dl-none">not run</span>'
    bad = worst(counts)
    order = sorted(counts, key=lambda s: STATUS_ORDER.index(s) if s in STATUS_ORDER else -1)
    text = " · ".join(f"{counts[s]} {s}" for s in order)
    mark = STATUS_LABELS.get(bad, str(bad)).split(" ")[0]  # ✓, ✗, ≈, – or ·
    ran = len(wanted & {inv for inv, _ in col.rows})
    tip = f"{sum(counts.values())} rows: {ran} of the {len(wanted)} invariants, each in every dtype run"
    return f'<span class="dl-status dl-{bad}" title="{tip}">{mark} {text}</span>'


def verdicts_markdown(checks: list[str], reports: Reports) -> str:
    """One row per reported column (framework, version, device, day, verdict, report file), then a row for each
    built-in framework no report was given for."""
    head = "| framework · 框架 | version · 版本 | device · 设备 | date · 日期 | verdict · 结论 | report · 报告 |"
    rows = [head, "|---|---|---|---|---|---|"]
    for col in reports.columns:
        files = ", ".join(code(p) for p in col.paths)
        rows.append(
            f"| {md_cell(_framework_label(col.name))} | {md_cell(version_text(col))} | {md_cell(col.device)} "
            f"| {col.date or '–'} | {verdict_cell(col, checks)} | {files} |"
        )
    for fw in FRAMEWORKS:
        if not any(col.name == fw.name for col in reports.columns):
            rows.append(f"| {md_cell(fw.label)} | – | – | – | not run | no report read by this build |")
    notes = []
    if reports.superseded:
        hidden = "; ".join(
            f"{', '.join(code(p) for p in c.paths)} ({md_cell(c.label)}, {c.date or 'undated'})"
            for c in reports.superseded
        )
        notes.append(f"Not shown, superseded by a report of the same framework and device read first: {hidden}.")
    intro = (
        f"Each framework's verdict on this term's {len(checks)} invariants, counted in rows of its report: one per "
        "invariant and dtype run (an invariant a report did not run, such as a `--sizes` check, is *not run* below). "
        f"Reports are read from {reports.where}; for a framework and device, the first folder that has one wins. "
        "各框架在本术语各不变量上的结论（每个不变量 × 每种数据类型计一行），及其版本、设备与报告日期。"
    )
    return "\n\n".join([intro, "\n".join(rows), *notes])


def term_conventions_markdown(term: Term, reports: Reports) -> str:
    """The "Conventions · 约定" block: the conventions of the term's ops, canonical and measured; "" if none."""
    records = term_conventions(term, reports)
    if not records:
        return ""
    cols = [c for c in reports.columns if c.conventions]
    head = "| convention · 约定 | reference · 参考实现 |" + "".join(f" {md_cell(c.label)} |" for c in cols)
    rows = [head, "|---|---|" + "---|" * len(cols)]
    for r in records:
        cells = "".join(f" {convention_cell(convention_record(c, r['id']))} |" for c in cols)
        desc = md_cell(str(r.get("description", "")))
        rows.append(f"| {code(r['id'])}<br><small>{desc}</small> | {show_json(r.get('canonical'))} |{cells}")
    intro = (
        "Defaults the frameworks choose where the definition leaves room, measured through each framework's own API: "
        "facts, not failures (the adapters translate them; every convention is on "
        "[Conventions across frameworks](../conventions.md)). "
        "各框架在定义留有余地之处选择的默认值，通过各框架自己的 API 测得；它们是事实，不是失败。"
    )
    return f"### Conventions · 约定\n\n{intro}\n\n" + "\n".join(rows)
