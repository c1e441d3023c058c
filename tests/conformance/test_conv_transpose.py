"""conv_transpose2d: the adapters pass, broken ones are caught, conventions, PyTorch's bfloat16 accuracy."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from dlterms.conformance import conventions as cv
from dlterms.conformance import known_defects

from dlterms.ops import as_pair

TERM = "transposed-convolution"


def _not_flipped(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Flips the kernel: as a scatter through conv2d with lhs dilation that forgot to flip it."""
    return F.conv_transpose2d(
        x, weight.flip(-2, -1), bias, as_pair(stride), as_pair(padding), as_pair(output_padding), groups,
        as_pair(dilation),
    )  # fmt: skip


def _output_padding_at_the_start(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Adds output_padding's rows and columns at the top and left instead of the bottom and right."""
    oph, opw = as_pair(output_padding)
    y = F.conv_transpose2d(x, weight, None, as_pair(stride), as_pair(padding), 0, groups, as_pair(dilation))
    y = F.pad(y, (opw, 0, oph, 0))
    return y if bias is None else y + bias[None, :, None, None]


def _groups_mixed_up(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Each group reads the next group's kernels."""
    shifted = weight.roll(weight.shape[0] // groups, dims=0)
    hyper = (as_pair(stride), as_pair(padding), as_pair(output_padding), groups, as_pair(dilation))
    return F.conv_transpose2d(x, shifted, bias, *hyper)


def _output_padding_ignored(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Drops output_padding."""
    return F.conv_transpose2d(x, weight, bias, as_pair(stride), as_pair(padding), 0, groups, as_pair(dilation))


def _offset(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Adds 0.25 to every output, as a bias that is never None."""
    hyper = (as_pair(stride), as_pair(padding), as_pair(output_padding), groups, as_pair(dilation))
    return F.conv_transpose2d(x, weight, bias, *hyper) + 0.25


@pytest.mark.parametrize(
    ("impl", "expected"),
    [
        (_not_flipped, "conv_transpose2d.adjoint_of_conv2d"),
        (_groups_mixed_up, "conv_transpose2d.adjoint_of_conv2d"),
        (_output_padding_at_the_start, "conv_transpose2d.output_padding_at_the_end"),
        (_output_padding_ignored, "conv_transpose2d.output_shape"),
        (_offset, "conv_transpose2d.linear_in_input"),
    ],
)
def test_broken_conv_transpose2d_exits_1_naming_the_invariant(conform, broken_backend, impl, expected: str) -> None:
    """A deliberately broken conv_transpose2d makes `dlterms conform` exit 1, naming the violated invariant."""
    run = conform(broken_backend("torch", conv_transpose2d=impl), "--terms", TERM, "--max-examples", "30")
    assert run.code == 1
    assert expected in run.failed_invariants()
    row = next(r for r in run.rows("fail") if r["invariant"] == expected)
    assert row["counterexample"] is not None


@pytest.mark.parametrize("backend", ["reference", "numpy", "torch"])
def test_conv_transpose2d_passes_on_the_reference_numpy_and_torch(conform, backend: str) -> None:
    """conv_transpose2d passes every invariant on the reference, NumPy (forward) and PyTorch."""
    run = conform(backend, "--terms", TERM, "--max-examples", "15")
    assert run.code == 0, run.failed_invariants()
    assert {r["invariant"] for r in run.rows("pass")} >= {
        "conv_transpose2d.adjoint_of_conv2d",
        "conv_transpose2d.output_padding_at_the_end",
    }


def _measured(framework: str) -> dict[str, object]:
    """The conv_transpose2d rows a framework has an API for (a row it has none for is None and left out)."""
    rows = cv.measure(framework)
    return {r["id"]: r["value"] for r in rows if r["id"].startswith("conv_transpose2d.") and r["value"] is not None}


def test_the_reference_and_torch_conv_transpose2d_conventions() -> None:
    """PyTorch's layout (in, out/groups, kH, kW), the adjoint of conv2d, output_padding < max(stride, dilation);
    torch refuses padding="same" for a transposed convolution."""
    expected = {
        "conv_transpose2d.kernel_layout": "(in, out, kH, kW)",
        "conv_transpose2d.adjoint_by_default": "the adjoint of conv2d",
        "conv_transpose2d.output_padding_limit": "≤ 1 at stride 2; ≤ 1 at stride 1 with dilation 2",
    }
    assert _measured("reference") == expected
    assert _measured("torch") == {**expected, "conv_transpose2d.same_padding": "rejected (TypeError)"}


def test_jax_conv_transpose_flips_the_kernel_by_default() -> None:
    """jax.lax.conv_transpose takes an HWIO kernel (I its input) and, with transpose_kernel=False, is not conv2d's
    adjoint; it has no output_padding argument; "SAME" gives H·s."""
    pytest.importorskip("jax")
    assert _measured("jax") == {
        "conv_transpose2d.kernel_layout": "(kH, kW, in, out)",
        "conv_transpose2d.adjoint_by_default": "kernel flipped (not the adjoint of conv2d)",
        "conv_transpose2d.same_padding": "6 (H·s)",
    }


def test_tensorflow_conv_transpose_layout_and_keras_output_padding_rule() -> None:
    """tf.nn.conv2d_transpose takes (kH, kW, out, in) and is conv2d's adjoint; Keras' Conv2DTranspose requires
    output_padding < strides, dilation or not; "same" gives H·s."""
    pytest.importorskip("tensorflow")
    assert _measured("tensorflow") == {
        "conv_transpose2d.kernel_layout": "(kH, kW, out, in)",
        "conv_transpose2d.adjoint_by_default": "the adjoint of conv2d",
        "conv_transpose2d.output_padding_limit": "≤ 1 at stride 2; ≤ 0 at stride 1 with dilation 2",
        "conv_transpose2d.same_padding": "6 (H·s)",
    }


def test_torch_bfloat16_conv_transpose2d_is_less_accurate_than_conv2d_of_the_same_sums() -> None:
    """PyTorch 2.13's CPU bfloat16 conv_transpose2d misses the absolute bound where conv2d of the same sums (its
    kernel flipped and transposed) meets it: the documented size-tier defect, on CPUs whose kernel shows it (on one
    with avx512_bf16 it meets the bound, and the test is skipped)."""
    assert "conv_transpose2d.matches_reference_at_sizes[bfloat16]" in known_defects.BFLOAT16_CONV_TRANSPOSE_DEFECTS
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.integers(-8, 9, (2, 16, 9, 8)) * 0.25)
    w = torch.tensor(rng.integers(-8, 9, (16, 16, 3, 3)) * 0.25)
    exact = F.conv_transpose2d(x, w, padding=1)  # quarters: exact in float64
    same_sums = F.conv2d(x.bfloat16(), w.transpose(0, 1).flip(-2, -1).bfloat16(), padding=1).double()
    transposed = F.conv_transpose2d(x.bfloat16(), w.bfloat16(), padding=1).double()
    assert torch.equal(F.conv2d(x, w.transpose(0, 1).flip(-2, -1), padding=1), exact)
    bound = 0.016 * exact.abs() + 1e-5  # the bfloat16 forward tolerance (rtol, atol)
    assert int(((same_sums - exact).abs() > bound).sum()) == 0
    if int(((transposed - exact).abs() > bound).sum()) == 0:
        # Measured on an AMD EPYC with avx512_bf16 (this session's machine), where PyTorch takes another kernel.
        pytest.skip("this CPU's bfloat16 conv_transpose2d kernel meets the bound: the defect is another kernel's")


@pytest.mark.parametrize("framework", ["jax", "tensorflow"])
@pytest.mark.parametrize(
    ("stride", "padding", "output_padding", "dilation", "groups"),
    [
        ((2, 1), (1, 0), (1, 0), (1, 1), 1),
        ((1, 2), (0, 1), (1, 1), (2, 1), 2),  # output_padding ≥ stride where the dilation allows it
        ((3, 2), (2, 1), (2, 1), (2, 2), 1),  # stride and dilation together (TensorFlow: the kernel dilated)
        ((1, 1), (1, 1), (0, 0), (1, 1), 4),  # depthwise
    ],
)
def test_translation_matches_torch(framework: str, stride, padding, output_padding, dilation, groups) -> None:
    """The JAX and TensorFlow adapters' translation (weight layout, padding, output_padding, dilation, groups) equals
    torch.nn.functional.conv_transpose2d in float64."""
    pytest.importorskip(framework)
    import importlib

    bk = importlib.import_module(f"dlterms.conformance.backends.{framework}")
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((2, 4, 5, 4)), rng.standard_normal((4, 8 // groups, 3, 2)), rng.standard_normal(8)
    hyper = {"stride": stride, "padding": padding, "output_padding": output_padding, "dilation": dilation}
    expected = F.conv_transpose2d(*(torch.tensor(a) for a in (x, w, b)), groups=groups, **hyper).numpy()
    args = (bk.asarray(a.tolist(), "float64") for a in (x, w, b))
    got = bk.to_numpy(bk.conv_transpose2d(*args, groups=groups, **hyper))
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
