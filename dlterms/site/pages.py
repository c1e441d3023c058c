"""The Markdown of one term's page, part by part (the indexes are in :mod:`.indexes`).

Everything is derived from the glossary entry, the reference source, the adapters, the registered
invariants and the reports given to the build (see docs/design.md, "One source of truth per fact").
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dlterms import reference
from dlterms.citing.bibliography import BibEntry
from dlterms.citing.formats import apa_markdown
from dlterms.glossary import Section, Term

from .examples import example_markdown
from .frameworks import Adapters, frameworks_markdown
from .plots import Picture
from .reports import Reports, matrix_markdown
from .specials import special_values_markdown
from .symbols import symbols_markdown
from .text import code, fenced, front_matter, indent, log, mathml, md_cell, md_text
from .verdicts import term_checks, term_conventions_markdown, verdicts_markdown

TERMS_DIR = "terms"  # under the docs folder: generated, git-ignored
INDEX_PAGES = {"index": "terms/index.md", "en": "terms/index-en.md", "zh": "terms/index-zh.md"}
TERM_BOOST = 2  # term pages rank above other pages that mention the same words


@dataclass
class Context:
    """Everything a page needs, loaded once per build."""

    repo_root: Path
    terms: dict[str, Term]
    sections: tuple[Section, ...]
    invariants: dict[str, Any]  # id -> registered Invariant
    reports: Reports
    papers: dict[str, BibEntry]
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
    rows.append(
        (
            "中文",
            f'<span lang="zh-Hans">{md_cell(term.zh.name)}</span><br>'
            f"<small>source · 来源: {md_cell(term.zh.name_source)}</small>",
        )
    )
    others = [*term.zh.variants, *term.zh.aliases]
    if others:
        rows.append(("其他译名 · variants", f'<span lang="zh-Hans">{"、".join(md_cell(v) for v in others)}</span>'))
    if term.related_words():
        rows.append(("related · 相关概念", "、".join(md_cell(r) for r in term.related_words())))
    if term.seed:
        flag = "mistranslation · 误译" if term.seed.mistranslation else "as in the seed · 原文译法"
        wording = f"<s>{md_cell(term.seed.wording)}</s>" if term.seed.mistranslation else md_cell(term.seed.wording)
        rows.append(("seed · 种子文章", f"{wording} ({flag})"))
    rows.append(("cite as · 引用", f"{code(term.stable_id)}, version {term.version} · {term.kind}"))
    table = "\n".join(f"| {k} | {v} |" for k, v in rows)
    # Out of the search text (the result snippet starts with the definition): the names are searched
    # in the index's hidden names field (dlterms/site/searchnames.py).
    return f'<div class="dl-names" markdown data-search-exclude>\n\n| name · 名称 | |\n|---|---|\n{table}\n\n</div>'


def _definitions(term: Term) -> str:
    en, zh = md_text(term.en.definition), md_text(term.zh.definition)
    if term.seed and term.seed.mistranslation:
        en += f'\n\n!!! warning "The seed says “{term.seed.wording}”: a mistranslation"\n\n' + indent(
            md_text(term.seed.correction_en)
        )
        zh += f'\n\n!!! warning "种子文章译作“{term.seed.wording}”：误译"\n\n' + indent(
            md_text(term.seed.correction_zh)
        )
    elif term.seed and (term.seed.correction_en or term.seed.correction_zh):
        # The name is right, but the glossary records what the seed gets wrong (or right) around it.
        en += f'\n\n!!! note "The seed article writes “{term.seed.wording}”: the name is right"\n\n' + indent(
            md_text(term.seed.correction_en or term.seed.correction_zh)
        )
        zh += f'\n\n!!! note "种子文章译作“{term.seed.wording}”：译名正确"\n\n' + indent(
            md_text(term.seed.correction_zh or term.seed.correction_en)
        )
    elif term.seed:
        en += f"\n\nThe seed article writes “{md_text(term.seed.wording)}”, which is correct."
        zh += f"\n\n种子文章译作“{md_text(term.seed.wording)}”，译法正确。"
    # lang="zh-Hans": screen readers read it as Chinese, and the browser picks a CJK font for it.
    zh = f'<div lang="zh-Hans" markdown>\n\n{zh}\n\n</div>'
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
    if symbols := symbols_markdown(term):
        parts += ["", symbols]
    return "\n".join(parts)


def _figures(pictures: list[tuple[Picture, str]]) -> str:
    out = ["## Plot · 图"]
    for pic, src in pictures:
        alt = pic.alt or pic.caption_en
        out.append(
            f'<figure class="dl-plot" markdown>\n\n![{md_cell(alt)}]({src}){{ loading=lazy }}\n\n'
            f'<figcaption>{md_text(pic.caption_en)}<br><span lang="zh-Hans">{md_text(pic.caption_zh)}</span>'
            "</figcaption>\n\n</figure>"
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
    # dl-guarantees: on a phone each row is stacked (docs/stylesheets/dlterms.css), not three squeezed columns.
    return f'## Guarantees · 不变量\n\n{intro}\n\n<div class="dl-guarantees" markdown>\n\n{table}\n\n</div>'


def _conformance(ctx: Context, term: Term) -> str:
    checks = term_checks(term, ctx.reports)
    conventions = term_conventions_markdown(term, ctx.reports)
    if not checks and not conventions:
        return ""
    parts = []
    if checks and ctx.reports.given:
        # Each framework's verdict first; the invariant × framework matrix folded under it.
        matrix = matrix_markdown(checks, ctx.reports)
        parts += [verdicts_markdown(checks, ctx.reports), '??? info "Each check · 每项检查"\n\n' + indent(matrix)]
    elif checks:
        parts.append(matrix_markdown(checks, ctx.reports))  # says that no report was given to the build
    if conventions:
        parts.append(conventions)
    body = "\n\n".join(parts)
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
                parts.append(f"- {apa_markdown(entry)}")
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
        _definitions(term),  # first: on a phone the definition is in the first screen, the names after it
        _names(term),
        _formula(term),
        example_markdown(term),
        _figures(pictures),
        _reference(ctx, term),
        frameworks_markdown(ctx.adapters, term, ctx.reports),
        _invariants(ctx, term),
        special_values_markdown(term, ctx.reports),
        _conformance(ctx, term),
        _related(ctx, term),
        _cite(ctx, term),
    ]
    return front_matter(meta) + "\n\n".join(b for b in blocks if b) + "\n"
