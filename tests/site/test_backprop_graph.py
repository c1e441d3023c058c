"""Backpropagation's picture is the computational graph traced from the reference, bilingual, its boxes links."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable

import pytest
from dlterms.glossary import load_terms

from dlterms import reference
from dlterms.site.plots import graph

from .conftest import BuiltSite, Visit

TERMS = load_terms()
SVG = "{http://www.w3.org/2000/svg}"


def boxes(data: bytes) -> list[ET.Element]:
    """The graph's boxes: the <a> (linked) and <g> children of the root that hold a <rect>."""
    root = ET.fromstring(data)
    return [el for el in root if el.tag in (f"{SVG}a", f"{SVG}g") and el.find(f"{SVG}rect") is not None]


def test_the_graph_is_the_calls_of_forward_pass_and_backward_pass() -> None:
    """Hand-read from reference/backprop.py: forward_pass calls linear, relu, linear, mse_loss; backward_pass
    their VJPs in reverse; the SVG shows those names as code, each forward call beside its VJP."""
    forward, backward = graph.traced_passes()
    assert forward == ["linear", "relu", "linear", "mse_loss"]
    assert backward == ["mse_loss_vjp", "linear_vjp", "relu_vjp", "linear_vjp"]
    code = [t.text for t in ET.fromstring(graph.draw_backprop_graph(TERMS)).iter(f"{SVG}tspan") if t.get("font-weight")]
    assert code[:-2] == ["linear", "linear_vjp", "relu", "relu_vjp", "linear", "linear_vjp", "mse_loss", "mse_loss_vjp"]
    assert code[-2:] == ["reference.forward_pass", "reference.backward_pass"]


def test_a_backward_pass_that_is_not_the_reverse_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A broken backward_pass that skips the activation's VJP is traced as such, and the graph refuses it."""
    real_vjp = reference.linear_vjp

    def broken(forward: object, y: object, weights: list, biases: list, activation: str = "relu") -> None:
        g = reference.mse_loss_vjp(forward.output, y, 1.0)[0]  # type: ignore[attr-defined]
        for layer in reversed(range(len(weights))):
            g = real_vjp(forward.inputs[layer], weights[layer], biases[layer], g)[0]  # type: ignore[attr-defined]

    monkeypatch.setattr(reference, "backward_pass", broken)
    forward, backward = graph.traced_passes()
    assert backward == ["mse_loss_vjp", "linear_vjp", "linear_vjp"]
    with pytest.raises(ValueError, match=r"backward_pass called .*expected the VJPs of the forward calls"):
        graph.layout(forward, backward, TERMS)


def test_boxes_link_to_their_terms_in_both_languages() -> None:
    """Every linked box points at an existing term page; the linked terms are the hand-checked seven; every
    box that names a term says it in English and Chinese (lang="zh-Hans")."""
    linked = {a.get("href") for a in boxes(graph.draw_backprop_graph(TERMS)) if a.tag == f"{SVG}a"}
    assert linked == {
        f"../{t}/" for t in ("dense-layer", "relu", "mean-squared-error", "weight", "bias", "cost-function", "gradient")
    }
    for box in boxes(graph.draw_backprop_graph(TERMS)):
        if box.tag == f"{SVG}a" and box.find(f"{SVG}title") is not None:
            langs = {t.get("lang") for t in box.iter(f"{SVG}tspan")}
            assert "zh-Hans" in langs, ET.tostring(box, encoding="unicode")[:200]


def test_term_of_prefers_the_term_of_the_function_and_its_vjp() -> None:
    """linear → dense layer (names linear and linear_vjp), not weight or bias (linear only); relu_vjp → ReLU."""
    assert graph.term_of("linear", TERMS).id == "dense-layer"  # type: ignore[union-attr]
    assert graph.term_of("relu_vjp", TERMS).id == "relu"  # type: ignore[union-attr]
    assert graph.term_of("no_such_function", TERMS) is None


def test_the_graph_is_byte_stable() -> None:
    """Two draws give the same bytes (no date, no random id)."""
    assert graph.draw_backprop_graph(TERMS) == graph.draw_backprop_graph(TERMS)


def test_backpropagation_page_shows_the_graph_with_working_links(
    site: BuiltSite, visit_at: Callable[..., Visit]
) -> None:
    """On the built page (390 px), the graph is inline and its relu_vjp box opens the ReLU term page."""
    if "graph-backprop.svg" not in site.html("terms/backpropagation/"):
        pytest.skip("backpropagation.toml does not declare [[picture]] kind = 'computational-graph' yet")
    if "plot-links.js" not in site.html("terms/backpropagation/"):
        pytest.skip("mkdocs.yml does not list javascripts/plot-links.js yet")
    v = visit_at(390)
    page = v.goto("terms/backpropagation/")
    page.wait_for_selector(".dl-plot svg.dl-inline-svg a")
    page.locator(".dl-plot svg.dl-inline-svg a", has_text="relu_vjp").click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/terms/relu/")
    assert not v.outside
