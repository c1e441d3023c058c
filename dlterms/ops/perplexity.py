"""Op record of perplexity (section: attention): exp of the mean cross-entropy of class-index targets."""

from __future__ import annotations

from .record import INF, MANY_ROWS, NAN, Cases, Op, Special, index, relative, tensor

OPS = (
    Op(
        "perplexity",
        term="perplexity",
        summary="exp(mean over N of −log softmax(logits)[target]); logits (N, C), target N class indices; N ≥ 1",
        args=(tensor("logits"), index("target")),
        cases=Cases(
            "invariants.perplexity.perplexity_cases",
            {"edges": ("large_offsets",)},
            why="logits within 8 of each other (a perplexity below e^16), some 10⁷ + a few units",
        ),
        sizes=Cases(
            "invariants.perplexity.perplexity_sizes",
            {"classes": (255, 256, 257, 32_000), "rows": MANY_ROWS},
            why=f"4 tokens over vocabularies around a block of 256 and a language model's (32,000); {MANY_ROWS:,} "
            "tokens of 3 classes",
        ),
        accuracy=relative(
            "perplexity",
            "e^L of the mean cross-entropy L: L's error δ becomes the relative error δ of e^L, so "
            "s = PPL·(L + s_L) and a = PPL·a_L from cross-entropy's model, plus the rounding of e^L",
            accumulation="perplexity",
        ),
        special_values=(
            Special(
                "uniform_logits",
                "perplexity([[0, 0, 0, 0]], [2]) = 4",
                "uniform over C classes: C choices",
                {"logits": [[0.0, 0.0, 0.0, 0.0]], "target": [2]},
                value=4.0,
                kind="definition",
                because="each class has probability 1/4, so exp(−log ¼) = 4",
            ),
            Special(
                "masked_class",
                "perplexity([[−∞, 0]], [1]) = 1",
                "a masked (−∞) class takes no probability",
                {"logits": [[-INF, 0.0]], "target": [1]},
                value=1.0,
                kind="definition",
                because="e^−∞ = 0 exactly, so the target's probability is 1 and exp(0) = 1",
            ),
            Special(
                "nan_propagates",
                "a NaN logit makes the perplexity NaN",
                "NaN in, NaN out through the mean",
                {"logits": [[NAN, 0.0], [0.0, 0.0]], "target": [0, 1]},
                value=NAN,
                kind="definition",
                because="the first row's loss is NaN (IEEE 754 §6.2), and so are the mean and its exponential",
            ),
            Special(
                "infinite_logit_at_target",
                "perplexity([[+∞, 0]], [0]) = 1",
                "the target takes all the probability",
                {"logits": [[INF, 0.0]], "target": [0]},
                value=1.0,
                kind="choice",
                because="the limit is 1 (a loss of 0); a max-shift computes ∞ − ∞ = NaN, as for cross_entropy",
            ),
            Special(
                "infinite_logit_elsewhere",
                "perplexity([[+∞, 0]], [1]) = +∞",
                "the target has probability 0",
                {"logits": [[INF, 0.0]], "target": [1]},
                value=INF,
                kind="choice",
                because="the limit is +∞ (an infinite loss); a max-shift computes ∞ − ∞ = NaN, as for cross_entropy",
            ),
        ),
    ),
)
