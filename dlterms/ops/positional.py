"""Op records of positions (section: attention): the sinusoidal positional encoding and rotary embedding.

Both turn pair i of a d-dimensional vector by the angle p·ω_i, ω_i = base^(−2i/d). Positions
are a float tensor (L,), so that strategies draw them and both ops have a gradient in them.
"""

from __future__ import annotations

from .record import INF, NAN, Cases, Op, Special, option, relative, tensor

_ANGLE_WHY = (
    "ω_i and p·ω_i are rounded (or ω_i computed as exp(−2i/d·log base), within (2 + 2i/d·log base)·u), so the "
    "angle errs by a few u·|p·ω_i| and an entry by that much (|d sin/dθ| ≤ 1): s = |p·ω_i|"
)

OPS = (
    Op(
        "sinusoidal_positional_encoding",
        term="positional-encoding",
        summary="(L, d_model) table: column 2i sin(p·ω_i), 2i + 1 cos(p·ω_i), ω_i = base^(−2i/d_model); d_model even",
        args=(
            tensor("positions", annotation="float tensor (L,)"),
            option("d_model", annotation="int, even"),
            option("base", 10000.0, "float > 0"),
        ),
        cases=Cases(
            "invariants.positional.encoding_cases",
            why="positions in [0, 64] (whole numbers and fractions), d_model 2 to 16, base 10000 or small",
        ),
        grad_cases=Cases(
            "invariants.positional.encoding_cases",
            {"largest": 8.0},
            why="positions in [0, 8]: a finite difference of sin(p·ω) at p·ω ≫ 1 loses its digits to the angle",
        ),
        sizes=Cases(
            "invariants.positional.encoding_sizes",
            {"lengths": (511, 512, 513, 2049), "widths": (64, 128, 512)},
            why="the lengths and widths of language models: positions to 2,048, d_model to 512",
        ),
        accuracy=relative("sinusoid_angle", _ANGLE_WHY),
        special_values=(
            Special(
                "position_zero",
                "sinusoidal_positional_encoding([0], 4) = [[0, 1, 0, 1]]",
                "sin 0 = 0, cos 0 = 1 for every frequency",
                {"positions": [0.0], "d_model": 4},
                value=[[0.0, 1.0, 0.0, 1.0]],
                kind="definition",
                because="the angle p·ω_i is 0 at p = 0, whatever the frequency",
            ),
            Special(
                "nan_propagates",
                "a NaN position gives a row of NaN",
                "NaN in, NaN out",
                {"positions": [NAN, 0.0], "d_model": 2},
                value=[[NAN, NAN], [0.0, 1.0]],
                kind="definition",
                because="NaN·ω is NaN and sin(NaN) = cos(NaN) = NaN (IEEE 754 §6.2); the other row is unaffected",
            ),
            Special(
                "infinite_position",
                "an infinite position gives a row of NaN",
                "sin(±∞) and cos(±∞) are invalid operations",
                {"positions": [INF, -INF], "d_model": 2},
                value=[[NAN, NAN], [NAN, NAN]],
                kind="definition",
                because="sin and cos have no limit at ±∞; IEEE 754 §9.2 makes them invalid, NaN",
            ),
        ),
    ),
    Op(
        "rotary_embedding",
        term="rotary-position-embedding",
        summary="x (…, L, D): pair i of row l turned by positions[l]·ω_i, ω_i = base^(−2i/D); pairs (2i, 2i + 1) "
        "(interleaved) or (i, i + D/2)",
        args=(
            tensor("x"),
            tensor("positions", annotation="float tensor (L,)"),
            option("base", 10000.0, "float > 0"),
            option("interleaved", True, "bool"),
        ),
        cases=Cases(
            "invariants.positional.rotary_cases",
            why="x in [−2, 2] of 2 to 4 axes, D 2 to 8, positions in [0, 64], both pairings",
        ),
        grad_cases=Cases(
            "invariants.positional.rotary_cases",
            {"largest": 8.0},
            why="positions in [0, 8]: a finite difference in the position at p·ω ≫ 1 loses its digits to the angle",
        ),
        sizes=Cases(
            "invariants.positional.rotary_sizes",
            {"lengths": (511, 512, 513, 2049), "widths": (64, 128)},
            why="heads of 64 and 128 features over 2,049 positions (a language model's query or key)",
        ),
        accuracy=relative(
            "rotation",
            "each output is x_a·cos − x_b·sin (or x_a·sin + x_b·cos): two products that can cancel, with the angle "
            "within a few u·|p·ω_i|: s = (|x_a| + |x_b|)·(1 + |p·ω_i|); a = 2λ, the two products flushed to zero",
            accumulation="rotation",
        ),
        special_values=(
            Special(
                "position_zero_is_the_identity",
                "rotary_embedding(x, [0]) = x",
                "a turn by the angle 0",
                {"x": [[1.0, -2.0, 3.0, -0.5]], "positions": [0.0]},
                value=[[1.0, -2.0, 3.0, -0.5]],
                kind="definition",
                because="cos 0 = 1 and sin 0 = 0: each pair (x_a, x_b) goes to (x_a·1 − x_b·0, x_a·0 + x_b·1)",
            ),
            Special(
                "nan_stays_in_its_pair",
                "a NaN feature makes its own pair NaN, and only that pair",
                "NaN in, NaN out, within a rotation of two features",
                {"x": [[NAN, 1.0, 2.0, 3.0]], "positions": [0.0]},
                value=[[NAN, NAN, 2.0, 3.0]],
                kind="definition",
                because="NaN·1 − 1·0 and NaN·0 + 1·1 are NaN (IEEE 754 §6.2); pair (2, 3) is turned by 0",
            ),
            Special(
                "infinite_position",
                "an infinite position gives a row of NaN",
                "sin(±∞) and cos(±∞) are invalid operations",
                {"x": [[1.0, 0.0]], "positions": [INF]},
                value=[[NAN, NAN]],
                kind="definition",
                because="the angle has no sin or cos at ±∞ (IEEE 754 §9.2: invalid, NaN), so no turned pair",
            ),
        ),
    ),
)
