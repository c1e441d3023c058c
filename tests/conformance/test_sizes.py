"""The size tier: realistic shapes from the op records, one seed per check, and the bugs only it reaches."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch
from dlterms.conformance import load_backend
from dlterms.conformance.checks import Violation
from dlterms.conformance.registry import INVARIANTS, OPS, compare_with_reference, strategy
from dlterms.conformance.runner import select, time_limit
from dlterms.conformance.settings import SIZES_TIMEOUT_S
from dlterms.conformance.sizes import losses
from dlterms.conformance.tolerances import LONG_SUM, gamma, summation_depth

from dlterms import ops


@pytest.fixture(autouse=True)
def _registered() -> None:
    assert select(["relu"])  # importing the run loop registers every op's invariants


def test_every_op_declares_sizes_in_the_size_tier_only() -> None:
    """Each record's size check exists, belongs to the sizes tier, runs one example, and no default run selects it."""
    for name, record in ops.OPS.items():
        assert record.sizes is not None, name
        inv_id = f"{name}.{ops.AT_SIZES}"
        assert inv_id in record.invariant_ids
        assert inv_id in {inv.id for inv in select(tiers=("sizes",))}
        assert inv_id not in {inv.id for inv in select(tiers=("default",))}


def test_size_checks_get_the_size_tiers_time_limit_in_and_out_of_workers() -> None:
    """A size check runs within SIZES_TIMEOUT_S (600 s) where the run gives 60 s; other checks keep the run's."""
    sized = INVARIANTS["mse_loss.matches_reference_at_sizes"]
    plain = INVARIANTS["mse_loss.matches_reference"]
    assert time_limit(sized, 60.0) == SIZES_TIMEOUT_S == 600.0
    assert time_limit(plain, 60.0) == 60.0
    assert time_limit(sized, None) is None  # no limit stays no limit


def test_size_functions_yield_the_declared_shapes() -> None:
    """softmax reaches every declared length on both axes and 65,537 rows; linear reaches 2,097,153 rows."""
    rng = np.random.default_rng(0)
    shapes = [(np.shape(c["x"]), c["axis"]) for c in strategy(ops.OPS["softmax"].sizes)("float32", rng)]
    for n in ops.REDUCTION_LENGTHS:
        assert ((4, n), -1) in shapes and ((n, 4), 0) in shapes
    assert ((ops.MANY_ROWS, 3), -1) in shapes
    rows = [len(c["x"]) for c in strategy(ops.OPS["linear"].sizes)("float32", np.random.default_rng(0))]
    assert rows[-1] == ops.HUGE_ROWS == 2**21 + 1


def test_long_sums_are_held_to_a_blocked_sums_bound() -> None:
    """Up to 2²⁰ terms any order passes (γ_{n−1}); beyond, γ_{2⌈√n⌉}: 10⁷ terms get 6,326, not 9,999,999."""
    assert summation_depth(5) == 4 and summation_depth(LONG_SUM) == LONG_SUM - 1
    assert summation_depth(10_000_000) == 2 * math.ceil(math.sqrt(10_000_000)) == 6326
    assert summation_depth(LONG_SUM + 1) == 2 * 1025


def _sequential_mse(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    # A float32 loop that adds each square to one running sum (NumPy's cumsum is sequential).
    d = (input - target) ** 2
    if reduction == "none" or not d.numel():
        return d if reduction == "none" else d.sum()
    total = torch.tensor(np.cumsum(d.reshape(-1).numpy(), dtype=d.numpy().dtype)[-1])
    return total / d.numel() if reduction == "mean" else total


def test_a_sequential_float32_sum_fails_where_torchs_passes() -> None:
    """A mean of 2²⁰ + 1 squares: torch's own mean is within γ_{2√n}, a sequential float32 loop is not."""
    bk = load_backend("torch")
    spec = OPS["mse_loss"]
    (case,) = losses("float32", np.random.default_rng(1), loss="mse", lengths=(), long=LONG_SUM + 1)
    compare_with_reference(bk, spec, "float32", case)
    sequential = _BackendWith(bk, mse_loss=_sequential_mse)
    with pytest.raises(Violation, match="mse_loss"):
        compare_with_reference(sequential, spec, "float32", case)
    assert gamma(summation_depth(LONG_SUM + 1), 2.0**-24) < 2e-4  # the bound that the loop's ~10⁻³ breaks


class _BackendWith:
    """A backend with some ops replaced, everything else delegated."""

    def __init__(self, bk: Any, **ops: Any) -> None:
        self._bk, self._ops = bk, ops

    def __getattr__(self, name: str) -> Any:
        return self._ops.get(name) or getattr(self._bk, name)


def _relu_wrong_tail(x: torch.Tensor) -> torch.Tensor:
    # A vectorised loop whose remainder after the last block of 8 skips the max with 0, past 64 elements.
    y = torch.relu(x)
    n = x.shape[-1] if x.dim() else 0
    if n > 64 and n % 8:
        y[..., n - n % 8 :] = x[..., n - n % 8 :]
    return y


def test_sizes_flag_adds_the_tier_and_catches_a_bug_only_it_reaches(conform, broken_backend) -> None:
    """With --sizes the run has relu's size row; a relu wrong only in a long vector's tail fails it and only it."""
    plain = conform("torch", "--terms", "relu", "--dtype", "float32")
    assert plain.code == 0 and all("at_sizes" not in r["invariant"] for r in plain.rows())
    assert plain.report["settings"]["tiers"] == ["default"]
    sized = conform("torch", "--terms", "relu", "--dtype", "float32", "--sizes")
    assert sized.code == 0, sized.out
    assert "relu.matches_reference_at_sizes" in {r["invariant"] for r in sized.rows("pass")}
    assert sized.report["settings"]["tiers"] == ["default", "sizes"]
    bad = broken_backend("torch", relu=_relu_wrong_tail)
    assert conform(bad, "--terms", "relu", "--dtype", "float32").code == 0  # tame shapes never reach the tail
    caught = conform(bad, "--terms", "relu", "--dtype", "float32", "--sizes")
    assert caught.failed_invariants() == {"relu.matches_reference_at_sizes"}
    (row,) = caught.rows("fail")
    assert "at x (" in row["message"] and set(row["counterexample"]) == {"seed"}
