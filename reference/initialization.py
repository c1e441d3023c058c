"""Weight initialisation, Xavier/Glorot and Kaiming/He, with the randomness given, and its VJPs.

An initialiser draws random numbers; the reference does not. Like dropout's keep mask, the draw is
an input: ``u`` uniform in [0, 1] for the uniform initialisers and ``z`` standard normal for the
normal ones, each with the weight's shape. The reference then maps it to the weight, a
deterministic (and linear) function a framework's arithmetic can be compared with; whether a
framework's *own* draw has the distribution the map implies is checked statistically, apart, by
the conformance invariants. Shapes follow PyTorch's layout, ``(out, in, *kernel)``: a dense
layer's weight is ``(out, in)`` and a convolution's ``(out, in, kh, kw)``. The fans are computed
from the shape as PyTorch's ``torch.nn.init`` does (:func:`fans`) and the gains are
``torch.nn.init.calculate_gain``'s (:func:`calculate_gain`).
"""

from __future__ import annotations

import math

from ._tensor import Nested, Shape, choice, finite_scalar, same_shape, tensor, unflatten

__all__ = [
    "calculate_gain",
    "fans",
    "kaiming_normal",
    "kaiming_normal_vjp",
    "kaiming_uniform",
    "kaiming_uniform_vjp",
    "xavier_normal",
    "xavier_normal_vjp",
    "xavier_uniform",
    "xavier_uniform_vjp",
]

MODES = ("fan_in", "fan_out")
# torch.nn.init.calculate_gain's table (PyTorch 2.x): the factor that keeps a layer's output variance
# equal to its input's for that nonlinearity (leaky_relu: √(2/(1 + a²)), a the negative slope).
LINEAR_GAIN = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")
NONLINEARITIES = (*LINEAR_GAIN, "sigmoid", "tanh", "relu", "leaky_relu", "selu")
LEAKY_RELU_DEFAULT_SLOPE = 0.01  # calculate_gain("leaky_relu") with no slope; kaiming_* passes a (default 0)


def fans(shape: Shape | list[int]) -> tuple[int, int]:
    r"""The fans (fan_in, fan_out) of a weight of ``shape`` in PyTorch's layout ``(out, in, *kernel)``.

    .. math:: \mathrm{fan_{in}} = n_\mathrm{in} \prod_k s_k, \quad \mathrm{fan_{out}} = n_\mathrm{out} \prod_k s_k

    with :math:`s_k` the kernel's sides (the receptive field; 1 for a dense layer). Each output unit
    sums fan_in products; each input unit feeds fan_out of them. As PyTorch's
    ``_calculate_fan_in_and_fan_out``; Keras and JAX put the kernel first, ``(*kernel, in, out)``.
    Citation: ``glorot2010understanding``.

    >>> fans((128, 64, 3, 3))
    (576, 1152)
    """
    if not isinstance(shape, tuple | list):
        raise TypeError(f"fans: shape is {type(shape).__name__} {shape!r}; expected a tuple of ints (out, in, *kernel)")
    dims = tuple(shape)
    if len(dims) < 2:
        raise ValueError(
            f"fans: shape={dims}; expected at least 2 dimensions (out, in, *kernel): "
            f"fan-in and fan-out are not defined for a vector"
        )
    for i, d in enumerate(dims):
        if isinstance(d, bool) or not isinstance(d, int) or d < 1:
            raise ValueError(f"fans: shape[{i}]={d!r} in shape={dims}; expected every dimension an int >= 1")
    receptive = math.prod(dims[2:])
    return dims[1] * receptive, dims[0] * receptive


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    r"""The recommended gain for ``nonlinearity``, as ``torch.nn.init.calculate_gain``.

    .. math:: g_\mathrm{leaky\_relu}(a) = \sqrt{2/(1 + a^2)},\ g_\mathrm{relu} = \sqrt2,\ g_\mathrm{tanh} = 5/3

    1 for linear, the convolutions and sigmoid, 3/4 for SELU; ``param`` is leaky ReLU's negative
    slope a (0.01 when None). ReLU's √2 is He et al.'s: a ReLU
    zeroes half its input's second moment. Citation: ``he2015delving``.

    >>> calculate_gain("leaky_relu", 1.0)
    1.0
    """
    name = choice("calculate_gain", "nonlinearity", nonlinearity, NONLINEARITIES)
    if name in LINEAR_GAIN or name == "sigmoid":
        return 1.0
    if name == "tanh":
        return 5.0 / 3.0
    if name == "relu":
        return math.sqrt(2.0)
    if name == "selu":
        return 3.0 / 4.0
    a = LEAKY_RELU_DEFAULT_SLOPE if param is None else finite_scalar("calculate_gain", "param", param)
    return math.sqrt(2.0 / (1.0 + a * a))


def _weight_shape(fn: str, name: str, value: Nested) -> tuple[Shape, list[float]]:
    shape, flat = tensor(fn, name, value)
    if len(shape) < 2 or 0 in shape:
        raise ValueError(
            f"{fn}: {name}.shape={shape}; expected the weight's shape (out, in, *kernel), "
            f"at least 2 dimensions, none of them 0"
        )
    return shape, flat


def _uniform_draw(fn: str, u: Nested) -> tuple[Shape, list[float]]:
    """``u``: the weight's shape, every value in [0, 1] (a uniform draw; 1 is allowed, the limit u → 1)."""
    shape, flat = _weight_shape(fn, "u", u)
    for i, v in enumerate(flat):
        if not 0.0 <= v <= 1.0:
            raise ValueError(f"{fn}: u has the value {v!r} at flat index {i}; expected a uniform draw in [0, 1]")
    return shape, flat


def _gain(fn: str, gain: object) -> float:
    g = finite_scalar(fn, "gain", gain)
    if g <= 0.0:
        raise ValueError(f"{fn}: gain={g!r}; expected a positive number (the factor of the standard deviation)")
    return g


def _kaiming_std(fn: str, shape: Shape, a: object, mode: object, nonlinearity: object) -> float:
    """gain(nonlinearity, a)/√fan, fan = fan_in or fan_out of ``shape`` (He et al.'s standard deviation)."""
    slope = finite_scalar(fn, "a", a)
    which = choice(fn, "mode", mode, MODES)
    name = choice(fn, "nonlinearity", nonlinearity, NONLINEARITIES)
    fan_in, fan_out = fans(shape)
    return calculate_gain(name, slope) / math.sqrt(fan_in if which == "fan_in" else fan_out)


def _xavier_std(fn: str, shape: Shape, gain: object) -> float:
    """gain·√(2/(fan_in + fan_out)) (Glorot and Bengio's standard deviation)."""
    fan_in, fan_out = fans(shape)
    return _gain(fn, gain) * math.sqrt(2.0 / (fan_in + fan_out))


def _uniform_map(flat: list[float], bound: float, shape: Shape) -> Nested:
    # bound·(2u − 1): 2u is exact, 2u − 1 exact for u ≥ 1/4 (Sterbenz) and rounded once below; then one
    # product. Frameworks compute −b + 2b·u (PyTorch's uniform_) or the same map: an absolute error.
    return unflatten([bound * (2.0 * v - 1.0) for v in flat], shape)


def _vjp(fn: str, draw: Nested, cotangent: Nested, name: str, factor: float, shape: Shape) -> Nested:
    g_shape, g = tensor(fn, "cotangent", cotangent)
    same_shape(fn, "cotangent", g_shape, name, shape)
    return unflatten([factor * v for v in g], shape)


def xavier_uniform(u: Nested, gain: float = 1.0) -> Nested:
    r"""Xavier/Glorot uniform initialisation of a weight, the uniform draw ``u`` given.

    .. math:: w = b\,(2u - 1), \quad b = g\sqrt{\frac{6}{\mathrm{fan_{in}} + \mathrm{fan_{out}}}}, \quad u \sim U[0, 1)

    so w ~ U(−b, b), whose variance b²/3 = 2g²/(fan_in + fan_out) is Glorot and Bengio's compromise
    between keeping the forward and the backward variance (their eq. 16, g = 1); ``u`` has the
    weight's shape (out, in, *kernel), which gives the fans (:func:`fans`). As
    ``torch.nn.init.xavier_uniform_``. Citation: ``glorot2010understanding``.

    Accuracy: the bound is within 3 ulp; the map is affine and cancels near u = ½, so its error is
    relative to b, not to w.

    >>> xavier_uniform([[0.0, 0.5], [0.75, 1.0]])  # fan_in + fan_out = 4: b = √(6/4) = 1.2247...
    [[-1.2247448713915892, 0.0], [0.6123724356957946, 1.2247448713915892]]
    """
    fn = "xavier_uniform"
    shape, flat = _uniform_draw(fn, u)
    return _uniform_map(flat, math.sqrt(3.0) * _xavier_std(fn, shape, gain), shape)


def xavier_uniform_vjp(u: Nested, cotangent: Nested, gain: float = 1.0) -> Nested:
    r"""Vector-Jacobian product of :func:`xavier_uniform` with respect to ``u``: :math:`2b\,\bar g`."""
    fn = "xavier_uniform_vjp"
    shape, _ = _uniform_draw(fn, u)
    return _vjp(fn, u, cotangent, "u", 2.0 * math.sqrt(3.0) * _xavier_std(fn, shape, gain), shape)


def xavier_normal(z: Nested, gain: float = 1.0) -> Nested:
    r"""Xavier/Glorot normal initialisation of a weight, the standard normal draw ``z`` given.

    .. math:: w = \sigma z, \quad \sigma = g\sqrt{2/(\mathrm{fan_{in}} + \mathrm{fan_{out}})},\ z \sim \mathcal{N}(0, 1)

    the variance of :func:`xavier_uniform` with a normal draw; ``z`` has the weight's shape. As
    ``torch.nn.init.xavier_normal_`` (an untruncated normal; Keras and JAX truncate at ±2 standard
    deviations and widen the draw so that the variance stays σ², a convention measured apart).
    Citation: ``glorot2010understanding``.

    Accuracy: σ within 3 ulp, one product: within 4 ulp of σz.

    >>> xavier_normal([[1.0, -2.0], [0.5, 0.0]])  # fan_in + fan_out = 4: σ = √(2/4)
    [[0.7071067811865476, -1.4142135623730951], [0.3535533905932738, 0.0]]
    """
    fn = "xavier_normal"
    shape, flat = _weight_shape(fn, "z", z)
    sigma = _xavier_std(fn, shape, gain)
    return unflatten([sigma * v for v in flat], shape)


def xavier_normal_vjp(z: Nested, cotangent: Nested, gain: float = 1.0) -> Nested:
    r"""Vector-Jacobian product of :func:`xavier_normal` with respect to ``z``: :math:`\sigma\,\bar g`."""
    fn = "xavier_normal_vjp"
    shape, _ = _weight_shape(fn, "z", z)
    return _vjp(fn, z, cotangent, "z", _xavier_std(fn, shape, gain), shape)


def kaiming_uniform(u: Nested, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> Nested:
    r"""Kaiming/He uniform initialisation of a weight, the uniform draw ``u`` given.

    .. math:: w = b\,(2u - 1), \quad b = g(a)\sqrt{\frac{3}{\mathrm{fan}}}, \quad u \sim U[0, 1)

    so w ~ U(−b, b) with variance g²/fan: He et al.'s 2/fan_in for a ReLU network (g = √2), which
    keeps the variance of the activations from layer to layer (their eq. 10). ``mode`` picks fan_in
    (the forward pass) or fan_out (the backward pass); ``nonlinearity`` and ``a`` (leaky ReLU's
    negative slope) the gain g (:func:`calculate_gain`). As ``torch.nn.init.kaiming_uniform_``.
    Citation: ``he2015delving``.

    Accuracy: the bound is within 4 ulp; the map cancels near u = ½ (an error relative to b).

    >>> kaiming_uniform([[0.0, 0.5, 1.0, 0.75, 0.25, 0.5]])  # fan_in = 6, g = √2: b = √2·√(3/6) = 1
    [[-1.0, 0.0, 1.0, 0.5, -0.5, 0.0]]
    """
    fn = "kaiming_uniform"
    shape, flat = _uniform_draw(fn, u)
    return _uniform_map(flat, math.sqrt(3.0) * _kaiming_std(fn, shape, a, mode, nonlinearity), shape)


def kaiming_uniform_vjp(
    u: Nested, cotangent: Nested, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"
) -> Nested:
    r"""Vector-Jacobian product of :func:`kaiming_uniform` with respect to ``u``: :math:`2b\,\bar g`."""
    fn = "kaiming_uniform_vjp"
    shape, _ = _uniform_draw(fn, u)
    return _vjp(fn, u, cotangent, "u", 2.0 * math.sqrt(3.0) * _kaiming_std(fn, shape, a, mode, nonlinearity), shape)


def kaiming_normal(z: Nested, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> Nested:
    r"""Kaiming/He normal initialisation of a weight, the standard normal draw ``z`` given.

    .. math:: w = \sigma z, \quad \sigma = \frac{g(a)}{\sqrt{\mathrm{fan}}}, \quad z \sim \mathcal{N}(0, 1)

    He et al.'s √(2/fan_in) for a ReLU network (g = √2); ``mode``, ``a`` and ``nonlinearity`` as in
    :func:`kaiming_uniform`. As ``torch.nn.init.kaiming_normal_`` (untruncated; Keras' and JAX's
    he_normal truncate at ±2 standard deviations, the variance corrected). Citation: ``he2015delving``.

    Accuracy: σ within 4 ulp, one product: within 5 ulp of σz.

    >>> kaiming_normal([[1.0, -0.5]])  # fan_in = 2, g = √2: σ = 1
    [[1.0, -0.5]]
    """
    fn = "kaiming_normal"
    shape, flat = _weight_shape(fn, "z", z)
    sigma = _kaiming_std(fn, shape, a, mode, nonlinearity)
    return unflatten([sigma * v for v in flat], shape)


def kaiming_normal_vjp(
    z: Nested, cotangent: Nested, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"
) -> Nested:
    r"""Vector-Jacobian product of :func:`kaiming_normal` with respect to ``z``: :math:`\sigma\,\bar g`."""
    fn = "kaiming_normal_vjp"
    shape, _ = _weight_shape(fn, "z", z)
    return _vjp(fn, z, cotangent, "z", _kaiming_std(fn, shape, a, mode, nonlinearity), shape)
