"""Finding, checking and binding a backend (see the contract in DESIGN.md).

A backend is any object (a module is fine) with ``name``, ``version``,
``dtypes``, ``asarray(data, dtype)``, ``to_numpy(x)``, optionally
``vjp(fn, primals, cotangent)``, and any subset of :data:`CANONICAL_OPS` with
the signatures of :mod:`dlterms.reference`. ``asarray`` is also called with
``dtype="int64"`` for tensors of class indices.

:func:`load_backend` finds one by

1. a built-in name (``reference``, ``numpy``, ``torch``, ``jax``, ``tensorflow``);
2. an installed entry point in the group ``dlterms.backends``;
3. ``package.module:attribute`` (or ``package.module`` for a module backend);

and checks the required attributes up front. An op the backend lacks is not
an error here: the runner reports it ``unsupported``.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

__all__ = [
    "BUILTIN",
    "CANONICAL_OPS",
    "DTYPES",
    "Backend",
    "BackendError",
    "OpCall",
    "load_backend",
]

DTYPES = ("float16", "bfloat16", "float32", "float64")

# The ops of the backend contract, in the seed's order. An adapter implements
# any subset; coverage = implemented / len(CANONICAL_OPS).
CANONICAL_OPS = (
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "softmax",
    "log_softmax",
    "linear",
    "mse_loss",
    "binary_cross_entropy",
    "cross_entropy",
    "sgd_step",
    "conv2d",
    "max_pool2d",
    "avg_pool2d",
    "rnn",
)

BUILTIN = {
    "reference": "dlterms.conformance.backends.reference",
    "numpy": "dlterms.conformance.backends.numpy",
    "torch": "dlterms.conformance.backends.torch",
    "jax": "dlterms.conformance.backends.jax",
    "tensorflow": "dlterms.conformance.backends.tensorflow",
}

ENTRY_POINT_GROUP = "dlterms.backends"
ENV_VAR = "DLTERMS_BACKEND"


class BackendError(Exception):
    """The backend cannot be found, imported, or does not meet the contract (a usage error)."""


@dataclass(frozen=True)
class OpCall:
    """A call of one canonical op with its non-differentiated arguments bound.

    ``OpCall("softmax", {"axis": 0}, ("x",))(x)`` calls ``backend.softmax(x=x, axis=0)``.
    Backends with their own autodiff treat it as any callable; the reference
    backend reads ``op`` to find the hand-written VJP.
    """

    backend: Any
    op: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    diff_args: tuple[str, ...] = ("x",)

    def __call__(self, *primals: Any) -> Any:
        return getattr(self.backend, self.op)(**self.kwargs, **dict(zip(self.diff_args, primals, strict=True)))


@dataclass
class Backend:
    """A backend checked against the contract, with the facts the report records."""

    impl: Any
    name: str
    version: str
    dtypes: tuple[str, ...]
    found_by: str

    def has(self, op: str) -> bool:
        return callable(getattr(self.impl, op, None))

    @property
    def has_vjp(self) -> bool:
        return self.has("vjp")

    @property
    def device(self) -> str:
        """Where the backend computes (its ``device`` attribute; ``cpu`` when it has none)."""
        return str(getattr(self.impl, "device", "cpu"))

    def supported_ops(self) -> tuple[str, ...]:
        return tuple(op for op in CANONICAL_OPS if self.has(op))

    def coverage(self) -> float:
        return len(self.supported_ops()) / len(CANONICAL_OPS)

    def asarray(self, data: Any, dtype: str = "float64") -> Any:
        return self.impl.asarray(data, dtype)

    def to_numpy(self, x: Any) -> Any:
        return self.impl.to_numpy(x)

    def __getattr__(self, op: str) -> Callable[..., Any]:
        # Ops are reached as attributes: backend.softmax(x, axis=0).
        return getattr(self.impl, op)

    def facts(self) -> dict[str, Any]:
        extra = getattr(self.impl, "facts", None)
        return {
            "name": self.name,
            "version": self.version,
            "dtypes": list(self.dtypes),
            "found_by": self.found_by,
            "supported_ops": list(self.supported_ops()),
            "coverage": round(self.coverage(), 4),
            **(extra() if callable(extra) else {}),
        }


def _import(target: str, how: str) -> Any:
    module_name, _, attr = target.partition(":")
    try:
        obj = importlib.import_module(module_name)
    except ImportError as exc:
        raise BackendError(f"backend {how}: cannot import {module_name!r}: {exc}") from exc
    for part in filter(None, attr.split(".")):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise BackendError(f"backend {how}: module {module_name!r} has no attribute {attr!r}") from None
    return obj


def _resolve(spec: str) -> tuple[Any, str]:
    if spec in BUILTIN:
        return _import(BUILTIN[spec], f"{spec!r} (built-in)"), "built-in"
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == spec:
            try:
                return ep.load(), f"entry point {ep.value}"
            except Exception as exc:  # a broken plug-in is a usage error, not a crash
                raise BackendError(f"backend {spec!r}: entry point {ep.value!r} failed to load: {exc}") from exc
    if ":" in spec or "." in spec:
        return _import(spec, repr(spec)), "import path"
    installed = sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))
    raise BackendError(
        f"unknown backend {spec!r}; expected a built-in name ({', '.join(BUILTIN)}), an entry point "
        f"in the group {ENTRY_POINT_GROUP!r} (installed: {', '.join(installed) or 'none'}), or "
        f"'package.module:attribute'"
    )


def load_backend(spec: str | None = None) -> Backend:
    """Find, import and check a backend; ``spec=None`` reads ``$DLTERMS_BACKEND``."""
    spec = spec or os.environ.get(ENV_VAR)
    if not spec:
        raise BackendError(f"no backend given; pass --backend NAME or set {ENV_VAR}")
    impl, found_by = _resolve(spec)
    missing = [a for a in ("name", "version", "dtypes") if not hasattr(impl, a)]
    missing += [a for a in ("asarray", "to_numpy") if not callable(getattr(impl, a, None))]
    if missing:
        raise BackendError(
            f"backend {spec!r} does not meet the contract: missing {', '.join(missing)} "
            f"(every backend needs name, version, dtypes, asarray(data, dtype) and to_numpy(x))"
        )
    dtypes = tuple(impl.dtypes)
    unknown = [d for d in dtypes if d not in DTYPES]
    if unknown or not dtypes:
        raise BackendError(f"backend {spec!r}: dtypes={dtypes!r}; expected a non-empty subset of {DTYPES}")
    return Backend(impl=impl, name=str(impl.name), version=str(impl.version), dtypes=dtypes, found_by=found_by)
