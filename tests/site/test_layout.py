"""Layout in Chromium at 1280 and 390 px: formulas and tables fit, or scroll sideways with a visible cue.

A display formula or a table that is wider than its column must sit in a box that scrolls
sideways (``overflow-x: auto`` or ``scroll``) and that shows a cue: docs/javascripts/scroll-cue.js
marks the box with ``data-dl-more`` and the stylesheet fades the hidden edge (a CSS mask). One
that overflows anywhere else (cut off, or pushing the page sideways) is a failure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from dlterms.glossary import load_terms

if TYPE_CHECKING:
    from conftest import Visit

TERMS = load_terms()
WIDTHS = [1280, 390]
PAGES = [f"terms/{t}/" for t in TERMS] + ["conventions/", "reference-accuracy/", "api/reference/"]

# Runs in the page: every visible display formula and table that overflows without a cue.
OVERFLOWS = """() => {
    const content = document.querySelector('.md-content').getBoundingClientRect();
    const bad = [];
    const scroller = (el) => {
        for (let a = el.parentElement; a && !a.classList.contains('md-content'); a = a.parentElement)
            if (['auto', 'scroll'].includes(getComputedStyle(a).overflowX)) return a;
        return null;
    };
    const name = (el) => el.tagName.toLowerCase() + ' "' + el.textContent.trim().slice(0, 40) + '"';
    for (const el of document.querySelectorAll('.md-content math[display="block"], .md-content table')) {
        const box = el.getBoundingClientRect();
        if (box.width === 0) continue;  // in a closed tab or <details>
        const box_ = scroller(el);
        if (!box_) {
            if (box.right > content.right + 1 || el.scrollWidth > el.clientWidth + 1)
                bad.push(name(el) + ': overflows with no sideways scroll');
            continue;
        }
        if (box_.getBoundingClientRect().right > window.innerWidth + 1)
            bad.push(name(el) + ': its scroll box is wider than the window');
        if (box_.scrollWidth > box_.clientWidth + 1) {
            const mask = getComputedStyle(box_).maskImage || getComputedStyle(box_).webkitMaskImage;
            if (!box_.getAttribute('data-dl-more') || !mask || mask === 'none')
                bad.push(name(el) + ': scrolls with no visible cue');
        }
    }
    if (document.documentElement.scrollWidth > window.innerWidth + 1)
        bad.push('the page scrolls sideways: ' + document.documentElement.scrollWidth + ' px');
    return bad;
}"""


def overflows(visit: Visit, path: str) -> list[str]:
    page = visit.goto(path)
    page.wait_for_timeout(50)  # the cue script's ResizeObserver has run
    return page.evaluate(OVERFLOWS)


@pytest.mark.parametrize("width", WIDTHS, ids=[f"{w}px" for w in WIDTHS])
def test_no_formula_or_table_overflows_without_a_cue(visit_at: Callable[..., Visit], width: int) -> None:
    """On every term page and the pages with wide tables, nothing overflows without a scroll cue."""
    v = visit_at(width)
    bad = {path: found for path in PAGES if (found := overflows(v, path))}
    assert not bad, bad
    assert not v.outside


def test_a_wide_formula_shows_the_cue_at_390_px(visit_at: Callable[..., Visit]) -> None:
    """Cross-entropy's formula is wider than a phone: its box scrolls and is marked as having more to the right."""
    page = visit_at(390).goto("terms/cross-entropy/")
    page.wait_for_timeout(50)
    box = page.locator(".dlterms-math").first
    assert box.evaluate("el => el.scrollWidth > el.clientWidth")
    assert box.get_attribute("data-dl-more") == "right"
    box.evaluate("el => { el.scrollLeft = el.scrollWidth; el.dispatchEvent(new Event('scroll')); }")
    assert box.get_attribute("data-dl-more") == "left"


def test_the_check_catches_a_formula_that_overflows_without_a_scroll_box(visit_at: Callable[..., Visit]) -> None:
    """With the formulas' sideways scroll switched off, the overflow check reports cross-entropy at 390 px."""
    page = visit_at(390).goto("terms/cross-entropy/")
    page.add_style_tag(content=".dlterms-math { overflow-x: visible !important; }")
    assert any("overflows with no sideways scroll" in b for b in page.evaluate(OVERFLOWS))
    page.add_style_tag(content=".dlterms-math { overflow-x: auto !important; mask-image: none !important; }")
    page.evaluate("() => document.querySelectorAll('[data-dl-more]').forEach(e => e.removeAttribute('data-dl-more'))")
    assert any("no visible cue" in b for b in page.evaluate(OVERFLOWS))


def test_log_is_spaced_and_boldsymbol_is_bold(visit: Visit) -> None:
    """Cross-entropy's "y log p" has space around "log"; backpropagation's δ is a bold letter; the TeX is kept."""
    page = visit.goto("terms/cross-entropy/")
    gaps = page.evaluate("""() => {
        const log = [...document.querySelectorAll('.dlterms-math mi')].find(m => m.textContent === 'log'
            && m.previousElementSibling && m.previousElementSibling.tagName === 'mspace');
        const before = log.previousElementSibling.previousElementSibling.getBoundingClientRect();
        const after = log.nextElementSibling.nextElementSibling.getBoundingClientRect();
        const box = log.getBoundingClientRect();
        return [box.left - before.right, after.left - box.right];
    }""")
    assert min(gaps) >= 2, gaps  # at least 2 CSS px of space on each side of "log"
    tex = page.locator('.dlterms-math annotation[encoding="application/x-tex"]').first.text_content()
    assert tex and "\\log" in tex
    page = visit.goto("terms/backpropagation/")
    assert "\U0001d739" in page.locator(".dlterms-math").first.text_content()  # 𝜹, MATHEMATICAL BOLD ITALIC SMALL DELTA


# Runs in the page: the WCAG contrast ratio of every conformance verdict against what is behind it.
CONTRASTS = """() => {
    const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
    const lin = (v) => (v /= 255) <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    const lum = ([r, g, b]) => 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
    const behind = (el) => {
        for (let e = el; e; e = e.parentElement) {
            const c = rgb(getComputedStyle(e).backgroundColor);
            if (c.length === 3 || c[3] > 0) return c.slice(0, 3);
        }
        return [255, 255, 255];
    };
    return [...document.querySelectorAll('.dl-status')].filter(el => el.getBoundingClientRect().width > 0).map(el => {
        const [a, b] = [lum(rgb(getComputedStyle(el).color).slice(0, 3)), lum(behind(el))];
        return [el.className, el.textContent.trim(), (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)];
    });
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_verdicts_have_a_contrast_of_4_5_to_1(visit_at: Callable[..., Visit], scheme: str) -> None:
    """Every conformance verdict on the softmax page (pass, fail, unsupported, differs) reads at ≥ 4.5:1."""
    page = visit_at(1280, 900, scheme).goto("terms/softmax/")
    found = page.evaluate(CONTRASTS)
    kinds = {cls for cls, _, _ in found}
    assert {"dl-status dl-pass", "dl-status dl-fail"} <= kinds, kinds
    low = [(cls, text, round(ratio, 2)) for cls, text, ratio in found if ratio < 4.5]
    assert not low, low


def test_on_a_phone_the_definition_is_in_the_first_screen(visit_at: Callable[..., Visit]) -> None:
    """At 390 × 844 px the English definition of every term starts within the first screen."""
    v = visit_at(390, 844)
    late = {}
    for term_id, term in TERMS.items():
        page = v.goto(f"terms/{term_id}/")
        start = " ".join(term.en.definition.split())[:20]
        top = page.get_by_text(start).first.evaluate("el => el.getBoundingClientRect().top")
        if top > 844:
            late[term_id] = top
    assert not late, late


def test_on_a_phone_guarantee_statements_are_readable(visit_at: Callable[..., Visit]) -> None:
    """At 390 px each statement of softmax's guarantees is at least 250 px wide (not one or two words a line)."""
    page = visit_at(390).goto("terms/softmax/")
    cells = page.locator(".dl-guarantees td:nth-child(2)")
    widths = cells.evaluate_all("tds => tds.map(td => td.getBoundingClientRect().width)")
    assert widths and min(widths) >= 250, widths
