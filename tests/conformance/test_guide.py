"""The adapter guide's code runs: its `my_adapter.py` blocks make a working adapter, and its includes resolve."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from dlterms.conformance import conventions as cv
from dlterms.conformance import load_backend
from dlterms.conformance.backends import OpCall

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "how-to" / "write-an-adapter.md"
BLOCK = re.compile(r'^```python title="my_adapter\.py"\n(.*?)^```$', re.MULTILINE | re.DOTALL)
TERMS = "relu,leaky-relu,softmax,pooling"


def adapter_source() -> str:
    """The guide's `my_adapter.py` blocks, in page order, joined into one module."""
    return "\n\n".join(BLOCK.findall(GUIDE.read_text("utf-8")))


@pytest.fixture(scope="module")
def guide_adapter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding my_adapter.py, written from the guide's blocks only."""
    pytest.importorskip("torch")
    folder = tmp_path_factory.mktemp("guide")
    (folder / "my_adapter.py").write_text(adapter_source(), "utf-8")
    return folder


def test_the_guide_builds_one_adapter_from_its_blocks() -> None:
    """The page holds the blocks of every part: the required attributes, ops, vjp, op_dtypes, conventions."""
    source = adapter_source()
    assert len(BLOCK.findall(GUIDE.read_text("utf-8"))) >= 5
    for part in ("name = ", "def asarray(", "def to_numpy(", "def vjp(", "op_dtypes = ", "conventions = ("):
        assert part in source, part
    compile(source, "my_adapter.py", "exec")


def test_the_guides_adapter_loads_and_passes(guide_adapter: Path) -> None:
    """`dlterms conform --backend my_adapter` (its bare module name) on four terms: no row fails or errors, and
    max_pool2d, declared float32-only, is unsupported in float64."""
    report = guide_adapter / "report.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(guide_adapter), os.environ.get("PYTHONPATH", "")])}
    args = ["--backend", "my_adapter", "--terms", TERMS, "--max-examples", "5", "--json", str(report)]
    proc = subprocess.run(
        [sys.executable, "-m", "dlterms", "conform", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=guide_adapter,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    data = json.loads(report.read_text("utf-8"))
    assert (data["backend"]["name"], data["backend"]["found_by"]) == ("my_adapter", "import path")
    assert data["backend"]["op_dtypes"] == {"max_pool2d": ["float32"]}
    rows = data["results"]
    assert not [r["invariant"] for r in rows if r["status"] in ("fail", "error")]
    passed = {r["invariant"] for r in rows if r["status"] == "pass"}
    for invariant in ("relu.matches_reference", "relu.vjp_matches_reference", "softmax.sums_to_one"):
        assert invariant in passed, invariant
    assert {r["status"] for r in rows if r["invariant"].startswith("avg_pool2d.")} == {"unsupported"}
    pool64 = {r["invariant"]: r for r in rows if r["invariant"].startswith("max_pool2d.") and r["dtype"] == "float64"}
    assert pool64 and {r["status"] for r in pool64.values()} == {"unsupported"}
    message = "backend has max_pool2d in float32 only, not float64"
    assert pool64["max_pool2d.matches_reference"]["message"] == message


def test_the_guides_adapter_reports_its_conventions(guide_adapter: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its declared probes and the probes through its ops give torch's values: axis -3, mean, relu'(0) = 0."""
    monkeypatch.syspath_prepend(str(guide_adapter))
    try:
        got = {r["id"]: r for r in cv.measure_backend(load_backend("my_adapter"))}
    finally:
        sys.modules.pop("my_adapter", None)
    assert got["softmax.default_axis"]["value"] == "axis -3"  # torch's implicit dim for a 3-d input is 0
    assert got["softmax.default_axis"]["api"] == "torch.nn.functional.softmax (no dim)"
    assert got["cross_entropy.default_reduction"]["value"] == "mean"
    assert got["relu.derivative_at_zero"]["value"] == 0.0
    assert got["max_pool2d.gradient_on_ties"]["api"] == "my_adapter adapter: max_pool2d + vjp (float32)"


def test_every_include_of_the_guide_names_a_file() -> None:
    """Each snippet include uses the `--8<-- "path"` syntax and names a file of the repository."""
    text = GUIDE.read_text("utf-8")
    assert not re.search(r"--8\s+<|<\s+--", text)  # `--8 < --` is no include: it would print as text
    includes = re.findall(r'^--8<-- "([^"]+)"$', text, re.MULTILINE)
    assert includes == ["examples/adapter/dlterms_tinynp.py", "examples/adapter/pyproject.toml"]
    assert all((ROOT / path).is_file() for path in includes)


def test_opcall_calls_the_op_as_its_docstring_says() -> None:
    """OpCall(backend, "softmax", {"axis": 0})(x) is backend.softmax(x=x, axis=0); primals default to diff_args."""
    bk = load_backend("numpy")
    x = bk.asarray([[1.0, 2.0], [3.0, 5.0]])
    call = OpCall(bk, "softmax", {"axis": 0})
    assert call.diff_args == ("x",)
    assert bk.to_numpy(call(x)).tolist() == bk.to_numpy(bk.softmax(x=x, axis=0)).tolist()
    assert OpCall(bk, "linear").diff_args == ("x", "weight", "bias")
    seen: dict[str, Any] = {}

    class Recorder:
        def linear(self, **kwargs: Any) -> None:
            seen.update(kwargs)

    OpCall(Recorder(), "linear")(1, 2, 3)
    assert seen == {"x": 1, "weight": 2, "bias": 3}
