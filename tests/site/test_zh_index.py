"""The Chinese index lists every Chinese name in pinyin order under A–Z letter headings."""

from __future__ import annotations

import re

from dlterms.site.indexes import pinyin_key

from .conftest import BuiltSite


def pinyin_part(site: BuiltSite) -> str:
    """The HTML of the index's pinyin list (after its "按拼音" heading)."""
    html = site.html("terms/index-zh/")
    return html[html.index('<h2 id="按拼音--by-pinyin"') :]


def entries_under_headings(site: BuiltSite) -> dict[str, list[str]]:
    """Heading -> the names listed under it, in page order."""
    out: dict[str, list[str]] = {}
    heading = ""
    for m in re.finditer(r"<h3[^>]*>([^<]*)<|<li>([^<]*?)(?: <small>|\s*→)", pinyin_part(site)):
        if m[1] is not None:
            heading = m[1].strip()
            out[heading] = []
        else:
            out[heading].append(m[2].strip())
    return out


def test_headings_are_letters_in_order(site: BuiltSite) -> None:
    """The pinyin list's headings are distinct letters A–Z (and 0–9 first if any), in alphabetical order."""
    headings = list(entries_under_headings(site))
    assert headings and all(re.fullmatch(r"[A-Z]|0–9", h) for h in headings), headings
    assert headings == sorted(headings, key=lambda h: "" if h == "0–9" else h)
    assert len(headings) <= 27  # was about 108 one-character headings in code-point order


def test_names_sit_under_their_pinyin_letter(site: BuiltSite) -> None:
    """Hand-checked: 激活函数 (jī) and 卷积 (juǎn) under J, 梯度 under T, 反向传播 under F, 权重 (quán zhòng)
    under Q, sigmoid函数 under S."""
    where = {name: h for h, names in entries_under_headings(site).items() for name in names}
    assert {w: where.get(w) for w in ["激活函数", "卷积", "梯度", "反向传播", "权重", "sigmoid函数"]} == {
        "激活函数": "J",
        "卷积": "J",
        "梯度": "T",
        "反向传播": "F",
        "权重": "Q",
        "sigmoid函数": "S",
    }


def test_pinyin_order_within_a_letter(site: BuiltSite) -> None:
    """Under J, 激活函数 (ji) comes before 卷积 (juan), though 卷 (U+5377) precedes 激 (U+6FC0) in code points;
    卷积 before 卷积核, a word before the longer word it begins."""
    j = entries_under_headings(site)["J"]
    assert j.index("激活函数") < j.index("卷积") < j.index("卷积核")


def test_pinyin_key_by_syllable_then_tone() -> None:
    """Hand-checked keys: each Han character a (syllable, tone) from the phrase dictionary (权重 is zhòng, not
    chóng); a Latin run one lowercase syllable with tone 0."""
    assert pinyin_key("权重") == (("quan", 2), ("zhong", 4))
    assert pinyin_key("BP算法") == (("bp", 0), ("suan", 4), ("fa", 3))
    assert pinyin_key("汇聚") < pinyin_key("激活") < pinyin_key("卷积")  # hui < ji < juan
