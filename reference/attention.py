"""Attention: scaled dot-product attention and its VJP.

Section: *attention*. The layout is PyTorch's (the canonical one): ``query``
``(N, H, L, E)``, ``key`` ``(N, H, S, E)``, ``value`` ``(N, H, S, Ev)`` — N
examples, H heads, L queries, S keys, E features of a query and a key, Ev of a
value; the output is ``(N, H, L, Ev)``. JAX and Keras order the axes
``(N, L, H, E)``; their adapters transpose.

Which keys a query sees: every key, except where the boolean ``mask`` is False
(``True`` = takes part, PyTorch's and JAX's meaning) and, with ``causal``, the
keys after the query's own position, aligned at the top left (query i sees
keys j ≤ i, whatever L and S are: PyTorch's ``is_causal``, JAX's and Keras').
An additive ``bias`` (PyTorch's float ``attn_mask``, JAX's ``bias``) is added
to the scores. ``mask`` and ``bias`` have the shape ``(L, S)`` or
``(N, H, L, S)``; the reference does not broadcast other shapes.

A query that sees no key (its mask row all False, or its bias row all −∞) has
no distribution to average with: the softmax of a row of −∞ is 0/0, and the
reference returns NaN there (the op record's ``fully_masked_row`` says what
each framework returns instead).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ._tensor import Nested, Shape, finite_scalar, tensor, unflatten
from .activations import softmax

__all__ = ["scaled_dot_product_attention", "scaled_dot_product_attention_vjp"]

_FN = "scaled_dot_product_attention"


class _Call:
    """A checked call: the four shapes, the flat tensors, and which keys each query sees."""

    def __init__(
        self,
        fn: str,
        query: Nested,
        key: Nested,
        value: Nested,
        mask: Nested | None,
        bias: Nested | None,
        causal: object,
        scale: object,
    ) -> None:
        q_shape, self.q = tensor(fn, "query", query)
        k_shape, self.k = tensor(fn, "key", key)
        v_shape, self.v = tensor(fn, "value", value)
        for name, shape in (("query", q_shape), ("key", k_shape), ("value", v_shape)):
            if len(shape) != 4:
                raise ValueError(f"{fn}: {name}.shape={shape}; expected 4 axes (N, H, length, features)")
        self.n, self.h, self.len_q, self.e = q_shape
        if self.e == 0:
            raise ValueError(f"{fn}: query.shape={q_shape}; expected at least one feature (E >= 1)")
        if k_shape[:2] != (self.n, self.h) or v_shape[:2] != (self.n, self.h):
            raise ValueError(
                f"{fn}: query.shape={q_shape}, key.shape={k_shape}, value.shape={v_shape}; "
                "expected the same N and H (the first two axes) in all three"
            )
        if k_shape[3] != self.e:
            raise ValueError(f"{fn}: key.shape={k_shape} but query.shape={q_shape}; expected key.shape[3] == {self.e}")
        self.len_k = k_shape[2]
        if v_shape[2] != self.len_k:
            raise ValueError(
                f"{fn}: value.shape={v_shape} but key.shape={k_shape}; expected one value per key "
                f"(value.shape[2] == {self.len_k})"
            )
        self.ev = v_shape[3]
        if not isinstance(causal, bool):
            raise TypeError(f"{fn}: causal={causal!r}; expected True or False")
        self.causal = causal
        self.scale = 1.0 / math.sqrt(self.e) if scale is None else finite_scalar(fn, "scale", scale)
        self.keep = None if mask is None else _boolean_mask(fn, mask, self.masked_shapes, self.whose_shapes)
        self.bias: list[float] | None = None
        self.bias_full = False
        if bias is not None:
            b_shape, self.bias = tensor(fn, "bias", bias)
            if b_shape not in self.masked_shapes:
                raise ValueError(f"{fn}: bias.shape={b_shape}; expected {self.whose_shapes}")
            self.bias_full = len(b_shape) == 4

    @property
    def masked_shapes(self) -> tuple[Shape, Shape]:
        return (self.len_q, self.len_k), (self.n, self.h, self.len_q, self.len_k)

    @property
    def whose_shapes(self) -> str:
        """The shapes a mask or bias may have, and where they come from (for error messages)."""
        short, full = self.masked_shapes
        return f"(L, S) = {short} or (N, H, L, S) = {full}, from the query's and the key's shapes"

    def _at(self, flat: list, full: bool, nh: int, i: int, j: int) -> object:
        return flat[(nh * self.len_q + i) * self.len_k + j if full else i * self.len_k + j]

    def weights(self, nh: int, i: int) -> list[float]:
        """The softmax over the keys of query ``i`` of head ``nh`` (N·H flattened): 0 where a key is hidden."""
        q = self.q[(nh * self.len_q + i) * self.e :][: self.e]
        scores = []
        for j in range(self.len_k):
            hidden = self.causal and j > i
            if self.keep is not None:
                flat, full = self.keep
                hidden = hidden or not self._at(flat, full, nh, i, j)
            if hidden:
                scores.append(-math.inf)
                continue
            k = self.k[(nh * self.len_k + j) * self.e :][: self.e]
            s = self.scale * math.fsum(a * b for a, b in zip(q, k, strict=True))
            if self.bias is not None:
                s += float(self._at(self.bias, self.bias_full, nh, i, j))  # type: ignore[arg-type]
            scores.append(s)
        return softmax(scores)

    def values(self, nh: int, c: int) -> list[float]:
        """Column ``c`` of head ``nh``'s values (one per key)."""
        return [self.v[(nh * self.len_k + j) * self.ev + c] for j in range(self.len_k)]


def _boolean_mask(fn: str, mask: Nested, shapes: Sequence[Shape], expected: str) -> tuple[list[bool], bool]:
    """The flat mask (row-major) and whether it is ``(N, H, L, S)``; refuses a non-boolean or misshapen one."""
    shape: list[int] = []
    node = mask
    while isinstance(node, list | tuple):
        shape.append(len(node))
        if not node:
            break
        node = node[0]
    got = tuple(shape)
    if got not in shapes:
        raise ValueError(f"{fn}: mask.shape={got}; expected {expected}, of bools")
    flat: list[bool] = []

    def walk(node: object, depth: int, where: str) -> None:
        if depth == len(got):
            if not isinstance(node, bool):
                raise TypeError(f"{fn}: mask{where} is {node!r}; expected True (takes part) or False (hidden)")
            flat.append(node)
            return
        if not isinstance(node, list | tuple) or len(node) != got[depth]:
            raise ValueError(f"{fn}: mask{where} is {node!r}; expected a list of {got[depth]} (mask.shape={got})")
        for i, item in enumerate(node):
            walk(item, depth + 1, f"{where}[{i}]")

    walk(mask, 0, "")
    return flat, len(got) == 4


def scaled_dot_product_attention(
    query: Nested,
    key: Nested,
    value: Nested,
    mask: Nested | None = None,
    bias: Nested | None = None,
    causal: bool = False,
    scale: float | None = None,
) -> Nested:
    r"""Scaled dot-product attention: each query's softmax over the keys, averaging the values.

    .. math:: \operatorname{Attention}(Q, K, V) = \operatorname{softmax}\bigl(s\,QK^\top + B\bigr)V,\quad s = 1/\sqrt{E}

    Hidden keys (``mask`` False; with ``causal``, keys j > i for query i) get the score −∞,
    so weight 0. Citation: ``vaswani2017attention``.

    Each score is ``s·fsum(q·k) + b`` and each output ``fsum(w·v)``; the softmax is
    :func:`~dlterms.reference.softmax` (within 4 ulp). Where a query sees no key the
    output is NaN (0/0).

    Accuracy: absolute, as the output is a weighted sum of values of both signs (it can
    cancel): a score off by δ ≤ (E + 2)·u·s·Σ|q·k| moves each weight by at most 2δ
    relatively, so ``|Δy| ≤ (2δ + 6u)·max|v| + u·|y|`` (u = 2⁻⁵³; tested against 50 digits).

    >>> scaled_dot_product_attention([[[[1.0]]]], [[[[2.0], [2.0]]]], [[[[1.0], [4.0]]]])
    [[[[2.5]]]]
    """
    call = _Call(_FN, query, key, value, mask, bias, causal, scale)
    out: list[float] = []
    for nh in range(call.n * call.h):
        columns = [call.values(nh, c) for c in range(call.ev)]
        for i in range(call.len_q):
            w = call.weights(nh, i)
            out.extend(math.fsum(a * b for a, b in zip(w, col, strict=True)) for col in columns)
    return unflatten(out, (call.n, call.h, call.len_q, call.ev))


def scaled_dot_product_attention_vjp(
    query: Nested,
    key: Nested,
    value: Nested,
    cotangent: Nested,
    mask: Nested | None = None,
    bias: Nested | None = None,
    causal: bool = False,
    scale: float | None = None,
) -> tuple[Nested, Nested, Nested]:
    r"""VJP of :func:`scaled_dot_product_attention` with respect to query, key and value.

    With P the weights and :math:`\bar Y` the cotangent: :math:`\bar V = P^\top \bar Y`,
    :math:`\bar P = \bar Y V^\top`, :math:`\bar S = P \odot (\bar P - \operatorname{rowsum}(\bar P \odot P))`,
    :math:`\bar Q = s\,\bar S K`, :math:`\bar K = s\,\bar S^\top Q`. A hidden key has P = 0, so no gradient.
    """
    fn = "scaled_dot_product_attention_vjp"
    call = _Call(fn, query, key, value, mask, bias, causal, scale)
    g_shape, g = tensor(fn, "cotangent", cotangent)
    expected = (call.n, call.h, call.len_q, call.ev)
    if g_shape != expected:
        raise ValueError(f"{fn}: cotangent.shape={g_shape}; expected the output's shape {expected}")
    e, ev, sl = call.e, call.ev, call.len_k
    dq = [0.0] * len(call.q)
    dk_terms: list[list[float]] = [[] for _ in call.k]
    dv_terms: list[list[float]] = [[] for _ in call.v]
    for nh in range(call.n * call.h):
        for i in range(call.len_q):
            w = call.weights(nh, i)
            gi = g[(nh * call.len_q + i) * ev :][:ev]
            dp = [
                math.fsum(a * b for a, b in zip(gi, call.v[(nh * sl + j) * ev :][:ev], strict=True)) for j in range(sl)
            ]
            centre = math.fsum(a * b for a, b in zip(dp, w, strict=True))
            ds = [call.scale * w[j] * (dp[j] - centre) for j in range(sl)]
            q_base = (nh * call.len_q + i) * e
            for d in range(e):
                dq[q_base + d] = math.fsum(ds[j] * call.k[(nh * sl + j) * e + d] for j in range(sl))
            for j in range(sl):
                for d in range(e):
                    dk_terms[(nh * sl + j) * e + d].append(ds[j] * call.q[q_base + d])
                for c in range(ev):
                    dv_terms[(nh * sl + j) * ev + c].append(w[j] * gi[c])
    dk = [math.fsum(t) for t in dk_terms]
    dv = [math.fsum(t) for t in dv_terms]
    return (
        unflatten(dq, (call.n, call.h, call.len_q, e)),
        unflatten(dk, (call.n, call.h, sl, e)),
        unflatten(dv, (call.n, call.h, sl, ev)),
    )
