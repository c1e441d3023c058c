"""Op records of weight initialisation (section: training): Xavier/Glorot and Kaiming/He, uniform and normal.

An initialiser is random in every framework; the canonical ops take the draw as an argument (``u``
uniform in [0, 1] or ``z`` standard normal, with the weight's shape in PyTorch's layout
``(out, in, *kernel)``), so that they are deterministic maps comparable with the reference. The
framework's own initialiser is checked statistically by the invariants of
:mod:`dlterms.conformance.invariants.initialization`, through the optional backend function
``random_init(kind, shape, seed, dtype, **options)`` (see the adapter guide). One op per
distribution and rule, as ``torch.nn.init`` names them: the two rules differ in their options
(Xavier's gain; Kaiming's a, mode and nonlinearity), and a framework offers each on its own.
"""

from __future__ import annotations

import math

from .record import INF, NAN, Cases, Op, Special, option, relative, tensor

# Weight shapes of the size tier, in PyTorch's layout: a square and a wide dense layer and two
# convolutions (fan_in ≠ fan_out, a receptive field of 9 and 25), 16,384 to 73,728 weights.
INIT_SHAPES = ((128, 128), (64, 512), (128, 64, 3, 3), (32, 64, 5, 5))
_SIZES_WHY = "dense and convolution weights of 16,384 to 73,728 elements"
_GAIN = option("gain", 1.0, "float > 0, the factor of the standard deviation")
_KAIMING = (
    option("a", 0.0, "float: leaky ReLU's negative slope (nonlinearity='leaky_relu')"),
    option("mode", "fan_in", "'fan_in' | 'fan_out'"),
    option("nonlinearity", "leaky_relu", "'leaky_relu' | 'relu' | 'linear' | 'tanh' | 'sigmoid' | 'selu' | 'conv2d'"),
)
_U = tensor("u", annotation="uniform draw in [0, 1], the weight's shape (out, in, *kernel)")
_Z = tensor("z", annotation="standard normal draw, the weight's shape (out, in, *kernel)")
_INNER = "u in [¼, ¾]: the finite differences stay inside [0, 1], where a uniform draw lies"
_UNIFORM = relative(
    "uniform_draw",
    "b·(2u − 1) cancels near u = ½: its error is relative to the bound (κ·|y| = 2b·u), from b's few roundings "
    "and PyTorch's −b + 2b·u",
)
_NORMAL = relative("value", "σ·z is positively homogeneous in z (κ = 1): σ's few roundings and one product")


def _uniform_ends(op: str, shape_note: str, bound: str, u: list[list[float]], value: list[list[float]]) -> Special:
    return Special(
        "ends_at_the_bound",
        f"{op}: u = 0 gives −b, u = 1 gives b and u = ½ gives 0 ({shape_note})",
        "the ends and the middle of the uniform map b·(2u − 1)",
        {"u": u},
        value=value,
        kind="definition",
        because=f"b·(2·0 − 1) = −b, b·(2·1 − 1) = b, b·(2·½ − 1) = 0, with {bound}",
    )


def _normal_specials(op: str, shape_note: str, sigma: float, sigma_text: str) -> Special:
    return Special(
        "infinities_and_nan",
        f"{op}: z = ±∞ gives ±∞, z = NaN gives NaN, z = 1 gives σ ({shape_note})",
        "the normal map σ·z at its special inputs",
        {"z": [[-INF, INF], [NAN, 1.0]]},
        value=[[-INF, INF], [NAN, sigma]],
        kind="definition",
        because=f"σ·(±∞) = ±∞ for σ > 0, and NaN in, NaN out (IEEE 754 §6.2); {sigma_text}",
    )


OPS = (
    Op(
        "xavier_uniform",
        term="xavier-initialization",
        summary="Glorot's uniform weight b·(2u − 1), b = gain·√(6/(fan_in + fan_out)), the draw u given",
        args=(_U, _GAIN),
        cases=Cases("invariants.initialization.init_cases", {"kind": "xavier_uniform"}),
        grad_cases=Cases("invariants.initialization.init_cases", {"kind": "xavier_uniform", "inner": True}, why=_INNER),
        accuracy=_UNIFORM,
        sizes=Cases(
            "invariants.initialization.init_sizes", {"kind": "xavier_uniform", "shapes": INIT_SHAPES}, why=_SIZES_WHY
        ),
        special_values=(
            _uniform_ends(
                "xavier_uniform",
                "a (2, 2) weight",
                "b = √3·σ and σ = √(2/(2 + 2)) = √0.5 (PyTorch's order: the standard deviation first)",
                [[0.0, 1.0], [0.5, 0.5]],
                [[-math.sqrt(3.0) * math.sqrt(0.5), math.sqrt(3.0) * math.sqrt(0.5)], [0.0, 0.0]],
            ),
        ),
    ),
    Op(
        "xavier_normal",
        term="xavier-initialization",
        summary="Glorot's normal weight σ·z, σ = gain·√(2/(fan_in + fan_out)), the draw z given",
        args=(_Z, _GAIN),
        cases=Cases("invariants.initialization.init_cases", {"kind": "xavier_normal"}),
        accuracy=_NORMAL,
        sizes=Cases(
            "invariants.initialization.init_sizes", {"kind": "xavier_normal", "shapes": INIT_SHAPES}, why=_SIZES_WHY
        ),
        special_values=(
            _normal_specials("xavier_normal", "a (2, 2) weight", math.sqrt(0.5), "σ = √(2/(2 + 2)) = √0.5"),
        ),
    ),
    Op(
        "kaiming_uniform",
        term="kaiming-initialization",
        summary="He's uniform weight b·(2u − 1), b = gain(a)·√(3/fan), fan_in or fan_out, the draw u given",
        args=(_U, *_KAIMING),
        cases=Cases("invariants.initialization.init_cases", {"kind": "kaiming_uniform"}),
        grad_cases=Cases(
            "invariants.initialization.init_cases", {"kind": "kaiming_uniform", "inner": True}, why=_INNER
        ),
        accuracy=_UNIFORM,
        sizes=Cases(
            "invariants.initialization.init_sizes", {"kind": "kaiming_uniform", "shapes": INIT_SHAPES}, why=_SIZES_WHY
        ),
        special_values=(
            _uniform_ends(
                "kaiming_uniform",
                "a (1, 6) weight, the defaults",
                "b = √2·√(3/6) = 1 (fan_in = 6, gain √2 for leaky ReLU with a = 0)",
                [[0.0, 1.0, 0.5, 0.5, 0.5, 0.5]],
                [[-1.0, 1.0, 0.0, 0.0, 0.0, 0.0]],
            ),
        ),
    ),
    Op(
        "kaiming_normal",
        term="kaiming-initialization",
        summary="He's normal weight σ·z, σ = gain(a)/√fan, fan_in or fan_out, the draw z given",
        args=(_Z, *_KAIMING),
        cases=Cases("invariants.initialization.init_cases", {"kind": "kaiming_normal"}),
        accuracy=_NORMAL,
        sizes=Cases(
            "invariants.initialization.init_sizes", {"kind": "kaiming_normal", "shapes": INIT_SHAPES}, why=_SIZES_WHY
        ),
        special_values=(
            _normal_specials(
                "kaiming_normal", "a (2, 2) weight, the defaults", 1.0, "σ = √2/√2 = 1 (fan_in = 2, gain √2)"
            ),
        ),
    ),
)
