"""Conventions: measured defaults of each framework, with the canonical values read off the reference."""

from __future__ import annotations

import importlib
import inspect
import json
import math
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from dlterms.conformance import conventions as cv

from dlterms import frameworks, reference
from dlterms.cli import main

KEYS = {"id", "description", "value", "canonical", "matches_canonical", "api"}


def _by_id(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in records}


def test_at_least_ten_conventions_each_with_a_description() -> None:
    """The matrix has at least ten conventions, each with a one-sentence description."""
    assert len(cv.CONVENTIONS) >= 10
    assert all(c.description.endswith(".") for c in cv.CONVENTIONS.values())


def test_canonical_values_come_from_the_reference() -> None:
    """The canonical column is the reference's own behaviour (its default slope, its two RNN biases, ...)."""
    canonical = _by_id(cv.measure("reference"))
    slope = inspect.signature(reference.leaky_relu).parameters["negative_slope"].default
    assert canonical["leaky_relu.default_negative_slope"]["value"] == slope == 0.01
    assert canonical["binary_cross_entropy.loss_at_zero_probability"]["value"] == -reference.losses.LOG_CLAMP
    assert canonical["avg_pool2d.counts_padding"]["value"] is True
    assert canonical["rnn.bias_vectors"]["value"] == 2
    assert canonical["cross_entropy.default_input"]["value"] == "logits"
    assert canonical["variance.default_correction"]["value"] is None  # the reference has no variance
    assert all(r["matches_canonical"] in (True, None) for r in canonical.values())


def test_numpy_conventions_are_measured_facts() -> None:
    """NumPy: np.var divides by n, np.convolve flips the kernel, and float32 keeps subnormals."""
    got = _by_id(cv.measure("numpy"))
    assert all(set(r) == KEYS for r in got.values())
    assert got["variance.default_correction"]["value"] == "biased (divides by n)"
    assert got["conv2d.flips_kernel"]["value"] == "convolution (kernel flipped)"
    assert got["conv2d.flips_kernel"]["matches_canonical"] is False
    assert got["float32.subnormal_arithmetic"]["value"] == "kept"
    assert got["softmax.default_axis"] == {**got["softmax.default_axis"], "value": None, "api": None}


def test_torch_conventions_match_its_documentation() -> None:
    """PyTorch's documented defaults: slope 0.01, unbiased var, logits in, log clamp −100, padding counted, 2 biases."""
    pytest.importorskip("torch")
    got = _by_id(cv.measure("torch"))
    assert got["leaky_relu.default_negative_slope"]["value"] == 0.01
    assert got["variance.default_correction"]["value"] == "unbiased (divides by n - 1)"
    assert got["cross_entropy.default_input"]["value"] == "logits"
    assert got["cross_entropy.default_reduction"]["value"] == "mean"
    assert got["binary_cross_entropy.loss_at_zero_probability"]["value"] == 100.0
    assert got["avg_pool2d.counts_padding"]["value"] is True
    assert got["rnn.bias_vectors"]["value"] == 2
    assert sum(r["value"] is not None for r in got.values()) >= 10


def test_tensorflow_keras_conventions_match_their_documentation() -> None:
    """TF/Keras: tf.nn.leaky_relu alpha 0.2, Keras LeakyReLU 0.3, probabilities in, clip at 1e−7, one RNN bias."""
    pytest.importorskip("tensorflow")
    got = _by_id(cv.measure("tensorflow"))
    assert got["leaky_relu.default_negative_slope"]["value"] == 0.2
    assert got["leaky_relu.layer_default_negative_slope"]["value"] == 0.3
    assert got["cross_entropy.default_input"]["value"] == "probabilities"
    assert math.isclose(got["binary_cross_entropy.loss_at_zero_probability"]["value"], -math.log(1e-7), rel_tol=1e-5)
    assert got["avg_pool2d.counts_padding"]["value"] is False
    assert got["rnn.bias_vectors"]["value"] == 1
    assert got["variance.default_correction"]["value"] == "biased (divides by n)"
    assert sum(r["value"] is not None for r in got.values()) >= 10


def test_jax_conventions_are_measured() -> None:
    """JAX: leaky ReLU's gradient at 0 is 1 (x ≥ 0 branch), softmax(axis=None) spans every element."""
    pytest.importorskip("jax")
    got = _by_id(cv.measure("jax"))
    assert got["leaky_relu.derivative_at_zero"]["value"] == 1.0
    assert got["softmax.axis_none"]["value"] == "all elements"
    assert got["softmax.default_axis"]["value"] == "axis -1"
    assert sum(r["value"] is not None for r in got.values()) >= 10


def test_a_probe_that_raises_is_recorded_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    """A broken probe gives value 'error: ...' and matches_canonical None; measuring never fails a run."""

    def broken() -> None:
        raise RuntimeError("no such API in this version")

    cid = "relu.derivative_at_zero"
    monkeypatch.setitem(cv.PROBES["numpy"], cid, cv.Probe(cid, "numpy.nothing", broken))
    got = _by_id(cv.measure("numpy"))[cid]
    assert got["api"] == "numpy.nothing"
    assert got["value"] == "error: RuntimeError: no such API in this version"
    assert got["matches_canonical"] is None


def test_unknown_framework_is_refused() -> None:
    """measure() names the frameworks it knows."""
    with pytest.raises(ValueError, match="unknown framework 'mxnet'; expected one of torch, numpy, jax, tensorflow"):
        cv.measure("mxnet")


def test_every_framework_of_the_one_list_has_a_probe_module() -> None:
    """Each framework of dlterms.frameworks has its own module in the package, and nothing else has probes."""
    assert list(cv.PROBES) == ["torch", "numpy", "jax", "tensorflow"]
    for fw in frameworks.FRAMEWORKS:
        module = importlib.import_module(f"dlterms.conformance.conventions.{fw.name}")
        assert {p.convention: p for p in module.PROBES} == cv.PROBES[fw.name]


def test_each_probe_names_a_declared_convention_once() -> None:
    """No probe measures an undeclared convention, and no framework probes one convention twice."""
    declared = importlib.import_module("dlterms.conformance.conventions.reference").CONVENTIONS
    assert len({c.id for c in declared}) == len(declared) == len(cv.CONVENTIONS)
    for fw in frameworks.FRAMEWORKS:
        ids = [p.convention for p in importlib.import_module(f"dlterms.conformance.conventions.{fw.name}").PROBES]
        assert len(set(ids)) == len(ids), fw.name
        assert set(ids) <= set(cv.CONVENTIONS), fw.name


def test_each_probe_is_the_function_named_after_its_convention_in_its_framework_module() -> None:
    """A row's function is `<op>_<property>` of its own id, defined in its framework's module (no crossed wires)."""
    for fw, probes in cv.PROBES.items():
        for cid, p in probes.items():
            assert p.measure.__name__ == cid.replace(".", "_"), (fw, cid)
            assert p.measure.__module__ == f"dlterms.conformance.conventions.{fw}", (fw, cid)


def test_installed_frameworks_follow_the_order_of_the_one_list() -> None:
    """installed_frameworks() lists importable frameworks in the order torch, numpy, jax, tensorflow."""
    got = cv.installed_frameworks()
    assert got == [name for name in ("torch", "numpy", "jax", "tensorflow") if name in got]
    assert "numpy" in got  # the conformance extra installs it


def test_importing_the_package_imports_no_framework() -> None:
    """Importing dlterms.conformance.conventions leaves torch, jax, tensorflow and keras unimported."""
    code = (
        "import sys, dlterms.conformance.conventions\n"
        "print(sorted(m for m in ('torch', 'jax', 'tensorflow', 'keras') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "[]"


def test_conventions_command_prints_the_matrix(capsys: pytest.CaptureFixture[str]) -> None:
    """`dlterms conventions` prints one row per convention, a canonical column and one per framework."""
    assert main(["conventions", "--frameworks", "numpy,torch"]) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0].split()
    assert header == ["convention", "canonical", "NumPy", "PyTorch"]
    for cid in cv.CONVENTIONS:
        assert cid in out
    line = next(ln for ln in out.splitlines() if ln.startswith("relu.sign_of_negative_zero"))
    assert "-0.0 *" in line  # torch.relu(-0.0) is -0.0: marked as differing from the reference's +0.0


def test_conventions_command_json(capsys: pytest.CaptureFixture[str]) -> None:
    """`dlterms conventions --json` gives every record, per framework."""
    assert main(["conventions", "--frameworks", "numpy", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data["frameworks"]) == ["numpy"]
    assert [r["id"] for r in data["frameworks"]["numpy"]] == list(cv.CONVENTIONS)


def test_conventions_command_refuses_an_unknown_framework(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown --frameworks entry is a usage error (exit 2)."""
    assert main(["conventions", "--frameworks", "numpy,caffe"]) == 2
    assert "caffe" in capsys.readouterr().err


def test_report_carries_the_conventions_section(conform: Callable[..., Any]) -> None:
    """A conformance report lists its framework's conventions beside the verdicts, in the site's format."""
    run = conform("numpy", "--terms", "sigmoid", "--max-examples", "2")
    records = run.report["conventions"]
    assert [r["id"] for r in records] == list(cv.CONVENTIONS)
    assert all(set(r) == KEYS for r in records)
    assert _by_id(records)["variance.default_correction"]["value"] == "biased (divides by n)"


def test_conventions_command_measures_one_backend(capsys: pytest.CaptureFixture[str]) -> None:
    """`dlterms conventions --backend SPEC` prints one column for that backend, a plug-in's through its ops."""
    assert main(["conventions", "--backend", "numpy", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["frameworks"]["numpy"] == cv.measure("numpy")
    assert main(["conventions", "--backend", "nothing_here"]) == 2
    assert "unknown backend 'nothing_here'" in capsys.readouterr().err
    assert main(["conventions", "--backend", "numpy", "--frameworks", "numpy"]) == 2
