"""Compiled code calling compiled code directly (src/ember/_calls.c, `register_direct`):
the callee's body runs without PyObject_Vectorcall and its entry, and everything the
entry would have decided is still decided the same way: a tracer or profiler set
meanwhile sees the calls, a changed `__code__` or `__defaults__` is honoured, keyword
and other call shapes go through the entry, errors and tracebacks are CPython's."""

from __future__ import annotations

import ctypes
import sys

from tests.lower.support import jit, outcome, twin

# Module globals the functions under test call; each test binds them.
leaf_target = callee_target = callee_shapes = simple_target = inner_target = None


def callee_ab(a, b):
    return a * 10 + b


def caller_n(n):
    t = 0
    for i in range(n):
        t += callee_ab(i, 1)
    return t


def test_direct_calls_run_the_body_and_count_natively():
    want = caller_n(50)
    entry = jit(callee_ab).__code__ and None  # noqa: F841 - compiled in place
    from ember.runtime import install

    rec = install.record(id(callee_ab))
    native = ctypes.c_int64.from_address(rec.native_calls)
    before = native.value
    assert jit(caller_n)(50) == want
    assert native.value - before == 50  # every call ran the body (directly, counted)


class Node:
    def __init__(self, v):
        self.v = v

    def get(self):
        return self.v

    def add(self, k):
        return self.v + k


def use_methods(nodes):
    t = 0
    for n in nodes:
        t += n.get() + n.add(2)
        bound = n.add
        t += bound(3)
    return t


def test_bound_methods_and_method_calls_of_compiled_methods():
    nodes = [Node(i) for i in range(20)]
    want = use_methods(nodes)
    jit(Node.get)
    jit(Node.add)
    f = jit(twin(use_methods))
    assert f(nodes) == want
    assert f(nodes) == want


def rec(n):
    if n <= 0:
        return 0
    return 1 + rec(n - 1)


def test_recursion_through_direct_calls_matches_cpython():
    want = [outcome(rec, n) for n in (10, 500, 100_000)]
    jit(rec)  # in place: the recursive calls are compiled-to-compiled
    got = [outcome(rec, n) for n in (10, 500, 100_000)]
    assert got == want


def test_a_tracer_set_meanwhile_sees_directly_called_functions():
    def leaf(x):
        return x + 1

    def loop(n, start_tracing):
        t = 0
        for i in range(n):
            if i == 3:
                start_tracing()
            t += leaf_target(i)
        return t

    def run(leaf_fn, loop_fn):
        globals()["leaf_target"] = leaf_fn
        seen = []

        def tracer(frame, event, arg):
            if event == "call":
                seen.append(frame.f_code.co_name)
            return None

        def start():
            sys.settrace(tracer)

        try:
            result = loop_fn(6, start)
        finally:
            sys.settrace(None)
        return result, [name for name in seen if name == "leaf"]

    want = run(leaf, loop)
    assert want[1] == ["leaf"] * 3
    assert run(jit(twin(leaf)), jit(twin(loop))) == want


def test_changed_code_and_defaults_are_honoured():
    def callee(a, b):
        return ("first", a, b)

    def caller(x):
        return callee_target(x, 2)

    c = jit(twin(callee))
    globals()["callee_target"] = c
    f = jit(twin(caller))
    assert f(1) == ("first", 1, 2)
    c.__code__ = (lambda a, b: ("second", a, b)).__code__
    assert f(1) == ("second", 1, 2)
    c.__defaults__ = (9,)
    assert f(1) == ("second", 1, 2)


def test_other_call_shapes_go_through_the_entry():
    def callee(a, b=5, *rest, k=0, **kw):
        return (a, b, rest, k, sorted(kw.items()))

    def simple(a, b):
        return (a, b)

    def caller():
        return [callee_shapes(1), callee_shapes(1, 2, 3), callee_shapes(1, k=4, z=5),
                simple_target(1, 2), simple_target(b=2, a=1), outcome(simple_target, 1),
                outcome(simple_target, 1, 2, 3)]

    globals()["callee_shapes"] = callee
    globals()["simple_target"] = simple
    want = caller()
    jit(callee)  # in place: twin() would lose the keyword-only default
    jit(simple)
    got = jit(twin(caller))()
    # outcome's traceback text names the function: compare type and message only.
    assert got[:5] == want[:5]
    assert [g[:3] for g in got[5:]] == [w[:3] for w in want[5:]]


def test_errors_in_a_directly_called_function_have_cpythons_traceback():
    def inner(x):
        return 1 / x

    def outer(x):
        return inner_target(x) + 1

    globals()["inner_target"] = inner
    want = outcome(outer, 0)
    globals()["inner_target"] = jit(twin(inner))
    assert outcome(jit(twin(outer)), 0) == want
