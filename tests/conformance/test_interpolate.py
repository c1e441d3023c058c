"""interpolate (nearest and bilinear resampling): the adapters pass, broken ones are caught, conventions."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from dlterms.conformance import conventions as cv

from dlterms.ops import as_pair

TERM = "interpolation"


def _matrix(size_in: int, size_out: int, source: Callable[[int], float], *, edge: str) -> np.ndarray:
    """The (size_out, size_in) bilinear weights around each source coordinate; ``edge``: "clamp" reads the edge
    for a neighbour past it, "zero" drops it (its weight lost, as zero padding)."""
    a = np.zeros((size_out, size_in))
    for d in range(size_out):
        s = source(d)
        i0 = math.floor(s)
        for i, w in ((i0, 1 - (s - i0)), (i0 + 1, s - i0)):
            if 0 <= i < size_in:
                a[d, i] += w
            elif edge == "clamp":
                a[d, min(max(i, 0), size_in - 1)] += w
    return a


def _resampled(x: torch.Tensor, size, source: Callable[[int, int, int], float], *, edge: str = "clamp"):
    """x resampled with bilinear weights around ``source(d, H, n)`` along each axis."""
    (oh, ow), (h, w) = as_pair(size), x.shape[2:]
    a = torch.tensor(_matrix(h, oh, lambda d: source(d, h, oh), edge=edge), dtype=x.dtype)
    b = torch.tensor(_matrix(w, ow, lambda d: source(d, w, ow), edge=edge), dtype=x.dtype)
    return torch.einsum("ih,nchw,jw->ncij", a, x, b)


def _half_pixel(d: int, h: int, n: int) -> float:
    return (d + 0.5) * h / n - 0.5


def _align_corners_flipped(x, size, mode="nearest", align_corners=None):
    """Bilinear with align_corners negated (None read as True)."""
    if mode != "bilinear":
        return F.interpolate(x, size=tuple(as_pair(size)), mode=mode)
    return F.interpolate(x, size=tuple(as_pair(size)), mode=mode, align_corners=not align_corners)


def _no_half_pixel_offset(x, size, mode="nearest", align_corners=None):
    """Bilinear without align_corners reads s = d·H/n (TensorFlow 1's asymmetric map), not (d + ½)·H/n − ½."""
    if mode != "bilinear" or align_corners:
        return F.interpolate(x, size=tuple(as_pair(size)), mode=mode, align_corners=align_corners)
    return _resampled(x, size, lambda d, h, n: d * h / n)


def _size_swapped(x, size, mode="nearest", align_corners=None):
    """Reads size (h, w) as (w, h): the x and y axes swapped."""
    oh, ow = as_pair(size)
    return F.interpolate(x, size=(ow, oh), mode=mode, align_corners=align_corners)


def _zero_padded_edges(x, size, mode="nearest", align_corners=None):
    """Half-pixel bilinear whose neighbour past an edge is a zero (a transposed convolution's bilinear kernel)."""
    if mode != "bilinear" or align_corners:
        return F.interpolate(x, size=tuple(as_pair(size)), mode=mode, align_corners=align_corners)
    return _resampled(x, size, _half_pixel, edge="zero")


def _extrapolates_at_edges(x, size, mode="nearest", align_corners=None):
    """Half-pixel bilinear without the clamp at 0: s < 0 extrapolates from the first two inputs."""
    if mode != "bilinear" or align_corners:
        return F.interpolate(x, size=tuple(as_pair(size)), mode=mode, align_corners=align_corners)
    (oh, ow), (h, w) = as_pair(size), x.shape[2:]

    def axis(size_in: int, size_out: int) -> np.ndarray:
        a = np.zeros((size_out, size_in))
        for d in range(size_out):
            s = _half_pixel(d, size_in, size_out)
            i0 = min(max(math.floor(s), 0), max(size_in - 2, 0))  # the pair of inputs around s, or the edge pair
            lam = s - i0
            a[d, i0] += 1 - lam
            a[d, min(i0 + 1, size_in - 1)] += lam
        return a

    a, b = (torch.tensor(axis(i, o), dtype=x.dtype) for i, o in ((h, oh), (w, ow)))
    return torch.einsum("ih,nchw,jw->ncij", a, x, b)


def _nearest_rounds(x, size, mode="nearest", align_corners=None):
    """Nearest reading round(d·H/n) (half to even) instead of ⌊d·H/n⌋ or ⌊(d + ½)·H/n⌋."""
    if mode == "bilinear":
        return F.interpolate(x, size=tuple(as_pair(size)), mode=mode, align_corners=align_corners)
    (oh, ow), (h, w) = as_pair(size), x.shape[2:]
    rows = [min(round(d * h / oh), h - 1) for d in range(oh)]
    cols = [min(round(d * w / ow), w - 1) for d in range(ow)]
    return x[:, :, rows][:, :, :, cols]


def _nearest_blends(x, size, mode="nearest", align_corners=None):
    """Nearest computed as bilinear: outputs between two inputs are blends, not copies."""
    return F.interpolate(x, size=tuple(as_pair(size)), mode="bilinear", align_corners=align_corners)


@pytest.mark.parametrize(
    ("impl", "expected"),
    [
        (_align_corners_flipped, "interpolate.align_corners_keeps_the_corners"),
        (_align_corners_flipped, "interpolate.bilinear_doubling_weights"),
        (_no_half_pixel_offset, "interpolate.bilinear_doubling_weights"),
        (_size_swapped, "interpolate.identity_at_input_size"),
        (_zero_padded_edges, "interpolate.constant_stays_constant"),
        (_extrapolates_at_edges, "interpolate.bilinear_within_the_input_range"),
        (_nearest_rounds, "interpolate.nearest_integer_factor_repeats"),
        (_nearest_blends, "interpolate.nearest_copies_input_values"),
    ],
)
def test_broken_interpolate_exits_1_naming_the_invariant(conform, broken_backend, impl, expected) -> None:
    """A deliberately broken interpolate makes `dlterms conform` exit 1, naming the violated invariant."""
    run = conform(broken_backend("torch", interpolate=impl), "--terms", TERM, "--max-examples", "30")
    assert run.code == 1
    assert expected in run.failed_invariants()
    row = next(r for r in run.rows("fail") if r["invariant"] == expected)
    assert row["counterexample"] is not None


@pytest.mark.parametrize("backend", ["reference", "torch"])
def test_interpolate_passes_on_the_reference_and_torch(conform, backend: str) -> None:
    """interpolate passes every invariant on the reference and on PyTorch's F.interpolate."""
    run = conform(backend, "--terms", TERM, "--max-examples", "15")
    assert run.code == 0, run.failed_invariants()
    assert "interpolate.bilinear_doubling_weights" in {r["invariant"] for r in run.rows("pass")}


@pytest.mark.parametrize("framework", ["jax", "tensorflow"])
def test_interpolate_passes_on_jax_and_tensorflow(conform, framework: str) -> None:
    """JAX's jax.image.resize and scale_and_translate, and TensorFlow's resize kernels, pass every invariant."""
    pytest.importorskip(framework)
    run = conform(framework, "--terms", TERM, "--max-examples", "5")
    assert run.code == 0, run.failed_invariants()


def test_tensorflow_sets_aside_float64_bilinear_because_its_kernels_return_float32() -> None:
    """tf.image.resize's bilinear kernel returns float32 for a float64 image, so a float64 bilinear case is set
    aside (there is no float64 kernel to check); float32 bilinear and float64 nearest are TensorFlow's own."""
    pytest.importorskip("tensorflow")
    import tensorflow as tf
    from dlterms.conformance.backends import tensorflow as tf_backend
    from dlterms.conformance.checks import UnsupportedCase

    x = tf.constant([[[[0.0, 1.0]]]], dtype=tf.float64)
    assert tf.image.resize(tf.transpose(x, (0, 2, 3, 1)), (1, 4)).dtype == tf.float32
    for align_corners in (None, False, True):
        with pytest.raises(UnsupportedCase, match="float32 only"):
            tf_backend.interpolate(x, (1, 4), "bilinear", align_corners)
    y = tf_backend.interpolate(tf.cast(x, tf.float32), (1, 4), "bilinear")
    assert y.dtype == tf.float32 and y.numpy().ravel().tolist() == [0.0, 0.25, 0.75, 1.0]
    assert tf_backend.interpolate(x, (1, 4)).dtype == tf.float64  # nearest keeps the dtype


def _conventions(framework: str) -> dict[str, object]:
    return {r["id"]: r["value"] for r in cv.measure(framework) if r["id"].startswith("interpolate.")}


def test_the_reference_and_torch_interpolation_conventions() -> None:
    """The reference and PyTorch: half-pixel bilinear, legacy ⌊d·H/n⌋ nearest, no antialiasing, nearest layers;
    PyTorch's scale_factor puts 1/scale_factor in the coordinate map."""
    canonical, torch_row = _conventions("reference"), _conventions("torch")
    for row in (canonical, torch_row):
        assert row["interpolate.align_corners_default"] == "align_corners=False (half-pixel centres)"
        assert row["interpolate.nearest_rounding"] == "⌊d·H/n⌋ (legacy)"
        assert row["interpolate.antialias_default"] is False
        assert row["interpolate.upsampling_layer_mode"] == "nearest"
        assert row["interpolate.bilinear_output_dtype"] == "float64"
    assert canonical["interpolate.scale_factor_coordinates"] is None
    assert torch_row["interpolate.scale_factor_coordinates"] == "1/scale_factor"


def test_jax_and_tensorflow_interpolation_conventions() -> None:
    """JAX and TensorFlow round nearest at half-pixel centres; JAX antialiases when shrinking; TensorFlow's bilinear
    returns float32; Keras' UpSampling2D is nearest."""
    pytest.importorskip("jax")
    pytest.importorskip("tensorflow")
    jax_row, tf_row = _conventions("jax"), _conventions("tensorflow")
    for row in (jax_row, tf_row):
        assert row["interpolate.align_corners_default"] == "align_corners=False (half-pixel centres)"
        assert row["interpolate.nearest_rounding"] == "⌊(d + ½)·H/n⌋ (half-pixel)"
    assert jax_row["interpolate.antialias_default"] is True
    assert tf_row["interpolate.antialias_default"] is False
    assert (jax_row["interpolate.bilinear_output_dtype"], tf_row["interpolate.bilinear_output_dtype"]) == (
        "float64",
        "float32",
    )
    assert tf_row["interpolate.upsampling_layer_mode"] == "nearest"
    assert jax_row["interpolate.upsampling_layer_mode"] is None


@pytest.mark.parametrize(
    ("read", "values", "expected"),
    [
        ("coordinate_map_read", [0.0, 0.5, 1.0, 1.0], "asymmetric (s = d·H/n)"),
        ("coordinate_map_read", [0.0, 1 / 3, 2 / 3, 1.0], "align_corners=True (corners aligned)"),
        ("nearest_rounding_read", [0.0, 2.0, 4.0], "⌊(d + ½)·H/n⌋ (half-pixel)"),
        ("antialias_read", [3 / 7, 2.0, 25 / 7], True),
        ("scale_factor_read", [0.0, 0.625, 1.375, 2.0], "H/n (the sizes)"),
    ],
)
def test_interpolation_readers_name_each_pattern(read: str, values: list[float], expected: object) -> None:
    """Each reader names the pattern its probe's hand-computed output has (TensorFlow 1's map, JAX's kernel, ...)."""
    from dlterms.conformance.conventions import reference as canonical

    assert getattr(canonical, read)(values) == expected


def test_the_interpolation_sensitivity_by_hand() -> None:
    """[0, 1] doubled bilinearly: terms 0, ¼, ¾, 1 plus (|s| + 1)·|x₁ − x₀| at s = 0, ¼, ¾, 1 (clamped): 1, 1.5, 2.5, 3;
    nearest copies, so 0."""
    from dlterms.conformance.sensitivities import sensitivity

    case = {"x": [[[[0.0, 1.0]]]], "size": [1, 4], "mode": "bilinear"}
    (s,) = sensitivity("interpolation", case, [np.zeros((1, 1, 1, 4))])
    assert s.ravel().tolist() == [1.0, 1.5, 2.5, 3.0]
    (s,) = sensitivity("interpolation", {**case, "mode": "nearest"}, [np.zeros((1, 1, 1, 4))])
    assert s.ravel().tolist() == [0.0] * 4


def test_torch_float32_coordinates_need_the_coordinate_term() -> None:
    """64 rows of ±2 shrunk to 27 aligning corners (s up to 63): torch's float32 source coordinates put some output
    beyond the absolute bound (atol 1e-5, rtol 1.3e-6) but within the relative bound with the coordinate term."""
    from dlterms.conformance import tolerances
    from dlterms.conformance.sensitivities import sensitivity

    x = np.where(np.arange(64) % 2 == 0, 2.0, -2.0).reshape(1, 1, 64, 1)
    s = np.arange(27) * 63 / 26  # d·(H − 1)/(n − 1), float64: within 1e-13 of the exact coordinate
    i0 = np.minimum(np.floor(s).astype(int), 62)
    lam = s - i0
    exact = (1 - lam) * x[0, 0, i0, 0] + lam * x[0, 0, i0 + 1, 0]
    got = F.interpolate(torch.tensor(x, dtype=torch.float32), size=(27, 1), mode="bilinear", align_corners=True)
    err = np.abs(got.double().numpy().ravel() - exact)
    assert (err > 1e-5 + 1.3e-6 * np.abs(exact)).any()
    case = {"x": x.tolist(), "size": [27, 1], "mode": "bilinear", "align_corners": True}
    bound = tolerances.relative("float32", "interpolation")
    (sens,) = sensitivity("interpolation", case, [exact.reshape(1, 1, 27, 1)])
    assert (err <= bound.allowed(exact, sens.ravel())).all()


def test_a_coordinate_rounded_across_an_integer_is_held_to_the_neighbouring_pair() -> None:
    """[¼, 0, 0] to 7 columns aligning corners: output 3 reads s = 1 exactly, so y = x₁ = 0. JAX (seed 19 of the
    no-false-alarm run) computes s just below 1 and returns ¼·2⁻⁵² = 5.55e−17 from the pair (x₀, x₁), whose difference
    is ¼, where the pair (x₁, x₂) around the exact s differs by 0. The bound takes the larger: it allows JAX's value
    in float32 and float64 (2.2e−308 before, λ alone), and still catches an error of 2⁻⁴⁴ (over 16u·2·¼)."""
    from dlterms.conformance import tolerances
    from dlterms.conformance.sensitivities import sensitivity

    case = {"x": [[[[0.25, 0.0, 0.0]]]], "size": [1, 7], "mode": "bilinear", "align_corners": True}
    exact = np.array([0.25, 0.125, 0.0, 0.0, 0.0, 0.0, 0.0]).reshape(1, 1, 1, 7)  # s = d/3: x₀·(1 − s) for s ≤ 1
    (sens,) = sensitivity("interpolation", case, [exact])
    assert sens[0, 0, 0, 3] == 2.0 * 0.25  # (|s| + 1)·|x₀ − x₁|: the neighbouring pair's difference
    assert sens[0, 0, 0, 5] == 0.0  # s = 5/3, 2/3 from any integer: its own pair (x₁, x₂) only
    jax_value = 0.25 * 2.0**-52
    allowed64 = tolerances.relative("float64", "interpolation").allowed(exact, sens)[0, 0, 0, 3]
    allowed32 = tolerances.relative("float32", "interpolation").allowed(exact, sens)[0, 0, 0, 3]
    assert jax_value <= allowed64 < 2.0**-44 and jax_value <= allowed32


def test_the_interpolation_model_rounds_coordinates_as_the_coarsest_dtype() -> None:
    """The crossing of an integer is judged with bfloat16's unit roundoff, the largest of the dtypes checked."""
    from dlterms.conformance import sensitivities, tolerances

    assert max(tolerances.UNIT_ROUNDOFF.values()) == sensitivities.COARSEST_UNIT_ROUNDOFF


def test_jax_rounds_an_integer_coordinate_into_the_pair_below() -> None:
    """The JAX case of seed 19, measured: 5.55e−17 at column 3 in float64, where the value is 0."""
    pytest.importorskip("jax")
    from dlterms.conformance.backends import jax as jxb

    x = jxb.asarray([[[[0.25, 0.0, 0.0]]]], "float64")
    y = np.asarray(jxb.interpolate(x, size=(1, 7), mode="bilinear", align_corners=True))
    assert y[0, 0, 0, 3] == 0.25 * 2.0**-52
