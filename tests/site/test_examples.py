"""Worked examples: declared once in the entry, computed by the reference at build time, checked by hand."""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any

import pytest
from dlterms.glossary import Example, GlossaryError, load_terms

from dlterms.site import examples
from dlterms.site.examples import DIGITS, compute, example_markdown, format_value

TERMS = load_terms()


def test_every_function_term_declares_a_worked_example() -> None:
    """Each term of kind 'function' has an [example] table naming one of its reference functions."""
    missing = [t.id for t in TERMS.values() if t.kind == "function" and t.example is None]
    assert not missing, f"function terms without [example]: {missing}"
    for t in TERMS.values():
        if t.example is not None:
            assert t.example.function in t.reference, t.id


@pytest.mark.parametrize("term_id", [t.id for t in TERMS.values() if t.example is not None])
def test_every_example_runs_through_the_reference_and_prints(term_id: str) -> None:
    """The reference accepts every declared example, and its page block shows the inputs and the rounding."""
    term = TERMS[term_id]
    assert compute(term) is not None
    block = example_markdown(term)
    assert f"dlterms.reference.{term.example.function}" in block
    assert f"{DIGITS} significant digits" in block and f"{DIGITS} 位有效数字" in block
    for name in term.example.args:
        assert name in block, (term_id, name)


# Hand-computed values, with their arithmetic; the entry declares only the inputs.
E, S1 = math.e, 1 / (1 + math.e)  # S1 = σ(−1) = 1/(1 + e)
HAND: dict[str, object] = {
    # softmax([1, 2, 3])_i = e^i / (e + e² + e³) = e^(i−1) / (1 + e + e²)
    "softmax": [1 / (1 + E + E**2), E / (1 + E + E**2), E**2 / (1 + E + E**2)],
    # z = 0.5·1 + (−1)·2 + 0.5 = −1, σ(−1) = 1/(1 + e)
    "neuron": S1,
    # d2l: [[0·0+1·1+3·2+4·3, 1·0+2·1+4·2+5·3], [3·0+4·1+6·2+7·3, 4·0+5·1+7·2+8·3]]
    "convolution": [[[[19.0, 25.0], [37.0, 43.0]]]],
    # max of each 2×2 window of [[0,1,2],[3,4,5],[6,7,8]] at stride 1
    "pooling": [[[[4.0, 5.0], [7.0, 8.0]]]],
    # ((2.5−3)² + (0+0.5)² + (2−2)²) / 3 = 0.5 / 3
    "mean-squared-error": 0.5 / 3,
    # −log softmax([2, 1, 0.1])_0 = log(e² + e + e^0.1) − 2
    "cross-entropy": math.log(E**2 + E + E**0.1) - 2,
    # w ← w − 0.25·2·mean(w − y) over y ∈ {1, 3}: 0 → 0 + 0.5·2 = 1 → 1 + 0.5·1 = 1.5 → 1.5 + 0.5·0.5 = 1.75
    "gradient-descent": [[0.0], [1.0], [1.5], [1.75]],
    "batch-gradient-descent": [[0.0], [1.0], [1.5], [1.75]],
    # relu(1) = 1, relu(−1) = 0 → ŷ = 1, L = (1 − 2)² = 1; δ₂ = 2(ŷ − y) = −2;
    # ∂W₂ = δ₂ᵀh₁ = [[−2, 0]], ∂b₂ = [−2]; δ₁ = (δ₂W₂) ⊙ relu′(z₁) = [−2, −2] ⊙ [1, 0] = [−2, 0];
    # ∂W₁ = δ₁ᵀx = [[−2], [0]], ∂b₁ = [−2, 0]
    "backpropagation": (1.0, ([[[-2.0], [0.0]], [[-2.0, 0.0]]], [[-2.0, 0.0], [-2.0]])),
    # leaky_relu with slope 0.1: [−2·0.1, 0, 3]
    "leaky-relu": [-0.2, 0.0, 3.0],
    # one RNN step h = tanh(0.5·1), readout 2h
    "rnn-one-to-one": [[2 * math.tanh(0.5)]],
}


def _close(got: object, want: object) -> bool:
    if isinstance(want, list | tuple):
        return isinstance(got, list | tuple) and len(got) == len(want) and all(map(_close, got, want))
    return isinstance(got, int | float) and math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-15)  # type: ignore[arg-type]


@pytest.mark.parametrize("term_id", sorted(HAND))
def test_worked_examples_match_hand_computed_values(term_id: str) -> None:
    """The reference's output for the declared inputs equals the value worked out by hand (to 1e-12)."""
    worked = compute(TERMS[term_id])
    assert worked is not None
    assert _close(worked.result, HAND[term_id]), (term_id, worked.result, HAND[term_id])


def test_softmax_page_shows_the_outputs_rounded_to_four_digits() -> None:
    """The softmax block prints 0.09003, 0.2447, 0.6652 (1/(1 + e + e²) … to 4 significant digits)."""
    assert "[0.09003, 0.2447, 0.6652]" in example_markdown(TERMS["softmax"])


def test_outputs_come_from_the_reference_not_from_the_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    """A different dlterms.reference.softmax changes the printed example: nothing is typed in."""
    monkeypatch.setattr(examples.reference, "softmax", lambda x, axis=-1: [0.5 for _ in x])
    assert "[0.5, 0.5, 0.5]" in example_markdown(TERMS["softmax"])


def test_no_caption_types_in_an_output() -> None:
    """No caption repeats a printed output with a decimal point (outputs are computed, never written)."""
    for t in TERMS.values():
        worked = compute(t)
        if worked is None:
            continue
        printed = set(re.findall(r"-?\d+\.\d+", format_value(worked.result, DIGITS)))
        for caption in (t.example.caption_en, t.example.caption_zh):
            assert not printed & set(re.findall(r"-?\d+\.\d+", caption)), (t.id, caption)


def test_a_refused_input_names_the_file_and_the_function() -> None:
    """Inputs the reference refuses raise ValueError naming the entry's file and the function."""
    bad = dataclasses.replace(TERMS["softmax"], example=Example("softmax", {"x": [[1.0], [2.0, 3.0]]}, "c", "c"))
    with pytest.raises(ValueError, match=r"softmax\.toml \[example\].*dlterms\.reference\.softmax"):
        compute(bad)


def test_an_unknown_callable_is_refused_with_the_known_names() -> None:
    """{ callable = <name> } must be one of CALLABLES; the error lists them."""
    ex = Example("gradient_descent", {"grad_fn": {"callable": "nope"}, "params": [0.0], "data": [1.0]}, "c", "c")
    bad = dataclasses.replace(TERMS["gradient-descent"], example=ex)
    with pytest.raises(ValueError, match=r"args\.grad_fn\.callable='nope'.*fit_constant"):
        compute(bad)


def test_fit_constant_is_the_gradient_of_the_mean_squared_error() -> None:
    """fit_constant(w, batch) = 2·mean(w − y): at w = 0 over {1, 3}, 2·(−2) = −4."""
    assert examples.CALLABLES["fit_constant"][0]([0.0], [1.0, 3.0]) == [-4.0]


@pytest.mark.parametrize(
    ("value", "digits", "text"),
    [
        ([[1.0, 2.5], [3.0, -4.0]], None, "[[1, 2.5],\n [3, -4]]"),
        (0.123456, DIGITS, "0.1235"),
        (-0.0, DIGITS, "0"),
        ([float("nan"), float("inf")], DIGITS, "[nan, inf]"),
        ((1.0, [2.0]), DIGITS, "(1, [2])"),
        ("relu", None, "'relu'"),
    ],
)
def test_format_value_prints_rows_and_rounds(value: object, digits: int | None, text: str) -> None:
    """Nested lists print one row a line, numbers to the given significant digits, -0 as 0."""
    assert format_value(value, digits) == text


@pytest.mark.parametrize(
    ("table", "field"),
    [
        (
            '[example]\nfunction = "tanh"\ncaption_en = "a"\ncaption_zh = "b"\n[example.args]\nx = [1.0]\n',
            "example.function",
        ),
        ('[example]\nfunction = "sigmoid"\ncaption_en = "a"\n[example.args]\nx = [1.0]\n', "example.caption_zh"),
        ('[example]\nfunction = "sigmoid"\ncaption_en = "a"\ncaption_zh = "b"\n', "example.args"),
        ('[example]\nfunction = "sigmoid"\ncaption_en = "a"\ncaption_zh = "b"\nrounding = 3\n', "example.rounding"),
        (
            '[example]\nfunction = "sigmoid"\ncaption_en = "a"\ncaption_zh = "b"\n[example.args]\nx = { f = 1 }\n',
            "example.args.x",
        ),
    ],
)
def test_a_bad_example_table_is_refused_naming_the_field(glossary_with: Any, table: str, field: str) -> None:
    """The loader refuses an [example] whose function is not the term's, or that lacks or adds a field."""
    with pytest.raises(GlossaryError, match=re.escape(field)) as info:
        load_terms.__wrapped__(glossary_with(table))
    assert "sigmoid.toml" in str(info.value)
