"""Finding, checking and binding a backend (the contract: docs/design.md, *The backend contract*).

A backend is any object (a module is fine) with ``name``, ``version``,
``dtypes``, ``asarray(data, dtype)``, ``to_numpy(x)``, optionally
``vjp(fn, primals, cotangent)``, and any subset of :data:`CANONICAL_OPS`, the
ops declared in :mod:`dlterms.ops`, with the signatures of their records
(those of :mod:`dlterms.reference`). ``asarray`` is also called with
``dtype="int64"`` for tensors of class indices.

:func:`load_backend` finds one by

1. a built-in name (``reference``, ``numpy``, ``torch``, ``jax``, ``tensorflow``);
2. an installed entry point in the group ``dlterms.backends``;
3. ``package.module:attribute`` (or ``package.module`` for a module backend);

and checks the required attributes up front (and that ``to_numpy(asarray(...))``
gives the data back, and that each op it has accepts the keyword arguments
its record declares). An op the backend lacks is not an error here: the
runner reports it ``unsupported``, and :meth:`Backend.coverage` counts it.

A backend that can compute elsewhere than on the CPU has
``use_device(device)`` (``"cuda"``, ``"cuda:1"``, ...), called by
:func:`load_backend` for ``--device`` / ``$DLTERMS_DEVICE``; it raises
ValueError when the device is not there, which becomes a usage error.
"""

from __future__ import annotations

import importlib
import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

from dlterms import frameworks, ops

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

# The ops of the backend contract, in the seed's order: the records of dlterms.ops. An
# adapter implements any subset; coverage = implemented / len(CANONICAL_OPS).
CANONICAL_OPS: tuple[str, ...] = tuple(ops.OPS)

# Built-in backend name -> module: the reference, and one adapter per framework of dlterms.frameworks.
BUILTIN: dict[str, str] = {
    "reference": "dlterms.conformance.backends.reference",
    **{fw.name: fw.adapter for fw in frameworks.FRAMEWORKS},
}

ENTRY_POINT_GROUP = "dlterms.backends"
ENV_VAR = "DLTERMS_BACKEND"
DEVICE_ENV_VAR = "DLTERMS_DEVICE"


class BackendError(Exception):
    """The backend cannot be found, imported, or does not meet the contract (a usage error)."""


@dataclass(frozen=True)
class OpCall:
    """A call of one canonical op with its non-differentiated arguments bound.

    ``OpCall(backend, "softmax", {"axis": 0})(x)`` calls ``backend.softmax(x=x, axis=0)``;
    the positional primals go to ``diff_args``, by default the op record's
    differentiable arguments (``("x",)`` for softmax; ``("x", "weight", "bias")``
    for linear). Backends with their own autodiff treat it as any callable; the
    reference backend reads ``op`` to find the hand-written VJP.
    """

    backend: Any
    op: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    diff_args: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.diff_args:
            object.__setattr__(self, "diff_args", ops.OPS[self.op].diff_args)

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
            "unsupported_ops": [op for op in CANONICAL_OPS if not self.has(op)],
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


def _check_contract(impl: Any, spec: str, found_by: str) -> tuple[str, ...]:
    """Raise :class:`BackendError` naming everything the backend lacks; return its dtypes."""
    where = f"backend {spec!r} ({found_by})"
    missing = [
        f"{attr} ({what})"
        for attr, what in (
            ("name", "a str such as 'torch'"),
            ("version", "a str: the framework's version"),
            ("dtypes", f"a tuple, a subset of {DTYPES}"),
        )
        if not hasattr(impl, attr)
    ]
    missing += [
        f"{fn} (a function {signature})"
        for fn, signature in (
            ("asarray", "asarray(data, dtype='float64') -> native array"),
            ("to_numpy", "to_numpy(x) -> numpy.ndarray"),
        )
        if not callable(getattr(impl, fn, None))
    ]
    if missing:
        raise BackendError(
            f"{where} does not meet the contract: missing {'; '.join(missing)}. Every backend needs name, "
            f"version, dtypes, asarray and to_numpy; ops and vjp are optional (see 'Write an adapter' in the docs)"
        )
    if not isinstance(impl.name, str) or not impl.name:
        raise BackendError(f"{where}: name={impl.name!r}; expected a non-empty str")
    if hasattr(impl, "vjp") and not callable(impl.vjp):
        raise BackendError(f"{where}: vjp={impl.vjp!r} is not callable; expected vjp(fn, primals, cotangent), or none")
    try:
        dtypes = tuple(impl.dtypes)
    except TypeError:
        raise BackendError(
            f"{where}: dtypes={impl.dtypes!r}; expected a tuple, a non-empty subset of {DTYPES}"
        ) from None
    unknown = [d for d in dtypes if d not in DTYPES]
    if unknown or not dtypes:
        raise BackendError(f"{where}: dtypes={dtypes!r}; expected a non-empty subset of {DTYPES}")
    return dtypes


def _check_signatures(impl: Any, spec: str) -> None:
    """Each op the backend has must accept, by keyword, every argument its record declares."""
    problems = []
    for op in ops.OPS.values():
        fn = getattr(impl, op.name, None)
        if not callable(fn):
            continue
        try:
            params = inspect.signature(fn).parameters
        except (TypeError, ValueError):  # a builtin or C function without a signature: trusted
            continue
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            continue
        keywords = {n for n, p in params.items() if p.kind not in (p.POSITIONAL_ONLY, p.VAR_POSITIONAL)}
        if missing := [a for a in op.arg_names if a not in keywords]:
            problems.append(f"{op.name}({', '.join(params)}) lacks {', '.join(missing)}; expected {op.signature}")
    if problems:
        raise BackendError(
            f"backend {spec!r}: ops whose signature does not take the contract's keyword arguments: "
            f"{'; '.join(problems)} (see the op table in 'Write an adapter')"
        )


def _use_device(impl: Any, spec: str, device: str) -> None:
    """Ask the backend to compute on ``device`` (``cuda``, ``cuda:1``, ...) through its ``use_device``."""
    use = getattr(impl, "use_device", None)
    if callable(use):
        try:
            use(device)
        except (ValueError, RuntimeError) as exc:
            raise BackendError(f"--device {device!r}: {exc}") from None
    elif device.lower() not in ("cpu", "cpu:0"):
        raise BackendError(
            f"--device {device!r}: backend {spec!r} has no use_device(device), so it cannot be moved off "
            f"the CPU; the device choice exists for torch, jax and tensorflow"
        )


def _round_trip(impl: Any, spec: str, dtype: str) -> None:
    """``to_numpy(asarray(...))`` must give the data back: checked once, before any invariant runs."""
    import numpy as np

    data = [[1.0, -2.0, 0.5]]
    try:
        back = np.asarray(impl.to_numpy(impl.asarray(data, dtype)), dtype=np.float64)
    except Exception as exc:  # the adapter's own bug: a usage error with its message
        raise BackendError(
            f"backend {spec!r}: to_numpy(asarray({data}, {dtype!r})) raised {type(exc).__name__}: {exc}"
        ) from None
    if back.shape != (1, 3) or back.tolist() != data:
        raise BackendError(
            f"backend {spec!r}: to_numpy(asarray({data}, {dtype!r})) gave {back.tolist()!r} of shape "
            f"{back.shape}; expected the data back, shape (1, 3)"
        )


def load_backend(spec: str | None = None, device: str | None = None) -> Backend:
    """Find, import and check a backend, and put it on ``device``.

    ``spec=None`` reads ``$DLTERMS_BACKEND`` and ``device=None`` reads
    ``$DLTERMS_DEVICE`` (unset: the backend's default, the CPU for the
    built-in ones). Everything the contract requires is checked here, up
    front, and a backend that cannot be used raises :class:`BackendError`
    naming what is missing; a missing *op* is not an error (it is reported
    ``unsupported``).
    """
    spec = spec or os.environ.get(ENV_VAR)
    if not spec:
        raise BackendError(f"no backend given; pass --backend NAME or set {ENV_VAR}")
    device = device or os.environ.get(DEVICE_ENV_VAR) or None
    impl, found_by = _resolve(spec)
    dtypes = _check_contract(impl, spec, found_by)
    _check_signatures(impl, spec)
    if device:
        _use_device(impl, spec, device)
    _round_trip(impl, spec, dtypes[-1])
    return Backend(impl=impl, name=str(impl.name), version=str(impl.version), dtypes=dtypes, found_by=found_by)
