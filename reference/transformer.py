"""The Transformer encoder block, post-norm and pre-norm, and its VJP.

Section: *attention*. The block is ``torch.nn.TransformerEncoderLayer`` with dropout 0 and
``batch_first=True``: self-attention (:func:`~dlterms.reference.multi_head_attention` of x with itself) and a
position-wise feed-forward network FFN(x) = W₂·act(W₁·x + b₁) + b₂, each inside a residual connection with
a layer normalization, after the sum (post-norm, ``norm_first=False``, the original Transformer's) or before
the sublayer (pre-norm, ``norm_first=True``). ``x`` is ``(N, T, E)``; the parameters carry PyTorch's names and
layouts: ``in_proj_weight`` ``(3E, E)`` (the query's, key's and value's ``(out, in)`` projections stacked, in
that order), ``in_proj_bias`` ``(3E,)``, ``out_proj_weight`` ``(E, E)``, ``out_proj_bias`` ``(E,)``,
``linear1_weight`` ``(F, E)``, ``linear1_bias`` ``(F,)``, ``linear2_weight`` ``(E, F)``, ``linear2_bias``
``(E,)``, and the two layer normalizations' ``norm1_weight``, ``norm1_bias``, ``norm2_weight``, ``norm2_bias``
``(E,)``. The result is ``(N, T, E)``.

Everything is composed of the reference's public :func:`multi_head_attention`, :func:`layer_norm`,
:func:`linear` and the activations, and the VJP of theirs; the residual sums are one rounding each.
"""

from __future__ import annotations

from collections.abc import Callable

from ._tensor import Nested, choice, integer, on_behalf_of, tensor, unflatten
from .activations import relu, relu_vjp
from .layers import linear, linear_vjp
from .multi_head_attention import multi_head_attention, multi_head_attention_vjp
from .normalization import layer_norm, layer_norm_vjp
from .smooth_rectifiers import gelu, gelu_vjp

__all__ = ["transformer_encoder_block", "transformer_encoder_block_vjp"]

PARAMETERS = (  # the block's parameters in the signature's order (and the VJP's, after x's gradient)
    "in_proj_weight",
    "in_proj_bias",
    "out_proj_weight",
    "out_proj_bias",
    "linear1_weight",
    "linear1_bias",
    "linear2_weight",
    "linear2_bias",
    "norm1_weight",
    "norm1_bias",
    "norm2_weight",
    "norm2_bias",
)

_ACTIVATIONS: dict[str, tuple[Callable[[Nested], Nested], Callable[[Nested, Nested], Nested]]] = {
    "relu": (relu, relu_vjp),
    "gelu": (gelu, gelu_vjp),  # the exact form x·Φ(x), PyTorch's "gelu"
}
_NOTE = "self-attention's query, key and value are x; q/k/v_proj_weight are the E-row blocks of in_proj_weight"


class _Block:
    """The checked arguments of one call: the flags, the shapes (N, T, E, F), the heads and the parameters by name."""

    def __init__(
        self, fn: str, x: Nested, num_heads: object, params: dict[str, Nested], activation: object, flags: dict
    ) -> None:
        self.fn = fn
        for name, value in flags.items():
            if not isinstance(value, bool):
                raise TypeError(f"{fn}: {name} is {type(value).__name__} {value!r}; expected True or False")
        shape = tensor(fn, "x", x)[0]
        if len(shape) != 3:
            raise ValueError(f"{fn}: x.shape={shape}; expected 3 axes (N, T, E), batch first")
        self.h = integer(fn, "num_heads", num_heads, minimum=1)
        e = shape[2]
        if e == 0 or e % self.h:
            raise ValueError(
                f"{fn}: num_heads={self.h} but x.shape={shape}; expected E = {e} to be a positive multiple of "
                "num_heads (each head takes E/num_heads features)"
            )
        w1 = tensor(fn, "linear1_weight", params["linear1_weight"])[0]
        if len(w1) != 2 or w1[1] != e or w1[0] == 0:
            raise ValueError(f"{fn}: linear1_weight.shape={w1} but x.shape={shape}; expected (F, {e}), F ≥ 1 (out, in)")
        f = w1[0]
        expected = {
            "in_proj_weight": (3 * e, e),
            "in_proj_bias": (3 * e,),
            "out_proj_weight": (e, e),
            "out_proj_bias": (e,),
            "linear1_bias": (f,),
            "linear2_weight": (e, f),
            "linear2_bias": (e,),
            "norm1_weight": (e,),
            "norm1_bias": (e,),
            "norm2_weight": (e,),
            "norm2_bias": (e,),
        }
        for name, want in expected.items():
            got = tensor(fn, name, params[name])[0]
            if got != want:
                raise ValueError(
                    f"{fn}: {name}.shape={got} but x.shape={shape} and linear1_weight.shape={w1}; expected {want} "
                    f"(E = {e} features, F = {f} hidden units of the feed-forward network)"
                )
        self.e = e
        self.p = params
        self.act, self.act_vjp = _ACTIVATIONS[choice(fn, "activation", activation, tuple(_ACTIVATIONS))]

    def projections(self) -> dict[str, Nested]:
        """``q_proj_weight``, ``k_proj_weight``, ``v_proj_weight``: the three E-row blocks of ``in_proj_weight``."""
        w = self.p["in_proj_weight"]
        e = self.e
        return {"q_proj_weight": w[:e], "k_proj_weight": w[e : 2 * e], "v_proj_weight": w[2 * e :]}

    def attention(self, x: Nested, causal: bool) -> Nested:
        """Self-attention of ``x``: :func:`multi_head_attention` with query = key = value = x."""
        with on_behalf_of(self.fn, note=_NOTE):
            return multi_head_attention(
                x,
                x,
                x,
                self.h,
                **self.projections(),
                out_proj_weight=self.p["out_proj_weight"],
                in_proj_bias=self.p["in_proj_bias"],
                out_proj_bias=self.p["out_proj_bias"],
                causal=causal,
            )

    def attention_vjp(self, x: Nested, causal: bool, g: Nested) -> tuple[Nested, Nested, Nested, Nested, Nested]:
        """``(dx, d in_proj_weight, d in_proj_bias, d out_proj_weight, d out_proj_bias)`` of :meth:`attention`:
        x's gradient is the sum of its three roles' (query, key, value), the weight's the three blocks stacked."""
        with on_behalf_of(self.fn, note=_NOTE):
            dq, dk, dv, dwq, dwk, dwv, dwo, dbi, dbo = multi_head_attention_vjp(
                x,
                x,
                x,
                self.h,
                **self.projections(),
                out_proj_weight=self.p["out_proj_weight"],
                cotangent=g,
                in_proj_bias=self.p["in_proj_bias"],
                out_proj_bias=self.p["out_proj_bias"],
                causal=causal,
            )
        return _add(_add(dq, dk), dv), [*dwq, *dwk, *dwv], dbi, dwo, dbo

    def norm(self, i: int, x: Nested, eps: float) -> Nested:
        """Layer normalization ``i`` (1 or 2) over the E features."""
        with on_behalf_of(self.fn):
            return layer_norm(x, self.e, self.p[f"norm{i}_weight"], self.p[f"norm{i}_bias"], eps)

    def norm_vjp(self, i: int, x: Nested, eps: float, g: Nested) -> tuple[Nested, Nested, Nested]:
        with on_behalf_of(self.fn):
            return layer_norm_vjp(x, self.e, g, self.p[f"norm{i}_weight"], self.p[f"norm{i}_bias"], eps)

    def ffn(self, x: Nested) -> Nested:
        """The position-wise feed-forward network W₂·act(W₁·x + b₁) + b₂."""
        hidden = self.act(linear(x, self.p["linear1_weight"], self.p["linear1_bias"]))
        return linear(hidden, self.p["linear2_weight"], self.p["linear2_bias"])

    def ffn_vjp(self, x: Nested, g: Nested) -> tuple[Nested, Nested, Nested, Nested, Nested]:
        """``(dx, d linear1_weight, d linear1_bias, d linear2_weight, d linear2_bias)`` of :meth:`ffn`."""
        z = linear(x, self.p["linear1_weight"], self.p["linear1_bias"])
        d_hidden, dw2, db2 = linear_vjp(self.act(z), self.p["linear2_weight"], self.p["linear2_bias"], g)
        dx, dw1, db1 = linear_vjp(x, self.p["linear1_weight"], self.p["linear1_bias"], self.act_vjp(z, d_hidden))
        return dx, dw1, db1, dw2, db2


def _add(a: Nested, b: Nested) -> Nested:
    """The elementwise sum of two tensors of one shape (a residual connection): one rounding each."""
    shape, fa = tensor("transformer_encoder_block", "residual", a)
    fb = tensor("transformer_encoder_block", "residual", b)[1]
    return unflatten([p + q for p, q in zip(fa, fb, strict=True)], shape)


def transformer_encoder_block(
    x: Nested,
    num_heads: int,
    in_proj_weight: Nested,
    in_proj_bias: Nested,
    out_proj_weight: Nested,
    out_proj_bias: Nested,
    linear1_weight: Nested,
    linear1_bias: Nested,
    linear2_weight: Nested,
    linear2_bias: Nested,
    norm1_weight: Nested,
    norm1_bias: Nested,
    norm2_weight: Nested,
    norm2_bias: Nested,
    norm_first: bool = False,
    activation: str = "relu",
    eps: float = 1e-5,
    causal: bool = False,
) -> Nested:
    r"""Transformer encoder block: self-attention and a feed-forward network, each in a residual with a norm.

    .. math:: \text{post-norm: } h = \operatorname{LN}_1(x + \operatorname{MHA}(x)),\;
              y = \operatorname{LN}_2(h + \operatorname{FFN}(h));\quad
              \text{pre-norm: } h = x + \operatorname{MHA}(\operatorname{LN}_1(x)),\;
              y = h + \operatorname{FFN}(\operatorname{LN}_2(h))

    with :math:`\operatorname{FFN}(z) = \operatorname{act}(z W_1^\top + b_1)\,W_2^\top + b_2` applied at each
    position, MHA the self-attention of :func:`multi_head_attention` (``causal``: position t attends to
    positions ≤ t) and LN :func:`layer_norm` over the E features with ``eps``. ``norm_first=False`` (post-norm)
    is PyTorch's default; ``activation`` is ``"relu"`` (the default) or ``"gelu"`` (the exact form).
    Citation: ``vaswani2017attention`` (§3.1, post-norm), ``xiong2020layer`` (pre-norm).

    Accuracy: each stage is the reference's (linear correctly rounded, attention within its absolute
    bound, layer normalization within 1 ulp of its input), and a residual sum one rounding; a layer
    normalization multiplies its input's error by up to 1/√(σ² + ε).

    With E = 1 a layer normalization returns its bias, and attention to one position its value:

    >>> one, zero, w = [[1.0]], [0.0], [1.0]
    >>> y = transformer_encoder_block([[[2.0]]], 1, [[1.0], [1.0], [1.0]], [0.0] * 3, one, zero, one, zero,
    ...                               one, zero, w, [0.5], w, [0.25], norm_first=True)
    >>> y  # x + norm1_bias + relu(norm2_bias)
    [[[2.75]]]
    """
    fn = "transformer_encoder_block"
    weights = (in_proj_weight, in_proj_bias, out_proj_weight, out_proj_bias, linear1_weight, linear1_bias)
    weights += (linear2_weight, linear2_bias, norm1_weight, norm1_bias, norm2_weight, norm2_bias)
    flags = {"norm_first": norm_first, "causal": causal}
    b = _Block(fn, x, num_heads, dict(zip(PARAMETERS, weights, strict=True)), activation, flags)
    if norm_first:
        h = _add(x, b.attention(b.norm(1, x, eps), causal))
        return _add(h, b.ffn(b.norm(2, h, eps)))
    h = b.norm(1, _add(x, b.attention(x, causal)), eps)
    return b.norm(2, _add(h, b.ffn(h)), eps)


def transformer_encoder_block_vjp(
    x: Nested,
    num_heads: int,
    in_proj_weight: Nested,
    in_proj_bias: Nested,
    out_proj_weight: Nested,
    out_proj_bias: Nested,
    linear1_weight: Nested,
    linear1_bias: Nested,
    linear2_weight: Nested,
    linear2_bias: Nested,
    norm1_weight: Nested,
    norm1_bias: Nested,
    norm2_weight: Nested,
    norm2_bias: Nested,
    cotangent: Nested,
    norm_first: bool = False,
    activation: str = "relu",
    eps: float = 1e-5,
    causal: bool = False,
) -> tuple[Nested, ...]:
    r"""VJP of :func:`transformer_encoder_block`: the gradients of x and the twelve parameters, in their order.

    The chain rule through the stages, each by its reference VJP (:func:`layer_norm_vjp`,
    :func:`linear_vjp` and the activation's for the feed-forward network, :func:`multi_head_attention_vjp`);
    a residual connection passes its cotangent to both of its terms, :math:`\bar x = \bar s + \bar x_{\text{sublayer}}`,
    and x's gradient through self-attention is the sum of its query's, key's and value's.
    """
    fn = "transformer_encoder_block_vjp"
    weights = (in_proj_weight, in_proj_bias, out_proj_weight, out_proj_bias, linear1_weight, linear1_bias)
    weights += (linear2_weight, linear2_bias, norm1_weight, norm1_bias, norm2_weight, norm2_bias)
    flags = {"norm_first": norm_first, "causal": causal}
    b = _Block(fn, x, num_heads, dict(zip(PARAMETERS, weights, strict=True)), activation, flags)
    g_shape = tensor(fn, "cotangent", cotangent)[0]
    x_shape = tensor(fn, "x", x)[0]
    if g_shape != x_shape:
        raise ValueError(f"{fn}: cotangent.shape={g_shape}; expected the output's shape, x's {x_shape}")
    if norm_first:
        u = b.norm(1, x, eps)
        h = _add(x, b.attention(u, causal))
        v = b.norm(2, h, eps)
        dv, dw1, db1, dw2, db2 = b.ffn_vjp(v, cotangent)
        dh_norm, dn2w, dn2b = b.norm_vjp(2, h, eps, dv)
        dh = _add(cotangent, dh_norm)
        du, dwi, dbi, dwo, dbo = b.attention_vjp(u, causal, dh)
        dx_norm, dn1w, dn1b = b.norm_vjp(1, x, eps, du)
        dx = _add(dh, dx_norm)
    else:
        s1 = _add(x, b.attention(x, causal))
        h = b.norm(1, s1, eps)
        s2 = _add(h, b.ffn(h))
        ds2, dn2w, dn2b = b.norm_vjp(2, s2, eps, cotangent)
        dh_ffn, dw1, db1, dw2, db2 = b.ffn_vjp(h, ds2)
        ds1, dn1w, dn1b = b.norm_vjp(1, s1, eps, _add(ds2, dh_ffn))
        dx_attn, dwi, dbi, dwo, dbo = b.attention_vjp(x, causal, ds1)
        dx = _add(ds1, dx_attn)
    return dx, dwi, dbi, dwo, dbo, dw1, db1, dw2, db2, dn1w, dn1b, dn2w, dn2b
