"""The backend contract derived from the op records: an adapter's ops must take the record's keyword arguments."""

from __future__ import annotations

from typing import Any

import pytest
from dlterms.conformance import BackendError, load_backend
from dlterms.conformance.backends import OpCall


def test_an_op_missing_a_keyword_argument_is_refused_up_front(broken_backend) -> None:
    """softmax without ``axis``: refused when loaded, naming the op, what it lacks and the expected signature."""

    def softmax_without_axis(x: Any) -> Any:
        raise AssertionError("never called")

    spec = broken_backend("numpy", softmax=softmax_without_axis)
    with pytest.raises(BackendError) as info:
        load_backend(spec)
    message = str(info.value)
    assert "softmax(x) lacks axis" in message
    assert "expected softmax(x, axis=-1) -> y" in message


def test_an_op_with_a_renamed_argument_is_refused(broken_backend) -> None:
    """cross_entropy(input, target, ...) instead of (logits, target, ...): the adapter would get TypeErrors."""

    def cross_entropy(input: Any, target: Any, reduction: str = "mean") -> Any:
        raise AssertionError("never called")

    with pytest.raises(BackendError, match=r"cross_entropy\(input, target, reduction\) lacks logits"):
        load_backend(broken_backend("numpy", cross_entropy=cross_entropy))


def test_keyword_catch_alls_and_signatureless_callables_are_accepted(broken_backend) -> None:
    """An op taking ``**kwargs``, or a builtin without an inspectable signature, is not refused."""

    def relu(**kwargs: Any) -> Any:
        return kwargs["x"]

    bk = load_backend(broken_backend("numpy", relu=relu, tanh=max))
    assert bk.has("relu") and bk.has("tanh")


def test_opcall_takes_its_differentiated_arguments_from_the_record() -> None:
    """OpCall(bk, "linear") differentiates x, weight and bias; an explicit tuple still wins."""
    assert OpCall(None, "linear").diff_args == ("x", "weight", "bias")
    assert OpCall(None, "binary_cross_entropy").diff_args == ("input",)
    assert OpCall(None, "linear", {}, ("x",)).diff_args == ("x",)
