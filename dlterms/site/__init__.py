"""The dlterms site generator: the glossary's pages as plain Markdown, with their SVG plots.

:func:`generate` writes one page per glossary term, the indexes and the plots into a folder;
``dlterms site generate DIR`` and the MkDocs hook of this repository (``docs/hooks/dlterms_site.py``,
which writes ``docs/terms/``) both call it. The pages are Markdown with YAML front matter, tables
and raw HTML (``<figure>``, ``<div markdown>``, MathML); two constructs are Python-Markdown
extensions that other renderers show as indented text: content tabs (``=== "English"``, from
pymdownx.tabbed) and collapsible blocks (``??? note``, from pymdownx.details), plus ``!!!``
admonitions. Links between pages are relative (``softmax.md``, ``../how-to/conform.md``).

Needs the ``docs`` extra (matplotlib, latex2mathml); ``import dlterms`` does not import this package.

Modules: :mod:`.build` (one build), :mod:`.pages` (a term's page), :mod:`.indexes`,
:mod:`.frameworks` (adapter tabs), :mod:`.specials` (special values), :mod:`.reports`
(conformance reports), :mod:`.plots`, :mod:`.searchnames` (search index names),
:mod:`.inventory` (``objects.inv``), :mod:`.mathml`, :mod:`.text`, :mod:`.apisrc` (Griffe's source tree).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["generate"]


def generate(out_dir: Path, reports_dir: Path | None = None) -> list[Path]:
    """Write the glossary's pages, plots and indexes into ``out_dir``; return the paths written.

    ``reports_dir`` holds the conformance reports (``*.json``) whose results the pages show;
    None reads ``$DLTERMS_REPORTS`` (folders separated by ``os.pathsep``), else ``reports/`` then
    ``recorded-reports/`` of the source tree.
    """
    from .build import SiteBuild

    return SiteBuild(Path(out_dir), None if reports_dir is None else Path(reports_dir)).generate()
