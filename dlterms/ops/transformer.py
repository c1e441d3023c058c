"""Op record of the Transformer encoder block (section: attention), post-norm and pre-norm.

``torch.nn.TransformerEncoderLayer`` with dropout 0 and ``batch_first=True``: x ``(N, T, E)``, the
self-attention's packed ``in_proj_weight`` ``(3E, E)`` and ``in_proj_bias`` ``(3E,)`` (query, key,
value), the output projection, the feed-forward network's two linear layers ``(F, E)`` and ``(E, F)``
and the two layer normalizations, all in PyTorch's names and ``(out, in)`` layouts.
"""

from __future__ import annotations

from .record import NAN, Cases, Op, Special, option, tensor

_LENGTHS = (63, 64, 65)  # past 64 positions: fused attention kernels' tile sizes

_ONE, _ZERO = [[1.0]], [0.0]
# E = 1 (one head, F = 1): every weight 1 and every bias 0 but the norms' biases; a layer normalization of
# one feature is its bias exactly (x − μ = 0), and attention to one position returns its value.
_E1 = {
    "num_heads": 1,
    "in_proj_weight": [[1.0], [1.0], [1.0]],
    "in_proj_bias": [0.0, 0.0, 0.0],
    "out_proj_weight": _ONE,
    "out_proj_bias": _ZERO,
    "linear1_weight": _ONE,
    "linear1_bias": _ZERO,
    "linear2_weight": _ONE,
    "linear2_bias": _ZERO,
    "norm1_weight": [1.0],
    "norm1_bias": [0.5],
    "norm2_weight": [1.0],
    "norm2_bias": [0.25],
}

OPS = (
    Op(
        "transformer_encoder_block",
        term="transformer",
        summary="post-norm LN₂(h + FFN(h)), h = LN₁(x + MHA(x)), or pre-norm (norm_first) h + FFN(LN₂(h)), "
        "h = x + MHA(LN₁(x)); FFN = act(x·W₁ᵀ + b₁)·W₂ᵀ + b₂; PyTorch's TransformerEncoderLayer, dropout 0, "
        "batch first (N, T, E), packed in_proj_weight (3E, E)",
        args=(
            tensor("x"),
            option("num_heads", annotation="int, dividing E"),
            tensor("in_proj_weight"),
            tensor("in_proj_bias"),
            tensor("out_proj_weight"),
            tensor("out_proj_bias"),
            tensor("linear1_weight"),
            tensor("linear1_bias"),
            tensor("linear2_weight"),
            tensor("linear2_bias"),
            tensor("norm1_weight"),
            tensor("norm1_bias"),
            tensor("norm2_weight"),
            tensor("norm2_bias"),
            option("norm_first", False, "bool"),
            option("activation", "relu", "'relu' | 'gelu'"),
            option("eps", 1e-5, "float"),
            option("causal", False, "bool"),
        ),
        cases=Cases(
            "invariants.transformer.block_cases",
            why="x ±3/4 alternating over the features plus [−1/2, 1/2], weights and biases in [−1/2, 1/2], norm "
            "weights in [1/2, 3/2]; N ≤ 2, T ≤ 3, E = 4 or 8 in 1 or 2 heads of 2 or 4 features, F = 4 or 8 (few "
            "shapes: JAX compiles a program per shape); every layer normalization's input row has σ ≥ 1/4, so no "
            "normalization multiplies its input's rounding errors by more than 4",
        ),
        grad_cases=Cases(
            "invariants.transformer.block_cases",
            {"activation": "gelu", "few_shapes": True},
            why="GELU: ReLU's kink at 0 makes a central difference meaningless where a pre-activation is near 0 "
            "(ReLU's own gradient is checked on its term); N = 2, T = 3, E = 4 in 2 heads, F = 8 only: JAX "
            "compiles a program per shape",
        ),
        sizes=Cases(
            "invariants.transformer.block_sizes",
            {"lengths": _LENGTHS},
            why="T of 63 to 65 positions with E = 16 in 4 heads and F = 64, then E = 64 in 4 heads with F = 256",
        ),
        # float32 and float64 only: two layer normalizations each multiply their input's error by up to 4 (σ ≥ 1/4)
        # and float16's absolute bound 1e-3 is 2u: a float16 block is a mixed-precision question, not this one
        dtypes=("float32", "float64"),
        special_values=(
            Special(
                "one_feature_post_norm_is_the_bias",
                "with E = 1, the post-norm block returns norm2_bias at every position",
                "a layer normalization of one feature is its bias: x − μ = 0 exactly",
                {"x": [[[2.0], [-3.0]]], **_E1},
                value=[[[0.25], [0.25]]],
                kind="definition",
                because="the last step is LN₂ of one feature: (s − s)/√(0 + ε)·1 + 0.25 = 0.25 whatever s is",
            ),
            Special(
                "one_feature_pre_norm_adds_the_biases",
                "with E = 1, the pre-norm block returns x + norm1_bias + relu(norm2_bias)",
                "LN₁(x) = 0.5 and attention to its own position returns its value; LN₂(h) = 0.25, FFN(0.25) = 0.25",
                {"x": [[[2.0]]], **_E1, "norm_first": True},
                value=[[[2.75]]],
                kind="definition",
                because="h = 2 + MHA(0.5) = 2 + 0.5 (one position: weight 1 on its value 0.5); y = h + relu(0.25) = "
                "2.75, every step exact",
            ),
            Special(
                "nan_reaches_every_position",
                "a NaN at one position makes every output NaN (no causal mask)",
                "self-attention mixes every position into every other",
                {"x": [[[NAN], [1.0]]], **_E1},
                value=[[[NAN], [NAN]]],
                kind="definition",
                because="position 1 attends to position 0, whose key and value are NaN: NaN in, NaN out "
                "(IEEE 754 §6.2); position 0's own row is NaN from the start",
            ),
        ),
    ),
)
