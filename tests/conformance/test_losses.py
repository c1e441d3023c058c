"""The loss invariants: correct frameworks pass, deliberately broken ones are caught by name."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from dlterms.conformance import conventions as cv
from dlterms.conformance import known_defects

LOSS_TERMS = "cost-function,mean-squared-error,cross-entropy,multinomial-distribution"


@pytest.mark.parametrize("backend", ["reference", "numpy", "torch"])
def test_correct_backends_pass_every_loss_invariant(conform, backend: str) -> None:
    """A correct framework exits 0 with rows for both loss terms and no failure."""
    run = conform(backend, "--terms", LOSS_TERMS, "--max-examples", "15")
    allowed = known_defects.DEFAULT_RUN_DEFECTS.get(backend, frozenset())
    failed = {f"{r['invariant']}[{r['dtype']}]" for r in run.rows() if r["status"] in ("fail", "error")}
    assert failed <= allowed, run.out
    assert run.code == (1 if failed else 0), run.out
    assert {r["term"] for r in run.rows()} == {"mean-squared-error", "cross-entropy"}
    passed = {r["invariant"] for r in run.rows("pass")}
    assert {"cross_entropy.finite_for_large_logits", "binary_cross_entropy.special_values"} <= passed


def test_numpy_reports_loss_gradients_as_unsupported(conform) -> None:
    """NumPy has no autodiff: gradient invariants of the losses are unsupported, the forward ones pass."""
    run = conform("numpy", "--terms", "cross-entropy", "--max-examples", "5")
    unsupported = {r["invariant"] for r in run.rows("unsupported")}
    assert {"cross_entropy.grad_is_softmax_minus_onehot", "binary_cross_entropy.vjp_matches_reference"} <= unsupported
    assert run.code == 0


# --- deliberately broken adapters -------------------------------------------------------------


def _cross_entropy_without_max_shift(logits: torch.Tensor, target: torch.Tensor, reduction: str = "mean"):
    per = torch.log(torch.exp(logits).sum(dim=1)) - logits.gather(1, target[:, None])[:, 0]
    return {"none": per, "sum": per.sum(), "mean": per.mean()}[reduction]


def _cross_entropy_reading_probabilities(logits: torch.Tensor, target: torch.Tensor, reduction: str = "mean"):
    # Treats the logits as if they were already probabilities (the softmax is forgotten).
    return F.nll_loss(torch.log(logits), target, reduction=reduction)


def _mse_sum_for_mean(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean"):
    return F.mse_loss(input, target, reduction="sum" if reduction == "mean" else reduction)


def _bce_without_clamp(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean"):
    per = -(target * torch.log(input) + (1 - target) * torch.log1p(-input))
    return {"none": per, "sum": per.sum(), "mean": per.mean()}[reduction]


def _bce_negated(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean"):
    return -F.binary_cross_entropy(input, target, reduction=reduction)


class _CrossEntropyGradNotDividedByN(torch.autograd.Function):
    @staticmethod
    def forward(ctx, logits, target):
        ctx.save_for_backward(logits, target)
        return F.cross_entropy(logits, target)

    @staticmethod
    def backward(ctx, g):
        logits, target = ctx.saved_tensors
        onehot = F.one_hot(target, logits.shape[1]).to(logits.dtype)
        return g * (torch.softmax(logits, dim=1) - onehot), None  # forgets the 1/N of the mean


def _cross_entropy_grad_not_divided(logits: torch.Tensor, target: torch.Tensor, reduction: str = "mean"):
    if reduction != "mean":
        return F.cross_entropy(logits, target, reduction=reduction)
    return _CrossEntropyGradNotDividedByN.apply(logits, target)


def _cross_entropy_per_batch(logits: torch.Tensor, target: torch.Tensor, reduction: str = "mean"):
    # "none" normalised by the batch's log-sum-exp of the first row: examples are not independent.
    per = F.cross_entropy(logits, target, reduction="none")
    per = per + (per[0] - per).detach() * 0.5 if len(per) > 1 else per
    return {"none": per, "sum": per.sum(), "mean": per.mean()}[reduction]


@pytest.mark.parametrize(
    ("op", "impl", "terms", "expected"),
    [
        ("cross_entropy", _cross_entropy_without_max_shift, "cross-entropy", "cross_entropy.finite_for_large_logits"),
        (
            "cross_entropy",
            _cross_entropy_reading_probabilities,
            "cross-entropy",
            "cross_entropy.equals_negative_log_softmax_at_target",
        ),
        ("cross_entropy", _cross_entropy_reading_probabilities, "cross-entropy", "cross_entropy.matches_reference"),
        (
            "cross_entropy",
            _cross_entropy_grad_not_divided,
            "cross-entropy",
            "cross_entropy.grad_is_softmax_minus_onehot",
        ),
        ("cross_entropy", _cross_entropy_per_batch, "cross-entropy", "cross_entropy.none_gives_per_example_values"),
        ("mse_loss", _mse_sum_for_mean, "mean-squared-error", "mse_loss.sum_is_n_times_mean"),
        ("mse_loss", _mse_sum_for_mean, "mean-squared-error", "mse_loss.matches_reference"),
        ("binary_cross_entropy", _bce_negated, "cross-entropy", "binary_cross_entropy.nonnegative"),
    ],
)
def test_broken_adapter_fails_naming_the_invariant(conform, broken_backend, op, impl, terms, expected) -> None:
    """A framework with one deliberately wrong loss exits 1, and the report names the broken invariant."""
    spec = broken_backend("torch", **{op: impl})
    run = conform(spec, "--terms", terms, "--dtype", "float64", "--max-examples", "25")
    assert run.code == 1, run.out
    assert expected in run.failed_invariants(), sorted(run.failed_invariants())
    row = next(r for r in run.rows() if r["invariant"] == expected)
    assert row["counterexample"] is not None
    assert expected in run.out


def _bce_unclamped(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean"):
    # The definition without PyTorch's clamp: 0·log 0 = 0 (xlogy, xlog1py), +inf when confidently wrong.
    if not bool(((input >= 0) & (input <= 1)).all()):
        raise ValueError("binary_cross_entropy: input must hold probabilities in [0, 1]")
    per = -(torch.xlogy(target, input) + torch.special.xlog1py(1 - target, -input))
    return {"none": per, "sum": per.sum(), "mean": per.mean()}[reduction]


def test_bce_without_the_clamp_is_a_fact_not_a_failure(conform, broken_backend) -> None:
    """+inf for a confidently wrong prediction (no −100 clamp) passes every check and is reported as a fact."""
    spec = broken_backend("torch", binary_cross_entropy=_bce_unclamped)
    run = conform(spec, "--terms", "cross-entropy", "--max-examples", "25")
    failed = {f"{r['invariant']}[{r['dtype']}]" for r in run.rows() if r["status"] in ("fail", "error")}
    assert failed <= known_defects.DEFAULT_RUN_DEFECTS["torch"], run.out  # only PyTorch's own BCE-with-logits
    facts = {r["id"]: r for r in run.report["special_values"]}
    clamped = facts["binary_cross_entropy.clamped_when_confidently_wrong"]
    assert clamped["kind"] == "choice" and clamped["matches_canonical"] is False and clamped["value"] == ["inf", "inf"]


def _bce_finite_for_nan(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean"):
    return F.binary_cross_entropy(torch.nan_to_num(input, nan=0.5, posinf=1.0), target, reduction=reduction)


def test_bce_giving_a_number_for_a_nan_probability_fails(conform, broken_backend) -> None:
    """A NaN probability must be refused or give NaN: a finite loss fails binary_cross_entropy.special_values."""
    spec = broken_backend("torch", binary_cross_entropy=_bce_finite_for_nan)
    run = conform(spec, "--terms", "cross-entropy", "--dtype", "float64", "--max-examples", "5")
    assert run.code == 1, run.out
    row = next(r for r in run.rows("fail") if r["invariant"] == "binary_cross_entropy.special_values")
    assert row["details"]["probe"] == "binary_cross_entropy.refuses_nan"
    assert row["details"]["expected"] == "an error or NaN" and row["details"]["got"] == 0.6931471805599453


def test_bce_with_nan_for_a_certain_right_prediction_fails(conform, broken_backend) -> None:
    """0·log 0 computed as NaN (tinygrad's BCE) fails binary_cross_entropy.special_values at p = y ∈ {0, 1}."""
    spec = broken_backend("torch", binary_cross_entropy=_bce_without_clamp)
    run = conform(spec, "--terms", "cross-entropy", "--dtype", "float64", "--max-examples", "5")
    assert run.code == 1, run.out
    row = next(r for r in run.rows("fail") if r["invariant"] == "binary_cross_entropy.special_values")
    assert row["details"]["probe"] == "binary_cross_entropy.zero_when_certain_and_right"
    assert row["details"]["got"] == ["nan", "nan"] and row["details"]["expected"] == [0.0, 0.0]


# --- classification losses beyond the seed: nll_loss, BCE with logits, label smoothing ----------------------


def _reduced(per: torch.Tensor, reduction: str) -> torch.Tensor:
    return {"none": per, "sum": per.sum(), "mean": per.mean()}[reduction]


def _nll_ignoring_weight(input, target, weight=None, reduction="mean"):  # type: ignore[no-untyped-def]
    return F.nll_loss(input, target, reduction=reduction)


def _nll_summing_every_class(input, target, weight=None, reduction="mean"):  # type: ignore[no-untyped-def]
    # −Σ_c input[n, c]: every class's log-probability, not the target's.
    return _reduced(-input.sum(dim=1), reduction)


def _nll_weighted_mean_over_n(input, target, weight=None, reduction="mean"):  # type: ignore[no-untyped-def]
    # Keras' sample-weight mean: Σ w·ℓ / N instead of Σ w·ℓ / Σ w.
    if reduction != "mean":
        return F.nll_loss(input, target, weight=weight, reduction=reduction)
    return F.nll_loss(input, target, weight=weight, reduction="sum") / input.shape[0]


def _bce_logits_through_sigmoid(input, target, pos_weight=None, reduction="mean"):  # type: ignore[no-untyped-def]
    # −(p·y·log σ(x) + (1 − y)·log(1 − σ(x))): 1 − σ(x) rounds to 0 for x ≳ 17 in float32, 37 in float64.
    s = torch.sigmoid(input)
    p = 1.0 if pos_weight is None else pos_weight
    return _reduced(-(p * target * torch.log(s) + (1 - target) * torch.log(1 - s)), reduction)


def _bce_logits_weighting_both_terms(input, target, pos_weight=None, reduction="mean"):  # type: ignore[no-untyped-def]
    # pos_weight multiplies the whole loss, the negative term too.
    per = F.binary_cross_entropy_with_logits(input, target, reduction="none")
    return _reduced(per if pos_weight is None else pos_weight * per, reduction)


def _bce_logits_doubling_positives(input, target, pos_weight=None, reduction="mean"):  # type: ignore[no-untyped-def]
    # 2·y·log(1 + e^−x) + (1 − y)·log(1 + e^x): the classes no longer mirror each other.
    p = 2.0 if pos_weight is None else 2.0 * pos_weight
    return F.binary_cross_entropy_with_logits(input, target, pos_weight=p, reduction=reduction)


def _smoothing_always_a_tenth(logits, target, label_smoothing, reduction="mean"):  # type: ignore[no-untyped-def]
    return F.cross_entropy(logits, target, reduction=reduction, label_smoothing=0.1)


def _smoothing_over_the_other_classes(logits, target, label_smoothing, reduction="mean"):  # type: ignore[no-untyped-def]
    # (1 − ε) on the target and ε/(C − 1) on each other class: another smoothing, with its minimum elsewhere.
    c = logits.shape[1]
    q = torch.full_like(logits, label_smoothing / max(c - 1, 1))
    q[torch.arange(len(target)), target] = 1 - label_smoothing if c > 1 else 1.0
    return _reduced(-(q * torch.log_softmax(logits, dim=1)).sum(dim=1), reduction)


@pytest.mark.parametrize(
    ("op", "impl", "terms", "expected"),
    [
        ("nll_loss", _nll_ignoring_weight, "negative-log-likelihood", "nll_loss.picks_the_target"),
        ("nll_loss", _nll_summing_every_class, "negative-log-likelihood", "nll_loss.of_log_softmax_is_cross_entropy"),
        (
            "nll_loss",
            _nll_weighted_mean_over_n,
            "negative-log-likelihood",
            "nll_loss.weighted_mean_divides_by_total_weight",
        ),
        (
            "binary_cross_entropy_with_logits",
            _bce_logits_through_sigmoid,
            "cross-entropy",
            "binary_cross_entropy_with_logits.finite_for_every_finite_logit",
        ),
        (
            "binary_cross_entropy_with_logits",
            _bce_logits_doubling_positives,
            "cross-entropy",
            "binary_cross_entropy_with_logits.mirror_symmetric",
        ),
        (
            "binary_cross_entropy_with_logits",
            _bce_logits_weighting_both_terms,
            "cross-entropy",
            "binary_cross_entropy_with_logits.pos_weight_scales_positive_targets",
        ),
        (
            "smoothed_cross_entropy",
            _smoothing_always_a_tenth,
            "cross-entropy",
            "smoothed_cross_entropy.zero_smoothing_is_cross_entropy",
        ),
        (
            "smoothed_cross_entropy",
            _smoothing_over_the_other_classes,
            "cross-entropy",
            "smoothed_cross_entropy.mixes_target_and_uniform",
        ),
        (
            "smoothed_cross_entropy",
            _smoothing_over_the_other_classes,
            "cross-entropy",
            "smoothed_cross_entropy.minimum_at_smoothed_distribution",
        ),
    ],
)
def test_broken_classification_loss_fails_naming_the_invariant(
    conform, broken_backend, op, impl, terms, expected
) -> None:
    """A framework with one deliberately wrong classification loss fails the invariant written to catch it."""
    spec = broken_backend("torch", **{op: impl})
    run = conform(spec, "--terms", terms, "--dtype", "float64", "--max-examples", "25")
    assert run.code == 1, run.out
    assert expected in run.failed_invariants(), sorted(run.failed_invariants())


def test_bce_with_logits_naive_form_fails_mirror_symmetry_in_float32(conform, broken_backend) -> None:
    """log(1 − σ(x)) is −∞ past x ≈ 17 in float32: the naive form is not symmetric under (x, y) → (−x, 1 − y)."""
    spec = broken_backend("torch", binary_cross_entropy_with_logits=_bce_logits_through_sigmoid)
    run = conform(spec, "--terms", "cross-entropy", "--dtype", "float32", "--max-examples", "25")
    assert "binary_cross_entropy_with_logits.mirror_symmetric" in run.failed_invariants()


def test_torch_bce_with_logits_loses_the_loss_of_a_confident_right_negative() -> None:
    """PyTorch's BCE with logits at x = −20, y = 0 is 0 in float32, where log(1 + e^−20) = 2.06e−9 (a known defect)."""
    x, y = torch.tensor([-20.0]), torch.tensor([0.0])
    assert F.binary_cross_entropy_with_logits(x, y, reduction="none").item() == 0.0
    assert F.binary_cross_entropy_with_logits(-x, 1 - y, reduction="none").item() == pytest.approx(2.0611537e-9)
    assert "binary_cross_entropy_with_logits.matches_reference[float32]" in known_defects.TORCH_DEFECTS


def test_tensorflow_weighted_bce_with_logits_gradient_at_zero_is_off_by_a_half() -> None:
    """tf.nn.weighted_cross_entropy_with_logits' gradient at x = 0, z = 0 is 1 (a known defect); σ(0) − 0 = ½."""
    tf = pytest.importorskip("tensorflow")
    for dtype in (tf.float32, tf.float64):
        x, z = tf.constant([0.0], dtype), tf.constant([0.0], dtype)
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(x)
            weighted = tf.nn.weighted_cross_entropy_with_logits(labels=z, logits=x, pos_weight=tf.constant(1.0, dtype))
            plain = tf.nn.sigmoid_cross_entropy_with_logits(labels=z, logits=x)
        assert tape.gradient(weighted, x).numpy().tolist() == [1.0]
        assert tape.gradient(plain, x).numpy().tolist() == [0.5]
    assert "binary_cross_entropy_with_logits.vjp_matches_reference[float64]" in known_defects.TENSORFLOW_DRAWN_DEFECTS


def test_tensorflow_weighted_bce_with_logits_cancels_for_a_confident_right_negative() -> None:
    """At x = −4, z = 0 in float32 the weighted form is 4e−6 off relative (the plain form's log1p is not)."""
    tf = pytest.importorskip("tensorflow")
    x, z = tf.constant([-4.0]), tf.constant([0.0])
    exact = math.log1p(math.exp(-4.0))
    weighted = float(tf.nn.weighted_cross_entropy_with_logits(labels=z, logits=x, pos_weight=1.0).numpy()[0])
    plain = float(tf.nn.sigmoid_cross_entropy_with_logits(labels=z, logits=x).numpy()[0])
    assert abs(weighted - exact) / exact > 1e-6 > abs(plain - exact) / exact


def test_label_smoothing_and_pos_weight_conventions_are_measured() -> None:
    """ε/C to every class in all three frameworks; ε/2 binary smoothing only in Keras; pos_weight in PyTorch and TF."""
    every = "(1 − ε)·onehot + ε/C: ε/C to every class, the target included"
    positive, missing = "multiplies the positive term (y·log σ(x)) only", "none (no such argument: TypeError)"
    binary = {
        "reference": missing,
        "torch": missing,
        "jax": missing,
        "tensorflow": "y·(1 − ε) + ε/2: ε/2 to each of the two classes",
    }
    weights = {"reference": positive, "torch": positive, "jax": missing, "tensorflow": positive}
    for fw in ("reference", "torch", "jax", "tensorflow"):
        if fw != "reference":
            pytest.importorskip(fw)
        got = {r["id"]: r["value"] for r in cv.measure(fw)}
        assert got["cross_entropy.label_smoothing_formula"] == every, fw
        assert got["binary_cross_entropy.label_smoothing_formula"] == binary[fw], fw
        assert got["binary_cross_entropy_with_logits.pos_weight"] == weights[fw], fw
