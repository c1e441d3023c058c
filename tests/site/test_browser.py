"""The built site in headless Chromium: search in both languages, math, plots, tabs, nothing from outside.

Needs Playwright and a system Chromium (see tests/site/conftest.py); without either, these tests
are skipped and say which one is missing. A screenshot of a term page is saved under ``artifacts/`` (git-ignored).
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from dlterms.glossary import load_terms

if TYPE_CHECKING:
    from conftest import Visit

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts"
TERMS = load_terms()


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


def test_every_name_finds_its_page_first(visit: Visit) -> None:
    """Every English and Chinese name, alias, variant and seed wording has its term's page first.

    Queries go to the search worker that the page's config names (the names layer around
    Material's worker, docs/javascripts/search-worker.js) with the site's index. A name that two
    terms share may land on either of them.
    """
    page = visit.goto("")
    owners: dict[str, set[str]] = {}
    for t in TERMS.values():
        for word in t.search_words():
            owners.setdefault(word, set()).add(t.id)
    script = """async (queries) => {
        const config = JSON.parse(document.getElementById('__config').textContent);
        const index = await (await fetch('search/search_index.json')).json();
        const worker = new Worker(config.search);
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
    got = page.evaluate(script, sorted(owners))
    ranked = {w: [loc.split("#")[0].rstrip("/").split("/")[-1] for loc in got[w]] for w in owners}
    wrong = {w: ranked[w][:3] for w, ids in owners.items() if not ranked[w] or ranked[w][0] not in ids}
    assert not wrong, wrong


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
