"""Star-unpacking, dict merges, unpack_ex, call_function_ex, imports, super() and the
one-call intrinsics under tier 1, against the same code interpreted (messages included)."""

from __future__ import annotations

from tests.lower.support import jit, outcome, twin


def check(func, *argsets):
    ref = twin(func)
    jit(func)  # raises if refused: the test would prove nothing
    for args in argsets:
        assert outcome(func, *args)[:3] == outcome(ref, *args)[:3], (func.__name__, args)


def ext(a, b):
    return [*a, *b], {*a}, (*a, *b)


def kw(**k):
    return sorted(k.items())


def dmerge(f, a, b):
    return f(**a, **b)


def dupd(a, b):
    return {**a, **b}


def uex(s):
    x, *y, z = s
    return x, y, z


def callex(f, a):
    return f(*a)


def imp():
    import math
    return math.sqrt(4)


def plus(x):
    return +x


class A:
    def f(self):
        return "A.f"


class B(A):
    def f(self):
        return "B>" + super().f()

    def h(self):
        return super(B, self).f()  # noqa: UP008 - the two-argument form


def test_star_unpacking_and_merges():
    check(ext, ([1, 2], (3,)), (1, [2]), ([1], 5), ("ab", range(2)))
    check(dmerge, (kw, {"a": 1}, {"b": 2}), (kw, {"a": 1}, {"a": 2}), (kw, {"a": 1}, 5),
          (len, {}, [1]), (kw, {}, {1: 2}))
    check(dupd, ({"a": 1}, {"b": 2}), ({1: 1}, 3), ({}, [1]))
    check(uex, ([1, 2, 3, 4],), ((1,),), (5,))


def test_calls_imports_super_intrinsics():
    check(callex, (kw, ()), (len, ([1],)), (len, 5), (len, [[1, 2]]))
    check(imp, ())
    check(plus, (3,), ("x",))
    check(B.f, (B(),), (1,))
    check(B.h, (B(),), (1,))
