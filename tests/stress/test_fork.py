"""os.fork() while compiles are in flight, from the main thread and from another thread
(programs/fork_compiling.py, fork_from_thread.py)."""

import pytest

from tests.stress.support import DEFAULTS, EAGER, assert_same, assert_same_repeatedly

COMPILED = {"f", "busy"}


def test_fork_while_compiling_in_the_background():
    # No warm-up here (compiles must be in flight at the forks): the stats tell.
    assert_same("fork_compiling.py", ember_args=DEFAULTS, compiled=COMPILED,
                stats_at_defaults=True)


def test_fork_from_a_thread_while_the_main_thread_waits_for_compiles():
    # Issue 24: Ember's reply thread joined twice (by the fork's hook and by the main
    # thread's wait) hung nearly every run of this within its first round or two; three
    # rounds of a hundred-odd forks each take some 3 s. A hang is a failure in 120 s.
    assert_same("fork_from_thread.py", "3", ember_args=EAGER, timeout=120,
                compiled={"one_round"})


@pytest.mark.stress
def test_fork_from_a_thread_many_rounds(repeat):
    assert_same_repeatedly("fork_from_thread.py", "10", repeat=repeat, ember_args=EAGER,
                           timeout=300, compiled={"one_round"})


@pytest.mark.stress
def test_fork_while_the_main_thread_waits_for_compiles(repeat):
    # Slow: under -X jit-threshold=0 each child starts a compile server of its own.
    assert_same_repeatedly("fork_compiling.py", repeat=repeat, ember_args=EAGER,
                           compiled=COMPILED)


@pytest.mark.stress
@pytest.mark.parametrize("scale", ["0.5", "2"])
def test_fork_at_other_moments(scale, repeat):
    assert_same_repeatedly("fork_compiling.py", scale, repeat=repeat,
                           ember_args=DEFAULTS, compiled=COMPILED,
                           stats_at_defaults=True)
