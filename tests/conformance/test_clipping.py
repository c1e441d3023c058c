"""Gradient clipping: the adapters pass, deliberately broken ones are caught (each hand-written invariant by one),
PyTorch's 1e-6 and TensorFlow's edges shown directly, the eps convention measured."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from dlterms.conformance import conventions as cv
from dlterms.conformance import known_defects

from dlterms import reference as ref


def _per_tensor(grads, max_norm):  # type: ignore[no-untyped-def]
    # each tensor clipped by its own norm: the global norm can reach √k·max_norm and the direction changes
    out = []
    for g in grads:
        n = torch.linalg.vector_norm(g)
        out.append(g * torch.clamp(max_norm / n, max=1.0) if n > 0 else g)
    return torch.stack(out)


def _by_value(grads, max_norm):  # type: ignore[no-untyped-def]
    return torch.clamp(grads, -max_norm, max_norm)  # clipping each element: not a scaling


def _always_scales(grads, max_norm):  # type: ignore[no-untyped-def]
    n = torch.linalg.vector_norm(grads)
    return grads * (max_norm / n) if n > 0 else grads  # scales a small norm up to max_norm too


def _torch_eps(grads, max_norm):  # type: ignore[no-untyped-def]
    # torch.nn.utils.clip_grad_norm_ as it is: max_norm/(N + 1e-6), untranslated
    params = [torch.zeros_like(g) for g in grads]
    for p, g in zip(params, grads, strict=True):
        p.grad = g.clone()
    torch.nn.utils.clip_grad_norm_(params, max_norm)
    return torch.stack([p.grad for p in params])


def _unscaled_norm(grads, max_norm):  # type: ignore[no-untyped-def]
    # √(Σ g²) summed unscaled, as the frameworks do: ∞ once the squares overflow, so the factor is 0
    n = np.linalg.norm(grads.ravel())
    return grads * (max_norm / n) if n > max_norm or np.isnan(n) else grads


def test_an_unscaled_global_norm_is_caught_on_exploding_gradients(conform, broken_backend) -> None:
    """NumPy's clip_grad_norm with the norm np.linalg.norm sums (unscaled squares) zeroes exploding gradients:
    caught in float32 and float64, while the same adapter passes every other invariant of the term."""
    run = conform(broken_backend("numpy", clip_grad_norm=_unscaled_norm), "--terms", "gradient-clipping")
    assert run.code == 1
    exploding = "clip_grad_norm.exploding_gradients_are_clipped_not_zeroed"
    assert set(run.failed_invariants()) == {exploding}


@pytest.mark.parametrize(
    ("impl", "expected"),
    [
        (_per_tensor, "clip_grad_norm.one_factor_for_every_tensor"),
        (_per_tensor, "clip_grad_norm.clipped_norm_is_min_of_norm_and_max_norm"),
        (_by_value, "clip_grad_norm.one_factor_for_every_tensor"),
        (_always_scales, "clip_grad_norm.unchanged_below_max_norm"),
        (_torch_eps, "clip_grad_norm.clipped_norm_is_min_of_norm_and_max_norm"),
    ],
)
def test_broken_clipping_exits_1_naming_the_invariant(conform, broken_backend, impl, expected: str) -> None:
    """A deliberately broken clip_grad_norm makes `dlterms conform` exit 1, naming the violated invariant."""
    run = conform(
        broken_backend("torch", clip_grad_norm=impl),
        "--terms",
        "gradient-clipping",
        "--dtype",
        "float64",
        "--max-examples",
        "10",
    )
    assert run.code == 1
    assert expected in run.failed_invariants()


@pytest.mark.parametrize("backend", ["reference", "numpy"])
def test_clipping_passes_on_the_reference_and_numpy(conform, backend: str) -> None:
    """clip_grad_norm passes every invariant it can run on the reference and NumPy."""
    run = conform(backend, "--terms", "gradient-clipping", "--max-examples", "10")
    assert run.code == 0, run.failed_invariants()


def test_torch_fails_only_the_documented_exploding_gradients(conform) -> None:
    """PyTorch passes every clipping invariant but its documented defect, the exploding gradients it zeroes (its
    gradient rows are unsupported: clip_grad_norm_ runs under no_grad). [3e19, 4e19] in float32 (N = 5e19, finite)
    clipped to 1 gives [0, 0]: get_total_norm is ∞."""
    documented = {k.split("[")[0] for k in known_defects.TORCH_DEFECTS if k.startswith("clip_grad_norm.")}
    assert documented == {"clip_grad_norm.exploding_gradients_are_clipped_not_zeroed"}
    run = conform("torch", "--terms", "gradient-clipping", "--max-examples", "10")
    assert run.failed_invariants() == documented
    p = torch.zeros(2)
    p.grad = torch.tensor([3e19, 4e19])
    assert torch.isinf(torch.nn.utils.clip_grad_norm_([p], 1.0))
    assert p.grad.tolist() == [0.0, 0.0]
    assert ref.clip_grad_norm([[3e19, 4e19]], 1.0)[0] == pytest.approx([0.6, 0.8], rel=1e-7)


def test_torch_divides_by_the_norm_plus_1e_minus_6() -> None:
    """clip_grad_norm_ on [3, 4] (N = 5) with max_norm 1 gives 3/(5 + 1e-6), not 3/5: its documented eps."""
    p = torch.zeros(2, dtype=torch.float64)
    p.grad = torch.tensor([3.0, 4.0], dtype=torch.float64)
    torch.nn.utils.clip_grad_norm_([p], 1.0)
    assert p.grad[0].item() == pytest.approx(3.0 / (5.0 + 1e-6), rel=1e-15)
    assert ref.clip_grad_norm([[3.0, 4.0]], 1.0)[0][0] == pytest.approx(0.6, rel=1e-15)


def test_tensorflow_zero_norm_with_zero_max_norm_is_nan() -> None:
    """tf.clip_by_global_norm computes t·c/max(N, c): all-zero gradients with clip_norm 0 give 0/0 = NaN
    where nothing should change (the reference returns the zeros)."""
    tf = pytest.importorskip("tensorflow")
    clipped, _ = tf.clip_by_global_norm([tf.zeros(2, dtype=tf.float64)], 0.0)
    assert np.isnan(clipped[0].numpy()).all()
    assert ref.clip_grad_norm([[0.0, 0.0]], 0.0) == [[0.0, 0.0]]


def test_tensorflow_global_norm_of_tiny_gradients_underflows_to_zero() -> None:
    """tf.clip_by_global_norm sums unscaled squares: a global norm of 1e-200 (float64) is 0, so it is not clipped
    to 1e-202; the reference's norm (math.hypot) is 1e-200."""
    tf = pytest.importorskip("tensorflow")
    clipped, norm = tf.clip_by_global_norm([tf.constant([1e-200], dtype=tf.float64)], 1e-202)
    assert norm.numpy() == 0.0 and clipped[0].numpy()[0] == pytest.approx(1e-200, rel=1e-15)  # t·c/c
    assert ref.clip_grad_norm([[1e-200]], 1e-202)[0][0] == pytest.approx(1e-202, rel=1e-15)


def _eps_rows() -> dict[str, object]:
    return {
        f: {r["id"]: r["value"] for r in cv.measure(f) if r["id"] == "clip_grad_norm.eps"}
        for f in ("reference", "torch")
    }


def test_the_clipping_eps_convention() -> None:
    """Measured from [3, 4] clipped to 1: the reference divides by N exactly (0), PyTorch by N + 1e-6."""
    rows = _eps_rows()
    assert rows["reference"] == {"clip_grad_norm.eps": 0.0}
    assert rows["torch"] == {"clip_grad_norm.eps": 1e-6}


def test_optax_zeroes_exploding_float32_gradients() -> None:
    """optax.clip_by_global_norm(1) on [3e19, 4e19] (float32, N = 5e19 finite) gives [0, 0]: its global norm is ∞."""
    jnp = pytest.importorskip("jax.numpy")
    optax = pytest.importorskip("optax")
    g = (jnp.asarray([3e19, 4e19], dtype=jnp.float32),)
    assert np.isinf(float(optax.global_norm(g)))
    clip = optax.clip_by_global_norm(1.0)
    (clipped,), _ = clip.update(g, clip.init(g))
    assert np.asarray(clipped).tolist() == [0.0, 0.0]


def test_tensorflow_makes_exploding_float32_gradients_nan() -> None:
    """tf.clip_by_global_norm on [3e19, 4e19] (float32) with clip_norm 1: the norm is ∞ and t·c/max(∞, c) NaN."""
    tf = pytest.importorskip("tensorflow")
    clipped, norm = tf.clip_by_global_norm([tf.constant([3e19, 4e19], dtype=tf.float32)], 1.0)
    assert np.isinf(norm.numpy()) and np.isnan(clipped[0].numpy()).all()
