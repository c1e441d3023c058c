"""The registry of conventions and probes, and :func:`measure`, which reads one framework's column.

:data:`CONVENTIONS` comes from :mod:`.reference` (the rows, with their
canonical values); :data:`PROBES` from one module per framework of
:data:`dlterms.frameworks.FRAMEWORKS`, named after it (``.torch``, ``.numpy``,
...). Those modules import their framework inside each probe, so building the
registry imports none.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from typing import Any

from dlterms import frameworks

from ..checks import json_safe
from . import reference
from .readings import Convention, Probe, Value

__all__ = ["CONVENTIONS", "PROBES", "installed_frameworks", "measure"]

REFERENCE = "reference"  # the name that gives the canonical values themselves

# Convention id -> Convention, in the matrix's row order.
CONVENTIONS: dict[str, Convention] = {c.id: c for c in reference.CONVENTIONS}

# Framework name -> convention id -> its probe; a convention a framework has no API for has no probe.
PROBES: dict[str, dict[str, Probe]] = {
    fw.name: {p.convention: p for p in importlib.import_module(f"{__package__}.{fw.name}").PROBES}
    for fw in frameworks.FRAMEWORKS
}


def installed_frameworks() -> list[str]:
    """The names of the frameworks of :data:`dlterms.frameworks.FRAMEWORKS` importable here, in table order."""
    return [fw.name for fw in frameworks.installed()]


def _safe(fn: Callable[[], Value]) -> Value:
    try:
        return fn()
    except Exception as exc:  # a probe that breaks is reported, never raised
        return f"error: {type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"


def _matches(value: Value, canonical: Value) -> bool | None:
    if value is None or canonical is None or (isinstance(value, str) and value.startswith("error:")):
        return None
    if isinstance(value, float) and isinstance(canonical, float):
        return math.isclose(value, canonical, rel_tol=1e-6)
    return value == canonical


def measure(framework: str) -> list[dict[str, Any]]:
    """One record per convention for ``framework`` (``reference`` gives the canonical values themselves).

    Raises ValueError for an unknown framework; a framework that is not
    installed gives errors in its values, not an exception.
    """
    if framework not in PROBES and framework != REFERENCE:
        raise ValueError(f"conventions: unknown framework {framework!r}; expected one of {', '.join(PROBES)}")
    records = []
    for conv in CONVENTIONS.values():
        canonical = _safe(conv.canonical)
        if framework == REFERENCE:
            api, value = "dlterms.reference", canonical
        else:
            probe = PROBES[framework].get(conv.id)
            api, value = (None, None) if probe is None else (probe.api, _safe(probe.measure))
        records.append(
            {
                "id": conv.id,
                "description": conv.description,
                "value": json_safe(value),  # ±inf and NaN as strings: the report is strict JSON
                "canonical": json_safe(canonical),
                "matches_canonical": _matches(value, canonical),
                "api": api,
            }
        )
    return records
