"""The activation invariants: correct frameworks pass, deliberately broken ones are caught by name."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import torch
from dlterms.conformance import known_defects

ACTIVATION_TERMS = "sigmoid,tanh,silu,relu,leaky-relu,softmax,dying-relu,vanishing-gradient"


@pytest.mark.parametrize("backend", ["reference", "numpy", "torch"])
def test_correct_backends_pass_every_activation_invariant(conform, backend: str) -> None:
    """A correct framework exits 0 and every activation term is in the report."""
    run = conform(backend, "--terms", ACTIVATION_TERMS, "--max-examples", "15")
    assert run.code == 0, run.out
    terms = {r["term"] for r in run.rows()}
    assert terms == set(ACTIVATION_TERMS.split(","))
    assert not run.rows("fail") and not run.rows("error")
    assert run.report["backend"]["name"] == backend


def test_numpy_has_no_autodiff_so_gradient_rows_are_unsupported(conform) -> None:
    """A forward-only backend reports gradient invariants as unsupported, not failed."""
    run = conform("numpy", "--terms", "sigmoid", "--max-examples", "5")
    unsupported = {r["invariant"] for r in run.rows("unsupported")}
    assert "sigmoid.grad_matches_finite_difference" in unsupported
    assert "sigmoid.vjp_matches_reference" in unsupported
    assert run.code == 0


def _softmax_without_max_shift(x: torch.Tensor, axis: int = -1) -> torch.Tensor:
    e = torch.exp(x)
    return e / e.sum(dim=axis, keepdim=True)


def _softmax_wrong_axis(x: torch.Tensor, axis: int = -1) -> torch.Tensor:
    return torch.softmax(x, dim=0)


def _leaky_relu_fixed_slope(x: torch.Tensor, negative_slope: float = 0.01) -> torch.Tensor:
    return torch.nn.functional.leaky_relu(x, 0.01)


class _SigmoidWrongGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.sigmoid(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        s = torch.sigmoid(x)
        return g * s  # forgets the factor (1 - s)


class _SigmoidNanGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return torch.sigmoid(x)

    @staticmethod
    def backward(ctx, g):
        return torch.full_like(g, float("nan"))  # a NaN gradient: |NaN − fd| > tol is False, so compare with <=


def _tanh_not_odd(x: torch.Tensor) -> torch.Tensor:
    return torch.tanh(x) + 1e-3 * (x > 0)


def _relu_leaks(x: torch.Tensor) -> torch.Tensor:
    return torch.where(x > 0, x, 1e-3 * x)


def _silu_swish_half(x: torch.Tensor) -> torch.Tensor:
    return x * torch.sigmoid(x / 2)  # swish with β = 1/2: its dip is twice as deep


def _silu_relu_gated(x: torch.Tensor) -> torch.Tensor:
    return torch.relu(x) * torch.sigmoid(x)  # no dip below 0: silu(x) − silu(−x) is x·σ(x), not x


def _log_softmax_naive(x: torch.Tensor, axis: int = -1) -> torch.Tensor:
    return torch.log(torch.softmax(x, dim=axis))


def _gelu_relu_gated(x: torch.Tensor, approximate: str = "none") -> torch.Tensor:
    # No dip below 0: gelu(x) − gelu(−x) is x·Φ(x), not x.
    return torch.where(x > 0, torch.nn.functional.gelu(x, approximate=approximate), torch.zeros_like(x))


def _gelu_sigmoid_form(x: torch.Tensor, approximate: str = "none") -> torch.Tensor:
    # The paper's cruder x·σ(1.702x) given for the tanh form: up to 0.02 from x·Φ(x), not 4.7e-4.
    if approximate == "tanh":
        return x * torch.sigmoid(1.702 * x)
    return torch.nn.functional.gelu(x)


def _elu_scaled_positive(x: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    return torch.where(x > 0, alpha * x, torch.nn.functional.elu(x, alpha=alpha))  # alpha on both sides


def _elu_leaky(x: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    return torch.where(x > 0, x, alpha * x)  # a leaky ReLU named ELU: no saturation at −alpha


def _softplus_naive(x: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
    return torch.log(1 + torch.exp(beta * x)) / beta  # e^(βx) overflows: inf where the value is about x


def _softplus_shifted(x: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
    return torch.nn.functional.softplus(x, beta=beta) - math.log(2.0) / beta  # "shifted softplus": below relu


def _log_sigmoid_naive(x: torch.Tensor) -> torch.Tensor:
    return torch.log(torch.sigmoid(x))  # −inf where σ(x) underflows


def _log_sigmoid_sign_slip(x: torch.Tensor) -> torch.Tensor:
    return -torch.nn.functional.softplus(x)  # −softplus(x) instead of −softplus(−x)


@pytest.mark.parametrize(
    ("op", "impl", "terms", "expected"),
    [
        ("softmax", _softmax_without_max_shift, "softmax", "softmax.finite_for_large_logits"),
        ("softmax", _softmax_wrong_axis, "softmax", "softmax.sums_to_one"),
        ("leaky_relu", _leaky_relu_fixed_slope, "leaky-relu", "leaky_relu.honours_negative_slope"),
        ("sigmoid", _SigmoidWrongGrad.apply, "sigmoid", "sigmoid.grad_matches_finite_difference"),
        ("sigmoid", _SigmoidWrongGrad.apply, "sigmoid", "sigmoid.derivative_identity"),
        ("sigmoid", _SigmoidNanGrad.apply, "sigmoid", "sigmoid.grad_matches_finite_difference"),
        ("tanh", _tanh_not_odd, "tanh", "tanh.odd"),
        ("relu", _relu_leaks, "relu", "relu.equals_max_zero"),
        ("silu", _silu_swish_half, "silu", "silu.within_its_minimum_of_relu"),
        ("silu", _silu_relu_gated, "silu", "silu.mirror_difference_is_x"),
        ("log_softmax", _log_softmax_naive, "softmax", "log_softmax.finite_where_softmax_underflows"),
        ("gelu", _gelu_relu_gated, "gelu", "gelu.mirror_difference_is_x"),
        ("gelu", _gelu_sigmoid_form, "gelu", "gelu.tanh_form_within_its_gap_of_exact"),
        ("elu", _elu_scaled_positive, "elu", "elu.identity_for_positive_input"),
        ("elu", _elu_leaky, "elu", "elu.bounded_below_by_minus_alpha"),
        ("softplus", _softplus_naive, "softplus", "softplus.mirror_difference_is_x"),
        ("softplus", _softplus_shifted, "softplus", "softplus.above_relu_within_log2"),
        ("log_sigmoid", _log_sigmoid_naive, "log-sigmoid", "log_sigmoid.mirror_difference_is_x"),
        ("log_sigmoid", _log_sigmoid_sign_slip, "log-sigmoid", "log_sigmoid.is_minus_softplus_of_minus_x"),
    ],
)
def test_broken_adapter_exits_1_naming_the_invariant(
    conform, broken_backend, op: str, impl, terms: str, expected: str
) -> None:
    """A deliberately broken op makes `dlterms conform` exit 1, naming the violated invariant."""
    spec = broken_backend("torch", **{op: impl})
    run = conform(spec, "--terms", terms, "--max-examples", "25")
    assert run.code == 1
    assert expected in run.failed_invariants()
    row = next(r for r in run.rows("fail") if r["invariant"] == expected)
    assert row["counterexample"] is not None
    assert expected in run.out


def test_missing_op_is_unsupported_not_a_crash(conform, broken_backend) -> None:
    """An adapter without tanh reports tanh's invariants unsupported and still exits 0."""
    spec = broken_backend("torch", tanh=None)
    run = conform(spec, "--terms", "tanh", "--max-examples", "5")
    assert run.code == 0
    assert run.rows() and all(r["status"] == "unsupported" for r in run.rows())
    assert "tanh" not in run.report["backend"]["supported_ops"]


SMOOTH_RECTIFIER_TERMS = "gelu,elu,softplus,log-sigmoid"


@pytest.mark.parametrize("backend", ["reference", "numpy", "torch"])
def test_smooth_rectifiers_pass_but_for_documented_defects(conform, backend: str) -> None:
    """GELU, ELU, softplus and log-sigmoid pass on the reference, NumPy (no gelu: no erf) and torch, but for
    torch's documented GELU defects (dlterms.conformance.known_defects)."""
    run = conform(backend, "--terms", SMOOTH_RECTIFIER_TERMS, "--max-examples", "15")
    assert not run.rows("error")
    assert {r["id"] for r in run.rows("fail")} <= known_defects.DEFAULT_RUN_DEFECTS.get(backend, frozenset())
    assert {r["term"] for r in run.rows()} == set(SMOOTH_RECTIFIER_TERMS.split(","))


def test_torch_gelu_cancels_in_the_left_tail() -> None:
    """torch's gelu at x = −8 is 0 in float32 and −4.885e−15 in float64 (½x(1 + erf) and ½x(1 + tanh) cancel),
    where x·Φ(x) = −4.977e−15 (mpmath) is a normal number; its tanh form's gradient at the largest float32 is NaN."""
    f = torch.nn.functional.gelu
    assert float(f(torch.tensor(-8.0))) == 0.0
    got = float(f(torch.tensor(-8.0, dtype=torch.float64)))
    assert abs(got / -4.976768459417427e-15 - 1) > 1e-2
    assert float(f(torch.tensor(-8.0), approximate="tanh")) == 0.0
    x = torch.tensor(torch.finfo(torch.float32).max, requires_grad=True)
    (g,) = torch.autograd.grad(f(x, approximate="tanh"), x)
    assert torch.isnan(g)


def test_torch_softplus_threshold_is_a_convention_the_adapter_translates() -> None:
    """torch's softplus(21) is 21.0 in float64 (x above βx > 20), 7.6e−10 from the exact value; the adapter's
    float64 threshold of 36 gives the exact value rounded, and changes nothing in float32."""
    from dlterms.conformance.backends import torch as adapter

    x64 = torch.tensor([21.0], dtype=torch.float64)
    assert float(torch.nn.functional.softplus(x64)) == 21.0
    assert float(adapter.softplus(x64)) == 21.000000000758256  # 21 + log1p(e^−21), mpmath
    x32 = torch.tensor([21.0, 30.0])
    assert torch.equal(adapter.softplus(x32), torch.nn.functional.softplus(x32))


_C, _K = mpmath.sqrt(2 / mpmath.pi), mpmath.mpf("0.044715")
SMOOTH_FUNCTIONS = {  # name: (case options, the function in mpmath)
    "gelu": ({}, lambda t: t * mpmath.ncdf(t)),
    "gelu(tanh)": ({"approximate": "tanh"}, lambda t: t / (1 + mpmath.exp(-2 * _C * (t + _K * t**3)))),
    "elu": ({"alpha": 0.5}, lambda t: t if t > 0 else 0.5 * mpmath.expm1(t)),
    "softplus": ({"beta": 2.0}, lambda t: mpmath.log1p(mpmath.exp(2 * t)) / 2),
    "log_sigmoid": ({}, lambda t: -mpmath.log1p(mpmath.exp(-t))),
}


@pytest.mark.parametrize("name", sorted(SMOOTH_FUNCTIONS))
@pytest.mark.parametrize("x", [-30.0, -5.0, -0.75, -1e-8, 1e-20, 0.5, 3.0, 40.0])
def test_smooth_rectifier_sensitivity_is_the_condition_number_times_the_value(name: str, x: float) -> None:
    """s(x) = κ(x)·|y| = |x·f′(x)|, f′ by mpmath's numerical derivative at 30 digits."""
    from dlterms.conformance.tolerances import sensitivity

    options, f = SMOOTH_FUNCTIONS[name]
    with mpmath.workdps(30):
        t = mpmath.mpf(x)
        y, expected = f(t), abs(t * mpmath.diff(f, t))
    (s,) = sensitivity(name.split("(")[0], {"x": [x], **options}, [np.array([float(y)])])
    assert float(s[0]) == pytest.approx(float(expected), rel=1e-6, abs=1e-300)


def test_torch_vectorised_gelu_overflows_at_the_largest_float32_where_its_kernels_do() -> None:
    """PyTorch's scalar GELU gives gelu(3.4028235e38) = 3.4028235e38; on CPUs where its vectorised kernel overflows
    (AVX512, measured on an AMD EPYC) a tensor of two or more gives ∞: the documented defect of the mirror row."""
    largest = torch.finfo(torch.float32).max
    assert float(torch.nn.functional.gelu(torch.tensor([largest]))[0]) == largest
    if not math.isinf(float(torch.nn.functional.gelu(torch.tensor([0.0, largest]))[1])):
        pytest.skip("this CPU's vectorised GELU kernel gives the value: the defect is another kernel's")
    assert "gelu.mirror_difference_is_x[float32]" in known_defects.DEFAULT_RUN_DEFECTS["torch"]
