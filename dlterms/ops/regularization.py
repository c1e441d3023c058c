"""Op records of regularization past the seed (section: training): dropout, with its keep mask given.

A framework's dropout draws its own mask; the canonical op takes the mask as an argument, so that it
is deterministic and comparable with the reference. The framework's own random draw is checked
statistically by the invariants of :mod:`dlterms.conformance.invariants.regularization`, through the
optional backend function ``random_dropout(x, p, seed)`` (see the adapter guide).
"""

from __future__ import annotations

from .record import INF, NAN, VECTOR_LENGTHS, Cases, Op, Special, option, relative, tensor

OPS = (
    Op(
        "dropout",
        term="dropout",
        summary="x·mask/(1 − p) with the keep mask given (1 kept, 0 dropped; p the drop probability); "
        "training=False: x",
        args=(
            tensor("x"),
            tensor("mask", differentiable=False, annotation="tensor of 0 and 1, the shape of x"),
            option("p", 0.5, "float in [0, 1)"),
            option("training", True, "bool"),
        ),
        cases=Cases(
            "invariants.regularization.dropout_cases",
            {"edges": ("full_range", "signed_zeros")},
            why="the whole range: the scale 1/(1 − p) overflows near the largest number and keeps subnormals",
        ),
        sizes=Cases(
            "invariants.regularization.dropout_sizes",
            {"lengths": VECTOR_LENGTHS, "edges": ("full_range",)},
            why="vectors of every length 2^k − 1, 2^k, 2^k + 1, with edge values in the body and the tail",
        ),
        accuracy=relative(
            "value",
            "x·m/(1 − p) is positively homogeneous in x (κ = 1): one division, or a product by the rounded "
            "scale 1/(1 − p) (PyTorch, TensorFlow), a few roundings relative to the value",
        ),
        special_values=(
            Special(
                "nan_propagates_where_kept",
                "dropout of a kept NaN is NaN",
                "the kept unit is x/(1 − p); the other element is unaffected",
                {"x": [NAN, 1.0], "mask": [1.0, 1.0], "p": 0.5},
                value=[NAN, 2.0],
                kind="definition",
                because="NaN in, NaN out (IEEE 754 §6.2) for a kept unit; the other is 1/(1 − 0.5) = 2",
            ),
            Special(
                "evaluation_is_identity",
                "dropout(training=False) returns x, whatever the mask",
                "evaluation mode drops nothing and does not scale",
                {"x": [NAN, INF, -1.0], "mask": [0.0, 0.0, 1.0], "p": 0.5, "training": False},
                value=[NAN, INF, -1.0],
                kind="definition",
                because="dropout is the identity at evaluation (inverted dropout scales during training only), "
                "so even NaN and ∞ pass unchanged",
            ),
            Special(
                "dropped_nan",
                "dropout of a dropped NaN is NaN (x·0) or 0 (a select)",
                "a dropped unit is 0 for every finite x; NaN·0 is NaN",
                {"x": [NAN, INF, 1.0], "mask": [0.0, 0.0, 0.0], "p": 0.5},
                value=[NAN, NAN, 0.0],
                kind="choice",
                because="x·m/(1 − p) with m = 0 is NaN for x = NaN or ±∞ (IEEE 754 §7.2), the reference's value; "
                "a framework that selects 0 for a dropped unit returns 0; the definition fixes neither",
            ),
        ),
    ),
)
