"""The KL divergence under the conformance suite: frameworks pass, broken adapters are caught, Keras' clip is a
documented defect, and the conventions (input space, default reduction, clipping) are measured."""

from __future__ import annotations

import math
from collections.abc import Callable

import mpmath
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from dlterms.conformance import conventions as cv
from dlterms.conformance import known_defects, runner
from dlterms.conformance.backends import load_backend
from dlterms.conformance.sensitivities import sensitivity
from dlterms.conformance.tolerances import accumulation, relative

TERMS = "kl-divergence"


@pytest.mark.parametrize("backend", ["reference", "numpy", "torch"])
def test_kl_divergence_passes(conform, backend: str) -> None:
    """Every check of kl_div passes on the reference, NumPy (forward only) and torch."""
    run = conform(backend, "--terms", TERMS, "--max-examples", "15")
    assert run.code == 0, run.out
    assert not run.rows("fail") and not run.rows("error")


def _kl_sign_flipped(
    input: torch.Tensor, target: torch.Tensor, reduction: str = "mean", log_target: bool = False
) -> torch.Tensor:
    return -F.kl_div(input, target, reduction=reduction, log_target=log_target)  # Σ p·(log q − log p)


def _kl_reads_probabilities(
    input: torch.Tensor, target: torch.Tensor, reduction: str = "mean", log_target: bool = False
) -> torch.Tensor:
    # Keras' convention untranslated: the log-probabilities taken for probabilities (log of a negative: NaN).
    return F.kl_div(torch.log(input), target, reduction=reduction, log_target=log_target)


def _kl_batchmean_as_mean(
    input: torch.Tensor, target: torch.Tensor, reduction: str = "mean", log_target: bool = False
) -> torch.Tensor:
    reduction = "mean" if reduction == "batchmean" else reduction  # divides by every element, not the rows
    return F.kl_div(input, target, reduction=reduction, log_target=log_target)


def _kl_ignores_log_target(
    input: torch.Tensor, target: torch.Tensor, reduction: str = "mean", log_target: bool = False
) -> torch.Tensor:
    return F.kl_div(input, target, reduction=reduction)  # a log target read as a probability


@pytest.mark.parametrize(
    ("impl", "expected"),
    [
        (_kl_sign_flipped, "kl_div.nonnegative_for_distributions"),
        (_kl_reads_probabilities, "kl_div.zero_at_its_target"),
        (_kl_batchmean_as_mean, "kl_div.batchmean_is_sum_over_batch"),
        (_kl_ignores_log_target, "kl_div.log_target_is_the_same_divergence"),
    ],
)
@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides")
def test_broken_adapter_exits_1_naming_the_invariant(
    conform, broken_backend, impl: Callable[..., torch.Tensor], expected: str
) -> None:
    """A deliberately broken kl_div makes `dlterms conform` exit 1, naming the violated invariant."""
    run = conform(broken_backend("torch", kl_div=impl), "--terms", TERMS, "--max-examples", "25")
    assert run.code == 1
    assert expected in run.failed_invariants()
    row = next(r for r in run.rows("fail") if r["invariant"] == expected)
    assert row["counterexample"] is not None


def test_keras_kl_divergence_clips_a_zero_prediction() -> None:
    """Keras' kl_divergence at q = 0, p = ½ is ½·log(½/1e−7) = 7.7125, where KL is +∞; a negative p gives a
    number: the documented defect kl_div.special_values (Keras clips both to [1e−7, 1])."""
    pytest.importorskip("tensorflow")
    import keras

    got = float(keras.losses.kl_divergence([[0.5]], [[0.0]])[0])
    assert got == pytest.approx(0.5 * math.log(0.5 / 1e-7), rel=1e-6)  # 7.712474 (float32)
    assert math.isfinite(float(keras.losses.kl_divergence([[-0.5]], [[0.5]])[0]))
    assert "kl_div.special_values[float64]" in known_defects.TENSORFLOW_DEFINITION_DEFECTS


def test_kl_conventions_are_measured() -> None:
    """Input space, default reduction and clipping of each framework's KL divergence, read at fixed inputs."""
    expected = {
        "reference": ("log-probabilities", "mean over elements", "none"),
        "torch": ("log-probabilities", "mean over elements", "none"),
        "jax": ("probabilities", "none (each element)", "none"),  # jax.scipy.special.rel_entr
        "tensorflow": ("probabilities", "batchmean (sum / rows)", 1e-07),  # keras.losses.KLDivergence
    }
    for fw, (space, reduction, clip) in expected.items():
        if fw != "reference":
            pytest.importorskip(fw)
        got = {r["id"]: r for r in cv.measure(fw)}
        assert got["kl_div.input_space"]["value"] == space, fw
        assert got["kl_div.default_reduction"]["value"] == reduction, fw
        assert got["kl_div.clipping"]["value"] == clip, fw


def test_half_precision_rows_of_torch_pass() -> None:
    """torch passes the float16 and bfloat16 rows of kl_div (its sums accumulated in float32)."""
    rows = list(runner.run(load_backend("torch"), terms=TERMS.split(","), dtypes=["float16", "bfloat16"]))
    assert rows and all(r.status == "pass" for r in rows), {r.key: r.message for r in rows if r.status != "pass"}


def test_reading_q_as_a_probability_is_why_the_bound_has_its_one() -> None:
    """Keras' float32 KL at p = 0.999, log q = log 0.999 − 10⁻⁶ (q = e^input rounded once) is 6·10⁻⁸ off the
    50-digit value: within the bound with the sensitivity's p·1, 30 times outside it without."""
    pytest.importorskip("tensorflow")
    from dlterms.conformance.backends import tensorflow as tfb

    x, p = float(np.float32(math.log(0.999) + 1e-6)), float(np.float32(0.999))
    case = {"input": [x], "target": [p], "reduction": "none", "log_target": False}
    got = tfb.to_numpy(tfb.kl_div(tfb.asarray([x], "float32"), tfb.asarray([p], "float32"), reduction="none"))
    mpmath.mp.dps = 40
    exact = np.array([float(mpmath.mpf(p) * (mpmath.log(mpmath.mpf(p)) - mpmath.mpf(x)))])
    (s,) = sensitivity("kl_div", case, [exact])
    a = accumulation("kl_div", case, [exact], "float32")
    tol = relative("float32", "kl_div")
    error = abs(float(got[0]) - exact[0])
    assert error <= tol.allowed(exact, s, a)[0]
    assert error > 10 * tol.allowed(exact, s - p, a)[0]  # p·(|log p| + |log q|) alone: 1.9e−9
