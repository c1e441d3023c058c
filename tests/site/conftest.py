"""Fixtures of the site tests: one ``mkdocs build --strict`` per session, into a temporary folder.

The browser fixtures serve the built site on 127.0.0.1 and open it in headless Chromium. They need
Playwright from PyPI (``pip install playwright``) and a system Chromium (Debian: ``apt-get install
chromium``); ``playwright install`` is not used. Set ``DLTERMS_CHROMIUM`` to use another Chromium
binary. Without either, the tests that use them are skipped and say which one is missing.

The build is given a small hand-written conformance report (a made-up backend, ``fakeframe``),
so that the matrix and the conventions page have something known to show.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

REPO = Path(__file__).resolve().parents[2]

FAKE_REPORT = {
    "schema": "dlterms.report/1",
    "created": "2026-01-01T00:00:00+00:00",
    "backend": {"name": "fakeframe", "version": "9.9.9"},
    "settings": {"max_examples": 5, "seed": 0},
    "results": [
        {"term": "softmax", "invariant": "softmax.sums_to_one", "dtype": "float32", "status": "pass"},
        {"term": "softmax", "invariant": "softmax.sums_to_one", "dtype": "float64", "status": "pass"},
        {"term": "softmax", "invariant": "softmax.shift_invariant", "dtype": "float32", "status": "pass"},
        {"term": "softmax", "invariant": "softmax.shift_invariant", "dtype": "float64", "status": "fail"},
        {"term": "softmax", "invariant": "softmax.preserves_order", "dtype": "float32", "status": "unsupported"},
    ],
    "conventions": [
        {
            "id": "softmax.default_axis",
            "description": "the axis softmax normalises when none is given",
            "value": 1,
            "canonical": -1,
        },
        {
            "id": "leaky_relu.default_negative_slope",
            "description": "the slope for x < 0 when none is given",
            "value": 0.01,
            "canonical": 0.01,
        },
    ],
    "special_values": [
        {
            "id": "softmax.one_positive_infinity",
            "description": "made up",
            "op": "softmax",
            "value": ["nan", "nan", "nan"],
            "canonical": [1.0, 0.0, 0.0],
            "matches_canonical": False,
        },
        {
            "id": "softmax.two_positive_infinities",
            "description": "made up",
            "op": "softmax",
            "value": [0.5, 0.5, 0.0],
            "canonical": [0.5, 0.5, 0.0],
            "matches_canonical": True,
        },
    ],
}


@dataclass(frozen=True)
class BuiltSite:
    root: Path  # the built site
    log: str  # everything mkdocs printed
    seconds: float

    def html(self, page: str) -> str:
        """The HTML of ``page`` (``"terms/softmax/"``, ``""`` for the home page)."""
        return (self.root / page / "index.html").read_text(encoding="utf-8")


def build_site(out: Path, reports: Path) -> BuiltSite:
    import time

    env = {**os.environ, "DLTERMS_REPORTS": str(reports), "NO_MKDOCS_2_WARNING": "1"}
    env.pop("DLTERMS_SITE_URL", None)  # the site as built with no address set (citations name no URL)
    cmd = [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(REPO / "mkdocs.yml"), "-d", str(out)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - t0
    log = proc.stdout + proc.stderr
    if proc.returncode != 0:
        pytest.fail(f"mkdocs build --strict failed (exit {proc.returncode}):\n{log[-4000:]}")
    return BuiltSite(out, log, seconds)


@pytest.fixture(scope="session")
def fake_reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the fake report only."""
    reports = tmp_path_factory.mktemp("reports")
    (reports / "fakeframe.json").write_text(json.dumps(FAKE_REPORT), encoding="utf-8")
    return reports


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory, fake_reports: Path) -> BuiltSite:
    """The site, built once per test session with the fake report."""
    return build_site(tmp_path_factory.mktemp("site") / "site", fake_reports)


# --- Chromium -------------------------------------------------------------------------------

CHROMIUM = os.environ.get("DLTERMS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run"]  # fmt: skip


def need_chromium() -> None:
    """Skip the calling test when Playwright or Chromium is missing, naming which."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:  # pragma: no cover - depends on the environment
        pytest.skip("playwright is not installed (pip install playwright)")
    if not Path(CHROMIUM).is_file():  # pragma: no cover
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set DLTERMS_CHROMIUM)")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve(root: Path) -> Iterator[str]:
    """Serve ``root`` on 127.0.0.1 in a thread; yield its base URL."""
    handler = functools.partial(_Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    thread.join()


def launch() -> Iterator[Browser]:
    """A headless Chromium (the system one), closed afterwards."""
    need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Visit:
    """A browser context that refuses, and records, every request to a host other than 127.0.0.1."""

    def __init__(
        self, browser: Browser, base_url: str, width: int = 1280, height: int = 900, color_scheme: str = "light"
    ) -> None:
        self.base_url = base_url
        self.outside: list[str] = []
        self.context = browser.new_context(
            viewport={"width": width, "height": height}, service_workers="block", color_scheme=color_scheme
        )
        self.context.route("**/*", self._route)
        self.page: Page = self.context.new_page()

    def _route(self, route: Any) -> None:
        url = route.request.url
        if urlparse(url).hostname == "127.0.0.1" or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def goto(self, path: str) -> Page:
        self.page.goto(self.base_url + path)
        self.page.wait_for_load_state("networkidle")
        return self.page

    def search(self, query: str) -> list[str]:
        """Type ``query`` into Material's search box; the result links, best first (paths only)."""
        page = self.page
        box = page.locator("input.md-search__input")
        box.click()
        box.fill("")
        page.wait_for_function("document.querySelector('.md-search-result__meta').textContent.trim() !== ''")
        box.press_sequentially(query)
        box.press("End")  # typed CJK text arrives without key events; Material searches on keyup
        links = page.locator("li.md-search-result__item > a.md-search-result__link")
        links.first.wait_for(timeout=10_000)
        page.wait_for_timeout(100)  # let the last keystroke's results replace the earlier ones
        return [urlparse(h).path for h in links.evaluate_all("els => els.map(e => e.href)")]


@pytest.fixture(scope="session")
def base_url(site: BuiltSite) -> Iterator[str]:
    """The built site served on 127.0.0.1 by http.server, in a thread."""
    yield from serve(site.root)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Chromium; skips the test when Playwright or Chromium is missing."""
    yield from launch()


@pytest.fixture
def visit(browser: Browser, base_url: str) -> Iterator[Visit]:
    """A fresh 1280 × 900 browser context that records requests to other hosts."""
    v = Visit(browser, base_url)
    yield v
    v.context.close()


@pytest.fixture
def visit_at(browser: Browser, base_url: str) -> Iterator[Callable[..., Visit]]:
    """Make browser contexts of a given viewport width (height, colour scheme); all closed after the test."""
    made: list[Visit] = []

    def make(width: int, height: int = 844, color_scheme: str = "light") -> Visit:
        made.append(Visit(browser, base_url, width, height, color_scheme))
        return made[-1]

    yield make
    for v in made:
        v.context.close()


@pytest.fixture
def glossary_with(tmp_path: Path) -> Callable[[str], Path]:
    """A function writing a glossary whose only entry is sigmoid.toml (no pictures, no related terms) followed by
    a TOML ``table``; it returns the glossary's folder (for ``load_terms.__wrapped__``)."""
    from dlterms.glossary import GLOSSARY_DIR

    def write(table: str) -> Path:
        good = (GLOSSARY_DIR / "terms" / "sigmoid.toml").read_text(encoding="utf-8")
        bare = re.sub(r"related = \[[^\]]*\]", "related = []", good.split("[[picture]]")[0]).rstrip()
        (tmp_path / "terms").mkdir()
        shutil.copy(GLOSSARY_DIR / "sections.toml", tmp_path / "sections.toml")
        (tmp_path / "terms" / "sigmoid.toml").write_text(bare + "\n\n" + table, encoding="utf-8")
        return tmp_path

    return write
