"""Installing an entry on a function object, on the forwarding entry and a hand-written body."""

import ctypes
import gc
import inspect
import pickle
import sys

import pytest

pytest.importorskip("llvmlite")

from llvmlite import ir  # noqa: E402

from ember.backend import capi, support  # noqa: E402
from ember.backend.engine import get_engine  # noqa: E402
from ember.backend.entry import compile_entry  # noqa: E402
from ember.runtime import install  # noqa: E402


def counts(entry):
    read = lambda a: ctypes.c_int64.from_address(a).value  # noqa: E731
    return read(entry.native_calls), read(entry.interpreted_calls)


@pytest.fixture
def forwarding():
    entry, _ = compile_entry()
    yield entry
    install.uninstall_all()


def identity_entry():
    """An entry whose native body returns its first argument (new reference)."""
    engine = get_engine()
    module = engine.new_module("body")
    body_name = engine.unique_name("body")
    body = ir.Function(module, support.BODY, name=body_name)
    b = ir.IRBuilder(body.append_basic_block())
    arg0 = b.load(body.args[1], typ=capi.OBJ)
    support.incref(b, arg0)
    b.ret(arg0)
    entry, _ = compile_entry(module, body_name, argcount=1)
    return entry


def target(a, b=2, *, c=3):
    """doc"""
    return a + b + c


def test_install_keeps_identity_and_metadata(forwarding):
    f = target
    before = (f.__code__, f.__name__, f.__qualname__, f.__defaults__, f.__kwdefaults__, f.__doc__)
    sig = inspect.signature(f)
    install.install(f, forwarding)
    assert install.vectorcall_of(f) == forwarding.address
    assert f is target
    assert (
        f.__code__,
        f.__name__,
        f.__qualname__,
        f.__defaults__,
        f.__kwdefaults__,
        f.__doc__,
    ) == before
    assert inspect.signature(f) == sig
    assert pickle.loads(pickle.dumps(f)) is f
    assert f(1) == 6 and f(1, 1, c=1) == 3 and f(a=0) == 5
    with pytest.raises(TypeError, match=r"target\(\) missing 1 required positional argument: 'a'"):
        f()
    assert counts(forwarding) == (0, 4)
    assert install.uninstall(f)
    assert install.vectorcall_of(f) == install.PY_VECTORCALL
    assert not install.uninstall(f)
    assert f(1) == 6 and counts(forwarding) == (0, 4)


@pytest.mark.parametrize(
    "change",
    [
        lambda f: setattr(f, "__code__", (lambda a, b=2, *, c=3: 0).__code__),
        lambda f: setattr(f, "__defaults__", (10,)),
        lambda f: setattr(f, "__kwdefaults__", {"c": 0}),
    ],
)
def test_watcher_sends_function_back_on_change(forwarding, change):
    def f(a, b=2, *, c=3):
        return a + b + c

    seen = []
    install.on_invalidate = lambda code, reason: seen.append((code, reason))
    try:
        install.install(f, forwarding)
        code = f.__code__
        change(f)
        # The C watcher put CPython's vectorcall back at once; the report comes later.
        assert not install.is_installed(f)
        assert install.vectorcall_of(f) == install.PY_VECTORCALL
        assert seen == []
        install.drain()
    finally:
        install.on_invalidate = None
    assert len(seen) == 1 and seen[0][0] is code and seen[0][1].endswith("changed")
    f(1)  # still callable, interpreted


def test_destroyed_function_is_forgotten(forwarding):
    def make():
        def g(x):
            return x

        return g

    g = make()
    install.install(g, forwarding)
    n = install.installed_count()
    address = id(g)
    del g
    gc.collect()
    assert install.installed_count() == n - 1
    install.drain()
    assert address not in install._installed


def test_address_reuse_after_destroy(forwarding):
    """A function freed while installed, then a new one at the same address: the new one
    is not installed, and installing it works."""

    def make():
        def g(x):
            return x

        return g

    g = make()
    install.install(g, forwarding)
    address = id(g)
    del g
    for _ in range(1000):
        h = make()
        if id(h) == address:
            break
    else:
        pytest.skip("the allocator did not reuse the address")
    assert not install.is_installed(h)
    assert install.vectorcall_of(h) == install.PY_VECTORCALL
    h.__defaults__ = (1,)  # no event for a function Ember does not know
    install.install(h, forwarding)
    assert install.is_installed(h) and install.record(address).code is h.__code__
    assert h(5) == 5
    assert install.uninstall(h) and not install.is_installed(h)


def test_many_installed_functions_freed_and_modified(forwarding):
    """The C table grows, shrinks by backward shifts, and stays consistent."""

    def make(i):
        def g(x):
            return x + i

        return g

    fs = [make(i) for i in range(3000)]
    for f in fs:
        install.install(f, forwarding)
    assert install.installed_count() >= 3000
    for f in fs[::3]:
        f.__defaults__ = (1,)
    kept = fs[1::3]
    del fs, f
    gc.collect()
    assert all(install.is_installed(f) for f in kept)
    assert install.installed_count() == len(kept)
    assert [f(1) for f in kept[:3]] == [2, 5, 8]
    install.drain()
    assert len(install._installed) == len(kept)
    install.uninstall_all()
    assert install.installed_count() == 0
    assert all(install.vectorcall_of(f) == install.PY_VECTORCALL for f in kept)


def test_install_refuses_a_foreign_vectorcall(forwarding):
    def f():
        pass

    install.install(f, forwarding)
    with pytest.raises(RuntimeError, match="does not use CPython's vectorcall"):
        install.install(f, forwarding)
    assert install.uninstall(f)


def test_other_functions_are_unaffected_by_the_watcher(forwarding):
    install.install(target, forwarding)
    fs = [lambda x, i=i: x + i for i in range(1000)]  # CREATE events, filtered natively
    for f in fs:
        f.__defaults__ = (0,)  # MODIFY events of functions Ember never touched
    del fs
    assert install.is_installed(target)


def test_a_tracer_set_after_install_sees_every_line(forwarding):
    def traced(x):
        y = x + 1
        z = y * 2
        return z

    install.install(traced, forwarding)
    lines = []

    def tracer(frame, event, arg):
        if frame.f_code is traced.__code__:
            lines.append((event, frame.f_lineno - traced.__code__.co_firstlineno))
        return tracer

    sys.settrace(tracer)
    try:
        assert traced(1) == 4
    finally:
        sys.settrace(None)
    assert lines == [("call", 0), ("line", 1), ("line", 2), ("line", 3), ("return", 3)]


def test_body_runs_natively_and_steps_aside_for_tools():
    entry = identity_entry()

    def ident(x):
        return ("interpreted", x)

    try:
        install.install(ident, entry)
        marker = object()
        assert ident(marker) is marker  # the native body
        assert counts(entry) == (1, 0)
        # Shapes the entry does not take go to CPython, which runs the real code.
        assert ident(x=marker) == ("interpreted", marker)
        with pytest.raises(TypeError):
            ident(1, 2)
        assert counts(entry) == (1, 2)
        # A tracer: the call goes to the interpreter so the tracer sees it.
        sys.settrace(lambda *a: None)
        try:
            assert ident(marker) == ("interpreted", marker)
        finally:
            sys.settrace(None)
        # A profiler.
        sys.setprofile(lambda *a: None)
        try:
            assert ident(marker) == ("interpreted", marker)
        finally:
            sys.setprofile(None)
        # Another sys.monitoring tool with events on this code object only.
        mon = sys.monitoring
        mon.use_tool_id(2, "other")
        try:
            mon.set_local_events(2, ident.__code__, mon.events.LINE)
            assert ident(marker) == ("interpreted", marker)
            mon.set_local_events(2, ident.__code__, 0)
        finally:
            mon.free_tool_id(2)
        assert ident(marker) is marker  # back to native once they are gone
        assert counts(entry) == (2, 5)
    finally:
        install.uninstall_all()


def test_refcounts_stable_across_many_calls():
    entry = identity_entry()

    def ident(x):
        return x

    arg = object()
    try:
        install.install(ident, entry)
        ident(arg)
        before = sys.getrefcount(arg), sys.getrefcount(ident)
        for _ in range(100_000):
            ident(arg)
        assert (sys.getrefcount(arg), sys.getrefcount(ident)) == before
        assert counts(entry)[0] == 100_001
    finally:
        install.uninstall_all()


def test_refcounts_stable_through_the_forwarding_entry(forwarding):
    def add(a, b):
        return a

    x, y = object(), object()
    install.install(add, forwarding)
    add(x, y)
    before = sys.getrefcount(x), sys.getrefcount(y), sys.getrefcount(add)
    for _ in range(100_000):
        add(x, y)
    assert (sys.getrefcount(x), sys.getrefcount(y), sys.getrefcount(add)) == before
