"""The JAX adapter: 64-bit mode, its compiled paths against plain JAX and NumPy, and one full conformance run."""

from __future__ import annotations

import itertools
import json
from typing import Any

import numpy as np
import pytest

pytest.importorskip("jax")

import jax
from dlterms.conformance.backends import CANONICAL_OPS, OpCall
from dlterms.conformance.backends import jax as jxb
from dlterms.reference.conv import conv_output_size

RNG = np.random.default_rng(7)


def _j(a: np.ndarray, dtype: str = "float64") -> Any:
    return jxb.asarray(a.tolist(), dtype)


def test_adapter_enables_64_bit_types() -> None:
    """Importing the adapter turns on jax_enable_x64, so float64 is really float64 (not silently float32)."""
    assert jax.config.jax_enable_x64
    x = _j(np.array([1 / 3]))
    assert str(x.dtype) == "float64" and jxb.to_numpy(x)[0] == 1 / 3


def test_static_arguments_may_be_lists() -> None:
    """stride=[2, 1] (a JSON-style list) works under jit and equals stride=(2, 1)."""
    x, w = _j(RNG.standard_normal((1, 2, 5, 5))), _j(RNG.standard_normal((3, 2, 2, 2)))
    a = jxb.to_numpy(jxb.conv2d(x, w, stride=[2, 1], padding=[1, 0]))
    b = jxb.to_numpy(jxb.conv2d(x, w, stride=(2, 1), padding=(1, 0)))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("op", "kwargs", "args"),
    [
        ("leaky_relu", {"negative_slope": 0.3}, ("x",)),
        ("conv2d", {"stride": [2, 1], "padding": 1, "dilation": 1, "groups": 1}, ("x", "weight", "bias")),
        ("avg_pool2d", {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False}, ("x",)),
    ],
)
def test_compiled_vjp_equals_plain_jax_vjp(op: str, kwargs: dict[str, Any], args: tuple[str, ...]) -> None:
    """vjp of an OpCall (one jitted function, floats traced, the rest static) gives jax.vjp's numbers."""
    shapes = {"x": (2, 2, 5, 4), "weight": (3, 2, 2, 2), "bias": (3,)}
    primals = tuple(_j(RNG.standard_normal(shapes[a])) for a in args)
    call = OpCall(jxb, op, kwargs, args)
    out = call(*primals)
    cot = _j(RNG.standard_normal(out.shape))
    compiled = jxb.vjp(call, primals, cot)
    plain = jax.vjp(lambda *p: call(*p), *primals)[1](cot)
    for c, p in zip(compiled, plain, strict=True):
        np.testing.assert_allclose(jxb.to_numpy(c), jxb.to_numpy(p), rtol=1e-13, atol=1e-13)


def test_vjp_differentiates_the_op_of_the_calls_backend() -> None:
    """A wrapped adapter with one op replaced is differentiated through its own op, not the original's."""
    import types

    patched = types.SimpleNamespace(**{k: getattr(jxb, k) for k in dir(jxb) if not k.startswith("_")})
    patched.relu = lambda x: 3.0 * x  # a wrong relu: its gradient is 3 everywhere
    x = _j(np.array([-1.0, 2.0]))
    (g,) = jxb.vjp(OpCall(patched, "relu"), (x,), _j(np.ones(2)))
    assert jxb.to_numpy(g).tolist() == [3.0, 3.0]


def test_avg_pool2d_excluding_padding_matches_numpy() -> None:
    """count_include_pad=False divides each window sum by its cells inside x (counted one by one)."""
    x = RNG.standard_normal((1, 2, 5, 4))
    got = jxb.to_numpy(jxb.avg_pool2d(_j(x), 3, 2, 1, count_include_pad=False))
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    inside = np.pad(np.ones((5, 4)), 1)
    oh, ow = conv_output_size(5, 3, 2, 1), conv_output_size(4, 3, 2, 1)
    expected = np.zeros((1, 2, oh, ow))
    for i, j in itertools.product(range(oh), range(ow)):
        window = (slice(2 * i, 2 * i + 3), slice(2 * j, 2 * j + 3))
        expected[:, :, i, j] = xp[:, :, window[0], window[1]].sum(axis=(2, 3)) / inside[window].sum()
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-13)


def test_max_pool2d_pads_with_minus_infinity() -> None:
    """Padded cells never win a max, even over negative inputs."""
    x = -1.0 - RNG.random((1, 1, 3, 3))
    got = jxb.to_numpy(jxb.max_pool2d(_j(x), 2, 1, 1))
    assert got[0, 0, 0, 0] == x[0, 0, 0, 0] and (got < 0).all()


# --- one full run -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def jax_run(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from dlterms.cli import main

    path = tmp_path_factory.mktemp("jax") / "report.json"
    code = main(["conform", "--backend", "jax", "--device", "cpu", "--max-examples", "5", "-q", "--json", str(path)])
    return code, json.loads(path.read_text())


def test_jax_covers_every_canonical_op(jax_run: Any) -> None:
    """Every canonical op is implemented, and no check is unsupported in float32 or float64."""
    _, report = jax_run
    assert report["backend"]["supported_ops"] == list(CANONICAL_OPS)
    assert {r["dtype"] for r in report["results"]} == {"float32", "float64"}
    assert [r["id"] for r in report["results"] if r["status"] == "unsupported"] == []


def test_jax_translations_agree_with_the_reference(jax_run: Any) -> None:
    """Every op, forward and gradient, agrees with the reference (the translations hold), and nothing errors."""
    _, report = jax_run
    assert [r["id"] for r in report["results"] if r["status"] == "error"] == []
    generic = [r for r in report["results"] if r["kind"] in ("reference", "gradient")]
    assert {r["invariant"].split(".")[0] for r in generic} >= set(CANONICAL_OPS)
    assert [r["id"] for r in generic if r["status"] != "pass"] == []


def test_jax_passes_every_invariant(jax_run: Any) -> None:
    """`dlterms conform --backend jax` exits 0: no invariant fails (flush-to-zero and float32 tanh
    saturation are conventions the invariants leave out, and `dlterms conventions` reports them)."""
    code, report = jax_run
    assert [r["id"] for r in report["results"] if r["status"] == "fail"] == []
    assert code == 0
    ftz = next(c for c in report["conventions"] if c["id"] == "float32.subnormal_arithmetic")
    assert ftz["value"] == "zero"


def test_jax_report_records_device_and_versions(jax_run: Any) -> None:
    """The report names the device, the jax and jaxlib versions and the matmul precision."""
    _, report = jax_run
    backend = report["backend"]
    assert backend["device"] == "cpu:0"
    assert set(backend["framework_versions"]) == {"jax", "jaxlib"}
    assert "jax_default_matmul_precision" in backend["math_modes"]
    assert backend["reduced_precision"] == []
