"""A Chinese query is highlighted whole on the page a search result opens (Material cut its last character)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlparse

import pytest

from .conftest import Visit

QUERIES = ["激活函数", "梯度下降", "反向传播", "卷积核", "损失函数"]


def first_result_highlight(v: Visit, query: str) -> tuple[str, list[str]]:
    """Search ``query``; the first result's ``?h=`` and the <mark> texts on the page it opens."""
    v.goto("")
    v.search(query)
    href = v.page.locator("li.md-search-result__item > a.md-search-result__link").first.get_attribute("href") or ""
    (h,) = parse_qs(urlparse(href).query)["h"]
    v.page.goto(href)  # absolute: Material builds it on the site's base URL
    v.page.wait_for_load_state("networkidle")
    v.page.wait_for_function("document.querySelector('article mark') !== null", timeout=10_000)
    marks = v.page.locator("article mark").evaluate_all("els => els.map(e => e.textContent)")
    return h, marks


@pytest.mark.parametrize("query", QUERIES)
def test_chinese_query_is_highlighted_whole(visit: Visit, query: str) -> None:
    """The first result's ?h= is the whole query and every <mark> on the opened page reads the whole query."""
    h, marks = first_result_highlight(visit, query)
    assert h == query
    assert marks and set(marks) == {query}, marks


def test_material_alone_cuts_the_last_character(visit_at: Callable[..., Visit]) -> None:
    """Without the names layer's repair (the worker served with it undone), 激活函数 highlights 激活函: the
    check above fails on the unrepaired worker."""
    v = visit_at(1280, 900)

    def undo_repair(route: object) -> None:
        response = route.fetch()  # type: ignore[attr-defined]
        body = response.text().replace("terms: wholeTerms(query, rest.terms)", "terms: rest.terms")
        assert "terms: rest.terms" in body, "the worker's repair moved; update this test"
        route.fulfill(response=response, body=body)  # type: ignore[attr-defined]

    v.context.unroute("**/*")
    v.context.route("**/javascripts/search-worker.js*", undo_repair)
    h, marks = first_result_highlight(v, "激活函数")
    assert h == "激活函"
    assert set(marks) == {"激活函"}
