"""Cite a term or a reference function: stable IDs, BibTeX / CFF / APA / JSON, the original papers.

Identity and versions
---------------------
Every term has a stable ID, ``dlterms:<id>`` (``dlterms:softmax``), and one
page, :func:`term_url` (``https://dlterms.example.org/terms/softmax/``); IDs
are never renamed or removed. A citation names three things:

* the **package version** (``dlterms 0.1.0``), the release you read;
* the **term version**, the ``version`` of ``glossary/terms/<id>.toml``, a
  semantic version of what the term *means*;
* the **access date** (today; ``accessed=`` or ``SOURCE_DATE_EPOCH`` pins it
  for reproducible output).

Versioning policy for a term (see :mod:`dlterms.fingerprint`): a *function*
term's reference semantics are fingerprinted (the reference functions it
names, their VJPs and the reference code they call, docstrings, comments and
type hints excluded); a test fails when the fingerprint changes while the
version does not. Bump

* **major** when results change for inputs that were accepted before, or the
  definition now describes something else (a different default or convention);
* **minor** for a compatible extension (a new keyword whose default keeps the
  old results, more input shapes accepted, a new function in ``reference``);
* **patch** for any other change of the fingerprinted code (a fix towards the
  cited definition, a more accurate formula, a refactor).

Docstrings, comments, type hints, translations and rewording do not need a
bump. *Concept* terms have no fingerprint; bump them by hand when their meaning
changes. Then run ``python -m dlterms.fingerprint --update``.

Formats
-------
:func:`cite` renders one term's citation as ``bibtex`` (a ``@misc`` entry keyed
by the stable ID followed by the original papers, verbatim from
``glossary/citations.bib``), ``cff`` (a Citation File Format 1.2.0 document:
the package, a ``preferred-citation`` of type ``dictionary`` for the term, the
papers under ``references``), ``apa`` (APA 7 text, as for a dictionary entry:
"(n.d.) ... Retrieved <date>, from <url>", then the papers) or ``json`` (schema
``dlterms.citation/1``). All four carry the same facts. :func:`cite_all` gives
one BibTeX file for the package, every term and every paper.

Runtime citations
-----------------
Off by default. Inside ``with dlterms.citing.record():`` (or from import on,
with ``DLTERMS_RECORD_CITATIONS=1``) every public function of
:mod:`dlterms.reference` that runs is noted; :func:`used_citations` lists the
terms and papers behind them. If duecredit is installed each is also sent to
``duecredit.due.cite(..., path="dlterms.reference.<fn>")``. The reference
modules are not edited: their public functions are wrapped while recording
and restored afterwards (calls through names bound before recording began, as
``from dlterms.reference import softmax`` in another module, are not seen).
"""

from __future__ import annotations

import functools
import json
import os
import re
import sys
import threading
import unicodedata
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from dlterms import __version__
from dlterms.glossary import GLOSSARY_DIR, Term, get_term, load_terms

__all__ = [
    "AUTHOR",
    "CITATIONS_PATH",
    "FORMATS",
    "SITE_URL",
    "TITLE",
    "BibEntry",
    "UsedCitation",
    "cite",
    "cite_all",
    "disable",
    "enable",
    "inventory_entries",
    "objects_inv",
    "parse_bibtex",
    "read_citations",
    "record",
    "term_of",
    "term_url",
    "used_citations",
]

SITE_URL = "https://dlterms.example.org/"  # the one place the site's address is written
TITLE = "dlterms"
SUBTITLE = "a bilingual glossary of deep-learning terms you can run"
AUTHOR = "The dlterms developers"
CITATIONS_PATH = GLOSSARY_DIR / "citations.bib"
FORMATS = ("bibtex", "cff", "apa", "json")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")  # fmt: skip


def term_url(term_id: str, base_url: str = SITE_URL) -> str:
    """The term's page: ``https://dlterms.example.org/terms/<id>/``."""
    return f"{base_url.rstrip('/')}/terms/{term_id.removeprefix('dlterms:')}/"


# --- citations.bib, read with the standard library ---------------------------


@dataclass(frozen=True)
class BibEntry:
    """One entry of a BibTeX file: its type, key, raw field values (braces kept) and verbatim text."""

    type: str
    key: str
    fields: dict[str, str]
    text: str

    def plain(self, name: str) -> str:
        """A field as readable Unicode text (LaTeX accents decoded, braces dropped), or ``""``.

        Identifiers (``url``, ``doi``, ``eprint``, ``isbn``) are taken literally: ``~`` stays ``~``.
        """
        raw = self.fields.get(name, "")
        if name in ("url", "doi", "eprint", "isbn"):
            return re.sub(r"\\([&%$#_~])", r"\1", raw.replace("{", "").replace("}", "")).strip()
        return delatex(raw)

    @property
    def link(self) -> str:
        """The stable link: the DOI's resolver URL, else ``url``, else the arXiv page, else ``""``."""
        if doi := self.plain("doi"):
            return f"https://doi.org/{doi}"
        if url := self.plain("url"):
            return url
        if self.plain("archiveprefix").lower() == "arxiv" and (eprint := self.plain("eprint")):
            return f"https://arxiv.org/abs/{eprint}"
        return ""


def _balanced(text: str, i: int, open_: str, close: str) -> int:
    """Index just past the ``close`` that matches the ``open_`` at ``text[i]`` (``\\{`` is not a brace)."""
    depth, j = 0, i
    while j < len(text):
        c = text[j]
        if c == "\\":
            j += 2
            continue
        depth += (c == open_) - (c == close)
        if depth == 0:
            return j + 1
        j += 1
    raise ValueError(f"unbalanced {open_}{close} starting at character {i}")


def _value(text: str, i: int, close: str) -> tuple[str, int]:
    """One field value (``{...}``, ``"..."`` or a bare word, joined by ``#``) starting at ``i``."""
    parts = []
    while True:
        while text[i].isspace():
            i += 1
        if text[i] == "{":
            end = _balanced(text, i, "{", "}")
            parts.append(text[i + 1 : end - 1])
        elif text[i] == '"':
            end = i + 1
            depth = 0
            while text[end] != '"' or depth:
                depth += {"{": 1, "}": -1}.get(text[end], 0)
                end += 1
            parts.append(text[i + 1 : end])
            end += 1
        else:
            m = re.compile(r"[^\s,#" + re.escape(close) + r"]+").match(text, i)
            if not m:
                raise ValueError(f"expected a field value at character {i}")
            parts.append(m.group())
            end = m.end()
        i = end
        while text[i].isspace():
            i += 1
        if text[i] != "#":
            return "".join(parts), i
        i += 1


def parse_bibtex(text: str) -> list[BibEntry]:
    """The entries of a BibTeX file, in order (``@comment``/``@preamble`` skipped, ``%`` lines ignored)."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "%":
            i = text.find("\n", i) + 1 or len(text)
            continue
        if text[i] != "@":
            i += 1
            continue
        m = re.compile(r"@\s*([A-Za-z]+)\s*([{(])").match(text, i)
        if not m:
            raise ValueError(f"malformed BibTeX: '@' without an entry type at character {i}")
        kind, open_ = m.group(1).lower(), m.group(2)
        close = "}" if open_ == "{" else ")"
        if kind in ("comment", "preamble", "string"):
            if kind == "string":
                raise ValueError("@string macros are not supported in citations.bib; write the value out")
            i = _balanced(text, m.end() - 1, open_, close)
            continue
        end_of_key = re.compile(r"[,\s" + re.escape(close) + "]").search(text, m.end())
        if not end_of_key:
            raise ValueError(f"malformed BibTeX: entry at character {i} has no key")
        key, fields, j = text[m.end() : end_of_key.start()].strip(), {}, end_of_key.start()
        while True:
            while text[j].isspace() or text[j] == ",":
                j += 1
            if text[j] == close:
                break
            name = re.compile(r"[A-Za-z][\w\-:.]*").match(text, j)
            if not name or text[name.end() :].lstrip()[:1] != "=":
                raise ValueError(f"entry {key!r}: expected 'field = value' at character {j}")
            j = text.index("=", name.end()) + 1
            fields[name.group().lower()], j = _value(text, j, close)
        out.append(BibEntry(kind, key, fields, text[i : j + 1]))
        i = j + 1
    return out


@cache
def read_citations(path: Path = CITATIONS_PATH) -> dict[str, BibEntry]:
    """``glossary/citations.bib`` keyed by citation key; a duplicate key is an error."""
    out: dict[str, BibEntry] = {}
    for e in parse_bibtex(path.read_text(encoding="utf-8")):
        if e.key in out:
            raise ValueError(f"{path}: duplicate citation key {e.key!r}")
        out[e.key] = e
    return out


_ACCENTS = {"'": "\u0301", "`": "\u0300", "^": "\u0302", '"': "\u0308", "~": "\u0303", "=": "\u0304",
            ".": "\u0307", "c": "\u0327", "u": "\u0306", "v": "\u030c", "H": "\u030b", "k": "\u0328",
            "r": "\u030a"}  # fmt: skip
_SYMBOLS = {"ss": "ß", "o": "ø", "O": "Ø", "aa": "å", "AA": "Å", "ae": "æ", "AE": "Æ", "oe": "œ",
            "OE": "Œ", "l": "ł", "L": "Ł", "i": "ı"}  # fmt: skip


def delatex(text: str) -> str:
    """BibTeX/LaTeX field text as Unicode: ``M{\\"u}ller`` -> ``Müller``, ``115--133`` -> ``115–133``."""
    text = re.sub(r"\\(?:url|textit|emph|textbf|texttt)\{([^{}]*)\}", r"\1", text)
    text = re.sub(
        r"\\([`'^\"~=.])\s*(?:\{(\w)\}|(\w))", lambda m: (m.group(2) or m.group(3)) + _ACCENTS[m.group(1)], text
    )
    text = re.sub(
        r"\\([cuvHkr])(?:\s+(\w)|\s*\{(\w)\})", lambda m: (m.group(2) or m.group(3)) + _ACCENTS[m.group(1)], text
    )
    text = re.sub(r"\\(ss|aa|AA|ae|AE|oe|OE|o|O|l|L|i)(?![A-Za-z])\s?", lambda m: _SYMBOLS[m.group(1)], text)
    text = re.sub(r"\\([&%$#_{}])", r"\1", text)
    text = text.replace("---", "—").replace("--", "–").replace("~", " ")
    text = text.replace("{", "").replace("}", "")
    return unicodedata.normalize("NFC", " ".join(text.split()))


@dataclass(frozen=True)
class Person:
    """An author: ``family``/``given`` names, or an organisation's ``name``."""

    family: str = ""
    given: str = ""
    name: str = ""

    @property
    def apa(self) -> str:
        if self.name:
            return self.name
        initials = " ".join("-".join(f"{p[0]}." for p in w.split("-") if p) for w in self.given.split())
        return f"{self.family}, {initials}" if initials else self.family


def _split_top(text: str, sep: re.Pattern[str]) -> list[str]:
    """Split ``text`` at ``sep`` where not inside braces."""
    out, depth, start = [], 0, 0
    for m in re.finditer(r"[{}]|" + sep.pattern, text):
        if m.group() == "{":
            depth += 1
        elif m.group() == "}":
            depth -= 1
        elif depth == 0:
            out.append(text[start : m.start()])
            start = m.end()
    out.append(text[start:])
    return [s.strip() for s in out if s.strip()]


def persons(raw: str) -> list[Person]:
    """BibTeX ``author`` text (``Last, First and {Org}``) as :class:`Person` objects."""
    out = []
    for name in _split_top(raw, re.compile(r"\s+and\s+")):
        if name.startswith("{") and name.endswith("}") and _balanced(name, 0, "{", "}") == len(name):
            out.append(Person(name=delatex(name)))
            continue
        parts = _split_top(name, re.compile(r","))
        if len(parts) >= 2:
            out.append(Person(family=delatex(parts[0]), given=delatex(parts[-1])))
        else:
            words = delatex(name).split()
            out.append(Person(family=words[-1], given=" ".join(words[:-1])))
    return out


def _authors(entry: BibEntry) -> list[Person]:
    if "author" in entry.fields:
        return persons(entry.fields["author"])
    if "organization" in entry.fields:
        return [Person(name=entry.plain("organization"))]
    return []


# --- one term's citation -----------------------------------------------------


def _accessed(value: date | str | None) -> date:
    if value is None:
        if epoch := os.environ.get("SOURCE_DATE_EPOCH"):  # reproducible builds
            return datetime.fromtimestamp(int(epoch), tz=UTC).date()
        return date.today()
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"cite: accessed={value!r}; expected a date or a string YYYY-MM-DD such as '2025-01-31'")


@dataclass(frozen=True)
class _Facts:
    term: Term
    url: str
    accessed: date
    papers: tuple[BibEntry, ...]


def term_of(name: str) -> Term:
    """The term to cite for a term ID (``softmax``, ``dlterms:softmax``) or a reference function
    (``dlterms.reference.log_softmax``, ``dlterms.reference.softmax_vjp``: the function term naming it).

    Raises :class:`KeyError` with the closest IDs, or naming the terms when a function has several.
    """
    if not name.startswith("dlterms.reference."):
        return get_term(name)
    function = name.removeprefix("dlterms.reference.")
    terms = _terms_of(function)
    if len(terms) == 1:
        return terms[0]
    if terms:
        ids = ", ".join(t.stable_id for t in terms)
        raise KeyError(f"{name} is the reference of several terms ({ids}); cite one of them")
    import dlterms.reference as reference

    if function not in reference.__all__:
        import difflib

        close = difflib.get_close_matches(function, reference.__all__, n=3)
        hint = f"; did you mean {', '.join('dlterms.reference.' + c for c in close)}?" if close else ""
        raise KeyError(f"unknown reference function {name!r}{hint}")
    raise KeyError(f"{name} is not the reference of any function term; cite a term (`dlterms terms` lists them)")


def _facts(term: str | Term, accessed: date | str | None, base_url: str = SITE_URL) -> _Facts:
    t = term_of(term) if isinstance(term, str) else term
    bib = read_citations()
    missing = [k for k in t.papers if k not in bib]
    if missing:
        raise LookupError(f"{t.path}: field 'papers' names {missing} but glossary/citations.bib has no such key")
    return _Facts(t, term_url(t.id, base_url), _accessed(accessed), tuple(bib[k] for k in t.papers))


def _bib_escape(text: str) -> str:
    return re.sub(r"([&%$#_])", r"\\\1", text)


def _bibtex_fields(key: str, fields: list[tuple[str, str]], kind: str = "misc") -> str:
    width = max(len(n) for n, _ in fields)
    body = ",\n".join(f"  {n:<{width}} = {{{v}}}" for n, v in fields)
    return f"@{kind}{{{key},\n{body}\n}}\n"


def _bibtex_term(f: _Facts) -> str:
    t = f.term
    papers = ", ".join(p.key for p in f.papers)
    fields = [
        ("author", f"{{{AUTHOR}}}"),
        ("title", f"{{{_bib_escape(t.en.name)}}}"),
        ("howpublished", f"{TITLE} {__version__}: {SUBTITLE}"),
        ("year", str(f.accessed.year)),
        ("version", t.version),
        ("url", f.url),
        ("urldate", f.accessed.isoformat()),
        ("note", f"Glossary entry {t.stable_id}, version {t.version}, in {TITLE} {__version__}"),
    ]
    if papers:
        fields.append(("related", papers))
    return _bibtex_fields(t.stable_id, fields)


def _bibtex(f: _Facts) -> str:
    return "\n".join([_bibtex_term(f), *(p.text.strip() + "\n" for p in f.papers)])


def _apa_paper(e: BibEntry) -> str:
    authors = [p.apa for p in _authors(e)]
    if len(authors) > 20:
        names = ", ".join(authors[:19]) + ", . . . " + authors[-1]
    elif len(authors) > 1:
        names = ", ".join(authors[:-1]) + ", & " + authors[-1]
    else:
        names = "".join(authors)
    year = e.plain("year") or "n.d."
    title = e.plain("title")
    end = "" if title.endswith(("?", "!", ".")) else "."
    if names and not names.endswith("."):
        names += "."  # "Towards AI. (2021)." as "Bridle, J. S. (1990)."
    head = f"{names} ({year}). {title}{end}" if names else f"{title}{end} ({year})."
    v, n, pages = e.plain("volume"), e.plain("number"), e.plain("pages")
    publisher = e.plain("publisher")
    if e.type == "article":
        src = ", ".join(x for x in (e.plain("journal"), f"{v}({n})" if v and n else v, pages) if x)
    elif e.type in ("inproceedings", "incollection", "inbook"):
        detail = ", ".join(x for x in (f"Vol. {v}" if v else "", f"pp. {pages}" if pages else "") if x)
        src = f"In {e.plain('booktitle')}" + (f" ({detail})" if detail else "")
        src += f". {publisher}" if publisher else ""
    elif e.type in ("mastersthesis", "phdthesis"):
        kind = e.plain("type") or ("Master's thesis" if e.type == "mastersthesis" else "Doctoral dissertation")
        head = head.rstrip(".") + f" [{kind}, {e.plain('school')}]."
        src = ""
    elif e.type == "misc":
        how = e.plain("howpublished")
        head = head.rstrip(".") + (f" [{how}]." if how else ".")
        src = ""
    else:
        src = publisher
    text = head + (f" {src}." if src else "")
    return text + (f" {e.link}" if e.link else "")


def _apa(f: _Facts) -> str:
    t, d = f.term, f.accessed
    when = f"{_MONTHS[d.month - 1]} {d.day}, {d.year}"
    lines = [
        f"{AUTHOR}. (n.d.). {t.en.name} ({t.stable_id}, version {t.version}). In {TITLE}: "
        f"{SUBTITLE[0].upper()}{SUBTITLE[1:]} (Version {__version__}). Retrieved {when}, from {f.url}"
    ]
    if f.papers:
        lines += ["", "Original paper:" if len(f.papers) == 1 else "Original papers:"]
        lines += [_apa_paper(p) for p in f.papers]
    return "\n".join(lines) + "\n"


def _json_paper(e: BibEntry) -> dict[str, Any]:
    authors = [{"name": p.name} if p.name else {"family": p.family, "given": p.given} for p in _authors(e)]
    out = {"key": e.key, "type": e.type, "title": e.plain("title"), "authors": authors, "year": e.plain("year")}
    for name in ("doi", "url", "isbn", "eprint", "journal", "booktitle", "publisher", "volume", "number", "pages"):
        if name in e.fields:
            out[name] = e.plain(name)
    out["link"] = e.link
    return out


def _json_data(f: _Facts) -> dict[str, Any]:
    from dlterms.fingerprint import fingerprint

    t = f.term
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
        "url": f.url,
        "accessed": f.accessed.isoformat(),
        "authors": [{"name": AUTHOR}],
        "package": {"name": TITLE, "version": __version__, "url": SITE_URL},
        "papers": [_json_paper(p) for p in f.papers],
    }


# CFF reference types for BibTeX entry types (CFF 1.2.0 has no "chapter": a generic work in a collection).
_CFF_TYPES = {"article": "article", "book": "book", "inproceedings": "conference-paper", "incollection": "generic",
              "mastersthesis": "thesis", "phdthesis": "thesis", "techreport": "report", "misc": "generic"}  # fmt: skip


def _cff_paper(e: BibEntry) -> dict[str, Any]:
    authors = _authors(e) or [Person(name="anonymous")]
    out: dict[str, Any] = {
        "type": _CFF_TYPES.get(e.type, "generic"),
        "title": e.plain("title"),
        "authors": [
            {"name": p.name} if p.name else {"family-names": p.family, "given-names": p.given} for p in authors
        ],
    }
    if (y := e.plain("year")).isdigit():
        out["year"] = int(y)
    for bib, cff in (("journal", "journal"), ("booktitle", "collection-title"), ("number", "issue")):
        if x := e.plain(bib):
            out[cff] = x
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
    if e.link and not e.plain("doi"):
        out["url"] = e.link
    out["identifiers"] = [{"type": "other", "value": e.key, "description": "key in dlterms glossary/citations.bib"}]
    return out


def _cff_data(f: _Facts) -> dict[str, Any]:
    t = f.term
    authors = [{"name": AUTHOR}]
    data: dict[str, Any] = {
        "cff-version": "1.2.0",
        "message": f"If you use the glossary entry {t.stable_id}, please cite it as below.",
        "title": TITLE,
        "type": "software",
        "version": __version__,
        "url": SITE_URL,
        "authors": authors,
        "preferred-citation": {
            "type": "dictionary",
            "title": f"{TITLE}: {SUBTITLE}",
            "term": t.en.name,
            "version": t.version,
            "url": f.url,
            "date-accessed": f.accessed.isoformat(),
            "authors": authors,
            "identifiers": [
                {"type": "other", "value": t.stable_id, "description": "stable dlterms term ID"},
                {"type": "url", "value": f.url, "description": "the term's page"},
            ],
            "notes": f"Glossary entry {t.stable_id}, version {t.version}, in {TITLE} {__version__}.",
        },
    }
    if f.papers:
        data["references"] = [_cff_paper(p) for p in f.papers]
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


def cite(term: str | Term, format: str = "bibtex", *, accessed: date | str | None = None) -> str:
    """The citation of one term (``"softmax"``, ``"dlterms:softmax"``, or a reference function such as
    ``"dlterms.reference.log_softmax"``: see :func:`term_of`) with its original papers.

    ``format`` is one of ``bibtex``, ``cff``, ``apa``, ``json``. ``accessed`` is the
    access date (default: today, or ``SOURCE_DATE_EPOCH`` when set). An unknown
    term raises :class:`KeyError` naming the closest IDs.

    >>> print(cite("softmax", format="apa", accessed="2025-01-31").splitlines()[0])  # doctest: +ELLIPSIS
    The dlterms developers. (n.d.). softmax (dlterms:softmax, version ...). ... Retrieved January 31, 2025, ...
    """
    if format not in FORMATS:
        raise ValueError(f"cite: format={format!r}; expected one of {', '.join(FORMATS)}")
    f = _facts(term, accessed)
    if format == "bibtex":
        return _bibtex(f)
    if format == "apa":
        return _apa(f)
    if format == "json":
        return json.dumps(_json_data(f), ensure_ascii=False, indent=2) + "\n"
    header = f"# Citation of {f.term.stable_id}, written by `dlterms cite {f.term.id} --format cff`.\n"
    return header + _yaml(_cff_data(f)) + "\n"


def cite_all(*, accessed: date | str | None = None) -> str:
    """One BibTeX file: the package, every term (in reading order), then every entry of citations.bib."""
    d = _accessed(accessed)
    package = _bibtex_fields(
        TITLE,
        [
            ("author", f"{{{AUTHOR}}}"),
            ("title", f"{{{TITLE}}}: {SUBTITLE}"),
            ("year", str(d.year)),
            ("version", __version__),
            ("url", SITE_URL),
            ("urldate", d.isoformat()),
            ("note", f"Software and glossary, version {__version__}"),
        ],
    )
    terms = [_bibtex_term(_facts(t, d)) for t in load_terms().values()]
    papers = [e.text.strip() + "\n" for e in read_citations().values()]
    head = f"% dlterms {__version__}: the package, every term and every paper (`dlterms cite --all`).\n"
    return head + "\n" + "\n".join([package, *terms, *papers])


# --- runtime citations (duecredit-compatible) --------------------------------


@dataclass(frozen=True)
class UsedCitation:
    """A reference function that ran while recording, and what it cites."""

    function: str  # "dlterms.reference.softmax"
    calls: int
    terms: tuple[str, ...]  # stable IDs of the function terms that name it
    papers: tuple[str, ...]  # citations.bib keys of those terms
    links: tuple[str, ...]  # the papers' DOI (resolver URL) or stable URL


_lock = threading.RLock()
_depth = 0
_calls: dict[str, int] = {}
_patched: list[tuple[Any, str, Callable[..., Any], Callable[..., Any]]] = []  # module, name, original, wrapper


def _terms_of(function: str) -> list[Term]:
    """Function terms whose ``reference`` names ``function`` (or the op whose VJP it is)."""
    op = function.removesuffix("_vjp")
    return [t for t in load_terms().values() if t.kind == "function" and (function in t.reference or op in t.reference)]


def _forward_to_duecredit(function: str) -> None:
    try:
        from duecredit import BibTeX, Doi, Url, due
    except ImportError:
        return
    bib = read_citations()
    for t in _terms_of(function):
        description = f"{t.en.name} ({t.stable_id}, version {t.version})"
        path = f"dlterms.reference.{function}"
        due.cite(Url(term_url(t.id)), description=description, path=path, tags=["reference-implementation"])
        for key in t.papers:
            e = bib[key]
            doi = e.plain("doi")
            entry = Doi(doi) if doi else Url(e.link) if e.link else BibTeX(e.text)
            due.cite(entry, description=description, path=path, tags=["reference-implementation"])


def _note(function: str) -> None:
    with _lock:
        first = function not in _calls
        _calls[function] = _calls.get(function, 0) + 1
    if first:
        _forward_to_duecredit(function)


def _wrapper(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def recorded(*args: Any, **kwargs: Any) -> Any:
        _note(name)
        return fn(*args, **kwargs)

    return recorded


def _modules() -> list[Any]:
    return [m for n, m in list(sys.modules.items()) if n == "dlterms.reference" or n.startswith("dlterms.reference.")]


def enable() -> None:
    """Start recording (nestable: each call needs its :func:`disable`)."""
    global _depth
    import dlterms.reference as reference

    with _lock:
        _depth += 1
        if _depth > 1:
            return
        originals = {id(getattr(reference, n)): n for n in reference.__all__ if callable(getattr(reference, n))}
        wrappers = {n: _wrapper(n, getattr(reference, n)) for n in originals.values()}
        for module in _modules():
            for attr, value in list(vars(module).items()):
                if (name := originals.get(id(value))) is not None:
                    _patched.append((module, attr, value, wrappers[name]))
                    setattr(module, attr, wrappers[name])


def disable() -> None:
    """Stop recording when every :func:`enable` has been matched; the reference is restored."""
    global _depth
    with _lock:
        if _depth == 0:
            return
        _depth -= 1
        if _depth:
            return
        for module, attr, original, wrapper in reversed(_patched):
            if getattr(module, attr, None) is wrapper:
                setattr(module, attr, original)
        _patched.clear()


def reset() -> None:
    """Forget the calls recorded so far."""
    with _lock:
        _calls.clear()


@contextmanager
def record(*, reset_first: bool = True) -> Iterator[None]:
    """Record the reference functions that run inside the block; read them with :func:`used_citations`."""
    if reset_first:
        reset()
    enable()
    try:
        yield
    finally:
        disable()


def used_citations() -> list[UsedCitation]:
    """The reference functions that ran while recording (in first-call order), with their terms and papers."""
    with _lock:
        calls = dict(_calls)
    bib = read_citations()
    out = []
    for fn, n in calls.items():
        terms = _terms_of(fn)
        keys = tuple(dict.fromkeys(k for t in terms for k in t.papers))
        out.append(
            UsedCitation(
                function=f"dlterms.reference.{fn}",
                calls=n,
                terms=tuple(t.stable_id for t in terms),
                papers=keys,
                links=tuple(bib[k].link for k in keys if k in bib and bib[k].link),
            )
        )
    return out


# --- objects.inv (Sphinx inventory v2) for intersphinx -----------------------


def inventory_entries(*, directory_urls: bool = True) -> list[tuple[str, str, int, str, str]]:
    """``(name, domain:role, priority, uri, display name)`` rows of the site's ``objects.inv``.

    ``std:term`` for every English and Chinese name, alias and variant of a term (first term in
    reading order wins a shared name) pointing at ``terms/<id>/#<id>``; ``std:doc`` for each term
    page; ``py:module``/``py:function`` for :mod:`dlterms.reference` and its public functions,
    pointing at the API page's mkdocstrings anchors.
    """
    import dlterms.reference as reference

    def page(path: str) -> str:
        return f"{path}/" if directory_urls else f"{path}.html"

    rows: list[tuple[str, str, int, str, str]] = []
    seen: set[str] = set()
    for t in load_terms().values():
        names = [t.id, t.en.name, *t.en.aliases, t.zh.name, *t.zh.variants, *t.zh.aliases]
        for name in dict.fromkeys(" ".join(n.split()) for n in names):
            if name and name.lower() not in seen:
                seen.add(name.lower())
                rows.append((name, "std:term", -1, f"{page(f'terms/{t.id}')}#{t.id}", "-"))
        rows.append((f"terms/{t.id}", "std:doc", -1, page(f"terms/{t.id}"), t.en.name))
    api = page("api/reference")
    rows.append(("dlterms.reference", "py:module", 0, f"{api}#dlterms.reference", "-"))
    for name in sorted(reference.__all__):
        if callable(getattr(reference, name)):
            rows.append((f"dlterms.reference.{name}", "py:function", 1, f"{api}#$", "-"))
    return rows


def objects_inv(*, directory_urls: bool = True) -> bytes:
    """The bytes of a Sphinx inventory (version 2, zlib-compressed body) of the site."""
    header = f"# Sphinx inventory version 2\n# Project: {TITLE}\n# Version: {__version__}\n"
    header += "# The remainder of this file is compressed using zlib.\n"
    body = "".join(f"{n} {r} {p} {u} {d}\n" for n, r, p, u, d in inventory_entries(directory_urls=directory_urls))
    return header.encode("utf-8") + zlib.compress(body.encode("utf-8"), 9)


if os.environ.get("DLTERMS_RECORD_CITATIONS", "") not in ("", "0"):
    enable()
