"""A fork from a thread other than the main one, at the defaults (Ember's C start still
warming up) and eagerly (the runtime running): the child's only thread is the forking
one, and once it ends CPython 3.12.1 would make the next thread state from the main
thread's initial one, still marked initialised. Ember's native thread was that next one
("Fatal Python error: init_threadstate: thread state already initialized", Lib/test's
test_threading); such a child now has no thread of Ember's."""

import textwrap

import pytest

from tests import harness

PROGRAM = textwrap.dedent("""
    import os, sys, threading

    def func():
        pid = os.fork()
        if pid == 0:
            print("child main thread:", threading.main_thread().name)
            sys.stdout.flush()
        else:
            print("child status:", os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))

    for _ in range(3):
        th = threading.Thread(target=func, name="forker")
        th.start()
        th.join()
""")


@pytest.mark.parametrize("ember_args", [(), ("-X", "jit-threshold=0")],
                         ids=["defaults", "eager"])
def test_a_child_forked_from_a_thread_exits_cleanly(tmp_path, ember_args):
    script = tmp_path / "fork_from_thread.py"
    script.write_text(PROGRAM)
    harness.assert_same(["-W", "ignore::DeprecationWarning", str(script)],
                        ember_args=ember_args)
