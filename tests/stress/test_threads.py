"""A compiled function run by 8 threads at once while another thread rebinds what it
reads, with a switch interval of a microsecond (programs/threads_rebind.py)."""

import pytest

from tests.stress.support import DEFAULTS, EAGER, assert_same, assert_same_repeatedly

MODES = pytest.mark.parametrize("mode", [EAGER, DEFAULTS], ids=["eager", "defaults"])
COMPILED = {"work", "worker"}


@MODES
def test_threads_rebinding_globals_builtins_and_classes(mode):
    assert_same("threads_rebind.py", ember_args=mode, compiled=COMPILED)


@pytest.mark.stress
@MODES
def test_threads_rebinding_longer_with_more_threads(mode, repeat):
    assert_same_repeatedly("threads_rebind.py", "20000", "16", repeat=repeat,
                           ember_args=mode, compiled=COMPILED)
