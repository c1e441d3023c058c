"""Conventions: measured defaults of each framework, with the canonical values read off the reference."""

from __future__ import annotations

import importlib
import inspect
import json
import math
import subprocess
import sys
import types
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


# The half-precision rows, by hand: e^11.1015625 ≈ 66 275 ≥ 65 520 → inf; 65504 + 15 → 65504 and
# 65504 + 16 = 65520 → inf (ties to the even 2^16); stable softmax [1, 0] and [1/(1 + e^−8), e^−8/(1 + e^−8)]
# = [0.99966 → 0.9995 in float16, 0.000335]; 7 × 1e4 = 7e4 → inf; 6e4 + 6e4 − 6e4 = 6e4;
# 1024 + 2046 × 0.5 = 2047 and 128 + 254 × 0.5 = 255, integers below 2^11 and 2^8, exact in their dtype.
EXACT_HALF = {
    "float16.exp_overflow": "inf",
    "float16.largest_finite": 65504.0,
    "float16.softmax_of_logits_plus_minus_1e4": "[1, 0]",
    "float16.softmax_of_logits_1e4_and_9992": "[1, 0.000335]",
    "float16.linear_overflow": "inf",
    "float16.linear_partial_sum_overflow": 60000.0,
    "float16.sum_accumulation": 2047.0,
    "float16.linear_accumulation": 2047.0,
    "bfloat16.sum_accumulation": 255.0,
    "bfloat16.linear_accumulation": 255.0,
}


def _half_rows(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {r["id"]: r["value"] for r in records if r["id"].startswith(("float16.", "bfloat16."))}


def test_half_precision_canonical_values_are_the_exact_results_rounded_to_the_dtype() -> None:
    """The reference's column of the half-precision rows is IEEE float16/bfloat16 with a wide accumulator."""
    assert _half_rows(cv.measure("reference")) == EXACT_HALF


def test_half_precision_readers_tell_the_behaviours_apart() -> None:
    """The readers name what a wrong half-precision result looks like: saturation, NaN from exp(1e4)."""
    from dlterms.conformance.conventions import readings

    assert readings.largest_finite([65504.0, math.inf]) == 65504.0
    assert readings.largest_finite([65504.0, 65504.0]) == "other (65504, 65504)"  # saturating arithmetic
    assert readings.softmax_pair([math.nan, 0.0]) == "[nan, 0]"  # exp(1e4)/Σexp = inf/inf
    assert readings.softmax_pair([0.9995117, 0.00033545]) == "[1, 0.000335]"


def test_torch_half_precision_facts_on_the_cpu() -> None:
    """PyTorch on the CPU: IEEE overflow, a stable float16 softmax, float32 accumulation in sum and linear."""
    pytest.importorskip("torch")
    got = cv.measure("torch")
    assert _half_rows(got) == EXACT_HALF
    assert _by_id(got)["float16.sum_accumulation"]["api"] == "torch.sum (float16, cpu)"


def test_numpy_half_precision_facts() -> None:
    """NumPy: float16 sum (pairwise) and matmul accumulate in float32; it has no softmax and no bfloat16."""
    got = _half_rows(cv.measure("numpy"))
    none = {"float16.softmax_of_logits_plus_minus_1e4", "float16.softmax_of_logits_1e4_and_9992"}
    none |= {"bfloat16.sum_accumulation", "bfloat16.linear_accumulation"}
    assert got == {k: None if k in none else v for k, v in EXACT_HALF.items()}


def test_jax_half_precision_facts() -> None:
    """JAX: jnp.sum upcasts float16/bfloat16 to accumulate, and so does its dot on the CPU."""
    pytest.importorskip("jax")
    assert _half_rows(cv.measure("jax")) == EXACT_HALF


def test_tensorflow_float16_sum_accumulates_in_float16() -> None:
    """TensorFlow: tf.math.reduce_sum keeps float16 partial sums (2032 here, not 2047), bfloat16 in float32."""
    pytest.importorskip("tensorflow")
    got = _by_id(cv.measure("tensorflow"))
    f16_sum = got["float16.sum_accumulation"]
    assert 1024.0 < f16_sum["value"] < 2047.0  # float16 partial sums in a tree order (2032 on this CPU)
    assert f16_sum["matches_canonical"] is False
    rest = {k: v for k, v in _half_rows(list(got.values())).items() if k != "float16.sum_accumulation"}
    assert rest == {k: v for k, v in EXACT_HALF.items() if k != "float16.sum_accumulation"}


class _HalfAccumulatingTorch:
    """torch with sum, softmax and linear computed the naive way: exp without max, float16 partial sums."""

    def __init__(self, torch: Any) -> None:
        self._t = torch
        functional = types.SimpleNamespace(softmax=self._softmax, linear=self._linear)
        self.nn = types.SimpleNamespace(functional=functional)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._t, name)

    def sum(self, x: Any) -> Any:
        acc = x[0]
        for v in x[1:]:  # one add at a time, each rounded to x's dtype
            acc = acc + v
        return acc

    def _softmax(self, x: Any, dim: int = -1) -> Any:
        e = self._t.exp(x)
        return e / self.sum(e)

    def _linear(self, x: Any, weight: Any) -> Any:
        return self._t.stack([self._t.stack([self.sum(row * w) for w in weight]) for row in x])


def test_a_torch_accumulating_in_float16_changes_the_readings(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fake torch whose sum and linear keep float16 partial sums and whose softmax skips the max is caught."""
    torch = pytest.importorskip("torch")
    monkeypatch.setitem(sys.modules, "torch", _HalfAccumulatingTorch(torch))  # what the probes' `import torch` gets
    got = _by_id(cv.measure("torch"))
    values = {cid: got[cid]["value"] for cid in EXACT_HALF}
    assert values == {
        **EXACT_HALF,
        "float16.softmax_of_logits_plus_minus_1e4": "[nan, 0]",  # exp(1e4) = inf: inf/inf
        "float16.softmax_of_logits_1e4_and_9992": "[nan, nan]",
        "float16.linear_partial_sum_overflow": "inf",  # 6e4 + 6e4 = 1.2e5 → inf, inf − 6e4 = inf
        "float16.sum_accumulation": 1024.0,  # 1024 + 0.5 = 1024.5 ties to 1024, every time
        "float16.linear_accumulation": 1024.0,
        "bfloat16.sum_accumulation": 128.0,
        "bfloat16.linear_accumulation": 128.0,
    }
    changed = {cid for cid in EXACT_HALF if values[cid] != EXACT_HALF[cid]}
    assert all(got[cid]["matches_canonical"] is False for cid in changed)


def test_the_conventions_page_states_the_half_precision_canonical_values() -> None:
    """docs/conventions.md's half-precision table names every such row with the canonical value measured."""
    import re
    from pathlib import Path

    page = (Path(__file__).parents[2] / "docs" / "conventions.md").read_text(encoding="utf-8")
    canonical = _half_rows(cv.measure("reference"))
    seen = set()
    for line in page.splitlines():
        cells = line.split("|")
        ids = re.findall(r"`(b?float16\.[a-z0-9_]+)`", cells[1]) if len(cells) > 4 else []
        for cid in ids:
            value = canonical[cid]
            shown = f"{value:g}" if isinstance(value, float) else value
            assert f"`{shown}`" in cells[3], (cid, shown, cells[3])
            seen.add(cid)
    assert seen == set(canonical)


def test_measuring_one_convention_gives_its_record_of_the_full_measurement() -> None:
    """``measure_backend(bk, only=id)`` is the one record of that convention that the full measurement gives."""
    from dlterms.conformance import load_backend
    from dlterms.conformance.conventions.registry import measure_backend

    bk = load_backend("numpy")
    full = {r["id"]: r for r in measure_backend(bk)}
    (one,) = measure_backend(bk, only="float32.subnormal_arithmetic")
    assert one == full["float32.subnormal_arithmetic"]


def test_smooth_rectifier_conventions_are_measured() -> None:
    """GELU's default form (JAX: the tanh form), softplus's threshold (torch: x from 21) and beta (torch only)."""
    canonical = _by_id(cv.measure("reference"))
    assert canonical["gelu.default_form"]["value"] == 0.841345  # Φ(1) = 0.8413447461 (mpmath)
    assert canonical["softplus.threshold"]["value"] == 34.0  # e^−34 < ulp(34)/2 = 3.55e−15 < e^−33
    assert canonical["softplus.has_beta"]["value"] is True
    assert canonical["elu.default_alpha"]["value"] == 1.0
    for fw, form, threshold, beta in [("torch", 0.841345, 21.0, True), ("jax", 0.841192, 34.0, False)]:
        pytest.importorskip(fw)
        got = _by_id(cv.measure(fw))
        assert got["gelu.default_form"]["value"] == form  # tanh form: 0.8411919906 (mpmath)
        assert got["softplus.threshold"]["value"] == threshold
        assert got["softplus.has_beta"]["value"] is beta
        assert got["elu.default_alpha"]["value"] == 1.0


def test_optimizer_and_initialisation_readers_tell_the_behaviours_apart() -> None:
    """Hand-computed results of each formulation read as it: SGD θ = −1.75 or −2, RMSprop's two first steps."""
    from dlterms.conformance.conventions import readings as r

    assert r.sgd_momentum_read([-1.75]).startswith("lr outside")  # θ1 = −1, v2 = 0.5·1 + 1, θ2 = −1 − 0.5·1.5
    assert r.sgd_momentum_read([-2.0]).startswith("lr inside")  # v1 = −1, v2 = 0.5·(−1) − 0.5, θ2 = −1 − 1
    assert r.sgd_momentum_read([-1.5]).startswith("other")
    # v = 0.5·10⁻¹²: 10⁻⁶/(7.0711e−7 + 10⁻⁶) = 0.585786 and 10⁻⁶/√(10⁻⁶ + 5·10⁻¹³) = 9.99999e−4, times lr = 0.1
    assert r.rmsprop_eps_read([-0.0585786]) == "sqrt(v) + eps"
    assert r.rmsprop_eps_read([-9.99999e-5]) == "sqrt(v + eps)"
    assert r.rmsprop_eps_read([-0.1]).startswith("other")
    assert r.dense_init_read([0.0, 0.0]) == "zeros"
    assert r.dense_init_read([0.0995, -0.02]) == "uniform(±1/√fan_in)"  # 1/√100 = 0.1
    assert r.dense_init_read([0.0534, 0.01]).endswith("(Glorot)")  # √(6/2100) = 0.05345
    assert r.dense_init_read([0.2]).startswith("other")


def test_optimizer_and_initialisation_conventions_match_the_documentation() -> None:
    """torch.optim's SGD puts lr outside the velocity, Keras' inside; RMSprop's ε and decay; dense layers' init."""
    expected = {
        "torch": ("outside", "sqrt(v) + eps", 0.99, 1e-8, "uniform(±1/√fan_in)", "uniform(±1/√fan_in)"),
        "jax": ("outside", "sqrt(v + eps)", 0.9, 1e-8, None, None),  # optax.rmsprop(eps_in_sqrt=True)
        "tensorflow": ("inside", "sqrt(v + eps)", 0.9, 1e-7, "uniform(±√(6/(fan_in + fan_out))) (Glorot)", "zeros"),
    }
    for fw, (lr_place, eps_place, decay, eps, weight, bias) in expected.items():
        pytest.importorskip(fw)
        probes = importlib.import_module(f"dlterms.conformance.conventions.{fw}")
        assert probes.sgd_momentum_formulation().startswith(f"lr {lr_place}"), fw
        assert probes.rmsprop_eps_placement() == eps_place, fw
        assert (probes.rmsprop_default_decay(), probes.rmsprop_default_eps()) == (decay, eps), fw
        if weight is not None:
            assert (probes.linear_default_weight_init(), probes.linear_default_bias_init()) == (weight, bias), fw
    canonical = _by_id(cv.measure("reference"))
    assert canonical["linear.default_weight_init"]["value"] is None
    assert canonical["sgd.momentum_formulation"]["value"].startswith("lr outside")  # sgd_momentum_step: PyTorch's
