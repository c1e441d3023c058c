"""Cite a term or a reference function: stable IDs, BibTeX / CFF / APA / JSON, the original papers.

Identity and versions
---------------------
Every term has a stable ID, ``dlterms:<id>`` (``dlterms:softmax``), and one
page, :func:`term_url` (``<site>/terms/softmax/``, where ``<site>`` is the
deployer's ``DLTERMS_SITE_URL``; no URL when it is unset); IDs are never
renamed or removed. A citation names three things:

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
one BibTeX file for the package, every term and every paper. A paper's APA
reference is :func:`apa_text`; the site lists a term's papers with
:func:`apa_markdown`, the same text with italics and an autolink.

Runtime citations
-----------------
Off until switched on: inside ``with dlterms.citing.record():`` (or between
:func:`enable` and :func:`disable`) every public function of
:mod:`dlterms.reference` that runs is noted; :func:`used_citations` lists the
terms and papers behind them. No import switches recording on. If duecredit is
installed each is also sent to ``duecredit.due.cite(..., path="dlterms.reference.<fn>")``.
The reference modules are not edited: their public functions are wrapped while
recording and restored afterwards (calls through names bound before recording
began, as ``from dlterms.reference import softmax`` in another module, are not seen).

Modules
-------
* :mod:`dlterms.citing.bibliography`: the one reader of ``glossary/citations.bib``
  (entries, LaTeX to Unicode, persons, each work's
  :func:`~dlterms.citing.bibliography.url`);
* :mod:`dlterms.citing.terms`: the package's title and site, a term's page, which
  term a name cites, the facts of one citation;
* :mod:`dlterms.citing.formats`: APA, BibTeX, CFF and JSON, for a term and for a paper;
* :mod:`dlterms.citing.record`: runtime recording;
* :mod:`dlterms.citing.inventory`: the site's ``objects.inv``.

Standard library only: this package is part of the core install.
"""

from __future__ import annotations

from dlterms.citing.bibliography import (
    CITATIONS_PATH,
    BibEntry,
    Person,
    delatex,
    parse_bibtex,
    persons,
    read_citations,
)
from dlterms.citing.formats import FORMATS, apa_markdown, apa_text, cite, cite_all
from dlterms.citing.inventory import inventory_entries, objects_inv
from dlterms.citing.record import UsedCitation, disable, enable, is_recording, record, reset, used_citations
from dlterms.citing.terms import AUTHOR, SITE_URL_VARIABLE, SUBTITLE, TITLE, site_url, term_of, term_url

__all__ = [
    "AUTHOR",
    "CITATIONS_PATH",
    "FORMATS",
    "SITE_URL_VARIABLE",
    "SUBTITLE",
    "TITLE",
    "BibEntry",
    "Person",
    "UsedCitation",
    "apa_markdown",
    "apa_text",
    "cite",
    "cite_all",
    "delatex",
    "disable",
    "enable",
    "inventory_entries",
    "is_recording",
    "objects_inv",
    "parse_bibtex",
    "persons",
    "read_citations",
    "record",
    "reset",
    "site_url",
    "term_of",
    "term_url",
    "used_citations",
]
