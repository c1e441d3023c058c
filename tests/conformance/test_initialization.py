"""Weight initialisation: the adapters pass, deliberately broken ones are caught (each invariant by one), the
statistical bounds and the conventions measured."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from dlterms.conformance import conventions as cv
from dlterms.conformance.invariants.initialization import STAT_SHAPES, TRUNCATED_STD, UNITS, expected_scale

TERMS = "xavier-initialization,kaiming-initialization"


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _gain(a: float, nonlinearity: str) -> float:
    return torch.nn.init.calculate_gain(nonlinearity, a)


# --- broken deterministic maps ----------------------------------------------------------------------


def _xavier_uniform_sqrt3(u: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
    fan_in, fan_out = _fans(tuple(u.shape))
    b = gain * math.sqrt(3.0 / (fan_in + fan_out))  # √(3/…) instead of √(6/…): half the variance
    return u * 2 * b - b


def _xavier_uniform_unshifted(u: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
    fan_in, fan_out = _fans(tuple(u.shape))
    return u * gain * math.sqrt(6.0 / (fan_in + fan_out))  # uniform on [0, b): the shift −b forgotten


def _kaiming_uniform_unshifted(u, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):  # type: ignore[no-untyped-def]
    fan_in, fan_out = _fans(tuple(u.shape))
    return u * _gain(a, nonlinearity) * math.sqrt(3.0 / (fan_in if mode == "fan_in" else fan_out))


def _kaiming_uniform_swapped(u, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):  # type: ignore[no-untyped-def]
    fan_out, fan_in = _fans(tuple(u.shape))  # fan_in and fan_out swapped
    b = _gain(a, nonlinearity) * math.sqrt(3.0 / (fan_in if mode == "fan_in" else fan_out))
    return u * 2 * b - b


def _xavier_normal_dense_fans(z: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
    fan_in, fan_out = z.shape[1], z.shape[0]  # the receptive field of a convolution forgotten
    return z * gain * math.sqrt(2.0 / (fan_in + fan_out))


def _xavier_normal_clipped(z: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
    fan_in, fan_out = _fans(tuple(z.shape))
    return torch.clamp(z, -2.0, 2.0) * gain * math.sqrt(2.0 / (fan_in + fan_out))  # "truncated" by clipping


def _kaiming_normal_clipped(z, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):  # type: ignore[no-untyped-def]
    fan_in, fan_out = _fans(tuple(z.shape))
    return torch.clamp(z, -2.0, 2.0) * _gain(a, nonlinearity) / math.sqrt(fan_in if mode == "fan_in" else fan_out)


def _kaiming_normal_swapped(z, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):  # type: ignore[no-untyped-def]
    fan_out, fan_in = _fans(tuple(z.shape))
    return z * _gain(a, nonlinearity) / math.sqrt(fan_in if mode == "fan_in" else fan_out)


# --- broken random draws ----------------------------------------------------------------------------


def _empty(shape: tuple[int, ...], seed: int) -> tuple[torch.Tensor, torch.Generator]:
    return torch.empty(shape, dtype=torch.float32), torch.Generator().manual_seed(seed)


def _random_xavier_uniform_sqrt3(kind, shape, seed, dtype="float32", **options):  # type: ignore[no-untyped-def]
    w, g = _empty(shape, seed)
    b = expected_scale(kind, shape, **options) / math.sqrt(2.0)  # √(3/…) instead of √(6/…)
    return torch.nn.init.uniform_(w, -b, b, generator=g)


def _random_uniform_skewed(kind, shape, seed, dtype="float32", **options):  # type: ignore[no-untyped-def]
    # within ±b and reaching both ends, but b·(2u² − 1) has mean −b/3: only the moments can tell
    b = expected_scale(kind, shape, **options)
    u = torch.rand(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float32)
    return b * (2 * u * u - 1)


def _random_kaiming_swapped(kind, shape, seed, dtype="float32", a=0.0, mode="fan_in", nonlinearity="leaky_relu"):  # type: ignore[no-untyped-def]
    w, g = _empty(shape, seed)
    swapped = "fan_out" if mode == "fan_in" else "fan_in"
    init = torch.nn.init.kaiming_uniform_ if kind == "kaiming_uniform" else torch.nn.init.kaiming_normal_
    return init(w, a=a, mode=swapped, nonlinearity=nonlinearity, generator=g)


def _random_truncated_uncorrected(kind, shape, seed, dtype="float32", **options):  # type: ignore[no-untyped-def]
    # a normal truncated at ±2σ with σ the formula's: its variance is 0.774·σ², not σ²
    w, g = _empty(shape, seed)
    s = expected_scale(kind, shape, **options)
    return torch.nn.init.trunc_normal_(w, 0.0, s, -2 * s, 2 * s, generator=g)


@pytest.mark.parametrize(
    ("op", "impl", "expected"),
    [
        ("xavier_uniform", _xavier_uniform_sqrt3, "xavier_uniform.ends_at_the_scale_on_a_conv_shape"),
        ("xavier_uniform", _xavier_uniform_unshifted, "xavier_uniform.odd_about_one_half"),
        ("xavier_normal", _xavier_normal_dense_fans, "xavier_normal.ends_at_the_scale_on_a_conv_shape"),
        ("xavier_normal", _xavier_normal_clipped, "xavier_normal.linear_in_z"),
        ("kaiming_uniform", _kaiming_uniform_swapped, "kaiming_uniform.ends_at_the_scale_on_a_conv_shape"),
        ("kaiming_uniform", _kaiming_uniform_unshifted, "kaiming_uniform.odd_about_one_half"),
        ("kaiming_normal", _kaiming_normal_swapped, "kaiming_normal.ends_at_the_scale_on_a_conv_shape"),
        ("kaiming_normal", _kaiming_normal_clipped, "kaiming_normal.linear_in_z"),
        ("random_init", _random_xavier_uniform_sqrt3, "xavier_uniform.random_within_and_reaching_the_bound"),
        ("random_init", _random_xavier_uniform_sqrt3, "xavier_uniform.random_moments_match"),
        ("random_init", _random_truncated_uncorrected, "xavier_normal.random_moments_match"),
        ("random_init", _random_kaiming_swapped, "kaiming_uniform.random_within_and_reaching_the_bound"),
        ("random_init", _random_uniform_skewed, "kaiming_uniform.random_moments_match"),
        ("random_init", _random_truncated_uncorrected, "kaiming_normal.random_moments_match"),
    ],
)
def test_broken_initialisation_exits_1_naming_the_invariant(
    conform, broken_backend, op: str, impl, expected: str
) -> None:  # type: ignore[no-untyped-def]
    """A deliberately broken initialiser makes `dlterms conform` exit 1, naming the violated invariant."""
    term = expected.split(".")[0].split("_")[0] + "-initialization"
    run = conform(broken_backend("torch", **{op: impl}), "--terms", term, "--dtype", "float32", "--max-examples", "10")
    assert run.code == 1
    assert expected in run.failed_invariants()
    row = next(r for r in run.rows("fail") if r["invariant"] == expected)
    assert row["counterexample"] is not None


def test_a_skewed_uniform_passes_the_bounds_and_fails_the_moments_only(conform, broken_backend) -> None:
    """b·(2u² − 1) stays within ±b and reaches both ends: only the moment check catches its mean −b/3."""
    run = conform(
        broken_backend("torch", random_init=_random_uniform_skewed),
        "--terms",
        "kaiming-initialization",
        "--dtype",
        "float32",
        "--max-examples",
        "5",
    )
    assert "kaiming_uniform.random_within_and_reaching_the_bound" in {r["invariant"] for r in run.rows("pass")}
    assert "kaiming_uniform.random_moments_match" in run.failed_invariants()


@pytest.mark.parametrize("backend", ["reference", "numpy", "torch"])
def test_initialisation_passes_on_the_reference_numpy_and_torch(conform, backend: str) -> None:
    """Every initialisation invariant a backend can run passes (NumPy: forward only, no random_init)."""
    run = conform(backend, "--terms", TERMS, "--max-examples", "10")
    assert run.code == 0, run.failed_invariants()
    assert "kaiming_uniform.ends_at_the_scale_on_a_conv_shape" in {r["invariant"] for r in run.rows("pass")}


@pytest.mark.parametrize("framework", ["jax", "tensorflow"])
def test_initialisation_passes_on_jax_and_keras_with_their_layout_translated(conform, framework: str) -> None:
    """JAX's and Keras' own (*kernel, in, out) initialisers pass the statistical checks on canonical shapes."""
    pytest.importorskip(framework)
    run = conform(framework, "--terms", TERMS, "--dtype", "float32", "--max-examples", "5")
    assert run.code == 0, run.failed_invariants()
    assert {r["invariant"] for r in run.rows("pass")} >= {
        "xavier_normal.random_moments_match",
        "kaiming_normal.random_moments_match",
        "kaiming_uniform.random_within_and_reaching_the_bound",
    }


def test_expected_scale_is_glorots_and_hes_formula() -> None:
    """(128, 64, 3, 3): fans 576 and 1152; Glorot's b = √(6/1728), He's σ = √2/√576 and with fan_out √2/√1152."""
    shape = (128, 64, 3, 3)
    assert expected_scale("xavier_uniform", shape) == pytest.approx(math.sqrt(6.0 / 1728.0), rel=1e-15)
    assert expected_scale("kaiming_normal", shape) == pytest.approx(math.sqrt(2.0) / 24.0, rel=1e-15)
    assert expected_scale("kaiming_normal", shape, mode="fan_out") ** 2 == pytest.approx(2.0 / 1152.0, rel=1e-15)
    assert expected_scale("xavier_normal", shape, gain=3.0) ** 2 == pytest.approx(9.0 * 2.0 / 1728.0, rel=1e-15)


def test_truncated_std_is_the_std_of_a_normal_truncated_at_two() -> None:
    """Var of N(0, 1) truncated to (−2, 2) = 1 − 2·2φ(2)/(2Φ(2) − 1) (by hand from the formula), √ = 0.8796…."""
    phi = math.exp(-2.0) / math.sqrt(2.0 * math.pi)
    mass = math.erf(2.0 / math.sqrt(2.0))
    assert math.sqrt(1.0 - 4.0 * phi / mass) == pytest.approx(TRUNCATED_STD, rel=1e-14)


def test_statistical_shapes_have_unequal_fans_and_enough_weights() -> None:
    """Every shape of the statistical checks has fan_in ≠ fan_out (swapped fans show) and ≥ 65,536 weights."""
    for shape in STAT_SHAPES:
        fan_in, fan_out = _fans(shape)
        assert fan_in != fan_out and math.prod(shape) >= UNITS


def test_a_truncated_uncorrected_normal_has_three_quarters_of_the_variance() -> None:
    """The broken draw above: 0.8796² = 0.774 of σ² (so the moments check, within ±0.06·σ², must catch it)."""
    w = _random_truncated_uncorrected("kaiming_normal", (128, 512), 0).numpy().astype(np.float64)
    sigma = expected_scale("kaiming_normal", (128, 512))
    assert float(np.mean(w * w)) / sigma**2 == pytest.approx(TRUNCATED_STD**2, abs=0.02)


def _init_rows(framework: str) -> dict[str, object]:
    prefixes = ("xavier", "kaiming", "init.")
    return {r["id"]: r["value"] for r in cv.measure(framework) if r["id"].startswith(prefixes)}


def test_torch_and_the_reference_draw_untruncated_normals_with_fan_in_and_relu_gain() -> None:
    """torch.nn.init's defaults are the canonical ones: fan_in, gain √2, normal draws, (out, in, *kernel)."""
    canonical = {
        "kaiming.default_mode": "fan_in",
        "kaiming.default_gain": "√2 (ReLU: leaky_relu with a = 0)",
        "xavier_normal.distribution": "normal",
        "kaiming_normal.distribution": "normal",
        "init.conv_fan_layout": "(out, in, *kernel): fan_in = in·∏kernel",
    }
    assert _init_rows("reference") == canonical
    assert _init_rows("torch") == canonical


@pytest.mark.parametrize("framework", ["jax", "tensorflow"])
def test_keras_and_jax_truncate_their_normals_and_put_the_kernel_first(framework: str) -> None:
    """glorot_normal/he_normal in JAX and Keras: truncated at ±2 sd, widened to σ²; kernels (kh, kw, in, out)."""
    pytest.importorskip(framework)
    truncated = "truncated normal at ±2 standard deviations, widened so that the variance is σ²"
    assert _init_rows(framework) == {
        "kaiming.default_mode": "fan_in",
        "kaiming.default_gain": "√2 (ReLU: leaky_relu with a = 0)",
        "xavier_normal.distribution": truncated,
        "kaiming_normal.distribution": truncated,
        "init.conv_fan_layout": "(*kernel, in, out): fan_in = in·∏kernel",
    }


def _truncated_at_two() -> np.ndarray:
    z = np.random.default_rng(2).standard_normal(40_000)
    return z[np.abs(z) <= 2.0][:20_000]


@pytest.mark.parametrize(
    ("draw", "expected"),
    [
        (np.random.default_rng(1).standard_normal(20_000), "normal"),
        (np.clip(np.random.default_rng(1).standard_normal(20_000), -2, 2), "other"),  # clipped: mass piled at ±2
        (np.random.default_rng(1).uniform(-1.0, 1.0, 20_000) * math.sqrt(3.0), "other"),  # a uniform of variance 1
        (_truncated_at_two(), "truncated normal at ±2σ (variance 0.77·σ²)"),  # not widened by 1/0.8796
        (_truncated_at_two() / TRUNCATED_STD, "truncated normal at ±2 standard deviations, widened"),  # Keras', JAX's
    ],
)
def test_the_distribution_reader_tells_a_normal_from_a_clipped_one_and_a_uniform(draw, expected: str) -> None:  # type: ignore[no-untyped-def]
    """σ = 1: a normal reaches beyond 2.3σ; a clipped normal and a uniform of the same variance are other."""
    from dlterms.conformance.invariants.initialization import normal_distribution_read

    assert normal_distribution_read(draw, 1.0).startswith(expected)


def test_the_uniform_maps_sensitivity_is_two_b_u() -> None:
    """(1, 2) with Kaiming's defaults: fan_in = 2, b = √2·√(3/2) = √3, so s = 2√3·u: √3/2 at u = ¼, 2√3 at u = 1."""
    from dlterms.conformance.sensitivities import sensitivity

    case = {"u": [[0.25, 1.0]], "a": 0.0, "mode": "fan_in", "nonlinearity": "leaky_relu"}
    (s,) = sensitivity("uniform_draw", case, [np.zeros((1, 2))])
    assert s.tolist()[0] == pytest.approx([math.sqrt(3.0) / 2.0, 2.0 * math.sqrt(3.0)], rel=1e-15)
