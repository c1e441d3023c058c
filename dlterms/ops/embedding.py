"""Op records of embedding past the seed (section: rnn): the lookup of weight rows by integer index."""

from __future__ import annotations

from .record import INF, NAN, Cases, Op, Special, index, option, relative, tensor

OPS = (
    Op(
        "embedding",
        term="embedding",
        summary="the rows weight[indices] (V, D) → indices.shape + (D,); padding_idx's row gets no gradient",
        args=(
            tensor("weight"),
            index("indices", "int tensor, 0 <= index < V"),
            option("padding_idx", None, "int | None"),
        ),
        cases=Cases(
            "invariants.embedding.embedding_cases",
            {"edges": ("full_range", "signed_zeros")},
            why="rows of any values: a lookup copies them, edges and signed zeros included",
        ),
        grad_cases=Cases(
            "invariants.embedding.embedding_cases",
            {"padding": False},
            why="no padding_idx: its row's zero gradient is declared, not the derivative of the lookup, which "
            "a finite difference measures (embedding.padding_row_gets_no_gradient checks it instead)",
        ),
        sizes=Cases(
            "invariants.embedding.embedding_sizes",
            {"vocab": (255, 256, 257, 1025), "lookups": 65_537},
            why="vocabularies around a block of 256 and 65,537 lookups (more rows than a CUDA grid's y dimension)",
        ),
        accuracy=relative("rounded", "a copy of the weight's rows: exact (s = 0)"),
        special_values=(
            Special(
                "copies_special_rows",
                "embedding copies NaN, ±∞ and −0.0 rows as they are",
                "a lookup does no arithmetic",
                {"weight": [[NAN, -0.0], [INF, -INF]], "indices": [1, 0]},
                value=[[INF, -INF], [NAN, -0.0]],
                signed_zeros=True,
                kind="definition",
                because="the output is the weight's rows themselves: no operation, so nothing is rounded, "
                "no NaN is made and the sign of zero is kept",
            ),
            Special(
                "padding_row_is_looked_up",
                "embedding with padding_idx returns the padding row as it is",
                "padding_idx changes the gradient only",
                {"weight": [[1.0, 2.0], [3.0, 4.0]], "indices": [0, 1, 0], "padding_idx": 0},
                value=[[1.0, 2.0], [3.0, 4.0], [1.0, 2.0]],
                kind="definition",
                because="PyTorch's padding_idx excludes its row from the gradient and leaves the lookup unchanged "
                "(nn.Embedding only initialises that row to zeros, which F.embedding does not do)",
            ),
        ),
    ),
)
