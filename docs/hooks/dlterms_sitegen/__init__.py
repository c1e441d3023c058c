"""Generate the glossary part of the dlterms site (used by the MkDocs hook ``docs/hooks/dlterms_site.py``).

:class:`SiteBuild` loads everything once per build (terms, sections, invariants, reports, papers,
adapters, the cite helper) and writes, under ``docs/terms/`` (git-ignored):

* ``<id>.md`` for every term file that exists at build time, and ``img/<picture>.svg``;
* ``index.md`` (the seed's outline), ``index-en.md`` (English A–Z), ``index-zh.md`` (中文索引);
* ``jieba_user_dict.txt``, the user dictionary the search plugin gives jieba.

Files are rewritten only when their content changes, and files of removed terms are deleted.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dlterms.glossary import GLOSSARY_DIR, load_sections, load_terms

from . import bib, pages, plots
from .frameworks import Adapters
from .reports import load_reports, reports_folder
from .text import log, remove_stale, write_if_changed

__all__ = ["SiteBuild"]

JIEBA_DICT = "jieba_user_dict.txt"


def _invariants() -> dict[str, Any]:
    try:
        importlib.import_module("dlterms.conformance.runner")  # registers every invariant
        from dlterms.conformance.registry import INVARIANTS
    except ImportError as exc:
        log.warning("dlterms: cannot import the conformance suite (%s); install dlterms[docs]", exc)
        return {}
    return dict(INVARIANTS)


def _cite() -> Callable[..., str] | None:
    """``dlterms.cite`` when the citation helper exists; None otherwise (the pages say so)."""
    import dlterms

    fn = getattr(dlterms, "cite", None)
    if fn is None:
        try:
            fn = importlib.import_module("dlterms.citing").cite
        except (ImportError, AttributeError):
            return None
    return fn


class SiteBuild:
    """One build's worth of generated pages. Create it in ``on_config``; call :meth:`generate` once."""

    def __init__(self, repo_root: Path, docs_dir: Path) -> None:
        self.repo_root = repo_root
        self.out = docs_dir / pages.TERMS_DIR
        self.terms = load_terms()
        self.sections = load_sections()
        clash = set(self.terms) & {Path(p).stem for p in pages.INDEX_PAGES.values()} | ({"img"} & set(self.terms))
        if clash:
            raise ValueError(f"dlterms site: term id(s) {sorted(clash)} clash with generated page names")
        self.ctx: pages.Context | None = None
        self.timings: dict[str, float] = {}

    # --- navigation and search, needed in on_config -------------------------------------------

    def nav(self) -> list[Any]:
        """The Glossary section of the navigation: indexes, then the seed's sections, then terms in reading order."""
        items: list[Any] = [
            pages.INDEX_PAGES["index"],
            {"English A–Z": pages.INDEX_PAGES["en"]},
            {"中文索引": pages.INDEX_PAGES["zh"]},
        ]
        for s in self.sections:
            terms = [t for t in self.terms.values() if t.section == s.id]
            if terms:
                items.append({pages.tag(s): [{pages.title(t): f"{pages.TERMS_DIR}/{t.id}.md"} for t in terms]})
        return items

    def write_jieba_dict(self) -> Path:
        ctx = pages.Context(self.repo_root, self.terms, self.sections, {}, None, {}, None, None)  # type: ignore[arg-type]
        path = self.out / JIEBA_DICT
        write_if_changed(path, "\n".join(pages.jieba_words(ctx)) + "\n")
        return path

    # --- the pages, in on_pre_build -------------------------------------------------------------

    def _load(self) -> pages.Context:
        t0 = time.perf_counter()
        ctx = pages.Context(
            repo_root=self.repo_root,
            terms=self.terms,
            sections=self.sections,
            invariants=_invariants(),
            reports=load_reports(reports_folder(self.repo_root)),
            papers=bib.load_bib(GLOSSARY_DIR / "citations.bib"),
            adapters=Adapters(self.repo_root),
            cite=_cite(),
        )
        ctx.adapters.all()  # read the adapter files now, so their cost shows in the timings
        self.timings["load"] = time.perf_counter() - t0
        return ctx

    def generate(self) -> list[Path]:
        """Write every generated file; return their paths."""
        self.ctx = ctx = self._load()
        written = [self.out / JIEBA_DICT]
        plotter = plots.Plotter(self.out / "img")
        t_plots = t_pages = 0.0
        for term in self.terms.values():
            t0 = time.perf_counter()
            shown = []
            for pic in plots.pictures_for(term, self.terms, self.sections):
                fallback = plots.fallback_picture(term, self.terms, self.sections)
                pic, path = plotter.render(pic, lambda f=fallback: f)
                shown.append((pic, f"img/{path.name}"))
            t1 = time.perf_counter()
            page = self.out / f"{term.id}.md"
            write_if_changed(page, pages.term_page(ctx, term, shown))
            written.append(page)
            t_plots += t1 - t0
            t_pages += time.perf_counter() - t1
        written += plotter.files.values()
        for key, render in (("index", pages.overview_page), ("en", pages.english_index), ("zh", pages.chinese_index)):
            path = self.out.parent / pages.INDEX_PAGES[key]
            write_if_changed(path, render(ctx))
            written.append(path)
        remove_stale(self.out, written)
        self.timings.update(plots=t_plots, pages=t_pages)
        return written
