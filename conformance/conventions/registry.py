"""The registry of conventions and probes; :func:`measure` reads one framework's column, :func:`measure_backend`
one loaded backend's.

:data:`CONVENTIONS` comes from :mod:`.reference` (the rows, with their
canonical values); :data:`PROBES` from one module per framework of
:data:`dlterms.frameworks.FRAMEWORKS`, named after it (``.torch``, ``.numpy``,
...). Those modules import their framework inside each probe, so building the
registry imports none. A plug-in's column comes from the probes through its
ops (:data:`.adapter.ADAPTER_PROBES`) and the probes it declares itself
(:func:`declared_probes`).
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from dlterms import frameworks

from ..checks import json_safe
from ..limits import CheckTimeout, TimeLimit
from . import reference
from .adapter import ADAPTER_PROBES
from .readings import Convention, Probe, Value

if TYPE_CHECKING:
    from ..backends import Backend

__all__ = [
    "CONVENTIONS",
    "PROBES",
    "PROBE_TIME_LIMIT_S",
    "declared_probes",
    "installed_frameworks",
    "measure",
    "measure_backend",
]

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


# A probe through a loaded backend is one call on a tiny input; this bounds one that hangs (a first call
# that imports a submodule of the framework takes a few seconds at most).
PROBE_TIME_LIMIT_S = 10.0


def _limited(fn: Callable[[], Value]) -> Value:
    try:
        with TimeLimit(PROBE_TIME_LIMIT_S):
            return _safe(fn)
    except CheckTimeout as exc:
        return f"error: CheckTimeout: {exc}"


def measure(framework: str) -> list[dict[str, Any]]:
    """One record per convention for ``framework`` (``reference`` gives the canonical values themselves).

    Raises ValueError for an unknown framework; a framework that is not
    installed gives errors in its values, not an exception.
    """
    if framework not in PROBES and framework != REFERENCE:
        raise ValueError(f"conventions: unknown framework {framework!r}; expected one of {', '.join(PROBES)}")
    return _records(lambda conv, canonical: _framework_value(framework, conv, canonical))


def _framework_value(framework: str, conv: Convention, canonical: Value) -> tuple[str | None, Value]:
    """The api and value of ``conv`` in a known framework's column (``reference``: the canonical value)."""
    if framework == REFERENCE:
        return "dlterms.reference", canonical
    probe = PROBES[framework].get(conv.id)
    return (None, None) if probe is None else (probe.api, _safe(probe.measure))


def declared_probes(impl: Any) -> dict[str, Probe]:
    """The probes an adapter declares for its framework's own defaults, by convention id.

    They are its ``conventions`` attribute: a tuple (or list) of
    :class:`~.readings.Probe` rows, each naming a convention of
    :data:`CONVENTIONS` once; none when it has no such attribute. Raises
    ValueError naming the attribute, the bad value and what was expected.
    """
    rows = getattr(impl, "conventions", None)
    if rows is None:
        return {}
    shape = "a tuple of dlterms.conformance.conventions.Probe(convention, api, measure) rows"
    if isinstance(rows, str | Mapping) or not isinstance(rows, Iterable):
        raise ValueError(f"conventions={rows!r} ({type(rows).__name__}); expected {shape}")
    probes: dict[str, Probe] = {}
    for row in rows:
        if not isinstance(row, Probe):
            raise ValueError(f"conventions holds {row!r} ({type(row).__name__}); expected {shape}")
        if row.convention not in CONVENTIONS:
            raise ValueError(
                f"conventions: a probe of {row.convention!r}, which is not a declared convention; "
                f"expected one of {', '.join(CONVENTIONS)}"
            )
        if row.convention in probes:
            raise ValueError(f"conventions: two probes of {row.convention!r}; expected one per convention")
        if not isinstance(row.api, str) or not row.api:
            raise ValueError(f"conventions: the probe of {row.convention!r} has api={row.api!r}; expected a str")
        if not callable(row.measure):
            raise ValueError(
                f"conventions: the probe of {row.convention!r} has measure={row.measure!r}; expected a function "
                "of no arguments returning the value"
            )
        probes[row.convention] = row
    return probes


def measure_backend(bk: Backend, only: str | None = None) -> list[dict[str, Any]]:
    """One record per convention for a loaded backend: the ``conventions`` section of its report
    (``only``: the record of that convention alone, so that measuring them one at a time costs each canonical
    value once).

    The backend's framework is its adapter's ``framework`` attribute, else its
    name. A framework of :data:`dlterms.frameworks.FRAMEWORKS` (or
    ``reference``) gives that framework's column, :func:`measure`; any other
    (a plug-in) gives the probes through its ops that apply to it
    (:data:`.adapter.ADAPTER_PROBES`). Then the adapter's own probes
    (:func:`declared_probes`) replace or add the conventions they name. Each
    probe through the backend runs within :data:`PROBE_TIME_LIMIT_S`; one that
    raises or runs past it gives ``"error: ..."``, never an exception.
    """
    framework = getattr(bk.impl, "framework", bk.name)
    known = framework in PROBES or framework == REFERENCE
    declared = declared_probes(bk.impl)
    through_ops = {p.convention: p for p in ADAPTER_PROBES}

    def probed(conv: Convention, canonical: Value) -> tuple[str | None, Value]:
        if conv.id in declared:
            probe = declared[conv.id]
            return probe.api, _limited(probe.measure)
        if known:
            return _framework_value(framework, conv, canonical)
        op_probe = through_ops.get(conv.id)
        dtype = None if op_probe is None else op_probe.dtype_on(bk)
        if op_probe is None or dtype is None:
            return None, None
        return op_probe.api(bk, dtype), _limited(lambda: op_probe.measure(bk, dtype))

    return _records(probed, only)


def _records(
    probed: Callable[[Convention, Value], tuple[str | None, Value]], only: str | None = None
) -> list[dict[str, Any]]:
    """One record per convention (``only``: of that one), its ``api`` and value from ``probed(convention,
    canonical value)``."""
    records = []
    for conv in CONVENTIONS.values() if only is None else (CONVENTIONS[only],):
        canonical = _safe(conv.canonical)
        api, value = probed(conv, canonical)
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
