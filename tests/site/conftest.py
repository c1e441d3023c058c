"""Fixtures of the site tests: one ``mkdocs build --strict`` per session, into a temporary folder.

The build is given a small hand-written conformance report (a made-up backend, ``fakeframe``),
so that the matrix and the conventions page have something known to show.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

FAKE_REPORT = {
    "schema": "dlterms.report/1",
    "created": "2026-01-01T00:00:00+00:00",
    "backend": {"name": "fakeframe", "version": "9.9.9"},
    "settings": {"max_examples": 5, "seed": 0},
    "results": [
        {"term": "softmax", "invariant": "softmax.sums_to_one", "dtype": "float32", "status": "pass"},
        {"term": "softmax", "invariant": "softmax.sums_to_one", "dtype": "float64", "status": "pass"},
        {"term": "softmax", "invariant": "softmax.shift_invariant", "dtype": "float32", "status": "pass"},
        {"term": "softmax", "invariant": "softmax.shift_invariant", "dtype": "float64", "status": "fail"},
        {"term": "softmax", "invariant": "softmax.preserves_order", "dtype": "float32", "status": "unsupported"},
    ],
    "conventions": [
        {
            "id": "softmax.default_axis",
            "description": "the axis softmax normalises when none is given",
            "value": 1,
            "canonical": -1,
        },
        {
            "id": "leaky_relu.default_negative_slope",
            "description": "the slope for x < 0 when none is given",
            "value": 0.01,
            "canonical": 0.01,
        },
    ],
    "special_values": [
        {
            "id": "softmax.one_positive_infinity",
            "description": "made up",
            "op": "softmax",
            "value": ["nan", "nan", "nan"],
            "canonical": [1.0, 0.0, 0.0],
            "matches_canonical": False,
        },
        {
            "id": "softmax.two_positive_infinities",
            "description": "made up",
            "op": "softmax",
            "value": [0.5, 0.5, 0.0],
            "canonical": [0.5, 0.5, 0.0],
            "matches_canonical": True,
        },
    ],
}


@dataclass(frozen=True)
class BuiltSite:
    root: Path  # the built site
    log: str  # everything mkdocs printed
    seconds: float

    def html(self, page: str) -> str:
        """The HTML of ``page`` (``"terms/softmax/"``, ``""`` for the home page)."""
        return (self.root / page / "index.html").read_text(encoding="utf-8")


def build_site(out: Path, reports: Path) -> BuiltSite:
    import time

    env = {**os.environ, "DLTERMS_REPORTS": str(reports), "NO_MKDOCS_2_WARNING": "1"}
    cmd = [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(REPO / "mkdocs.yml"), "-d", str(out)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - t0
    log = proc.stdout + proc.stderr
    if proc.returncode != 0:
        pytest.fail(f"mkdocs build --strict failed (exit {proc.returncode}):\n{log[-4000:]}")
    return BuiltSite(out, log, seconds)


@pytest.fixture(scope="session")
def fake_reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the fake report only."""
    reports = tmp_path_factory.mktemp("reports")
    (reports / "fakeframe.json").write_text(json.dumps(FAKE_REPORT), encoding="utf-8")
    return reports


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory, fake_reports: Path) -> BuiltSite:
    """The site, built once per test session with the fake report."""
    return build_site(tmp_path_factory.mktemp("site") / "site", fake_reports)
