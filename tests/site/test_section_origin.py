"""The site says which sections come from the seed article and which were added beyond it."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

from dlterms.glossary import load_sections, load_terms

from dlterms.site import indexes


def _context_with_one_term_per_section() -> SimpleNamespace:
    """The real sections, and one copy of the sigmoid entry in each, so that no section is left out as empty."""
    sigmoid = load_terms()["sigmoid"]
    sections = load_sections()
    terms = {f"t-{s.id}": dataclasses.replace(sigmoid, id=f"t-{s.id}", section=s.id) for s in sections}
    return SimpleNamespace(terms=terms, sections=sections)


def _blocks(page: str, start: str) -> dict[str, str]:
    """The text under each heading that starts with ``start``, keyed by the heading line."""
    out: dict[str, str] = {}
    heading = None
    for line in page.splitlines():
        if line.startswith(start):
            heading = line
            out[heading] = ""
        elif heading is not None:
            out[heading] += line + "\n"
    return out


def test_overview_marks_added_sections_and_shows_seed_headings() -> None:
    """terms/index.md notes "added beyond the seed" under exactly the sections without a seed heading."""
    ctx = _context_with_one_term_per_section()
    blocks = _blocks(indexes.overview_page(ctx), "## ")
    for s in ctx.sections:
        body = blocks[f"## {s.en} · {s.zh}"]
        assert ("种子文章之外新增" in body) == (s.seed is None), s.id
        if s.seed is not None and s.seed != s.zh:
            assert f"原文: {s.seed}" in body, s.id
    assert "added beyond the seed" in blocks["## Training and regularization · 训练与正则化"]


def test_chinese_index_and_home_list_mark_added_sections() -> None:
    """The 中文索引's by-section list and the home page's section list mark only the added sections."""
    ctx = _context_with_one_term_per_section()
    blocks = _blocks(indexes.chinese_index(ctx).split("## 按拼音")[0], "### ")
    for s in ctx.sections:
        assert ("种子文章之外新增" in blocks[f"### {s.zh} · {s.en}"]) == (s.seed is None), s.id
    lines = indexes.sections_list(ctx).splitlines()
    assert len(lines) == len(ctx.sections)
    for s, line in zip(ctx.sections, lines, strict=True):
        assert line.startswith(f"- **{s.en} · {s.zh}**")
        assert ("added beyond the seed" in line) == (s.seed is None), s.id
