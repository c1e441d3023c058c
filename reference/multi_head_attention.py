"""Multi-head attention: the projections, the heads split and joined, and its VJP.

Section: *attention*. The signature follows ``torch.nn.functional.multi_head_attention_forward`` with
``use_separate_proj_weight=True`` (the weights first, then the optional biases), but batch first:
``query`` ``(N, L, E)``, ``key`` ``(N, S, kdim)``, ``value`` ``(N, S, vdim)``; the projection weights
``q_proj_weight`` ``(E, E)``, ``k_proj_weight`` ``(E, kdim)``, ``v_proj_weight`` ``(E, vdim)`` and
``out_proj_weight`` ``(E, E)`` in :func:`~dlterms.reference.linear`'s ``(out, in)`` layout;
``in_proj_bias`` ``(3E,)`` (the query's, the key's and the value's biases, in that order, as PyTorch's)
and ``out_proj_bias`` ``(E,)``, each optional. Head h is the contiguous block of features
``h·d … (h + 1)·d − 1`` of the projections, d = E/H, and is scaled by 1/√d. ``mask`` (bool, True = the
key takes part) and ``causal`` (top left) are :func:`~dlterms.reference.scaled_dot_product_attention`'s.
The result is ``(N, L, E)``.

Everything is composed of the reference's public :func:`linear` and :func:`scaled_dot_product_attention`
and their VJPs; the heads' split and join are exact (they move values).
"""

from __future__ import annotations

from ._tensor import Nested, integer, on_behalf_of, tensor
from .attention import scaled_dot_product_attention, scaled_dot_product_attention_vjp
from .layers import linear, linear_vjp

__all__ = ["multi_head_attention", "multi_head_attention_vjp"]


class _Shapes:
    """The checked shapes of a call: N, L, S, E, kdim, vdim, the heads H and their width d = E/H."""

    def __init__(
        self,
        fn: str,
        query: Nested,
        key: Nested,
        value: Nested,
        num_heads: object,
        weights: dict[str, Nested],
        in_proj_bias: Nested | None,
        out_proj_bias: Nested | None,
        mask: Nested | None,
    ) -> None:
        self.fn = fn
        shapes = {name: tensor(fn, name, t)[0] for name, t in (("query", query), ("key", key), ("value", value))}
        for name, shape in shapes.items():
            if len(shape) != 3:
                raise ValueError(f"{fn}: {name}.shape={shape}; expected 3 axes (N, length, features), batch first")
        self.n, self.len_q, self.e = shapes["query"]
        if shapes["key"][:2] != shapes["value"][:2] or shapes["key"][0] != self.n:
            raise ValueError(
                f"{fn}: query.shape={shapes['query']}, key.shape={shapes['key']}, value.shape={shapes['value']}; "
                "expected the same N in all three and one value per key (key.shape[:2] == value.shape[:2])"
            )
        self.len_k, self.kdim = shapes["key"][1:]
        self.vdim = shapes["value"][2]
        self.h = integer(fn, "num_heads", num_heads, minimum=1)
        if self.e == 0 or self.e % self.h:
            raise ValueError(
                f"{fn}: num_heads={self.h} but query.shape={shapes['query']}; expected E = {self.e} to be a positive "
                "multiple of num_heads (each head takes E/num_heads features)"
            )
        self.d = self.e // self.h
        expected = {  # each weight's shape (out, in), and the input it is read from
            "q_proj_weight": ((self.e, self.e), "query", shapes["query"]),
            "k_proj_weight": ((self.e, self.kdim), "key", shapes["key"]),
            "v_proj_weight": ((self.e, self.vdim), "value", shapes["value"]),
            "out_proj_weight": ((self.e, self.e), "query", shapes["query"]),
        }
        for name, (want, source, source_shape) in expected.items():
            got = tensor(fn, name, weights[name])[0]
            if got != want:
                raise ValueError(
                    f"{fn}: {name}.shape={got} but query.shape={shapes['query']} and {source}.shape={source_shape}; "
                    f"expected {want} (out, in): E = {self.e} outputs, the {source}'s features in"
                )
        if mask is not None and (
            not isinstance(mask, list | tuple)
            or len(mask) != self.len_q
            or any(not isinstance(row, list | tuple) or len(row) != self.len_k for row in mask)
        ):
            raise ValueError(
                f"{fn}: mask is {mask!r:.60}; expected (L, S) = {(self.len_q, self.len_k)} bools, from the query's "
                "and the key's lengths (True = the key takes part)"
            )
        for name, bias, want_b in (
            ("in_proj_bias", in_proj_bias, (3 * self.e,)),
            ("out_proj_bias", out_proj_bias, (self.e,)),
        ):
            if bias is not None and (got := tensor(fn, name, bias)[0]) != want_b:
                raise ValueError(f"{fn}: {name}.shape={got}; expected {want_b} or None")

    def split(self, x: Nested) -> Nested:
        """``(N, length, E)`` → ``(N, H, length, d)``: head h takes features h·d … (h + 1)·d − 1."""
        return [[[row[h * self.d : (h + 1) * self.d] for row in x[n]] for h in range(self.h)] for n in range(self.n)]

    def join(self, x: Nested, length: int) -> Nested:
        """``(N, H, length, d)`` → ``(N, length, E)``: the heads' features side by side, head 0 first."""
        return [[[v for h in range(self.h) for v in x[n][h][i]] for i in range(length)] for n in range(self.n)]

    def biases(self, in_proj_bias: Nested | None) -> tuple[Nested | None, Nested | None, Nested | None]:
        """The query's, key's and value's biases: the three E-blocks of ``in_proj_bias`` (None without one)."""
        if in_proj_bias is None:
            return None, None, None
        b = tensor(self.fn, "in_proj_bias", in_proj_bias)[1]
        return b[: self.e], b[self.e : 2 * self.e], b[2 * self.e :]


def multi_head_attention(
    query: Nested,
    key: Nested,
    value: Nested,
    num_heads: int,
    q_proj_weight: Nested,
    k_proj_weight: Nested,
    v_proj_weight: Nested,
    out_proj_weight: Nested,
    in_proj_bias: Nested | None = None,
    out_proj_bias: Nested | None = None,
    mask: Nested | None = None,
    causal: bool = False,
) -> Nested:
    r"""Multi-head attention: H scaled dot-product attentions of projections, joined and projected.

    .. math:: \operatorname{MHA} = [A_1, \ldots, A_H]\,W_O^\top + b_O,\; A_h = \operatorname{Attn}(Q_h, K_h, V_h)

    with :math:`Q_h = Q W_{Q,h}^\top + b_{Q,h}` (and so K and V), :math:`W_{Q,h}` rows h·d … (h + 1)·d − 1 of
    ``q_proj_weight`` (d = E/H); each head's attention is scaled by 1/√d. Citation: ``vaswani2017attention`` (§3.2.2).

    Accuracy: each stage is the reference's (``linear`` correctly rounded, attention within its
    absolute bound), so the result is within a few thousand u of the exact value for inputs and
    weights of order 1 (tested against 50 digits).

    >>> multi_head_attention([[[1.0]]], [[[2.0], [2.0]]], [[[1.0], [4.0]]], 1, [[1.0]], [[1.0]], [[1.0]], [[2.0]])
    [[[5.0]]]
    """
    fn = "multi_head_attention"
    weights = {"q_proj_weight": q_proj_weight, "k_proj_weight": k_proj_weight, "v_proj_weight": v_proj_weight}
    sh = _Shapes(
        fn,
        query,
        key,
        value,
        num_heads,
        {**weights, "out_proj_weight": out_proj_weight},
        in_proj_bias,
        out_proj_bias,
        mask,
    )
    bq, bk, bv = sh.biases(in_proj_bias)
    q = linear(query, q_proj_weight, bq)
    k = linear(key, k_proj_weight, bk)
    v = linear(value, v_proj_weight, bv)
    with on_behalf_of(fn, note="the mask (L, S) is every head's attention mask"):
        heads = scaled_dot_product_attention(sh.split(q), sh.split(k), sh.split(v), mask=mask, causal=causal)
    return linear(sh.join(heads, sh.len_q), out_proj_weight, out_proj_bias)


def multi_head_attention_vjp(
    query: Nested,
    key: Nested,
    value: Nested,
    num_heads: int,
    q_proj_weight: Nested,
    k_proj_weight: Nested,
    v_proj_weight: Nested,
    out_proj_weight: Nested,
    cotangent: Nested,
    in_proj_bias: Nested | None = None,
    out_proj_bias: Nested | None = None,
    mask: Nested | None = None,
    causal: bool = False,
) -> tuple[Nested, ...]:
    r"""VJP of :func:`multi_head_attention`: the gradients of query, key, value, the four weights and the two biases.

    The chain rule through the stages, each by its reference VJP: :func:`linear_vjp` of the output
    projection gives :math:`\bar Z` (the joined heads' cotangent), :func:`scaled_dot_product_attention_vjp`
    of each head the projections' cotangents :math:`\bar Q_h, \bar K_h, \bar V_h`, and :func:`linear_vjp`
    of each input projection the inputs', weights' and biases'. ``in_proj_bias``'s gradient joins the
    three biases' (None where the bias is None; so is ``out_proj_bias``'s).
    """
    fn = "multi_head_attention_vjp"
    weights = {"q_proj_weight": q_proj_weight, "k_proj_weight": k_proj_weight, "v_proj_weight": v_proj_weight}
    sh = _Shapes(
        fn,
        query,
        key,
        value,
        num_heads,
        {**weights, "out_proj_weight": out_proj_weight},
        in_proj_bias,
        out_proj_bias,
        mask,
    )
    g_shape = tensor(fn, "cotangent", cotangent)[0]
    if g_shape != (sh.n, sh.len_q, sh.e):
        raise ValueError(f"{fn}: cotangent.shape={g_shape}; expected the output's shape {(sh.n, sh.len_q, sh.e)}")
    bq, bk, bv = sh.biases(in_proj_bias)
    q = linear(query, q_proj_weight, bq)
    k = linear(key, k_proj_weight, bk)
    v = linear(value, v_proj_weight, bv)
    qh, kh, vh = sh.split(q), sh.split(k), sh.split(v)
    with on_behalf_of(fn, note="the mask (L, S) is every head's attention mask"):
        joined = sh.join(scaled_dot_product_attention(qh, kh, vh, mask=mask, causal=causal), sh.len_q)
        d_joined, d_out_w, d_out_b = linear_vjp(joined, out_proj_weight, out_proj_bias, cotangent)
        dqh, dkh, dvh = scaled_dot_product_attention_vjp(qh, kh, vh, sh.split(d_joined), mask=mask, causal=causal)
    d_query, d_qw, d_bq = linear_vjp(query, q_proj_weight, bq, sh.join(dqh, sh.len_q))
    d_key, d_kw, d_bk = linear_vjp(key, k_proj_weight, bk, sh.join(dkh, sh.len_k))
    d_value, d_vw, d_bv = linear_vjp(value, v_proj_weight, bv, sh.join(dvh, sh.len_k))
    d_in_b = None if in_proj_bias is None else [*d_bq, *d_bk, *d_bv]
    return d_query, d_key, d_value, d_qw, d_kw, d_vw, d_out_w, d_in_b, d_out_b
