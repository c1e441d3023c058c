"""The built site in headless Chromium: search in both languages, math, plots, tabs, nothing from outside.

Needs Playwright from PyPI (``pip install playwright``) and a system Chromium (Debian:
``apt-get install chromium``); ``playwright install`` is not used. Set ``DLTERMS_CHROMIUM`` to use
another Chromium binary. Without either, these tests are skipped and say which one is missing.
A screenshot of a term page is saved under ``artifacts/`` (git-ignored).
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import statistics
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import pytest
from dlterms.glossary import load_terms

if TYPE_CHECKING:
    from conftest import BuiltSite

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts"
TERMS = load_terms()
CHROMIUM = os.environ.get("DLTERMS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run"]  # fmt: skip

try:
    from playwright.sync_api import Browser, Page, sync_playwright
except ImportError:  # pragma: no cover - depends on the environment
    pytest.skip("playwright is not installed (pip install playwright)", allow_module_level=True)
if not Path(CHROMIUM).is_file():  # pragma: no cover
    pytest.skip(
        f"no Chromium at {CHROMIUM} (apt-get install chromium, or set DLTERMS_CHROMIUM)", allow_module_level=True
    )


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def base_url(site: BuiltSite) -> Iterator[str]:
    """The built site served on 127.0.0.1 by http.server, in a thread."""
    handler = functools.partial(_Quiet, directory=str(site.root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    thread.join()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Visit:
    """A browser context that refuses, and records, every request to a host other than 127.0.0.1."""

    def __init__(self, browser: Browser, base_url: str) -> None:
        self.base_url = base_url
        self.outside: list[str] = []
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
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


@pytest.fixture
def visit(browser: Browser, base_url: str) -> Iterator[Visit]:
    v = Visit(browser, base_url)
    yield v
    v.context.close()


SEARCHES = [
    ("softmax", "softmax"),
    ("激活函数", "activation-function"),
    ("乙状结肠", "sigmoid"),
    ("香草 RNN", "rnn-one-to-one"),
    ("递归神经网络", "recurrent-neural-network"),
]


@pytest.mark.parametrize(("query", "term_id"), SEARCHES)
def test_search_lands_on_the_term_first(visit: Visit, query: str, term_id: str) -> None:
    """Searching a name or the seed's (mis)translation shows the term's page as the first result."""
    if term_id not in TERMS:
        pytest.skip(f"the glossary has no term {term_id!r} yet")
    visit.goto("")
    results = visit.search(query)
    assert results and results[0].endswith(f"/terms/{term_id}/"), results[:3]
    assert not visit.outside


def test_every_name_finds_its_page(visit: Visit, site: BuiltSite) -> None:
    """Every English and Chinese name, alias, variant and seed wording finds its term's page.

    Queries go to Material's search worker (the code behind the search box) with the site's index.
    Lunr matches words as prefixes and adds up matches without length normalisation, so a word
    that several names share cannot always rank its own page first ("many-to-one" has the words of
    "one-to-many"); hence: each word's page among the first five results, and at least 90 % first.
    Left out: one-character words ("b", "W") and symbols (σ, η, ∇), which lunr's trimmer drops.
    """
    page = visit.goto("")
    owners: dict[str, set[str]] = {}
    for t in TERMS.values():
        for word in t.search_words():
            if len(word) > 1 and re.search(r"[A-Za-z0-9\u3400-\u9fff]", word):
                owners.setdefault(word, set()).add(t.id)
    worker = next(site.root.glob("assets/javascripts/workers/search.*.min.js"))
    script = """async ([workerUrl, queries]) => {
        const index = await (await fetch('search/search_index.json')).json();
        const worker = new Worker(workerUrl);
        const call = (msg) => new Promise(done => { worker.onmessage = e => done(e.data); worker.postMessage(msg); });
        await call({type: 0, data: {config: index.config, docs: index.docs, options: {suggest: false}}});
        const out = {};
        for (const q of queries) {
            const r = await call({type: 2, data: q});
            out[q] = r.data.items.slice(0, 5).map(group => group[0].location);
        }
        worker.terminate();
        return out;
    }"""
    got = page.evaluate(script, [worker.relative_to(site.root).as_posix(), sorted(owners)])
    ranked = {w: [loc.rstrip("/").split("/")[-1] for loc in got[w]] for w in owners}
    missing = {w: ranked[w] for w, ids in owners.items() if not ids & set(ranked[w])}
    first = sum(bool(ranked[w]) and ranked[w][0] in ids for w, ids in owners.items())
    assert not missing, missing
    assert first >= 0.9 * len(owners), f"{first} of {len(owners)} first"


def test_search_result_within_200_ms(visit: Visit) -> None:
    """From the last keystroke to the right first result on screen: median of 3 searches at most 200 ms."""
    page = visit.goto("")
    box = page.locator("input.md-search__input")
    box.click()
    page.wait_for_function("document.querySelector('.md-search-result__meta').textContent.trim() !== ''")
    page.evaluate("""() => {
        window.__t = {key: 0, shown: 0, want: ''};
        document.addEventListener('keyup', () => { window.__t.key = performance.now(); window.__t.shown = 0; }, true);
        const list = document.querySelector('.md-search-result__list');
        new MutationObserver(() => {
            const a = list.querySelector('a.md-search-result__link');
            if (a && window.__t.want && a.href.includes(window.__t.want) && !window.__t.shown)
                window.__t.shown = performance.now();
        }).observe(list, {childList: true, subtree: true});
    }""")
    latencies = []
    for query, term_id in [("softmax", "softmax"), ("激活函数", "activation-function"), ("sigmoid", "sigmoid")]:
        box.fill("")
        page.evaluate(f"() => {{ window.__t.want = '/terms/{term_id}/'; window.__t.shown = 0; }}")
        box.press_sequentially(query, delay=40)
        if not query.isascii():
            box.press("End")  # CJK text is typed without key events: this is the last keystroke
        page.wait_for_function("window.__t.shown > 0", timeout=5_000)
        latencies.append(page.evaluate("window.__t.shown - window.__t.key"))
    assert statistics.median(latencies) <= 200, latencies


def test_formulas_render_as_math(visit: Visit) -> None:
    """The softmax formula is a <math> element with a size on screen; no raw TeX outside code."""
    page = visit.goto("terms/softmax/")
    box = page.locator(".dlterms-math math").first.bounding_box()
    assert box and box["width"] > 20 and box["height"] > 10
    visible = page.evaluate("""() => {
        const main = document.querySelector('.md-content').cloneNode(true);
        main.querySelectorAll('pre, code').forEach(e => e.remove());
        document.body.appendChild(main);
        const text = main.innerText;
        main.remove();
        return text;
    }""")
    assert "\\frac" not in visible and "\\sum" not in visible
    assert not visit.outside


def test_plot_loads(visit: Visit) -> None:
    """The sigmoid page's SVG plot loads (natural size > 0)."""
    page = visit.goto("terms/sigmoid/")
    img = page.locator(".dl-plot img").first
    img.scroll_into_view_if_needed()
    page.wait_for_function("(() => { const i = document.querySelector('.dl-plot img'); return i.complete; })()")
    assert img.evaluate("i => i.naturalWidth * i.naturalHeight") > 0
    assert not visit.outside


def test_language_tab_choice_holds_across_pages(visit: Visit) -> None:
    """Choosing 中文 on one term page shows the Chinese definition, and the next term page opens on 中文."""
    sigmoid, tanh = TERMS["sigmoid"], TERMS["tanh"]
    page = visit.goto("terms/sigmoid/")
    chinese = page.locator(".tabbed-set").first.locator("label", has_text="中文")
    chinese.click()
    snippet = sigmoid.zh.definition.strip()[:12]
    assert page.get_by_text(snippet).first.is_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "term-page-sigmoid-zh.png"), full_page=True)
    page = visit.goto("terms/tanh/")
    assert page.get_by_text(tanh.zh.definition.strip()[:12]).first.is_visible()
    assert not page.get_by_text(tanh.en.definition.strip()[:30]).first.is_visible()
    assert not visit.outside


def test_no_request_leaves_127_0_0_1(visit: Visit) -> None:
    """Pages of every kind, a search and the API reference load with no request to another host."""
    for path in ["", "terms/", "terms/index-zh/", "terms/convolution/", "api/reference/", "conventions/", "tags/"]:
        visit.goto(path)
    visit.search("softmax")
    assert not visit.outside, visit.outside


def test_screenshot_of_a_term_page(visit: Visit) -> None:
    """A full-page screenshot of the softmax page is saved as a test artifact."""
    page = visit.goto("terms/softmax/")
    for img in page.locator("img").all():
        img.scroll_into_view_if_needed()
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "term-page-softmax.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
