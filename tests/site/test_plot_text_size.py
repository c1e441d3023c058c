"""Every text of every plot on the term pages renders at least 10 CSS px, on a phone (390 px) and at 1280 px."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from dlterms.glossary import load_terms

from .conftest import BuiltSite, Visit

MIN_PX = 10.0
TERMS = load_terms()

# In the page: each plot's SVG as rendered. An <img> is measured through a copy of its SVG laid out at
# the image's rendered size (the same viewBox scaling); an inline SVG as it is. A text's size is its
# computed font size times the scale of its screen transformation matrix.
MEASURE = """async () => {
  const out = [];
  for (const el of document.querySelectorAll(".dl-plot img, .dl-plot svg.dl-inline-svg")) {
    let svg = el, holder = null;
    if (el.tagName === "IMG") {
      el.loading = "eager";
      el.scrollIntoView();
      await el.decode();
      const rect = el.getBoundingClientRect();
      const doc = new DOMParser().parseFromString(await (await fetch(el.src)).text(), "image/svg+xml");
      svg = document.importNode(doc.documentElement, true);
      svg.style.width = rect.width + "px";
      svg.style.height = rect.height + "px";
      holder = document.createElement("div");
      holder.style.cssText = "position:absolute;left:0;top:0;visibility:hidden";
      holder.appendChild(svg);
      document.body.appendChild(holder);
    }
    const name = el.tagName === "IMG" ? el.getAttribute("src") : "inline svg";
    for (const t of svg.querySelectorAll("text")) {
      if (!t.textContent.trim()) continue;
      const m = t.getScreenCTM();
      const px = parseFloat(getComputedStyle(t).fontSize) * Math.hypot(m.a, m.b);
      out.push([name, t.textContent.trim().slice(0, 40), px]);
    }
    if (holder) holder.remove();
  }
  return out;
}"""


def measure(v: Visit, path: str) -> list[tuple[str, str, float]]:
    """(svg, text, rendered px) of every text of every plot on ``path``."""
    page = v.goto(path)
    return [tuple(row) for row in page.evaluate(MEASURE)]  # type: ignore[misc]


@pytest.mark.parametrize("width", [390, 1280])
def test_plot_text_is_at_least_10_css_px(site: BuiltSite, visit_at: Callable[..., Visit], width: int) -> None:
    """At this viewport width, no text of any plot on the term pages renders below 10 CSS px (each SVG
    measured on the first term page that shows it: every term page has the same column)."""
    v = visit_at(width)
    small: list[tuple[str, str, str, float]] = []
    measured: set[str] = set()
    for term_id in TERMS:
        html = site.html(f"terms/{term_id}/")
        if all(src in measured for src in re.findall(r'<img[^>]* src="([^"]*\.svg)"', html)):
            continue
        for svg, text, px in measure(v, f"terms/{term_id}/"):
            measured.add(svg)
            if px < MIN_PX:
                small.append((term_id, svg, text, round(px, 2)))
    assert len(measured) >= 20, f"only {len(measured)} plots measured"
    assert not small, f"{len(small)} texts below {MIN_PX} px, e.g. {small[:8]}"


def test_a_small_text_is_caught(visit_at: Callable[..., Visit]) -> None:
    """A plot served with one 6-px legend text added (the size the issue measured) is reported below 10 px."""
    v = visit_at(390)

    def add_small_text(route: Any) -> None:
        response = route.fetch()
        body = response.text().replace("</svg>", '<text x="10" y="20" style="font-size: 6px">legend</text></svg>')
        route.fulfill(response=response, body=body)

    v.context.route("**/img/curves-sigmoid.svg", add_small_text)
    rows = measure(v, "terms/sigmoid/")
    small = [(svg, text) for svg, text, px in rows if px < MIN_PX]
    assert small == [("../img/curves-sigmoid.svg", "legend")]
