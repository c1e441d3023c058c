"""Op records of multi-head attention (section: attention).

Batch first: query ``(N, L, E)``, key ``(N, S, kdim)``, value ``(N, S, vdim)``; PyTorch's separate
projection weights (``use_separate_proj_weight=True``) in the ``(out, in)`` layout, ``in_proj_bias``
``(3E,)``; heads are contiguous blocks of E/H features, each scaled by 1/√(E/H). The mask is
scaled dot-product attention's boolean ``(L, S)``, True = the key takes part.
"""

from __future__ import annotations

from .record import NAN, Cases, Op, Special, option, tensor

_MHA_LENGTHS = (63, 64, 65, 127, 128, 129)  # past 64 and 128 keys: fused attention kernels' tile sizes

_ONE = [[1.0]]  # a 1 × 1 identity projection: E = kdim = vdim = 1, one head

OPS = (
    Op(
        "multi_head_attention",
        term="multi-head-attention",
        summary="H attentions of q·W_qᵀ + b_q, k·W_kᵀ + b_k, v·W_vᵀ + b_v (head h: features h·E/H … of each), "
        "scale 1/√(E/H), joined and projected by W_o, b_o; batch first (N, L, E); mask (L, S) True = takes part",
        args=(
            tensor("query"),
            tensor("key"),
            tensor("value"),
            option("num_heads", annotation="int, dividing E"),
            tensor("q_proj_weight"),
            tensor("k_proj_weight"),
            tensor("v_proj_weight"),
            tensor("out_proj_weight"),
            tensor("in_proj_bias", None, annotation="tensor (3E,) | None"),
            tensor("out_proj_bias", None, annotation="tensor (E,) | None"),
            option("mask", None, "bool (L, S), True = takes part | None"),
            option("causal", False, "bool"),
        ),
        cases=Cases(
            "invariants.multi_head_attention.mha_cases",
            why="inputs in [−1, 1], weights and biases in [−1/2, 1/2], up to 2 examples and heads, E ≤ 4, "
            "3 queries and keys; every query sees a key",
        ),
        grad_cases=Cases(
            "invariants.multi_head_attention.mha_cases",
            {"biases": True, "few_shapes": True, "masked": False},
            why="both biases always (the VJP differentiates every weight and bias); N = 2, L = S = 3, E = 2 or 4 "
            "in 1 or 2 heads, kdim 3, vdim 2, causal or not, no mask: JAX compiles a program per shape and mask "
            "(minutes a run); the mask's gradient path is scaled dot-product attention's, checked there",
        ),
        sizes=Cases(
            "invariants.multi_head_attention.mha_sizes",
            {"lengths": _MHA_LENGTHS},
            why="L = S of 63 to 129 (where fused attention kernels change tiles), and E of 64 and 128",
        ),
        special_values=(
            Special(
                "equal_keys_average_the_values",
                "with identity projections, attention to equal keys is the mean of the values, projected",
                "equal scores give equal weights 1/S",
                {
                    "query": [[[1.0]]],
                    "key": [[[2.0], [2.0]]],
                    "value": [[[1.0], [4.0]]],
                    "num_heads": 1,
                    "q_proj_weight": _ONE,
                    "k_proj_weight": _ONE,
                    "v_proj_weight": _ONE,
                    "out_proj_weight": [[2.0]],
                },
                value=[[[5.0]]],
                kind="definition",
                because="softmax of equal scores is uniform: the head is (1 + 4)/2 = 2.5, and the output "
                "projection doubles it: 5",
            ),
            Special(
                "causal_first_query_sees_the_first_key",
                "with causal=True the first query returns the first value",
                "query 0 sees key 0 only (top-left alignment)",
                {
                    "query": [[[1.0], [2.0]]],
                    "key": [[[0.0], [0.0]]],
                    "value": [[[1.0], [3.0]]],
                    "num_heads": 1,
                    "q_proj_weight": _ONE,
                    "k_proj_weight": _ONE,
                    "v_proj_weight": _ONE,
                    "out_proj_weight": _ONE,
                    "causal": True,
                },
                value=[[[1.0], [2.0]]],
                kind="definition",
                because="query 0's only key is key 0 (weight 1): value 1; query 1 sees both keys with score 0: "
                "(1 + 3)/2 = 2",
            ),
            Special(
                "fully_masked_row",
                "a query whose mask row is all False returns NaN",
                "no key takes part: the softmax of a row of −∞ is 0/0",
                {
                    "query": [[[1.0], [1.0]]],
                    "key": [[[0.0], [0.0]]],
                    "value": [[[1.0], [3.0]]],
                    "num_heads": 1,
                    "q_proj_weight": _ONE,
                    "k_proj_weight": _ONE,
                    "v_proj_weight": _ONE,
                    "out_proj_weight": _ONE,
                    "mask": [[False, False], [True, True]],
                },
                value=[[[NAN], [2.0]]],
                kind="choice",
                because="an average over no key is 0/0, NaN, the reference's value (scaled dot-product "
                "attention's); the definition fixes no value, and frameworks differ",
            ),
        ),
    ),
)
