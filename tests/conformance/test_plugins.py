"""Plug-in backends: found by entry point, import path or $DLTERMS_BACKEND; partial ones report coverage;
the contract is checked up front."""

from __future__ import annotations

import shutil
import subprocess
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from dlterms.conformance import CANONICAL_OPS, BackendError, load_backend

from dlterms.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "adapter"
TINYNP_OPS = ("sigmoid", "relu", "leaky_relu", "softmax", "mse_loss")


@pytest.fixture(scope="module")
def tinynp_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/adapter pip-installed (no network, no build isolation) into a folder of its own."""
    source = tmp_path_factory.mktemp("src") / "adapter"
    shutil.copytree(EXAMPLE, source)  # build in a copy: the checkout stays clean
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--disable-pip-version-check",
            "--target",
            str(target),
            str(source),
        ],
        check=True,
    )
    return target


@pytest.fixture
def tinynp(tinynp_site: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The example adapter's entry point name, with its install folder on sys.path for this test."""
    monkeypatch.syspath_prepend(str(tinynp_site))
    yield "tinynp"
    sys.modules.pop("dlterms_tinynp", None)


@pytest.fixture(scope="module")
def tinynp_run(tinynp_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One full ``dlterms conform --backend tinynp`` run, in a subprocess as a user runs it."""
    import json
    import os

    report = tmp_path_factory.mktemp("report") / "tinynp.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tinynp_site), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dlterms",
            "conform",
            "--backend",
            "tinynp",
            "--max-examples",
            "10",
            "--json",
            str(report),
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    return proc, json.loads(report.read_text()) if report.exists() else None


def test_entry_point_adapter_is_found_by_name(tinynp_run: Any) -> None:
    """The installed example is found through the dlterms.backends entry point and its run exits 0."""
    proc, report = tinynp_run
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert report["backend"]["name"] == "tinynp"
    assert report["backend"]["found_by"] == "entry point dlterms_tinynp"


def test_partial_adapter_reports_unsupported_ops_and_coverage(tinynp_run: Any) -> None:
    """Ops it lacks are 'unsupported' rows naming the op; coverage 5/N is in the report, the summary line and the
    adapter guide's example output."""
    proc, report = tinynp_run
    assert report["backend"]["supported_ops"] == list(TINYNP_OPS)
    assert set(report["backend"]["unsupported_ops"]) == set(CANONICAL_OPS) - set(TINYNP_OPS)
    assert report["backend"]["coverage"] == round(len(TINYNP_OPS) / len(CANONICAL_OPS), 4)
    n, m = len(TINYNP_OPS), len(CANONICAL_OPS)
    line = f"coverage: {n}/{m} canonical ops ({round(100 * n / m)}%)"
    assert line in proc.stdout
    guide = (Path(__file__).resolve().parents[2] / "docs" / "how-to" / "write-an-adapter.md").read_text("utf-8")
    assert line in guide and f"({n}/{m} ≈ {report['backend']['coverage']:.4f})" in guide
    rows = report["results"]
    conv = [r for r in rows if r["invariant"] == "conv2d.matches_reference"]
    assert conv and all(r["status"] == "unsupported" and "conv2d" in r["message"] for r in conv)
    sig = [r for r in rows if r["invariant"] == "sigmoid.matches_reference"]
    assert {r["status"] for r in sig} == {"pass"}
    grads = [r for r in rows if r["invariant"] == "sigmoid.vjp_matches_reference"]
    assert {r["message"] for r in grads} == {"backend has no vjp (no autodiff)"}
    assert report["summary"]["fail"] == report["summary"]["error"] == 0


def test_dlterms_backend_environment_variable(
    tinynp: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With no --backend, $DLTERMS_BACKEND names the backend (here the entry point)."""
    monkeypatch.setenv("DLTERMS_BACKEND", tinynp)
    assert main(["conform", "--terms", "relu", "--max-examples", "3"]) == 0
    assert "backend tinynp 0.1.0" in capsys.readouterr().out


def test_module_backend_is_found_by_its_bare_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, conform: Callable[..., Any]
) -> None:
    """`--backend mymodule` loads a top-level module that is the backend (no dot, no colon, no entry point)."""
    (tmp_path / "dlterms_bare_probe.py").write_text(
        "import numpy as np\nname = 'bare'\nversion = '1'\ndtypes = ('float64',)\n"
        "asarray = lambda data, dtype='float64': np.asarray(data, dtype=dtype)\nto_numpy = np.asarray\n"
        "def relu(x):\n    return np.maximum(x, 0.0)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert load_backend("dlterms_bare_probe").found_by == "import path"
        run = conform("dlterms_bare_probe", "--terms", "relu", "--max-examples", "3")
        assert run.code == 0, run.out + run.err
        assert run.report["backend"]["name"] == "bare"
        assert {r["dtype"]: r["status"] for r in run.rows() if r["invariant"] == "relu.matches_reference"} == {
            "float32": "unsupported",  # not among its dtypes
            "float64": "pass",
        }
    finally:
        sys.modules.pop("dlterms_bare_probe", None)


def test_module_backend_that_fails_to_import_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bare module name that exists but imports a missing dependency is refused naming both, not 'unknown'."""
    (tmp_path / "dlterms_needs_probe.py").write_text("import dlterms_no_such_framework\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        with pytest.raises(
            BackendError, match=r"cannot import module 'dlterms_needs_probe'.*dlterms_no_such_framework"
        ):
            load_backend("dlterms_needs_probe")
    finally:
        sys.modules.pop("dlterms_needs_probe", None)


def test_import_path_backend(capsys: pytest.CaptureFixture[str]) -> None:
    """'package.module:attribute' and 'package.module' load an adapter that is not installed as a plug-in."""
    module = types.ModuleType("_dlterms_plugin_probe")
    module.backend = load_backend("numpy").impl  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    try:
        bk = load_backend("_dlterms_plugin_probe:backend")
        assert (bk.name, bk.found_by) == ("numpy", "import path")
        assert load_backend("dlterms.conformance.backends.numpy").found_by == "import path"
    finally:
        del sys.modules[module.__name__]


def test_unknown_backend_lists_the_installed_entry_points(tinynp: str) -> None:
    """An unknown name is a usage error that lists the built-in names and the installed plug-ins."""
    with pytest.raises(BackendError, match=r"unknown backend 'tinyn'.*installed: .*tinynp"):
        load_backend("tinyn")


def _module(**attrs: Any) -> str:
    module = types.ModuleType("_dlterms_contract_probe")
    module.backend = types.SimpleNamespace(**attrs)  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    return f"{module.__name__}:backend"


@pytest.fixture
def contract_probe() -> Iterator[Callable[..., str]]:
    yield _module
    sys.modules.pop("_dlterms_contract_probe", None)


def test_contract_check_names_everything_missing(
    contract_probe: Callable[..., str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A backend without version and asarray is refused up front with both named (exit 2), not a crash mid-run."""
    spec = contract_probe(name="half", dtypes=("float64",), to_numpy=np.asarray, relu=lambda x: x)
    with pytest.raises(BackendError) as info:
        load_backend(spec)
    message = str(info.value)
    assert "missing version" in message and "asarray (a function asarray(data" in message
    assert "to_numpy (" not in message and "name (" not in message
    assert main(["conform", "--backend", spec, "--terms", "relu"]) == 2
    assert "does not meet the contract" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("attrs", "complaint"),
    [
        ({"name": ""}, "name='' (str); expected a non-empty str"),
        ({"name": 3}, "name=3 (int); expected a non-empty str"),
        ({"version": (1, 2)}, "version=(1, 2) (tuple); expected a non-empty str such as '2.5.1'"),
        ({"dtypes": ("float8",)}, "expected a tuple of str, a non-empty subset"),
        ({"dtypes": "float64"}, "dtypes='float64' (str); expected a tuple of str"),
        ({"dtypes": (np.float64,)}, "holds <class 'numpy.float64'> (type); expected a tuple of str"),
        ({"op_dtypes": [("relu", "float64")]}, "op_dtypes=[('relu', 'float64')] (list); expected a dict"),
        ({"op_dtypes": {"conv3d": ("float64",)}}, "op_dtypes names 'conv3d'; expected canonical ops"),
        (
            {"op_dtypes": {"relu": ("float32",)}},
            "op_dtypes['relu']=('float32',); expected a tuple of str, a non-empty subset of ('float64',)",
        ),
        ({"op_dtypes": {"relu": "float64"}}, "op_dtypes['relu']='float64' (str)"),
        ({"conventions": {"softmax.default_axis": "all"}}, "conventions={'softmax.default_axis': 'all'} (dict)"),
        ({"vjp": "autograd"}, "vjp='autograd' is not callable"),
        ({"asarray": lambda data, dtype="float64": np.zeros(1)}, "expected the data back"),
        ({"to_numpy": lambda x: 1 / 0}, "raised ZeroDivisionError"),
    ],
)
def test_contract_check_refuses_a_broken_adapter(
    contract_probe: Callable[..., str], attrs: dict[str, Any], complaint: str
) -> None:
    """Wrong types, unknown dtypes and a round trip that loses the data are refused with a message that says so."""
    base = {"name": "probe", "version": "1", "dtypes": ("float64",), "asarray": np.asarray, "to_numpy": np.asarray}
    with pytest.raises(BackendError) as info:
        load_backend(contract_probe(**{**base, **attrs}))
    assert complaint in str(info.value)


def test_non_callable_op_is_unsupported_not_a_crash(contract_probe: Callable[..., str], conform: Any) -> None:
    """An op attribute that is not a function counts as absent: its rows are 'unsupported' and the run exits 0."""
    spec = contract_probe(
        name="probe", version="1", dtypes=("float64",), asarray=np.asarray, to_numpy=np.asarray, relu=None
    )
    run = conform(spec, "--terms", "relu", "--dtype", "float64")
    assert run.code == 0
    assert {r["status"] for r in run.rows()} == {"unsupported"}
    assert run.report["backend"]["coverage"] == 0.0


def test_supports_reads_the_declared_op_dtypes(contract_probe: Callable[..., str]) -> None:
    """An op named in op_dtypes is supported in those dtypes only; other ops in every dtype; absent ops in none."""
    spec = contract_probe(
        name="probe",
        version="1",
        dtypes=("float32", "float64"),
        asarray=lambda data, dtype="float64": np.asarray(data, dtype=dtype),
        to_numpy=np.asarray,
        relu=lambda x: np.maximum(x, 0),
        sigmoid=lambda x: 1 / (1 + np.exp(-x)),
        op_dtypes={"relu": ("float32",)},
    )
    bk = load_backend(spec)
    assert bk.supports("relu", "float32") and not bk.supports("relu", "float64")
    assert bk.supports("sigmoid", "float32") and bk.supports("sigmoid", "float64")
    assert not bk.supports("sigmoid", "float16")  # not among its dtypes
    assert not bk.supports("conv2d", "float32")  # not an op it has
    assert bk.facts()["op_dtypes"] == {"relu": ["float32"]}


def test_an_op_raising_unsupported_gives_unsupported_rows(contract_probe: Callable[..., str], conform: Any) -> None:
    """An op that raises Unsupported for a dtype it has no kernel for makes those rows 'unsupported', not 'error'."""
    from dlterms.conformance.backends import Unsupported

    def relu(x: np.ndarray) -> np.ndarray:
        if x.dtype == np.float64:
            raise Unsupported("no float64 relu kernel")
        return np.maximum(x, np.zeros_like(x))

    spec = contract_probe(
        name="probe",
        version="1",
        dtypes=("float32", "float64"),
        asarray=lambda data, dtype="float64": np.asarray(data, dtype=dtype),
        to_numpy=np.asarray,
        relu=relu,
    )
    run = conform(spec, "--terms", "relu", "--max-examples", "3")
    for invariant in ("relu.matches_reference", "relu.equals_max_zero", "relu.idempotent"):
        rows = {r["dtype"]: r for r in run.rows() if r["invariant"] == invariant}
        assert {d: r["status"] for d, r in rows.items()} == {"float32": "pass", "float64": "unsupported"}, invariant
        assert rows["float64"]["message"] == "no float64 relu kernel"


def test_an_op_raising_unsupported_case_sets_that_case_aside(contract_probe: Callable[..., str], conform: Any) -> None:
    """An op that raises UnsupportedCase for some cases is checked on the others, and the row counts those set aside."""
    from dlterms.conformance.backends import UnsupportedCase

    def relu(x: np.ndarray) -> np.ndarray:
        if x.size % 2:
            raise UnsupportedCase("no relu of an odd size")
        return np.maximum(x, np.zeros_like(x))

    def never(x: np.ndarray) -> np.ndarray:
        raise UnsupportedCase("no relu at all")

    fields = {"version": "1", "dtypes": ("float64",), "asarray": np.asarray, "to_numpy": np.asarray}
    row = _row(conform(contract_probe(name="probe", relu=relu, **fields), "--terms", "relu", "--max-examples", "20"))
    assert row["status"] == "pass" and row["examples"] > 0
    assert row["details"]["set_aside"]["cases"] > 0
    assert row["details"]["set_aside"]["reason"] == "no relu of an odd size"
    row = _row(conform(contract_probe(name="probe", relu=never, **fields), "--terms", "relu", "--max-examples", "5"))
    assert row["status"] == "unsupported"
    assert row["message"] == "every case was set aside: no relu at all"


def _row(run: Any) -> dict[str, Any]:
    """The float64 relu.equals_max_zero row of a run."""
    return next(r for r in run.rows() if r["invariant"] == "relu.equals_max_zero" and r["dtype"] == "float64")


def test_device_reported_by_facts_is_kept(contract_probe: Callable[..., str], conform: Any) -> None:
    """An adapter with no `device` attribute whose facts() names a device is reported on that device, not 'cpu'."""
    spec = contract_probe(
        name="probe",
        version="1",
        dtypes=("float64",),
        asarray=np.asarray,
        to_numpy=np.asarray,
        relu=lambda x: np.maximum(x, 0.0),
        facts=lambda: {"device": "tinygpu:0"},
    )
    assert load_backend(spec).device == "tinygpu:0"
    run = conform(spec, "--terms", "relu", "--max-examples", "2")
    assert run.report["backend"]["device"] == "tinygpu:0"
    assert {r["device"] for r in run.rows()} == {"tinygpu:0"}


def test_ops_declared_for_some_dtypes_are_unsupported_in_the_others(
    broken_backend: Callable[..., str], conform: Any
) -> None:
    """An adapter declaring conv2d float32-only gets 'unsupported' float64 conv2d rows, not 'error'."""
    pytest.importorskip("torch")
    spec = broken_backend("torch")
    sys.modules[spec.partition(":")[0]].backend.op_dtypes = {"conv2d": ("float32",)}
    run = conform(spec, "--terms", "convolution", "--max-examples", "3")
    rows = [r for r in run.rows() if r["invariant"].startswith("conv2d.")]
    float64 = [r for r in rows if r["dtype"] == "float64"]
    assert float64 and {r["status"] for r in float64} == {"unsupported"}
    assert {r["message"] for r in float64} == {"backend has conv2d in float32 only, not float64"}
    assert {r["status"] for r in rows if r["dtype"] == "float32"} == {"pass"}
    assert run.report["backend"]["op_dtypes"] == {"conv2d": ["float32"]}
