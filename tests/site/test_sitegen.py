"""The site generator's helpers, without a build: TeX to MathML, escaping, reports, search names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from dlterms.glossary import load_terms

from dlterms.citing.bibliography import read_citations
from dlterms.site import reports, searchnames
from dlterms.site.mathml import tex_to_mathml
from dlterms.site.text import md_text


def test_every_cited_paper_is_in_the_bib() -> None:
    """Each paper key named by a glossary entry is an entry of glossary/citations.bib (the page lists it)."""
    papers = read_citations()
    missing = {t.id: k for t in load_terms().values() for k in t.papers if k not in papers}
    assert not missing, missing


@pytest.mark.parametrize(
    ("tex", "expected"),
    [
        (r"\sigma^{\prime}(x)", "<mi>σ</mi><mo>′</mo>"),
        (r"f'(x)", "<mi>f</mi><mo>′</mo>"),
        (r"\operatorname{softmax}(x)", "<mi>softmax</mi><mo stretchy"),
        (r"\frac{1}{2}", "<mfrac>"),
        (
            r"y \log p",
            '<mi>y</mi><mspace width="0.1667em"></mspace><mi>log</mi><mspace width="0.1667em"></mspace><mi>p</mi>',
        ),
        (r"\log(x)", '<mi>log</mi><mo stretchy="false">('),
        (r"\max_j x_j", '</msub><mspace width="0.1667em"></mspace><msub><mi>x</mi>'),
        (r"\boldsymbol{\delta} \mathbf{h}", "<mi>\U0001d739</mi></mrow><mi>\U0001d421</mi>"),
        (r"a_i * b", '<annotation encoding="application/x-tex">a&#95;i &#42; b</annotation>'),
    ],
)
def test_mathml(tex: str, expected: str) -> None:
    """TeX becomes MathML: primes after their base, operator names as spaced <mi>, bold letters, the TeX kept."""
    out = tex_to_mathml(tex, display=True)
    assert out.startswith("<math") and 'display="block"' in out and "\n" not in out
    assert expected in out


def test_md_text_shows_the_text_verbatim() -> None:
    """Markdown characters in glossary text are escaped, HTML is escaped, wrapping is undone."""
    assert md_text("a *b* <i>\n  c_d") == r"a \*b\* &lt;i&gt; c\_d"
    assert md_text("# not a heading") == r"\# not a heading"
    assert md_text("one\n\ntwo") == "one\n\ntwo"


def _column(rows: dict[tuple[str, str], str]) -> reports.Column:
    col = reports.Column("fw", "1.0")
    col.rows.update(rows)
    return col


def test_matrix_cell_is_the_worst_dtype() -> None:
    """A failure in one dtype makes the cell fail; unsupported counts only when nothing else ran."""
    col = _column({("a.x", "float32"): "pass", ("a.x", "float64"): "fail", ("b.y", "float32"): "unsupported"})
    assert col.cell("a.x") == ("fail", "float32: pass; float64: fail")
    assert col.cell("b.y")[0] == "unsupported"
    assert col.cell("c.z")[0] is None


def test_reports_folder_without_reports_says_so(tmp_path: Path) -> None:
    """No report: the matrix and the conventions page say that nothing was given to the build."""
    given = reports.load_reports(tmp_path)
    assert not given.given
    assert "No conformance report was given to this build" in reports.matrix_markdown(["a.x"], given)
    assert "No report with conventions was given to this build" in reports.conventions_markdown(given)


def test_reports_skip_files_that_are_not_reports(tmp_path: Path) -> None:
    """A JSON file of another schema is skipped, not read as a report."""
    (tmp_path / "other.json").write_text('{"schema": "something/1"}')
    assert not reports.load_reports(tmp_path).given


def test_search_names_weight_short_names_and_add_typing_prefix() -> None:
    """A one-word name outweighs a word of a longer name; a Chinese word adds itself minus its last character."""
    term = load_terms()["gradient-descent"]
    separator = re.compile(r"[\s\-_/]+")
    names = searchnames.search_names(term, separator, lambda text: text).split()
    assert names.count("梯度下降") > names.count("descent") >= 1
    assert "梯度下" in names


def test_term_names_rank_the_whole_name_first_and_its_parts_as_other_names() -> None:
    """A term's own names have rank 0; the parts of "A (B)" and "A / B" names and the aliases rank 1."""
    terms = load_terms()
    rnn = dict(searchnames.term_names(terms["recurrent-neural-network"]))
    assert rnn["recurrent neural network (RNN)"] == rnn["循环神经网络"] == searchnames.NAME
    assert rnn["RNN"] == rnn["recurrent neural network"] == rnn["递归神经网络"] == searchnames.OTHER_NAME
    passes = dict(searchnames.term_names(terms["forward-pass"]))
    assert passes["反向传播"] == searchnames.OTHER_NAME  # backpropagation's name, a part of this one's
    assert dict(searchnames.term_names(terms["backpropagation"]))["反向传播"] == searchnames.NAME
