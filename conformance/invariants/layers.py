"""Invariants of neurons, dense layers and stacks of them (seed sections: what deep learning is; why "deep").

``linear`` is the canonical op. ``neuron`` and ``mlp`` are compositions: their
invariants build them from the backend's ``linear`` and activation ops, so any
backend that has those ops is checked.

Values. Sums of products are where a float format loses accuracy to
cancellation, so the exact identities (affinity, linearity in the weights,
the bias shift, compositions) use values on the grid k/4 in [-2, 2]: every
product and partial sum is then exact in the dtypes the invariant claims, and
the comparison tests what the op computes, not the order it sums in.
bfloat16's 8-bit significand cannot hold those partial sums, so these
invariants do not claim it; ``linear.matches_reference`` still covers it.
``linear.matches_reference`` uses any values in [-2, 2] representable in the
dtype, half of the time with the first output cancelled to about zero (the
last input, or the bias, chosen to cancel the rest): there a dot product
accumulated in the dtype instead of float32 is off by about u·Σ|x_i·w_i|,
far outside the accumulation bound (``tolerances.ACCUMULATION["dot_product"]``).

The generic ``linear`` invariants always pass a bias (``diff_args`` is
``("x", "weight", "bias")``, and a ``None`` primal cannot be differentiated);
``linear(x, weight)`` without a bias is checked by
``linear.linear_in_weight`` and ``linear.bias_shifts_output``.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from dlterms import ops as op_records
from dlterms import reference

from .. import tolerances
from ..backends import Backend
from ..checks import as_float64, assert_close
from ..registry import invariant, register_ops
from ..strategies import float_arrays, representable, reused

# The dtypes in which grid values keep every partial sum exact (see the module docstring).
EXACT_DTYPES = ("float16", "float32", "float64")
# Deeper stacks need wider significands: three layers of width 3 stay exact in float32.
DEEP_DTYPES = ("float32", "float64")


@reused
def grid(dtype: str, shape: tuple[int, ...], bound: float = 2.0) -> st.SearchStrategy[Any]:
    """Nested lists of multiples of 1/4 in ``[-bound, bound]`` (exact in every dtype)."""
    n = round(4 * bound)
    return hnp.arrays(np.int64, shape, elements=st.integers(-n, n)).map(
        lambda a: representable(a / 4.0, dtype).tolist()
    )


def _values(dtype: str, shape: tuple[int, ...]) -> st.SearchStrategy[Any]:
    return float_arrays(dtype, shape, min_value=-2.0, max_value=2.0)


def _cancel_first_output(case: dict[str, Any], dtype: str) -> dict[str, Any]:
    """The case with the first row's first output cancelled to about 0 by its bias, or else its last input."""
    x, w = np.asarray(case["x"], dtype=np.float64), np.asarray(case["weight"], dtype=np.float64)
    first = x.reshape(-1, x.shape[-1])[0] if x.ndim > 1 else x
    if case["bias"] is not None:
        b = np.asarray(case["bias"], dtype=np.float64).copy()
        b[0] = representable(np.array(-(first @ w[0])), dtype)
        return {**case, "bias": b.tolist()}
    if x.shape[-1] < 2 or w[0, -1] == 0:
        return case
    rest = first[:-1] @ w[0, :-1]
    last = float(representable(np.array(-rest / w[0, -1]), dtype))
    if not np.isfinite(last) or abs(last) > 4.0:  # keep the inputs in the strategy's range
        return case
    x = x.copy()
    x.reshape(-1, x.shape[-1])[0, -1] = last
    return {**case, "x": x.tolist() if x.ndim else float(x)}


@st.composite
def linear_cases(
    draw: Any, dtype: str, *, exact: bool = False, bias: bool | None = True, batch_dims: int | None = None
) -> dict[str, Any]:
    """``{"x", "weight", "bias"}`` for one ``linear`` call: x (..., in) with up to 2 batch dimensions.

    ``bias=None`` draws whether to include a bias; ``exact=True`` uses grid values; otherwise
    half of the cases cancel the first output to about zero (see the module docstring).
    """
    n_in = draw(st.integers(1, 4))
    # Square weights half of the time: a transposed (in, out) kernel, the classic layout slip,
    # runs without a shape error only when out == in, so the suite must try that case often.
    n_out = draw(st.one_of(st.just(n_in), st.integers(1, 4)))
    nd = draw(st.integers(0, 2)) if batch_dims is None else batch_dims
    batch = tuple(draw(st.integers(1, 2)) for _ in range(nd))  # at most 4 rows
    values = grid if exact else _values
    with_bias = draw(st.booleans()) if bias is None else bias
    case = {
        "x": draw(values(dtype, (*batch, n_in))),
        "weight": draw(values(dtype, (n_out, n_in))),
        "bias": draw(values(dtype, (n_out,))) if with_bias else None,
    }
    return case if exact or not draw(st.booleans()) else _cancel_first_output(case, dtype)


register_ops(op_records.layers.OPS)


def _linear(bk: Backend, dtype: str, x: Any, weight: Any, bias: Any = None) -> np.ndarray:
    b = None if bias is None else bk.asarray(bias, dtype)
    return as_float64(bk, bk.linear(bk.asarray(x, dtype), bk.asarray(weight, dtype), b))


# --- the dense layer ---------------------------------------------------------------------


@invariant(
    "linear.affine_in_x",
    term="dense-layer",
    statement="A dense layer is affine in its input: linear(t·x + (1−t)·x′) = t·linear(x) + (1−t)·linear(x′).",
    cases=lambda d: st.tuples(linear_cases(d, exact=True), st.sampled_from([-1.0, 0.5, 2.0])).flatmap(
        lambda ct: grid(d, np.shape(ct[0]["x"])).map(lambda x2: {**ct[0], "x2": x2, "t": ct[1]})
    ),
    dtypes=EXACT_DTYPES,
)
def linear_affine_in_x(bk: Backend, dtype: str, x: Any, weight: Any, bias: Any, x2: Any, t: float) -> None:
    mixed = (t * np.asarray(x) + (1 - t) * np.asarray(x2)).tolist()  # on the 1/8 grid: exact
    lhs = _linear(bk, dtype, mixed, weight, bias)
    rhs = t * _linear(bk, dtype, x, weight, bias) + (1 - t) * _linear(bk, dtype, x2, weight, bias)
    assert_close(lhs, rhs, tolerances.forward(dtype), f"linear({t}·x + {1 - t}·x′) vs the same mix of outputs")


@invariant(
    "linear.linear_in_weight",
    term="weight",
    statement="The output is linear in the weights: linear(x, a·W + W′) = a·linear(x, W) + linear(x, W′).",
    cases=lambda d: st.tuples(linear_cases(d, exact=True, bias=False), st.sampled_from([-1.0, 0.5, 2.0])).flatmap(
        lambda ca: grid(d, np.shape(ca[0]["weight"])).map(lambda w2: {**ca[0], "weight2": w2, "a": ca[1]})
    ),
    dtypes=EXACT_DTYPES,
)
def linear_in_weight(bk: Backend, dtype: str, x: Any, weight: Any, bias: None, weight2: Any, a: float) -> None:
    mixed = (a * np.asarray(weight) + np.asarray(weight2)).tolist()  # on the 1/8 grid: exact
    lhs = _linear(bk, dtype, x, mixed)
    rhs = a * _linear(bk, dtype, x, weight) + _linear(bk, dtype, x, weight2)
    assert_close(lhs, rhs, tolerances.forward(dtype), f"linear(x, {a}·W + W′) vs {a}·linear(x, W) + linear(x, W′)")


@invariant(
    "linear.bias_shifts_output",
    term="bias",
    statement="The bias shifts every output by itself: linear(x, W, b) = linear(x, W) + b, for every row of a batch.",
    cases=lambda d: linear_cases(d, exact=True),
    dtypes=EXACT_DTYPES,
)
def linear_bias_shift(bk: Backend, dtype: str, x: Any, weight: Any, bias: Any) -> None:
    with_bias = _linear(bk, dtype, x, weight, bias)
    without = _linear(bk, dtype, x, weight)
    assert_close(
        with_bias, without + np.asarray(bias), tolerances.forward(dtype), "linear(x, W, b) vs linear(x, W) + b"
    )


# --- the neuron -----------------------------------------------------------------------------

_NEURON_ACTIVATIONS = ("sigmoid", "tanh", "relu")


@st.composite
def neuron_cases(draw: Any, dtype: str) -> dict[str, Any]:
    n = draw(st.integers(1, 4))
    return {
        "x": draw(grid(dtype, (n,))),
        "weight": draw(grid(dtype, (n,))),
        "bias": draw(grid(dtype, ())),
        "activation": draw(st.sampled_from(_NEURON_ACTIVATIONS)),
    }


@invariant(
    "neuron.is_activation_of_affine_map",
    term="neuron",
    statement="A neuron is its activation applied to the weighted sum of its inputs plus its bias: "
    "activation(linear(x, w, b)) equals the reference neuron(x, w, b, activation).",
    cases=neuron_cases,
    ops=("linear", *_NEURON_ACTIVATIONS),
    dtypes=EXACT_DTYPES,
)
def neuron_affine_then_activation(bk: Backend, dtype: str, x: Any, weight: Any, bias: float, activation: str) -> None:
    z = bk.linear(bk.asarray([x], dtype), bk.asarray([weight], dtype), bk.asarray([bias], dtype))  # (1, 1)
    got = as_float64(bk, getattr(bk, activation)(z))
    expected = reference.neuron(x, weight, bias, activation)
    assert_close(got, [[expected]], tolerances.forward(dtype), f"{activation}(w·x + b)")


# --- stacks of layers ---------------------------------------------------------------------------


@st.composite
def network_cases(draw: Any, dtype: str, *, max_layers: int = 3) -> dict[str, Any]:
    """``{"x", "weights", "biases"}``: x (N, in) and 1 to ``max_layers`` dense layers of width 1-3, grid values."""
    sizes = [draw(st.integers(1, 3))]
    for _ in range(draw(st.integers(1, max_layers))):
        # Often the same width again (a square weight), where a transposed kernel goes unnoticed by shapes.
        sizes.append(draw(st.one_of(st.just(sizes[-1]), st.integers(1, 3))))
    n = draw(st.integers(1, 3))
    return {
        "x": draw(grid(dtype, (n, sizes[0]))),
        "weights": [draw(grid(dtype, (o, i))) for i, o in itertools.pairwise(sizes)],
        "biases": [draw(st.none() | grid(dtype, (o,))) for o in sizes[1:]],
    }


def _stack(bk: Backend, dtype: str, x: Any, weights: list[Any], biases: list[Any], activation: str | None) -> Any:
    h = bk.asarray(x, dtype)
    for l, (w, b) in enumerate(zip(weights, biases, strict=True)):
        h = bk.linear(h, bk.asarray(w, dtype), None if b is None else bk.asarray(b, dtype))
        if activation is not None and l < len(weights) - 1:
            h = getattr(bk, activation)(h)
    return h


@invariant(
    "mlp.composition_of_layers",
    term="multilayer-perceptron",
    statement="A multilayer perceptron is its dense layers composed with an activation between them "
    "(none after the last): the backend's linear and relu, stacked, equal the reference mlp.",
    cases=network_cases,
    ops=("linear", "relu"),
    dtypes=DEEP_DTYPES,
)
def mlp_composition(bk: Backend, dtype: str, x: Any, weights: list[Any], biases: list[Any]) -> None:
    got = as_float64(bk, _stack(bk, dtype, x, weights, biases, "relu"))
    expected = reference.mlp(x, weights, biases, "relu")
    assert_close(got, expected, tolerances.forward(dtype), f"{len(weights)}-layer stack of linear/relu vs mlp")


def _collapse(weights: list[Any], biases: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    """The single affine map of stacked linear layers: W = W_L ⋯ W_1, b = W_L(⋯(W_2 b_1 + b_2)⋯) + b_L."""
    w_eff = np.eye(np.shape(weights[0])[1])
    b_eff = np.zeros(np.shape(weights[0])[1])
    for w, b in zip(weights, biases, strict=True):
        w_eff = np.asarray(w) @ w_eff
        b_eff = np.asarray(w) @ b_eff + (0.0 if b is None else np.asarray(b))
    return w_eff, b_eff


@invariant(
    "mlp.linear_layers_collapse_without_activation",
    term="deep-neural-network",
    statement="Without activations, stacked dense layers collapse into one: linear(⋯linear(x, W₁, b₁)⋯, W_L, b_L) "
    "= linear(x, W_L⋯W₁, b′). Depth adds expressive power only through the non-linearity.",
    cases=network_cases,
    ops=("linear",),
    dtypes=DEEP_DTYPES,
)
def mlp_collapses(bk: Backend, dtype: str, x: Any, weights: list[Any], biases: list[Any]) -> None:
    stacked = as_float64(bk, _stack(bk, dtype, x, weights, biases, None))
    w_eff, b_eff = _collapse(weights, biases)  # products of grid values: exact in float64 and float32
    single = _linear(bk, dtype, x, w_eff.tolist(), b_eff.tolist())
    assert_close(stacked, single, tolerances.forward(dtype), f"{len(weights)} stacked linear layers vs one")
