"""A small reader for ``glossary/citations.bib``: enough BibTeX to list a term's original papers.

Handles ``@type{key, field = {braced} | "quoted" | bare, ...}`` entries, nested braces, and
the few LaTeX accents the file uses. Not a general BibTeX parser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_ENTRY = re.compile(r"@(\w+)\s*\{\s*([^,\s]+)\s*,")
_FIELD = re.compile(r"\s*([A-Za-z_-]+)\s*=\s*")
_ACCENTS = {
    "'": {"e": "é", "a": "á", "o": "ó", "i": "í", "u": "ú", "E": "É"},
    '"': {"u": "ü", "o": "ö", "a": "ä", "U": "Ü", "O": "Ö", "A": "Ä"},
    "`": {"e": "è", "a": "à"},
    "^": {"e": "ê", "o": "ô"},
    "~": {"n": "ñ"},
    "c": {"c": "ç"},
}
_ACCENT = re.compile(r"\{?\\(['\"`^~c])\s?\{?([A-Za-z])\}?\}?")


@dataclass(frozen=True)
class Entry:
    type: str
    key: str
    fields: dict[str, str]

    def get(self, name: str) -> str:
        return self.fields.get(name, "")


def _delatex(value: str) -> str:
    value = _ACCENT.sub(lambda m: _ACCENTS.get(m[1], {}).get(m[2], m[2]), value)
    value = value.replace("--", "–").replace("\\&", "&").replace("~", " ")
    return " ".join(value.replace("{", "").replace("}", "").split())


def _value(text: str, i: int) -> tuple[str, int]:
    """The field value starting at ``text[i]`` and the index just after it."""
    if text[i] == "{":
        depth, j = 0, i
        while j < len(text):
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            if depth == 0:
                return text[i + 1 : j], j + 1
            j += 1
        raise ValueError(f"unbalanced braces at offset {i}")
    if text[i] == '"':
        j = text.index('"', i + 1)
        return text[i + 1 : j], j + 1
    m = re.compile(r"[^,}\s]+").match(text, i)
    if not m:
        raise ValueError(f"no field value at offset {i}")
    return m[0], m.end()


def parse_bib(text: str) -> dict[str, Entry]:
    """Every entry of a BibTeX file, by key (comments and ``%`` lines ignored)."""
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("%"))
    entries: dict[str, Entry] = {}
    for m in _ENTRY.finditer(text):
        fields: dict[str, str] = {}
        i = m.end()
        while True:
            f = _FIELD.match(text, i)
            if not f:
                break
            value, i = _value(text, f.end())
            fields[f[1].lower()] = _delatex(value)
            i = re.compile(r"\s*,?").match(text, i).end()  # type: ignore[union-attr]
        entries[m[2]] = Entry(type=m[1].lower(), key=m[2], fields=fields)
    return entries


def load_bib(path: Path) -> dict[str, Entry]:
    return parse_bib(path.read_text(encoding="utf-8")) if path.exists() else {}


def _authors(entry: Entry) -> str:
    names = [n.strip() for n in entry.get("author").split(" and ") if n.strip()]
    if not names:
        return entry.get("organization") or entry.get("publisher")

    def short(name: str) -> str:
        last, _, first = name.partition(",")
        initials = " ".join(f"{p[0]}." for p in first.replace(".", " ").split() if p[0].isalpha())
        return f"{last.strip()}, {initials}".strip(", ")

    parts = [short(n) for n in names]
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + ", & " + parts[-1]


def link(entry: Entry) -> str:
    """The entry's stable address: its DOI, arXiv id or URL."""
    if entry.get("doi"):
        return f"https://doi.org/{entry.get('doi')}"
    if entry.get("eprint"):
        return f"https://arxiv.org/abs/{entry.get('eprint')}"
    return entry.get("url")


def apa_markdown(entry: Entry) -> str:
    """One reference in APA style, as Markdown (title in italics for books, link at the end)."""
    title = entry.get("title")
    venue = entry.get("journal") or entry.get("booktitle") or entry.get("school") or entry.get("howpublished")
    if entry.type in ("book", "mastersthesis", "phdthesis"):
        title = f"*{title}*"
        venue = entry.get("publisher") or entry.get("school")
    else:
        venue = f"*{venue}*" if venue else ""
    vol = entry.get("volume")
    if vol and entry.get("number"):
        vol += f"({entry.get('number')})"
    where = ", ".join(x for x in (venue, vol, entry.get("pages")) if x)
    out = f"{_authors(entry)} ({entry.get('year') or 'n.d.'}). {title}."
    if where:
        out += f" {where}."
    url = link(entry)
    if url:
        out += f" <{url}>"
    return out
