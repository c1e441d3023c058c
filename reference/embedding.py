"""Embedding past the seed, and its vector-Jacobian product: the lookup of rows of a weight matrix by index.

An embedding maps each integer index (a word, a token, a category) to a learned vector, the
row of ``weight`` (V, D) with that index. Its gradient adds the cotangent of every occurrence
of an index into that row, and a ``padding_idx``'s row gets none. Like the other reference
modules it takes nested lists and computes in float64; the lookup itself is exact.
"""

from __future__ import annotations

import math

from ._tensor import Nested, integer, same_shape, tensor, unflatten

__all__ = ["embedding", "embedding_vjp"]


def _weight(fn: str, weight: Nested) -> tuple[int, int, list[float]]:
    shape, flat = tensor(fn, "weight", weight)
    if len(shape) != 2:
        raise ValueError(f"{fn}: weight.shape={shape}; expected (V, D): one row of D values per index")
    return shape[0], shape[1], flat


def _indices(fn: str, indices: Nested, rows: int) -> tuple[tuple[int, ...], list[int]]:
    """The indices (any shape, a bare int is 0-d), each an int with 0 <= index < V."""
    shape: list[int] = []
    probe = indices
    while isinstance(probe, list | tuple):
        shape.append(len(probe))
        if not probe:
            break
        probe = probe[0]
    flat: list[int] = []

    def walk(value: object, depth: int, where: str) -> None:
        if depth == len(shape):
            k = integer(fn, f"indices{where}", value)
            if not 0 <= k < rows:
                raise ValueError(
                    f"{fn}: indices{where}={k} is out of range for weight with V={rows} rows; "
                    f"expected 0 <= index < {rows}"
                )
            flat.append(k)
            return
        if not isinstance(value, list | tuple) or len(value) != shape[depth]:
            raise ValueError(
                f"{fn}: indices{where} is {value!r}; expected a nested list of length {shape[depth]} there "
                f"(ragged nested lists are not tensors)"
            )
        for i, item in enumerate(value):
            walk(item, depth + 1, f"{where}[{i}]")

    walk(indices, 0, "")
    return tuple(shape), flat


def _padding(fn: str, padding_idx: object, rows: int) -> int | None:
    """``padding_idx`` as a row number (a negative one counts from the end, as in PyTorch), or None."""
    if padding_idx is None:
        return None
    k = integer(fn, "padding_idx", padding_idx)
    if not -rows <= k < rows:
        raise ValueError(
            f"{fn}: padding_idx={k} is out of range for weight with V={rows} rows; "
            f"expected None or -{rows} <= padding_idx < {rows}"
        )
    return k % rows


def embedding(weight: Nested, indices: Nested, padding_idx: int | None = None) -> Nested:
    r"""The rows of ``weight`` (V, D) at ``indices`` (any shape): an output of shape indices.shape + (D,).

    .. math:: \operatorname{embedding}(W, i) = W_{i,:} = e_i^{\top} W

    The lookup is the product of the one-hot vector e_i of each index with W, without the
    product. ``padding_idx`` (None, or a row, negative counted from the end) does not change the
    lookup: its row is returned as it is, and only its gradient is zero. Citation:
    ``bengio2003neural``.

    Accuracy: exact (a copy).

    >>> embedding([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]], [2, 0, 2])
    [[4.0, 5.0], [0.0, 1.0], [4.0, 5.0]]
    """
    fn = "embedding"
    rows, dim, w = _weight(fn, weight)
    shape, idx = _indices(fn, indices, rows)
    _padding(fn, padding_idx, rows)
    flat = [w[k * dim + j] for k in idx for j in range(dim)]
    return unflatten(flat, (*shape, dim))


def embedding_vjp(weight: Nested, indices: Nested, cotangent: Nested, padding_idx: int | None = None) -> Nested:
    r"""Vector-Jacobian product of :func:`embedding` with respect to ``weight``.

    .. math:: \bar W_{v,:} = \sum_{n:\, i_n = v} \bar g_{n,:}

    Each row's gradient is the sum of the cotangents of every position that looked it up
    (repeated indices accumulate); rows never looked up, and the padding row, get 0. The sums are
    taken exactly (math.fsum), so the result is correctly rounded.
    """
    fn = "embedding_vjp"
    rows, dim, _ = _weight(fn, weight)
    shape, idx = _indices(fn, indices, rows)
    pad = _padding(fn, padding_idx, rows)
    g_shape, g = tensor(fn, "cotangent", cotangent)
    same_shape(fn, "cotangent", g_shape, "embedding(weight, indices)", (*shape, dim))
    terms: list[list[list[float]]] = [[[] for _ in range(dim)] for _ in range(rows)]
    for n, k in enumerate(idx):
        if k == pad:
            continue
        for j in range(dim):
            terms[k][j].append(g[n * dim + j])
    flat = [_fsum(terms[v][j]) for v in range(rows) for j in range(dim)]
    return unflatten(flat, (rows, dim))


def _fsum(values: list[float]) -> float:
    """The correctly rounded sum (0.0 for none); a NaN or an infinity among them gives their IEEE sum."""
    try:
        return math.fsum(values)
    except (OverflowError, ValueError):  # fsum refuses a sum with inf − inf (ValueError) or one that overflows
        return sum(values, 0.0)
