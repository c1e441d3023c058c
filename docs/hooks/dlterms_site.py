"""MkDocs hook of the dlterms site: MkDocs events translated into calls of :mod:`dlterms.site`.

* ``on_config`` (before the search plugin reads its options): the jieba user dictionary, the
  Glossary section of the nav, and ``build/api-src`` for mkdocstrings;
* ``on_pre_build``: the term pages, plots and indexes into ``docs/terms/`` (git-ignored), by the
  same code as ``dlterms site generate``;
* ``on_page_markdown``: the generated parts of hand-written pages (:mod:`dlterms.site.markers`);
* ``on_post_build`` (after the search plugin wrote its index): the hidden ``names`` search field
  of each term page (:mod:`dlterms.site.searchnames`).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from mkdocs.plugins import event_priority

from dlterms.site.apisrc import api_source_tree
from dlterms.site.build import SiteBuild
from dlterms.site.markers import fill_markers
from dlterms.site.pages import TERMS_DIR
from dlterms.site.searchnames import add_names
from dlterms.site.text import log

_build: SiteBuild | None = None


def _search_plugin(config: Any) -> Any:
    return next((p for n, p in config.plugins.items() if n.endswith("search")), None)


@event_priority(100)  # before the search plugin loads jieba_dict_user
def on_config(config: Any) -> Any:
    global _build
    repo_root = Path(config.config_file_path).resolve().parent
    _build = SiteBuild(Path(config.docs_dir) / TERMS_DIR, repo_root=repo_root)
    api_source_tree(repo_root)
    search = _search_plugin(config)
    if search is not None and hasattr(search.config, "jieba_dict_user"):
        search.config.jieba_dict_user = str(_build.write_jieba_dict())  # absolute: any working directory
    if config.nav is not None:
        config.nav = _build.expand_nav(config.nav)
    return config


def on_pre_build(config: Any) -> None:
    assert _build is not None
    t0 = time.perf_counter()
    files = _build.generate()
    timing = ", ".join(f"{k} {v:.1f}s" for k, v in _build.timings.items())
    log.info("dlterms: generated %d files in %.1fs (%s)", len(files), time.perf_counter() - t0, timing)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if _build is None or _build.ctx is None:
        return markdown
    return fill_markers(markdown, _build.ctx, page.file.src_uri)


@event_priority(-100)  # after the search plugin has written search/search_index.json
def on_post_build(config: Any) -> None:
    search = _search_plugin(config)
    index = Path(config.site_dir) / "search" / "search_index.json"
    if _build is None or search is None or not hasattr(search, "search_index") or not index.exists():
        return
    segment = getattr(search.search_index, "_segment_chinese", lambda text: text)
    log.info("dlterms: search names added to %d term pages", add_names(index, _build.terms, segment))
