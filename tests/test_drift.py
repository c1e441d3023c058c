"""The op records, the glossary, the reference, the invariants and the adapters describe the same things.

Each fact is declared once (docs/design.md, "One source of truth per fact"); where a copy is
unavoidable (a reference function's signature, the adapter guide's op table) these tests tie
it to the declaration, and fail when they drift apart.
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pytest
from dlterms.conformance import runner  # noqa: F401  (registers every invariant)
from dlterms.conformance.backends import BUILTIN, CANONICAL_OPS
from dlterms.conformance.registry import INVARIANTS, OPS, strategy
from dlterms.glossary import load_terms
from hypothesis import given, settings
from hypothesis import strategies as st

from dlterms import frameworks, ops, reference

TERMS = load_terms()
ROOT = Path(__file__).resolve().parents[1]


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


# --- the op records ------------------------------------------------------------------------------


def test_the_contract_lists_exactly_the_op_records() -> None:
    """CANONICAL_OPS are the records of dlterms.ops in order, and every record is registered."""
    assert tuple(ops.OPS) == CANONICAL_OPS
    assert set(OPS) == set(ops.OPS)
    assert all(OPS[name].record is record for name, record in ops.OPS.items())


@pytest.mark.parametrize("op", ops.OPS.values(), ids=lambda op: op.name)
def test_each_op_record_generates_its_three_invariants_for_its_term(op: ops.Op) -> None:
    """<op>.matches_reference and the two gradient checks are registered, under the record's term."""
    for inv_id in op.invariant_ids:
        assert INVARIANTS[inv_id].term == op.term
        assert inv_id in TERMS[op.term].invariants


@pytest.mark.parametrize("op", ops.OPS.values(), ids=lambda op: op.name)
def test_each_op_record_names_an_entry_that_lists_its_reference_function(op: ops.Op) -> None:
    """The record's term exists, and that entry names the op's reference function."""
    assert op.term in TERMS, f"{op.name}: unknown term {op.term!r}"
    assert op.name in TERMS[op.term].reference, f"glossary/terms/{op.term}.toml does not list {op.name}"


@pytest.mark.parametrize("op", ops.OPS.values(), ids=lambda op: op.name)
def test_the_reference_signature_is_the_records(op: ops.Op) -> None:
    """dlterms.reference.<op> takes the record's arguments, in order, with the record's defaults."""
    params = inspect.signature(getattr(reference, op.name)).parameters
    assert tuple(params) == op.arg_names
    for arg in op.args:
        default = params[arg.name].default
        assert (default is inspect.Parameter.empty) == arg.required, arg.name
        if not arg.required:
            assert default == arg.default, f"{op.name}({arg.name}=...): reference {default!r}, record {arg.default!r}"


@pytest.mark.parametrize("op", ops.OPS.values(), ids=lambda op: op.name)
def test_the_reference_vjp_takes_the_ops_arguments_and_a_cotangent(op: ops.Op) -> None:
    """<op>_vjp exists beside the op and takes every argument of the record plus ``cotangent``."""
    params = inspect.signature(getattr(reference, f"{op.name}_vjp")).parameters
    assert set(op.arg_names) | {"cotangent"} == set(params)


@pytest.mark.parametrize("op", ops.OPS.values(), ids=lambda op: op.name)
@pytest.mark.parametrize("which", ["cases", "grad_cases"])
def test_each_record_strategy_draws_calls_of_its_op(op: ops.Op, which: str) -> None:
    """The named strategy resolves and draws keyword arguments the op takes, every required one included."""
    declared = getattr(op, which) or op.cases
    draws = strategy(declared)("float64")

    @settings(max_examples=5, database=None)
    @given(draws)
    def check(case: dict) -> None:
        assert set(case) <= set(op.arg_names)
        assert {a.name for a in op.args if a.required} <= set(case)

    check()


def test_a_strategy_name_that_does_not_resolve_is_a_clear_error() -> None:
    """A record naming a missing strategy function fails with the name it looked for."""
    with pytest.raises(LookupError, match=r"no function 'nothing_here' in dlterms\.conformance\.strategies"):
        strategy(ops.Cases("strategies.nothing_here"))


def test_the_adapter_guide_shows_the_records_op_table() -> None:
    """docs/how-to/write-an-adapter.md holds exactly the table dlterms.ops.markdown_table() generates."""
    page = (ROOT / "docs" / "how-to" / "write-an-adapter.md").read_text("utf-8")
    block = re.search(r"<!-- dlterms:ops-table -->\n(.*?)<!-- /dlterms:ops-table -->", page, re.S)
    assert block is not None, "the guide lost its <!-- dlterms:ops-table --> block"
    assert block.group(1) == ops.markdown_table(), "regenerate the block with dlterms.ops.markdown_table()"


# --- the frameworks and the adapters -------------------------------------------------------------


def test_the_builtin_backends_are_the_reference_and_the_framework_list() -> None:
    """--backend's built-in names are 'reference' and the frameworks of dlterms.frameworks, in order."""
    assert list(BUILTIN) == ["reference", *(fw.name for fw in frameworks.FRAMEWORKS)]
    assert all(BUILTIN[fw.name] == fw.adapter for fw in frameworks.FRAMEWORKS)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_every_adapter_op_is_a_canonical_op(backend: str) -> None:
    """An adapter implements only ops that have a record (and so a term and invariants)."""
    module = importlib.import_module(f"dlterms.conformance.backends.{backend}")
    public = {n for n in dir(module) if not n.startswith("_") and callable(getattr(module, n))}
    reference_like = {n for n in public if n in reference.__all__}
    assert reference_like <= set(ops.OPS), reference_like - set(ops.OPS)


def test_every_special_value_names_arguments_of_its_op() -> None:
    """A special value's arguments are arguments of its op, every required one included."""
    for op in ops.OPS.values():
        for sv in op.special_values:
            assert set(sv.args) <= set(op.arg_names), (op.name, sv.name)
            assert {a.name for a in op.args if a.required} <= set(sv.args), (op.name, sv.name)


@given(st.sampled_from(sorted(ops.OPS)))
def test_the_record_signature_names_every_argument(name: str) -> None:
    """The framework-facing signature shows each argument once, defaults as Python literals."""
    op = ops.OPS[name]
    sig = op.signature
    assert sig.startswith(f"{name}(") and all(sig.count(f"{a}") >= 1 for a in op.arg_names)
    for arg in op.args:
        if not arg.required:
            assert f"{arg.name}={arg.default!r}" in sig


@pytest.mark.parametrize("op", ops.OPS.values(), ids=lambda op: op.name)
def test_each_relative_accuracy_names_a_sensitivity_that_exists(op: ops.Op) -> None:
    """A record's relative accuracy model names a function of dlterms.conformance.tolerances.SENSITIVITY."""
    from dlterms.conformance.tolerances import SENSITIVITY

    if op.accuracy.model == "relative":
        assert op.accuracy.sensitivity in SENSITIVITY, f"{op.name}: unknown sensitivity {op.accuracy.sensitivity!r}"


@pytest.mark.parametrize("op", [op for op in ops.OPS.values() if op.accuracy.accumulation], ids=lambda op: op.name)
def test_each_accumulation_names_a_function_that_exists(op: ops.Op) -> None:
    """A record's accumulation term names a function of dlterms.conformance.tolerances.ACCUMULATION."""
    from dlterms.conformance.tolerances import ACCUMULATION

    assert op.accuracy.accumulation in ACCUMULATION, f"{op.name}: unknown accumulation {op.accuracy.accumulation!r}"


@pytest.mark.parametrize("op", ops.OPS.values(), ids=lambda op: op.name)
def test_special_values_is_generated_exactly_for_ops_with_definitions(op: ops.Op) -> None:
    """<op>.special_values is registered (and listed by the entry) iff the record has a value the definition fixes."""
    inv_id = f"{op.name}.special_values"
    assert (inv_id in INVARIANTS) == bool(op.definitions)
    assert (inv_id in TERMS[op.term].invariants) == bool(op.definitions)
