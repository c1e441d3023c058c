"""`dlterms cite` and dlterms.cite(): BibTeX a real parser accepts, four formats with the same facts."""

from __future__ import annotations

import codecs
import inspect
import json
import re
import shutil
import subprocess
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jsonschema
import latexcodec  # noqa: F401  (registers the "ulatex" codec: an independent LaTeX -> Unicode decoder)
import pytest
import yaml
from dlterms.glossary import load_terms
from pybtex.database import parse_string

import dlterms
from dlterms import citing
from dlterms.citing import terms as citing_terms
from dlterms.cli import main
from dlterms.fingerprint import fingerprint

ROOT = Path(__file__).resolve().parents[2]
CFF_SCHEMA = json.loads((Path(__file__).parent / "data" / "cff-1.2.0.schema.json").read_text(encoding="utf-8"))
DAY = "2025-01-31"
TERMS = list(load_terms())
SITE = "https://dlterms.test/docs/"  # a deployer's address, for the tests that set DLTERMS_SITE_URL


@pytest.fixture
def no_site(monkeypatch: pytest.MonkeyPatch) -> None:
    """DLTERMS_SITE_URL unset: citations name no URL."""
    monkeypatch.delenv(citing.SITE_URL_VARIABLE, raising=False)


@pytest.fixture
def at_site(monkeypatch: pytest.MonkeyPatch) -> str:
    """DLTERMS_SITE_URL set to :data:`SITE`."""
    monkeypatch.setenv(citing.SITE_URL_VARIABLE, SITE)
    return SITE


# Cited works with no DOI, URL, arXiv id or ISBN, each with the reason none exists.
NO_STABLE_LINK = {
    "hochreiter1991untersuchungen": "a 1991 diploma thesis (TU München): no DOI, no publisher page",
    "cauchy1847methode": "Comptes rendus 1847: predates DOIs; no stable per-article URL",
}


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["cite", *args])
    out, err = capsys.readouterr()
    return code, out, err


def plain(latex: str) -> str:
    """Unicode text of a BibTeX value, decoded by latexcodec (not by the code under test)."""
    text = codecs.decode(latex, "ulatex").replace("{", "").replace("}", "")
    return " ".join(text.replace("--", "–").split())


def bib_link(fields: Any) -> str:
    if "doi" in fields:
        return "https://doi.org/" + fields["doi"]
    if "url" in fields:
        return fields["url"]
    if fields.get("archiveprefix", "").lower() == "arxiv":
        return "https://arxiv.org/abs/" + fields["eprint"]
    return ""


# --- facts as each format states them, read back with independent parsers ---


def facts_from_bibtex(text: str, term_id: str) -> dict[str, Any]:
    bib = parse_string(text, "bibtex")
    entry = bib.entries[f"dlterms:{term_id}"]
    f = entry.fields
    papers = [k for k in bib.entries if k != f"dlterms:{term_id}"]
    assert f.get("related", "").split(", ") == (papers or [""])
    return {
        "id": entry.key,
        "title": plain(f["title"]),
        "version": f["version"],
        "package_version": re.fullmatch(r"dlterms (\S+): .*", f["howpublished"])[1],
        "url": f.get("url"),
        "accessed": f.get("urldate"),  # given with the URL only
        "paper_keys": papers,
        "papers": [(plain(bib.entries[k].fields["title"]), bib_link(bib.entries[k].fields)) for k in papers],
    }


def facts_from_cff(text: str) -> dict[str, Any]:
    data = yaml.safe_load(text)
    jsonschema.validate(data, CFF_SCHEMA)
    pc = data["preferred-citation"]
    refs = data.get("references", [])

    def link(r: dict[str, Any]) -> str:
        return "https://doi.org/" + r["doi"] if "doi" in r else r.get("url", "")

    return {
        "id": next(i["value"] for i in pc["identifiers"] if i["type"] == "other"),
        "title": pc["term"],
        "version": pc["version"],
        "package_version": data["version"],
        "url": pc.get("url"),
        "accessed": pc["date-accessed"],
        "paper_keys": [next(i["value"] for i in r["identifiers"] if i["type"] == "other") for r in refs],
        "papers": [(r["title"], link(r)) for r in refs],
    }


def facts_from_json(text: str) -> dict[str, Any]:
    data = json.loads(text)
    assert data["schema"] == "dlterms.citation/1"
    return {
        "id": data["id"],
        "title": data["title"],
        "version": data["version"],
        "package_version": data["package"]["version"],
        "url": data["url"],
        "accessed": data["accessed"],
        "paper_keys": [p["key"] for p in data["papers"]],
        "papers": [(p["title"], p["link"]) for p in data["papers"]],
    }


APA_FIRST = re.compile(
    r"The dlterms developers\. \(n\.d\.\)\. (?P<title>.+) \((?P<id>dlterms:[a-z0-9-]+), version (?P<version>\S+)\)\. "
    r"In dlterms: A bilingual glossary of deep-learning terms you can run \(Version (?P<package>[^)]+)\)\."
    r"(?: Retrieved (?P<accessed>[A-Z][a-z]+ \d{1,2}, \d{4}), from (?P<url>\S+))?"
)


def facts_from_apa(text: str, expected_papers: list[tuple[str, str]]) -> dict[str, Any]:
    lines = text.rstrip("\n").split("\n")
    m = APA_FIRST.fullmatch(lines[0])
    assert m, lines[0]
    paper_lines = lines[3:] if len(lines) > 1 else []
    if paper_lines:
        assert lines[1] == "" and lines[2] in ("Original paper:", "Original papers:")
    papers = []
    for line, (title, _) in zip(paper_lines, expected_papers, strict=True):
        link = line.rsplit(" ", 1)[1] if line.rsplit(" ", 1)[1].startswith("https://") else ""
        papers.append((title if title in line else f"<{title!r} missing from {line!r}>", link))
    return {
        "id": m["id"],
        "title": m["title"],
        "version": m["version"],
        "package_version": m["package"],
        "url": m["url"],
        "accessed": datetime.strptime(m["accessed"], "%B %d, %Y").date().isoformat() if m["accessed"] else None,
        "papers": papers,
    }


@pytest.mark.parametrize("site", [SITE, None], ids=["site-set", "no-site"])
@pytest.mark.parametrize("term_id", TERMS)
def test_the_four_formats_round_trip_the_same_facts(
    term_id: str, site: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """BibTeX, CFF, APA and JSON state the same title, ID, versions, URL, date and papers (keys, links).

    Without a site address (DLTERMS_SITE_URL unset) none of them has a URL; BibTeX and APA then
    give no access date either (it is the date of the URL), CFF and JSON still do.
    """
    if site:
        monkeypatch.setenv(citing.SITE_URL_VARIABLE, site)
    else:
        monkeypatch.delenv(citing.SITE_URL_VARIABLE, raising=False)
    term = load_terms()[term_id]
    out = {fmt: dlterms.cite(term_id, format=fmt, accessed=DAY) for fmt in citing.FORMATS}
    bib = facts_from_bibtex(out["bibtex"], term_id)
    expected = {
        "id": f"dlterms:{term_id}",
        "title": term.en.name,
        "version": term.version,
        "package_version": dlterms.__version__,
        "url": f"{site}terms/{term_id}/" if site else None,
        "accessed": DAY if site else None,
        "paper_keys": list(term.papers),
    }
    assert {k: bib[k] for k in expected} == expected
    dated = {**bib, "accessed": DAY}  # CFF and JSON always carry the access date
    assert facts_from_cff(out["cff"]) == dated
    assert facts_from_json(out["json"]) == dated
    apa = facts_from_apa(out["apa"], bib["papers"])
    assert apa == {k: v for k, v in bib.items() if k != "paper_keys"}


def test_without_a_site_address_no_format_names_a_url_of_ours(no_site: None) -> None:
    """With DLTERMS_SITE_URL unset, no citation format and no package entry holds a URL of the site."""
    outs = [dlterms.cite("softmax", format=fmt, accessed=DAY) for fmt in citing.FORMATS]
    outs.append(citing.cite_all(accessed=DAY))
    for text in outs:
        assert "/terms/softmax/" not in text and "example.org" not in text, text
    bib = parse_string(citing.cite_all(accessed=DAY), "bibtex")
    assert "url" not in bib.entries["dlterms"].fields and "url" not in bib.entries["dlterms:softmax"].fields
    assert "dlterms:softmax" in outs[0] and dlterms.__version__ in outs[0]  # the ID and the package version


def test_a_bad_site_address_is_refused_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """DLTERMS_SITE_URL that is not an http(s) URL is a ValueError naming the variable and its value."""
    monkeypatch.setenv(citing.SITE_URL_VARIABLE, "dlterms.test/docs")
    with pytest.raises(ValueError, match=r"DLTERMS_SITE_URL='dlterms.test/docs'; expected .*http"):
        dlterms.cite("softmax", accessed=DAY)


def test_cite_softmax_bibtex_from_the_cli_parses_and_includes_the_original_paper(
    capsys: pytest.CaptureFixture[str], at_site: str
) -> None:
    """`dlterms cite softmax --format bibtex` prints entries pybtex accepts, with Bridle (1990) and its DOI."""
    code, out, err = run_cli(capsys, "softmax", "--format", "bibtex", "--accessed", DAY)
    assert (code, err) == (0, "")
    bib = parse_string(out, "bibtex")
    assert list(bib.entries) == ["dlterms:softmax", "bridle1990probabilistic"]
    term = bib.entries["dlterms:softmax"]
    assert term.type == "misc" and term.fields["url"] == at_site + "terms/softmax/"
    assert [str(p) for p in term.persons.get("author", [])] == ["{The dlterms developers}"]
    paper = bib.entries["bridle1990probabilistic"]
    assert paper.fields["doi"] == "10.1007/978-3-642-76153-9_28"
    assert str(paper.persons["author"][0]) == "Bridle, John S."


def test_cite_all_is_one_bibtex_file_with_the_package_every_term_and_every_paper(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`dlterms cite --all` parses (no duplicate key) and holds the package, each term and each paper."""
    code, out, _ = run_cli(capsys, "--all", "--accessed", DAY)
    assert code == 0
    bib = parse_string(out, "bibtex")  # pybtex refuses duplicate keys
    bib_keys = list(citing.read_citations())
    assert list(bib.entries) == ["dlterms", *(f"dlterms:{t}" for t in TERMS), *bib_keys]
    assert bib.entries["dlterms"].fields["version"] == dlterms.__version__


def test_cff_of_a_term_passes_cffconvert_validate(tmp_path: Path) -> None:
    """cffconvert itself accepts the CFF a term's citation prints."""
    if shutil.which("cffconvert") is None:
        pytest.skip("cffconvert is not installed (pip install cffconvert; it pins jsonschema<4)")
    path = tmp_path / "CITATION.cff"
    path.write_text(dlterms.cite("softmax", format="cff", accessed=DAY), encoding="utf-8")
    done = subprocess.run(["cffconvert", "--validate", "-i", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_paper_a_term_cites_exists_in_citations_bib() -> None:
    """Every key in any term's `papers` is an entry of glossary/citations.bib."""
    keys = set(citing.read_citations())
    missing = {t.id: sorted(set(t.papers) - keys) for t in load_terms().values() if set(t.papers) - keys}
    assert not missing, f"papers not in glossary/citations.bib: {missing}"


def test_every_cited_paper_has_a_stable_link_or_a_stated_reason() -> None:
    """A cited work has a DOI, URL, arXiv id or ISBN, or is listed in NO_STABLE_LINK with a reason."""
    bib = citing.read_citations()
    cited = {k for t in load_terms().values() for k in t.papers if k in bib}
    unlinked = sorted(k for k in cited if not (bib[k].link or bib[k].plain("isbn")) and k not in NO_STABLE_LINK)
    assert not unlinked, f"add a doi or url to these glossary/citations.bib entries: {unlinked}"


def test_the_standard_library_bibtex_reader_agrees_with_pybtex() -> None:
    """citing.parse_bibtex reads citations.bib as pybtex does: same keys, types, fields and values."""
    text = citing.CITATIONS_PATH.read_text(encoding="utf-8")
    ours = citing.parse_bibtex(text)
    theirs = parse_string(text, "bibtex")
    assert [e.key for e in ours] == list(theirs.entries)
    for e in ours:
        ref = theirs.entries[e.key]
        assert e.type == ref.type
        fields = {k: " ".join(v.split()) for k, v in e.fields.items() if k not in ("author", "editor")}
        assert fields == {k.lower(): " ".join(v.split()) for k, v in ref.fields.items()}
        if "author" in e.fields:
            ours_people = [(p.family, p.given) for p in citing.persons(e.fields["author"])]
            ref_people = [
                (plain(" ".join(p.last_names)), plain(" ".join(p.first_names + p.middle_names)))
                for p in ref.persons["author"]
            ]
            assert ours_people == ref_people


@pytest.mark.parametrize(
    ("latex", "text"),
    [
        (r"M{\"u}ller", "Müller"),
        (r"Bottou, L{\'e}on", "Bottou, Léon"),
        (r"Technische Universit{\"a}t M{\"u}nchen", "Technische Universität München"),
        (r"syst{\`e}mes d'{\'e}quations", "systèmes d'équations"),
        (r"Efficient {B}ack{P}rop", "Efficient BackProp"),
        (r"115--133", "115–133"),
        (r"Fran{\c c}ois \& Gau{\ss}", "François & Gauß"),
    ],
)
def test_delatex_decodes_accents_braces_and_dashes(latex: str, text: str) -> None:
    """Hand-checked LaTeX -> Unicode pairs of the kind citations.bib holds."""
    assert citing.delatex(latex) == text


def test_apa_names_and_reference_of_a_chapter_are_the_hand_written_ones() -> None:
    """APA 7: initials with hyphenated given names, '&' before the last author, (Vol., pp.) for a chapter."""
    (entry,) = citing.parse_bibtex(r"""
@incollection{lecun1998efficient,
  author    = {LeCun, Yann and Bottou, L{\'e}on and Orr, Genevieve B. and M{\"u}ller, Klaus-Robert},
  title     = {Efficient {B}ack{P}rop},
  booktitle = {Neural Networks: Tricks of the Trade},
  volume    = {1524},
  pages     = {9--50},
  publisher = {Springer},
  year      = {1998},
  doi       = {10.1007/3-540-49430-8_2}
}""")
    assert [p.apa for p in citing.persons(entry.fields["author"])] == [
        "LeCun, Y.",
        "Bottou, L.",
        "Orr, G. B.",
        "Müller, K.-R.",
    ]
    assert citing.apa_text(entry) == (
        "LeCun, Y., Bottou, L., Orr, G. B., & Müller, K.-R. (1998). Efficient BackProp. In Neural Networks: "
        "Tricks of the Trade (Vol. 1524, pp. 9–50). Springer. https://doi.org/10.1007/3-540-49430-8_2"
    )


def test_an_unknown_term_names_the_closest_ids(capsys: pytest.CaptureFixture[str]) -> None:
    """cite('sofmax') raises KeyError naming softmax; the CLI prints one line and exits 2."""
    with pytest.raises(KeyError, match="did you mean softmax"):
        dlterms.cite("sofmax")
    code, out, err = run_cli(capsys, "sofmax")
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and "unknown term 'sofmax'" in err and "softmax" in err


@pytest.mark.parametrize(
    "args",
    [(), ("softmax", "--all"), ("--all", "--format", "apa"), ("softmax", "--accessed", "31/01/2025")],
)
def test_cli_usage_errors_exit_2_with_one_line(capsys: pytest.CaptureFixture[str], args: tuple[str, ...]) -> None:
    """No term, a term with --all, --all in a format other than BibTeX, a malformed date: exit 2, one line."""
    code, out, err = run_cli(capsys, *args)
    assert (code, out) == (2, "") and err.count("\n") == 1 and err.startswith("dlterms cite: error: ")


def test_the_access_date_is_today_unless_pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    """Default: today; SOURCE_DATE_EPOCH pins it (reproducible builds); accessed= wins over both."""
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    assert json.loads(dlterms.cite("softmax", format="json"))["accessed"] == date.today().isoformat()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "86400")  # 1970-01-02T00:00:00Z
    assert json.loads(dlterms.cite("softmax", format="json"))["accessed"] == "1970-01-02"
    assert json.loads(dlterms.cite("softmax", format="json", accessed=date(2024, 2, 29)))["accessed"] == "2024-02-29"


def test_bad_format_and_bad_dates_are_refused() -> None:
    """An unknown format or an impossible date raises ValueError naming what was expected."""
    with pytest.raises(ValueError, match="expected one of bibtex, cff, apa, json"):
        dlterms.cite("softmax", format="ris")
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        dlterms.cite("softmax", accessed="2025-02-30")


def test_latex_special_characters_in_a_name_are_escaped_in_bibtex() -> None:
    """A name with & % _ # $ becomes a BibTeX title, braced against re-casing, with each character escaped."""
    softmax = load_terms()["softmax"]
    odd = replace(softmax, en=replace(softmax.en, name="a_b & c% #1 $2"))
    bib = parse_string(citing.cite(odd, format="bibtex", accessed=DAY), "bibtex")
    assert bib.entries["dlterms:softmax"].fields["title"] == r"{a\_b \& c\% \#1 \$2}"


def test_json_carries_the_fingerprint_and_both_names() -> None:
    """The JSON citation gives the term's fingerprint and its English and Chinese names."""
    data = json.loads(dlterms.cite("dlterms:softmax", format="json", accessed=DAY))
    term = load_terms()["softmax"]
    assert data["fingerprint"] == fingerprint(term) and data["fingerprint"].startswith("sha256:")
    assert data["name"] == {"en": term.en.name, "zh": term.zh.name}


def test_the_package_exports_cite_with_the_signature_the_site_calls() -> None:
    """dlterms.cite(term, format="bibtex", *, accessed=None): the site calls it with format="apa" and "bibtex"."""
    assert dlterms.cite is citing.cite
    params = inspect.signature(dlterms.cite).parameters
    assert list(params) == ["term", "format", "accessed"]
    assert params["format"].default == "bibtex" and params["accessed"].kind is inspect.Parameter.KEYWORD_ONLY


def test_the_site_address_is_the_deployers_one_setting(at_site: str) -> None:
    """Citations and mkdocs.yml's site_url both read DLTERMS_SITE_URL; no address is written in the package."""
    mkdocs = ROOT / "mkdocs.yml"
    if mkdocs.exists():
        assert re.search(r"^site_url: !ENV DLTERMS_SITE_URL\s*$", mkdocs.read_text(encoding="utf-8"), re.M)
    assert citing.SITE_URL_VARIABLE == "DLTERMS_SITE_URL"
    assert citing.site_url() == at_site
    assert citing.term_url("dlterms:softmax") == at_site + "terms/softmax/"
    assert citing.term_url("softmax", "https://elsewhere.test") == "https://elsewhere.test/terms/softmax/"
    sources = [ROOT / "dlterms" / "citing" / name for name in ("terms.py", "formats.py", "__init__.py")]
    assert not [p for p in sources if "example.org" in p.read_text(encoding="utf-8")]


def test_the_bibtex_reader_handles_comments_quotes_concatenation_and_parentheses() -> None:
    """% lines and @comment are skipped; "..." values, # joins, (...) entries and field-less entries are read."""
    text = (
        "% a comment with @misc{not, an = {entry}}\n"
        "@comment{ignored, x = {1}}\n"
        '@Article(a1, Title = "A {Q}uoted" # { part}, year = 1990, pages = {1--2},)\n'
        "@misc{bare}\n"
    )
    entries = citing.parse_bibtex(text)
    assert [(e.type, e.key, e.fields) for e in entries] == [
        ("article", "a1", {"title": "A {Q}uoted part", "year": "1990", "pages": "1--2"}),
        ("misc", "bare", {}),
    ]
    assert entries[1].text == "@misc{bare}"
    with pytest.raises(ValueError, match="@string"):
        citing.parse_bibtex("@string{x = {y}}")


def test_apa_of_an_organisation_and_a_thesis() -> None:
    """An organisation as author ends with a period; a thesis names its kind and school in brackets."""
    org, thesis = citing.parse_bibtex(
        "@misc{o, title = {Must-know terms}, organization = {Towards AI}, year = {2021},"
        " howpublished = {Blog post}, url = {https://example.org/a~b}}\n"
        '@mastersthesis{t, author = {Hochreiter, Sepp}, title = {Untersuchungen}, school = {TU M{\\"u}nchen},'
        " type = {Diploma thesis}, year = {1991}}"
    )
    assert citing.apa_text(org) == "Towards AI. (2021). Must-know terms [Blog post]. https://example.org/a~b"
    assert citing.apa_text(thesis) == "Hochreiter, S. (1991). Untersuchungen [Diploma thesis, TU München]."


def test_a_reference_function_is_cited_as_the_term_that_names_it(capsys: pytest.CaptureFixture[str]) -> None:
    """dlterms.reference.log_softmax_vjp cites dlterms:softmax; an unknown function names the closest ones."""
    assert citing.cite("dlterms.reference.log_softmax_vjp", accessed=DAY) == citing.cite("softmax", accessed=DAY)
    code, out, _ = run_cli(capsys, "dlterms.reference.log_softmax", "--format", "json", "--accessed", DAY)
    assert code == 0 and json.loads(out)["id"] == "dlterms:softmax"
    with pytest.raises(KeyError, match=r"did you mean dlterms\.reference\.softmax"):
        citing.term_of("dlterms.reference.sofmax")


def test_a_function_named_by_several_terms_asks_which(monkeypatch: pytest.MonkeyPatch) -> None:
    """When two function terms name the same function, term_of refuses and lists both IDs."""
    softmax = load_terms()["softmax"]
    twins = {"softmax": softmax, "softmax-twin": replace(softmax, id="softmax-twin")}
    monkeypatch.setattr(citing_terms, "load_terms", lambda: twins)
    with pytest.raises(KeyError, match=re.escape("several terms (dlterms:softmax, dlterms:softmax-twin)")):
        citing.term_of("dlterms.reference.softmax")
