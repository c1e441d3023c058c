"""The glossary, the reference, the invariants and the adapters describe the same things.

One source of truth per fact (DESIGN.md): these tests fail when they drift apart.
"""

from __future__ import annotations

import importlib

import pytest
from dlterms.conformance import runner  # noqa: F401  (registers every invariant)
from dlterms.conformance.backends import CANONICAL_OPS
from dlterms.conformance.registry import INVARIANTS, OPS
from dlterms.glossary import load_terms

from dlterms import reference

TERMS = load_terms()


def test_every_invariant_named_in_the_glossary_is_implemented() -> None:
    """An entry lists only invariant IDs that are registered."""
    missing = {(t.id, i) for t in TERMS.values() for i in t.invariants if i not in INVARIANTS}
    assert not missing


def test_every_invariant_is_listed_by_its_term() -> None:
    """Each registered invariant belongs to an existing term whose entry lists it."""
    for inv in INVARIANTS.values():
        assert inv.term in TERMS, f"{inv.id}: unknown term {inv.term!r}"
        assert inv.id in TERMS[inv.term].invariants, f"{inv.id} is not listed in glossary/terms/{inv.term}.toml"


def test_every_reference_function_named_by_an_entry_exists() -> None:
    """A `reference` name in an entry is a public function of dlterms.reference."""
    for t in TERMS.values():
        for name in t.reference:
            assert name in reference.__all__, f"{t.id}: dlterms.reference.{name} does not exist"


def test_every_public_reference_function_has_an_entry() -> None:
    """Each public reference function (its _vjp aside) is named by some glossary entry."""
    named = {name for t in TERMS.values() for name in t.reference}
    for name in reference.__all__:
        base = name.removesuffix("_vjp")
        assert base in named, f"dlterms.reference.{name} has no glossary entry naming {base!r}"


def test_every_registered_op_has_a_reference_function_and_vjp() -> None:
    """An op with generic invariants has its reference function and the VJP beside it."""
    for name in OPS:
        assert callable(getattr(reference, name, None)), name
        assert callable(getattr(reference, f"{name}_vjp", None)), f"{name}_vjp"


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_every_adapter_op_belongs_to_a_registered_term(backend: str) -> None:
    """An adapter implements only canonical ops that have an OpSpec (and so a term and invariants)."""
    module = importlib.import_module(f"dlterms.conformance.backends.{backend}")
    for op in CANONICAL_OPS:
        if callable(getattr(module, op, None)):
            assert op in OPS, f"{backend} adapter has {op} but no OpSpec registers it"
