"""One bibliography: the site's and `dlterms cite`'s APA agree for every paper; every URL they print is well-formed."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import markdown
import pytest
import yaml
from dlterms.glossary import load_terms
from pybtex.database import parse_string

from dlterms import citing
from dlterms.citing.bibliography import url

DAY = "2025-01-31"


@pytest.fixture(autouse=True)
def site_address(monkeypatch: pytest.MonkeyPatch) -> None:
    """A deployer's site address (DLTERMS_SITE_URL), so that the term pages' URLs are checked too."""
    monkeypatch.setenv(citing.SITE_URL_VARIABLE, "https://dlterms.test/docs/")


BIB = citing.read_citations()
TERMS = list(load_terms())
# RFC 3986: unreserved and reserved characters, and percent-encoded octets; nothing else.
URI = re.compile(r"(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})+")
MAAS = "https://ai.stanford.edu/~amaas/papers/relu_hybrid_icml2013_final.pdf"


class _Html(HTMLParser):
    """The text and the link targets of an HTML fragment."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hrefs += [v or "" for k, v in attrs if tag == "a" and k == "href"]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def rendered(md: str) -> _Html:
    """``md`` rendered by Python-Markdown (the site's renderer), parsed back into text and links."""
    html = _Html()
    html.feed(markdown.markdown(md))
    return html


def expected_link(fields: Any) -> str:
    """A paper's link read from pybtex's fields (not by the code under test): DOI, else url, else arXiv."""
    if "doi" in fields:
        return "https://doi.org/" + fields["doi"]
    if "url" in fields:
        return fields["url"]
    if fields.get("archiveprefix", "").lower() == "arxiv":
        return "https://arxiv.org/abs/" + fields["eprint"]
    return ""


PYBTEX = parse_string(citing.CITATIONS_PATH.read_text(encoding="utf-8"), "bibtex")
LINKS = {key: expected_link(e.fields) for key, e in PYBTEX.entries.items()}


def assert_well_formed(address: str, where: str) -> None:
    parts = urlsplit(address)
    assert parts.scheme in ("http", "https") and parts.netloc, f"{where}: {address!r} is not an http(s) URL"
    assert URI.fullmatch(address), f"{where}: {address!r} has a character a URL may not hold unescaped"


def urls_of_bibtex(text: str) -> list[str]:
    entries = parse_string(text, "bibtex").entries.values()
    return [f for e in entries for f in (e.fields.get("url"), expected_link(e.fields)) if f]


def urls_of_cff(text: str) -> list[str]:
    def walk(node: Any) -> list[str]:
        if isinstance(node, list):
            return [u for item in node for u in walk(item)]
        if not isinstance(node, dict):
            return []
        own = [node[k] for k in ("url",) if k in node]
        own += ["https://doi.org/" + node["doi"]] if "doi" in node else []
        own += [node["value"]] if node.get("type") == "url" else []
        return own + [u for v in node.values() for u in walk(v)]

    return walk(yaml.safe_load(text))


def urls_of_json(text: str) -> list[str]:
    data = json.loads(text)
    papers = data["papers"]
    doi = ["https://doi.org/" + p["doi"] for p in papers if "doi" in p]
    ours = [u for u in (data["url"], data["package"]["url"]) if u is not None]  # null without a site address
    return [*ours, *(p[k] for p in papers for k in ("url", "link") if p.get(k)), *doi]


def urls_of_apa(text: str) -> list[str]:
    return re.findall(r"https?://\S+", text)


URLS_OF = {"bibtex": urls_of_bibtex, "cff": urls_of_cff, "json": urls_of_json, "apa": urls_of_apa}


@pytest.mark.parametrize("key", list(BIB))
def test_the_site_markdown_reads_as_the_apa_text_of_dlterms_cite(key: str) -> None:
    """apa_markdown, rendered as the site renders Markdown, is exactly apa_text's text, linking the paper's link."""
    page = rendered(citing.apa_markdown(BIB[key]))
    assert "".join(page.text) == citing.apa_text(BIB[key])
    assert page.hrefs == ([LINKS[key]] if LINKS[key] else [])


@pytest.mark.parametrize("term_id", TERMS)
def test_the_papers_in_a_terms_apa_citation_are_apa_text(term_id: str) -> None:
    """The paper lines of cite(term, "apa") are apa_text of the term's papers, each ending with its link."""
    lines = citing.cite(term_id, format="apa", accessed=DAY).rstrip("\n").split("\n")[3:]
    papers = load_terms()[term_id].papers
    assert lines == [citing.apa_text(BIB[k]) for k in papers]
    assert [line.endswith(f" {LINKS[k]}") for line, k in zip(lines, papers, strict=True)] == [
        bool(LINKS[k]) for k in papers
    ]


@pytest.mark.parametrize("term_id", TERMS)
def test_every_url_in_every_format_is_well_formed(term_id: str) -> None:
    """Each URL in the BibTeX, CFF, JSON, APA and Markdown of a term is an http(s) URL with only URL characters."""
    for fmt, urls_of in URLS_OF.items():
        found = urls_of(citing.cite(term_id, format=fmt, accessed=DAY))
        assert found, f"{term_id} {fmt}: no URL at all"
        for address in found:
            assert_well_formed(address, f"{term_id} --format {fmt}")
        assert {LINKS[k] for k in load_terms()[term_id].papers if LINKS[k]} <= set(found), fmt
    for key in load_terms()[term_id].papers:
        for address in rendered(citing.apa_markdown(BIB[key])).hrefs:
            assert_well_formed(address, f"apa_markdown({key})")


def test_every_url_of_cite_all_is_well_formed() -> None:
    """`dlterms cite --all` (the package, every term, every paper) holds only well-formed URLs."""
    found = urls_of_bibtex(citing.cite_all(accessed=DAY))
    assert len(found) > len(TERMS)
    for address in found:
        assert_well_formed(address, "cite_all")


def test_a_tilde_in_a_url_field_stays_a_tilde_in_every_output() -> None:
    """maas2013rectifier's url keeps its "~" (a URL field is verbatim), never a space, in all five outputs."""
    assert url(BIB["maas2013rectifier"]) == MAAS
    assert citing.apa_text(BIB["maas2013rectifier"]).endswith(f" {MAAS}")
    assert rendered(citing.apa_markdown(BIB["maas2013rectifier"])).hrefs == [MAAS]
    for fmt in citing.FORMATS:
        out = citing.cite("leaky-relu", format=fmt, accessed=DAY)
        assert MAAS in out and "stanford.edu/ amaas" not in out, fmt


def test_a_doi_with_characters_a_url_may_not_hold_is_percent_encoded() -> None:
    """A SICI-style DOI keeps its parentheses and colons; its < and > become %3C and %3E in the link."""
    (entry,) = citing.parse_bibtex("@article{s, doi = {10.1002/(SICI)1097-4571(199806)49:8<693::AID-ASI4>3.0.CO;2-0}}")
    assert url(entry) == "https://doi.org/10.1002/(SICI)1097-4571(199806)49:8%3C693::AID-ASI4%3E3.0.CO;2-0"


def test_apa_markdown_of_an_article_italicises_journal_and_volume() -> None:
    """APA 7 for a journal article: journal name and volume in italics, the DOI link as an autolink."""
    assert citing.apa_markdown(BIB["rumelhart1986learning"]) == (
        "Rumelhart, D. E., Hinton, G. E., & Williams, R. J. (1986). Learning representations by back-propagating "
        "errors. *Nature*, *323*(6088), 533–536. <https://doi.org/10.1038/323533a0>"
    )


def test_apa_markdown_escapes_markdown_in_titles() -> None:
    """A title with * _ [ ] < is shown as written, not read as emphasis, links or HTML."""
    (entry,) = citing.parse_bibtex(
        "@book{b, author = {Doe, Jane}, title = {A *star*, a\\_b [c] <d>}, publisher = {P}, year = {2000}}"
    )
    assert citing.apa_text(entry) == "Doe, J. (2000). A *star*, a_b [c] <d>. P."
    assert "".join(rendered(citing.apa_markdown(entry)).text) == citing.apa_text(entry)
