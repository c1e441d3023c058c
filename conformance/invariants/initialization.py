"""Invariants of weight initialisation (section: training): the deterministic maps and the framework's own draw.

The canonical ops ``xavier_uniform(u, gain)``, ``kaiming_uniform(u, a, mode, nonlinearity)`` and their
normal twins take the random draw (``u`` in [0, 1], ``z`` standard normal, the weight's shape in
PyTorch's layout ``(out, in, *kernel)``), so they are compared with the reference like any op, and
checked here at their ends (u = 0 and 1, z = ±1) on convolution shapes, where the fans count the
receptive field. A framework's *own* initialiser is reached through the optional backend function
``random_init(kind, shape, seed, dtype, **options)`` (``kind`` one of the four op names, ``shape``
canonical, the options the op's; a backend without it reports these checks unsupported) and checked
statistically on :data:`UNITS` or more weights, each invariant with a false-alarm probability of at most
:data:`~.regularization.FALSE_ALARM`, split evenly between its checks:

* a uniform draw on (−b, b) lies within ±b, and comes within ε·b of each end except with probability
  2(1 − ε/2)ⁿ ≤ 2·exp(−nε/2);
* its sum and its sum of squares (each term bounded) stay within Hoeffding's bound
  (``hoeffding1963probability``) of their expectations 0 and n·b²/3;
* a normal draw's sum of squares, Σ(w/σ)² ~ χ²ₙ, stays within Laurent and Massart's bounds
  (``laurent2000adaptive``, Lemma 1: P(X − n ≥ 2√(nx) + 2x) ≤ e⁻ˣ and P(n − X ≥ 2√(nx)) ≤ e⁻ˣ), and
  its sum within the normal tail 2·exp(−t²/2nσ²);
* a *truncated* normal draw (Keras and JAX truncate at ±2 standard deviations of the untruncated
  normal and widen it by 1/0.8796… so that the variance is σ²) is bounded by ±2σ/0.8796…: its sum and
  sum of squares are held to Hoeffding's bound instead. A draw with no value beyond that bound is read
  as truncated: an untruncated normal of n ≥ 65,536 draws has one beyond it except with probability
  (0.977)ⁿ < 10⁻⁶⁵⁰.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
from hypothesis import strategies as st

from dlterms import ops as op_records
from dlterms import reference

from .. import tolerances
from ..backends import Backend
from ..checks import as_float64, assert_that
from ..registry import invariant, register_ops
from ..strategies import float_arrays, representable, reused
from .regularization import FALSE_ALARM, hoeffding_bound

KINDS = ("xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal")
GAINS = (0.5, 1.0, 5.0 / 3.0, math.sqrt(2.0), 3.0)
SLOPES = (0.0, 0.01, 0.2, 1.0, math.sqrt(5.0))  # √5: nn.Linear's and nn.Conv2d's own kaiming_uniform_(a=√5)
NONLINEARITIES = ("leaky_relu", "relu", "linear", "tanh", "sigmoid", "selu", "conv2d")
MODES = ("fan_in", "fan_out")
# Weight shapes of the statistical checks (PyTorch's layout): a dense layer and a 2-d and a 1-d
# convolution, each with fan_in ≠ fan_out (so that swapped fans show) and 65,536 weights or more.
STAT_SHAPES = ((128, 512), (128, 64, 3, 3), (64, 256, 5))
UNITS = 65_536  # the fewest weights a statistical check draws
# The standard deviation of N(0, 1) truncated to (−2, 2): Keras' and JAX's variance correction.
TRUNCATED_STD = 0.87962566103423978


@reused
def _options(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    """The op's options: a gain for Xavier; a slope, a mode and a nonlinearity for Kaiming."""
    if kind.startswith("xavier"):
        return st.fixed_dictionaries({"gain": st.sampled_from(GAINS)})
    return st.fixed_dictionaries(
        {"a": st.sampled_from(SLOPES), "mode": st.sampled_from(MODES), "nonlinearity": st.sampled_from(NONLINEARITIES)}
    )


def _draw_name(kind: str) -> str:
    return "u" if kind.endswith("uniform") else "z"


weight_shapes = st.tuples(st.integers(1, 5), st.integers(1, 5)).flatmap(
    lambda oi: st.lists(st.integers(1, 3), max_size=2).map(lambda k: (*oi, *k))
)


@st.composite
def init_cases(draw: Any, dtype: str, *, kind: str, inner: bool = False) -> dict[str, Any]:
    """``{"u" or "z", **options}``: a weight shape (out, in, *kernel) of 2 to 4 axes, each ≤ 5; u in [0, 1]
    (``inner``: [¼, ¾], away from the ends, for the finite differences) or z in [−4, 4]; the op's options."""
    shape = draw(weight_shapes)
    if kind.endswith("uniform"):
        lo, hi = (0.25, 0.75) if inner else (0.0, 1.0)
        values = draw(float_arrays(dtype, shape, min_value=lo, max_value=hi))
    else:
        values = draw(float_arrays(dtype, shape, min_value=-4.0, max_value=4.0))
    return {_draw_name(kind): values, **draw(_options(kind))}


def init_sizes(
    dtype: str, rng: np.random.Generator, *, kind: str, shapes: tuple[tuple[int, ...], ...]
) -> Iterator[dict[str, Any]]:
    """The op's calls on each weight shape: a uniform or standard normal draw, the default options (size tier)."""
    for shape in shapes:
        draw = rng.random(shape) if kind.endswith("uniform") else rng.standard_normal(shape)
        yield {_draw_name(kind): representable(draw, dtype).tolist()}


@st.composite
def conv_shape_cases(draw: Any, dtype: str, *, kind: str) -> dict[str, Any]:
    """``{"shape", **options}``: a convolution weight (out, in, kh[, kw]) with out ≠ in, and the op's options."""
    out, inp = draw(st.sampled_from(((2, 3), (4, 1), (3, 5), (1, 2))))
    kernel = draw(st.sampled_from(((3,), (2, 2), (3, 1), (1, 4))))
    return {"shape": (out, inp, *kernel), **draw(_options(kind))}


def expected_scale(kind: str, shape: tuple[int, ...], **options: Any) -> float:
    """The uniform bound b or the normal σ of ``kind`` for ``shape``: Glorot's and He's formulas, written out
    (the fans from :func:`dlterms.reference.fans`, the gain from :func:`dlterms.reference.calculate_gain`)."""
    fan_in, fan_out = reference.fans(shape)
    if kind.startswith("xavier"):
        var = options.get("gain", 1.0) ** 2 * 2.0 / (fan_in + fan_out)
    else:
        gain = reference.calculate_gain(options.get("nonlinearity", "leaky_relu"), options.get("a", 0.0))
        var = gain**2 / (fan_in if options.get("mode", "fan_in") == "fan_in" else fan_out)
    return math.sqrt(3.0 * var) if kind.endswith("uniform") else math.sqrt(var)


def random_init_cases(kind: str) -> Any:
    """``{"shape", "seed", **options}`` for the statistical checks: a shape of :data:`STAT_SHAPES`, a seed."""

    def cases(dtype: str) -> st.SearchStrategy[dict[str, Any]]:
        base = st.fixed_dictionaries({"shape": st.sampled_from(STAT_SHAPES), "seed": st.integers(0, 2**31 - 1)})
        return st.tuples(base, _options(kind)).map(lambda t: {**t[0], **t[1]})

    return cases


register_ops(op_records.initialization.OPS)


def _apply(bk: Backend, kind: str, dtype: str, values: np.ndarray, options: dict[str, Any]) -> np.ndarray:
    draw = bk.asarray(values.tolist(), dtype)
    return as_float64(bk, getattr(bk, kind)(**{_draw_name(kind): draw}, **options))


def _random(bk: Backend, kind: str, dtype: str, shape: tuple[int, ...], seed: int, options: dict[str, Any]) -> Any:
    w = as_float64(bk, bk.random_init(kind=kind, shape=shape, seed=seed, dtype=dtype, **options))
    assert_that(w.shape == shape, f"random_init({kind!r}) returned shape {w.shape}; expected {shape}", shape=w.shape)
    return w


# --- the deterministic maps ------------------------------------------------------------------


def _ends(kind: str) -> Any:
    def check(bk: Backend, dtype: str, shape: tuple[int, ...], **options: Any) -> None:
        n = math.prod(shape)
        if kind.endswith("uniform"):
            pattern, ends = np.array([0.0, 1.0, 0.5]), np.array([-1.0, 1.0, 0.0])
        else:
            pattern, ends = np.array([1.0, -1.0, 0.0]), np.array([1.0, -1.0, 0.0])
        values = np.resize(pattern, n).reshape(shape)
        scale = expected_scale(kind, shape, **options)
        expected = np.resize(ends, n).reshape(shape) * scale
        got = _apply(bk, kind, dtype, values, options)
        tol = tolerances.forward(dtype)
        assert_that(
            bool(np.all(np.abs(got - expected) <= tol.atol + tol.rtol * scale)),
            f"{kind} on shape {shape} does not give ±{scale:.6g} at its ends (fans {reference.fans(shape)})",
            got=got,
            expected=expected,
            options=options,
        )

    return check


def _uniform_odd(kind: str) -> Any:
    def check(bk: Backend, dtype: str, u: Any, **options: Any) -> None:
        x = np.asarray(u, dtype=np.float64)
        mirrored = representable(1.0 - x, dtype)  # exact for the grid's values
        w, w_mirror = _apply(bk, kind, dtype, x, options), _apply(bk, kind, dtype, mirrored, options)
        scale = expected_scale(kind, x.shape, **options)
        tol = tolerances.forward(dtype)
        # −b + 2b·u and −b + 2b·(1 − u) each round a few times, relative to b: 2·(atol + rtol·b) apart at most
        assert_that(
            bool(np.all(np.abs(w + w_mirror) <= 2.0 * (tol.atol + tol.rtol * scale))),
            f"{kind}(1 − u) is not −{kind}(u): the map is not odd about u = ½",
            u=x,
            w=w,
            w_of_one_minus_u=w_mirror,
        )

    return check


def _normal_linear(kind: str) -> Any:
    def check(bk: Backend, dtype: str, z: Any, **options: Any) -> None:
        x = np.asarray(z, dtype=np.float64)
        x[np.abs(x) < 2.0**-6] = 0.0  # σ·z subnormal would round coarser: 2·(σz) and σ·(2z) could differ
        x.reshape(-1)[0] = 3.0  # one draw beyond ±2, where a truncation by clipping would show
        w = _apply(bk, kind, dtype, x, options)
        for c in (2.0, -1.0):
            scaled = _apply(bk, kind, dtype, c * x, options)
            assert_that(
                bool(np.array_equal(scaled, c * w)),
                f"{kind}({c:g}·z) is not {c:g}·{kind}(z): the map is not σ·z",
                z=x,
                w=w,
                w_of_scaled_z=scaled,
            )

    return check


for _kind in KINDS:
    _term = "xavier-initialization" if _kind.startswith("xavier") else "kaiming-initialization"
    _formula = (
        "b = gain·√(6/(fan_in + fan_out))"
        if _kind == "xavier_uniform"
        else "σ = gain·√(2/(fan_in + fan_out))"
        if _kind == "xavier_normal"
        else "b = gain(a)·√(3/fan)"
        if _kind == "kaiming_uniform"
        else "σ = gain(a)/√fan"
    )
    _at = "u = 0, 1 and ½ give −b, b and 0" if _kind.endswith("uniform") else "z = 1, −1 and 0 give σ, −σ and 0"
    invariant(
        f"{_kind}.ends_at_the_scale_on_a_conv_shape",
        term=_term,
        statement=f"On a convolution weight (out, in, *kernel), {_at}, with {_formula} and the fans counting the "
        "receptive field: fan_in = in·∏kernel, fan_out = out·∏kernel.",
        cases=lambda d, k=_kind: conv_shape_cases(d, kind=k),
        ops=(_kind,),
    )(_ends(_kind))
    if _kind.endswith("uniform"):
        invariant(
            f"{_kind}.odd_about_one_half",
            term=_term,
            statement=f"{_kind}(1 − u) = −{_kind}(u) within rounding: the draw is centred, the weight symmetric "
            "about 0.",
            cases=lambda d, k=_kind: init_cases(d, kind=k),
            ops=(_kind,),
        )(_uniform_odd(_kind))
    else:
        invariant(
            f"{_kind}.linear_in_z",
            term=_term,
            statement=f"{_kind}(c·z) = c·{_kind}(z) exactly for c = 2 and −1, with a draw at z = 3: the weight is "
            "σ·z, not clipped or shifted.",
            cases=lambda d, k=_kind: init_cases(d, kind=k),
            ops=(_kind,),
        )(_normal_linear(_kind))


# --- the framework's own draw ------------------------------------------------------------------


def _uniform_bounds(kind: str) -> Any:
    def check(bk: Backend, dtype: str, shape: tuple[int, ...], seed: int, **options: Any) -> None:
        w = _random(bk, kind, dtype, shape, seed, options).reshape(-1)
        b = expected_scale(kind, shape, **options)
        tol = tolerances.forward(dtype)
        top = float(np.max(np.abs(w)))
        assert_that(top <= b + tol.atol + tol.rtol * b, f"{kind} drew |w| = {top:.6g} beyond the bound {b:.6g}")
        # P(max w < b(1 − ε)) = (1 − ε/2)ⁿ ≤ exp(−nε/2) = α/2 for each end: ε = 2·ln(2/α)/n
        eps = 2.0 * math.log(2.0 / FALSE_ALARM) / w.size
        lo, hi = float(np.min(w)), float(np.max(w))
        assert_that(
            hi >= b * (1.0 - eps) - tol.atol and lo <= -b * (1.0 - eps) + tol.atol,
            f"{kind} drew values in [{lo:.6g}, {hi:.6g}]; a uniform on ±{b:.6g} reaches within {eps:.2g}·b of each end",
            shape=shape,
            options=options,
        )

    return check


def _moments(kind: str) -> Any:
    def check(bk: Backend, dtype: str, shape: tuple[int, ...], seed: int, **options: Any) -> None:
        w = _random(bk, kind, dtype, shape, seed, options).reshape(-1)
        n, scale = w.size, expected_scale(kind, shape, **options)
        rtol = tolerances.forward(dtype).rtol
        alpha = FALSE_ALARM / 2.0  # two checks: the sum and the sum of squares
        if kind.endswith("uniform"):
            reach, var, read = scale, scale * scale / 3.0, "uniform"
        else:
            reach, var = 2.0 * scale / TRUNCATED_STD, scale * scale
            read = "truncated normal" if float(np.max(np.abs(w))) <= reach * (1.0 + rtol) else "normal"
        total, squares = math.fsum(w), math.fsum(w * w)
        if read == "normal":
            x = math.log(2.0 / alpha)  # each side of each check at α/2
            mean_allowed = scale * math.sqrt(2.0 * n * math.log(2.0 / alpha))
            lo, hi = n - 2.0 * math.sqrt(n * x), n + 2.0 * math.sqrt(n * x) + 2.0 * x
            sq_lo, sq_hi = lo * var, hi * var
        else:  # bounded in [−reach, reach]: Hoeffding, a range of 2·reach per term and reach² per square
            mean_allowed = hoeffding_bound(n * (2.0 * reach) ** 2, alpha)
            t = hoeffding_bound(n * reach**4, alpha)
            sq_lo, sq_hi = n * var - t, n * var + t
        rounding = 4.0 * rtol * n * reach * reach  # each wᵢ within rtol of its value, so wᵢ² within 3·rtol
        assert_that(
            abs(total) <= mean_allowed + rtol * n * reach,
            f"{kind}'s draw ({read}) sums to {total:.6g}: its mean is not 0 (allowed ±{mean_allowed:.4g})",
            shape=shape,
            options=options,
        )
        assert_that(
            sq_lo - rounding <= squares <= sq_hi + rounding,
            f"{kind}'s draw ({read}) has mean square {squares / n:.6g} where the formula gives the variance "
            f"{var:.6g} (allowed [{sq_lo / n:.6g}, {sq_hi / n:.6g}])",
            shape=shape,
            options=options,
            fans=reference.fans(shape),
        )

    return check


for _kind in KINDS:
    _term = "xavier-initialization" if _kind.startswith("xavier") else "kaiming-initialization"
    if _kind.endswith("uniform"):
        invariant(
            f"{_kind}.random_within_and_reaching_the_bound",
            term=_term,
            statement=f"The framework's own {_kind} draw lies within ±b and comes within ε·b of each end, "
            "ε = 2·ln(2/α)/n (a uniform on ±b fails this with probability at most α = 10⁻⁶).",
            cases=random_init_cases(_kind),
            ops=("random_init",),
            dtypes=("float32",),
            max_examples=3,
        )(_uniform_bounds(_kind))
    invariant(
        f"{_kind}.random_moments_match",
        term=_term,
        statement=f"The framework's own {_kind} draw has mean 0 and variance "
        + ("b²/3" if _kind.endswith("uniform") else "σ²")
        + " of the formula: its sum and sum of squares within Hoeffding's bound (bounded draws) or the normal "
        "and χ² tails (Laurent–Massart), at a false-alarm probability of 10⁻⁶.",
        cases=random_init_cases(_kind),
        ops=("random_init",),
        dtypes=("float32",),
        max_examples=3,
    )(_moments(_kind))


# --- readers of the initialisation conventions (the probes in conformance/conventions/<framework>.py) -------

PROBE_SQUARE = (200, 200)  # fan_in = fan_out = 200: the gain, whatever the mode
PROBE_RECT = (400, 50)  # (out, in): fan_in 50, fan_out 400, variances 8 times apart
RELU_GAIN = math.sqrt(2.0)


def _mean_square(values: object) -> float:
    w = np.asarray(values, dtype=np.float64).reshape(-1)
    return float(np.mean(w * w))


def kaiming_gain_read(square: object) -> str:
    """The gain of a Kaiming draw on :data:`PROBE_SQUARE` (either fan is 200): g = rms·√200."""
    g = math.sqrt(_mean_square(square) * PROBE_SQUARE[0])
    if math.isclose(g, RELU_GAIN, rel_tol=0.03):
        return "√2 (ReLU: leaky_relu with a = 0)"
    if math.isclose(g, 1.0, rel_tol=0.03):
        return "1 (linear)"
    return f"other (gain {g:.3g})"


def kaiming_mode_read(square: object, rect: object) -> str:
    """Which fan a Kaiming draw divides by: its variance on :data:`PROBE_RECT` against g²/50 and g²/400, g² from
    the draw on :data:`PROBE_SQUARE` (200,000 and 20,000 draws: each mean square within 3%)."""
    g2 = _mean_square(square) * PROBE_SQUARE[0]
    v = _mean_square(rect)
    fan_out, fan_in = PROBE_RECT
    for mode, fan in (("fan_in", fan_in), ("fan_out", fan_out)):
        if math.isclose(v * fan, g2, rel_tol=0.1):
            return mode
    return f"other (variance {v:.3g} with gain² {g2:.3g})"


def normal_distribution_read(values: object, sigma: float) -> str:
    """Whether a normal initialiser's draw of standard deviation ``sigma`` (by the formula) is normal or truncated,
    by its largest |value| and its mean square. Of 20,000 normal draws one lies beyond 2.3σ except with
    probability 0.979²⁰⁰⁰⁰ < 10⁻¹⁸⁰; a normal truncated at ±2 (in its own standard deviations) has one within
    0.01 of ±2 except with probability (1 − 0.02·φ(2)/0.954)²⁰⁰⁰⁰ < 10⁻⁹, which tells it from a uniform."""
    w = np.asarray(values, dtype=np.float64).reshape(-1)
    top, ratio = float(np.max(np.abs(w))) / sigma, _mean_square(w) / sigma**2
    if top > 2.3:
        return "normal" if math.isclose(ratio, 1.0, rel_tol=0.05) else f"other (normal, variance {ratio:.3g}·σ²)"
    if 1.99 / TRUNCATED_STD <= top <= 2.0 / TRUNCATED_STD * (1.0 + 1e-3) and math.isclose(ratio, 1.0, rel_tol=0.05):
        return "truncated normal at ±2 standard deviations, widened so that the variance is σ²"
    if 1.99 <= top <= 2.0 * (1.0 + 1e-3) and math.isclose(ratio, TRUNCATED_STD**2, rel_tol=0.05):
        return "truncated normal at ±2σ (variance 0.77·σ²)"
    return f"other (max |w| {top:.3g}·σ, variance {ratio:.3g}·σ²)"


CONV_SHAPES = {"(out, in, *kernel)": (64, 4, 3, 3), "(*kernel, in, out)": (3, 3, 4, 64)}


def conv_layout_read(shape: tuple[int, ...], values: object) -> str:
    """Which axes a He normal draw on a convolution kernel of ``shape`` took as fan-in: the layout whose fan_in
    gives the draw's variance 2/fan_in (the two layouts' fans are 36 and 768, 21 times apart)."""
    v = _mean_square(values)
    for layout, fan_in in (
        ("(out, in, *kernel)", shape[1] * math.prod(shape[2:])),
        ("(*kernel, in, out)", shape[-2] * math.prod(shape[:-2])),
    ):
        if math.isclose(v * fan_in, 2.0, rel_tol=0.15):
            return f"{layout}: fan_in = in·∏kernel"
    return f"other (variance {v:.3g} on {shape})"
