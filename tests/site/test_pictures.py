"""Pictures come from the glossary's [[picture]] tables, never from a term's id."""

from __future__ import annotations

import dataclasses

import pytest
from dlterms.glossary import PICTURE_KINDS, PICTURE_VARIANTS, Picture, load_sections, load_terms

from dlterms.site import plots
from dlterms.site.plots.diagrams import MODES, wrap_identifier

TERMS = load_terms()
SECTIONS = load_sections()


def test_every_picture_kind_has_a_drawer() -> None:
    """The site draws exactly the kinds the glossary schema accepts."""
    assert set(plots.DRAWERS) == set(PICTURE_KINDS)


def test_rnn_modes_are_the_glossary_variants() -> None:
    """The RNN diagram's modes are the variants the glossary accepts for kind='rnn', in the same order."""
    assert tuple(MODES) == PICTURE_VARIANTS["rnn"]


@pytest.mark.parametrize(
    "term_id", ["batch-normalization", "stride-tricks", "rnn-encoder", "mini-batch-size", "conv-stride-padding"]
)
def test_term_without_picture_gets_the_related_map_whatever_its_id(term_id: str) -> None:
    """A term whose id contains batch, stride, rnn... but declares no picture gets the related-terms map."""
    base = TERMS["bias"]
    term = dataclasses.replace(base, id=term_id, pictures=())
    assert [p.name for p in plots.pictures_for(term, TERMS, SECTIONS)] == [f"related-{term_id}"]


def test_declared_pictures_are_drawn_in_order_with_their_parameters() -> None:
    """A term's [[picture]] tables give the pictures in file order; names carry the parameters."""
    term = dataclasses.replace(
        TERMS["bias"],
        pictures=(Picture("convolution", stride=2, padding=1), Picture("rnn", variant="many-to-one")),
    )
    assert [p.name for p in plots.pictures_for(term, TERMS, SECTIONS)] == ["conv-s2-p1", "rnn-many-to-one"]


def test_pictures_of_some_terms() -> None:
    """Hand-checked: stride gets the stride-2 convolution and the pooling windows; softmax its two functions."""
    names = {t: [p.name for p in plots.pictures_for(TERMS[t], TERMS, SECTIONS)] for t in ("stride", "softmax", "bias")}
    assert names == {
        "stride": ["conv-s2-p0", "pool-max_pool2d-avg_pool2d"],
        "softmax": ["vector-softmax-log_softmax"],
        "bias": ["related-bias"],
    }


def test_a_long_reference_name_is_broken_after_underscores_in_the_related_map() -> None:
    """batch_norm_running_stats() takes two lines of at most 16 characters, and joined again it is the name."""
    assert wrap_identifier("batch_norm_running_stats()", 16) == "batch_norm_\nrunning_stats()"
    wrapped = wrap_identifier("scaled_dot_product_attention_vjp()", 16)
    assert all(len(line) <= 16 for line in wrapped.split("\n"))
    assert wrapped.replace("\n", "") == "scaled_dot_product_attention_vjp()"
    assert wrap_identifier("relu()", 16) == "relu()"


def test_attention_heat_map_shows_the_softmax_of_the_scores() -> None:
    """The heat map's weights are softmax(XXᵀ/√4) of its tokens (by NumPy here); causal ones are 0 above j = i."""
    import numpy as np

    from dlterms.site.plots import heatmaps

    x = np.array(heatmaps.tokens())
    scores = x @ x.T / 2.0
    for causal in (False, True):
        if causal:
            scores = np.where(np.tril(np.ones_like(scores)) > 0, scores, -np.inf)
        expected = np.exp(scores - scores.max(axis=1, keepdims=True))
        expected /= expected.sum(axis=1, keepdims=True)
        got = np.array(heatmaps.attention_weights(causal))
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)
    assert np.all(np.triu(np.array(heatmaps.attention_weights(True)), k=1) == 0.0)


def test_scaled_dot_product_attention_shows_the_attention_heat_map() -> None:
    """The attention term's page declares the heat map."""
    names = [p.name for p in plots.pictures_for(TERMS["scaled-dot-product-attention"], TERMS, SECTIONS)]
    assert names == ["attention-weights"]


def test_lstm_cell_diagram_shows_the_step_worked_by_hand() -> None:
    """The diagram's f, i·g, o, c′ and h′ are the gates of its example worked out here with math (i, f, g, o rows)."""
    import math

    from dlterms.site.plots import cells

    def sigmoid(a: float) -> float:
        return 1.0 / (1.0 + math.exp(-a))

    x, h, c = cells.X, cells.H, cells.C
    pre = [
        w[0] * x + u[0] * h + b + d for w, u, b, d in zip(cells.W_IH, cells.W_HH, cells.B_IH, cells.B_HH, strict=True)
    ]
    i, f, g, o = sigmoid(pre[0]), sigmoid(pre[1]), math.tanh(pre[2]), sigmoid(pre[3])
    expected = {"f": f, "i·g": i * g, "o": o, "c′": f * c + i * g, "h′": o * math.tanh(f * c + i * g)}
    got = cells.lstm_step()
    assert got.keys() == expected.keys()
    for name, value in expected.items():
        assert math.isclose(got[name], value, rel_tol=1e-12), name


def test_positional_encoding_heat_map_is_sin_and_cos_of_the_positions() -> None:
    """The heat map's table is sin(p·10000^(−2i/32)) in column 2i and cos in 2i + 1 (math here), 64 by 32."""
    import math

    from dlterms.site.plots import heatmaps

    table = heatmaps.positional_encodings()
    assert (len(table), len(table[0])) == (64, 32)
    for p in (0, 1, 17, 63):
        for i in (0, 5, 15):
            angle = p * 10000.0 ** (-2 * i / 32)
            assert math.isclose(table[p][2 * i], math.sin(angle), rel_tol=1e-12, abs_tol=1e-15)
            assert math.isclose(table[p][2 * i + 1], math.cos(angle), rel_tol=1e-12, abs_tol=1e-15)


def _separable(coordinates: list[float], image: list[list[float]]) -> list[list[float]]:
    """``image`` resampled at ``coordinates`` along both axes by NumPy's np.interp (clamped at the ends)."""
    import numpy as np

    grid = np.arange(len(image), dtype=float)
    rows = np.array([np.interp(coordinates, grid, row) for row in image])  # along the width
    return np.array([np.interp(coordinates, grid, col) for col in rows.T]).T.tolist()  # then the height


def test_interpolation_heat_maps_are_the_three_resamplings_of_the_image() -> None:
    """Nearest is a 2 × 2 block per input; bilinear is np.interp at (d + ½)/2 − ½ (half-pixel) or at 2d/5
    (align_corners: d·(3 − 1)/(6 − 1)), computed here, and the corners survive only the latter."""
    import numpy as np

    from dlterms.site.plots import heatmaps

    image = heatmaps.RESAMPLED
    nearest = heatmaps.resampled("nearest", None)
    assert nearest == [[image[i // 2][j // 2] for j in range(6)] for i in range(6)]
    half_pixel = _separable([(d + 0.5) / 2 - 0.5 for d in range(6)], image)
    assert np.allclose(heatmaps.resampled("bilinear", False), half_pixel, rtol=0, atol=1e-12)
    corners = _separable([2 * d / 5 for d in range(6)], image)
    aligned = heatmaps.resampled("bilinear", True)
    assert np.allclose(aligned, corners, rtol=0, atol=1e-12)
    for i, j in ((0, 0), (0, -1), (-1, 0), (-1, -1)):
        assert aligned[i][j] == image[i][j]


def test_interpolation_shows_the_resampling_heat_maps() -> None:
    """The interpolation term's page declares the resampling heat maps."""
    names = [p.name for p in plots.pictures_for(TERMS["interpolation"], TERMS, SECTIONS)]
    assert names == ["interpolation"]


def _walk_stages(stages: tuple[tuple[str, object], ...], x: list, p: dict, heads: int) -> list:
    """The block computed by walking the drawn stages with the reference's public functions."""
    import numpy as np

    from dlterms import reference
    from dlterms.site.plots.cells import RESIDUALS_LEAVE_BEFORE

    e = len(x[0][0])
    w = p["in_proj_weight"]
    inputs, norms, sums, h = [], 0, 0, x
    for name, _ in stages:
        inputs.append(h)
        if name == "attention":
            h = reference.multi_head_attention(
                h, h, h, heads, w[:e], w[e : 2 * e], w[2 * e :], p["out_proj_weight"],
                in_proj_bias=p["in_proj_bias"], out_proj_bias=p["out_proj_bias"],
            )  # fmt: skip
        elif name == "LayerNorm":
            norms += 1
            h = reference.layer_norm(h, e, p[f"norm{norms}_weight"], p[f"norm{norms}_bias"], 1e-5)
        elif name == "feed-forward":
            hidden = reference.relu(reference.linear(h, p["linear1_weight"], p["linear1_bias"]))
            h = reference.linear(hidden, p["linear2_weight"], p["linear2_bias"])
        else:
            h = (np.asarray(h) + np.asarray(inputs[RESIDUALS_LEAVE_BEFORE[sums]])).tolist()
            sums += 1
    return h


def test_transformer_block_diagram_is_the_reference_block() -> None:
    """Walking each drawn order (its residuals leaving where drawn) computes the reference's
    transformer_encoder_block with that norm_first, and the two orders differ."""
    import numpy as np

    from dlterms import reference
    from dlterms.site.plots import cells

    rng = np.random.default_rng(3)
    e, f, t = 4, 6, 3
    shapes = {"in_proj_weight": (3 * e, e), "in_proj_bias": (3 * e,), "out_proj_weight": (e, e), "out_proj_bias": (e,),
              "linear1_weight": (f, e), "linear1_bias": (f,), "linear2_weight": (e, f), "linear2_bias": (e,),
              "norm1_weight": (e,), "norm1_bias": (e,), "norm2_weight": (e,), "norm2_bias": (e,)}  # fmt: skip
    p = {k: rng.uniform(-1, 1, s).tolist() for k, s in shapes.items()}
    x = rng.uniform(-1, 1, (2, t, e)).tolist()
    walked = {}
    for stages, norm_first in ((cells.POST_NORM, False), (cells.PRE_NORM, True)):
        walked[norm_first] = _walk_stages(stages, x, p, heads=2)
        expected = reference.transformer_encoder_block(x, 2, **p, norm_first=norm_first)
        np.testing.assert_allclose(walked[norm_first], expected, rtol=0, atol=1e-12)
    assert not np.allclose(walked[False], walked[True])


def test_transformer_shows_the_block_diagram() -> None:
    """The Transformer term's page declares the block diagram."""
    names = [p.name for p in plots.pictures_for(TERMS["transformer"], TERMS, SECTIONS)]
    assert names == ["transformer-block"]
