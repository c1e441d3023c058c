"""Reference docstrings name only invariants that are registered (a drift test between reference/ and conformance/)."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import dlterms.conformance.invariants  # noqa: F401  (importing the package registers every invariant)
from dlterms.conformance.registry import INVARIANTS

from dlterms import reference

REFERENCE_DIR = Path(reference.__file__).parent

# ``<op>.<name>`` in double backticks, the shape of an invariant ID (``softmax.sums_to_one``).
_DOTTED = re.compile(r"``([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*)``")

# The first part of an invariant ID is a reference function (``softmax``) or a namespace of the
# registry (``backprop``); ``x.shape`` or ``torch.optim.SGD`` are not invariant-shaped.
_PREFIXES = frozenset(reference.__all__) | {invariant_id.split(".")[0] for invariant_id in INVARIANTS}


def unregistered_invariants(text: str) -> list[str]:
    """The invariant-shaped names in ``text`` that are not registered invariant IDs."""
    named = (f"{op}.{name}" for op, name in _DOTTED.findall(text) if op in _PREFIXES)
    return sorted({invariant_id for invariant_id in named if invariant_id not in INVARIANTS})


def docstrings(path: Path) -> Iterator[tuple[str, str]]:
    """``(where, docstring)`` for the module and every function and class defined in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    if doc := ast.get_docstring(tree):
        yield path.name, doc
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and (doc := ast.get_docstring(node)):
            yield f"{path.name}:{node.lineno} {node.name}", doc


def test_the_check_flags_an_unregistered_invariant_id_and_accepts_a_registered_one() -> None:
    """A made-up ``sigmoid.*`` ID is reported; a registered ID, ``x.shape`` and ``torch.optim.SGD`` are not."""
    registered = next(iter(sorted(INVARIANTS)))
    text = f"Invariants: ``{registered}``, ``sigmoid.range_open_unit_interval``; ``x.shape``, ``torch.optim.SGD``."
    assert unregistered_invariants(text) == ["sigmoid.range_open_unit_interval"]


def test_reference_docstrings_name_only_registered_invariants() -> None:
    """Every invariant-shaped ``<op>.<name>`` in a docstring of reference/ is in the conformance registry."""
    paths = sorted(REFERENCE_DIR.glob("*.py"))
    assert paths, f"no modules found in {REFERENCE_DIR}"
    unknown = {
        where: names for path in paths for where, doc in docstrings(path) if (names := unregistered_invariants(doc))
    }
    assert unknown == {}, f"docstrings name invariants that are not registered: {unknown}"
