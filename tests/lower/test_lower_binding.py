"""Parameter binding by the vectorcall entry (tier 1): every call shape gives CPython's
result or CPython's own TypeError, the common shapes run native (the entry's counters),
and refcounts stay steady over 10**4 calls."""

from __future__ import annotations

import ctypes
import sys

from ember import pipeline
from ember.runtime import install
from tests.lower.support import outcome, twin


def compiled(func):
    """Compile and install `func`; return its entry (for the call counters)."""
    entry = pipeline.compile(func)
    install.install(func, entry)
    return entry


def counts(entry):
    return (ctypes.c_int64.from_address(entry.native_calls).value,
            ctypes.c_int64.from_address(entry.interpreted_calls).value)


def reference(func):
    ref = twin(func)
    ref.__kwdefaults__ = func.__kwdefaults__
    return ref


def defaults(a, b=2, *args, c, d=4, **kw):
    return (a, b, args, c, d, sorted(kw.items()))


def pos(a, b=2, c=3):
    return a, b, c


def only_kw(*, x, y=5):
    return x, y


def star(*args, **kw):
    return args, kw


def posonly(a, b=1, /, **kw):
    return a, b, kw


CALLS = {
    defaults: [((1,), dict(c=3)), ((1, 5, 6, 7), dict(c=3, d=9, z=1, y=2)), ((1,), {}),
               ((1, 2), dict(c=3, a=4)), ((), dict(a=1, c=2)), ((1,), {"c": 1, "b": 2})],
    pos: [((1,), {}), ((1, 2, 3), {}), ((1, 2, 3, 4), {}), ((), {}), ((1,), dict(c=7)),
          ((1,), dict(b=7, c=8)), ((1, 2), dict(b=3)), ((1,), dict(q=1))],
    only_kw: [((), dict(x=1)), ((), {}), ((1,), dict(x=1)), ((), dict(x=1, y=2, z=3))],
    star: [((), {}), ((1, 2), {}), ((1,), dict(a=1, b=2))],
    posonly: [((1,), {}), ((1,), dict(a=5)), ((), dict(a=5))],
}


def test_every_shape_matches_cpython():
    for func, calls in CALLS.items():
        ref = reference(func)
        compiled(func)
        for a, k in calls:
            got = outcome(lambda: func(*a, **k))[:3]  # noqa: B023
            want = outcome(lambda: ref(*a, **k))[:3]  # noqa: B023
            assert got == want, (func.__name__, a, k, got, want)


def kwfun(a, b=2, *, c, d=4):
    return a, b, c, d


def test_common_shapes_run_native_and_keep_refcounts():
    entry = compiled(kwfun)
    obj = object()
    before = sys.getrefcount(obj)
    for _ in range(10000):
        kwfun(obj, c=obj)
        kwfun(obj, obj, c=obj, d=obj)
    assert sys.getrefcount(obj) == before
    native, interpreted = counts(entry)
    assert native == 20000 and interpreted == 0
    try:
        kwfun(1)
    except TypeError as exc:
        assert str(exc) == "kwfun() missing 1 required keyword-only argument: 'c'"
    assert counts(entry) == (20000, 1)


def test_defaults_changed_after_compiling_are_seen():
    def f(a, b=1, *, c=2):
        return a, b, c

    compiled(f)
    f.__defaults__ = (10,)
    f.__kwdefaults__ = {"c": 20}
    assert f(0) == (0, 10, 20)
    f.__kwdefaults__ = None
    assert outcome(f, 0)[2].endswith("f() missing 1 required keyword-only argument: 'c'")
