"""The registry of invariants, and the op specifications that generate the generic ones.

An *invariant* is a property with a stable ID (``softmax.sums_to_one``), a
one-sentence statement, the term it belongs to, the backend ops it needs, a
strategy of cases (keyword arguments) per dtype, and a check
``check(backend, dtype, **case)`` that raises
:class:`~dlterms.conformance.checks.Violation` when the property fails.

Each canonical op is declared once, as a record in :mod:`dlterms.ops`;
:func:`register_op` wraps it in an :class:`OpSpec` and registers its
generated invariants:

* ``<op>.matches_reference``: the backend agrees with the float64 reference
  within the record's accuracy model (:class:`dlterms.ops.Accuracy`): relative
  to the value, with the op's condition number, or the dtype's absolute
  tolerance (see :mod:`dlterms.conformance.tolerances`);
* ``<op>.vjp_matches_reference``: the backend's ``vjp`` agrees with the
  reference's hand-written ``<op>_vjp`` within the gradient tolerance;
* ``<op>.grad_matches_finite_difference``: the backend's ``vjp`` agrees with
  central finite differences of its own forward pass (float64);
* ``<op>.special_values``, for an op with special values its definition fixes:
  the backend returns them (NaN in gives NaN out, the limits at ±∞, ...), in
  every dtype, on a fixed list of inputs (:mod:`dlterms.conformance.special_values`);
* ``<op>.matches_reference_at_sizes``, for an op that declares sizes: the same
  comparison on realistic shapes (:mod:`dlterms.conformance.sizes`), in the size
  tier only (``dlterms conform --sizes``), one seed per run.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st

from dlterms import ops, reference
from dlterms.ops import Op

from . import tolerances
from .backends import Backend, OpCall
from .checks import assert_close
from .gradcheck import as_arrays, directional_check
from .special_values import check_definitions, definitions
from .strategies import representable

__all__ = [
    "INVARIANTS",
    "OPS",
    "Invariant",
    "OpSpec",
    "invariant",
    "native_args",
    "register_op",
    "register_ops",
    "strategy",
]

Cases = Callable[[str], st.SearchStrategy[dict[str, Any]]]


@dataclass(frozen=True)
class Invariant:
    id: str
    term: str
    statement: str
    ops: tuple[str, ...]
    cases: Cases
    check: Callable[..., None]
    dtypes: tuple[str, ...] | None = None  # None: every dtype the run covers
    needs_vjp: bool = False
    kind: str = "math"  # math | reference | gradient | robustness
    tier: str = "default"  # default | sizes (settings.TIERS: which runs include it)
    max_examples: int | None = None  # at most this many examples, whatever the run's setting


INVARIANTS: dict[str, Invariant] = {}


def _register(inv: Invariant) -> None:
    if inv.id in INVARIANTS:
        raise ValueError(f"invariant {inv.id!r} is registered twice")
    INVARIANTS[inv.id] = inv


def invariant(
    id: str,
    *,
    term: str,
    statement: str,
    cases: Cases,
    ops: tuple[str, ...] | None = None,
    dtypes: tuple[str, ...] | None = None,
    needs_vjp: bool = False,
    kind: str = "math",
    tier: str = "default",
    max_examples: int | None = None,
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register ``check(backend, dtype, **case)`` as the invariant ``id``.

    ``ops`` defaults to the op named by the ID's prefix (``softmax.sums_to_one``
    needs ``softmax``).
    """

    def deco(check: Callable[..., None]) -> Callable[..., None]:
        _register(
            Invariant(
                id=id,
                term=term,
                statement=statement,
                ops=ops if ops is not None else (id.split(".", 1)[0],),
                cases=cases,
                check=check,
                dtypes=dtypes,
                needs_vjp=needs_vjp,
                kind=kind,
                tier=tier,
                max_examples=max_examples,
            )
        )
        return check

    return deco


@dataclass(frozen=True)
class OpSpec:
    """The conformance view of one op record (:class:`dlterms.ops.Op`): its strategies resolved.

    Every fact comes from the record; this only turns the strategy names into
    Hypothesis strategies (resolved when first drawn, so modules register in
    any order).
    """

    record: Op

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def term(self) -> str:
        return self.record.term

    @property
    def tensors(self) -> tuple[str, ...]:
        return self.record.tensors

    @property
    def indices(self) -> tuple[str, ...]:
        return self.record.indices

    @property
    def diff_args(self) -> tuple[str, ...]:
        return self.record.diff_args

    @property
    def dtypes(self) -> tuple[str, ...] | None:
        return self.record.dtypes

    def forward_tolerance(
        self, dtype: str, case: dict[str, Any], expected: list[np.ndarray]
    ) -> tuple[tolerances.Tolerance | tolerances.Relative, list[np.ndarray | None], list[np.ndarray | None]]:
        """The bound of ``matches_reference`` in ``dtype``, and per output its sensitivity and accumulation term.

        Both are None for the absolute model.
        """
        accuracy = self.record.accuracy
        if accuracy.model == "relative":
            return (
                tolerances.relative(dtype, accuracy.sensitivity),
                list(tolerances.sensitivity(accuracy.sensitivity, case, expected)),
                list(tolerances.accumulation(accuracy.accumulation, case, expected, dtype)),
            )
        return (
            tolerances.forward(dtype, f"{self.name}.matches_reference"),
            [None] * len(expected),
            [None] * len(expected),
        )

    def cases(self, dtype: str) -> st.SearchStrategy[dict[str, Any]]:
        return strategy(self.record.cases)(dtype)

    def grad_cases(self, dtype: str) -> st.SearchStrategy[dict[str, Any]]:
        return strategy(self.record.grad_cases or self.record.cases)(dtype)

    def finite_difference_cases(self, dtype: str) -> st.SearchStrategy[dict[str, Any]]:
        """The gradient cases without their edges: a central difference needs moderate inputs.

        Its step of :data:`~dlterms.conformance.tolerances.FD_EPS` is lost in the last bits of an
        input beyond about 2³³ (u·|x|/h ≥ 10⁻⁶), and a function that saturates has no
        difference to measure; the edges are checked against the reference's VJP instead.
        """
        declared = self.record.grad_cases or self.record.cases
        kwargs = {k: v for k, v in declared.kwargs.items() if k != "edges"}
        return strategy(dataclasses.replace(declared, kwargs=kwargs))(dtype)


def strategy(declared: ops.Cases) -> Cases:
    """The function named by an op record's :class:`~dlterms.ops.Cases`, with its keyword arguments bound."""
    module_name, _, attr = declared.function.rpartition(".")
    try:
        fn = getattr(importlib.import_module(f"dlterms.conformance.{module_name}"), attr)
    except (ImportError, AttributeError) as exc:
        raise LookupError(
            f"op record strategy {declared.function!r}: no function {attr!r} in dlterms.conformance.{module_name}"
        ) from exc
    return functools.partial(fn, **declared.kwargs)


OPS: dict[str, OpSpec] = {}


def native_args(bk: Backend, spec: OpSpec, case: dict[str, Any], dtype: str) -> dict[str, Any]:
    """The case's keyword arguments with tensors converted by the backend."""
    out = {}
    for k, v in case.items():
        if v is not None and k in spec.tensors:
            out[k] = bk.asarray(v, dtype)
        elif v is not None and k in spec.indices:
            out[k] = bk.asarray(v, "int64")
        else:
            out[k] = v
    return out


def _rng(case: dict[str, Any]) -> np.random.Generator:
    # Cotangents and directions are a deterministic function of the example.
    digest = hashlib.sha256(json.dumps(case, sort_keys=True, default=str).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def _reference_outputs(spec: OpSpec, case: dict[str, Any]) -> list[np.ndarray]:
    out = getattr(reference, spec.name)(**case)
    items = out if isinstance(out, tuple) else (out,)
    return [np.asarray(o, dtype=np.float64) for o in items]


def register_ops(records: Iterable[Op]) -> None:
    """:func:`register_op` for each record (a section module of :mod:`dlterms.ops`)."""
    for record in records:
        register_op(record)


def register_op(record: Op) -> OpSpec:
    """Register the op ``record`` and its generated invariants (see the module docstring)."""
    if record.name in OPS:
        raise ValueError(f"op {record.name!r} is registered twice")
    spec = OPS[record.name] = OpSpec(record)
    grad_cases = spec.grad_cases
    op = spec.name

    bound = (
        "relative to the value (in units of the dtype's precision, with the condition number)"
        if record.accuracy.model == "relative"
        else "within the forward tolerance of the dtype"
    )

    @invariant(
        f"{op}.matches_reference",
        term=spec.term,
        statement=f"{op} agrees with the float64 reference {bound}.",
        cases=spec.cases,
        dtypes=spec.dtypes,
        kind="reference",
    )
    def matches_reference(bk: Backend, dtype: str, **case: Any) -> None:
        compare_with_reference(bk, spec, dtype, case)

    @invariant(
        f"{op}.vjp_matches_reference",
        term=spec.term,
        statement=f"The backend's gradient of {op} (its vjp) agrees with the reference's {op}_vjp.",
        cases=grad_cases,
        dtypes=spec.dtypes,
        needs_vjp=True,
        kind="gradient",
    )
    def vjp_matches_reference(bk: Backend, dtype: str, **case: Any) -> None:
        nondiff = {k: v for k, v in case.items() if k not in spec.diff_args}
        fn = OpCall(bk, op, native_args(bk, spec, nondiff, dtype), spec.diff_args)
        outs = _reference_outputs(spec, case)
        rng = _rng(case)
        v = [representable(rng.standard_normal(o.shape), dtype) for o in outs]
        cot = [bk.asarray(vi.tolist(), dtype) for vi in v]
        primals = tuple(bk.asarray(case[a], dtype) for a in spec.diff_args)
        got = bk.vjp(fn, primals, cot[0] if len(cot) == 1 else tuple(cot))
        ref_cot = v[0].tolist() if len(v) == 1 else tuple(vi.tolist() for vi in v)
        expected = getattr(reference, f"{op}_vjp")(**case, cotangent=ref_cot)
        expected = expected if isinstance(expected, tuple) else (expected,)
        tol = tolerances.gradient(dtype, f"{op}.vjp_matches_reference")
        for name, g, e in zip(spec.diff_args, got, expected, strict=True):
            assert_close(bk.to_numpy(g), e, tol, f"d{op}/d{name}")

    @invariant(
        f"{op}.grad_matches_finite_difference",
        term=spec.term,
        statement=f"The backend's gradient of {op} matches central finite differences "
        f"of its own forward pass (random-direction vᵀJu check, float64).",
        cases=spec.finite_difference_cases,
        dtypes=("float64",),
        needs_vjp=True,
        kind="gradient",
    )
    def grad_matches_finite_difference(bk: Backend, dtype: str, **case: Any) -> None:
        nondiff = {k: v for k, v in case.items() if k not in spec.diff_args}
        fn = OpCall(bk, op, native_args(bk, spec, nondiff, dtype), spec.diff_args)
        primals = [np.asarray(case[a], dtype=np.float64) for a in spec.diff_args]
        tol = tolerances.gradient(dtype, f"{op}.grad_matches_finite_difference")
        directional_check(bk, fn, primals, _rng(case), tol, dtype)

    if record.definitions:
        _register_special_values(spec)
    if record.sizes:
        _register_at_sizes(spec)
    return spec


def compare_with_reference(bk: Backend, spec: OpSpec, dtype: str, case: dict[str, Any], where: str = "") -> None:
    """``<op>.matches_reference`` on one call: the backend's outputs within the op's bound of the reference's."""
    op = spec.name
    got = as_arrays(bk, getattr(bk, op)(**native_args(bk, spec, case, dtype)))
    expected = _reference_outputs(spec, case)
    tol, scales, extras = spec.forward_tolerance(dtype, case, expected)
    for i, (g, e, s, a) in enumerate(zip(got, expected, scales, extras, strict=True)):
        what = (f"{op} output {i}" if len(got) > 1 else op) + where
        assert_close(g, e, tol, what, scale=s, extra=a, largest=tolerances.LARGEST[dtype])


def _register_at_sizes(spec: OpSpec) -> None:
    """``<op>.matches_reference_at_sizes``: the size tier's calls (:mod:`.sizes`), each compared as above."""
    op = spec.name
    declared = spec.record.sizes
    assert declared is not None

    @invariant(
        f"{op}.{ops.AT_SIZES}",
        term=spec.term,
        statement=f"{op} agrees with the float64 reference at realistic sizes ({declared.why}).",
        cases=lambda dtype: st.fixed_dictionaries({"seed": st.integers(0, 2**32 - 1)}),
        dtypes=spec.dtypes,
        kind="reference",
        tier="sizes",
        max_examples=1,
    )
    def matches_reference_at_sizes(bk: Backend, dtype: str, seed: int) -> None:
        for case in strategy(declared)(dtype, np.random.default_rng(seed)):
            compare_with_reference(bk, spec, dtype, case, f" at {describe_shapes(spec, case)}")


def describe_shapes(spec: OpSpec, case: dict[str, Any]) -> str:
    """The call's tensor shapes and options, in words: ``x (4, 1025), axis=-1``."""
    parts = []
    for k, v in case.items():
        if k in spec.tensors or k in spec.indices:
            parts.append(f"{k} {tuple(np.shape(v))}" if v is not None else f"{k}=None")
        else:
            parts.append(f"{k}={v!r}")
    return ", ".join(parts)


def _register_special_values(spec: OpSpec) -> None:
    """``<op>.special_values``: the special values the definition fixes, on their fixed inputs."""
    op = spec.name
    probes = ", ".join(sv.id.split(".", 1)[1] for sv in definitions(op))

    @invariant(
        f"{op}.{ops.SPECIAL_VALUES}",
        term=spec.term,
        statement=f"{op} returns the values its definition fixes on special inputs ({probes}).",
        cases=lambda dtype: st.just({}),
        kind="robustness",
    )
    def special_values(bk: Backend, dtype: str) -> None:
        check_definitions(bk, op, dtype)
