"""Sphinx extension: link and cite dlterms glossary entries from your own documentation.

Add ``"dlterms.sphinx"`` to ``extensions`` in ``conf.py``, then write:

* ``:dlterm:`softmax``` -> the term's name, linked to its page
  (``<dlterms_base_url>terms/softmax/``), with its definition as the link's
  tooltip (``title`` attribute); ``:dlterm:`the softmax <softmax>``` sets the
  text. With no site address set, the name is not a link but an ``<abbr>``
  with the same tooltip. An unknown ID is an error naming the closest IDs.
* ``.. dlterm-citation:: softmax`` -> the term's citation with its original
  papers, as APA text (default) or, with ``:format: bibtex``, a BibTeX block;
  ``:accessed: 2025-01-31`` fixes the access date.

Settings: ``dlterms_base_url`` (where the dlterms site is served; default: the
environment variable ``DLTERMS_SITE_URL``, :func:`dlterms.citing.site_url`; the
links and the citations' URLs use it, and with neither there is no URL),
``dlterms_language`` (``"en"`` or ``"zh"``: the language of the name and the
tooltip), ``dlterms_accessed`` (``"YYYY-MM-DD"``; default: the build date, or
``SOURCE_DATE_EPOCH``).

The site also publishes ``objects.inv``: with ``sphinx.ext.intersphinx`` and
``intersphinx_mapping = {"dlterms": ("<the site's address>", None)}``,
``:term:`softmax``` and ``:py:func:`dlterms.reference.softmax``` resolve too.
"""

from __future__ import annotations

import re
from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.util.docutils import ReferenceRole, SphinxDirective

from dlterms import __version__
from dlterms.citing import site_url, term_url
from dlterms.citing.formats import apa, bibtex
from dlterms.citing.terms import citation_of
from dlterms.glossary import Term, get_term

_URL = re.compile(r"https?://\S+")


def _term_or_error(term_id: str) -> tuple[Term | None, str]:
    try:
        return get_term(term_id), ""
    except KeyError as exc:
        return None, str(exc.args[0])


class DltermRole(ReferenceRole):
    """``:dlterm:`softmax``` or ``:dlterm:`text <softmax>```."""

    def run(self) -> tuple[list[nodes.Node], list[nodes.system_message]]:
        term, error = _term_or_error(self.target)
        if term is None:
            msg = self.inliner.reporter.error(f":dlterm: {error}", line=self.lineno)
            return [self.inliner.problematic(self.rawtext, self.rawtext, msg)], [msg]
        names = term.zh if self.config.dlterms_language == "zh" else term.en
        text = self.title if self.has_explicit_title else names.name
        tooltip = " ".join(names.definition.split())
        page = term_url(term.id, self.config.dlterms_base_url or None)
        if page is None:
            return [nodes.abbreviation(self.rawtext, text, explanation=tooltip, classes=["dlterm"])], []
        ref = nodes.reference(self.rawtext, text, refuri=page, reftitle=tooltip, classes=["dlterm"])
        return [ref], []


def _linked(text: str) -> list[nodes.Node]:
    """Text with its URLs as links."""
    out: list[nodes.Node] = []
    pos = 0
    for m in _URL.finditer(text):
        out.append(nodes.Text(text[pos : m.start()]))
        out.append(nodes.reference(m.group(), m.group(), refuri=m.group()))
        pos = m.end()
    out.append(nodes.Text(text[pos:]))
    return out


class DltermCitationDirective(SphinxDirective):
    """``.. dlterm-citation:: softmax`` with optional ``:format: apa|bibtex`` and ``:accessed: YYYY-MM-DD``."""

    required_arguments = 1
    option_spec = {  # noqa: RUF012 (docutils reads this class attribute)
        "format": lambda arg: directives.choice(arg, ("apa", "bibtex")),
        "accessed": directives.unchanged_required,
    }

    def run(self) -> list[nodes.Node]:
        term, error = _term_or_error(self.arguments[0])
        if term is None:
            raise self.error(f"dlterm-citation: {error}")
        accessed = self.options.get("accessed") or self.config.dlterms_accessed or None
        fmt = self.options.get("format", "apa")
        try:
            citation = citation_of(term, accessed, base_url=self.config.dlterms_base_url or None)
            text = {"apa": apa, "bibtex": bibtex}[fmt](citation)
        except ValueError as exc:
            raise self.error(f"dlterm-citation: {exc}") from None
        if fmt == "bibtex":
            block = nodes.literal_block(text, text, language="bibtex", classes=["dlterm-citation"])
            self.set_source_info(block)
            return [block]
        box = nodes.container(classes=["dlterm-citation"])
        for paragraph in text.strip().split("\n\n"):
            for line in paragraph.splitlines():
                box += nodes.paragraph("", "", *_linked(line))
        self.set_source_info(box)
        return [box]


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("dlterms_base_url", site_url() or "", "env", str)
    app.add_config_value("dlterms_language", "en", "env", str)
    app.add_config_value("dlterms_accessed", "", "env", str)
    app.add_role("dlterm", DltermRole())
    app.add_directive("dlterm-citation", DltermCitationDirective)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
