"""Differential tests of the inline caches: globals and builtins (lower/names.py), attribute
loads, stores and method loads (lower/attrs.py, src/ember/_caches.c) and CALL's fast
paths (src/ember/_calls.c).

Each scenario runs one site many times while the world changes under it (a class gains
a descriptor or `__getattr__`, an object gets a `__dict__`, `__class__` is assigned, a
module attribute or a builtin is rebound, a site sees many types), once with the function
compiled and once with CPython interpreting it, and the two runs must see the same
values, errors and messages. Every function here is compiled (`jit` raises otherwise).
"""

from __future__ import annotations

import math
import sys
import types

import pytest

from tests.lower.support import exact, jit, outcome, twin


def run_both(scenario, func):
    """scenario(f) with f interpreted, then with a compiled twin; equal results."""
    want = scenario(twin(func))
    got = scenario(jit(twin(func)))
    assert got == want


def results(*values):
    return [exact(v) if not (isinstance(v, tuple) and v and v[0] in ("ok", "raise"))
            else v for v in values]


# --- globals and builtins ---------------------------------------------------------------

COUNTER = 1


def read_counter():
    return COUNTER


def call_len(x):
    return len(x)


def test_global_rebinding_is_seen():
    def scenario(f):
        global COUNTER
        out = []
        for i in range(5):
            COUNTER = i
            out.append(f())
            out.append(f())
        g = f.__globals__
        del g["COUNTER"]
        out.append(outcome(f))
        COUNTER = "back"
        out.append(f())
        return results(*out)

    try:
        run_both(scenario, read_counter)
    finally:
        globals()["COUNTER"] = 1


def test_builtin_shadowed_and_unshadowed_is_seen():
    def scenario(f):
        out = [f([1, 2]), f("abc")]
        g = f.__globals__
        g["len"] = lambda x: "shadow"
        out.append(f([1]))
        del g["len"]
        out.append(f([1]))
        import builtins

        saved = builtins.len
        builtins.len = lambda x: "patched builtin"
        try:
            out.append(f([1]))
        finally:
            builtins.len = saved
        out.append(f([1, 2, 3]))
        return results(*out)

    run_both(scenario, call_len)


def test_name_error_message_and_attribute_from_the_cache_miss():
    def missing():
        return NOT_DEFINED_ANYWHERE  # noqa: F821

    compiled = jit(twin(missing))
    for _ in range(3):
        assert outcome(compiled) == outcome(missing)
    try:
        compiled()
    except NameError as e:
        assert e.name == "NOT_DEFINED_ANYWHERE"


def test_globals_of_another_dict_sharing_the_code():
    """The cache is per site, not per dict: two functions of one code object with
    different globals each see their own."""
    def src():
        return VALUE  # noqa: F821

    a = types.FunctionType(src.__code__, {"VALUE": "a", "__builtins__": __builtins__})
    b = types.FunctionType(src.__code__, {"VALUE": "b", "__builtins__": __builtins__})
    jit(a)
    jit(b)
    assert [a(), b(), a(), b()] == ["a", "b", "a", "b"]


# --- attribute loads ----------------------------------------------------------------------


def read_x(o):
    return o.x


def test_instance_value_then_class_changes():
    def scenario(f):
        class A:
            def __init__(self):
                self.x = 1

        a = A()
        out = [f(a), f(a)]
        A.x = property(lambda self: "property wins")
        out.append(f(a))
        del A.x
        out.append(f(a))
        A.x = "class attr, instance wins"
        out.append(f(a))
        del A.x
        A.__getattribute__ = lambda self, name: "getattribute " + name
        out.append(f(a))
        del A.__getattribute__
        out.append(f(a))
        A.__getattr__ = lambda self, name: "getattr " + name
        del a.x
        out.append(f(a))
        del A.__getattr__
        out.append(outcome(f, a))
        a.x = 5
        out.append(f(a))
        return results(*out)

    run_both(scenario, read_x)


def test_instance_dict_materialised_replaced_and_class_assigned():
    def scenario(f):
        class A:
            def __init__(self):
                self.x = "values"

        class B:
            x = "B's class attribute"

        a = A()
        out = [f(a)]
        vars(a)["x"] = "through __dict__"
        out.append(f(a))
        a.__dict__ = {"x": "new dict"}
        out.append(f(a))
        a2 = A()
        out.append(f(a2))
        a2.__class__ = B
        out.append(f(a2))
        out.append(f(A()))
        del a2.x
        out.append(f(a2))
        return results(*out)

    run_both(scenario, read_x)


def test_missing_attribute_messages():
    def scenario(f):
        class A:
            pass

        class S:
            __slots__ = ("x",)

        out = [outcome(f, A()), outcome(f, S()), outcome(f, 3), outcome(f, None)]
        s = S()
        s.x = "slot"
        out += [f(s), f(s)]
        del s.x
        out.append(outcome(f, s))
        return results(*out)

    run_both(scenario, read_x)


def test_slots_and_subclass_slots():
    def scenario(f):
        class S:
            __slots__ = ("x", "y")

            def __init__(self):
                self.x = "S"

        class T(S):
            __slots__ = ("z",)

        class D(S):
            pass  # has a __dict__ too

        t, d = T(), D()
        out = [f(S()), f(t), f(d), f(S())]
        d.__dict__["x"] = "in dict: the slot still wins"
        out.append(f(d))
        return results(*out)

    run_both(scenario, read_x)


def test_module_attributes_and_monkeypatching():
    def get_sqrt(m):
        return m.sqrt

    def scenario(f):
        mod = types.ModuleType("fake")
        mod.sqrt = "first"
        out = [f(mod), f(mod)]
        mod.sqrt = "rebound"
        out.append(f(mod))
        del mod.sqrt
        out.append(outcome(f, mod))
        mod.__getattr__ = lambda name: "module getattr " + name
        out.append(f(mod))
        out.append(f(math) is math.sqrt)
        other = types.ModuleType("other")
        other.sqrt = "other module"
        out.append(f(other))
        out.append(f(mod))
        return results(*out)

    run_both(scenario, get_sqrt)


def test_polymorphic_site_gives_up_and_stays_right():
    def scenario(f):
        classes = []
        for i in range(100):
            cls = type(f"C{i}", (), {})
            obj = cls()
            obj.x = i
            classes.append(obj)
        out = [f(o) for o in classes]
        out += [f(o) for o in reversed(classes)]
        return results(*out)

    run_both(scenario, read_x)


# --- attribute stores -----------------------------------------------------------------


def write_x(o, v):
    o.x = v
    return o.x


def test_stores_through_every_kind():
    def scenario(f):
        class A:
            pass

        class S:
            __slots__ = ("x",)

        class P:
            @property
            def x(self):
                return "property"

            @x.setter
            def x(self, v):
                self.seen = v

        a = A()
        out = [f(a, 1), f(a, 2), f(A(), 3), list(vars(a))]
        b = A()
        b.y = 0
        out.append(f(b, 4))
        out.append(list(vars(b)))  # insertion order: y then x
        s = S()
        out += [f(s, 5), f(s, 6)]
        p = P()
        out += [f(p, 7), p.seen]
        A.x = property(lambda self: "now a property")
        out.append(outcome(f, a, 8))
        del A.x
        out.append(f(a, 9))
        vars(a)
        out.append(f(a, 10))
        out.append(outcome(f, 3, 1))
        out.append(outcome(f, (), 1))
        return results(*out)

    run_both(scenario, write_x)


def test_store_releases_the_old_value():
    """The replaced value is released (its destructor runs) at the store."""
    def store(o, v):
        o.x = v

    def scenario(f):
        log = []

        class Noisy:
            def __init__(self, n):
                self.n = n

            def __del__(self):
                log.append(f"del {self.n}")

        class A:
            pass

        a = A()
        for i in range(4):
            f(a, Noisy(i))
            log.append(f"stored {i}")
        del a
        return log

    run_both(scenario, store)


def test_store_with_setattr_override():
    def scenario(f):
        class A:
            def __setattr__(self, name, value):
                object.__setattr__(self, name, ("wrapped", value))

        a = A()
        return results(f(a, 1), f(a, 2), f(A(), 3))

    run_both(scenario, write_x)


# --- method loads ---------------------------------------------------------------------


def call_m(o):
    return o.m()


def test_method_loads_with_shadowing_and_changes():
    def scenario(f):
        class A:
            def m(self):
                return "A.m"

        class B(A):
            pass

        a = A()
        out = [f(a), f(a), f(B())]
        a.m = lambda: "instance attribute wins"
        out.append(f(a))
        out.append(f(A()))
        A.m = lambda self: "replaced on the class"
        out.append(f(A()))
        out.append(f(B()))
        B.m = staticmethod(lambda: "static")
        out.append(f(B()))
        B.m = classmethod(lambda cls: cls.__name__)
        out.append(f(B()))
        del A.m
        out.append(outcome(f, A()))
        return results(*out)

    run_both(scenario, call_m)


def test_method_loads_on_builtin_types_and_subclasses():
    def upper(o):
        return o.upper()

    def scenario(f):
        class S(str):
            def upper(self):
                return "S.upper"

        class T(str):
            pass

        return results(f("abc"), f("abc"), f(S("x")), f(T("t")), outcome(f, 3), f(b"by"))

    run_both(scenario, upper)


def test_method_on_object_whose_dict_has_the_name():
    def scenario(f):
        class A:
            def m(self):
                return "method"

        a = A()
        out = [f(a)]
        a.__dict__["m"] = lambda: "from __dict__"
        out.append(f(a))
        b = A()
        b.other = 1
        out.append(f(b))
        return results(*out)

    run_both(scenario, call_m)


# --- CALL fast paths --------------------------------------------------------------------


def append_twice(lst, x):
    lst.append(x)
    lst.append(x)
    return lst


class MyList(list):
    def append(self, x):
        super().append(("mine", x))


class PlainSub(list):
    pass


def test_list_append_fast_path_and_overrides():
    def scenario(f):
        return results(f([], 1), f(MyList(), 2), f(PlainSub(), 3), outcome(f, (), 1),
                       outcome(f, None, 1))

    run_both(scenario, append_twice)


def method_calls(s, d):
    return [s.upper(), s.startswith("a"), s.split(","), s.replace("a", "b", 1),
            d.get("k"), d.get("k", 0), d.setdefault("z", 3), sorted(d.keys()),
            s.encode(), s.find("b", 0, 10), s.strip()]


def test_method_descriptor_fast_paths():
    class D(dict):
        def get(self, k, default=None):
            return ("D.get", k, default)

    def scenario(f):
        return results(f(" a,b ", {"k": 1}), f("aa", {}), f("x", D()),
                       outcome(f, 3, {}), outcome(f, "x", 5))

    run_both(scenario, method_calls)


def test_method_descriptor_argument_errors():
    def direct(s, lst):
        out = []
        try:
            s.upper(1)
        except TypeError as e:
            out.append(str(e))
        try:
            lst.append()
        except TypeError as e:
            out.append(str(e))
        try:
            lst.append(1, 2)
        except TypeError as e:
            out.append(str(e))
        try:
            s.startswith()
        except TypeError as e:
            out.append(str(e))
        return out

    def scenario(f):
        return f("x", [])

    run_both(scenario, direct)


@pytest.mark.parametrize("n", [0, 1, 70])
def test_many_receiver_types_for_one_method_site(n):
    def scenario(f):
        objs = [type(f"K{i}", (), {"m": lambda self, i=i: i})() for i in range(n)]
        objs += ["s", [1], {1: 2}]
        out = []
        for o in objs:
            out.append(outcome(f, o))
        return out

    def call_m_or_len(o):
        return o.m() if hasattr(o, "m") else o.__len__()

    run_both(scenario, call_m_or_len)


def test_refcounts_stay_level_through_cached_sites():
    class A:
        def __init__(self):
            self.x = object()

        def m(self):
            return self.x

    def body(a, v, lst):
        a.x = v
        y = a.x
        lst.append(y)
        lst.pop()
        return a.m()

    f = jit(twin(body))
    a, v, lst = A(), object(), []
    for _ in range(10):
        f(a, v, lst)
    before = (sys.getrefcount(a), sys.getrefcount(v), sys.getrefcount(lst),
              sys.getrefcount(A.m))
    for _ in range(10_000):
        f(a, v, lst)
    after = (sys.getrefcount(a), sys.getrefcount(v), sys.getrefcount(lst),
             sys.getrefcount(A.m))
    assert before == after


# --- the kinds added for dict-backed objects, classes, descriptors, polymorphic sites -----


def read_y(o):
    return o.y


def test_dict_backed_instances_read_and_write_through_the_hint():
    # Objects whose __dict__ is materialised (LOAD_ATTR_WITH_HINT, STORE_ATTR_WITH_HINT):
    # the hint goes stale when the dict changes shape, and a deleted key is a miss.
    def scenario(f):
        class A:
            pass

        objs = []
        for i in range(6):
            a = A()
            vars(a)  # materialises the __dict__
            a.x = i
            a.y = -i
            objs.append(a)
        out = [f(o) for o in objs for _ in range(3)]
        del objs[2].x
        out.append(outcome(f, objs[2]))
        objs[3].__dict__.clear()
        objs[3].z = 1
        objs[3].x = "after clear"
        out.append(f(objs[3]))
        d = objs[4].__dict__
        for k in range(20):
            d[f"k{k}"] = k  # the dict grows: a new keys table
        out.append(f(objs[4]))
        out.append(f(objs[0]))
        return results(*out)

    run_both(scenario, read_x)


def test_dict_backed_stores_tell_dict_watchers_and_keep_versions():
    def scenario(f):
        class A:
            pass

        a = A()
        vars(a)
        a.x = 0
        out = []
        for i in range(5):
            out.append(f(a, i))
        # A value that may need tracking goes into an untracked dict.
        b = A()
        vars(b)
        b.x = 1
        f(b, [b])
        import gc
        out.append(gc.is_tracked(b.__dict__))
        out.append(outcome(f, b, "text"))
        return results(*out)

    run_both(scenario, write_x)


def read_attr_of_class(cls):
    return cls.value


def test_class_attributes_through_the_class():
    def scenario(f):
        class A:
            value = 1

        class B(A):
            pass

        out = [f(A), f(B), f(A)]
        A.value = 2
        out += [f(A), f(B)]
        B.value = staticmethod(len)
        out += [f(B)]
        A.value = lambda self: None
        out += [f(A) is A.__dict__["value"], f(B)]

        class Meta(type):
            value = "meta wins"

        class C(metaclass=Meta):
            pass

        out += [f(C)]
        del Meta.value
        out += [outcome(f, C)]
        return results(*[str(x) if callable(x) else x for x in out])

    run_both(scenario, read_attr_of_class)


def test_data_descriptors_and_class_attributes_through_instances():
    def scenario(f):
        log = []

        class Prop:
            def __get__(self, obj, owner):
                log.append(("get", type(obj).__name__))
                return "descr"

            def __set__(self, obj, value):
                raise AttributeError("read-only")

        class A:
            x = Prop()

        class Slotted:
            __slots__ = ("a",)
            x = "class value"

        class Plain:
            x = property(lambda self: self.__dict__.get("shadow", "property"))

        a, s, p = A(), Slotted(), Plain()
        a.__dict__["x"] = "instance (a data descriptor wins)"
        out = [f(a), f(a), f(s), f(s), f(p)]
        p.__dict__["shadow"] = "through the getter"
        out.append(f(p))
        Plain.x = property(lambda self: 1 / 0)
        out.append(outcome(f, p))
        Slotted.x = property(lambda self: "now a property")
        out.append(f(s))
        out.append(log)
        return results(*out)

    run_both(scenario, read_x)


def test_a_site_that_sees_four_classes_keeps_them_all_exact():
    # A base class's method on its subclasses' instances: each class has its own shared
    # keys, so the index differs; then a fifth class pushes the oldest entry out.
    def scenario(f):
        class Base:
            def __init__(self, n):
                for k in range(n):
                    setattr(self, f"a{k}", k)
                self.x = n

        classes = [type(f"S{i}", (Base,), {}) for i in range(6)]
        objs = [cls(i) for i, cls in enumerate(classes)]
        out = []
        for _ in range(5):
            out += [f(o) for o in objs[:4]]
        out += [f(o) for o in objs]
        classes[1].x = property(lambda self: "changed class")
        out += [f(o) for o in objs]
        return results(*out)

    run_both(scenario, read_x)


def call_m1(o):
    return o.m(1)


def test_methods_of_objects_with_a_dict():
    # METHOD_DICT: the instance dict is still looked up, so a key added there hides the
    # method, and a key whose __eq__ runs sees the same lookups as under CPython.
    def scenario(f):
        class A:
            def m(self, x):
                return ("method", x)

        class WithDictSlot(list):
            def m(self, x):
                return ("list method", x)

        a = A()
        vars(a)
        w = WithDictSlot()
        w.extra = 1
        out = [f(a), f(a), f(w), f(w)]
        a.m = lambda x: ("instance", x)
        out.append(f(a))
        del a.m
        out.append(f(a))

        class Key(str):
            def __eq__(self, other):
                out.append("eq called")
                return str.__eq__(self, other)

            __hash__ = str.__hash__

        a.__dict__[Key("m")] = lambda x: ("odd key", x)
        out.append(f(a))
        return results(*[x if not isinstance(x, tuple) else x for x in out])

    run_both(scenario, call_m1)


# --- calls: direct calls with defaults and keywords, interpreted callees -------------------


def callee(a, b=2, c=3):
    return (a, b, c)


def calls_with_defaults_and_keywords(x):
    return [callee(x), callee(x, 5), callee(x, c=7), callee(c=8, a=x), callee(x, 5, 6),
            callee(b=9, a=x)]


def test_direct_calls_bind_defaults_and_keywords_as_cpython():
    jit(callee)
    try:
        want = outcome(twin(calls_with_defaults_and_keywords), 1)
        got = outcome(jit(twin(calls_with_defaults_and_keywords)), 1)
        assert got == want
        bad = twin(calls_with_defaults_and_keywords)

        def errors(f):
            return [outcome(f, *args) for args in [(), (1, 2, 3, 4)]] + [
                outcome(lambda: f(1, a=2)), outcome(lambda: f(1, d=2))]

        assert errors(jit(twin(callee))) == errors(twin(callee))
        del bad
    finally:
        from ember.runtime import install

        install.uninstall(callee)
