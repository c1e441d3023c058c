"""Finding, checking and binding a backend (the contract: docs/design.md, *The backend contract*).

A backend is any object (a module is fine) with ``name``, ``version``,
``dtypes``, ``asarray(data, dtype)``, ``to_numpy(x)``, optionally
``vjp(fn, primals, cotangent)``, and any subset of :data:`CANONICAL_OPS`, the
ops declared in :mod:`dlterms.ops`, with the signatures of their records
(those of :mod:`dlterms.reference`). ``asarray`` is also called with
``dtype="int64"`` for tensors of class indices. Optionally it declares
``op_dtypes`` (op -> the dtypes it has that op in, when fewer than
``dtypes``: :meth:`Backend.supports`) and ``conventions`` (probes of its
framework's own defaults: :mod:`dlterms.conformance.conventions`); an op can
also raise :class:`Unsupported` when its framework has no kernel for a dtype or a
mode (the whole row is unsupported), or :class:`UnsupportedCase` for one case its
API cannot express, such as an option value (that example is set aside and the
row counts it).

:func:`load_backend` finds one by

1. a built-in name (``reference``, ``numpy``, ``torch``, ``jax``, ``tensorflow``);
2. an installed entry point in the group ``dlterms.backends``;
3. an import path: ``package.module:attribute``, or ``package.module`` or a
   top-level ``module`` for a module that is the backend;

and checks the required attributes and their types up front (and that
``to_numpy(asarray(...))`` gives the data back, that each op it has accepts
the keyword arguments its record declares, and that ``op_dtypes`` and
``conventions``, when declared, are well formed). An op the backend lacks is not an error here: the
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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

from dlterms import frameworks, ops

from ..checks import Unsupported, UnsupportedCase

__all__ = [
    "BUILTIN",
    "CANONICAL_OPS",
    "DTYPES",
    "Backend",
    "BackendError",
    "OpCall",
    "Unsupported",
    "UnsupportedCase",
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
    """A backend checked against the contract, with the facts the report records.

    ``op_dtypes`` is the adapter's declaration of ops it has in some of its
    ``dtypes`` only (op -> those dtypes); an op it does not name is had in all.
    """

    impl: Any
    name: str
    version: str
    dtypes: tuple[str, ...]
    found_by: str
    op_dtypes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _facts_device: str | None = field(default=None, init=False, repr=False, compare=False)

    def has(self, op: str) -> bool:
        return callable(getattr(self.impl, op, None))

    def supports(self, op: str, dtype: str) -> bool:
        """Whether ``op`` can be checked in ``dtype``: the backend has the op, claims the dtype, and its
        ``op_dtypes`` lists the dtype when it names the op."""
        return self.has(op) and dtype in self.dtypes and dtype in self.op_dtypes.get(op, self.dtypes)

    @property
    def has_vjp(self) -> bool:
        return self.has("vjp")

    @property
    def device(self) -> str:
        """Where the backend computes: its ``device`` attribute, else the ``device`` its ``facts()`` gives
        (read once), else ``cpu``."""
        attribute = getattr(self.impl, "device", None)
        if attribute is not None:
            return str(attribute)
        if self._facts_device is None:
            extra = getattr(self.impl, "facts", None)
            try:
                reported = extra().get("device") if callable(extra) else None
            except Exception:  # a broken facts() is the report's to show; the device falls back to the CPU
                reported = None
            self._facts_device = "cpu" if reported is None else str(reported)
        return self._facts_device

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
            **({"op_dtypes": {op: list(d) for op, d in self.op_dtypes.items()}} if self.op_dtypes else {}),
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
    try:  # a top-level module that is the backend
        return importlib.import_module(spec), "import path"
    except ModuleNotFoundError as exc:
        if exc.name != spec:  # the module is there but imports something that is not
            raise BackendError(f"backend {spec!r}: cannot import module {spec!r}: {exc}") from exc
    except Exception as exc:  # the module itself failed: a usage error naming it, not a crash
        raise BackendError(f"backend {spec!r}: importing module {spec!r} failed: {type(exc).__name__}: {exc}") from exc
    installed = sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))
    raise BackendError(
        f"unknown backend {spec!r}; expected a built-in name ({', '.join(BUILTIN)}), an entry point "
        f"in the group {ENTRY_POINT_GROUP!r} (installed: {', '.join(installed) or 'none'}), "
        f"'package.module:attribute', or an importable module that is the backend"
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
    for attr, example in (("name", "'torch'"), ("version", "'2.5.1'")):
        value = getattr(impl, attr)
        if not isinstance(value, str) or not value:
            raise BackendError(
                f"{where}: {attr}={value!r} ({type(value).__name__}); expected a non-empty str such as {example}"
            )
    if hasattr(impl, "vjp") and not callable(impl.vjp):
        raise BackendError(f"{where}: vjp={impl.vjp!r} is not callable; expected vjp(fn, primals, cotangent), or none")
    return _dtype_tuple(impl.dtypes, f"{where}: dtypes", DTYPES)


def _dtype_tuple(value: Any, what: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    """``value`` as a tuple of dtype names, each in ``allowed``; BackendError naming ``what`` otherwise."""
    expected = f"expected a tuple of str, a non-empty subset of {allowed}"
    if isinstance(value, str) or not isinstance(value, tuple | list):
        raise BackendError(f"{what}={value!r} ({type(value).__name__}); {expected}")
    if wrong := [d for d in value if not isinstance(d, str)]:
        raise BackendError(f"{what}={value!r} holds {wrong[0]!r} ({type(wrong[0]).__name__}); {expected}")
    if not value or any(d not in allowed for d in value):
        raise BackendError(f"{what}={tuple(value)!r}; {expected}")
    return tuple(value)


def _check_op_dtypes(impl: Any, spec: str, dtypes: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """The adapter's optional ``op_dtypes`` (op -> the dtypes it has that op in), checked."""
    declared = getattr(impl, "op_dtypes", None)
    if declared is None:
        return {}
    where = f"backend {spec!r}: op_dtypes"
    if not isinstance(declared, Mapping):
        raise BackendError(
            f"{where}={declared!r} ({type(declared).__name__}); expected a dict such as "
            f"{{'conv2d': ('float32',)}}: op -> the dtypes it has that op in"
        )
    if unknown := [op for op in declared if op not in CANONICAL_OPS]:
        raise BackendError(f"{where} names {unknown[0]!r}; expected canonical ops ({', '.join(CANONICAL_OPS)})")
    return {op: _dtype_tuple(d, f"{where}[{op!r}]", dtypes) for op, d in declared.items()}


def _check_conventions(impl: Any, spec: str) -> None:
    """The adapter's optional ``conventions`` (its declared probes) name declared conventions, once each."""
    if getattr(impl, "conventions", None) is None:
        return
    from ..conventions import declared_probes

    try:
        declared_probes(impl)
    except ValueError as exc:
        raise BackendError(f"backend {spec!r}: {exc}") from None


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
    op_dtypes = _check_op_dtypes(impl, spec, dtypes)
    _check_conventions(impl, spec)
    _round_trip(impl, spec, dtypes[-1])
    return Backend(
        impl=impl, name=impl.name, version=impl.version, dtypes=dtypes, found_by=found_by, op_dtypes=op_dtypes
    )
