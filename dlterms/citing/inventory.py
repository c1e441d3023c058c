"""The site's ``objects.inv`` (Sphinx inventory version 2), so that Sphinx projects can link terms by intersphinx."""

from __future__ import annotations

import zlib

from dlterms import __version__
from dlterms.citing.terms import TITLE
from dlterms.glossary import load_terms

__all__ = ["inventory_entries", "objects_inv"]


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
