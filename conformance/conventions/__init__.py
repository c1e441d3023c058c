"""Conventions: the defaults each framework picks where a definition leaves room, measured as facts.

A convention is not an invariant: no answer is wrong. Leaky ReLU's default
slope, whether the default cross-entropy reads logits, which side "same"
padding pads more: each framework decides, and a user porting a model must
know. Every value here is *measured*: a probe calls the framework's own
public API with its defaults (never a dlterms adapter) and reads the answer
off the result. The canonical value is measured the same way on
:mod:`dlterms.reference`; it is ``None`` where the reference offers no such
choice (it has no "same" padding and no variance).

:func:`measure` gives, for one framework, one record per convention::

    {"id", "description", "value", "canonical", "matches_canonical", "api"}

``value`` is ``None`` (and ``api`` too) where the framework has no such API;
``matches_canonical`` is ``None`` where either side is missing. A probe that
raises gives ``value = "error: ..."``: measuring never fails a run. These
records are the ``conventions`` section of a conformance report, and
``dlterms conventions`` prints them as a matrix (convention × installed
framework, in the order of :data:`dlterms.frameworks.FRAMEWORKS`).

A backend that is not one of those frameworks (a plug-in) is measured by
:func:`measure_backend` instead: the conventions about a canonical op itself
through the adapter's own ops and ``vjp`` (:mod:`.adapter`), and those about
its framework's API defaults through the probes the adapter declares in its
``conventions`` attribute (rows of :class:`Probe`, :func:`declared_probes`).

The package mirrors :mod:`dlterms.conformance.backends`: :mod:`.reference`
declares the conventions with their canonical values, one module per
framework (:mod:`.numpy`, :mod:`.torch`, :mod:`.jax`, :mod:`.tensorflow`)
declares its probes as rows (convention id, API measured, named function),
:mod:`.adapter` the probes through any backend's ops, :mod:`.readings` holds
the shared inputs and readers, and :mod:`.registry` collects them. Importing
the package imports no framework: each probe imports its framework when it runs.
"""

from .adapter import ADAPTER_PROBES, AdapterProbe
from .readings import Convention, Probe, Value
from .registry import CONVENTIONS, PROBES, declared_probes, installed_frameworks, measure, measure_backend

__all__ = [
    "ADAPTER_PROBES",
    "CONVENTIONS",
    "PROBES",
    "AdapterProbe",
    "Convention",
    "Probe",
    "Value",
    "declared_probes",
    "installed_frameworks",
    "measure",
    "measure_backend",
]
