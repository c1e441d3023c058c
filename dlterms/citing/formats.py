"""The one set of citation formatters: APA 7, BibTeX, CFF 1.2.0 and JSON, for a term and for each paper.

:func:`cite` renders one term's :class:`~dlterms.citing.terms.Citation`; :func:`apa_text` and
:func:`apa_markdown` render one paper of ``glossary/citations.bib`` (the term citation's APA and
the site's "Original papers" list both use them, so they cannot disagree).
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

from dlterms import __version__
from dlterms.citing.bibliography import BibEntry, Person, authors, read_citations, url
from dlterms.citing.terms import AUTHOR, SUBTITLE, TITLE, Citation, accessed_date, citation_of, site_url
from dlterms.glossary import Term, load_terms

__all__ = ["FORMATS", "apa", "apa_markdown", "apa_text", "bibtex", "cff", "cff_data", "cite", "cite_all", "json_data"]

FORMATS = ("bibtex", "cff", "apa", "json")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")  # fmt: skip
_PART_TYPES = ("inproceedings", "incollection", "inbook")  # a work inside a book or proceedings

# --- one paper in APA 7 --------------------------------------------------------

_Run = tuple[str, bool]  # a piece of text and whether APA sets it in italics


def _apa_names(e: BibEntry) -> str:
    names = [p.apa for p in authors(e)]
    if len(names) > 20:
        text = ", ".join(names[:19]) + ", . . . " + names[-1]
    elif len(names) > 1:
        text = ", ".join(names[:-1]) + ", & " + names[-1]
    else:
        text = "".join(names)
    return text + "." if text and not text.endswith(".") else text  # "Towards AI. (2021)." as "Bridle, J. S."


def _apa_title(e: BibEntry) -> list[_Run]:
    """The title, italic for a work that stands alone, with its [description] and closing period."""
    title = e.plain("title")
    if e.type in ("mastersthesis", "phdthesis"):
        kind = e.plain("type") or ("Master's thesis" if e.type == "mastersthesis" else "Doctoral dissertation")
        bracket = f"{kind}, {e.plain('school')}"
    else:
        bracket = e.plain("howpublished") if e.type == "misc" else ""
    italic = e.type != "article" and e.type not in _PART_TYPES
    if bracket:
        return [(title.rstrip("."), italic), (f" [{bracket}].", False)]
    return [(title, italic), ("" if title.endswith(("?", "!", ".")) else ".", False)]


def _apa_source(e: BibEntry) -> list[_Run]:
    """Where the work appeared (journal, volume(issue), pages; In book (Vol., pp.). Publisher), no period."""
    v, n, pages, publisher = e.plain("volume"), e.plain("number"), e.plain("pages"), e.plain("publisher")
    if e.type == "article":
        items = [[(x, True)] for x in (e.plain("journal"), v) if x]
        if v and n:
            items[-1].append((f"({n})", False))
        items += [[(pages, False)]] if pages else []
        return [run for i, item in enumerate(items) for run in ([(", ", False)] if i else []) + item]
    if e.type in _PART_TYPES:
        detail = ", ".join(x for x in (f"Vol. {v}" if v else "", f"pp. {pages}" if pages else "") if x)
        runs = [("In ", False), (e.plain("booktitle"), True), (f" ({detail})" if detail else "", False)]
        return runs + ([(f". {publisher}", False)] if publisher else [])
    if e.type in ("mastersthesis", "phdthesis", "misc"):
        return []
    return [(publisher, False)] if publisher else []


def _apa_runs(e: BibEntry) -> list[_Run]:
    names, year = _apa_names(e), e.plain("year") or "n.d."
    head = [(f"{names} ({year}). ", False), *_apa_title(e)] if names else [*_apa_title(e), (f" ({year}).", False)]
    source = _apa_source(e)
    return head + ([(" ", False), *source, (".", False)] if source else [])


def apa_text(entry: BibEntry) -> str:
    """One paper as an APA 7 reference in plain text, its link (:func:`~dlterms.citing.bibliography.url`) last.

    >>> from dlterms.citing.bibliography import read_citations
    >>> apa_text(read_citations()["rumelhart1986learning"])  # doctest: +ELLIPSIS
    'Rumelhart, D. E., Hinton, G. E., & Williams, R. J. (1986). Learning ... Nature, 323(6088), 533–536. https://doi.org/...'
    """
    link = url(entry)
    return "".join(text for text, _ in _apa_runs(entry)) + (f" {link}" if link else "")


def _markdown_escape(text: str) -> str:
    """Text that Markdown shows as written: ``\\ ` * _ [ ]`` backslash-escaped, ``<`` as ``&lt;``."""
    return re.sub(r"([\\`*_\[\]])", r"\\\1", text).replace("<", "&lt;")


def apa_markdown(entry: BibEntry) -> str:
    """One paper as an APA 7 reference in Markdown: the text of :func:`apa_text`, with the journal and
    volume, the book or proceedings title, or a stand-alone work's title in ``*italics*``, and the
    link as an autolink ``<https://...>``.
    """
    runs = (f"*{_markdown_escape(t)}*" if italic and t else _markdown_escape(t) for t, italic in _apa_runs(entry))
    link = url(entry)
    return "".join(runs) + (f" <{link}>" if link else "")


# --- one term's citation --------------------------------------------------------


def apa(c: Citation) -> str:
    """APA 7 text of a term, as a dictionary entry ("(n.d.) ... Retrieved <date>, from <url>"), then its papers.

    Without a site address (:func:`~dlterms.citing.terms.site_url`) the entry ends at the package
    version: APA gives a retrieval date only with the address it was retrieved from.
    """
    t, d = c.term, c.accessed
    when = f"{_MONTHS[d.month - 1]} {d.day}, {d.year}"
    retrieved = f" Retrieved {when}, from {c.url}" if c.url else ""
    lines = [
        f"{AUTHOR}. (n.d.). {t.en.name} ({t.stable_id}, version {t.version}). In {TITLE}: "
        f"{SUBTITLE[0].upper()}{SUBTITLE[1:]} (Version {__version__}).{retrieved}"
    ]
    if c.papers:
        lines += ["", "Original paper:" if len(c.papers) == 1 else "Original papers:"]
        lines += [apa_text(p) for p in c.papers]
    return "\n".join(lines) + "\n"


def _bib_escape(text: str) -> str:
    return re.sub(r"([&%$#_])", r"\\\1", text)


def _bibtex_fields(key: str, fields: list[tuple[str, str]], kind: str = "misc") -> str:
    width = max(len(n) for n, _ in fields)
    body = ",\n".join(f"  {n:<{width}} = {{{v}}}" for n, v in fields)
    return f"@{kind}{{{key},\n{body}\n}}\n"


def _bibtex_term(c: Citation) -> str:
    t = c.term
    papers = ", ".join(p.key for p in c.papers)
    fields = [
        ("author", f"{{{AUTHOR}}}"),
        ("title", f"{{{_bib_escape(t.en.name)}}}"),
        ("howpublished", f"{TITLE} {__version__}: {SUBTITLE}"),
        ("year", str(c.accessed.year)),
        ("version", t.version),
        *([("url", c.url), ("urldate", c.accessed.isoformat())] if c.url else []),
        ("note", f"Glossary entry {t.stable_id}, version {t.version}, in {TITLE} {__version__}"),
    ]
    if papers:
        fields.append(("related", papers))
    return _bibtex_fields(t.stable_id, fields)


def bibtex(c: Citation) -> str:
    """A ``@misc`` entry for the term keyed by its stable ID, then its papers verbatim from citations.bib."""
    return "\n".join([_bibtex_term(c), *(p.text.strip() + "\n" for p in c.papers)])


def _json_paper(e: BibEntry) -> dict[str, Any]:
    people = [{"name": p.name} if p.name else {"family": p.family, "given": p.given} for p in authors(e)]
    out = {"key": e.key, "type": e.type, "title": e.plain("title"), "authors": people, "year": e.plain("year")}
    for name in ("doi", "url", "isbn", "eprint", "journal", "booktitle", "publisher", "volume", "number", "pages"):
        if name in e.fields:
            out[name] = e.plain(name)
    out["link"] = url(e)
    return out


def json_data(c: Citation) -> dict[str, Any]:
    """The citation as a ``dlterms.citation/1`` object (adds both names and the term's fingerprint)."""
    from dlterms.fingerprint import fingerprint

    t = c.term
    return {
        "schema": "dlterms.citation/1",
        "id": t.stable_id,
        "term": t.id,
        "title": t.en.name,
        "name": {"en": t.en.name, "zh": t.zh.name},
        "kind": t.kind,
        "version": t.version,
        "fingerprint": fingerprint(t),
        "reference": [f"dlterms.reference.{r}" for r in t.reference],
        "url": c.url,
        "accessed": c.accessed.isoformat(),
        "authors": [{"name": AUTHOR}],
        "package": {"name": TITLE, "version": __version__, "url": site_url()},
        "papers": [_json_paper(p) for p in c.papers],
    }


# CFF reference types for BibTeX entry types (CFF 1.2.0 has no "chapter": a generic work in a collection).
_CFF_TYPES = {"article": "article", "book": "book", "inproceedings": "conference-paper", "incollection": "generic",
              "mastersthesis": "thesis", "phdthesis": "thesis", "techreport": "report", "misc": "generic"}  # fmt: skip


def _cff_paper(e: BibEntry) -> dict[str, Any]:
    people = authors(e) or [Person(name="anonymous")]
    out: dict[str, Any] = {
        "type": _CFF_TYPES.get(e.type, "generic"),
        "title": e.plain("title"),
        "authors": [{"name": p.name} if p.name else {"family-names": p.family, "given-names": p.given} for p in people],
    }
    if (y := e.plain("year")).isdigit():
        out["year"] = int(y)
    for bib, cff_name in (("journal", "journal"), ("booktitle", "collection-title"), ("number", "issue")):
        if x := e.plain(bib):
            out[cff_name] = x
    if (v := e.plain("volume")).isdigit():
        out["volume"] = int(v)
    if pages := e.plain("pages"):
        start, _, end = pages.partition("–")
        out["start"], out["end"] = (start, end) if end else (start, start)
    if x := e.plain("publisher"):
        out["publisher"] = {"name": x}
    if x := e.plain("school"):
        out["institution"] = {"name": x}
        out["thesis-type"] = e.plain("type") or ("Master's thesis" if e.type == "mastersthesis" else "PhD thesis")
    if x := e.plain("isbn"):
        out["isbn"] = x
    if x := e.plain("doi"):
        out["doi"] = x
    if (link := url(e)) and not e.plain("doi"):
        out["url"] = link
    out["identifiers"] = [{"type": "other", "value": e.key, "description": "key in dlterms glossary/citations.bib"}]
    return out


def cff_data(c: Citation) -> dict[str, Any]:
    """The citation as a CFF 1.2.0 document: the package, the term as ``preferred-citation``, the papers."""
    t = c.term
    people = [{"name": AUTHOR}]
    data: dict[str, Any] = {
        "cff-version": "1.2.0",
        "message": f"If you use the glossary entry {t.stable_id}, please cite it as below.",
        "title": TITLE,
        "type": "software",
        "version": __version__,
        **({"url": package_url} if (package_url := site_url()) else {}),
        "authors": people,
        "preferred-citation": {
            "type": "dictionary",
            "title": f"{TITLE}: {SUBTITLE}",
            "term": t.en.name,
            "version": t.version,
            **({"url": c.url} if c.url else {}),
            "date-accessed": c.accessed.isoformat(),
            "authors": people,
            "identifiers": [
                {"type": "other", "value": t.stable_id, "description": "stable dlterms term ID"},
                *([{"type": "url", "value": c.url, "description": "the term's page"}] if c.url else []),
            ],
            "notes": f"Glossary entry {t.stable_id}, version {t.version}, in {TITLE} {__version__}.",
        },
    }
    if c.papers:
        data["references"] = [_cff_paper(p) for p in c.papers]
    return data


def _yaml(value: Any, indent: int = 0) -> str:
    """A block-style YAML text for dicts, lists, ints and strings (strings JSON-quoted, which YAML reads)."""
    pad = " " * indent
    if isinstance(value, dict):
        lines = []
        for k, v in value.items():
            if isinstance(v, dict | list):
                lines.append(f"{pad}{k}:\n{_yaml(v, indent + 2)}")
            else:
                lines.append(f"{pad}{k}: {_yaml(v)}")
        return "\n".join(lines)
    if isinstance(value, list):
        items = []
        for v in value:
            text = _yaml(v, indent + 2) if isinstance(v, dict | list) else f"{pad}  {_yaml(v)}"
            items.append(f"{pad}- {text[indent + 2 :]}")
        return "\n".join(items)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"_yaml: unsupported value {value!r}")
    return str(value) if isinstance(value, int) else json.dumps(value, ensure_ascii=False)


def cff(c: Citation) -> str:
    """:func:`cff_data` as YAML, under a comment naming the command that writes it."""
    header = f"# Citation of {c.term.stable_id}, written by `dlterms cite {c.term.id} --format cff`.\n"
    return header + _yaml(cff_data(c)) + "\n"


def cite(term: str | Term, format: str = "bibtex", *, accessed: date | str | None = None) -> str:
    """The citation of one term (``"softmax"``, ``"dlterms:softmax"``, or a reference function such as
    ``"dlterms.reference.log_softmax"``: see :func:`~dlterms.citing.terms.term_of`) with its original papers.

    ``format`` is one of ``bibtex``, ``cff``, ``apa``, ``json``. ``accessed`` is the
    access date (default: today, or ``SOURCE_DATE_EPOCH`` when set). An unknown
    term raises :class:`KeyError` naming the closest IDs.

    >>> print(cite("softmax", format="apa", accessed="2025-01-31").splitlines()[0])  # doctest: +ELLIPSIS
    The dlterms developers. (n.d.). softmax (dlterms:softmax, version ...). ... Retrieved January 31, 2025, ...
    """
    if format not in FORMATS:
        raise ValueError(f"cite: format={format!r}; expected one of {', '.join(FORMATS)}")
    c = citation_of(term, accessed)
    if format == "json":
        return json.dumps(json_data(c), ensure_ascii=False, indent=2) + "\n"
    return {"bibtex": bibtex, "apa": apa, "cff": cff}[format](c)


def cite_all(*, accessed: date | str | None = None) -> str:
    """One BibTeX file: the package, every term (in reading order), then every entry of citations.bib."""
    d = accessed_date(accessed)
    package = _bibtex_fields(
        TITLE,
        [
            ("author", f"{{{AUTHOR}}}"),
            ("title", f"{{{TITLE}}}: {SUBTITLE}"),
            ("year", str(d.year)),
            ("version", __version__),
            *([("url", package_url), ("urldate", d.isoformat())] if (package_url := site_url()) else []),
            ("note", f"Software and glossary, version {__version__}"),
        ],
    )
    terms = [_bibtex_term(citation_of(t, d)) for t in load_terms().values()]
    papers = [e.text.strip() + "\n" for e in read_citations().values()]
    head = f"% dlterms {__version__}: the package, every term and every paper (`dlterms cite --all`).\n"
    return head + "\n" + "\n".join([package, *terms, *papers])
