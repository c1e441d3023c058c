"""The generated pages besides the terms' own: the indexes, and the generated parts of hand-written
pages (the mistranslation table, the section list, the API blocks of shadowed functions).
"""

from __future__ import annotations

import importlib.util
import re

from pypinyin import Style, lazy_pinyin

from dlterms import reference
from dlterms.glossary import Section, Term

from .pages import Context
from .text import front_matter, md_cell

HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def members(ctx: Context, section: Section) -> list[Term]:
    return [t for t in ctx.terms.values() if t.section == section.id]


ADDED = "added beyond the seed · 种子文章之外新增"


def origin_note(section: Section) -> str:
    """What a section owes the seed: the seed's own heading where it differs, or that it was added beyond it."""
    if section.seed is None:
        return f"<small>({ADDED})</small>"
    return f"<small>(seed · 原文: {md_cell(section.seed)})</small>" if section.seed != section.zh else ""


def overview_page(ctx: Context) -> str:
    """terms/index.md: the seed's outline, then the sections added beyond it, each's terms in reading order."""
    out = [front_matter({"title": "Glossary · 术语表"}), "# Glossary · 术语表", ""]
    out.append(
        f"{len(ctx.terms)} terms in the order of the seed article's sections "
        "([about the seed](../about-the-seed.md)), then of the sections added beyond the seed. "
        "Alphabetical: [English A–Z](index-en.md) · [中文索引](index-zh.md)."
    )
    for s in ctx.sections:
        terms = members(ctx, s)
        if not terms:
            continue
        note = origin_note(s)
        out += ["", f"## {s.en} · {s.zh}", "", note, ""] if note else ["", f"## {s.en} · {s.zh}", ""]
        out += ["| term | 术语 | kind |", "|---|---|---|"]
        out += [f"| [{md_cell(t.en.name)}]({t.id}.md) | {md_cell(t.zh.name)} | {t.kind} |" for t in terms]
    return "\n".join(out) + "\n"


def _initial(text: str) -> str:
    """The A–Z heading of an entry: its first letter, or "0–9" for one that starts with a digit or a symbol
    (a heading "#" would read as Markdown's closing hashes, an empty heading)."""
    c = next((ch for ch in text if ch.isalnum()), "")
    return c.upper() if c.isascii() and c.isalpha() else "0–9"


def english_index(ctx: Context) -> str:
    """terms/index-en.md: every English name and alias, A–Z (an alias points at its term)."""
    entries: list[tuple[str, Term, str | None]] = []  # (word, term, None for the name, "" an alias, "see")
    for t in ctx.terms.values():
        entries.append((t.en.name, t, None))
        entries += [(a, t, "") for a in t.en.aliases if a.casefold() != t.en.name.casefold()]
        entries += [(r, t, "see") for r in t.en.related_names]
    entries.sort(key=lambda e: (e[0].lstrip("“\"'(").casefold(), e[1].id))
    out = [front_matter({"title": "English A–Z", "search": {"exclude": True}}), "# English A–Z", ""]
    out.append(
        "Every English name and alias; an alias points at the term's page, and a related concept "
        "(*see*) at the page that explains it."
    )
    letter = None
    for word, t, alias in entries:
        if _initial(word) != letter:
            letter = _initial(word)
            out += ["", f"## {letter}", ""]
        target = f"[{md_cell(t.en.name)}]({t.id}.md)"
        if alias is None:
            out.append(f"- [{md_cell(word)}]({t.id}.md) · {md_cell(t.zh.name)}")
        else:
            out.append(f"- *{md_cell(word)}*{' (see)' if alias else ''} → {target}")
    return "\n".join(out) + "\n"


def pinyin_key(word: str) -> tuple[tuple[str, int], ...]:
    """How the Chinese index orders ``word``: syllable by syllable, by pinyin letters, then tone (1-4, 5 neutral).

    That is the order of 《现代汉语词典》 (character by character). A run of Latin letters or digits
    (``sigmoid函数``, ``BP算法``) counts as one syllable spelled as itself (letters and digits, lowercase),
    with tone 0; punctuation is skipped.
    Readings come from pypinyin's phrase dictionary, so 权重 is quan2 zhong4 and 长短期记忆 chang2.
    """
    key: list[tuple[str, int]] = []
    for run in re.findall(rf"{HAN.pattern}|[^\s\u3400-\u9fff]+", word):
        if HAN.fullmatch(run):
            syllables = lazy_pinyin(run, style=Style.TONE3, neutral_tone_with_five=True)
            key += [(s[:-1], int(s[-1])) if s[-1:].isdigit() else (s, 5) for s in syllables]
        elif any(ch.isalnum() for ch in run):  # punctuation (“深度”模型) does not count
            key.append(("".join(ch for ch in run if ch.isalnum()).casefold(), 0))
    return tuple(key)


def chinese_index(ctx: Context) -> str:
    """terms/index-zh.md: by section, then every Chinese name in pinyin order under A–Z headings."""
    out = [front_matter({"title": "中文索引", "search": {"exclude": True}}), "# 中文索引 · Chinese index", ""]
    out.append(
        "按章节排列（先是种子文章的章节，再是种子文章之外新增的章节），"
        "其后是所有中文名称（标准译名、其他译名、种子文章的译法）按拼音排序的列表："
        "逐字按拼音字母、再按声调排列，以拉丁字母开头的名称（如 sigmoid函数）按其字母排列。"
        "\n\nBy section (the seed's, then those added beyond it), then every Chinese name (standard name, "
        "variants, the seed's wording) in pinyin "
        "order, syllable by syllable (letters, then tone); a name that starts with Latin letters "
        "(sigmoid函数) files under its first letter."
    )
    out += ["", "## 按章节 · By section"]
    for s in ctx.sections:
        terms = members(ctx, s)
        if terms:
            out += ["", f"### {s.zh} · {s.en}", ""] + ([f"<small>({ADDED})</small>", ""] if s.seed is None else [])
            out += [f"- [{md_cell(t.zh.name)}]({t.id}.md) · {md_cell(t.en.name)}" for t in terms]
    entries: list[tuple[str, Term, str]] = []
    for t in ctx.terms.values():
        entries.append((t.zh.name, t, ""))
        entries += [(v, t, "其他译名") for v in (*t.zh.variants, *t.zh.aliases) if v != t.zh.name]
        entries += [(r, t, "相关概念") for r in t.zh.related_names]
        if t.seed and t.seed.wording not in (t.zh.name, *t.zh.variants):
            entries.append((t.seed.wording, t, "种子文章误译" if t.seed.mistranslation else "种子文章译法"))
    entries = list({(w, t.id): (w, t, n) for w, t, n in entries}.values())
    headed = [(_initial(" ".join(s for s, _ in pinyin_key(w))), w, t, n) for w, t, n in entries]
    headed.sort(key=lambda e: (e[0] != "0–9", pinyin_key(e[1]), e[1], e[2].id))  # 0–9 first, as in the A–Z
    out += ["", "## 按拼音 · By pinyin"]
    letter = None
    for head, word, t, note in headed:
        if head != letter:
            letter = head
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
            added = f" <small>({ADDED})</small>" if s.seed is None else ""
            out.append(f"- **{s.en} · {s.zh}**{added}: {links}")
    return "\n".join(out)


def jieba_words(terms: dict[str, Term]) -> list[str]:
    """The Chinese runs of every name, variant, alias and seed wording, so jieba keeps each whole.

    Section headings are sentences, not words, and stay out (a whole "对递归神经网络" would hide
    "递归神经网络" inside it).
    """
    words: dict[str, None] = {}
    for t in terms.values():
        texts = [*t.search_words(), *t.related_words()]
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
    out = []
    for name in reference.__all__:
        if callable(getattr(reference, name)) and importlib.util.find_spec(f"dlterms.reference.{name}"):
            out.append(
                f'<a id="dlterms.reference.{name}"></a>\n\n::: dlterms.reference.{name}.{name}\n'
                f'    options:\n      heading: "dlterms.reference.{name}"\n      heading_level: 3'
            )
    return "\n\n".join(out)
