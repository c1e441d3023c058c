"""Every symbol of a formula is declared once, with its meaning in both languages and its shape."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest
from dlterms.glossary import GlossaryError, load_terms

from dlterms.site.symbols import CONSTANTS, letters, symbols_markdown

TERMS = load_terms()
WITH_FORMULA = [t.id for t in TERMS.values() if t.formula]


def _undeclared(term_id: str, formula: str | None = None) -> set[str]:
    """Letters of the term's formula and derivative that no declared symbol covers."""
    term = TERMS[term_id]
    tex = (formula if formula is not None else term.formula) + " " + term.derivative
    declared = set().union(*(letters(s.tex) for s in term.symbols))
    return letters(tex) - declared - CONSTANTS


@pytest.mark.parametrize("term_id", WITH_FORMULA)
def test_every_term_with_a_formula_declares_its_symbols(term_id: str) -> None:
    """A term with [math] declares [[math.symbol]] tables, each with a shape and both languages."""
    term = TERMS[term_id]
    assert term.symbols, f"{term_id}: a formula without [[math.symbol]]"
    for s in term.symbols:
        assert s.shape and s.en and s.zh, (term_id, s.tex)


@pytest.mark.parametrize("term_id", WITH_FORMULA)
def test_every_declared_symbol_occurs_in_the_formula(term_id: str) -> None:
    """Each declared symbol's TeX is written in the formula or the derivative (so the two cannot drift)."""
    term = TERMS[term_id]
    absent = [s.tex for s in term.symbols if s.tex not in term.formula and s.tex not in term.derivative]
    assert not absent, f"{term_id}: symbols not in the formula: {absent}"


@pytest.mark.parametrize("term_id", WITH_FORMULA)
def test_every_letter_of_the_formula_is_declared(term_id: str) -> None:
    """Every letter in main position (not an operator name, not a subscript) is some declared symbol's."""
    assert not _undeclared(term_id), f"{term_id}: undeclared symbols {sorted(_undeclared(term_id))}"


def test_a_new_letter_in_a_formula_is_caught() -> None:
    """Adding an undeclared symbol q to the sigmoid's formula makes the coverage check fail."""
    assert _undeclared("sigmoid", TERMS["sigmoid"].formula + " + q") == {"q"}


@pytest.mark.parametrize(
    ("tex", "found"),
    [
        (r"\operatorname{softmax}(x)_i = \frac{e^{x_i}}{\sum_{j} e^{x_j}}", {"x", "e"}),
        (r"h_t = \tanh(x_t W_{ih}^{\top} + b_{ih})", {"h", "x", "W", "b"}),
        (
            r"\boldsymbol{\delta}_l^\top \mathbf{h}_{l-1} \odot \varphi^{\prime}(\mathbf{z})",
            {r"\delta", "h", r"\varphi", "z"},
        ),
        (r"\text{iterations per epoch} = \left\lceil N / B \right\rceil", {"N", "B"}),
        (r"\begin{cases} 1 & x > 0 \\ a & x \le 0 \end{cases}", {"x", "a"}),
        (r"\ell_{\mathrm{BCE}}(p, y)", {r"\ell", "p", "y"}),
    ],
)
def test_letters_finds_symbols_but_not_operator_names_or_subscripts(tex: str, found: set[str]) -> None:
    """letters() returns the Latin letters and Greek commands in main position, by hand-read examples."""
    assert letters(tex) == found


def test_backpropagation_states_its_row_vector_convention_against_d2l() -> None:
    """δ, h and z are row vectors (1, n); the note says ∂L/∂W = δᵀh is d2l's δhᵀ transposed."""
    term = TERMS["backpropagation"]
    shapes = {s.tex: s.shape for s in term.symbols}
    assert shapes[r"\boldsymbol{\delta}_l"] == shapes[r"\mathbf{z}_l"] == "(1, nₗ)"
    assert shapes[r"\mathbf{h}_{l-1}"] == "(1, nₗ₋₁)"
    for words in ("d2l", "columns", "δ hᵀ", "δₗᵀ hₗ₋₁", "transpose"):
        assert words in term.notation_en, words
    for words in ("d2l", "列向量", "δ hᵀ", "δₗᵀ hₗ₋₁", "转置"):
        assert words in term.notation_zh, words


def test_the_rnn_derivative_explains_its_bar_notation() -> None:
    """The RNN's h̄, ȳ and W̄ are declared, and the note says a bar is a gradient of the loss."""
    term = TERMS["recurrent-neural-network"]
    declared = {s.tex for s in term.symbols}
    assert {r"\bar{h}_t", r"\bar{y}_{t-1}", r"\bar{W}_{hh}"} <= declared
    assert "∂L/∂hₜ" in term.notation_en and "∂L/∂hₜ" in term.notation_zh


def test_the_where_list_shows_each_symbol_with_meaning_and_shape() -> None:
    """The page's list has a row per symbol: MathML with its TeX, English, Chinese (lang=zh-Hans), shape."""
    term = TERMS["softmax"]
    block = symbols_markdown(term)
    rows = [line for line in block.splitlines() if line.startswith("| <math")]
    assert len(rows) == len(term.symbols)
    for row, s in zip(rows, term.symbols, strict=True):
        assert s.en in row and f'<span lang="zh-Hans">{s.zh}</span>' in row and s.shape in row
    assert "data-search-exclude" in block.splitlines()[0]


@pytest.mark.parametrize("term_id", WITH_FORMULA)
def test_every_row_of_the_where_list_has_three_cells(term_id: str) -> None:
    """No "|" of a symbol's MathML (|B_t|) or text splits its table row: four unescaped pipes per row."""
    rows = [line for line in symbols_markdown(TERMS[term_id]).splitlines() if line.startswith("| <math")]
    assert rows and all(len(re.findall(r"(?<!\\)\|", row)) == 4 for row in rows), term_id


def test_a_term_without_symbols_shows_no_list() -> None:
    """No declared symbol, no list (the empty string)."""
    assert symbols_markdown(dataclasses.replace(TERMS["softmax"], symbols=())) == ""


@pytest.mark.parametrize(
    ("table", "field"),
    [
        ("[[math.symbol]]\ntex = 'x'\nshape = 'scalar'\nen = 'input'\n", "math.symbol[0].zh"),
        ("[[math.symbol]]\ntex = 'x'\nshape = ''\nen = 'input'\nzh = '输入'\n", "math.symbol[0].shape"),
        ("[[math.symbol]]\ntex = 'x'\nshape = 's'\nen = 'a'\nzh = '输入'\nunit = 'm'\n", "math.symbol[0].unit"),
        (
            "[[math.symbol]]\ntex = 'x'\nshape = 's'\nen = 'a'\nzh = 'b'\n" * 2,
            "math.symbol",
        ),
    ],
)
def test_a_bad_symbol_table_is_refused_naming_the_field(glossary_with: Any, table: str, field: str) -> None:
    """The loader refuses a symbol without a shape or a language, with an unknown field, or declared twice."""
    with pytest.raises(GlossaryError, match=re.escape(field)) as info:
        load_terms.__wrapped__(glossary_with(table))
    assert "sigmoid.toml" in str(info.value)
