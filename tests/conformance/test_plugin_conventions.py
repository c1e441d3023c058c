"""Conventions of a plug-in: measured through its ops and vjp, and through the probes it declares."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from dlterms.conformance import conventions as cv
from dlterms.conformance import load_backend
from dlterms.conformance.conventions import registry
from dlterms.conformance.conventions.readings import X3, softmax_axis

# Conventions measured through the ops of an adapter; those about a framework's API defaults are not among them.
THROUGH_OPS = {
    "relu.derivative_at_zero",
    "leaky_relu.derivative_at_zero",
    "relu.sign_of_negative_zero",
    "max_pool2d.gradient_on_ties",
    "sigmoid.subnormal_result",
    "float32.subnormal_arithmetic",
}


def _by_id(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in records}


@pytest.fixture
def torch_plugin(broken_backend: Callable[..., str]) -> Callable[..., dict[str, dict[str, Any]]]:
    """``torch_plugin(relu=fn, ...)``: the conventions of the torch adapter's ops under a plug-in's name."""
    pytest.importorskip("torch")

    def _measure(**ops: Any) -> dict[str, dict[str, Any]]:
        return _by_id(cv.measure_backend(load_backend(broken_backend("torch", **ops))))

    return _measure


def test_the_probes_through_ops_are_the_conventions_about_an_op_itself() -> None:
    """ADAPTER_PROBES measure exactly the declared conventions about a canonical op, each once."""
    ids = [p.convention for p in cv.ADAPTER_PROBES]
    assert len(ids) == len(set(ids))
    assert set(ids) == THROUGH_OPS
    assert set(ids) <= set(cv.CONVENTIONS)


def test_plugin_gets_conventions_through_its_ops(torch_plugin: Callable[..., dict[str, dict[str, Any]]]) -> None:
    """torch's ops under another name: relu'(0) = 0, leaky'(0) = slope, ties to the first cell, relu(−0) = −0."""
    got = torch_plugin()
    assert got["relu.derivative_at_zero"]["value"] == 0.0
    assert got["leaky_relu.derivative_at_zero"]["value"] == 0.25
    assert got["max_pool2d.gradient_on_ties"]["value"] == "first"
    assert got["relu.sign_of_negative_zero"]["value"] == "-0.0"  # torch.relu keeps the sign of −0.0
    assert got["float32.subnormal_arithmetic"]["value"] == "kept"  # the CPU keeps float32 subnormals
    assert got["relu.derivative_at_zero"]["api"] == "broken-torch adapter: relu + vjp (float64)"
    assert got["sigmoid.subnormal_result"]["api"] == "broken-torch adapter: sigmoid (float32)"
    for cid, record in got.items():  # nothing else is measured: those need the framework's own API
        assert (record["value"] is None) == (cid not in THROUGH_OPS), cid
        assert set(record) == {"id", "description", "value", "canonical", "matches_canonical", "api"}


def test_a_leaky_relu_with_the_right_branch_at_zero_is_caught(
    torch_plugin: Callable[..., dict[str, dict[str, Any]]],
) -> None:
    """A leaky ReLU as where(x >= 0, x, a·x) has derivative 1 at 0 (as tinygrad's and MLX's do): not canonical."""
    import torch

    got = torch_plugin(leaky_relu=lambda x, negative_slope=0.01: torch.where(x >= 0, x, x * negative_slope))
    record = got["leaky_relu.derivative_at_zero"]
    assert (record["value"], record["canonical"], record["matches_canonical"]) == (1.0, 0.25, False)


def test_a_max_pool_that_splits_ties_is_caught(torch_plugin: Callable[..., dict[str, dict[str, Any]]]) -> None:
    """A max-pool through torch.amax (which splits the gradient among equal values) reads 'split evenly'."""
    import torch

    def max_pool2d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Any:
        assert kernel_size == 2 and stride is None and padding == 0  # the one case the probe uses
        n, c, h, w = x.shape
        windows = x.reshape(n, c, h // 2, 2, w // 2, 2)
        return torch.amax(windows, dim=(3, 5))

    record = torch_plugin(max_pool2d=max_pool2d)["max_pool2d.gradient_on_ties"]
    assert (record["value"], record["matches_canonical"]) == ("split evenly", False)


def test_a_probe_needs_the_ops_vjp_and_dtype_it_uses(broken_backend: Callable[..., str]) -> None:
    """Without vjp the derivatives are not measured, without float32 the subnormals, without relu its sign."""
    bk = load_backend(broken_backend("numpy", relu=None))  # numpy: no vjp
    got = _by_id(cv.measure_backend(bk))
    assert got["relu.derivative_at_zero"] == {**got["relu.derivative_at_zero"], "value": None, "api": None}
    assert got["relu.sign_of_negative_zero"]["value"] is None
    assert got["sigmoid.subnormal_result"]["value"] == "kept"  # NumPy keeps float32 subnormals
    reference_only = load_backend("reference")  # float64 only: no float32 probe applies
    assert all(p.dtype_on(reference_only) is None for p in cv.ADAPTER_PROBES if p.dtype == "float32")


def test_declared_probes_add_and_replace_conventions(broken_backend: Callable[..., str]) -> None:
    """An adapter's `conventions` rows are measured with their api; one naming a probed convention replaces it."""
    spec = broken_backend("numpy")
    bk = load_backend(spec)
    bk.impl.conventions = (
        cv.Probe("softmax.axis_none", "mine.softmax(axis=None)", lambda: softmax_axis(np.exp(X3) / np.exp(X3).sum())),
        cv.Probe("relu.sign_of_negative_zero", "mine.relu", lambda: "-0.0"),
    )
    got = _by_id(cv.measure_backend(bk))
    assert got["softmax.axis_none"]["api"] == "mine.softmax(axis=None)"
    assert (got["softmax.axis_none"]["value"], got["softmax.axis_none"]["matches_canonical"]) == ("all elements", False)
    assert got["relu.sign_of_negative_zero"]["api"] == "mine.relu"  # numpy.maximum's +0.0 through the op is replaced
    assert got["relu.sign_of_negative_zero"]["value"] == "-0.0"
    assert got["softmax.default_axis"]["value"] is None


def test_a_declared_probe_that_raises_or_hangs_is_recorded(
    broken_backend: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A declared probe that raises gives 'error: ...'; one that hangs is stopped at the time limit."""
    monkeypatch.setattr(registry, "PROBE_TIME_LIMIT_S", 0.2)
    bk = load_backend(broken_backend("numpy"))

    def raises() -> str:
        raise RuntimeError("no softmax without an axis")

    def hangs() -> str:
        time.sleep(30)
        return "never"

    bk.impl.conventions = (
        cv.Probe("softmax.default_axis", "mine.softmax", raises),
        cv.Probe("softmax.axis_none", "mine.softmax(axis=None)", hangs),
    )
    start = time.perf_counter()
    got = _by_id(cv.measure_backend(bk))
    assert time.perf_counter() - start < 10
    assert got["softmax.default_axis"]["value"] == "error: RuntimeError: no softmax without an axis"
    assert got["softmax.axis_none"]["value"].startswith("error: CheckTimeout")
    assert got["softmax.axis_none"]["matches_canonical"] is None


@pytest.mark.parametrize(
    ("rows", "complaint"),
    [
        ({"softmax.default_axis": ("api", lambda: 1)}, "expected a tuple of dlterms.conformance.conventions.Probe"),
        (("softmax.default_axis",), "conventions holds 'softmax.default_axis' (str)"),
        ((cv.Probe("softmax.no_such", "api", lambda: 1),), "'softmax.no_such', which is not a declared convention"),
        ((cv.Probe("softmax.axis_none", "a", lambda: 1),) * 2, "two probes of 'softmax.axis_none'"),
        ((cv.Probe("softmax.axis_none", "", lambda: 1),), "api=''; expected a str"),
        ((cv.Probe("softmax.axis_none", "a", "all elements"),), "measure='all elements'; expected a function"),  # type: ignore[arg-type]
    ],
)
def test_malformed_declared_probes_are_refused(rows: Any, complaint: str) -> None:
    """declared_probes names the bad row and what was expected."""

    class Adapter:
        conventions = rows

    with pytest.raises(ValueError) as info:
        cv.declared_probes(Adapter())
    assert complaint in str(info.value)


def test_builtin_frameworks_keep_their_own_column() -> None:
    """A built-in backend's conventions are its framework's probes, exactly as `measure(framework)` gives them."""
    for name in ("reference", "numpy"):
        assert cv.measure_backend(load_backend(name)) == cv.measure(name)


@pytest.mark.parametrize("framework", ["torch", "jax"])
def test_probes_through_the_adapter_agree_with_the_framework_probes(framework: str) -> None:
    """Through the built-in torch and JAX adapters, each op probe reads what the framework's own API probe reads."""
    pytest.importorskip(framework)
    bk = load_backend(framework)
    own = _by_id(cv.measure(framework))
    compared = 0
    for probe in cv.ADAPTER_PROBES:
        dtype = probe.dtype_on(bk)
        if dtype is None or own[probe.convention]["value"] is None:
            continue
        assert probe.measure(bk, dtype) == own[probe.convention]["value"], probe.convention
        compared += 1
    assert compared == len(cv.ADAPTER_PROBES)


@pytest.fixture
def handmade_plugin(broken_backend: Callable[..., str]) -> str:
    """A torch-based plug-in whose relu, leaky_relu and max_pool2d are written so their conventions are known by hand,
    with one declared probe (softmax with no axis normalises every element)."""
    pytest.importorskip("torch")
    import torch

    def relu(x: Any) -> Any:  # relu(−0.0) takes the zeros_like branch: +0.0; its gradient at 0 goes there too: 0
        return torch.where(x > 0, x, torch.zeros_like(x))

    def leaky_relu(x: Any, negative_slope: float = 0.01) -> Any:  # x >= 0 takes the identity at 0: derivative 1
        return torch.where(x >= 0, x, x * negative_slope)

    def max_pool2d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Any:
        # torch.amax splits the gradient evenly among equal values (the probe's one case: a 2×2 window, no padding)
        n, c, h, w = x.shape
        return torch.amax(x.reshape(n, c, h // kernel_size, kernel_size, w // kernel_size, kernel_size), dim=(3, 5))

    spec = broken_backend("torch", relu=relu, leaky_relu=leaky_relu, max_pool2d=max_pool2d)
    load_backend(spec).impl.conventions = (
        cv.Probe("softmax.default_axis", "plug.softmax (no axis)", lambda: softmax_axis(np.exp(X3) / np.exp(X3).sum())),
    )
    return spec


@pytest.mark.parametrize("isolation", ["auto", "off"])
def test_conform_report_of_a_plugin_has_its_conventions(
    conform: Callable[..., Any], handmade_plugin: str, isolation: str
) -> None:
    """A plug-in's conform report measures its conventions through its ops and declared probes, in a worker or not."""
    run = conform(handmade_plugin, "--terms", "softmax", "--dtype", "float64", "--max-examples", "3",
                  "--isolation", isolation)  # fmt: skip
    assert run.code == 0, run.out
    assert run.report["settings"]["isolation"] == ("fork" if isolation == "auto" else "off")
    got = _by_id(run.report["conventions"])
    assert list(got) == list(cv.CONVENTIONS)
    assert (got["relu.derivative_at_zero"]["value"], got["relu.sign_of_negative_zero"]["value"]) == (0.0, "+0.0")
    assert got["relu.derivative_at_zero"]["api"] == "broken-torch adapter: relu + vjp (float64)"
    leaky = got["leaky_relu.derivative_at_zero"]
    assert (leaky["value"], leaky["matches_canonical"]) == (1.0, False)
    assert got["max_pool2d.gradient_on_ties"]["value"] == "split evenly"
    assert got["softmax.default_axis"]["value"] == "all elements"
    assert got["softmax.default_axis"]["api"] == "plug.softmax (no axis)"
    assert got["cross_entropy.default_reduction"] == {**got["cross_entropy.default_reduction"], "value": None,
                                                      "api": None, "matches_canonical": None}  # fmt: skip
    for record in got.values():  # the record shape of a built-in framework's
        assert set(record) == {"id", "description", "value", "canonical", "matches_canonical", "api"}


def test_the_example_adapters_report_has_its_conventions(
    conform: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """examples/adapter's tinynp: its two declared probes and relu through its op are in its conform report."""
    monkeypatch.syspath_prepend(str(Path(__file__).parents[2] / "examples" / "adapter"))
    run = conform("dlterms_tinynp", "--terms", "relu", "--dtype", "float64", "--max-examples", "3")
    assert run.code == 0, run.out
    got = _by_id(run.report["conventions"])
    assert got["softmax.default_axis"]["value"] == "axis -1"  # tinynp.softmax's default axis is -1
    assert got["softmax.axis_none"]["value"] == "all elements"
    assert got["softmax.axis_none"]["api"] == "tinynp.softmax(axis=None)"
    assert got["relu.sign_of_negative_zero"]["api"] == "tinynp adapter: relu (float64)"
    assert got["relu.derivative_at_zero"]["value"] is None  # no vjp


@pytest.mark.parametrize("spec", ["reference", "numpy", "torch", "plugin"])
def test_one_convention_at_a_time_gives_the_records_of_measure_backend(
    spec: str, handmade_plugin: str, broken_backend: Callable[..., str]
) -> None:
    """The report's probes, run one convention at a time (as a worker runs them), give measure_backend's records."""
    from dlterms.conformance.report import measured_conventions

    bk = load_backend(handmade_plugin if spec == "plugin" else spec)
    if spec == "numpy":  # a built-in framework's column with a declared probe replacing one of its own
        bk = load_backend(broken_backend("numpy"))
        bk.impl.framework = "numpy"
        bk.impl.conventions = (cv.Probe("relu.sign_of_negative_zero", "mine.relu", lambda: "-0.0"),)
    assert measured_conventions(bk, 60.0) == cv.measure_backend(bk)
