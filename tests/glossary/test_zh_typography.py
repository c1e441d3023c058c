"""Chinese typography of the glossary: a space between Han characters and Latin letters, digits, brackets.

The rule is the style most of the entries already follow (measured when this test was written: 237
Han–space–Latin/digit junctions against 2 without the space, 12 Han–space–bracket against 1): in Chinese
prose, a Han character never touches an ASCII letter, an ASCII digit or a half-width bracket ``( ) [ ]``
directly; a space separates them ("在 (0, 1) 内", "是 100 而不是"). Full-width punctuation (，。（）“”：)
needs no space. The only exception is a name as the glossary declares it (d2l writes "softmax函数",
"S型函数", "BP算法" without a space): every Chinese name, variant, alias and related name, and the
seed's wording, may appear as written, but not glued to the text around it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from dlterms.glossary import Term, load_terms

TERMS = load_terms()
HAN = r"[\u3400-\u4dbf\u4e00-\u9fff]"
LATIN = r"[A-Za-z0-9()\[\]]"
SLIP = re.compile(rf"{HAN}{LATIN}|{LATIN}{HAN}")


def _names() -> list[str]:
    names: set[str] = set()
    for t in TERMS.values():
        names |= {t.zh.name, *t.zh.variants, *t.zh.aliases, *t.zh.related_names}
        if t.seed:
            names.add(t.seed.wording)
    return sorted(names, key=len, reverse=True)


NAMES = _names()


def slips(text: str, names: list[str] = NAMES) -> list[str]:
    """Each place in ``text`` where a Han character touches a Latin letter, digit or bracket.

    A declared name keeps its own junctions: it is masked inside (its first and last characters
    stay, so a name glued to the text around it is still a slip).
    """
    masked = text
    for name in names:
        if len(name) > 2 and name in masked:
            masked = masked.replace(name, name[0] + "·" * (len(name) - 2) + name[-1])
    return [text[max(0, m.start() - 6) : m.end() + 6] for m in SLIP.finditer(masked)]


def zh_fields(term: Term) -> Iterator[tuple[str, str]]:
    """Every Chinese prose field of an entry, by its TOML name."""
    yield "zh.definition", term.zh.definition
    if term.seed and term.seed.correction_zh:
        yield "seed.correction_zh", term.seed.correction_zh
    if term.notation_zh:
        yield "math.notation_zh", term.notation_zh
    for s in term.symbols:
        yield f"math.symbol[{s.tex}].zh", s.zh
    if term.example:
        yield "example.caption_zh", term.example.caption_zh


@pytest.mark.parametrize("term_id", list(TERMS))
def test_no_han_character_touches_a_latin_letter_digit_or_bracket(term_id: str) -> None:
    """In every Chinese field of the entry, Han text and Latin letters, digits or brackets are spaced."""
    found = [(field, s) for field, text in zh_fields(TERMS[term_id]) for s in slips(text)]
    assert not found, f"{term_id}: spacing slips {found}"


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("每个输出都在(0, 1) 内", True),
        ("损失是 100而不是无穷大", True),
        ("只在count_include_pad 为真时", True),
        ("形状为 (输入通道数, kH, kW)", True),
        ("也叫做softmax函数", True),
        ("每个输出都在 (0, 1) 内", False),
        ("损失是 100 而不是无穷大（正确的则为 0）", False),
        ("“功能”应为“函数”：softmax函数。", False),
        ("x 的 sigmoid 值，在 (0, 1) 内", False),
    ],
)
def test_the_rule_finds_the_slips_the_issue_reported_and_passes_the_house_style(text: str, bad: bool) -> None:
    """The issue's slips ("在(0, 1) 内", "100而不是") are found; spaced text and declared names pass."""
    assert bool(slips(text)) is bad


def test_local_minimum_says_on_or_below_every_chord() -> None:
    """The Chinese convexity clause says on or below the chord (弦上或弦的下方), not “above or below”."""
    zh = " ".join(TERMS["local-minimum"].zh.definition.split())
    assert "之上或之下" not in zh
    assert "弦上或弦的下方" in zh
    assert "on or below every chord" in " ".join(TERMS["local-minimum"].en.definition.split())
