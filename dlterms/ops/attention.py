"""Op records of attention (section: attention): scaled dot-product attention.

The layout is PyTorch's: query ``(N, H, L, E)``, key ``(N, H, S, E)``, value ``(N, H, S, Ev)``.
A boolean ``mask`` (True = the key takes part) and an additive ``bias`` are separate arguments,
as in JAX (PyTorch takes either as ``attn_mask``); ``causal`` is aligned at the top left.
"""

from __future__ import annotations

from .record import NAN, Cases, Op, Special, option, tensor

_ATTENTION_LENGTHS = (63, 64, 65, 127, 128, 129)  # past 64 and 128 keys and features: fused kernels' tile sizes

OPS = (
    Op(
        "scaled_dot_product_attention",
        term="scaled-dot-product-attention",
        summary="softmax(scale·q·kᵀ + bias, hidden keys −∞)·v over the keys; (N, H, L, E) layout; causal: "
        "top-left, key j ≤ query i; scale=None: 1/√E",
        args=(
            tensor("query"),
            tensor("key"),
            tensor("value"),
            option("mask", None, "bool (L, S) or (N, H, L, S), True = takes part | None"),
            tensor("bias", None, differentiable=False, annotation="tensor (L, S) or (N, H, L, S) | None"),
            option("causal", False, "bool"),
            option("scale", None, "float | None"),
        ),
        cases=Cases(
            "invariants.attention.attention_cases",
            why="values in [−2, 2], up to 2 examples and heads, 4 queries and keys, 4 features; every query sees a key",
        ),
        sizes=Cases(
            "invariants.attention.attention_sizes",
            {"lengths": _ATTENTION_LENGTHS},
            why="L, S and E of 63 to 129: where fused attention kernels change tiles (64, 128)",
        ),
        special_values=(
            Special(
                "equal_keys_average_the_values",
                "attention to equal keys is the mean of the values",
                "equal scores give equal weights 1/S",
                {"query": [[[[1.0]]]], "key": [[[[2.0], [2.0]]]], "value": [[[[1.0], [4.0]]]]},
                value=[[[[2.5]]]],
                kind="definition",
                because="softmax of equal scores is uniform, so the output is (1 + 4)/2 = 2.5, whatever the scale",
            ),
            Special(
                "causal_first_query_sees_the_first_key",
                "with causal=True the first query returns the first value",
                "query 0 sees key 0 only (top-left alignment)",
                {
                    "query": [[[[1.0], [2.0]]]],
                    "key": [[[[0.0], [0.0]]]],
                    "value": [[[[1.0], [3.0]]]],
                    "causal": True,
                },
                value=[[[[1.0], [2.0]]]],
                kind="definition",
                because="query 0's only key is key 0 (weight 1): value 1; query 1 sees both keys with score 0: "
                "(1 + 3)/2 = 2",
            ),
            Special(
                "nan_propagates_within_its_query",
                "a NaN in a query makes its output row NaN, and only that row",
                "the NaN enters that query's scores only",
                {"query": [[[[NAN], [1.0]]]], "key": [[[[0.0], [0.0]]]], "value": [[[[1.0], [3.0]]]]},
                value=[[[[NAN], [2.0]]]],
                kind="definition",
                because="NaN in, NaN out (IEEE 754 §6.2) through query 0's scores and softmax; query 1's scores are "
                "0 and 0: (1 + 3)/2 = 2",
            ),
            Special(
                "fully_masked_row",
                "a query whose mask row is all False returns NaN",
                "no key takes part: the softmax of a row of −∞ is 0/0",
                {
                    "query": [[[[1.0], [1.0]]]],
                    "key": [[[[0.0], [0.0]]]],
                    "value": [[[[1.0], [3.0]]]],
                    "mask": [[False, False], [True, True]],
                },
                value=[[[[NAN], [2.0]]]],
                kind="choice",
                because="an average over no key is 0/0, NaN (as softmax([−∞, −∞]) is NaN), the reference's value; "
                "PyTorch returns 0 and JAX and Keras the mean of all values (a finite mask value): the definition "
                "fixes none of them",
            ),
        ),
    ),
)
