"""Op records of adaptive average pooling (section: convolutional networks, issue 13)."""

from __future__ import annotations

from .conv import PAIR
from .record import ABSOLUTE, INF, NAN, Cases, Op, Special, option, tensor

OPS = (
    Op(
        "adaptive_avg_pool2d",
        term="global-average-pooling",
        summary="the mean of each of output_size bins (PyTorch's: ⌊i·H/out⌋ to ⌈(i + 1)·H/out⌉), NCHW; "
        "output_size 1: global average pooling",
        args=(tensor("x"), option("output_size", annotation=PAIR)),
        cases=Cases(
            "invariants.adaptive_pooling.adaptive_pool_params",
            why="inputs of 1 to 7 positions per axis and outputs of 1 to 5: overlapping bins, exact multiples, "
            "outputs larger than the input",
        ),
        accuracy=ABSOLUTE,
        sizes=Cases(
            "invariants.adaptive_pooling.adaptive_pool_sizes",
            {"sides": (7, 14, 15, 33), "outputs": (1, 6, 7)},
            why="2 × 64 planes of sides 7 to 33 to outputs 1 (global), 6 and 7 (ResNet's and VGG's heads)",
        ),
        special_values=(
            Special(
                "infinity_stays_in_its_bins",
                "adaptive_avg_pool2d of a column holding +∞ is +∞ only in the bins that hold it",
                "a sum holding +∞ (and no −∞ or NaN) is +∞",
                {"x": [[[[INF], [1.0], [2.0]]]], "output_size": [2, 1]},
                value=[[[[INF], [1.5]]]],
                kind="definition",
                because="the bins of 3 rows to 2 are rows 0-1 and 1-2: only the first holds +∞; the second is 1.5",
            ),
            Special(
                "nan_in_overlap_reaches_both_bins",
                "adaptive_avg_pool2d of a NaN in the row two bins share is NaN in both",
                "NaN in, NaN out; the bins overlap when the output does not divide the input",
                {"x": [[[[1.0], [NAN], [2.0]]]], "output_size": [2, 1]},
                value=[[[[NAN], [NAN]]]],
                kind="definition",
                because="the bins of 3 rows to 2 are rows 0-1 and 1-2 (⌊i·3/2⌋ to ⌈(i + 1)·3/2⌉): both hold row 1",
            ),
        ),
    ),
)
