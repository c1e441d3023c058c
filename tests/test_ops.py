"""dlterms.ops: the op records are well formed, standard-library only, and refuse malformed declarations."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from dlterms import ops
from dlterms.ops.record import Accuracy, Arg, Cases, Op, Special, index, option, tensor


def test_importing_the_records_imports_no_third_party_module() -> None:
    """dlterms.ops is read by the core install: importing it loads only the standard library and dlterms."""
    code = (
        "import sys; before = set(sys.modules); import dlterms.ops; "
        "new = {m.split('.')[0] for m in set(sys.modules) - before}; "
        "print(sorted(m for m in new if m not in sys.stdlib_module_names and m != 'dlterms'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_roles_give_tensors_indices_and_differentiated_arguments() -> None:
    """cross_entropy: logits is a differentiated tensor, target an index tensor, reduction an option."""
    ce = ops.OPS["cross_entropy"]
    assert ce.tensors == ("logits",) and ce.indices == ("target",) and ce.diff_args == ("logits",)
    assert ce.defaults == {"reduction": "mean"}
    bce = ops.OPS["binary_cross_entropy"]
    assert bce.tensors == ("input", "target") and bce.diff_args == ("input",)


def test_the_signature_shows_defaults_and_several_outputs() -> None:
    """The guide's signature of rnn names both outputs; conv2d's shows its defaults."""
    assert ops.OPS["rnn"].signature == "rnn(x, h0, w_ih, w_hh, b_ih, b_hh) -> (outputs, h_n)"
    assert ops.OPS["max_pool2d"].signature == "max_pool2d(x, kernel_size, stride=None, padding=0) -> y"


def test_generated_invariant_ids_and_special_value_ids() -> None:
    """Generated invariants and special-value probes are named <op>.<name>; special_values only with definitions."""
    relu = ops.OPS["relu"]
    assert relu.invariant_ids == (
        "relu.matches_reference",
        "relu.vjp_matches_reference",
        "relu.grad_matches_finite_difference",
        "relu.special_values",
        "relu.matches_reference_at_sizes",
    )
    assert relu.special_value_ids == ("relu.at_infinities", "relu.nan_propagates")
    assert "linear.special_values" not in ops.OPS["linear"].invariant_ids  # no special value at all
    assert "sgd_step.special_values" not in ops.OPS["sgd_step"].invariant_ids  # its one value is a choice
    no_sizes = dataclasses.replace(relu, sizes=None)
    assert "relu.matches_reference_at_sizes" not in no_sizes.invariant_ids  # the size tier's only with sizes


def test_by_term_gives_the_ops_of_an_entry_in_record_order() -> None:
    """The softmax entry has softmax and log_softmax; a concept has none."""
    assert [op.name for op in ops.by_term("softmax")] == ["softmax", "log_softmax"]
    assert ops.by_term("epoch") == ()


def test_an_argument_declared_twice_is_refused() -> None:
    """Two arguments with one name: ValueError naming the op and the names."""
    with pytest.raises(ValueError, match=r"op 'f': an argument is declared twice in \['x', 'x'\]"):
        Op("f", term="t", summary="", args=(tensor("x"), tensor("x")), cases=Cases("strategies.float_arrays"))


def test_a_special_value_with_an_unknown_argument_is_refused() -> None:
    """A special value may only name the op's arguments."""
    bad = Special("s", "f(y) = 0", "why", {"y": [0.0]}, value=[0.0], because="the formula")
    with pytest.raises(ValueError, match=r"op 'f': special value 's' has unknown arguments \['y'\]"):
        Op(
            "f",
            term="t",
            summary="",
            args=(tensor("x"),),
            cases=Cases("strategies.float_arrays"),
            special_values=(bad,),
        )


def test_only_a_tensor_can_be_differentiable_and_roles_are_checked() -> None:
    """An index or option marked differentiable, or an unknown role, is refused with the argument's name."""
    with pytest.raises(ValueError, match=r"Arg 'k': only a tensor can be differentiable"):
        Arg("k", "index", differentiable=True)
    with pytest.raises(ValueError, match=r"Arg 'k': role='vector'; expected 'tensor', 'index' or 'option'"):
        Arg("k", "vector")  # type: ignore[arg-type]
    assert not index("target").differentiable and not option("axis", -1).differentiable


def test_every_special_value_is_classified_with_a_reason() -> None:
    """Each of the 149 special values is a definition (checked) or a choice (a fact), with a one-line reason."""
    specials = [sv for op in ops.OPS.values() for sv in op.special_values]
    assert len(specials) == 149
    assert all(sv.kind in ("definition", "choice") and sv.because and "\n" not in sv.because for sv in specials)
    choices = {f"{op.name}.{sv.name}" for op in ops.OPS.values() for sv in op.special_values if not sv.fixed}
    # The brief's examples of each kind: a row holding +inf and the clamp are choices, NaN and masks definitions.
    assert {"softmax.one_positive_infinity", "binary_cross_entropy.clamped_when_confidently_wrong"} <= choices
    assert "relu.nan_propagates" not in choices and "softmax.negative_infinity_entry" not in choices


def test_a_special_value_must_say_its_kind_and_why() -> None:
    """An unknown kind or an empty reason is refused, naming the special value."""
    with pytest.raises(ValueError, match=r"Special 's': kind='maybe'; expected 'definition' or 'choice'"):
        Special("s", "e", "w", {}, value=0.0, kind="maybe", because="b")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"Special 's': because is empty"):
        Special("s", "e", "w", {}, value=0.0)


def test_every_op_declares_its_accuracy_model_with_a_reason() -> None:
    """Activations, losses, linear (a dot product) and rnn (a recurrence) are relative; conv2d absolute."""
    models = {op.name: op.accuracy.model for op in ops.OPS.values()}
    for name in ("sigmoid", "tanh", "relu", "leaky_relu", "softmax", "log_softmax", "mse_loss", "cross_entropy"):
        assert models[name] == "relative", name
    assert models["linear"] == "relative" and ops.OPS["linear"].accuracy.accumulation == "dot_product"
    assert models["rnn"] == "relative" and ops.OPS["rnn"].accuracy.accumulation == "recurrence"
    for name in ("conv2d",):
        assert models[name] == "absolute", name
    assert all(op.accuracy.why for op in ops.OPS.values())


def test_a_malformed_accuracy_is_refused() -> None:
    """A relative model needs a sensitivity, an absolute one has none, and each needs a reason."""
    with pytest.raises(ValueError, match=r"model='exact'"):
        Accuracy("exact", why="w")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"expected a sensitivity name exactly for the relative model"):
        Accuracy("relative", why="w")
    with pytest.raises(ValueError, match=r"why is empty"):
        Accuracy("absolute")
