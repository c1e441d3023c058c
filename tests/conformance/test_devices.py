"""--device: the CPU path, a clear usage error for a device that is not there, and the math modes a report records."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from dlterms.conformance import load_backend
from dlterms.conformance.backends import Backend
from dlterms.conformance.report import build_report, repro_snippet

from dlterms.cli import main


def _sees_a_gpu(framework: str) -> bool:
    if framework == "torch":
        import torch

        return torch.cuda.is_available()
    if framework == "jax":
        import jax

        return any(d.platform == "gpu" for d in jax.devices())
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


@pytest.mark.parametrize("framework", ["torch", "jax", "tensorflow"])
def test_device_cuda_without_cuda_is_a_usage_error(
    framework: str, capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    """--device cuda where the framework sees no GPU exits 2, naming the device and why, and writes no report."""
    pytest.importorskip(framework)
    if _sees_a_gpu(framework):
        pytest.skip(f"{framework} sees a GPU here")
    report = tmp_path / "r.json"
    code = main(["conform", "--backend", framework, "--device", "cuda", "--terms", "sigmoid", "--json", str(report)])
    err = capsys.readouterr().err
    assert code == 2
    assert "--device 'cuda'" in err and "error" in err
    assert any(word in err for word in ("no CUDA", "no gpu", "0 GPU"))
    assert not report.exists()


def test_device_on_a_cpu_only_backend_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """A backend without use_device (numpy) cannot be sent to a GPU: exit 2 saying so."""
    assert main(["conform", "--backend", "numpy", "--device", "cuda:1", "--terms", "sigmoid"]) == 2
    assert "has no use_device" in capsys.readouterr().err


def test_dlterms_device_environment_variable_is_honoured(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """$DLTERMS_DEVICE chooses the device when --device is not given."""
    monkeypatch.setenv("DLTERMS_DEVICE", "cuda:3")
    assert main(["conform", "--backend", "numpy", "--terms", "sigmoid"]) == 2
    assert "'cuda:3'" in capsys.readouterr().err


def test_device_cpu_runs_and_is_recorded(conform: Callable[..., Any]) -> None:
    """--device cpu runs on the CPU, and the report says so for the run, the backend and every row."""
    run = conform("torch", "--device", "cpu", "--terms", "sigmoid", "--max-examples", "3")
    assert run.code == 0, run.out
    assert run.report["settings"]["device"] == "cpu"
    assert run.report["backend"]["device"] == "cpu"
    assert {r["device"] for r in run.report["results"]} == {"cpu"}


@pytest.mark.parametrize(("framework", "name"), [("jax", "cpu:0"), ("tensorflow", "/CPU:0")])
def test_use_device_cpu_for_jax_and_tensorflow(framework: str, name: str) -> None:
    """jax and tensorflow accept --device cpu and create their arrays there."""
    pytest.importorskip(framework)
    bk = load_backend(framework, device="cpu")
    assert bk.device == name
    assert bk.to_numpy(bk.sigmoid(bk.asarray([0.0], "float32"))).tolist() == [0.5]


@pytest.fixture
def tf32_switches() -> Any:
    """Restore torch's TF32 switches after a test flips them (they are properties, not attributes
    that monkeypatch can save and delete across pytest versions)."""
    torch = pytest.importorskip("torch")
    saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    yield torch
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def test_report_records_torch_math_modes(conform: Callable[..., Any], tf32_switches: Any) -> None:
    """The report carries torch's TF32 switches and float32 matmul precision as they are at run time."""
    torch = tf32_switches
    torch.backends.cuda.matmul.allow_tf32 = True
    run = conform("torch", "--terms", "sigmoid", "--max-examples", "2")
    modes = run.report["backend"]["math_modes"]
    assert modes["torch.backends.cuda.matmul.allow_tf32"] is True
    assert modes["torch.backends.cudnn.allow_tf32"] == torch.backends.cudnn.allow_tf32
    assert modes["torch.get_float32_matmul_precision()"] == torch.get_float32_matmul_precision()
    assert run.report["backend"]["framework_versions"] == {"torch": torch.__version__}
    assert run.report["backend"]["reduced_precision"] == []  # TF32 changes nothing on the CPU


def test_tf32_on_cuda_is_recorded_and_warned(monkeypatch: pytest.MonkeyPatch, tf32_switches: Any) -> None:
    """On a CUDA device with TF32 allowed, the report lists it as reduced precision and the run warns."""
    torch = tf32_switches
    from dlterms.conformance.session import reduced_precision_warning

    adapter = importlib.import_module("dlterms.conformance.backends.torch")
    monkeypatch.setattr(adapter, "device", torch.device("cuda", 0))  # facts only: nothing is computed
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda d: "a GPU")
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = False
    bk = Backend(impl=adapter, name="torch", version=torch.__version__, dtypes=adapter.dtypes, found_by="built-in")
    report = build_report(bk, [], {"device": "cuda"}, backend_spec="torch")
    reduced = report["backend"]["reduced_precision"]
    assert "torch.backends.cuda.matmul.allow_tf32=True" in reduced  # (it also sets the matmul precision "high")
    assert not any("cudnn" in r for r in reduced)
    assert report["backend"]["device"] == "cuda:0"
    warning = reduced_precision_warning(bk, ["float32", "float64"])
    assert "reduced-precision" in warning and "allow_tf32=True" in warning and "float32" in warning
    assert reduced_precision_warning(bk, ["float64"]) is None  # float64 is not affected: no warning


def test_reproducer_loads_the_backend_on_the_same_device() -> None:
    """A failure's standalone reproducer passes the run's device to load_backend."""
    row = {"invariant": "sigmoid.symmetry", "dtype": "float32", "statement": "s", "counterexample": {"x": 1.0}}
    script = repro_snippet("torch", row, {"device": "cuda:1"})
    assert "load_backend('torch', device='cuda:1')" in script
    assert "load_backend('torch')" in repro_snippet("torch", row, {})


DEVICE_MODULE = """
from types import SimpleNamespace

from dlterms.conformance.backends import reference as base

backend = SimpleNamespace(**{k: getattr(base, k) for k in dir(base) if not k.startswith("_")})
backend.name = "devmod"
backend.device = "cpu"


def use_device(device):
    backend.device = device


backend.use_device = use_device
"""


def test_spawned_workers_load_the_backend_on_the_device(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A spawned worker (jax, tensorflow) loads the backend itself, on the run's --device."""
    from dlterms.conformance.isolation import run_isolated
    from dlterms.conformance.runner import RunSettings, plan

    (tmp_path / "devmod.py").write_text(DEVICE_MODULE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("DLTERMS_DEVICE", raising=False)
    bk = load_backend("devmod:backend")
    checks = plan(["relu"], ["float64"])[:1]
    rows = list(run_isolated(bk, checks, mode="spawn", spec="devmod:backend", device="gpu:7",
                             settings=RunSettings(max_examples=2)))  # fmt: skip
    assert bk.device == "cpu" and [r.device for r in rows] == ["gpu:7"]


def test_a_gpu_device_gets_spawned_workers_and_refuses_fork() -> None:
    """On a CUDA device auto isolation spawns workers (a forked child cannot use CUDA); --isolation fork is refused."""
    import types

    from dlterms.conformance.isolation import choose_isolation, on_accelerator

    bk = load_backend("torch")
    gpu = types.SimpleNamespace(device="cuda:0", impl=bk.impl, name=bk.name, supported_ops=bk.supported_ops)
    assert on_accelerator(gpu) == "a process that has initialised cuda:0 cannot use it in a forked child"
    assert on_accelerator(bk) == ""
    chosen = choose_isolation("auto", gpu, "torch")  # type: ignore[arg-type]
    assert chosen.mode == "spawn" and "cuda:0" in chosen.reason
    with pytest.raises(ValueError, match=r"--isolation fork: a process that has initialised cuda:0"):
        choose_isolation("fork", gpu, "torch")  # type: ignore[arg-type]
    assert choose_isolation("auto", bk, "torch").mode == "fork"


def test_dtype_all_and_the_math_mode_are_recorded(conform: Callable[..., Any]) -> None:
    """--dtype all runs the four dtypes; --math-mode tf32 is recorded in the report's settings."""
    run = conform("torch", "--terms", "relu", "--dtype", "all", "--math-mode", "tf32", "--max-examples", "2")
    assert run.code == 0, run.out + run.err
    assert run.report["settings"]["dtypes"] == ["float16", "bfloat16", "float32", "float64"]
    assert run.report["settings"]["math_mode"] == "tf32"
    assert {r["dtype"] for r in run.report["results"]} == {"float16", "bfloat16", "float32", "float64"}


def test_an_unknown_dtype_names_all_among_the_choices(capsys: pytest.CaptureFixture[str]) -> None:
    """--dtype float8 exits 2 naming the dtypes and 'all'."""
    assert main(["conform", "--backend", "numpy", "--dtype", "float8", "--terms", "relu"]) == 2
    assert "--dtype 'float8': expected one or more of" in capsys.readouterr().err
