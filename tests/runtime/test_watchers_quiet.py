"""The program's function watchers see the program's functions only (issue 24, as
defect 4 for the collector): Ember's own Python, running in its hook while a function is
compiled at its first call, creates and destroys functions of its own, and a watcher the
program added (`PyFunction_AddWatcher`, here through `_testcapi`) used to get those
events too (Lib/test's test_capi: a watcher that raises printed each as unraisable)."""

import textwrap

import pytest

from tests import harness

PROGRAM = textwrap.dedent("""
    import sys
    import _testcapi

    events = []

    def watcher(event, func, new_value):
        events.append((event, getattr(func, "__qualname__", "?")))

    def unraisable(info):
        print("unraisable:", info.exc_value, str(info.object).split(" at 0x")[0])

    sys.unraisablehook = unraisable
    wid = _testcapi.add_func_watcher(watcher)
    try:
        def made(x):
            def inner(y):
                return x + y
            return inner(1)
        for i in range(3):
            made(i)
        lam = lambda: 0
        del lam
    finally:
        _testcapi.clear_func_watcher(wid)
    print(events)

    def raising(*args):
        raise ValueError("from the watcher")

    wid = _testcapi.add_func_watcher(raising)
    try:
        def one():
            return 1
        one()
    finally:
        _testcapi.clear_func_watcher(wid)
""")


@pytest.mark.parametrize("ember_args", [("-X", "jit-threshold=0"), ()],
                         ids=["eager", "defaults"])
def test_function_watchers_see_only_the_programs_functions(tmp_path, ember_args):
    pytest.importorskip("_testcapi")
    script = tmp_path / "watchers.py"
    script.write_text(PROGRAM)
    harness.assert_same([str(script)], ember_args=ember_args)
