"""The conformance suite: invariants of every term, checked against any backend.

>>> from dlterms.conformance import load_backend, run
>>> results = run(load_backend("reference"), terms=["sigmoid"])  # doctest: +SKIP

The names below are imported on first use (PEP 562), so importing a light
submodule (:mod:`.settings`, the pytest plugin) does not import numpy,
Hypothesis and every invariant. Importing :mod:`.runner` registers the invariants.
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> the submodule that defines it
_HOMES = {
    "CANONICAL_OPS": "backends",
    "Backend": "backends",
    "BackendError": "backends",
    "load_backend": "backends",
    "INVARIANTS": "runner",  # through the runner, which registers every invariant
    "OPS": "registry",
    "Invariant": "registry",
    "OpSpec": "registry",
    "invariant": "registry",
    "register_op": "registry",
    "Result": "runner",
    "run": "runner",
    "DEFAULT_DTYPES": "settings",
    "DEFAULT_MAX_EXAMPLES": "settings",
    "Unsupported": "checks",
    "UnsupportedCase": "checks",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{home}", __name__), name)
    globals()[name] = value
    return value
