"""The site's search, in Chromium, on the queries of tests/site/search_queries.toml: each one's first result.

The queries go to the search worker that the page's config names (the names layer,
docs/javascripts/search-worker.js, around Material's worker), with the site's own index, exactly
as the search box sends them. The time each query takes in the worker is saved to
``artifacts/search-timings.json`` (the goal, under 100 ms a query once the index has loaded, is
measured by benchmarks/site_build.py; this test asserts what is found).
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from dlterms.glossary import load_terms

if TYPE_CHECKING:
    from conftest import BuiltSite, Visit

HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE.parents[1] / "artifacts"
QUERIES: dict[str, dict[str, str]] = tomllib.loads((HERE / "search_queries.toml").read_text(encoding="utf-8"))

# Runs in the page: start the page's own search worker, load the index, time every query.
ASK_WORKER = """async ([queries, material]) => {
    const config = JSON.parse(document.getElementById('__config').textContent);
    if (material) config.search = new URL(config.search).searchParams.get('material');
    const t0 = performance.now();
    const index = await (await fetch(new URL('search/search_index.json', new URL(config.base, location)))).json();
    const worker = new Worker(config.search);
    const call = (msg) => new Promise(done => { worker.onmessage = e => done(e.data); worker.postMessage(msg); });
    await call({type: 0, data: {config: index.config, docs: index.docs, options: {suggest: false}}});
    const load = performance.now() - t0;
    const out = {};
    for (const q of queries) {
        const t = performance.now();
        const r = await call({type: 2, data: q});
        out[q] = {ms: performance.now() - t, first: r.data.items.slice(0, 5).map(group => group[0].location)};
    }
    worker.terminate();
    return {worker: config.search, load_ms: load, results: out};
}"""


def ask(visit: Visit, queries: list[str], *, material_only: bool = False) -> dict[str, Any]:
    """Every query's first five result pages and time, from the page's search worker (or Material's alone)."""
    visit.goto("")
    return visit.page.evaluate(ASK_WORKER, [queries, material_only])


def wrong_answers(got: dict[str, Any], expected: dict[str, str]) -> dict[str, list[str]]:
    """The queries whose first result is not the expected page, with the pages they got."""
    return {
        q: [page_of(loc) for loc in got["results"][q]["first"]]
        for q, t in expected.items()
        if not got["results"][q]["first"] or page_of(got["results"][q]["first"][0]) != t
    }


def page_of(location: str) -> str:
    """``terms/softmax/#formula`` → ``softmax``; another page → its path."""
    path = location.split("#")[0].rstrip("/")
    return path.removeprefix("terms/") if path.startswith("terms/") else path


def test_query_file_has_100_queries_of_every_class_naming_real_terms() -> None:
    """The test set has at least 100 queries, in both languages, each expecting a term the glossary has."""
    terms = load_terms()
    every = {q: t for table in QUERIES.values() for q, t in table.items()}
    assert len(every) >= 100, len(every)
    assert {"typos", "symbols", "framework_spellings", "prefixes", "chinese_names", "word_order_twins"} <= set(QUERIES)
    assert sum(not q.isascii() for q in every) >= 30
    assert not {t for t in every.values() if t not in terms}


def test_every_query_finds_its_page_first(visit: Visit) -> None:
    """Every query of search_queries.toml has its expected term page as the first result (100 %)."""
    every = {q: t for table in QUERIES.values() for q, t in table.items()}
    got = ask(visit, list(every))
    assert "search-worker.js" in got["worker"], got["worker"]  # the names layer is what the page uses
    ARTIFACTS.mkdir(exist_ok=True)
    timings = {q: round(r["ms"], 2) for q, r in got["results"].items()}
    (ARTIFACTS / "search-timings.json").write_text(
        json.dumps({"load_ms": got["load_ms"], "query_ms": timings}, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    wrong = wrong_answers(got, every)
    assert not wrong, f"{len(wrong)} of {len(every)} wrong (expected → got): " + "; ".join(
        f"{q!r}: {every[q]} → {w[:3]}" for q, w in wrong.items()
    )
    assert not visit.outside


def test_the_queries_need_the_names_layer(visit: Visit) -> None:
    """Material's worker alone (lunr) gets at least one query of each hard class wrong: the set can fail."""
    every = {q: t for table in QUERIES.values() for q, t in table.items()}
    wrong = wrong_answers(ask(visit, list(every), material_only=True), every)
    for kind in ("typos", "symbols", "framework_spellings"):
        assert set(QUERIES[kind]) & set(wrong), kind


def test_the_api_page_is_not_in_the_top_three_for_a_function_name(visit: Visit) -> None:
    """For "sigmoid" and "softmax", the term's page is first and the API reference is not in the first three."""
    got = ask(visit, ["sigmoid", "softmax"])
    for q, r in got["results"].items():
        assert page_of(r["first"][0]) == q, (q, r["first"])
        assert not [loc for loc in r["first"][:3] if loc.startswith("api/")], (q, r["first"])


def test_a_term_result_starts_with_the_definition(site: BuiltSite) -> None:
    """The search text of a term page starts with its definition, not with the names table."""
    index = json.loads((site.root / "search" / "search_index.json").read_text(encoding="utf-8"))
    doc = next(d for d in index["docs"] if d["location"] == "terms/softmax/")
    assert "The function that turns a vector" in doc["text"][:200], doc["text"][:200]
    assert "also called" not in doc["text"]


@pytest.mark.parametrize(("query", "term_id"), [("sigmod", "sigmoid"), ("σ", "sigmoid"), ("梯度", "gradient")])
def test_search_box_lands_on_the_term_first(visit: Visit, query: str, term_id: str) -> None:
    """Typed into the search box, a typo, a symbol and a Chinese name show the term's page first."""
    visit.goto("")
    results = visit.search(query)
    assert results and results[0].endswith(f"/terms/{term_id}/"), results[:3]
    assert not visit.outside
