"""No leak from the scenarios' cores run in loops (programs/leaks.py), and objects freed
when CPython frees them, not later (freed_at_once.py)."""

import pytest

from tests.stress.support import DEFAULTS, EAGER, assert_same, assert_same_repeatedly

MODES = pytest.mark.parametrize("mode", [EAGER, DEFAULTS], ids=["eager", "defaults"])
CORES = {"work", "worker", "depth", "allocate"}


def test_no_leak_in_the_scenarios_cores():
    # Under -X jit-threshold=0 everything is compiled before the measured rounds. At the
    # defaults (make stress) a compile may end in the middle of them: in one run of 31,
    # five objects more were tracked after the threads' rounds.
    assert_same("leaks.py", ember_args=EAGER, compiled=CORES)


@MODES
def test_objects_are_freed_at_once(mode):
    assert_same("freed_at_once.py", ember_args=mode)


@pytest.mark.stress
@MODES
def test_no_leak_over_many_rounds(mode, repeat):
    assert_same_repeatedly("leaks.py", "200", repeat=repeat, ember_args=mode, compiled=CORES)
