"""What a built term page shows: the framework tabs and special values (op records), the seed's corrections."""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING

import pytest
from dlterms.glossary import load_terms

from dlterms import ops
from dlterms.frameworks import FRAMEWORKS
from dlterms.site.frameworks import framework_ops

if TYPE_CHECKING:
    from conftest import BuiltSite

TERMS = load_terms()


def test_framework_tabs_are_the_framework_list(site: BuiltSite) -> None:
    """The softmax page has one tab per dlterms.frameworks.FRAMEWORKS label, in that order, after the contract."""
    html = site.html("terms/softmax/")
    section = html.split('id="in-frameworks')[1]
    positions = [section.find(f">{fw.label}</label>") for fw in FRAMEWORKS]
    assert all(p >= 0 for p in positions) and positions == sorted(positions), positions
    assert "softmax(x, axis=-1) -&gt; y" in section


def test_framework_ops_of_a_concept_are_the_ops_it_is_built_on() -> None:
    """Hand-checked: stride names conv2d and both poolings; a gradient-descent variant reaches sgd_step."""
    assert framework_ops(TERMS["stride"]) == (["conv2d", "max_pool2d", "avg_pool2d"], True)
    assert framework_ops(TERMS["batch-gradient-descent"]) == (["sgd_step"], False)


def test_op_term_pages_show_every_special_value(site: BuiltSite) -> None:
    """Each op term's page lists the probe ID and the English statement of each of its ops' special values."""
    for term_id in TERMS:
        probes = [(op, sv) for op in ops.by_term(term_id) for sv in op.special_values]
        html = site.html(f"terms/{term_id}/")
        assert ("特殊值" in html) == bool(probes), term_id
        for op, sv in probes:
            assert f"{op.name}.{sv.name}" in html and sv.expect.replace(">", "&gt;") in html, (term_id, sv.name)


def test_special_values_show_each_reports_measured_value(site: BuiltSite) -> None:
    """The fake report's measured softmax values appear in a fakeframe column; the wrong one is marked."""
    section = site.html("terms/softmax/").split('id="special-values')[1].split("<h2")[0]
    assert "fakeframe 9.9.9" in section
    assert section.count("differs</span>") == 1 and "[nan, nan, nan]" in section
    assert "not in these reports" in section  # probes the report did not measure


CORRECTED = [t.id for t in TERMS.values() if t.seed and (t.seed.correction_en or t.seed.correction_zh)]


@pytest.mark.parametrize("term_id", CORRECTED)
def test_every_seed_correction_is_on_its_page(site: BuiltSite, term_id: str) -> None:
    """A term whose entry corrects the seed shows both corrections, whether or not the seed's name is wrong."""
    seed = TERMS[term_id].seed
    assert seed is not None
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", site.html(f"terms/{term_id}/"))).split())
    for correction in (seed.correction_en, seed.correction_zh):
        assert " ".join(correction.split())[:40] in text, correction[:40]
