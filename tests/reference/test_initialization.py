"""The initialisation references (the draw given) against hand-computed fans, gains, bounds and standard deviations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlterms import reference as ref


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        ((3, 5), (5, 3)),  # a dense (out, in) weight: fan_in = in, fan_out = out
        ((128, 64, 3, 3), (576, 1152)),  # 64·9 and 128·9
        ((8, 4, 5), (20, 40)),  # a 1-d convolution: 4·5 and 8·5
        ((2, 3, 1, 4, 2), (24, 16)),  # 3-d: receptive field 1·4·2 = 8
    ],
)
def test_fans_count_the_receptive_field(shape: tuple[int, ...], expected: tuple[int, int]) -> None:
    """fan_in = in·∏kernel and fan_out = out·∏kernel for a weight (out, in, *kernel), PyTorch's rule."""
    assert ref.fans(shape) == expected


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ((4,), r"fans: shape=\(4,\); expected at least 2 dimensions"),
        ((2, 0), r"fans: shape\[1\]=0 in shape=\(2, 0\); expected every dimension an int >= 1"),
    ],
)
def test_fans_refuse_a_vector_and_an_empty_axis(shape: tuple[int, ...], message: str) -> None:
    """A vector has no fan-in and fan-out; an axis of 0 would divide by a fan of 0."""
    with pytest.raises(ValueError, match=message):
        ref.fans(shape)


@pytest.mark.parametrize(
    ("nonlinearity", "param", "squared"),
    [
        ("linear", None, 1.0),
        ("conv2d", None, 1.0),
        ("sigmoid", None, 1.0),
        ("tanh", None, 25.0 / 9.0),
        ("relu", None, 2.0),
        ("leaky_relu", 0.0, 2.0),
        ("leaky_relu", 1.0, 1.0),  # slope 1: the identity, gain 1
        ("leaky_relu", None, 2.0 / 1.0001),  # PyTorch's default slope 0.01
        ("leaky_relu", math.sqrt(5.0), 1.0 / 3.0),  # nn.Linear's a = √5: 2/(1 + 5)
        ("selu", None, 9.0 / 16.0),
    ],
)
def test_calculate_gain_squares_to_torchs_table(nonlinearity: str, param: float | None, squared: float) -> None:
    """The gain's square is torch.nn.init.calculate_gain's table: 1, 25/9, 2, 2/(1 + a²), 9/16 (within 2 ulp)."""
    assert ref.calculate_gain(nonlinearity, param) ** 2 == pytest.approx(squared, rel=5e-16)


def test_xavier_uniform_maps_the_ends_to_the_bound() -> None:
    """(2, 2): b = √(6/4) = √1.5; u = 0, 1, ½, ¼ give −b, b, 0, −b/2."""
    w = ref.xavier_uniform([[0.0, 1.0], [0.5, 0.25]])
    assert w[0][0] ** 2 == pytest.approx(1.5, rel=5e-16) and w[0][0] < 0
    assert w[0][1] == -w[0][0] and w[1][0] == 0.0 and w[1][1] == w[0][0] / 2


def test_xavier_uniform_gain_scales_the_bound_exactly() -> None:
    """gain = 2 doubles every weight (a power of 2: no rounding)."""
    u = [[0.0, 0.3], [0.9, 1.0], [0.5, 0.7]]
    one, two = ref.xavier_uniform(u), ref.xavier_uniform(u, gain=2.0)
    assert two == [[2.0 * v for v in row] for row in one]


def test_xavier_normal_std_on_a_convolution() -> None:
    """(1, 1, 2, 2): fans 4 and 4, σ = √(2/8) = ½, so z = 2, −1 give 1, −½ exactly."""
    assert ref.xavier_normal([[[[2.0, -1.0], [0.0, 4.0]]]]) == [[[[1.0, -0.5], [0.0, 2.0]]]]


def test_kaiming_uniform_defaults_give_sqrt_six_over_fan_in() -> None:
    """The defaults (a = 0, fan_in, leaky_relu): b = √2·√(3/6) = 1 for fan_in = 6."""
    assert ref.kaiming_uniform([[0.0, 1.0, 0.5, 0.75, 0.25, 0.5]]) == [[-1.0, 1.0, 0.0, 0.5, -0.5, 0.0]]


def test_kaiming_uniform_fan_out_reads_the_first_axis() -> None:
    """mode='fan_out' on (6, 1) uses fan_out = 6: the same bound 1 as fan_in = 6 on (1, 6)."""
    assert ref.kaiming_uniform([[0.0], [1.0], [0.5], [0.5], [0.5], [0.5]], mode="fan_out") == [
        [-1.0],
        [1.0],
        [0.0],
        [0.0],
        [0.0],
        [0.0],
    ]


def test_kaiming_uniform_with_a_sqrt5_is_torch_linears_default() -> None:
    """a = √5 gives gain √(1/3) and b = √(1/3)·√(3/fan_in) = 1/√fan_in: ½ for fan_in = 4 (nn.Linear's bound)."""
    w = ref.kaiming_uniform([[1.0, 0.0, 0.5, 0.5]], a=math.sqrt(5.0))
    assert w[0][0] == pytest.approx(0.5, rel=4e-16) and w[0][1] == pytest.approx(-0.5, rel=4e-16)


def test_kaiming_normal_std_for_relu_and_linear() -> None:
    """(3, 2, 1, 1): fan_in = 2; relu σ = √2/√2 = 1; linear σ = 1/√2; fan_out = 3 with relu: σ = √(2/3)."""
    z = [[[[1.0]], [[-2.0]]]] * 3
    assert ref.kaiming_normal(z, nonlinearity="relu") == z
    assert ref.kaiming_normal(z, nonlinearity="linear")[0][0][0][0] ** 2 == pytest.approx(0.5, rel=5e-16)
    assert ref.kaiming_normal(z, mode="fan_out")[0][0][0][0] ** 2 == pytest.approx(2.0 / 3.0, rel=5e-16)


def test_the_vjps_are_the_maps_slopes() -> None:
    """The maps are affine in the draw: the VJP is 2b·ḡ (uniform) or σ·ḡ (normal); here b = σ = 1."""
    g = [[3.0, -1.0, 0.5, 0.0, 2.0, 1.0]]
    u = [[0.5] * 6]
    assert ref.kaiming_uniform_vjp(u, g) == [[2.0 * v for v in g[0]]]
    assert ref.kaiming_normal_vjp([[0.0, 0.0]], [[3.0, -1.0]]) == [[3.0, -1.0]]
    assert ref.xavier_normal_vjp([[0.0]], [[5.0]], gain=2.0) == [[10.0]]  # (1, 1): σ = 2·√(2/2) = 2
    assert ref.xavier_uniform_vjp([[0.5]], [[1.0]])[0][0] ** 2 == pytest.approx(12.0, rel=5e-16)  # 2√3


@settings(max_examples=40)
@given(data=st.data(), out=st.integers(1, 4), inp=st.integers(1, 4))
def test_uniform_maps_are_odd_about_one_half(data: st.DataObject, out: int, inp: int) -> None:
    """For u on the grid k/16, w(1 − u) = −w(u) exactly: 2u − 1 is exact and negates."""
    grid = st.integers(0, 16).map(lambda k: k / 16)
    u = data.draw(st.lists(st.lists(grid, min_size=inp, max_size=inp), min_size=out, max_size=out))
    mirrored = [[1.0 - v for v in row] for row in u]
    for f in (ref.xavier_uniform, ref.kaiming_uniform):
        assert f(mirrored) == [[-v for v in row] for row in f(u)]


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: ref.xavier_uniform([[0.5, 1.5]]), ValueError, r"xavier_uniform: u has the value 1\.5 at flat index 1"),
        (lambda: ref.kaiming_uniform([[-0.1]]), ValueError, r"expected a uniform draw in \[0, 1\]"),
        (lambda: ref.xavier_normal([1.0, 2.0]), ValueError, r"xavier_normal: z\.shape=\(2,\); expected the weight's"),
        (lambda: ref.xavier_normal([[1.0]], gain=0.0), ValueError, r"xavier_normal: gain=0\.0; expected a positive"),
        (lambda: ref.kaiming_normal([[1.0]], mode="fan_avg"), ValueError, r"kaiming_normal: mode='fan_avg'; expected"),
        (lambda: ref.kaiming_normal([[1.0]], nonlinearity="gelu"), ValueError, r"nonlinearity='gelu'; expected one of"),
        (lambda: ref.calculate_gain("leaky_relu", math.inf), ValueError, r"calculate_gain: param=inf; expected a fin"),
    ],
)
def test_bad_initialisation_inputs_are_refused_with_the_argument_named(call, error: type, message: str) -> None:  # type: ignore[no-untyped-def]
    """A draw outside [0, 1], a vector, a gain ≤ 0, an unknown mode or nonlinearity: the error names it."""
    with pytest.raises(error, match=message):
        call()


@settings(max_examples=200)
@given(
    draw=st.floats(0.0, 1.0),
    z=st.floats(-8.0, 8.0),
    shape=st.sampled_from([(3, 5), (12, 6, 3, 3), (7, 1, 2), (1, 1)]),
    gain=st.sampled_from([0.5, 1.0, 5.0 / 3.0, math.sqrt(2.0)]),
    a=st.sampled_from([0.0, 0.01, 0.2, math.sqrt(5.0)]),
    mode=st.sampled_from(["fan_in", "fan_out"]),
)
def test_the_maps_are_within_4_ulp_of_mpmath(
    draw: float, z: float, shape: tuple[int, ...], gain: float, a: float, mode: str
) -> None:
    """b·(2u − 1) within 4 ulp of b and σ·z within 4 ulp of itself, against 100-digit mpmath (reference-accuracy)."""
    mpmath = pytest.importorskip("mpmath")
    with mpmath.workdps(100):
        fan_in, fan_out = ref.fans(shape)
        xavier_var = mpmath.mpf(gain) ** 2 * 2 / (fan_in + fan_out)
        kaiming_var = 2 / (1 + mpmath.mpf(a) ** 2) / (fan_in if mode == "fan_in" else fan_out)
        u, zz = np.full(shape, draw).tolist(), np.full(shape, z).tolist()
        kaiming = {"a": a, "mode": mode}
        for got, var, uniform in (
            (ref.xavier_uniform(u, gain), xavier_var, True),
            (ref.kaiming_uniform(u, **kaiming), kaiming_var, True),
            (ref.xavier_normal(zz, gain), xavier_var, False),
            (ref.kaiming_normal(zz, **kaiming), kaiming_var, False),
        ):
            while isinstance(got, list):
                got = got[0]
            b = mpmath.sqrt(3 * var)
            exact = b * (2 * mpmath.mpf(draw) - 1) if uniform else mpmath.sqrt(var) * mpmath.mpf(z)
            scale = float(b) if uniform else abs(float(exact))
            assert abs(mpmath.mpf(got) - exact) <= 4 * math.ulp(scale)
