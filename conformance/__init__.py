"""The conformance suite: invariants of every term, checked against any backend.

>>> from dlterms.conformance import load_backend, run
>>> results = run(load_backend("reference"), terms=["sigmoid"])  # doctest: +SKIP
"""

from .backends import CANONICAL_OPS, Backend, BackendError, load_backend
from .registry import INVARIANTS, OPS, Invariant, OpSpec, invariant, register_op
from .runner import DEFAULT_DTYPES, DEFAULT_MAX_EXAMPLES, Result, run

__all__ = [
    "CANONICAL_OPS",
    "DEFAULT_DTYPES",
    "DEFAULT_MAX_EXAMPLES",
    "INVARIANTS",
    "OPS",
    "Backend",
    "BackendError",
    "Invariant",
    "OpSpec",
    "Result",
    "invariant",
    "load_backend",
    "register_op",
    "run",
]
