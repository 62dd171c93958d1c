"""The C function watcher runs no Python code: a tracer sees nothing of Ember's.

With the old ctypes callback, every event of an installed function (a `__defaults__`
assigned, the function freed) ran Python code, which a `sys.settrace` tracer saw as extra
'call'/'return' events. Differential: the same program under python3.12 and under
`./ember` with tier 1 at threshold 0 (everything is compiled at its first call).
"""

import textwrap

from tests.harness import assert_same

PROGRAM = textwrap.dedent("""
    import gc
    import sys

    def make(n):
        def add(x, k=n):
            return x + k
        return add

    def use(n):
        fs = [make(i) for i in range(n)]
        return sum(f(1) for f in fs)

    # Compiled (threshold 0) before the tracer is set.
    print(use(3), make(1)(1))
    fresh = [make(i) for i in range(5)]
    for f in fresh:
        f(0)

    events = []

    def tracer(frame, event, arg):
        events.append((event, frame.f_code.co_name))
        return tracer

    sys.settrace(tracer)
    # Closures created and destroyed, an installed function modified and freed.
    print(use(4))
    make.__defaults__ = ()
    use.__kwdefaults__ = {}
    del fresh, f
    gc.collect()
    fresh = [make(i) for i in range(5)]
    del fresh
    sys.settrace(None)
    for e in events:
        print(*e)
    print(len(events))
""")


def test_tracer_sees_no_events_from_ember(tmp_path):
    prog = tmp_path / "traced.py"
    prog.write_text(PROGRAM)
    assert_same([str(prog)], ember_args=("-X", "jit-threshold=0"))


def test_profiler_sees_no_events_from_ember(tmp_path):
    prog = tmp_path / "profiled.py"
    prog.write_text(PROGRAM.replace("sys.settrace", "sys.setprofile"))
    assert_same([str(prog)], ember_args=("-X", "jit-threshold=0"))
