"""The modules of reference/ stay small and use only each other's public names."""

from __future__ import annotations

import ast
from pathlib import Path

from dlterms import reference

REFERENCE_DIR = Path(reference.__file__).parent
MAX_LINES = 500


def private_imports(source: str) -> list[str]:
    """Each ``from .x import _name``, and ``x._name`` for a sibling ``x`` imported by ``from . import x``."""
    tree = ast.parse(source)
    siblings: set[str] = set()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level > 0:
            for alias in node.names:
                if node.module is None:
                    siblings.add(alias.asname or alias.name)
                elif alias.name.startswith("_"):
                    found.append(f"from .{node.module} import {alias.name}")
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in siblings
            and node.attr.startswith("_")
        ):
            found.append(f"{node.value.id}.{node.attr}")
    return found


def test_the_check_finds_both_forms_of_a_private_import() -> None:
    """``from .conv import _pair`` and ``layers._activation`` are found; public names and ``_tensor`` are not."""
    source = "from . import layers\nfrom ._tensor import tensor\nfrom .conv import _pair, conv2d\nlayers._activation\n"
    assert private_imports(source) == ["from .conv import _pair", "layers._activation"]


def test_no_reference_module_imports_another_modules_private_names() -> None:
    """Shared helpers have public names (a leading-underscore module such as ``_tensor`` is fine)."""
    found = {p.name: names for p in sorted(REFERENCE_DIR.glob("*.py")) if (names := private_imports(p.read_text()))}
    assert found == {}


def test_no_reference_module_is_longer_than_500_lines() -> None:
    """Each module of reference/ has at most 500 lines."""
    lengths = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in REFERENCE_DIR.glob("*.py")}
    assert lengths, f"no modules found in {REFERENCE_DIR}"
    assert {name: n for name, n in lengths.items() if n > MAX_LINES} == {}
