"""Op record of resampling (nearest and bilinear interpolation; section: convolutional networks, issue 13)."""

from __future__ import annotations

from .conv import PAIR
from .record import INF, NAN, Cases, Op, Special, option, relative, tensor

OPS = (
    Op(
        "interpolate",
        term="interpolation",
        summary="resample NCHW to size (h, w): 'nearest' (⌊d·H/n⌋), 'nearest-exact' (half-pixel) or 'bilinear' "
        "(align_corners False: half-pixel centres, clamped at 0; True: d·(H − 1)/(n − 1))",
        args=(
            tensor("x"),
            option("size", annotation=PAIR),
            option("mode", "nearest", "'nearest' | 'nearest-exact' | 'bilinear'"),
            option("align_corners", None, "bool | None (bilinear only)"),
        ),
        cases=Cases(
            "invariants.interpolate.interpolate_params",
            why="inputs of 1 to 5 positions per axis resampled to 1 to 7: up, down and non-integer factors, "
            "every mode and align_corners",
        ),
        accuracy=relative(
            "interpolation",
            "a sum of at most four products with weights in [0, 1] (the terms' sizes), and each axis' source "
            "coordinate, which frameworks compute in floating point, so λ errs by u·(|s| + 1) times the "
            "difference of the two inputs it weighs",
        ),
        sizes=Cases(
            "invariants.interpolate.interpolate_sizes",
            {"shapes": ((16, 16, 32, 32), (33, 20, 48, 64), (64, 63, 27, 21))},
            why="2 × 4 planes doubled, enlarged by non-integer factors and shrunk, in every mode",
        ),
        special_values=(
            Special(
                "nan_copied_by_nearest",
                "nearest resampling copies a NaN to exactly the outputs that read it",
                "NaN in, NaN out; nearest reads one input per output",
                {"x": [[[[NAN, 1.0]]]], "size": [1, 4]},
                value=[[[[NAN, NAN, 1.0, 1.0]]]],
                kind="definition",
                because="doubling 2 columns reads columns 0, 0, 1, 1 (⌊d·2/4⌋): the NaN reaches the first two only",
            ),
            Special(
                "infinity_beside_a_zero_weight",
                "bilinear resampling of a row [1, +∞] to 4 columns is 1, +∞, +∞, +∞",
                "an input of weight 0 is not read; any positive weight on +∞ gives +∞",
                {"x": [[[[1.0, INF], [2.0, 3.0]]]], "size": [2, 4], "mode": "bilinear"},
                value=[[[[1.0, INF, INF, INF], [2.0, 2.25, 2.75, 3.0]]]],
                kind="choice",
                because="column 0 reads column 0 alone (λ = 0); a kernel that multiplies both neighbours (0·∞) or "
                "writes x₀ + λ(x₁ − x₀) (∞ − ∞) gives NaN there",
            ),
            Special(
                "align_corners_to_one_output",
                "bilinear resampling with align_corners=True to a single output reads the first pixel",
                "the scale (H − 1)/(n − 1) is 0/0 at n = 1: PyTorch takes 0, so every output reads position 0",
                {"x": [[[[0.0, 1.0], [2.0, 3.0]]]], "size": 1, "mode": "bilinear", "align_corners": True},
                value=[[[[0.0]]]],
                kind="choice",
                because="PyTorch's (and TensorFlow's) choice; a half-pixel map would read the centre, 1.5",
            ),
        ),
    ),
)
