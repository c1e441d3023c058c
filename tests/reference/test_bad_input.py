"""Bad input is refused clearly by every public reference function.

The table :data:`TABLE` holds one valid call per public function of
:mod:`dlterms.reference` and says what each argument is (a float tensor and
which changes of its shape the function must refuse, class indices, an int or
real hyper-parameter, a choice among strings, ...). Hypothesis then breaks
exactly one argument of a valid call (a ragged nesting, a string or ``None``
or a complex number or a bool where a number belongs, a wrong rank, a
mismatched size, an out-of-range class index, stride 0, negative padding, an
unknown reduction, ...) and checks that the call raises :class:`ValueError`
or :class:`TypeError` whose one-line message names the function, the argument
and what was expected: never an ``IndexError``, ``ZeroDivisionError``,
``KeyError``, ``RecursionError`` or a silent result.

A public function without an entry fails :func:`test_every_public_function_has_an_entry`,
so the coverage cannot rot.
"""

from __future__ import annotations

import inspect
import json
import math
import re
from dataclasses import dataclass
from typing import Any

import pytest
from dlterms.reference.backprop import ForwardPass, Gradients
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dlterms import reference as ref
from dlterms.cli import main

# --- what an argument is ------------------------------------------------------------------


@dataclass(frozen=True)
class Tensor:
    """A float tensor (nested lists). ``refuse`` lists the changes of its shape the function must refuse.

    Tokens: ``rank`` (one more or one fewer outer axis), ``0d`` (a bare number),
    ``dK`` (axis K one longer or one shorter), ``dK+`` / ``dK-`` (only longer /
    only shorter), ``dK=0`` (axis K empty); ``all`` is rank and every axis.
    """

    refuse: tuple[str, ...] = ()
    probabilities: bool = False  # values outside [0, 1] (and NaN) are refused
    optional: bool = False  # None is a valid value


@dataclass(frozen=True)
class TensorList:
    """A list of tensors, one per layer (weights, biases); every element's shape is fixed."""

    optional_items: bool = False  # an entry may be None (a layer without bias)


@dataclass(frozen=True)
class Indices:
    """A list of class indices in ``[0, classes)``, one per row of the logits."""

    classes: int


@dataclass(frozen=True)
class Int:
    """An int hyper-parameter in ``[low, high)`` (``pair``: or an (h, w) pair of them)."""

    low: int | None = None
    high: int | None = None
    pair: bool = False
    optional: bool = False


@dataclass(frozen=True)
class Real:
    """A finite real hyper-parameter (``> low`` if ``strict``, else ``>= low``)."""

    low: float | None = None
    strict: bool = False


@dataclass(frozen=True)
class Choice:
    options: tuple[str, ...]


@dataclass(frozen=True)
class Flag:
    """True or False, nothing else."""


@dataclass(frozen=True)
class Function:
    """A callable argument (``grad_fn``, ``f``)."""


@dataclass(frozen=True)
class Bad:
    """An argument of a kind of its own: the listed values are each refused."""

    values: tuple[Any, ...]


Kind = Tensor | TensorList | Indices | Int | Real | Choice | Flag | Function | Bad


@dataclass(frozen=True)
class Entry:
    """One valid call of a reference function and the kind of each of its arguments."""

    kwargs: dict[str, Any]
    kinds: dict[str, Kind]
    extra: tuple[tuple[str, Any], ...] = ()  # further (argument, bad value) pairs specific to the function


ALL = ("all",)
# Weight initialisation: a weight (out, in, *kernel) has 2 or more axes, none empty; u is a uniform draw in [0, 1].
INIT_NONLINEARITIES = ("linear", "conv2d", "sigmoid", "tanh", "relu", "leaky_relu", "selu")
INIT_U = Tensor(("0d", "d0=0", "d1=0"), probabilities=True)
INIT_Z = Tensor(("0d", "d0=0", "d1=0"))
KAIMING_CALL = {"a": 0.2, "mode": "fan_out", "nonlinearity": "leaky_relu"}
KAIMING_KINDS = {"a": Real(), "mode": Choice(("fan_in", "fan_out")), "nonlinearity": Choice(INIT_NONLINEARITIES)}

# Small valid tensors.
X = [[0.5, -1.0, 2.0], [1.5, 0.0, -0.25]]  # (2, 3)
G = [[1.0, -0.5, 0.25], [0.0, 2.0, -1.0]]  # (2, 3)
P = [[0.25, 0.5, 0.75], [0.125, 0.875, 0.5]]  # probabilities (2, 3)
Y = [[0.0, 1.0, 1.0], [1.0, 0.0, 0.5]]  # targets in [0, 1] (2, 3)
W = [[0.5, -0.25, 1.0], [0.0, 1.0, -1.0], [2.0, 0.5, 0.25], [-0.5, 0.75, 0.0]]  # (4, 3)
B = [0.1, -0.2, 0.3, 0.0]  # (4,)
W2 = [[1.0, -1.0, 0.5, 0.25], [0.0, 0.5, -0.5, 1.0]]  # (2, 4)
B2 = [0.5, -0.5]  # (2,)
LOGITS = [[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]]  # (2, 3)
LABELS = [2, 1]  # the largest class index appears, so a narrower logits row refuses it


def image(n: int, c: int, h: int, w: int, start: float = 0.0) -> list:
    return [
        [[[start + ((b * c + k) * h + i) * w + j - 7.5 for j in range(w)] for i in range(h)] for k in range(c)]
        for b in range(n)
    ]


XC = image(2, 2, 2, 2)  # (N, C, H, W) = (2, 2, 2, 2): H, W equal to the kernel, so a shorter axis is refused
WC = [[[[0.5, -1.0], [0.25, 1.0]], [[1.0, 0.0], [-0.5, 2.0]]] for _ in range(3)]  # (3, 2, 2, 2)
BC = [0.1, 0.2, -0.3]
GC = [[[[1.0]], [[-1.0]], [[0.5]]], [[[0.25]], [[2.0]], [[-0.5]]]]  # conv2d(XC, WC) has shape (2, 3, 1, 1)
XB = image(2, 2, 3, 3)  # conv_block input: conv (2, 3, 2, 2) then 2x2 pooling (2, 3, 1, 1)
GP = [[[[1.0]], [[-1.0]]], [[[0.5]], [[2.0]]]]  # a pooled (2, 2, 2, 2) -> (2, 2, 1, 1) cotangent

# RNN: N = 2, T = 2, in = 3, H = 2, out = 2.
XS = [[[0.5, -1.0, 0.25], [1.0, 0.0, -0.5]], [[0.0, 0.5, 1.0], [-1.0, 0.25, 0.5]]]
H0 = [[0.1, -0.2], [0.0, 0.3]]
W_IH = [[0.5, -0.25, 0.125], [0.25, 0.5, -0.5]]
W_HH = [[0.5, 0.25], [-0.25, 0.5]]
B_IH = [0.1, -0.1]
B_HH = [0.0, 0.2]
W_OUT = [[1.0, -1.0], [0.5, 0.25]]
B_OUT = [0.0, 0.5]
RNN = {"h0": H0, "w_ih": W_IH, "w_hh": W_HH, "b_ih": B_IH, "b_hh": B_HH}
RNN_KINDS: dict[str, Kind] = {
    "x": Tensor(("rank", "d0", "d2", "d1=0")),
    "h0": Tensor(ALL),
    "w_ih": Tensor(ALL),
    "w_hh": Tensor(ALL),
    "b_ih": Tensor(ALL),
    "b_hh": Tensor(ALL),
}
READOUT_KINDS: dict[str, Kind] = {"w_out": Tensor(("rank", "d1", "d0")), "b_out": Tensor(ALL, optional=True)}
CELL = {"h": H0, "w_ih": W_IH, "w_hh": W_HH, "b_ih": B_IH, "b_hh": B_HH}
CELL_KINDS: dict[str, Kind] = {
    "x": Tensor(("rank", "d0", "d1")),
    "h": Tensor(ALL),
    "w_ih": Tensor(ALL),
    "w_hh": Tensor(ALL),
    "b_ih": Tensor(ALL),
    "b_hh": Tensor(ALL),
}
# Gated cells: x (2, 3) and h, c (2, 2) as CELL's; the gates' blocks stacked (LSTM i, f, g, o; GRU r, z, n).
LSTM = {"h": H0, "c": W_HH, "w_ih": W_IH * 4, "w_hh": W_HH * 4, "b_ih": B_IH * 4, "b_hh": B_HH * 4}
LSTM_KINDS: dict[str, Kind] = {**CELL_KINDS, "c": Tensor(ALL)}
GRU = {"h": H0, "w_ih": W_IH * 3, "w_hh": W_HH * 3, "b_ih": B_IH * 3, "b_hh": B_HH * 3}
GRU_KINDS: dict[str, Kind] = CELL_KINDS
# Gated layers over XS: the cells' weights, h0 and c0 (2, 2); a cotangent of the outputs (2, 2, 2).
LSTM_LAYER = {"h0": H0, "c0": W_HH, **{k: v for k, v in LSTM.items() if k.startswith(("w_", "b_"))}}
GRU_LAYER = {"h0": H0, **{k: v for k, v in GRU.items() if k.startswith(("w_", "b_"))}}
LAYER_X = Tensor(("rank", "d0", "d2", "d1=0"))
LSTM_LAYER_KINDS: dict[str, Kind] = {**{k: Tensor(ALL) for k in LSTM_LAYER}, "x": LAYER_X, "reverse": Flag()}
GRU_LAYER_KINDS: dict[str, Kind] = {**{k: Tensor(ALL) for k in GRU_LAYER}, "x": LAYER_X, "reverse": Flag()}
LSTM_REVERSE = {f"{k}_reverse": v for k, v in LSTM.items() if k.startswith(("w_", "b_"))}
GRU_REVERSE = {f"{k}_reverse": v for k, v in GRU.items() if k.startswith(("w_", "b_"))}
XS_H = [[[1.0, 0.0], [0.5, -0.5]], [[0.0, 1.0], [1.0, 1.0]]]

# A two-layer perceptron 3 -> 4 -> 2 and a pair (x, y) for it.
NET = {"weights": [W, W2], "biases": [B, B2]}
ACTIVATION = Choice(("sigmoid", "tanh", "relu", "leaky_relu"))
NET_KINDS: dict[str, Kind] = {"weights": TensorList(), "biases": TensorList(True), "activation": ACTIVATION}
INPUTS = [[0.5, -1.0, 2.0], [1.0, 0.0, -0.5]]
TARGETS = [[1.0, 0.0], [0.0, 1.0]]


def _grad(w: list[float], batch: list[float]) -> list[float]:
    return [w[0] - math.fsum(batch) / len(batch)]  # the gradient of the mean of (w − y)²/2


DRIVER = {"grad_fn": _grad, "params": [0.0], "data": [1.0, 3.0], "lr": 0.5, "epochs": 2}
DRIVER_KINDS: dict[str, Kind] = {
    "grad_fn": Function(),
    "params": Tensor(),
    "data": Bad(("abc", [], 5, None, 2.5)),
    "lr": Real(0.0),
    "epochs": Int(0),
}
DRIVER_EXTRA = (
    ("grad_fn", lambda w, batch: [1.0, 2.0]),  # a gradient of the wrong shape
    ("grad_fn", lambda w, batch: "g"),
    ("grad_fn", lambda w, batch: None),
)

REDUCTION = Choice(("none", "mean", "sum"))
KL_REDUCTION = Choice(("none", "mean", "sum", "batchmean"))
# A probability target below 0 (or NaN) is refused; above 1 it is allowed (an unnormalised measure, as in PyTorch).
KL_TARGET_EXTRA = (("target", [[-0.5, 0.5, 1.0], [0.25, 0.25, 0.5]]), ("target", [[math.nan, 0.5, 0.5], P[1]]))
CONV_HYPER: dict[str, Kind] = {
    "stride": Int(1, pair=True),
    "padding": Int(0, pair=True),
    "dilation": Int(1, pair=True),
    "groups": Int(1),
}
CONV_EXTRA = (("dilation", 2), ("groups", 2), ("groups", 3))  # kernel wider than the input; channels not divisible
POOL_HYPER: dict[str, Kind] = {"kernel_size": Int(1, pair=True), "stride": Int(1, pair=True, optional=True)}
POOL_EXTRA = (("kernel_size", 5), ("padding", 2), ("padding", -1), ("padding", (0, 2)))  # window > input; pad > k/2
# Transposed convolution: weight (in, out/groups, kH, kW) = (2, 2, 2, 2); output_padding < max(stride, dilation).
WT = [WC[0], WC[1]]
GT = image(2, 2, 3, 3)  # conv_transpose2d(XC, WT) has shape (2, 2, 3, 3)
CONV_T_HYPER: dict[str, Kind] = {**CONV_HYPER, "output_padding": Int(0, pair=True)}
# output_padding not below stride and dilation; padding that leaves no output; channels not divisible; bias of 2 for 4
CONV_T_EXTRA = (("output_padding", 1), ("output_padding", (0, 2)), ("padding", 2), ("groups", 3), ("groups", 2))


# Normalization: the trailing dims (an int or a non-empty list of positive ints matching x), ε ≥ 0 (rms_norm: or None).
NORMALIZED_SHAPE = Bad(("3", None, True, [], [3.5], [0], 2.5, [[3]], [-3], (True,)))
NORM_AFFINE: dict[str, Kind] = {"weight": Tensor(ALL, optional=True), "bias": Tensor(ALL, optional=True)}
RMS_EPS = Bad((math.nan, math.inf, -1e-6, "1e-6", True, [1e-6], 1j))
# Batch normalization of XC (2 channels): running statistics (C,), and a momentum in [0, 1].
BN_STATS = {"running_mean": [0.5, -0.25], "running_var": [2.0, 0.75]}
BN_STATS_KINDS: dict[str, Kind] = {"running_mean": Tensor(ALL), "running_var": Tensor(ALL)}
BN_MOMENTUM = Bad((math.nan, math.inf, -0.1, 1.5, "0.1", True, [0.1], 1j, None))


# Dropout: a keep mask of 0 and 1 the shape of x, 0 <= p < 1. Embedding: int indices in [0, V = 4), padding in [−4, 4).
MASK = [[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]]  # (2, 3), as X
MASK_EXTRA = (("mask", [[0.5, 0.0, 1.0], [0.0, 1.0, 1.0]]), ("mask", [[1.0, 0.0, math.nan], [0.0, 1.0, 2.0]]))
DROP_RATE = Bad((1.0, 1.5, -0.1, math.nan, math.inf, "0.5", None, True, [0.5]))
LOOKUPS = Bad((4, -1, [4, 0], [-1], [0.5], [True], "0", None, [[0], [1, 2]], 1.5, [[0, "1"]]))
PADDING = Bad((4, -5, 1.5, "0", True, [0]))


def _forward() -> ForwardPass:
    return ref.forward_pass(INPUTS[0], TARGETS[0], [W, W2], [B, B2])


# The Adam family: one state (param, grad, m, v ≥ 0) of shape (2, 3) at step 3.
ADAM = {"param": X, "grad": G, "m": G, "v": P, "step": 3}
ADAM_KINDS: dict[str, Kind] = {
    "param": Tensor(ALL),
    "grad": Tensor(ALL),
    "m": Tensor(ALL),
    "v": Tensor(ALL),
    "step": Int(1),
    "lr": Real(0.0),
    "beta1": Real(0.0),
    "beta2": Real(0.0),
    "eps": Real(0.0),
}
ADAM_EXTRA = (("v", [[0.25, -0.5, 0.75], [0.125, 0.875, 0.5]]), ("beta1", 1.0), ("beta2", 1.5))
ADAM_COTANGENT = Bad((None, G, (G, G), (G, G, None), (G, G, [[1.0]]), ("g", G, G)))

# RMSprop and Adagrad: one state (param, grad, square_avg or state_sum ≥ 0) of shape (2, 3).
RATE_KINDS: dict[str, Kind] = {"param": Tensor(ALL), "grad": Tensor(ALL), "lr": Real(0.0), "eps": Real(0.0)}
RMSPROP = {"param": X, "grad": G, "square_avg": P, "alpha": 0.9, "eps_in_sqrt": True}
RMSPROP_KINDS: dict[str, Kind] = {**RATE_KINDS, "square_avg": Tensor(ALL), "alpha": Real(0.0), "eps_in_sqrt": Flag()}
RMSPROP_EXTRA = (("square_avg", [[0.25, -0.5, 0.75], [0.125, 0.875, 0.5]]), ("alpha", 1.0))
ADAGRAD = {"param": X, "grad": G, "state_sum": P, "step": 3, "lr_decay": 0.5}
ADAGRAD_KINDS: dict[str, Kind] = {
    **RATE_KINDS,
    "state_sum": Tensor(ALL),
    "step": Int(1),
    "lr_decay": Real(0.0),
    "eps_in_sqrt": Flag(),
}
ADAGRAD_EXTRA = (("state_sum", [[0.25, -0.5, 0.75], [0.125, 0.875, 0.5]]),)
RATE_COTANGENT = Bad((None, G, (G,), (G, None), (G, [[1.0]]), ("g", G)))
# SGD with momentum: (param, grad, momentum_buffer) of shape (2, 3); dampening 0.5, so Nesterov is refused.
MOMENTUM = {"param": X, "grad": G, "momentum_buffer": G, "lr": 0.5, "momentum": 0.9, "dampening": 0.5}
MOMENTUM_KINDS: dict[str, Kind] = {
    "param": Tensor(ALL),
    "grad": Tensor(ALL),
    "momentum_buffer": Tensor(ALL),
    "lr": Real(0.0),
    "momentum": Real(0.0),
    "dampening": Real(0.0),
    "nesterov": Flag(),
    "weight_decay": Real(0.0),
    "first_step": Flag(),
}
MOMENTUM_EXTRA = (("dampening", 1.5), ("nesterov", True))

# scaled_dot_product_attention: N = 1, H = 2, L = 2 queries, S = 3 keys, E = 2, Ev = 1; a mask and a bias (L, S).
ATTENTION_CALL: dict[str, Any] = {
    "query": [[[[1.0, 0.5], [0.0, -1.0]], [[0.5, 0.5], [1.0, 0.0]]]],
    "key": [[[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [[0.5, -0.5], [0.0, 2.0], [1.0, 0.0]]]],
    "value": [[[[1.0], [2.0], [3.0]], [[-1.0], [0.0], [1.0]]]],
    "mask": [[True, False, True], [True, True, False]],
    "bias": [[0.0, 0.5, -0.5], [1.0, 0.0, 0.0]],
    "causal": False,
    "scale": 0.5,
}
ATTENTION_KINDS: dict[str, Kind] = {
    "query": Tensor(ALL),
    "key": Tensor(ALL),
    "value": Tensor(("rank", "d0", "d1", "d2")),
    "mask": Bad(
        (
            [[1, 0, 1], [1, 1, 0]],
            [True, False, True],
            [[True, False], [True, True]],
            "all",
            [[True, None, True], [True, True, False]],
        )
    ),
    "bias": Tensor(ALL, optional=True),
    "causal": Flag(),
    "scale": Bad((math.nan, math.inf, "0.5", True)),  # a finite real, or None (1/√E)
}

# Multi-head attention: N = 1, L = 2 queries of E = 2 features in H = 2 heads, S = 3 keys of kdim = 3, vdim = 1.
MHA_CALL: dict[str, Any] = {
    "query": [[[1.0, 0.5], [0.0, -1.0]]],
    "key": [[[1.0, 0.0, 0.5], [0.0, 1.0, -1.0], [1.0, 1.0, 0.0]]],
    "value": [[[1.0], [2.0], [3.0]]],
    "num_heads": 2,
    "q_proj_weight": [[1.0, 0.0], [0.5, -1.0]],
    "k_proj_weight": [[1.0, 0.0, 0.5], [0.0, 1.0, 0.0]],
    "v_proj_weight": [[1.0], [-0.5]],
    "out_proj_weight": [[1.0, 0.5], [0.0, 1.0]],
    "in_proj_bias": [0.0, 0.5, -0.5, 1.0, 0.0, 0.25],
    "out_proj_bias": [0.5, -0.5],
    "mask": [[True, False, True], [True, True, False]],
    "causal": False,
}
MHA_KINDS: dict[str, Kind] = {
    **{name: Tensor(ALL) for name in ("query", "key", "value", "q_proj_weight", "k_proj_weight", "v_proj_weight")},
    "num_heads": Bad((0, 3, -1, 2.0, True, None, "2")),  # an int >= 1 that divides E = 2
    "out_proj_weight": Tensor(ALL),
    "in_proj_bias": Tensor(ALL, optional=True),
    "out_proj_bias": Tensor(ALL, optional=True),
    "mask": Bad(
        (
            [[1, 0, 1], [1, 1, 0]],
            [True, False, True],
            [[True, False], [True, True]],
            [[[True, False, True], [True, True, False]]],
            "all",
            [[True, None, True], [True, True, False]],
        )
    ),
    "causal": Flag(),
}

# The Transformer block: N = 1, T = 2 positions of E = 2 features in H = 2 heads, F = 3 hidden units.
BLOCK_CALL: dict[str, Any] = {
    "x": [[[1.0, 0.5], [0.0, -1.0]]],
    "num_heads": 2,
    "in_proj_weight": [[1.0, 0.0], [0.5, -1.0], [0.0, 1.0], [1.0, 1.0], [-0.5, 0.0], [0.25, 0.5]],
    "in_proj_bias": [0.0, 0.5, -0.5, 1.0, 0.0, 0.25],
    "out_proj_weight": [[1.0, 0.5], [0.0, 1.0]],
    "out_proj_bias": [0.5, -0.5],
    "linear1_weight": [[1.0, 0.0], [0.5, -1.0], [0.25, 0.25]],
    "linear1_bias": [0.0, 0.5, -0.5],
    "linear2_weight": [[1.0, 0.0, 0.5], [-1.0, 0.25, 0.0]],
    "linear2_bias": [0.25, 0.0],
    "norm1_weight": [1.0, 0.5],
    "norm1_bias": [0.0, 0.25],
    "norm2_weight": [1.5, 1.0],
    "norm2_bias": [-0.25, 0.0],
    "norm_first": False,
    "activation": "relu",
    "eps": 1e-5,
    "causal": False,
}
BLOCK_KINDS: dict[str, Kind] = {
    **{name: Tensor(ALL) for name in BLOCK_CALL if isinstance(BLOCK_CALL[name], list)},
    "x": Tensor(("rank", "0d", "d2")),  # any N and T; E fixed by the weights
    "num_heads": Bad((0, 3, -1, 2.0, True, None, "2")),  # an int >= 1 that divides E = 2
    "norm_first": Flag(),
    "activation": Choice(("relu", "gelu")),
    "eps": Real(0.0),
    "causal": Flag(),
}

# Positions: three positions of a 4-column encoding; RoPE on x (1, L = 2, D = 4), either rank of leading axes valid.
POSITIONS_CALL: dict[str, Any] = {"positions": [0.0, 1.5, 3.0], "d_model": 4, "base": 10000.0}
POSITIONS_KINDS: dict[str, Kind] = {
    "positions": Tensor(("rank",)),
    "d_model": Bad((3, 0, -2, 4.0, True, None, "4")),  # an even int >= 2
    "base": Real(0.0, strict=True),
}
ROPE_CALL: dict[str, Any] = {
    "x": [[[1.0, 0.5, -1.0, 2.0], [0.0, 1.0, 0.5, -0.5]]],
    "positions": [0.0, 2.0],
    "base": 10000.0,
    "interleaved": False,
}
ROPE_KINDS: dict[str, Kind] = {
    "x": Tensor(("d1", "d2")),  # L must match the positions, D be even; more or fewer leading axes are valid
    "positions": Tensor(ALL),
    "base": Real(0.0, strict=True),
    "interleaved": Flag(),
}

# Learning-rate schedules: step counts (ints >= 0, any shape) and each schedule's options.
STEPS = [[0, 3], [5, 9]]
STEP_COUNTS = Bad(([0, -1], [0.5], [[0], [1, 2]], "1", None, [True]))
SCHEDULES = (
    ("step_lr", {"step_size": 2, "gamma": 0.5}, {"step_size": Int(1), "gamma": Real(0.0)}),
    ("cosine_annealing_lr", {"t_max": 4, "eta_min": 0.01}, {"t_max": Int(1), "eta_min": Real(0.0)}),
    (
        "linear_warmup_lr",
        {"warmup_steps": 4, "start_factor": 0.25},
        {"warmup_steps": Int(1), "start_factor": Bad((-0.1, 1.5, math.nan, "a"))},
    ),
)

TABLE: dict[str, Entry] = {
    # --- activations
    "sigmoid": Entry({"x": X}, {"x": Tensor()}),
    "tanh": Entry({"x": X}, {"x": Tensor()}),
    "relu": Entry({"x": X}, {"x": Tensor()}),
    "silu": Entry({"x": X}, {"x": Tensor()}),
    "leaky_relu": Entry({"x": X, "negative_slope": 0.1}, {"x": Tensor(), "negative_slope": Real()}),
    "softmax": Entry({"x": X, "axis": 1}, {"x": Tensor(("0d",)), "axis": Int(-2, 2)}),
    "log_softmax": Entry({"x": X, "axis": 0}, {"x": Tensor(("0d",)), "axis": Int(-2, 2)}),
    "gelu": Entry({"x": X, "approximate": "tanh"}, {"x": Tensor(), "approximate": Choice(("none", "tanh"))}),
    "elu": Entry({"x": X, "alpha": 0.5}, {"x": Tensor(), "alpha": Real()}),
    "softplus": Entry({"x": X, "beta": 2.0}, {"x": Tensor(), "beta": Real(0.0, strict=True)}),
    "log_sigmoid": Entry({"x": X}, {"x": Tensor()}),
    **{
        f"{op}_vjp": Entry({"x": X, "cotangent": G}, {"x": Tensor(ALL), "cotangent": Tensor(ALL)})
        for op in ("sigmoid", "tanh", "relu", "silu", "log_sigmoid")
    },
    "gelu_vjp": Entry(
        {"x": X, "cotangent": G, "approximate": "none"},
        {"x": Tensor(ALL), "cotangent": Tensor(ALL), "approximate": Choice(("none", "tanh"))},
    ),
    "elu_vjp": Entry(
        {"x": X, "cotangent": G, "alpha": 2.0}, {"x": Tensor(ALL), "cotangent": Tensor(ALL), "alpha": Real()}
    ),
    "softplus_vjp": Entry(
        {"x": X, "cotangent": G, "beta": 0.5},
        {"x": Tensor(ALL), "cotangent": Tensor(ALL), "beta": Real(0.0, strict=True)},
    ),
    "leaky_relu_vjp": Entry(
        {"x": X, "cotangent": G, "negative_slope": 0.2},
        {"x": Tensor(ALL), "cotangent": Tensor(ALL), "negative_slope": Real()},
    ),
    **{
        f"{op}_vjp": Entry(
            {"x": X, "cotangent": G, "axis": -1}, {"x": Tensor(ALL), "cotangent": Tensor(ALL), "axis": Int(-2, 2)}
        )
        for op in ("softmax", "log_softmax")
    },
    # --- layers
    "linear": Entry(
        {"x": X, "weight": W, "bias": B},
        {"x": Tensor(("0d", "d-1")), "weight": Tensor(ALL), "bias": Tensor(ALL, optional=True)},
    ),
    "linear_vjp": Entry(
        {"x": X, "weight": W, "bias": B, "cotangent": [[1.0, 0.0, -1.0, 2.0], [0.5, 0.5, 0.5, 0.5]]},
        {
            "x": Tensor(("0d", "d-1", "d0")),
            "weight": Tensor(ALL),
            "bias": Tensor(ALL, optional=True),
            "cotangent": Tensor(ALL),
        },
    ),
    "neuron": Entry(
        {"x": X[0], "weight": W[0], "bias": 0.5, "activation": "tanh"},
        {
            "x": Tensor(ALL),
            "weight": Tensor(ALL),
            "bias": Bad(("0.5", None, True, [0.5], 1 + 0j)),
            "activation": Choice(("sigmoid", "tanh", "relu", "leaky_relu")),
        },
    ),
    "neuron_vjp": Entry(
        {"x": X[0], "weight": W[0], "bias": 0.5, "cotangent": 1.0, "activation": "sigmoid"},
        {
            "x": Tensor(ALL),
            "weight": Tensor(ALL),
            "bias": Bad(("0.5", None, True, [0.5], 1 + 0j)),
            "cotangent": Bad(("1", None, False, [1.0], 2j)),
            "activation": Choice(("sigmoid", "tanh", "relu", "leaky_relu")),
        },
    ),
    "mlp": Entry({"x": X, **NET, "activation": "tanh"}, {"x": Tensor(("0d", "d-1")), **NET_KINDS}),
    # --- normalization
    "layer_norm": Entry(
        {"x": X, "normalized_shape": [3], "weight": W[0], "bias": W[1], "eps": 1e-5},
        {"x": Tensor(("0d", "d-1")), "normalized_shape": NORMALIZED_SHAPE, **NORM_AFFINE, "eps": Real(0.0)},
        (("normalized_shape", [2]), ("normalized_shape", [2, 3, 1])),
    ),
    "layer_norm_vjp": Entry(
        {"x": X, "normalized_shape": [3], "cotangent": G, "weight": W[0], "bias": W[1], "eps": 1e-5},
        {
            "x": Tensor(("0d", "d-1")),
            "normalized_shape": NORMALIZED_SHAPE,
            "cotangent": Tensor(ALL),
            **NORM_AFFINE,
            "eps": Real(0.0),
        },
    ),
    "rms_norm": Entry(
        {"x": X, "normalized_shape": 3, "weight": W[0], "eps": 1e-6},
        {
            "x": Tensor(("0d", "d-1")),
            "normalized_shape": NORMALIZED_SHAPE,
            "weight": Tensor(ALL, optional=True),
            "eps": RMS_EPS,
        },
    ),
    "rms_norm_vjp": Entry(
        {"x": X, "normalized_shape": [3], "cotangent": G, "weight": W[0], "eps": None},
        {
            "x": Tensor(("0d", "d-1")),
            "normalized_shape": NORMALIZED_SHAPE,
            "cotangent": Tensor(ALL),
            "weight": Tensor(ALL, optional=True),
            "eps": RMS_EPS,
        },
    ),
    "group_norm": Entry(
        {"x": XC, "num_groups": 2, "weight": B2, "bias": [0.25, 0.0], "eps": 1e-5},
        {"x": Tensor(("0d", "d1")), "num_groups": Int(1), **NORM_AFFINE, "eps": Real(0.0)},
        (("num_groups", 3),),
    ),
    "group_norm_vjp": Entry(
        {"x": XC, "num_groups": 1, "cotangent": image(2, 2, 2, 2, 0.5), "weight": B2, "bias": B2, "eps": 0.0},
        {"x": Tensor(("0d", "d1")), "num_groups": Int(1), "cotangent": Tensor(ALL), **NORM_AFFINE, "eps": Real(0.0)},
        (("num_groups", 4),),
    ),
    "batch_norm": Entry(
        {"x": XC, **BN_STATS, "weight": B2, "bias": [0.25, 0.0], "training": True, "eps": 1e-5},
        {"x": Tensor(("0d", "d1")), **BN_STATS_KINDS, **NORM_AFFINE, "training": Flag(), "eps": Real(0.0)},
        (("x", [[[[1.0]], [[2.0]]]]),),  # one value per channel in training
    ),
    "batch_norm_vjp": Entry(
        {
            "x": XC,
            **BN_STATS,
            "cotangent": image(2, 2, 2, 2, 0.5),
            "weight": B2,
            "bias": B2,
            "training": False,
            "eps": 0.0,
        },
        {
            "x": Tensor(("0d", "d1")),
            **BN_STATS_KINDS,
            "cotangent": Tensor(ALL),
            **NORM_AFFINE,
            "training": Flag(),
            "eps": Real(0.0),
        },
    ),
    "batch_norm_running_stats": Entry(
        {"x": XC, **BN_STATS, "momentum": 0.1},
        {"x": Tensor(("0d", "d1")), **BN_STATS_KINDS, "momentum": BN_MOMENTUM},
        (("x", [[[[1.0]], [[2.0]]]]),),  # one value per channel
    ),
    "batch_norm_running_stats_vjp": Entry(
        {"x": XC, **BN_STATS, "cotangent": ([1.0, -0.5], [0.25, 2.0]), "momentum": 0.5},
        {
            "x": Tensor(("0d", "d1")),
            **BN_STATS_KINDS,
            "cotangent": Bad((None, 1.0, [1.0], ([1.0, 2.0],), "x", ([1.0], [1.0, 2.0]))),
            "momentum": BN_MOMENTUM,
        },
    ),
    # --- losses
    "mse_loss": Entry(
        {"input": X, "target": G, "reduction": "sum"},
        {"input": Tensor(ALL), "target": Tensor(ALL), "reduction": REDUCTION},
    ),
    "mse_loss_vjp": Entry(
        {"input": X, "target": G, "cotangent": 1.0, "reduction": "mean"},
        {"input": Tensor(ALL), "target": Tensor(ALL), "cotangent": Tensor(("rank",)), "reduction": REDUCTION},
    ),
    "binary_cross_entropy": Entry(
        {"input": P, "target": Y, "reduction": "mean"},
        {"input": Tensor(ALL, probabilities=True), "target": Tensor(ALL, probabilities=True), "reduction": REDUCTION},
    ),
    "binary_cross_entropy_vjp": Entry(
        {"input": P, "target": Y, "cotangent": G, "reduction": "none"},
        {
            "input": Tensor(ALL, probabilities=True),
            "target": Tensor(ALL, probabilities=True),
            "cotangent": Tensor(ALL),
            "reduction": REDUCTION,
        },
    ),
    "cross_entropy": Entry(
        {"logits": LOGITS, "target": LABELS, "reduction": "mean"},
        {"logits": Tensor(("rank", "d0", "d1-")), "target": Indices(3), "reduction": REDUCTION},
    ),
    "cross_entropy_vjp": Entry(
        {"logits": LOGITS, "target": LABELS, "cotangent": [1.0, -0.5], "reduction": "none"},
        {
            "logits": Tensor(("rank", "d0", "d1-")),
            "target": Indices(3),
            "cotangent": Tensor(ALL),
            "reduction": REDUCTION,
        },
    ),
    # --- robust regression losses and the KL divergence
    **{
        loss: Entry(
            {"input": X, "target": G, name: 2.0, "reduction": "sum"},
            {"input": Tensor(ALL), "target": Tensor(ALL), name: Real(0.0, strict=strict), "reduction": REDUCTION},
        )
        for loss, name, strict in (("huber_loss", "delta", True), ("smooth_l1_loss", "beta", False))
    },
    **{
        f"{loss}_vjp": Entry(
            {"input": X, "target": G, "cotangent": 1.0, name: 0.5, "reduction": "mean"},
            {
                "input": Tensor(ALL),
                "target": Tensor(ALL),
                "cotangent": Tensor(("rank",)),
                name: Real(0.0, strict=strict),
                "reduction": REDUCTION,
            },
        )
        for loss, name, strict in (("huber_loss", "delta", True), ("smooth_l1_loss", "beta", False))
    },
    "kl_div": Entry(
        {"input": X, "target": P, "reduction": "batchmean", "log_target": False},
        {"input": Tensor(ALL), "target": Tensor(ALL), "reduction": KL_REDUCTION, "log_target": Flag()},
        KL_TARGET_EXTRA,
    ),
    "kl_div_vjp": Entry(
        {"input": X, "target": X, "cotangent": G, "reduction": "none", "log_target": True},
        {
            "input": Tensor(ALL),
            "target": Tensor(ALL),
            "cotangent": Tensor(ALL),
            "reduction": KL_REDUCTION,
            "log_target": Flag(),
        },
    ),
    # --- classification losses: nll_loss, BCE with logits, label smoothing
    "nll_loss": Entry(
        {"input": X, "target": LABELS, "weight": [1.0, 2.0, 0.5], "reduction": "mean"},
        {
            "input": Tensor(("rank", "d0", "d1-")),
            "target": Indices(3),
            "weight": Tensor(("rank", "d0"), optional=True),
            "reduction": REDUCTION,
        },
        (("weight", [1.0, -1.0, 1.0]),),
    ),
    "nll_loss_vjp": Entry(
        {"input": X, "target": LABELS, "cotangent": [1.0, -0.5], "weight": [0.5, 1.0, 2.0], "reduction": "none"},
        {
            "input": Tensor(("rank", "d0", "d1-")),
            "target": Indices(3),
            "cotangent": Tensor(ALL),
            "weight": Tensor(("rank", "d0"), optional=True),
            "reduction": REDUCTION,
        },
    ),
    "binary_cross_entropy_with_logits": Entry(
        {"input": X, "target": Y, "pos_weight": [1.0, 2.0, 0.5], "reduction": "mean"},
        {
            "input": Tensor(ALL),
            "target": Tensor(ALL, probabilities=True),
            "pos_weight": Tensor(("rank", "d0"), optional=True),
            "reduction": REDUCTION,
        },
        (("pos_weight", [1.0, -1.0, 1.0]),),
    ),
    "binary_cross_entropy_with_logits_vjp": Entry(
        {"input": X, "target": Y, "cotangent": G, "pos_weight": [0.5, 1.0, 2.0], "reduction": "none"},
        {
            "input": Tensor(ALL),
            "target": Tensor(ALL, probabilities=True),
            "cotangent": Tensor(ALL),
            "pos_weight": Tensor(("rank", "d0"), optional=True),
            "reduction": REDUCTION,
        },
    ),
    "smoothed_cross_entropy": Entry(
        {"logits": LOGITS, "target": LABELS, "label_smoothing": 0.1, "reduction": "mean"},
        {
            "logits": Tensor(("rank", "d0", "d1-")),
            "target": Indices(3),
            "label_smoothing": Real(0.0),
            "reduction": REDUCTION,
        },
        (("label_smoothing", 1.5),),
    ),
    "smoothed_cross_entropy_vjp": Entry(
        {"logits": LOGITS, "target": LABELS, "cotangent": [1.0, -0.5], "label_smoothing": 0.1, "reduction": "none"},
        {
            "logits": Tensor(("rank", "d0", "d1-")),
            "target": Indices(3),
            "cotangent": Tensor(ALL),
            "label_smoothing": Real(0.0),
            "reduction": REDUCTION,
        },
        (("label_smoothing", 1.5),),
    ),
    # --- gradient descent
    "sgd_step": Entry({"param": X, "grad": G, "lr": 0.1}, {"param": Tensor(ALL), "grad": Tensor(ALL), "lr": Real(0.0)}),
    "sgd_step_vjp": Entry(
        {"param": X, "grad": G, "lr": 0.1, "cotangent": G},
        {"param": Tensor(ALL), "grad": Tensor(ALL), "lr": Real(0.0), "cotangent": Tensor(ALL)},
    ),
    "adam_step": Entry(ADAM, ADAM_KINDS, ADAM_EXTRA),
    "adam_step_vjp": Entry({**ADAM, "cotangent": (G, G, G)}, {**ADAM_KINDS, "cotangent": ADAM_COTANGENT}, ADAM_EXTRA),
    "adamw_step": Entry(ADAM, {**ADAM_KINDS, "weight_decay": Real(0.0)}, ADAM_EXTRA),
    "adamw_step_vjp": Entry(
        {**ADAM, "cotangent": (G, G, G)},
        {**ADAM_KINDS, "weight_decay": Real(0.0), "cotangent": ADAM_COTANGENT},
        ADAM_EXTRA,
    ),
    "rmsprop_step": Entry(RMSPROP, RMSPROP_KINDS, RMSPROP_EXTRA),
    "rmsprop_step_vjp": Entry(
        {**RMSPROP, "cotangent": (G, G)}, {**RMSPROP_KINDS, "cotangent": RATE_COTANGENT}, RMSPROP_EXTRA
    ),
    "adagrad_step": Entry(ADAGRAD, ADAGRAD_KINDS, ADAGRAD_EXTRA),
    "sgd_momentum_step": Entry(MOMENTUM, MOMENTUM_KINDS, MOMENTUM_EXTRA),
    "sgd_momentum_step_vjp": Entry(
        {**MOMENTUM, "cotangent": (G, G)}, {**MOMENTUM_KINDS, "cotangent": RATE_COTANGENT}, MOMENTUM_EXTRA
    ),
    "adagrad_step_vjp": Entry(
        {**ADAGRAD, "cotangent": (G, G)}, {**ADAGRAD_KINDS, "cotangent": RATE_COTANGENT}, ADAGRAD_EXTRA
    ),
    "gradient_descent": Entry(
        {**DRIVER, "batch_size": 1, "shuffle": True, "seed": 3},
        {**DRIVER_KINDS, "batch_size": Int(1, optional=True), "shuffle": Flag(), "seed": Int()},
        DRIVER_EXTRA,
    ),
    "batch_gradient_descent": Entry(DRIVER, DRIVER_KINDS, DRIVER_EXTRA),
    "stochastic_gradient_descent": Entry(
        {**DRIVER, "shuffle": True, "seed": 1}, {**DRIVER_KINDS, "shuffle": Flag(), "seed": Int()}, DRIVER_EXTRA
    ),
    "minibatch_gradient_descent": Entry(
        {**DRIVER, "batch_size": 2, "shuffle": False, "seed": 0},
        {**DRIVER_KINDS, "batch_size": Int(1), "shuffle": Flag(), "seed": Int()},
        DRIVER_EXTRA,
    ),
    # --- backpropagation
    "forward_pass": Entry(
        {"x": INPUTS[0], "y": TARGETS[0], **NET, "activation": "relu"},
        {"x": Tensor(ALL), "y": Tensor(ALL), **NET_KINDS},
    ),
    "backward_pass": Entry(
        {"forward": _forward(), "y": TARGETS[0], **NET, "activation": "relu"},
        {
            "forward": Bad((None, (), "forward", {"inputs": []}, ForwardPass([], [], [], 0.0))),
            "y": Tensor(ALL),
            **NET_KINDS,
        },
    ),
    "combine_gradients": Entry(
        {"per_pair": [Gradients([W, W2], [B, B2]), Gradients([W, W2], [B, B2])]},
        {
            "per_pair": Bad(
                (
                    None,
                    [],
                    "gradients",
                    [1, 2],
                    [Gradients([W, W2], [B, B2]), Gradients([W, W], [B, B2])],
                    [Gradients([W, W2], [B, B2]), Gradients([W], [B])],
                    [Gradients([W, W2], [B, B2]), None],
                )
            )
        },
    ),
    "update": Entry(
        {**NET, "gradients": Gradients([W, W2], [B, B2]), "lr": 0.1},
        {
            "weights": TensorList(),
            "biases": TensorList(True),
            "gradients": Bad(
                (None, (W, B), Gradients([W], [B]), Gradients([W2, W2], [B, B2]), Gradients([W, W2], [B2, B2]))
            ),
            "lr": Real(0.0),
        },
    ),
    "backpropagate": Entry(
        {"inputs": INPUTS, "targets": TARGETS, **NET, "activation": "relu"},
        {"inputs": Tensor(("rank", "d0", "d1", "d0=0")), "targets": Tensor(ALL), **NET_KINDS},
    ),
    "train_step": Entry(
        {"inputs": INPUTS, "targets": TARGETS, **NET, "lr": 0.01, "activation": "tanh"},
        {"inputs": Tensor(("rank", "d0", "d1", "d0=0")), "targets": Tensor(ALL), **NET_KINDS, "lr": Real(0.0)},
    ),
    "numerical_gradient": Entry(
        {"f": lambda v: v[0] ** 2 + v[1], "x": [1.0, 2.0], "eps": 1e-6},
        {"f": Function(), "x": Tensor(), "eps": Real(0.0, strict=True)},
        (("f", lambda v: "f"), ("f", lambda v: [1.0]), ("f", lambda v: None)),
    ),
    # --- convolution and pooling
    "conv2d": Entry(
        {"x": XC, "weight": WC, "bias": BC, "stride": 1, "padding": 0, "dilation": 1, "groups": 1},
        {
            "x": Tensor(("rank", "d1", "d2-", "d3-")),
            "weight": Tensor(("rank", "d0", "d1", "d2+", "d3+")),
            "bias": Tensor(ALL, optional=True),
            **CONV_HYPER,
        },
        CONV_EXTRA,
    ),
    "conv2d_vjp": Entry(
        {
            "x": XC,
            "weight": WC,
            "bias": BC,
            "cotangent": GC,
            "stride": (1, 1),
            "padding": 0,
            "dilation": 1,
            "groups": 1,
        },
        {
            "x": Tensor(("rank", "d0", "d1", "d2-", "d3-")),
            "weight": Tensor(("rank", "d0", "d1", "d2+", "d3+")),
            "bias": Tensor(ALL, optional=True),
            "cotangent": Tensor(ALL),
            **CONV_HYPER,
        },
        CONV_EXTRA,
    ),
    "conv_output_size": Entry(
        {"size": 5, "kernel_size": 3, "stride": 2, "padding": 1, "dilation": 1},
        {"size": Int(1), "kernel_size": Int(1), "stride": Int(1), "padding": Int(0), "dilation": Int(1)},
        (("kernel_size", 8), ("dilation", 4)),
    ),
    "max_pool2d": Entry(
        {"x": XC, "kernel_size": 2, "stride": None, "padding": 0},
        {"x": Tensor(("rank", "d2-", "d3-")), **POOL_HYPER, "padding": Int(0, pair=True)},
        POOL_EXTRA,
    ),
    "max_pool2d_vjp": Entry(
        {"x": XC, "cotangent": GP, "kernel_size": 2, "stride": 2, "padding": 0},
        {
            "x": Tensor(("rank", "d0", "d1", "d2-", "d3-")),
            "cotangent": Tensor(ALL),
            **POOL_HYPER,
            "padding": Int(0, pair=True),
        },
        POOL_EXTRA,
    ),
    "avg_pool2d": Entry(
        {"x": XC, "kernel_size": (2, 2), "stride": None, "padding": 1, "count_include_pad": False},
        {
            "x": Tensor(("rank", "d2=0", "d3=0")),
            **POOL_HYPER,
            "padding": Int(0, pair=True),
            "count_include_pad": Flag(),
        },
        POOL_EXTRA,
    ),
    "avg_pool2d_vjp": Entry(
        {"x": XC, "cotangent": GP, "kernel_size": 2, "stride": None, "padding": 0, "count_include_pad": True},
        {
            "x": Tensor(("rank", "d0", "d1", "d2-", "d3-")),
            "cotangent": Tensor(ALL),
            **POOL_HYPER,
            "padding": Int(0, pair=True),
            "count_include_pad": Flag(),
        },
        POOL_EXTRA,
    ),
    "conv_transpose2d": Entry(
        {"x": XC, "weight": WT, "bias": BC[:2], "stride": 1, "padding": 0, "output_padding": 0, "groups": 1},
        {
            "x": Tensor(("rank", "d1", "d2=0", "d3=0")),
            "weight": Tensor(("rank", "d0", "d1", "d2=0", "d3=0")),
            "bias": Tensor(ALL, optional=True),
            **CONV_T_HYPER,
        },
        CONV_T_EXTRA,
    ),
    "conv_transpose2d_vjp": Entry(
        {"x": XC, "weight": WT, "bias": BC[:2], "cotangent": GT, "stride": (1, 1), "padding": 0, "dilation": 1},
        {
            "x": Tensor(ALL),
            "weight": Tensor(ALL),
            "bias": Tensor(ALL, optional=True),
            "cotangent": Tensor(ALL),
            **CONV_T_HYPER,
        },
        CONV_T_EXTRA,
    ),
    "conv_transpose_output_size": Entry(
        {"size": 3, "kernel_size": 3, "stride": 2, "padding": 1, "output_padding": 1, "dilation": 1},
        {
            "size": Int(1),
            "kernel_size": Int(1),
            "stride": Int(1),
            "padding": Int(0),
            "output_padding": Int(0),
            "dilation": Int(1),
        },
        (("output_padding", 2), ("padding", 4)),
    ),
    "adaptive_avg_pool2d": Entry(
        {"x": XC, "output_size": (1, 2)}, {"x": Tensor(("rank", "d2=0", "d3=0")), "output_size": Int(1, pair=True)}
    ),
    "adaptive_avg_pool2d_vjp": Entry(
        {"x": XC, "cotangent": GP, "output_size": 1},
        {"x": Tensor(("rank", "d0", "d1", "d2=0", "d3=0")), "cotangent": Tensor(ALL), "output_size": Int(1, pair=True)},
    ),
    "adaptive_bins": Entry({"size": 5, "out": 3}, {"size": Int(1), "out": Int(1)}),
    "interpolate": Entry(
        {"x": XC, "size": (3, 4), "mode": "bilinear", "align_corners": True},
        {
            "x": Tensor(("rank", "d2=0", "d3=0")),
            "size": Int(1, pair=True),
            "mode": Choice(("nearest", "nearest-exact", "bilinear")),
            "align_corners": Bad((1, 0, "True", 1.0)),
        },
        (("mode", "nearest"),),  # align_corners=True with a nearest mode
    ),
    "interpolate_vjp": Entry(
        {"x": XC, "cotangent": GP, "size": 1, "mode": "bilinear", "align_corners": False},
        {
            "x": Tensor(("rank", "d0", "d1", "d2=0", "d3=0")),
            "cotangent": Tensor(ALL),
            "size": Int(1, pair=True),
            "mode": Choice(("nearest", "nearest-exact", "bilinear")),
            "align_corners": Bad((1, "True")),
        },
    ),
    "interpolation_taps": Entry(
        {"size_in": 5, "size_out": 3, "mode": "bilinear", "align_corners": True},
        {
            "size_in": Int(1),
            "size_out": Int(1),
            "mode": Choice(("nearest", "nearest-exact", "bilinear")),
            "align_corners": Bad((1, "True")),
        },
    ),
    "conv_block": Entry(
        {"x": XB, "weight": WC, "bias": BC, "stride": 1, "padding": 0, "pool": "avg", "pool_size": 2},
        {
            "x": Tensor(("rank", "d1", "d2-", "d3-")),
            "weight": Tensor(("rank", "d0", "d1", "d2+", "d3+")),
            "bias": Tensor(ALL, optional=True),
            "stride": Int(1, pair=True),
            "padding": Int(0, pair=True),
            "pool": Choice(("max", "avg")),
            "pool_size": Int(1, pair=True),
        },
        (("pool_size", 3), ("stride", 2), ("padding", -1)),
    ),
    "conv_block_vjp": Entry(
        {"x": XB, "weight": WC, "bias": BC, "cotangent": GC, "stride": 1, "padding": 0, "pool": "max", "pool_size": 2},
        {
            "x": Tensor(("rank", "d0", "d1", "d2-", "d3-")),
            "weight": Tensor(("rank", "d0", "d1", "d2+", "d3+")),
            "bias": Tensor(ALL, optional=True),
            "cotangent": Tensor(ALL),
            "stride": Int(1, pair=True),
            "padding": Int(0, pair=True),
            "pool": Choice(("max", "avg")),
            "pool_size": Int(1, pair=True),
        },
        (("pool_size", 3), ("stride", 2)),
    ),
    # --- recurrent networks
    "rnn": Entry({"x": XS, **RNN}, RNN_KINDS),
    "rnn_vjp": Entry(
        {"x": XS, **RNN, "cotangent": ([[[1.0, 0.0], [0.5, -0.5]], [[0.0, 1.0], [1.0, 1.0]]], None)},
        {
            **RNN_KINDS,
            "x": Tensor(("rank", "d0", "d1", "d2", "d1=0")),
            "cotangent": Bad(
                (
                    None,
                    [[1.0, 0.0], [0.5, -0.5]],
                    ([[1.0, 0.0], [0.5, -0.5]], None, None),
                    (None, [[1.0, 0.0, 2.0], [0.5, -0.5, 1.0]]),
                    ([[[1.0, 0.0]], [[0.0, 1.0]]], None),
                    ("g", None),
                )
            ),
        },
    ),
    "rnn_cell": Entry({"x": XS[0], **CELL}, CELL_KINDS),
    "rnn_cell_vjp": Entry({"x": XS[0], **CELL, "cotangent": W_HH}, {**CELL_KINDS, "cotangent": Tensor(ALL)}),
    "rnn_one_to_one": Entry(
        {"x": XS[0], **RNN, "w_out": W_OUT, "b_out": B_OUT}, {**RNN_KINDS, "x": CELL_KINDS["x"], **READOUT_KINDS}
    ),
    "rnn_one_to_many": Entry(
        {"x": XS[0], "steps": 3, **RNN, "w_out": W_OUT, "b_out": B_OUT},
        {**RNN_KINDS, "x": CELL_KINDS["x"], "steps": Int(1), **READOUT_KINDS},
    ),
    "rnn_many_to_one": Entry({"x": XS, **RNN, "w_out": W_OUT, "b_out": B_OUT}, {**RNN_KINDS, **READOUT_KINDS}),
    "rnn_many_to_many": Entry({"x": XS, **RNN, "w_out": W_OUT, "b_out": B_OUT}, {**RNN_KINDS, **READOUT_KINDS}),
    # --- gated recurrent cells (H = 2: LSTM 4H = 8 gate rows, GRU 3H = 6)
    "lstm_cell": Entry({"x": XS[0], **LSTM}, LSTM_KINDS),
    "lstm_cell_vjp": Entry(
        {"x": XS[0], **LSTM, "cotangent": (H0, W_HH)},
        {**LSTM_KINDS, "cotangent": Bad((None, H0, (H0,), (H0, None), (H0, [[1.0, 2.0, 3.0]] * 2), (W_HH, H0, H0)))},
    ),
    "gru_cell": Entry({"x": XS[0], **GRU}, GRU_KINDS),
    "gru_cell_vjp": Entry({"x": XS[0], **GRU, "cotangent": W_HH}, {**GRU_KINDS, "cotangent": Tensor(ALL)}),
    # --- gated recurrent layers over XS (N = 2, T = 2, in = 3, H = 2), the cells' weights
    "lstm": Entry({"x": XS, **LSTM_LAYER, "reverse": True}, LSTM_LAYER_KINDS),
    "lstm_vjp": Entry(
        {"x": XS, **LSTM_LAYER, "cotangent": (XS_H, None, H0)},
        {**LSTM_LAYER_KINDS, "cotangent": Bad((None, (XS_H, H0), (H0, H0, H0), (XS_H, W_IH, H0), (XS_H, H0, [1.0])))},
    ),
    "gru": Entry({"x": XS, **GRU_LAYER, "reverse": True}, GRU_LAYER_KINDS),
    "gru_vjp": Entry(
        {"x": XS, **GRU_LAYER, "cotangent": (XS_H, H0)},
        {**GRU_LAYER_KINDS, "cotangent": Bad((None, (XS_H,), (XS_H, H0, H0), (H0, H0), (XS_H, W_IH)))},
    ),
    "bidirectional_lstm": Entry(
        {"x": XS, **LSTM_LAYER, "h0": [H0, H0], "c0": [W_HH, W_HH], **LSTM_REVERSE},
        {**{k: Tensor(ALL) for k in (*LSTM_LAYER, *LSTM_REVERSE)}, "x": LSTM_LAYER_KINDS["x"]},
    ),
    "bidirectional_gru": Entry(
        {"x": XS, **GRU_LAYER, "h0": [H0, H0], **GRU_REVERSE},
        {**{k: Tensor(ALL) for k in (*GRU_LAYER, *GRU_REVERSE)}, "x": GRU_LAYER_KINDS["x"]},
    ),
    # --- weight initialisation (the draw given: u in [0, 1], z any real; a weight of 2 or more axes)
    "fans": Entry({"shape": (4, 3, 2, 2)}, {"shape": Bad((None, "43", (4,), (4, 0), (4, 1.5), (True, 3), (4, -1)))}),
    "calculate_gain": Entry(
        {"nonlinearity": "leaky_relu", "param": 0.2},
        {"nonlinearity": Choice(INIT_NONLINEARITIES), "param": Bad((math.inf, math.nan, "0.2", True))},
    ),
    "xavier_uniform": Entry({"u": P, "gain": 2.0}, {"u": INIT_U, "gain": Real(0.0, strict=True)}),
    "xavier_uniform_vjp": Entry(
        {"u": P, "cotangent": G, "gain": 1.0}, {"u": INIT_U, "cotangent": Tensor(ALL), "gain": Real(0.0, strict=True)}
    ),
    "xavier_normal": Entry({"z": X, "gain": 0.5}, {"z": INIT_Z, "gain": Real(0.0, strict=True)}),
    "xavier_normal_vjp": Entry(
        {"z": X, "cotangent": G, "gain": 1.0}, {"z": INIT_Z, "cotangent": Tensor(ALL), "gain": Real(0.0, strict=True)}
    ),
    "kaiming_uniform": Entry({"u": P, **KAIMING_CALL}, {"u": INIT_U, **KAIMING_KINDS}),
    "kaiming_uniform_vjp": Entry(
        {"u": P, "cotangent": G, **KAIMING_CALL}, {"u": INIT_U, "cotangent": Tensor(ALL), **KAIMING_KINDS}
    ),
    "kaiming_normal": Entry({"z": X, **KAIMING_CALL}, {"z": INIT_Z, **KAIMING_KINDS}),
    "kaiming_normal_vjp": Entry(
        {"z": X, "cotangent": G, **KAIMING_CALL}, {"z": INIT_Z, "cotangent": Tensor(ALL), **KAIMING_KINDS}
    ),
    # --- dropout (the keep mask given) and embedding
    "dropout": Entry(
        {"x": X, "mask": MASK, "p": 0.5, "training": True},
        {"x": Tensor(ALL), "mask": Tensor(ALL), "p": DROP_RATE, "training": Flag()},
        MASK_EXTRA,
    ),
    "dropout_vjp": Entry(
        {"x": X, "mask": MASK, "cotangent": G, "p": 0.25, "training": False},
        {"x": Tensor(ALL), "mask": Tensor(ALL), "cotangent": Tensor(ALL), "p": DROP_RATE, "training": Flag()},
        MASK_EXTRA,
    ),
    "embedding": Entry(
        {"weight": W, "indices": [[3, 0], [3, 1]], "padding_idx": 0},
        {"weight": Tensor(("rank", "d0-")), "indices": LOOKUPS, "padding_idx": PADDING},
    ),
    "embedding_vjp": Entry(
        {"weight": W, "indices": [3, 0, 3], "cotangent": W[:3], "padding_idx": -1},
        {"weight": Tensor(("rank", "d0-", "d1")), "indices": LOOKUPS, "cotangent": Tensor(ALL), "padding_idx": PADDING},
    ),
    "scaled_dot_product_attention": Entry(ATTENTION_CALL, ATTENTION_KINDS),
    "scaled_dot_product_attention_vjp": Entry(
        {**ATTENTION_CALL, "cotangent": [[[[1.0], [-1.0]], [[0.5], [2.0]]]]},
        {**ATTENTION_KINDS, "cotangent": Tensor(ALL)},
    ),
    "multi_head_attention": Entry(MHA_CALL, MHA_KINDS),
    "multi_head_attention_vjp": Entry(
        {**MHA_CALL, "cotangent": [[[1.0, -1.0], [0.5, 2.0]]]}, {**MHA_KINDS, "cotangent": Tensor(ALL)}
    ),
    "transformer_encoder_block": Entry(BLOCK_CALL, BLOCK_KINDS),
    "transformer_encoder_block_vjp": Entry(
        {**BLOCK_CALL, "cotangent": [[[1.0, -1.0], [0.5, 2.0]]]}, {**BLOCK_KINDS, "cotangent": Tensor(ALL)}
    ),
    # --- positions (sinusoidal encoding, RoPE: x (1, L = 2, D = 4)) and perplexity
    "sinusoidal_positional_encoding": Entry(POSITIONS_CALL, POSITIONS_KINDS),
    "sinusoidal_positional_encoding_vjp": Entry(
        {**POSITIONS_CALL, "cotangent": [[1.0, -0.5, 0.25, 0.0]] * 3}, {**POSITIONS_KINDS, "cotangent": Tensor(ALL)}
    ),
    "rotary_embedding": Entry(ROPE_CALL, ROPE_KINDS),
    "rotary_embedding_vjp": Entry(
        {**ROPE_CALL, "cotangent": [[[0.5, 1.0, -1.0, 0.0], [1.0, 0.0, 2.0, -0.5]]]},
        {**ROPE_KINDS, "cotangent": Tensor(ALL)},
    ),
    "perplexity": Entry(
        {"logits": LOGITS, "target": LABELS}, {"logits": Tensor(("rank", "d0", "d1-")), "target": Indices(3)}
    ),
    "perplexity_vjp": Entry(
        {"logits": LOGITS, "target": LABELS, "cotangent": 1.5},
        {"logits": Tensor(("rank", "d0", "d1-")), "target": Indices(3), "cotangent": Tensor(("rank",))},
    ),
    # --- learning-rate schedules (lr 0-d, step a (2, 2) tensor of counts) and gradient clipping (2 tensors)
    **{
        name: Entry({**call, "lr": 0.1, "step": STEPS}, {**kinds, "lr": Tensor(("rank",)), "step": STEP_COUNTS})
        for name, call, kinds in SCHEDULES
    },
    **{
        f"{name}_vjp": Entry(
            {**call, "lr": 0.1, "step": STEPS, "cotangent": [[1.0, -0.5], [0.25, 2.0]]},
            {**kinds, "lr": Tensor(("rank",)), "step": STEP_COUNTS, "cotangent": Tensor(ALL)},
        )
        for name, call, kinds in SCHEDULES
    },
    "clip_grad_norm": Entry({"grads": X, "max_norm": 1.0}, {"grads": Tensor(("0d",)), "max_norm": Real(0.0)}),
    "clip_grad_norm_vjp": Entry(
        {"grads": X, "cotangent": G, "max_norm": 1.0},
        {"grads": Tensor(("0d",)), "cotangent": Tensor(ALL), "max_norm": Real(0.0)},
    ),
}


# --- how to break one argument ------------------------------------------------------------

NOT_A_TENSOR = ("abc", {"a": 1.0}, 1 + 2j, True, b"\x00", {1.0}, object())
BAD_LEAVES = ("1.0", None, 1 + 0j, complex(math.nan, 0), True, False, 10**400, [], object())
OUT_OF_UNIT = (1.5, -0.25, math.nan, math.inf, -math.inf)


def _leaf_paths(value: Any, path: tuple[int, ...] = ()) -> list[tuple[int, ...]]:
    if isinstance(value, list | tuple):
        return [p for i, v in enumerate(value) for p in _leaf_paths(v, (*path, i))]
    return [path]


def _list_paths(value: Any, path: tuple[int, ...] = ()) -> list[tuple[int, ...]]:
    """Paths of the lists below the top whose parent has a sibling list (changing one makes it ragged)."""
    out = []
    if isinstance(value, list | tuple):
        for i, v in enumerate(value):
            if isinstance(v, list | tuple):
                if len(value) >= 2:
                    out.append((*path, i))
                out.extend(_list_paths(v, (*path, i)))
    return out


def _replace(value: Any, path: tuple[int, ...], new: Any) -> Any:
    if not path:
        return new
    items = list(value)
    items[path[0]] = _replace(items[path[0]], path[1:], new)
    return items


def _get(value: Any, path: tuple[int, ...]) -> Any:
    for i in path:
        value = value[i]
    return value


def _rank(value: Any) -> int:
    rank = 0
    while isinstance(value, list | tuple):
        rank += 1
        if not value:
            break
        value = value[0]
    return rank


def _resize(value: Any, axis: int, change: str) -> Any:
    """Make axis ``axis`` one longer (``+``), one shorter (``-``) or empty (``0``) everywhere."""
    if axis == 0:
        items = list(value)
        if change == "+":
            return [*items, items[-1]]
        return items[:-1] if change == "-" else []
    return [_resize(v, axis - 1, change) for v in value]


_TOKEN = re.compile(r"^d(-?\d+)(\+|-|=0)?$")


def _shape_changes(value: Any, refuse: tuple[str, ...]) -> list[tuple[str, Any]]:
    """The shape changes of ``value`` that ``refuse`` says are refused, as (description, new value)."""
    rank = _rank(value)
    tokens = set(refuse)
    if "all" in tokens:
        tokens |= {"rank", *(f"d{k}" for k in range(rank))}
    out: list[tuple[str, Any]] = []
    if "rank" in tokens:
        out.append(("one more axis", [value]))
        if rank >= 1 and value:
            out.append(("one fewer axis", value[0]))
    if "0d" in tokens:
        out.append(("a bare number", 0.5))
    for t in tokens:
        m = _TOKEN.match(t)
        if not m:
            continue
        axis = int(m.group(1)) % rank
        which = {"+": "+", "-": "-", "=0": "0"}.get(m.group(2) or "", "+-")
        for change in which:
            out.append(
                (
                    f"axis {axis} {'longer' if change == '+' else 'shorter' if change == '-' else 'empty'}",
                    _resize(value, axis, change),
                )
            )
    return out


def _tensor_mutations(draw: st.DrawFn, kind: Tensor, value: Any) -> tuple[str, Any]:
    options = ["not a tensor", "bad leaf"]
    if _list_paths(value):
        options.append("ragged")
    shapes = _shape_changes(value, kind.refuse)
    if shapes:
        options.append("shape")
    if kind.probabilities:
        options.append("probability")
    how = draw(st.sampled_from(options))
    if how == "not a tensor":
        bad = draw(st.sampled_from(NOT_A_TENSOR + (() if kind.optional else (None,))))
        return f"{bad!r} instead of a tensor", bad
    if how == "bad leaf":
        path = draw(st.sampled_from(_leaf_paths(value)))
        bad = draw(st.sampled_from(BAD_LEAVES))
        if bad == [] and len(_leaf_paths(value)) == 1:
            bad = "1.0"  # [[]] would be a valid empty tensor
        return f"{bad!r} at {list(path)}", _replace(value, path, bad)
    if how == "ragged":
        path = draw(st.sampled_from(_list_paths(value)))
        sub = list(_get(value, path))
        sub = [*sub, sub[0] if sub else 1.0] if draw(st.booleans()) or len(sub) == 0 else sub[:-1]
        return f"ragged at {list(path)}", _replace(value, path, sub)
    if how == "shape":
        return draw(st.sampled_from(shapes))
    path = draw(st.sampled_from(_leaf_paths(value)))
    bad = draw(st.sampled_from(OUT_OF_UNIT))
    return f"probability {bad!r} at {list(path)}", _replace(value, path, bad)


def _int_mutations(draw: st.DrawFn, kind: Int) -> tuple[str, Any]:
    choices: list[Any] = [True, False, 1.0, 2.5, "1", math.nan, [1], (1, 1, 1)]
    if not kind.optional:
        choices.append(None)
    if kind.low is not None:
        choices.append(draw(st.integers(max_value=kind.low - 1)))
    if kind.high is not None:
        choices.append(draw(st.integers(min_value=kind.high)))
    if kind.pair:
        good = kind.low if kind.low is not None else 0
        choices += [(good,), (good, 1.5), (good, True), (good, "2"), [None, good]]
        if kind.low is not None:
            choices.append((good, kind.low - 1))
    else:
        choices.append((1, 1))
    bad = draw(st.sampled_from(choices))
    return f"{bad!r}", bad


def _real_mutations(draw: st.DrawFn, kind: Real) -> tuple[str, Any]:
    choices: list[Any] = [math.nan, math.inf, -math.inf, "0.1", None, True, [0.1], 1j]
    if kind.low is not None:
        if kind.strict:
            choices.append(kind.low)
        choices.append(draw(st.floats(max_value=kind.low, exclude_max=True, allow_nan=False, allow_infinity=False)))
    bad = draw(st.sampled_from(choices))
    return f"{bad!r}", bad


def _indices_mutations(draw: st.DrawFn, kind: Indices, value: list[int]) -> tuple[str, Any]:
    how = draw(st.sampled_from(["element", "whole", "length"]))
    if how == "element":
        i = draw(st.integers(0, len(value) - 1))
        bad = draw(st.sampled_from([kind.classes, kind.classes + 7, -1, 1.0, True, "0", None, [0], math.nan]))
        return f"{bad!r} at [{i}]", _replace(value, (i,), bad)
    if how == "whole":
        bad = draw(st.sampled_from([0, "0", None, 1.5, [[0], [1]]]))
        return f"{bad!r} instead of a list", bad
    bad = value[:-1] if draw(st.booleans()) else [*value, 0]
    return f"length {len(bad)}", bad


def _list_mutations(draw: st.DrawFn, kind: TensorList, value: list[Any]) -> tuple[str, Any]:
    how = draw(st.sampled_from(["whole", "length", "element"]))
    if how == "whole":
        bad = draw(st.sampled_from(["w", None, 1.0, {}]))
        return f"{bad!r} instead of a list", bad
    if how == "length":
        bad = [] if draw(st.booleans()) else value[:-1]
        return f"{len(bad)} entries", bad
    i = draw(st.integers(0, len(value) - 1))
    desc, bad = _tensor_mutations(draw, Tensor(ALL, optional=kind.optional_items), value[i])
    return f"entry {i}: {desc}", _replace(value, (i,), bad)


@st.composite
def broken_calls(draw: st.DrawFn, name: str) -> tuple[str, str, dict[str, Any]]:
    """A valid call of ``name`` with exactly one argument broken: (argument, what was done, kwargs)."""
    entry = TABLE[name]
    options = [(arg, None) for arg in entry.kinds] + [(arg, bad) for arg, bad in entry.extra]
    arg, extra = draw(st.sampled_from(options))
    kind, value = entry.kinds[arg], entry.kwargs.get(arg)
    if extra is not None:
        desc, bad = f"{extra!r}", extra
    elif isinstance(kind, Tensor):
        desc, bad = _tensor_mutations(draw, kind, value)
    elif isinstance(kind, TensorList):
        desc, bad = _list_mutations(draw, kind, value)
    elif isinstance(kind, Indices):
        desc, bad = _indices_mutations(draw, kind, value)
    elif isinstance(kind, Int):
        desc, bad = _int_mutations(draw, kind)
    elif isinstance(kind, Real):
        desc, bad = _real_mutations(draw, kind)
    elif isinstance(kind, Choice):
        bad = draw(
            st.sampled_from([None, 1, True, "", "MEAN", *(o.upper() + "x" for o in kind.options)])
            | st.text(max_size=6).filter(lambda s: s not in kind.options)
        )
        desc = repr(bad)
    elif isinstance(kind, Flag):
        bad = draw(st.sampled_from([1, 0, "True", None, 1.0]))
        desc = repr(bad)
    elif isinstance(kind, Function):
        bad = draw(st.sampled_from([None, 3, "f", [_grad]]))
        desc = repr(bad)
    else:
        bad = draw(st.sampled_from(kind.values))
        desc = _short(bad)
    return arg, desc, {**entry.kwargs, arg: bad}


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 80 else text[:77] + "..."


def _names(message: str, word: str) -> bool:
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(word)}(?![A-Za-z0-9_])", message) is not None


def assert_refused(name: str, arg: str, desc: str, kwargs: dict[str, Any]) -> None:
    """The call raises ValueError or TypeError with a one-line message naming function, argument, expectation."""
    fn = getattr(ref, name)
    try:
        result = fn(**kwargs)
    except (ValueError, TypeError) as exc:
        message = str(exc)
        where = f"{name}({arg}={desc}) raised {type(exc).__name__}: {message}"
        assert _names(message, name), f"the message does not name the function: {where}"
        assert _names(message, arg), f"the message does not name the argument: {where}"
        assert re.search(r"=| is | has |length|shape", message), f"the message does not say what it got: {where}"
        assert "expected" in message, f"the message does not say what was expected: {where}"
        assert "\n" not in message, f"the message is not one line: {where}"
        return
    except Exception as exc:
        raise AssertionError(f"{name}({arg}={desc}) raised {type(exc).__name__}: {exc}") from exc
    raise AssertionError(f"{name}({arg}={desc}) was accepted and returned {_short(result)}")


# --- the tests ------------------------------------------------------------------------------


def test_every_public_function_has_an_entry() -> None:
    """Every name in dlterms.reference.__all__ has a row in TABLE (and no row is stale)."""
    assert sorted(set(ref.__all__) - set(TABLE)) == [], "add a valid call and argument kinds to TABLE"
    assert sorted(set(TABLE) - set(ref.__all__)) == []


@pytest.mark.parametrize("name", sorted(TABLE))
def test_the_valid_call_is_accepted_and_every_argument_is_described(name: str) -> None:
    """The table's call of each function succeeds, and every parameter of the function has a kind."""
    entry = TABLE[name]
    params = inspect.signature(getattr(ref, name)).parameters
    assert set(entry.kinds) == set(params), f"{name}: kinds for {sorted(params)}"
    assert set(entry.kwargs) <= set(params)
    getattr(ref, name)(**entry.kwargs)


@pytest.mark.parametrize("name", sorted(TABLE))
@settings(max_examples=100)
@given(data=st.data())
def test_malformed_input_is_refused_with_a_clear_message(name: str, data: st.DataObject) -> None:
    """A valid call with one argument broken raises ValueError/TypeError naming function, argument, expectation."""
    arg, desc, kwargs = data.draw(broken_calls(name), label="broken call")
    assert_refused(name, arg, desc, kwargs)


@pytest.mark.parametrize("name", sorted(TABLE))
def test_every_extra_bad_value_is_refused(name: str) -> None:
    """Each function-specific bad value of the table (kernel too large, wrong gradient shape, ...) is refused."""
    entry = TABLE[name]
    for arg, bad in entry.extra:
        assert_refused(name, arg, _short(bad), {**entry.kwargs, arg: bad})
    for arg, kind in entry.kinds.items():
        if isinstance(kind, Bad):
            for bad in kind.values:
                assert_refused(name, arg, _short(bad), {**entry.kwargs, arg: bad})


def _deep(depth: int) -> list:
    value: Any = 1.0
    for _ in range(depth):
        value = [value]
    return value


def _cyclic() -> list:
    value: list = []
    value.append(value)  # its first element is itself: following first elements never ends
    value.append(1.0)
    return value


@pytest.mark.parametrize("value", [_deep(5000), _cyclic()], ids=["nested-5000-deep", "cyclic"])
@pytest.mark.parametrize("name", ["sigmoid", "softmax", "mse_loss", "sgd_step"])
def test_absurdly_deep_or_cyclic_nesting_is_refused(name: str, value: list) -> None:
    """A list nested thousands deep, or containing itself, is refused: no RecursionError, no endless loop."""
    entry = TABLE[name]
    arg = next(iter(entry.kinds))
    assert_refused(name, arg, "deep", {**entry.kwargs, arg: value})


# --- the command line: `dlterms eval` ----------------------------------------------------------


def _json_or_none(value: Any) -> str | None:
    """``value`` as JSON (NaN and ±Infinity as Python writes them), or None if JSON cannot say it."""
    try:
        return json.dumps(value, allow_nan=True)
    except (TypeError, ValueError):
        return None


def run_eval(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["eval", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_usage_error(code: int, out: str, err: str, context: str = "") -> None:
    assert code == 2, (context, code, out, err)
    assert out == "", context
    assert err.startswith("dlterms eval: error: ") and err.count("\n") == 1, (context, err)
    assert "Traceback" not in err, context


def test_eval_prints_the_reference_result_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    """`dlterms eval softmax '[1, 2, 3]'` prints the reference's result as JSON and exits 0."""
    code, out, err = run_eval(["softmax", "[1, 2, 3]"], capsys)
    assert code == 0 and err == ""
    assert json.loads(out) == ref.softmax([1, 2, 3])
    code, out, _ = run_eval(["cross_entropy", "[[0.0, 0.0]]", "[1]", "--kw", 'reduction="none"'], capsys)
    assert code == 0 and json.loads(out) == [math.log(2.0)]


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["softmax", "[[1, 2], [3]]"], ["softmax", "x[1]", "ragged"]),
        (["sigmoid", '["a"]'], ["sigmoid", "x[0]", "str"]),
        (["relu", "[true]"], ["relu", "bool"]),
        (["cross_entropy", "[[1.0, 2.0]]", "[5]"], ["cross_entropy", "target[0]=5", "C=2"]),
        (["conv2d", "[[[[1.0]]]]", "[[[[1.0]]]]", "--kw", "stride=0"], ["conv2d", "stride=0", ">= 1"]),
        (["mse_loss", "[1.0]", "[1.0]", "--kw", 'reduction="avg"'], ["mse_loss", "reduction='avg'"]),
        (["softmax"], ["softmax", "missing", "'x'"]),
        (["softmx", "[1]"], ["unknown reference function", "did you mean softmax"]),
        (["softmax", "[1"], ["argument 1", "not JSON"]),
        (["softmax", "[1]", "--kw", "axis"], ["--kw", "NAME=JSON"]),
        (["sigmoid", "[" * 100_000], ["argument 1"]),
        (["batch_gradient_descent", "[]", "[0.0]", "[1.0]", "0.1", "1"], ["batch_gradient_descent", "grad_fn"]),
    ],
)
def test_eval_bad_input_is_one_line_and_exit_2(argv: list[str], words: list[str], capsys) -> None:
    """Bad input to `dlterms eval` gives exit code 2 and one line on stderr naming the problem, no traceback."""
    code, out, err = run_eval(argv, capsys)
    assert_one_line_usage_error(code, out, err)
    for w in words:
        assert w in err, (w, err)


def _plain_data(value: Any) -> bool:
    """Whether JSON can carry ``value`` unchanged (not a function, not a named tuple such as Gradients)."""
    if callable(value) or hasattr(value, "_asdict"):
        return False
    if isinstance(value, list | tuple):
        return all(map(_plain_data, value))
    return _json_or_none(value) is not None


# Functions whose valid call JSON can express (the drivers take a function; backward_pass a ForwardPass).
EVAL_NAMES = sorted(n for n, e in TABLE.items() if all(map(_plain_data, e.kwargs.values())))


@pytest.mark.parametrize("name", EVAL_NAMES)
# capsys is read (and so reset) after every call, so sharing it between examples is safe.
@settings(max_examples=20, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_eval_refuses_every_malformed_call_on_one_line(
    name: str, data: st.DataObject, capsys: pytest.CaptureFixture[str]
) -> None:
    """The malformed calls of the property test, given as JSON to `dlterms eval`, exit 2 with one line."""
    arg, desc, kwargs = data.draw(broken_calls(name), label="broken call")
    texts = {k: _json_or_none(v) for k, v in kwargs.items()}
    assume(all(t is not None for t in texts.values()))  # callables, complex numbers, objects: not expressible
    code, out, err = run_eval([name, *(f"--kw={k}={t}" for k, t in texts.items())], capsys)
    assert_one_line_usage_error(code, out, err, f"{name}({arg}={desc})")
