"""The generated parts of hand-written pages, each marked by an HTML comment in the page's Markdown.

``<!-- dlterms:mistranslations -->`` (the seed's mistranslations), ``<!-- dlterms:conventions -->``
(the conventions reported by the frameworks), ``<!-- dlterms:sections -->`` (every section and its
terms), ``<!-- dlterms:shadowed-api -->`` (API blocks of functions named like their module).
"""

from __future__ import annotations

from collections.abc import Callable

from . import indexes, pages
from .reports import conventions_markdown

__all__ = ["MARKERS", "fill_markers"]

MARKERS = (
    "<!-- dlterms:mistranslations -->",
    "<!-- dlterms:conventions -->",
    "<!-- dlterms:sections -->",
    "<!-- dlterms:shadowed-api -->",
)


def fill_markers(markdown: str, ctx: pages.Context, src_uri: str) -> str:
    """``markdown`` (of the page at ``src_uri`` under the docs folder) with every marker replaced."""
    if "<!-- dlterms:" not in markdown:
        return markdown
    base = "../" * src_uri.count("/") + pages.TERMS_DIR + "/"
    parts: dict[str, Callable[[], str]] = {
        MARKERS[0]: lambda: indexes.mistranslation_table(ctx, base),
        MARKERS[1]: lambda: conventions_markdown(ctx.reports),
        MARKERS[2]: lambda: indexes.sections_list(ctx, base),
        MARKERS[3]: indexes.shadowed_api,
    }
    for marker, render in parts.items():
        if marker in markdown:
            markdown = markdown.replace(marker, render())
    return markdown
