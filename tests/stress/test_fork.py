"""os.fork() while compiles are in flight, from the main thread and from another thread
(programs/fork_compiling.py)."""

import pytest

from tests.stress.support import DEFAULTS, EAGER, assert_same, assert_same_repeatedly

COMPILED = {"f", "busy"}


def test_fork_while_compiling_in_the_background():
    # No warm-up here (compiles must be in flight at the forks): the stats tell.
    assert_same("fork_compiling.py", ember_args=DEFAULTS, compiled=COMPILED,
                stats_at_defaults=True)


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
