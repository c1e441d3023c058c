"""The conformance suite as pytest tests: ``pytest --pyargs dlterms.conformance --dlterms-backend X``.

One test per check (invariant × dtype); see :mod:`dlterms.conformance.pytest_plugin`.
"""

from __future__ import annotations

import json
from typing import Any

import pytest


def test_invariant(dlterms_check: Any, dlterms_backend: Any, dlterms_result: Any) -> None:
    """The invariant holds for the backend in this dtype on every generated example."""
    row = dlterms_result(dlterms_backend, dlterms_check)
    if row.status in ("unsupported", "skip"):
        pytest.skip(f"{row.status}: {row.message}")
    if row.status != "pass":
        case = json.dumps(row.as_dict()["counterexample"], ensure_ascii=False)
        pytest.fail(f"{row.key} {row.status}: {row.statement}\n{row.message}\ncounterexample: {case}", pytrace=False)
