"""Math modes: reduced-precision float32 kernels (TF32), and judging a check under one.

A mode is declared once here (:data:`MATH_MODES`: its precision, the ops its kernels compute,
its source); :mod:`.tolerances` reads the mode a block is judged under, and :mod:`.runner`
chooses it per check (:func:`affected`) from ``--math-mode`` and the device's own mode
(:func:`device_math_mode`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .backends import Backend
    from .registry import Invariant

__all__ = ["JUDGING", "MATH_MODES", "MathMode", "affected", "device_math_mode", "judged_under", "judging_mode"]


@dataclass(frozen=True)
class MathMode:
    """A reduced-precision mode of float32 matmul and convolution kernels, and how a check is judged under it.

    The mode rounds the *inputs* of the kernels of ``ops`` to a significand of unit roundoff
    ``unit_roundoff`` and accumulates in float32. Judged under it, a float32 comparison gets
    the tolerances of ``like``, the dtype with the same significand: the absolute
    :data:`~.tolerances.FORWARD` and :data:`~.tolerances.GRADIENT` rows of ``like``; the
    dot-product accumulation term (:data:`~.tolerances.ACCUMULATION`) adds
    ``2·unit_roundoff·Σ|x_i·w_i|``, the rounding of both factors of each product.
    """

    name: str
    label: str
    unit_roundoff: float
    like: str
    ops: tuple[str, ...]
    source: str


MATH_MODES: dict[str, MathMode] = {
    "tf32": MathMode(
        "tf32",
        "TF32",
        2.0**-11,
        "float16",
        ("linear", "conv2d", "rnn"),
        "TF32 keeps float32's 8-bit exponent and float16's 10-bit significand, products accumulated in float32 "
        "(NVIDIA A100 Tensor Core GPU Architecture whitepaper, 2020, 'TF32'); PyTorch's CUDA semantics notes "
        "('TensorFloat-32 (TF32) on Ampere (and later) devices'): matmuls and cuDNN convolutions; float16's "
        "rows of FORWARD and GRADIENT (torch.testing and jax.test_util defaults for a 10-bit significand)",
    ),
}

# How a run judges float32 checks of the ops a math mode affects: "strict" by float32's
# tolerance (the default), or by the named mode's (the names: settings.MATH_MODE_NAMES).
JUDGING: tuple[str, ...] = ("strict", *MATH_MODES)

_MODE: ContextVar[MathMode | None] = ContextVar("dlterms_math_mode", default=None)


@contextmanager
def judged_under(mode: str | None) -> Iterator[None]:
    """Judge the float32 comparisons of the block by ``mode``'s tolerances (None or "strict": float32's)."""
    if mode not in (None, *JUDGING):
        raise ValueError(f"math mode {mode!r}: expected one of {', '.join(JUDGING)}")
    token = _MODE.set(MATH_MODES.get(mode or "strict"))
    try:
        yield
    finally:
        _MODE.reset(token)


def judging_mode() -> MathMode | None:
    """The math mode the current block is judged under (see :func:`judged_under`), or None."""
    return _MODE.get()


def device_math_mode(bk: Backend) -> str | None:
    """The math mode the backend's device computes float32 kernels in ("tf32"), or None.

    Read from the adapter's ``facts()["reduced_precision"]`` (TF32 switches of torch, cuDNN,
    TensorFlow; JAX's default matmul precision on a GPU): every mode they name is TF32.
    """
    try:
        return "tf32" if bk.facts().get("reduced_precision") else None
    except Exception:  # facts() is informative; an adapter whose facts() fails runs strict
        return None


def affected(inv: Invariant, dtype: str, mode: str | None) -> bool:
    """Whether the math ``mode`` changes this check: a float32 check of an op the mode's kernels compute."""
    spec = MATH_MODES.get(mode or "")
    return spec is not None and dtype == "float32" and bool(set(inv.ops) & set(spec.ops))
