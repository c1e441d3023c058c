"""One build of the glossary's pages: :class:`SiteBuild` loads everything once and writes the files.

It loads the terms, sections, invariants, reports, papers, adapters and the cite helper, and
writes into its output folder (``docs/terms/`` for the MkDocs site, git-ignored):

* ``<id>.md`` for every term file that exists at build time, and ``img/<picture>.svg``;
* ``index.md`` (the seed's outline), ``index-en.md`` (English A–Z), ``index-zh.md`` (中文索引);
* ``jieba_user_dict.txt``, a user dictionary that keeps the glossary's Chinese words whole.

Files are written atomically and only when their content changes; files that an earlier build
wrote and this one did not (a removed term) are deleted (see :func:`.text.remove_stale`).
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from dlterms.citing.bibliography import read_citations
from dlterms.glossary import load_sections, load_terms

from . import indexes, pages, plots
from .frameworks import Adapters
from .reports import load_reports, reports_folder
from .text import log, remove_stale, write_if_changed

__all__ = ["JIEBA_DICT", "REPO_ROOT", "SiteBuild"]

JIEBA_DICT = "jieba_user_dict.txt"
# The source tree's root (mkdocs.yml, reference/, conformance/): source paths on the pages are relative to it.
REPO_ROOT = Path(__file__).resolve().parents[2]


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

    return getattr(dlterms, "cite", None)


class SiteBuild:
    """One build's worth of generated pages, written into ``out`` (the folder the pages live in)."""

    def __init__(
        self, out: Path, reports_dir: Path | Sequence[Path] | None = None, repo_root: Path = REPO_ROOT
    ) -> None:
        self.repo_root = repo_root
        self.out = out
        self.reports_dir = reports_dir if reports_dir is not None else reports_folder(repo_root)
        self.terms = load_terms()
        self.sections = load_sections()
        clash = set(self.terms) & {Path(p).stem for p in pages.INDEX_PAGES.values()} | ({"img"} & set(self.terms))
        if clash:
            raise ValueError(f"dlterms site: term id(s) {sorted(clash)} clash with generated page names")
        self.ctx: pages.Context | None = None
        self.timings: dict[str, float] = {}

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

    def expand_nav(self, nav: list[Any]) -> list[Any]:
        """``nav`` with the entry whose target is ``terms/index.md`` replaced by :meth:`nav` (added if absent)."""
        out, found = [], False
        for item in nav:
            if isinstance(item, dict) and list(item.values()) == [pages.INDEX_PAGES["index"]]:
                out.append({next(iter(item)): self.nav()})
                found = True
            else:
                out.append(item)
        if not found:
            out.insert(1, {"Glossary": self.nav()})
        return out

    def write_jieba_dict(self) -> Path:
        """Write the jieba user dictionary (every Chinese word of the glossary); return its path."""
        path = self.out / JIEBA_DICT
        write_if_changed(path, "\n".join(indexes.jieba_words(self.terms)) + "\n")
        return path

    def _load(self) -> pages.Context:
        t0 = time.perf_counter()
        ctx = pages.Context(
            repo_root=self.repo_root,
            terms=self.terms,
            sections=self.sections,
            invariants=_invariants(),
            reports=load_reports(self.reports_dir),
            papers=read_citations(),
            adapters=Adapters(self.repo_root),
            cite=_cite(),
        )
        ctx.adapters.all()  # read the adapter files now, so their cost shows in the timings
        self.timings["load"] = time.perf_counter() - t0
        return ctx

    def generate(self) -> list[Path]:
        """Write every generated file; return their paths."""
        self.ctx = ctx = self._load()
        written = [self.write_jieba_dict()]
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
        renderers = {"index": indexes.overview_page, "en": indexes.english_index, "zh": indexes.chinese_index}
        for key, render in renderers.items():
            path = self.out / Path(pages.INDEX_PAGES[key]).name
            write_if_changed(path, render(ctx))
            written.append(path)
        remove_stale(self.out, written)
        self.timings.update(plots=t_plots, pages=t_pages)
        return written
