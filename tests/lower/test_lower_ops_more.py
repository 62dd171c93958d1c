"""import_from, the match ops, load_build_class, load_from_dict_or_globals/deref and
call_intrinsic_2[set_function_type_params] under tier 1, against the same code
interpreted: results, exception types, messages and traceback text, ImportError's
attributes, refcounts; each function under test is installed (compiled, not refused)."""

from __future__ import annotations

import collections
import dataclasses
import gc
import os
import sys
import textwrap
import types

import pytest

from ember.runtime import install
from tests.lower.support import jit, outcome, twin


def check(func, *argsets):
    ref = twin(func)
    jit(func)  # raises if refused: the test would prove nothing
    assert install.is_installed(func)
    for args in argsets:
        got, want = outcome(func, *args), outcome(ref, *args)
        assert got == want, (func.__name__, args, got, want)
    return ref


def steady(func, *args, objs=(), n=2000):
    """Calling `func(*args)` n times leaves every obj's refcount as it was (after a
    collection: a caught exception's traceback makes cycles through the frames)."""
    for _ in range(5):
        outcome(func, *args)
    gc.collect()
    before = [sys.getrefcount(o) for o in objs]
    for _ in range(n):
        outcome(func, *args)
    gc.collect()
    assert [sys.getrefcount(o) for o in objs] == before


# --- import_from ---------------------------------------------------------------------


def from_os():
    from os import path, sep
    return path.join("a", "b"), sep


def from_missing():
    from os import no_such_name  # noqa: F401
    return 1


def from_module(m):
    # IMPORT_FROM on whatever object IMPORT_NAME gives: here, a module found in
    # sys.modules and one made by hand
    from collections import abc
    return abc.__name__, m


def from_json_decoder():
    from json import decoder
    return decoder.__name__


@pytest.fixture
def pkg(tmp_path, monkeypatch):
    """A package `embpkg` whose `sub` fails to import `late` from a partially initialised
    `embpkg.a` (circular import), plus a plain missing name."""
    root = tmp_path / "embpkg"
    root.mkdir()
    (root / "__init__.py").write_text("X = 1\n")
    (root / "a.py").write_text("from embpkg import b\nlate = 2\n")
    (root / "b.py").write_text(textwrap.dedent("""
        def grab():
            from embpkg.a import late
            return late
        try:
            grab()
        except ImportError as e:
            CAUGHT = (str(e), e.name, e.path, e.name_from)
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield root
    for k in [k for k in sys.modules if k == "embpkg" or k.startswith("embpkg.")]:
        del sys.modules[k]


def grab_x():
    from embpkg import X, nope  # noqa: F401
    return X


def grab_sub():
    # embpkg.b is in sys.modules but (after the del below) not an attribute of embpkg:
    # import_from's fallback reads sys.modules["embpkg.b"]
    import embpkg
    from embpkg import b
    return b.__name__, embpkg.__name__


def import_error_attrs(func):
    try:
        func()
    except ImportError as e:
        return (type(e).__name__, str(e), e.name, e.path, e.name_from)
    return None


def test_import_from():
    check(from_os, ())
    check(from_missing, ())
    check(from_module, (1,))
    check(from_json_decoder, ())
    ref = twin(from_missing)
    assert import_error_attrs(from_missing) == import_error_attrs(ref)
    steady(from_os, objs=(os.path, os.sep))
    steady(from_missing, objs=(os,), n=300)


def test_import_from_package(pkg):
    ref_x = check(grab_x, ())
    assert import_error_attrs(grab_x) == import_error_attrs(ref_x)
    assert "cannot import name 'nope' from 'embpkg' (" in import_error_attrs(grab_x)[1]
    import embpkg.b
    del embpkg.b  # leave it only in sys.modules
    check(grab_sub, ())
    assert grab_sub() == ("embpkg.b", "embpkg")


def test_import_from_circular(pkg):
    # compile b.grab before it first runs: import embpkg (not a, not b) first
    import embpkg
    src = (pkg / "b.py").read_text()
    ns = {"__name__": "embpkg.b"}
    exec(compile(src.split("try:")[0], str(pkg / "b.py"), "exec"), ns)
    grab = ns["grab"]
    ref = twin(grab)
    jit(grab)
    assert install.is_installed(grab)
    ns["grab"] = grab

    def run(f):
        # a partially initialised embpkg.a: its first line runs f while importing
        mod = types.ModuleType("embpkg.a")
        mod.__file__ = str(pkg / "a.py")
        mod.__spec__ = types.SimpleNamespace(_initializing=True)
        sys.modules["embpkg.a"] = mod
        try:
            return import_error_attrs(f), outcome(f)[:3]
        finally:
            del sys.modules["embpkg.a"]

    got, want = run(grab), run(ref)
    assert got == want
    assert "partially initialized module 'embpkg.a'" in got[0][1]
    assert embpkg.X == 1


def odd_module():
    from odd_ember_mod import x  # noqa: F401


def test_import_from_odd_modules():
    # no __file__: "(unknown location)"; a non-str __name__: "<unknown module name>";
    # a module __getattr__ runs with our frame as its caller
    seen = []
    m = types.ModuleType("odd_ember_mod")

    def getattr_(name):
        seen.append(sys._getframe(1).f_code.co_name)
        raise AttributeError(name)

    m.__getattr__ = getattr_
    sys.modules["odd_ember_mod"] = m
    try:
        ref = check(odd_module, ())
        del seen[:]
        outcome(odd_module)
        got = seen[:]
        del seen[:]
        outcome(ref)
        assert got == seen and "odd_module" in got
        assert import_error_attrs(odd_module) == import_error_attrs(ref)
        m.__name__ = 5
        assert outcome(odd_module) == outcome(ref)
        assert import_error_attrs(odd_module) == import_error_attrs(ref)
        m.__file__ = "/x/odd.py"
        m.__name__ = "odd_ember_mod"
        assert outcome(odd_module) == outcome(ref)
        assert import_error_attrs(odd_module) == import_error_attrs(ref)
        m.__getattr__ = lambda name: 42
        assert odd_module() is None
    finally:
        del sys.modules["odd_ember_mod"]


# --- pattern matching ------------------------------------------------------------------


@dataclasses.dataclass
class Point:
    x: int
    y: int


class NoArgs:
    pass


class BadArgs:
    __match_args__ = ["a"]


class NotStr:
    __match_args__ = (1,)
    a = 1


class Dup:
    __match_args__ = ("a", "a")
    a = 1


class Prop:
    __match_args__ = ("v",)

    @property
    def v(self):
        raise KeyError("from property")


def classify(obj):
    match obj:
        case Point(0, 0):
            return "origin"
        case Point(x=0, y=y):
            return f"y-axis {y}"
        case Point(x, y) if x == y:
            return f"diagonal {x}"
        case Point(x, y):
            return f"point {x},{y}"
        case int(n) | float(n):
            return f"number {n!r}"
        case str() as s:
            return f"str {s}"
        case [a, b, *rest]:
            return f"seq {a} {b} {rest}"
        case {"kind": "circle", "r": r, **others}:
            return f"circle {r} {others}"
        case {"kind": k}:
            return f"kind {k}"
        case NoArgs():
            return "noargs"
        case _:
            return "other"


def bad_class(obj, cls):
    match obj:
        case cls(a):
            return a
    return None


def too_many(obj):
    match obj:
        case Point(1, 2, 3):
            return 1
    return 0


def self_match(obj):
    match obj:
        case int(1, 2):
            return 1
    return 0


def kw_dup(obj):
    match obj:
        case Point(x, x=1):  # noqa: F841 - the duplicate is the point
            return 1
    return 0


def dup_keys(obj, k):
    match obj:
        case {1: a, **rest} if False:
            return a, rest
        case {"a": _, k.v: _}:
            return "both"
    return None


class KeyNS:
    v = "a"


def test_match_ops():
    subjects = [Point(0, 0), Point(0, 5), Point(3, 3), Point(1, 2), 7, 2.5, True, "s",
                [1, 2, 3, 4], (1,), range(3), {"kind": "circle", "r": 2, "c": 1},
                {"kind": "sq"}, collections.OrderedDict(kind="od"),
                collections.defaultdict(int), NoArgs(), None, b"ab"]
    check(classify, *[(s,) for s in subjects])
    check(bad_class, (1, 5), (1, BadArgs), (BadArgs(), BadArgs), (NotStr(), NotStr),
          (Dup(), Dup), (Prop(), Prop), (1, int), ("x", int), (Point(1, 2), Point))
    check(too_many, (Point(1, 2),), (1,))
    check(self_match, (1,), ("x",))
    check(kw_dup, (Point(1, 1),), (5,))
    check(dup_keys, ({"a": 1}, KeyNS), ({1: 1}, KeyNS), ({}, KeyNS), ([], KeyNS))
    steady(classify, Point(1, 2), objs=(Point, 1, 2), n=500)
    steady(classify, {"kind": "circle", "r": 2}, objs=("circle", 2), n=500)
    steady(bad_class, Prop(), Prop, objs=(Prop,), n=200)


class Mapping:
    """A mapping with a `get` that counts and sees its caller's frame."""

    def __init__(self, d):
        self.d = d
        self.calls = []

    def get(self, key, default):
        self.calls.append((key, sys._getframe(1).f_code.co_name))
        return self.d.get(key, default)

    def keys(self):
        return self.d.keys()

    def __getitem__(self, k):
        return self.d[k]

    def __len__(self):
        return len(self.d)


import collections.abc  # noqa: E402

collections.abc.Mapping.register(Mapping)


def map_match(m):
    match m:
        case {"a": 1, "b": b}:
            return b
    return None


def test_match_keys_calls_get_like_cpython():
    jit(map_match)
    ref = twin(map_match)
    m1, m2 = Mapping({"a": 1, "b": 2}), Mapping({"a": 1, "b": 2})
    assert map_match(m1) == ref(m2) == 2
    assert m1.calls == m2.calls
    m3, m4 = Mapping({"b": 2}), Mapping({"b": 2})
    assert map_match(m3) is ref(m4) is None
    assert m3.calls == m4.calls


# --- classes in functions, type parameters -------------------------------------------


def make_class(base, n):
    class Local(base):
        k = n

        def get(self):
            return self.k + n

    return Local().get(), Local.__qualname__, Local.__bases__


def no_build_class():
    class X:
        pass
    return X


def generic_fn():
    def first[T](xs: list[T]) -> T:
        return xs[0]
    return first.__type_params__[0].__name__, first([3])


def test_classes_and_type_params():
    check(make_class, (object, 1), (int, 2), (5, 1))
    check(generic_fn, ())
    steady(make_class, object, 1, objs=(object, 1), n=200)
    g = {"__builtins__": {}}
    f = types.FunctionType(no_build_class.__code__, g)
    ref = types.FunctionType(no_build_class.__code__, g)
    jit(f)
    assert outcome(f)[:3] == outcome(ref)[:3]
    assert outcome(f)[2] == "__build_class__ not found"


# load_from_dict_or_globals / _or_deref: the lazily evaluated value of a `type` alias in a
# class, a function whose free variables are the class dict and the enclosing `v`

SRC = """
def outer(v):
    class C:
        type X = list[A, v]
    return C
"""


class Lookup:
    """A non-dict class namespace: KeyError means missing, other errors propagate."""

    def __init__(self, d, exc=None):
        self.d, self.exc = d, exc

    def __getitem__(self, k):
        if self.exc:
            raise self.exc("boom")
        return self.d[k]


def alias_value_function(classdict, v=None, empty=False):
    ns: dict = {"__name__": "aliasmod"}
    exec(compile(SRC, "<ember-test>", "exec"), ns)
    body = next(c for c in ns["outer"].__code__.co_consts if isinstance(c, types.CodeType))
    code = next(c for c in body.co_consts if isinstance(c, types.CodeType))
    cells = {"__classdict__": types.CellType(classdict),
             "v": types.CellType() if empty else types.CellType(v)}
    closure = tuple(cells[n] for n in code.co_freevars)
    return types.FunctionType(code, ns, "X", None, closure), ns


@pytest.mark.parametrize("case", range(6))
def test_load_from_dict_or(case):
    classdict, v, empty, glob = [
        ({"A": int}, 3, False, {}),
        ({}, 3, False, {"A": str}),  # A from globals
        ({}, 3, False, {}),  # NameError: A
        (Lookup({"A": int}), 4, False, {}),
        (Lookup({}, ValueError), 4, False, {}),
        ({"A": int, "v": "from dict"}, None, True, {}),
    ][case]
    f, ns = alias_value_function(classdict, v, empty)
    ref, ns2 = alias_value_function(classdict, v, empty)
    ns.update(glob)
    ns2.update(glob)
    jit(f)
    assert install.is_installed(f)
    assert outcome(f) == outcome(ref)
    f2, _ = alias_value_function({"A": int}, empty=True)
    ref2, _ = alias_value_function({"A": int}, empty=True)
    jit(f2)
    assert outcome(f2) == outcome(ref2)
    assert "free variable 'v'" in outcome(f2)[2]
