"""The one reader of ``glossary/citations.bib``: entries, LaTeX to Unicode, persons and each work's link.

Standard library only. Reads ``@type{key, field = {braced} | "quoted" | bare # joined, ...}`` and
``@type(...)`` entries with nested braces; skips ``@comment``, ``@preamble`` and ``%`` lines; refuses
``@string`` macros. Text fields are decoded to Unicode by :func:`delatex` (``~`` is a non-breaking
space there); identifier fields (``url``, ``doi``, ``eprint``, ``isbn``) are verbatim, as BibTeX and
biblatex treat ``url``, so ``~`` stays ``~``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import quote

from dlterms.glossary import GLOSSARY_DIR

__all__ = [
    "CITATIONS_PATH",
    "IDENTIFIER_FIELDS",
    "BibEntry",
    "Person",
    "authors",
    "delatex",
    "parse_bibtex",
    "persons",
    "read_citations",
    "url",
]

CITATIONS_PATH = GLOSSARY_DIR / "citations.bib"
IDENTIFIER_FIELDS = ("url", "doi", "eprint", "isbn")  # verbatim: no LaTeX decoding, "~" is a tilde

# Characters RFC 3986 allows in a URI besides letters and digits; a DOI's others are percent-encoded.
_URI_SAFE = "-._~:/?#[]@!$&'()*+,;="
_DOI_SAFE = "-._~:/!$&'()*+,;=@"  # no "?" or "#": in a DOI they are data, not a query or fragment


@dataclass(frozen=True)
class BibEntry:
    """One entry of a BibTeX file: its type, key, raw field values (braces kept) and verbatim text."""

    type: str
    key: str
    fields: dict[str, str]
    text: str

    def plain(self, name: str) -> str:
        """A field as readable Unicode text (LaTeX accents decoded, braces dropped), or ``""``.

        Identifiers (:data:`IDENTIFIER_FIELDS`) are taken literally: braces and the backslash of
        ``\\_``-style escapes dropped, ``~`` kept as ``~``.
        """
        raw = self.fields.get(name, "")
        if name in IDENTIFIER_FIELDS:
            return re.sub(r"\\([&%$#_~])", r"\1", raw.replace("{", "").replace("}", "")).strip()
        return delatex(raw)

    @property
    def link(self) -> str:
        """The work's stable address, :func:`url` of this entry."""
        return url(self)


def url(entry: BibEntry) -> str:
    """The stable address of a work: its DOI's resolver URL, else its ``url``, else its arXiv page, else ``""``.

    The DOI is percent-encoded where RFC 3986 requires it (``https://doi.org/10.1002/(SICI)...``
    keeps its parentheses; a ``#`` or ``<`` in a DOI becomes ``%23``, ``%3C``).

    >>> url(parse_bibtex("@misc{m, url = {https://ai.stanford.edu/~amaas/}}")[0])
    'https://ai.stanford.edu/~amaas/'
    """
    if doi := entry.plain("doi"):
        return "https://doi.org/" + quote(doi, safe=_DOI_SAFE)
    if address := entry.plain("url"):
        return quote(address, safe=_URI_SAFE + "%")
    if entry.plain("archiveprefix").lower() == "arxiv" and (eprint := entry.plain("eprint")):
        return "https://arxiv.org/abs/" + quote(eprint, safe=_DOI_SAFE)
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
    """BibTeX/LaTeX field text as Unicode: ``M{\\"u}ller`` -> ``Müller``, ``115--133`` -> ``115–133``.

    ``~`` (a non-breaking space in TeX) becomes a space: use it on text fields, not on identifiers.
    """
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
        """APA 7 form: ``Family, G. N.`` (``Müller, K.-R.`` for a hyphenated given name), or the organisation."""
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


def authors(entry: BibEntry) -> list[Person]:
    """The entry's authors, else its ``organization`` as one author, else none."""
    if "author" in entry.fields:
        return persons(entry.fields["author"])
    if "organization" in entry.fields:
        return [Person(name=entry.plain("organization"))]
    return []
