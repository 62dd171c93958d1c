"""Signals arriving while compiled code runs (programs/signals.py), a handler's exception
raised at a compiled loop's back-edge inside the loop's own try (signal_in_try.py), and
one raised while the thread waits for a compile (signal_during_compile.py)."""

import pytest

from tests.stress.support import DEFAULTS, EAGER, assert_same, assert_same_repeatedly

MODES = pytest.mark.parametrize("mode", [EAGER, DEFAULTS], ids=["eager", "defaults"])
COMPILED = {"spin_until", "spin_for", "sleeper", "waiter"}


def test_signals_reach_compiled_loops_and_blocking_calls():
    # Without the signals from another process: under -X jit-threshold=0 the subprocess
    # module's functions would be compiled too, which takes long with a cold code cache.
    assert_same("signals.py", "1", "local", ember_args=EAGER, compiled=COMPILED)


def test_signals_from_threads_and_processes_at_the_defaults():
    assert_same("signals.py", ember_args=DEFAULTS, compiled=COMPILED)


def test_handler_exception_meets_the_loops_own_try():
    assert_same("signal_in_try.py", compiled={"with_finally", "with_except", "with_both"})


def test_handler_exception_during_a_compile_is_not_lost():
    # Handlers ran inside Ember's hook, where their exception was caught as Ember's own
    # internal error; now they run when the hook returns (src/ember/_quiet.c), and a wait
    # for a compile ends when one is due, Ctrl-C's included.
    assert_same("signal_during_compile.py")


@pytest.mark.stress
def test_handler_exception_during_a_compile_many_rounds(repeat):
    assert_same_repeatedly("signal_during_compile.py", repeat=repeat)


@pytest.mark.stress
@MODES
def test_signals_many_rounds(mode, repeat):
    assert_same_repeatedly("signals.py", "10", repeat=repeat, ember_args=mode,
                           compiled=COMPILED)
