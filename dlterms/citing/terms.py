"""What a citation names: the package and its site, the term (by ID or by reference function), the date.

The site's address is the deployer's setting, never written here: the environment variable
``DLTERMS_SITE_URL`` (mkdocs.yml's ``site_url`` reads the same variable), or a ``base_url``
given to :func:`citation_of`. With neither, a citation names the package, its version and the
term's stable ID, and no URL (:func:`site_url` is None).

:func:`citation_of` gathers the facts every format states (:class:`Citation`); the formats
themselves are in :mod:`dlterms.citing.formats`.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from dlterms.citing.bibliography import BibEntry, read_citations
from dlterms.glossary import Term, get_term, load_terms

__all__ = [
    "AUTHOR",
    "SITE_URL_VARIABLE",
    "SUBTITLE",
    "TITLE",
    "Citation",
    "accessed_date",
    "citation_of",
    "site_url",
    "term_of",
    "term_url",
    "terms_of",
]

SITE_URL_VARIABLE = "DLTERMS_SITE_URL"  # the deployer's setting: where the site is served
_URL = re.compile(r"https?://[^\s/?#]+(/[^\s?#]*)?")
TITLE = "dlterms"
SUBTITLE = "a bilingual glossary of deep-learning terms you can run"
AUTHOR = "The dlterms developers"


def site_url() -> str | None:
    """The site's address from ``DLTERMS_SITE_URL``, ending in ``/``; None when it is unset or empty.

    Raises :class:`ValueError` naming the variable when its value is not an http(s) URL.
    """
    value = os.environ.get(SITE_URL_VARIABLE, "").strip()
    if not value:
        return None
    if not _URL.fullmatch(value):
        raise ValueError(
            f"{SITE_URL_VARIABLE}={value!r}; expected the http(s) address the site is served at, "
            "such as 'https://dlterms.readthedocs.io/'"
        )
    return value.rstrip("/") + "/"


def term_url(term_id: str, base_url: str | None = None) -> str | None:
    """The term's page, ``<base_url>terms/<id>/`` (``base_url`` defaults to :func:`site_url`); None without a site."""
    base = base_url or site_url()
    return f"{base.rstrip('/')}/terms/{term_id.removeprefix('dlterms:')}/" if base else None


def accessed_date(value: date | str | None) -> date:
    """The access date: ``value`` (a date or ``YYYY-MM-DD``), else ``SOURCE_DATE_EPOCH``'s day (UTC), else today."""
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


def terms_of(function: str) -> list[Term]:
    """Function terms whose ``reference`` names ``function`` (or the op whose VJP it is)."""
    op = function.removesuffix("_vjp")
    return [t for t in load_terms().values() if t.kind == "function" and (function in t.reference or op in t.reference)]


def term_of(name: str) -> Term:
    """The term to cite for a term ID (``softmax``, ``dlterms:softmax``) or a reference function
    (``dlterms.reference.log_softmax``, ``dlterms.reference.softmax_vjp``: the function term naming it).

    Raises :class:`KeyError` with the closest IDs, or naming the terms when a function has several.
    """
    if not name.startswith("dlterms.reference."):
        return get_term(name)
    function = name.removeprefix("dlterms.reference.")
    terms = terms_of(function)
    if len(terms) == 1:
        return terms[0]
    if terms:
        ids = ", ".join(t.stable_id for t in terms)
        raise KeyError(f"{name} is the reference of several terms ({ids}); cite one of them")
    import dlterms.reference as reference

    if function not in reference.__all__:
        close = difflib.get_close_matches(function, reference.__all__, n=3)
        hint = f"; did you mean {', '.join('dlterms.reference.' + c for c in close)}?" if close else ""
        raise KeyError(f"unknown reference function {name!r}{hint}")
    raise KeyError(f"{name} is not the reference of any function term; cite a term (`dlterms terms` lists them)")


@dataclass(frozen=True)
class Citation:
    """The facts of one term's citation, which every format states: the term, its page, the date, its papers."""

    term: Term
    url: str | None  # None when no site address is set: the citation then names no URL
    accessed: date
    papers: tuple[BibEntry, ...]


def citation_of(term: str | Term, accessed: date | str | None = None, base_url: str | None = None) -> Citation:
    """The :class:`Citation` of a term (a :class:`Term`, or a name :func:`term_of` accepts).

    Raises :class:`LookupError` when the term names a paper that ``glossary/citations.bib`` lacks.
    """
    t = term_of(term) if isinstance(term, str) else term
    bib = read_citations()
    missing = [k for k in t.papers if k not in bib]
    if missing:
        raise LookupError(f"{t.path}: field 'papers' names {missing} but glossary/citations.bib has no such key")
    return Citation(t, term_url(t.id, base_url), accessed_date(accessed), tuple(bib[k] for k in t.papers))
