"""The differential runner itself: it must notice every kind of difference."""

import pytest

from tests.harness import CPYTHON, EMBER_PYTHON, Result, assert_same


def test_interpreter_paths_are_normalised():
    raw = Result(b"", f"{EMBER_PYTHON}: can't open file\n{CPYTHON}\n".encode(), 2)
    assert raw.normalized().stderr == b"<python>: can't open file\n<python>\n"


@pytest.mark.parametrize(
    "ember_args",
    [
        ("-X", "jit-threshold=bad"),  # status and stderr differ
        ("-W", "error"),  # a warning becomes an exception: stderr and status differ
    ],
)
def test_differences_are_reported(ember_args):
    code = "import warnings; warnings.warn('w'); print('out')"
    with pytest.raises(AssertionError, match="differs from python3.12"):
        assert_same(["-c", code], ember_args=ember_args)


def test_stdout_difference_is_reported():
    with pytest.raises(AssertionError, match="stdout"):
        assert_same(["-c", "import sys; print('ember._hotness' in sys.modules)"])
