"""A dead worker's log gives its fatal-signal stack and the framework's own last words."""

from __future__ import annotations

from pathlib import Path

from dlterms.conformance.crash_logs import FATAL_MESSAGE_CHARS, TRACEBACK_LINES, fatal_message, log_tail, read_log

# The end of a JAX worker's log at the XLA:CPU abort of docs/findings/jax.md, shortened.
XLA_ABORT = """\
W1129 18:25:30.000000   10134 cpu_client.cc:100] a warning before, not fatal
F1129 18:25:37.520100   10134 algebraic_simplifier.cc:586] Check failed: computation->Accept(this) is OK \
(INVALID_ARGUMENT: Window dimensions do not match RHS shape:
\tRHS shape: f32[1,3,1,1]
\tWindow: {dimensions { size: 2 stride: 1 base_dilation: 2 }}.)
*** Check failure stack trace: ***
    @     0x7ff6a02ca75f  std::_Function_handler<>::_M_invoke()
    @     0x7ff6b04a71f5  (unknown)
Fatal Python error: Aborted

Thread 0x00007ff6b0bdab80 (most recent call first):
  File "jax/_src/compiler.py", line 353 in backend_compile_and_load
Extension modules: numpy, jaxlib (total: 2)"""


def test_an_abseil_fatal_line_is_the_message_with_its_continuation_not_the_stack() -> None:
    said = fatal_message(XLA_ABORT.splitlines())
    assert said == (
        "algebraic_simplifier.cc:586] Check failed: computation->Accept(this) is OK (INVALID_ARGUMENT: Window "
        "dimensions do not match RHS shape: RHS shape: f32[1,3,1,1] Window: {dimensions { size: 2 stride: 1 "
        "base_dilation: 2 }}.)"
    )


def test_a_cpp_terminate_and_a_c_assertion_are_recognised() -> None:
    thrown = ["terminate called after throwing an instance of 'std::runtime_error'", "  what():  boom", "Fatal..."]
    assert fatal_message(thrown) == "terminate called after throwing an instance of 'std::runtime_error' what(): boom"
    asserted = ["python: kernel.c:12: run: Assertion `n > 0' failed.", "Fatal Python error: Aborted"]
    assert fatal_message(asserted) == "python: kernel.c:12: run: Assertion `n > 0' failed."


def test_a_log_without_a_fatal_message_gives_none() -> None:
    assert fatal_message(["W1129 18:25:30.000000 1 a.cc:1] a warning", "Fatal Python error: SIGSEGV"]) is None
    assert fatal_message([]) is None


def test_the_last_fatal_message_is_taken_and_a_long_one_is_cut() -> None:
    lines = ["F1129 00:00:00.000000 1 a.cc:1] first", "F1129 00:00:01.000000 1 b.cc:2] " + "x" * 2000]
    said = fatal_message(lines)
    assert said is not None and said.startswith("b.cc:2] x") and len(said) == FATAL_MESSAGE_CHARS and said[-1] == "…"


def test_the_tail_keeps_the_python_stack_after_the_lines_before_it() -> None:
    tail = log_tail(XLA_ABORT.splitlines())
    assert tail.splitlines()[5] == "Fatal Python error: Aborted"
    assert "in backend_compile_and_load" in tail and "Extension modules" not in tail
    plain = [f"line {i}" for i in range(50)]
    assert log_tail(plain).splitlines() == plain[-TRACEBACK_LINES:]


def test_an_unreadable_log_has_no_lines(tmp_path: Path) -> None:
    assert read_log(tmp_path / "missing.log") == []
