"""Units that look at frames from outside the code that runs in them: the line numbers
of tracebacks through compiled code, `sys._getframe` from a callee, and tracers,
profilers and `sys.monitoring` tools set while compiled code exists (Ember must step
aside for them and see every event CPython reports).
"""

from __future__ import annotations

import random

from fuzz.body import BodyGen
from fuzz.unit import WARM, Unit, fill, pick
from fuzz.values import edges

#: The traceback of a caught exception as (function, line relative to its first line),
#: innermost last; and what a callee sees of its caller's frame.
HELPERS = """
    def P_where(f, *args):
        try:
            r = f(*args)
        except Exception as e:
            out = []
            tb = e.__traceback__
            while tb is not None:
                code = tb.tb_frame.f_code
                out.append((code.co_name, tb.tb_lineno - code.co_firstlineno))
                tb = tb.tb_next
            r = _e(e) + ' at ' + repr(out[1:])
        return _r(r)


    def P_caller():
        f = sys._getframe(1)
        return f.f_code.co_name, f.f_lineno - f.f_code.co_firstlineno
"""


def tracebacks(rng: random.Random) -> Unit:
    """A random body (`body.py`) whose exceptions are shown with their traceback's
    lines, and calls that report their caller's line."""
    gen = BodyGen(rng, budget=rng.randint(12, 22))
    body = gen.function("P_g")
    # Calls that ask who called them, from inside the random body's statements.
    body = body.replace("    acc = 0\n", "    acc = 0\n    t.append(P_caller())\n", 1)
    cases = ", ".join(edges(rng, rng.randint(6, 10), 3))
    code = fill(HELPERS) + "\n\n\n" + body + "\n\n\n" + fill("""
        def P_outer(a, b, c):
            x = [a]
            return P_g(x[0], b, c) if a != 3 else P_g(a, b)
    """)
    run = fill("""
        _lines('P_g warm', [P_where(P_outer, i % 7 - 2, 3 + i % 5, i) for i in range(@warm@)])
        for args in (@cases@,):
            print('P_g', P_where(P_outer, *args))
    """, warm=WARM, cases=cases)
    return Unit("tracebacks", code, run)


def tracing(rng: random.Random) -> Unit:
    """A function compiled by its warm-up, then called under a tracer, a profiler or a
    sys.monitoring tool, then without again."""
    hook = pick(rng, "settrace", "setprofile", "monitoring")
    code = fill("""
        P_events = []


        def P_hot(n):
            s = 0
            for i in range(n):
                if i % 2:
                    s += len(str(i))
                else:
                    s -= i
            try:
                1 // (n - 2)
            except ZeroDivisionError:
                s = -s
            return s


        def P_record(frame, event, arg):
            name = frame.f_code.co_name
            if name.startswith('P_') and name != 'P_record':
                P_events.append((event, name, frame.f_lineno - frame.f_code.co_firstlineno))
            return P_record


        def P_mon(code, offset):
            if code.co_name.startswith('P_'):
                P_events.append(('start', code.co_name))
    """)
    on = {
        "settrace": "sys.settrace(P_record)",
        "setprofile": "sys.setprofile(P_record)",
        "monitoring": "sys.monitoring.use_tool_id(4, 'fuzz')\n"
                      "sys.monitoring.register_callback(4, sys.monitoring.events.PY_START, "
                      "P_mon)\nsys.monitoring.set_events(4, sys.monitoring.events.PY_START)",
    }[hook]
    off = {
        "settrace": "sys.settrace(None)",
        "setprofile": "sys.setprofile(None)",
        "monitoring": "sys.monitoring.set_events(4, 0)\nsys.monitoring.free_tool_id(4)",
    }[hook]
    run = fill("""
        _lines('P_hot warm', [_r(P_hot(i % 6)) for i in range(@warm@)])
        @on@
        try:
            r = [P_hot(n) for n in (0, 3, 5)]
        finally:
            @off@
        print('P_hot traced', r)
        _lines('P_events', [_r(e) for e in P_events])
        print('P_hot after', [P_hot(n) for n in range(4)], len(P_events))
    """, warm=WARM, on=on, off=off)
    return Unit("tracing", code, run)
