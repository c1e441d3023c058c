"""The Markdown of the generated pages: one page per term, the indexes, and the generated parts of
hand-written pages (the mistranslation table, the section list).

Everything is derived from the glossary entry, the reference source, the adapters, the registered
invariants and the reports given to the build (see DESIGN.md, "One source of truth per fact").
"""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dlterms.glossary import Section, Term

from dlterms import reference

from . import bib
from .frameworks import Adapters
from .plots import Picture
from .reports import Reports, matrix_markdown
from .text import code, fenced, front_matter, indent, log, mathml, md_cell, md_text

TERMS_DIR = "terms"  # under docs/: generated, git-ignored
INDEX_PAGES = {"index": "terms/index.md", "en": "terms/index-en.md", "zh": "terms/index-zh.md"}
TERM_BOOST = 2  # term pages rank above other pages that mention the same words
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


@dataclass
class Context:
    """Everything a page needs, loaded once per build."""

    repo_root: Path
    terms: dict[str, Term]
    sections: tuple[Section, ...]
    invariants: dict[str, Any]  # id -> registered Invariant
    reports: Reports
    papers: dict[str, bib.Entry]
    adapters: Adapters
    cite: Callable[..., str] | None

    def section(self, section_id: str) -> Section:
        return next(s for s in self.sections if s.id == section_id)


def title(term: Term) -> str:
    return f"{term.en.name} / {term.zh.name}"


def tag(section: Section) -> str:
    """The tag of a seed section, in both languages."""
    return f"{section.en} · {section.zh}"


# --- the term page, part by part -------------------------------------------------------------


def _names(term: Term) -> str:
    rows = [("English", md_cell(term.en.name))]
    if term.en.aliases:
        rows.append(("also called", ", ".join(md_cell(a) for a in term.en.aliases)))
    rows.append(("中文", f"{md_cell(term.zh.name)}<br><small>source · 来源: {md_cell(term.zh.name_source)}</small>"))
    others = [*term.zh.variants, *term.zh.aliases]
    if others:
        rows.append(("其他译名 · variants", "、".join(md_cell(v) for v in others)))
    if term.seed:
        flag = "mistranslation · 误译" if term.seed.mistranslation else "as in the seed · 原文译法"
        wording = f"<s>{md_cell(term.seed.wording)}</s>" if term.seed.mistranslation else md_cell(term.seed.wording)
        rows.append(("seed · 种子文章", f"{wording} ({flag})"))
    rows.append(("cite as · 引用", f"{code(term.stable_id)}, version {term.version} · {term.kind}"))
    table = "\n".join(f"| {k} | {v} |" for k, v in rows)
    return f'<div class="dl-names" markdown>\n\n| name · 名称 | |\n|---|---|\n{table}\n\n</div>'


def _definitions(term: Term) -> str:
    en, zh = md_text(term.en.definition), md_text(term.zh.definition)
    if term.seed and term.seed.mistranslation:
        en += f'\n\n!!! warning "The seed says “{term.seed.wording}”: a mistranslation"\n\n' + indent(
            md_text(term.seed.correction_en)
        )
        zh += f'\n\n!!! warning "种子文章译作“{term.seed.wording}”：误译"\n\n' + indent(
            md_text(term.seed.correction_zh)
        )
    elif term.seed:
        en += f"\n\nThe seed article writes “{md_text(term.seed.wording)}”, which is correct."
        zh += f"\n\n种子文章译作“{md_text(term.seed.wording)}”，译法正确。"
    return f'=== "English"\n\n{indent(en)}\n\n=== "中文"\n\n{indent(zh)}'


def _formula(term: Term) -> str:
    if not term.formula:
        return ""
    parts = ["## Formula · 公式", ""]
    parts.append(
        f'<div class="dlterms-math" data-search-exclude>{mathml(term.formula, display=True, where=term.id)}</div>'
    )
    if term.derivative:
        parts += ["", "Derivative · 导数:", ""]
        d = mathml(term.derivative, display=True, where=f"{term.id} (derivative)")
        parts.append(f'<div class="dlterms-math" data-search-exclude>{d}</div>')
    return "\n".join(parts)


def _figures(pictures: list[tuple[Picture, str]]) -> str:
    out = ["## Plot · 图"]
    for pic, src in pictures:
        alt = pic.alt or pic.caption_en
        out.append(
            f'<figure class="dl-plot" markdown>\n\n![{md_cell(alt)}]({src}){{ loading=lazy }}\n\n'
            f"<figcaption>{md_text(pic.caption_en)}<br>{md_text(pic.caption_zh)}</figcaption>\n\n</figure>"
        )
    return "\n\n".join(out)


def _helpers(fn: Callable[..., Any]) -> list[Callable[..., Any]]:
    """The private functions of ``fn``'s module that ``fn`` calls by name, in source order."""
    module = inspect.getmodule(fn)
    try:
        tree = ast.parse(inspect.getsource(fn).lstrip())
    except (OSError, SyntaxError):
        return []
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id.startswith("_")}
    found = [getattr(module, n) for n in names if inspect.isfunction(getattr(module, n, None))]
    found = [f for f in found if f.__module__ == getattr(module, "__name__", None)]
    return sorted(found, key=lambda f: f.__code__.co_firstlineno)[:4]


def _where(ctx: Context, fn: Callable[..., Any]) -> str:
    lines, start = inspect.getsourcelines(fn)
    path = Path(inspect.getfile(fn)).resolve()
    try:
        rel = path.relative_to(ctx.repo_root).as_posix()
    except ValueError:
        rel = path.name
    return f"{code(rel)}, lines {start}–{start + len(lines) - 1}"


def _reference(ctx: Context, term: Term) -> str:
    if not term.reference:
        return ""
    intro = (
        "The code below is the tested file itself (read with `inspect.getsource` when this page was built), not a copy."
        if term.kind == "function"
        else "This concept has no function of its own; these reference functions show it "
        "(the tested code itself, read when this page was built)."
    )
    parts = ["## Reference implementation · 参考实现", "", intro]
    shown: set[str] = set()  # each helper once per page, under the first function that calls it
    for name in term.reference:
        fn = getattr(reference, name, None)
        if not callable(fn):
            log.warning("dlterms: term %s names reference function %r, which dlterms.reference lacks", term.id, name)
            parts += ["", f"{code('dlterms.reference.' + name)}: *not found in this version of dlterms.reference.*"]
            continue
        api = f"../api/reference.md#dlterms.reference.{name}"
        parts += ["", f"[{code('dlterms.reference.' + name)}]({api}) · {_where(ctx, fn)}", ""]
        parts.append(f"<div markdown data-search-exclude>\n\n{fenced(inspect.getsource(fn))}\n\n</div>")
        extra = [
            (f"Backward pass · 反向传播: {code(name + '_vjp')}", v) for v in [getattr(reference, f"{name}_vjp", None)]
        ]
        extra = [(t, v) for t, v in extra if callable(v)]
        helpers = [h for h in _helpers(fn) if h.__qualname__ not in shown]
        shown.update(h.__qualname__ for h in helpers)
        if helpers:
            names = ", ".join(code(h.__name__) for h in helpers)
            body = "\n\n".join(fenced(inspect.getsource(h)) for h in helpers)
            parts += ["", f'??? note "Helpers it calls · 辅助函数: {names}"\n\n' + indent(body)]
        for heading, vjp in extra:
            parts += ["", f'??? note "{heading} · {_where(ctx, vjp)}"\n\n' + indent(fenced(inspect.getsource(vjp)))]
    return "\n".join(parts)


def _called_names(fn: Callable[..., Any]) -> set[str]:
    try:
        tree = ast.parse(inspect.getsource(fn).lstrip())
    except (OSError, SyntaxError):
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def framework_ops(term: Term) -> tuple[list[str], bool]:
    """The canonical ops of the backend contract that show ``term``, and whether they are its own.

    The term's reference functions that are canonical ops; failing that, the ops they are built
    on: a function's own VJP names its op (``sigmoid_vjp``), a mode names its network
    (``rnn_many_to_one``), and the canonical ops reached through the functions they call, three
    calls deep (``batch_gradient_descent`` → ``gradient_descent`` → ``sgd_step``).
    """
    from dlterms.conformance.backends import CANONICAL_OPS

    own = [r for r in term.reference if r in CANONICAL_OPS]
    if own:
        return own, True
    found = {r.removesuffix("_vjp") for r in term.reference} & set(CANONICAL_OPS)
    found |= {op for op in CANONICAL_OPS for r in term.reference if r.startswith(op + "_")}
    frontier = [getattr(reference, r) for r in term.reference if callable(getattr(reference, r, None))]
    seen: set[Callable[..., Any]] = set()
    for _ in range(3):
        nxt = []
        for fn in frontier:
            if fn in seen:
                continue
            seen.add(fn)
            module = inspect.getmodule(fn)
            for name in _called_names(fn):
                target = getattr(module, name, None) or getattr(reference, name, None)
                if name in CANONICAL_OPS and callable(target):
                    found.add(name)
                elif inspect.isfunction(target) and target.__module__.startswith(reference.__name__):
                    nxt.append(target)
        frontier = nxt
    return [op for op in CANONICAL_OPS if op in found], False


def _frameworks(ctx: Context, term: Term) -> str:
    ops, own = framework_ops(term)
    if not ops:
        return ""
    parts = ["## In frameworks · 框架实现", ""]
    via = "" if own else f" This term's functions are built on {', '.join(code(o) for o in ops)}, shown here."
    parts.append(
        "Each tab shows the adapter the conformance suite calls: the framework's own op, with layouts and "
        "defaults translated to the canonical ones ([write an adapter](../how-to/write-an-adapter.md))." + via
    )
    for a in ctx.adapters.all():
        if not a.installed:
            body = f"*Adapter not installed.* {md_text(a.why_missing)}"
        else:
            blocks = []
            for op in ops:
                src = a.source(op)
                if src is None:
                    blocks.append(f"{code(op)}: no adapter; the suite reports its invariants *unsupported*.")
                else:
                    blocks.append(f"<div markdown data-search-exclude>\n\n{fenced(src)}\n\n</div>")
            version = f" {a.version}" if a.version else ""
            body = f"{code(a.backend)}{version} · adapter {code(a.path)}\n\n" + "\n\n".join(blocks)
        parts += ["", f'=== "{a.label}"', "", indent(body)]
    return "\n".join(parts)


def _invariants(ctx: Context, term: Term) -> str:
    if not term.invariants:
        return ""
    rows = []
    for inv_id in term.invariants:
        inv = ctx.invariants.get(inv_id)
        if inv is None:
            statement, kind = "*declared by the glossary entry, not registered in the conformance suite*", "–"
        else:
            statement, kind = md_cell(inv.statement), inv.kind
        rows.append(f"| {code(inv_id)} | {statement} | {kind} |")
    table = "| invariant | statement | kind |\n|---|---|---|\n" + "\n".join(rows)
    intro = (
        "What the conformance suite checks, for the reference and for every framework, "
        "on inputs that Hypothesis generates."
    )
    return f"## Guarantees · 不变量\n\n{intro}\n\n{table}"


def _conformance(ctx: Context, term: Term) -> str:
    ids = list(term.invariants)
    for col in ctx.reports.columns:
        ids += [inv for inv, _ in col.rows if inv not in ids and inv.split(".")[0] in {r for r in term.reference}]
    if not ids:
        return ""
    body = matrix_markdown(list(dict.fromkeys(ids)), ctx.reports)
    return f"## Conformance · 一致性\n\n<div markdown data-search-exclude>\n\n{body}\n\n</div>"


def _link(ctx: Context, term_id: str, base: str = "") -> str:
    other = ctx.terms[term_id]
    return f"[{md_cell(title(other))}]({base}{term_id}.md)"


def _related(ctx: Context, term: Term) -> str:
    parts = []
    if term.related:
        parts += ["## Related terms · 相关术语", "", *(f"- {_link(ctx, r)}" for r in term.related if r in ctx.terms)]
    if term.papers:
        parts += ["", "## Original papers · 原始文献", ""]
        for key in term.papers:
            entry = ctx.papers.get(key)
            if entry is None:
                log.warning("dlterms: term %s cites %r, which glossary/citations.bib lacks", term.id, key)
                parts.append(f"- {code(key)} (not in citations.bib)")
            else:
                parts.append(f"- {bib.apa_markdown(entry)}")
    return "\n".join(parts)


def _cite(ctx: Context, term: Term) -> str:
    parts = ["## Cite this term · 引用本条目", ""]
    if ctx.cite is None:
        parts.append(
            '!!! info "dlterms.cite is not available in this build"\n\n'
            + indent(f"Cite the stable ID {code(term.stable_id)} (version {term.version}) and this page's address.")
        )
        return "\n".join(parts)
    try:
        apa, bibtex = ctx.cite(term.id, format="apa"), ctx.cite(term.id, format="bibtex")
    except Exception as exc:  # the citation helper must not take the page down
        log.warning("dlterms: dlterms.cite(%r) failed: %s: %s", term.id, type(exc).__name__, exc)
        return ""
    parts.append(f'`dlterms.cite("{term.id}", format="apa")`, or `dlterms cite {term.id} --format apa`:')
    parts += ["", "\n\n".join(f"> {md_text(p)}" for p in apa.strip().split("\n\n")), ""]
    parts += [f'??? quote "BibTeX: `dlterms cite {term.id}`"', "", indent(fenced(bibtex, "bibtex"))]
    parts += ["", "More formats (CFF, JSON) and the package citation: [Cite dlterms](../cite.md)."]
    return f"<div markdown data-search-exclude>\n\n{chr(10).join(parts)}\n\n</div>"


def term_page(ctx: Context, term: Term, pictures: list[tuple[Picture, str]]) -> str:
    """The whole Markdown page of one term."""
    section = ctx.section(term.section)
    meta = {
        "title": title(term),
        "description": " ".join(term.en.definition.split())[:160],
        "tags": [tag(section)],
        "search": {"boost": TERM_BOOST},
    }
    head = f"# {term.en.name} / {term.zh.name} {{#{term.id}}}"
    blocks = [
        head,
        _names(term),
        _definitions(term),
        _formula(term),
        _figures(pictures),
        _reference(ctx, term),
        _frameworks(ctx, term),
        _invariants(ctx, term),
        _conformance(ctx, term),
        _related(ctx, term),
        _cite(ctx, term),
    ]
    return front_matter(meta) + "\n\n".join(b for b in blocks if b) + "\n"


# --- indexes --------------------------------------------------------------------------------


def members(ctx: Context, section: Section) -> list[Term]:
    return [t for t in ctx.terms.values() if t.section == section.id]


def overview_page(ctx: Context) -> str:
    """terms/index.md: the seed's outline, each section's terms in reading order."""
    out = [front_matter({"title": "Glossary · 术语表"}), "# Glossary · 术语表", ""]
    out.append(
        f"{len(ctx.terms)} terms in the order of the seed article's sections "
        "([about the seed](../about-the-seed.md)). Alphabetical: [English A–Z](index-en.md) · [中文索引](index-zh.md)."
    )
    for s in ctx.sections:
        terms = members(ctx, s)
        if not terms:
            continue
        seed = f" <small>(seed · 原文: {md_cell(s.seed)})</small>" if s.seed != s.zh else ""
        out += ["", f"## {s.en} · {s.zh}", "", seed.strip(), ""] if seed else ["", f"## {s.en} · {s.zh}", ""]
        out += ["| term | 术语 | kind |", "|---|---|---|"]
        out += [f"| [{md_cell(t.en.name)}]({t.id}.md) | {md_cell(t.zh.name)} | {t.kind} |" for t in terms]
    return "\n".join(out) + "\n"


def _initial(text: str) -> str:
    c = next((ch for ch in text if ch.isalnum()), "#")
    return c.upper() if c.isascii() and c.isalpha() else "#"


def english_index(ctx: Context) -> str:
    """terms/index-en.md: every English name and alias, A–Z (an alias points at its term)."""
    entries = []
    for t in ctx.terms.values():
        entries.append((t.en.name, t, False))
        entries += [(a, t, True) for a in t.en.aliases if a.casefold() != t.en.name.casefold()]
    entries.sort(key=lambda e: (e[0].lstrip("“\"'(").casefold(), e[1].id))
    out = [front_matter({"title": "English A–Z", "search": {"exclude": True}}), "# English A–Z", ""]
    out.append("Every English name and alias; an alias points at the term's page.")
    letter = None
    for word, t, alias in entries:
        if _initial(word) != letter:
            letter = _initial(word)
            out += ["", f"## {letter}", ""]
        target = f"[{md_cell(t.en.name)}]({t.id}.md)"
        out.append(
            f"- *{md_cell(word)}* → {target}" if alias else f"- [{md_cell(word)}]({t.id}.md) · {md_cell(t.zh.name)}"
        )
    return "\n".join(out) + "\n"


def chinese_index(ctx: Context) -> str:
    """terms/index-zh.md: by seed section, then every Chinese name by Unicode code point (no pinyin)."""
    out = [front_matter({"title": "中文索引", "search": {"exclude": True}}), "# 中文索引 · Chinese index", ""]
    out.append(
        "按种子文章的章节排列，其后是所有中文名称（标准译名、其他译名、种子文章的译法）按 Unicode 码位排序的列表。"
        "汉字的码位顺序即《康熙字典》的部首、笔画顺序，而不是拼音顺序：按拼音排序需要额外的软件包。"
        "\n\nBy seed section, then every Chinese name (standard name, variants, the seed's wording) sorted by "
        "Unicode code point. For Chinese characters that is the radical-and-stroke order of the Kangxi "
        "dictionary, not pinyin order, which would need a package."
    )
    out += ["", "## 按章节 · By section"]
    for s in ctx.sections:
        terms = members(ctx, s)
        if terms:
            out += ["", f"### {s.zh} · {s.en}", ""]
            out += [f"- [{md_cell(t.zh.name)}]({t.id}.md) · {md_cell(t.en.name)}" for t in terms]
    entries: list[tuple[str, Term, str]] = []
    for t in ctx.terms.values():
        entries.append((t.zh.name, t, ""))
        entries += [(v, t, "其他译名") for v in (*t.zh.variants, *t.zh.aliases) if v != t.zh.name]
        if t.seed and t.seed.wording not in (t.zh.name, *t.zh.variants):
            entries.append((t.seed.wording, t, "种子文章误译" if t.seed.mistranslation else "种子文章译法"))
    entries = list({(w, t.id): (w, t, n) for w, t, n in entries}.values())
    entries.sort(key=lambda e: (e[0].casefold(), e[1].id))
    out += ["", "## 按码位 · By code point"]
    first = None
    for word, t, note in entries:
        han = HAN.search(word)
        head = word[0].upper() if not han or han.start() > 0 else word[han.start()]
        head = head if HAN.match(head) else "A–Z"
        if head != first:
            first = head
            out += ["", f"### {head}", ""]
        suffix = f" <small>({note})</small>" if note else ""
        out.append(f"- {md_cell(word)}{suffix} → [{md_cell(t.zh.name)} · {md_cell(t.en.name)}]({t.id}.md)")
    return "\n".join(out) + "\n"


# --- parts of hand-written pages --------------------------------------------------------------


def mistranslation_table(ctx: Context, base: str = "terms/") -> str:
    """Every seed wording the glossary marks as a mistranslation, with the correction."""
    rows = []
    for t in ctx.terms.values():
        if t.seed and t.seed.mistranslation:
            rows.append(
                f"| {md_cell(t.seed.wording)} | [{md_cell(t.zh.name)}]({base}{t.id}.md)<br>{md_cell(t.en.name)} "
                f"| {md_cell(t.seed.correction_en)} | {md_cell(t.seed.correction_zh)} |"
            )
    if not rows:
        return "*No entry of this build marks a seed wording as a mistranslation.*"
    head = "| seed · 种子译法 | correct · 正确译名 | why | 说明 |\n|---|---|---|---|\n"
    return f"<div markdown data-search-exclude>\n\n{head}" + "\n".join(rows) + "\n\n</div>"


def sections_list(ctx: Context, base: str = "terms/") -> str:
    out = []
    for s in ctx.sections:
        terms = members(ctx, s)
        if terms:
            links = ", ".join(f"[{md_cell(t.en.name)} · {md_cell(t.zh.name)}]({base}{t.id}.md)" for t in terms)
            out.append(f"- **{s.en} · {s.zh}**: {links}")
    return "\n".join(out)


def jieba_words(ctx: Context) -> list[str]:
    """The Chinese runs of every name, variant, alias and seed wording, so jieba keeps each whole.

    Section headings are sentences, not words, and stay out (a whole "对递归神经网络" would hide
    "递归神经网络" inside it).
    """
    words: dict[str, None] = {}
    for t in ctx.terms.values():
        texts = [*t.search_words(), *t.zh.aliases]
        for text in texts:
            for run in HAN.findall(text):
                if len(run) > 1:
                    words[run] = None
    return sorted(words)


def shadowed_api() -> str:
    """mkdocstrings blocks for the reference functions named like their module (``rnn`` in ``rnn.py``).

    Griffe keeps the submodule under ``dlterms.reference.rnn`` and not the function that the star
    import binds there, so the API page would lack it. Each is documented from its module, under
    an explicit ``dlterms.reference.<name>`` anchor (the one ``objects.inv`` points at).
    """
    import importlib.util

    out = []
    for name in reference.__all__:
        if callable(getattr(reference, name)) and importlib.util.find_spec(f"dlterms.reference.{name}"):
            out.append(
                f'<a id="dlterms.reference.{name}"></a>\n\n::: dlterms.reference.{name}.{name}\n'
                f'    options:\n      heading: "dlterms.reference.{name}"\n      heading_level: 3'
            )
    return "\n\n".join(out)
