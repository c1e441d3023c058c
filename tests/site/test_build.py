"""The built site, read as files: a page and a plot per term, names, code, invariants, offline, search data."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import pytest
from dlterms.glossary import load_sections, load_terms

from dlterms import reference

if TYPE_CHECKING:
    from conftest import BuiltSite

REPO = Path(__file__).resolve().parents[2]
TERMS = load_terms()


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text outside <pre> and MathML's TeX <annotation>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self._pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        self._pre += tag in ("pre", "annotation")  # a formula's TeX annotation is not shown

    def handle_endtag(self, tag: str) -> None:
        self._pre -= tag in ("pre", "annotation")

    def handle_data(self, data: str) -> None:
        if not self._pre:
            self.text.append(data)


def parse(html: str) -> Tags:
    p = Tags()
    p.feed(html)
    return p


def test_build_is_strict_and_quiet(site: BuiltSite) -> None:
    """`mkdocs build --strict` passed and logged no warning (the fixture fails on a non-zero exit)."""
    assert "WARNING" not in site.log, site.log


@pytest.mark.parametrize("term_id", list(TERMS))
def test_every_term_has_its_page_and_plot(site: BuiltSite, term_id: str) -> None:
    """/terms/<id>/ exists, its H1 is anchored at the id, and every plot it shows is an SVG that was built."""
    page = parse(site.html(f"terms/{term_id}/"))
    h1 = [a for t, a in page.tags if t == "h1"]
    assert h1 and h1[0].get("id") == term_id
    images = [a["src"] for t, a in page.tags if t == "img" and a.get("src", "").endswith(".svg")]
    assert images, f"{term_id}: no SVG plot on the page"
    for src in images:
        svg = (site.root / "terms" / term_id / src).resolve()
        assert svg.is_file() and svg.read_bytes().startswith(b"<?xml"), src


@pytest.mark.parametrize("term_id", list(TERMS))
def test_term_page_has_names_code_and_invariants(site: BuiltSite, term_id: str) -> None:
    """Both names, the reference source of each function, and every invariant ID appear on the page."""
    term = TERMS[term_id]
    html = site.html(f"terms/{term_id}/")
    text = " ".join(parse(html).text)
    assert term.en.name in text and term.zh.name in text
    if term.seed:
        assert term.seed.wording in text
    for name in term.reference:
        if callable(getattr(reference, name, None)):
            definition = rf'def</span>(<span class="w">)? (</span>)?<span class="nf">{re.escape(name)}</span>'
            assert re.search(definition, html), name
    for inv in term.invariants:
        assert inv in text, inv


def test_english_and_chinese_definitions_are_linked_tabs(site: BuiltSite) -> None:
    """The definition sits in two content tabs labelled English and 中文 (linked site-wide by Material)."""
    html = site.html("terms/softmax/")
    labels = re.findall(r'<label for="__tabbed_1_\d">([^<]+)</label>', html)
    assert labels == ["English", "中文"]


def test_no_outside_url_in_script_link_or_img(site: BuiltSite) -> None:
    """Nothing the browser loads by itself (script, style, font, image) comes from another host."""
    offenders = []
    for path in site.root.rglob("*.html"):
        for tag, attrs in parse(path.read_text(encoding="utf-8")).tags:
            for key in ("src", "href") if tag in ("script", "link", "img", "iframe", "source") else ():
                url = urlparse(attrs.get(key, ""))
                if url.scheme in ("http", "https", "") and url.netloc:
                    offenders.append(f"{path.relative_to(site.root)}: <{tag} {key}={attrs[key]}>")
    assert not offenders, offenders[:10]


def test_without_a_site_address_no_page_names_one(site: BuiltSite) -> None:
    """Built with DLTERMS_SITE_URL unset: no canonical link, an empty sitemap, no placeholder host anywhere."""
    assert 'rel="canonical"' not in site.html("terms/softmax/")
    assert "<loc>" not in (site.root / "sitemap.xml").read_text(encoding="utf-8")
    texts = [p for p in site.root.rglob("*") if p.suffix in (".html", ".json", ".xml", ".js", ".txt")]
    assert not [p for p in texts if "example.org" in p.read_text(encoding="utf-8", errors="replace")]


def test_no_web_font_and_no_cdn_in_stylesheets(site: BuiltSite) -> None:
    """The CSS the site ships imports no font or stylesheet from another host (theme.font: false)."""
    for css in site.root.rglob("*.css"):
        text = css.read_text(encoding="utf-8")
        assert not re.search(r"url\(\s*['\"]?https?://", text), css
        assert "fonts.googleapis" not in text, css


def test_formulas_are_mathml(site: BuiltSite) -> None:
    """Every term with a formula shows it as MathML, and no TeX is left outside code blocks."""
    for term in TERMS.values():
        if term.formula:
            html = site.html(f"terms/{term.id}/")
            assert html.count("<math ") >= 1 + bool(term.derivative), term.id
            assert "\\frac" not in " ".join(parse(html).text), term.id


def test_jieba_dictionary_keeps_glossary_words(site: BuiltSite) -> None:
    """The generated jieba user dictionary lists 激活函数 and every seed wording's Chinese run."""
    words = (REPO / "docs" / "terms" / "jieba_user_dict.txt").read_text(encoding="utf-8").split()
    assert "激活函数" in words
    assert all(re.fullmatch(r"[\u3400-\u9fff\uf900-\ufaff]{2,}", w) for w in words)


def test_search_index_keeps_activation_function_whole(site: BuiltSite) -> None:
    """In the search index, 激活函数 is one token (segmented by jieba with the user dictionary)."""
    index = json.loads((site.root / "search" / "search_index.json").read_text(encoding="utf-8"))
    assert "\\u200b" in index["config"]["separator"] and index["config"]["lang"] == ["en", "zh"]
    page = [d for d in index["docs"] if d["location"] == "terms/activation-function/"]
    assert page and "激活函数" in re.split(index["config"]["separator"].split("|")[0], page[0]["title"])


def test_term_pages_are_boosted_and_tagged(site: BuiltSite) -> None:
    """Term pages carry search boost 2 and their seed section as a tag."""
    index = json.loads((site.root / "search" / "search_index.json").read_text(encoding="utf-8"))
    sections = {s.id: s for s in load_sections()}
    for term in TERMS.values():
        docs = [d for d in index["docs"] if d["location"] == f"terms/{term.id}/"]
        assert docs and docs[0].get("boost") == 2, term.id
        assert sections[term.section].en in " ".join(docs[0].get("tags", [])), term.id


def test_navigation_follows_reading_order(site: BuiltSite) -> None:
    """The glossary overview lists the terms in load_terms() order, under the seed's sections in order."""
    html = site.html("terms/")
    found = re.findall(r'href="\.\./([a-z0-9-]+)/"|href="([a-z0-9-]+)/"', html)
    order = [a or b for a, b in found if (a or b) in TERMS]
    assert list(dict.fromkeys(order)) == list(TERMS)


def test_conformance_matrix_shows_the_reports(site: BuiltSite) -> None:
    """The softmax matrix has a fakeframe column: pass, fail (worst dtype wins), unsupported, not run."""
    html = site.html("terms/softmax/")
    assert "fakeframe 9.9.9" in html
    assert re.search(r'dl-pass" title="float32: pass; float64: pass">✓ pass', html)
    assert re.search(r'dl-fail" title="float32: pass; float64: fail">✗ fail', html)
    assert "– unsupported" in html and "not run" in html


def test_conventions_page_renders_report_conventions(site: BuiltSite) -> None:
    """Each convention of the report is a row; a value that is not canonical is marked."""
    html = site.html("conventions/")
    assert "softmax.default_axis" in html and "leaky_relu.default_negative_slope" in html
    assert html.count("differs</span>") == 1


def test_mistranslation_table_lists_every_mistranslation(site: BuiltSite) -> None:
    """About the seed has a row for each seed wording the glossary marks as a mistranslation."""
    text = " ".join(parse(site.html("about-the-seed/")).text)
    wrong = [t.seed.wording for t in TERMS.values() if t.seed and t.seed.mistranslation]
    assert wrong and all(w in text for w in wrong)


def test_api_reference_anchors(site: BuiltSite) -> None:
    """The API page has an anchor per public reference function (dlterms.reference.<name>)."""
    ids = {a.get("id") for _, a in parse(site.html("api/reference/")).tags}
    public = [n for n in reference.__all__ if callable(getattr(reference, n))]
    missing = [n for n in public if f"dlterms.reference.{n}" not in ids]
    assert not missing, missing


def test_indexes_list_every_name(site: BuiltSite) -> None:
    """The English A–Z lists every English name and alias; the Chinese index every Chinese name."""
    en = " ".join(parse(site.html("terms/index-en/")).text)
    zh = " ".join(parse(site.html("terms/index-zh/")).text)
    for t in TERMS.values():
        assert all(w in en for w in (t.en.name, *t.en.aliases)), t.id
        assert all(w in zh for w in (t.zh.name, *t.zh.variants)), t.id


def test_indexes_mark_related_concepts_and_head_every_entry(site: BuiltSite) -> None:
    """A related name is marked "see" / "相关概念", never "其他译名"; "2-d convolution" sits under a heading."""
    en_html, zh_html = site.html("terms/index-en/"), site.html("terms/index-zh/")
    assert re.search(r"<em>global minimum</em> \(see\) → <a", en_html)
    assert re.search(r"全局最小值 <small>\(相关概念\)</small>", zh_html)
    assert "全局最小值 <small>(其他译名)</small>" not in zh_html
    body = en_html[en_html.index('id="english-az"') :]
    headings = [(m.start(), m[1]) for m in re.finditer(r"<h2[^>]*>([^<]*)", body)]
    where = body.index("<em>2-d convolution</em>")
    assert headings and headings[0][0] < where, "2-d convolution comes before the first heading"
    assert [h for pos, h in headings if pos < where][-1].strip() == "0–9"


def test_a_term_page_lists_related_names_apart_from_other_names(site: BuiltSite) -> None:
    """Softmax's names table shows log-softmax as a related concept, not among its other names (variants)."""
    page = site.html("terms/softmax/")
    variants = re.search(r"其他译名 · variants</td>\s*<td>(.*?)</td>", page, re.S)
    related = re.search(r"related · 相关概念</td>\s*<td>(.*?)</td>", page, re.S)
    assert variants and "log-softmax" not in variants[1] and "对数softmax" not in variants[1]
    assert related and "log-softmax" in related[1] and "对数softmax" in related[1]


def test_home_lists_every_term(site: BuiltSite) -> None:
    """The home page's section list links every term page."""
    html = site.html("")
    assert all(f'href="terms/{t}/"' in html for t in TERMS)


def test_svg_plots_are_byte_identical_across_renders() -> None:
    """Drawing a picture twice gives the same bytes (fixed hash salt, no date)."""
    from dlterms.site import plots

    term = TERMS["sigmoid"]
    picture = plots.pictures_for(term, TERMS, load_sections())[0]
    first, second = plots.svg(picture.draw), plots.svg(picture.draw)
    assert first == second and b"<dc:date>" not in first


def test_page_weight(site: BuiltSite) -> None:
    """A term page's HTML, its own CSS and its images weigh at most 300 KB (search index and theme aside)."""
    own_css = sum(p.stat().st_size for p in (site.root / "stylesheets").glob("*.css"))
    for term_id in TERMS:
        page = site.root / "terms" / term_id / "index.html"
        images = {a["src"] for t, a in parse(page.read_text(encoding="utf-8")).tags if t == "img"}
        weight = page.stat().st_size + own_css + sum((page.parent / Path(s)).stat().st_size for s in images)
        assert weight <= 300_000, (term_id, weight)


@pytest.mark.parametrize("term_id", ["softmax", "local-minimum"])
def test_chinese_text_is_marked_zh_hans(site: BuiltSite, term_id: str) -> None:
    """The Chinese definition and the Chinese name sit in elements with lang="zh-Hans" (screen readers, CJK fonts)."""
    page, term = site.html(f"terms/{term_id}/"), TERMS[term_id]
    start = " ".join(term.zh.definition.split())[:10]
    assert re.search(r'<div lang="zh-Hans"[^>]*>\s*<p>' + re.escape(start), page), start
    assert f'<span lang="zh-Hans">{term.zh.name}</span>' in page
