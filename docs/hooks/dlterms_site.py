"""MkDocs hook of the dlterms site: the glossary pages are generated, the rest is hand-written.

* ``on_config`` (before the search plugin reads its options): writes the jieba user dictionary
  from the glossary and points the search plugin at it; expands the nav entry
  ``Glossary: terms/index.md`` into the seed's sections and their terms, in reading order;
  lays out ``build/api-src`` for mkdocstrings (see ``dlterms_sitegen/apisrc.py``).
* ``on_pre_build``: writes one Markdown page per term file (and its SVG plots, and the indexes)
  into ``docs/terms/``, a git-ignored folder, so ``mkdocs build`` alone is the whole build.
* ``on_post_build`` (after the search plugin wrote its index): fills the hidden ``names`` search
  field of each term page, so that a name finds its own page first (see ``searchnames.py``).
* ``on_page_markdown``: fills the generated parts of hand-written pages, marked by
  ``<!-- dlterms:mistranslations -->``, ``<!-- dlterms:conventions -->``, ``<!-- dlterms:sections -->``,
  ``<!-- dlterms:shadowed-api -->``.

The code lives in the ``dlterms_sitegen`` package next to this file; ``objects_inv.py`` (another
hook) publishes ``objects.inv``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from dlterms_sitegen import SiteBuild, pages
from dlterms_sitegen.apisrc import api_source_tree
from dlterms_sitegen.reports import conventions_markdown
from dlterms_sitegen.searchnames import add_names
from dlterms_sitegen.text import log
from mkdocs.plugins import event_priority

_build: SiteBuild | None = None


def _expand_nav(nav: list[Any], glossary: list[Any]) -> list[Any]:
    """``nav`` with the entry whose target is ``terms/index.md`` replaced by the Glossary section."""
    out, found = [], False
    for item in nav:
        if isinstance(item, dict) and list(item.values()) == [pages.INDEX_PAGES["index"]]:
            out.append({next(iter(item)): glossary})
            found = True
        else:
            out.append(item)
    if not found:
        out.insert(1, {"Glossary": glossary})
    return out


@event_priority(100)  # before the search plugin loads jieba_dict_user
def on_config(config: Any) -> Any:
    global _build
    repo_root = Path(config.config_file_path).resolve().parent
    _build = SiteBuild(repo_root, Path(config.docs_dir))
    api_source_tree(repo_root)  # for mkdocstrings (paths: [build/api-src])
    path = _build.write_jieba_dict()
    for name, plugin in config.plugins.items():
        if name.endswith("search") and hasattr(plugin.config, "jieba_dict_user"):
            plugin.config.jieba_dict_user = str(path)  # absolute: the build may run from any directory
    if config.nav is not None:
        config.nav = _expand_nav(config.nav, _build.nav())
    return config


def on_pre_build(config: Any) -> None:
    assert _build is not None
    t0 = time.perf_counter()
    files = _build.generate()
    timing = ", ".join(f"{k} {v:.1f}s" for k, v in _build.timings.items())
    log.info("dlterms: generated %d files in %.1fs (%s)", len(files), time.perf_counter() - t0, timing)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if "<!-- dlterms:" not in markdown or _build is None or _build.ctx is None:
        return markdown
    ctx = _build.ctx
    base = "../" * page.file.src_uri.count("/") + pages.TERMS_DIR + "/"
    parts = {
        "<!-- dlterms:mistranslations -->": lambda: pages.mistranslation_table(ctx, base),
        "<!-- dlterms:conventions -->": lambda: conventions_markdown(ctx.reports),
        "<!-- dlterms:sections -->": lambda: pages.sections_list(ctx, base),
        "<!-- dlterms:shadowed-api -->": pages.shadowed_api,
    }
    for marker, render in parts.items():
        if marker in markdown:
            markdown = markdown.replace(marker, render())
    return markdown


@event_priority(-100)  # after the search plugin has written search/search_index.json
def on_post_build(config: Any) -> None:
    if _build is None:
        return
    plugin = next((p for n, p in config.plugins.items() if n.endswith("search") and hasattr(p, "search_index")), None)
    index = Path(config.site_dir) / "search" / "search_index.json"
    if plugin is None or not index.exists():
        return
    segment = getattr(plugin.search_index, "_segment_chinese", lambda text: text)
    count = add_names(index, _build.terms, segment)
    log.info("dlterms: search names added to %d term pages", count)
