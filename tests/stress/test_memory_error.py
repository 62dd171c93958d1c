"""MemoryError raised inside compiled code, caught and uncaught
(programs/memory_error.py)."""

import pytest

from tests.stress.support import DEFAULTS, EAGER, assert_same, assert_same_repeatedly

COMPILED = {"list_repeat", "list_inplace_repeat", "bytearray_alloc", "str_repeat",
            "user_raise", "with_finally", "outcome"}


def test_memory_error_in_compiled_code():
    assert_same("memory_error.py", ember_args=EAGER, compiled=COMPILED)


@pytest.mark.stress
@pytest.mark.parametrize("mode", [EAGER, DEFAULTS], ids=["eager", "defaults"])
def test_memory_error_many_rounds(mode, repeat):
    assert_same_repeatedly("memory_error.py", "200", repeat=repeat, ember_args=mode,
                           compiled=COMPILED)
