"""Exception handlers, raise and the exception ops under tier 1, against CPython.

Each function is compiled (a refusal fails the test: `jit` raises `Refused`) and run next
to its interpreted twin; the outcome compared is the result or the exception with its
full chained traceback text (lines and carets), every traceback entry's `tb_lineno`,
`tb_lasti` and frame locals, what the function printed, and the handled exception left
behind (`sys.exception()`).
"""

# ruff: noqa: B012, B016, B018, B030, F841 - the programs under test do these on purpose

from __future__ import annotations

import contextlib
import gc
import io
import re
import subprocess
import sys
import textwrap
import traceback

import pytest

from tests.harness import CPYTHON, EMBER, environment
from tests.lower.support import exact, jit, twin


def _addressless(v):
    return re.sub(r" at 0x[0-9a-f]+", "", repr(v)) if "traceback" in repr(v) else repr(v)


def _describe(exc):
    text = "".join(traceback.format_exception(exc))
    entries = []
    tb = exc.__traceback__.tb_next if exc.__traceback__ is not None else None
    while tb is not None:
        f = tb.tb_frame
        entries.append((f.f_code.co_name, tb.tb_lineno, tb.tb_lasti,
                        sorted((k, _addressless(v)) for k, v in f.f_locals.items())))
        tb = tb.tb_next
    chain = []
    e = exc
    while e is not None and len(chain) < 5:
        chain.append((type(e).__name__, str(e), e.__suppress_context__,
                      type(e.__cause__).__name__))
        e = e.__context__
    return ("raise", text, entries, chain)


def observe(func, *args):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            result = ("ok", exact(func(*args)))
        except BaseException as exc:  # noqa: BLE001
            result = _describe(exc)
    return result, out.getvalue(), repr(sys.exception())


def check(func, *argsets):
    """Compile a copy of `func`; every argument tuple gives CPython's outcome."""
    compiled = jit(twin(func))
    for args in argsets:
        want = observe(func, *args)
        got = observe(compiled, *args)
        assert got == want, (args, got, want)
    return compiled


# --- try / except / else / finally --------------------------------------------------------


def try_except(x):
    try:
        y = 10 // x
    except ZeroDivisionError as e:
        y = -1
        print("caught", e, sys.exc_info()[0].__name__, repr(sys.exception()))
    else:
        print("else", y)
    finally:
        print("finally", x)
    print("after", repr(sys.exception()))
    return y


def test_try_except_else_finally():
    check(try_except, (2,), (0,), ("s",))


def tuple_match(x, k):
    try:
        return x[k]
    except (IndexError, KeyError) as e:
        return ("missing", type(e).__name__)
    except TypeError:
        return "type"


def test_except_tuple_and_chain_of_clauses():
    check(tuple_match, ([1], 0), ([1], 5), ({}, "a"), (None, 1), (5, "x"))


def bad_clause(x):
    try:
        return 1 / x
    except 42:
        return "never"


def test_except_non_exception_class():
    check(bad_clause, (1,), (0,))


def bad_clause_tuple(x):
    try:
        return 1 / x
    except (ValueError, "nope"):
        return "never"


def test_except_tuple_with_non_class():
    check(bad_clause_tuple, (0,))


def nested(x):
    try:
        try:
            return [1, 2][x]
        except IndexError:
            print("inner", x)
            return {}[x]
        finally:
            print("inner finally")
    except KeyError as e:
        print("outer", repr(e), repr(e.__context__))
        return "outer"


def test_nested_try_and_exception_in_handler():
    check(nested, (0,), (5,), ("a",))


def in_handler(x):
    try:
        1 / x
    except ZeroDivisionError:
        x.missing  # an AttributeError whose __context__ is the ZeroDivisionError


def test_exception_in_handler_chains_context():
    check(in_handler, (0,), (1,))


def return_in_finally(x):
    try:
        if x:
            raise ValueError(x)
        return "body"
    finally:
        print("finally", repr(sys.exception()))
        if x == 2:
            return "finally wins"


def test_return_through_finally():
    check(return_in_finally, (0,), (1,), (2,))


def loop_finally(n):
    out = []
    for i in range(n):
        try:
            if i == 1:
                continue
            if i == 3:
                break
            out.append(i)
        finally:
            out.append(-i)
    return out


def test_break_continue_through_finally():
    check(loop_finally, (0,), (2,), (5,))


def loop_catch(xs):
    total = 0
    for x in xs:
        try:
            total += 100 // x
        except ZeroDivisionError:
            total -= 1
        except TypeError:
            break
    return total


def test_catch_in_a_loop():
    check(loop_catch, ([1, 0, 3, 0],), ([1, "a", 2],))


def swallow_all(x):
    try:
        raise KeyboardInterrupt(x)
    except BaseException as e:
        return type(e).__name__, e.args


def test_base_exception():
    check(swallow_all, (1,))


def uncaught_base(x):
    try:
        raise KeyboardInterrupt(x)
    except Exception:
        return "no"


def test_base_exception_passes_except_exception():
    check(uncaught_base, (1,))


def exc_name_cleared(x):
    try:
        1 / x
    except ZeroDivisionError as e:
        pass
    try:
        return e  # noqa: F821 - UnboundLocalError: `as e` is deleted
    except UnboundLocalError as u:
        return str(u)


def test_except_as_name_is_deleted():
    check(exc_name_cleared, (0,))


def format_exc_inside(x):
    try:
        {}[x]
    except KeyError:
        return traceback.format_exc()


def test_traceback_format_exc_inside_handler():
    check(format_exc_inside, ("k",))


def tb_frame_locals(x):
    y = x * 2
    try:
        z = y + "s"
    except TypeError as e:
        f = e.__traceback__.tb_frame
        return sorted(f.f_locals), f.f_lineno, e.__traceback__.tb_lineno, z if 0 else y


def test_traceback_frame_locals():
    check(tb_frame_locals, (3,))


def raise_in_finally(x):
    try:
        1 / x
    finally:
        print("finally", repr(sys.exception()))
        {}[x]


def test_exception_raised_in_finally_chains():
    check(raise_in_finally, (0,), (1,))


def failing_iter(n):
    for i in range(n):
        if i == 2:
            raise StopIteration("in a generator")  # becomes a RuntimeError
        yield i


def iterate_in_try(make):
    seen = []
    try:
        for v in make():
            seen.append(v)
    except Exception as e:
        seen.append(type(e).__name__)
    return seen


def test_iterator_raising_mid_loop_inside_try():
    check(iterate_in_try, (lambda: [1, 2],), (lambda: failing_iter(5),),
          (lambda: map(lambda x: 1 // x, [1, 0]),))


def store_and_raise_later(x):
    box = []
    try:
        1 / x
    except ZeroDivisionError as e:
        box.append(e)
    print("stored", len(box))
    raise box[0]


def test_raise_stored_exception_keeps_its_traceback():
    check(store_and_raise_later, (0,), (1,))


def handler_returns_from_with(m, x):
    try:
        with m:
            return 10 // x
    except ZeroDivisionError:
        return "zero"
    finally:
        print("done")


def test_return_from_with_inside_try():
    check(handler_returns_from_with, (Manager(), 2), (Manager(), 0),
          (Manager(fail_exit=True), 2))


def continue_in_except(xs):
    out = []
    for x in xs:
        try:
            out.append(10 // x)
        except ZeroDivisionError:
            continue
        finally:
            out.append("f")
    return out


def test_continue_in_except_through_finally():
    check(continue_in_except, ([1, 0, 2],))


# --- raise ------------------------------------------------------------------------------


def raising(kind):
    if kind == 0:
        raise ValueError("bad value")
    if kind == 1:
        raise TypeError
    if kind == 2:
        raise 42
    if kind == 3:
        raise ValueError("x") from KeyError("k")
    if kind == 4:
        raise ValueError("x") from None
    if kind == 5:
        raise ValueError("x") from TypeError
    if kind == 6:
        raise ValueError("x") from 5
    if kind == 7:
        raise
    if kind == 8:
        raise NotAnException
    return kind


class NotAnException:
    pass


class Weird(BaseException):
    def __new__(cls):
        return 5


def test_raise_forms():
    check(raising, *[(k,) for k in range(10)])


def raise_weird():
    raise Weird


def test_raise_class_returning_non_instance():
    check(raise_weird, ())


def reraise_bare(x):
    try:
        1 / x
    except ZeroDivisionError:
        print("reraise")
        raise


def test_bare_raise_keeps_the_original_line():
    check(reraise_bare, (0,), (1,))


def reraise_named(x):
    try:
        int(x)
    except ValueError as e:
        raise e


def test_raise_caught_exception_object():
    check(reraise_named, ("z",))


def raise_from(x):
    try:
        return {}[x]
    except KeyError as e:
        raise LookupError("wrapped") from e


def test_raise_from_in_handler():
    check(raise_from, ("q",))


def bare_raise_in_callee():
    raise


def call_bare_raise_inside(x):
    try:
        1 / x
    except ZeroDivisionError:
        bare_raise_in_callee()


def test_bare_raise_sees_callers_handled_exception():
    jit(bare_raise_in_callee)
    check(call_bare_raise_inside, (0,))


def reraise_after_inner(x):
    try:
        1 / x
    except ZeroDivisionError:
        try:
            [][x]
        except IndexError:
            pass
        print(repr(sys.exception()))
        raise


def test_handled_exception_restored_after_inner_handler():
    check(reraise_after_inner, (0,))


# --- assert -----------------------------------------------------------------------------


def asserting(x):
    assert x > 0, f"x is {x}"
    assert x != 2
    return x


def test_assert():
    check(asserting, (1,), (-1,), (2,), ("s",))


# --- with -------------------------------------------------------------------------------


class Manager:
    def __init__(self, suppress=False, fail_exit=False, fail_enter=False):
        self.suppress, self.fail_exit, self.fail_enter = suppress, fail_exit, fail_enter

    def __enter__(self):
        print("enter")
        if self.fail_enter:
            raise RuntimeError("enter failed")
        return self

    def __exit__(self, typ, val, tb):
        print("exit", typ.__name__ if typ else None, repr(val), tb is not None)
        if self.fail_exit:
            raise OSError("exit failed")
        return self.suppress


def with_body(m, x):
    with m as v:
        print("body", v is m)
        y = 10 // x
    return y if x else "suppressed"


def test_with_statement():
    check(with_body, (Manager(), 2), (Manager(), 0), (Manager(suppress=True), 0),
          (Manager(fail_exit=True), 0), (Manager(fail_exit=True), 1),
          (Manager(fail_enter=True), 1))


def with_not_a_manager(x):
    with x:
        return 1


class OnlyEnter:
    def __enter__(self):
        return self


def test_with_non_manager_messages():
    check(with_not_a_manager, (5,), (OnlyEnter(),))


def with_return_and_loop(ms):
    out = []
    for m in ms:
        with m:
            if len(out) == 1:
                continue
            out.append(1)
            if len(out) == 3:
                return out
    return out


def test_with_through_continue_and_return():
    check(with_return_and_loop, ([Manager(), Manager(), Manager(), Manager()],))


def nested_with(a, b, x):
    with a, b:
        return 1 // x


def test_nested_with():
    check(nested_with, (Manager(), Manager(suppress=True), 0),
          (Manager(), Manager(fail_exit=True), 1))


def with_open_file(path, x):
    with open(path) as f:
        first = f.readline()
        return first[x]


def test_with_open(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("hello\n")
    check(with_open_file, (str(p), 0), (str(p), 50), (str(tmp_path / "none"), 0))


# --- comprehensions (inlined, with an exception-table entry) ------------------------------


def comprehensions(xs):
    a = [10 // x for x in xs]
    b = {x: 1 // x for x in xs}
    c = {x % 3 for x in xs}
    return a, b, c


def test_comprehension_raising_mid_loop():
    check(comprehensions, ([1, 2],), ([1, 0, 2],), ([1, "a"],))


def comprehension_shadow(x):
    out = [x for x in range(3)]
    return out, x


def test_comprehension_restores_shadowed_local():
    check(comprehension_shadow, ("outer",))


# --- refcounts ----------------------------------------------------------------------------


def raise_and_catch(obj, n):
    for _ in range(n):
        try:
            raise ValueError(obj)
        except ValueError as e:
            keep = e.args
        finally:
            keep = obj
    return keep


def with_and_raise(m, obj, n):
    for _ in range(n):
        try:
            with m:
                raise KeyError(obj)
        except KeyError:
            pass


def comprehension_raise(obj, n):
    for _ in range(n):
        try:
            [1 // x for x in (obj, 0)]
        except (ZeroDivisionError, TypeError):
            pass


def test_refcounts_stable_over_many_raises():
    compiled = jit(twin(raise_and_catch))
    compiled2 = jit(twin(with_and_raise))
    compiled3 = jit(twin(comprehension_raise))
    obj = object()
    m = Manager(suppress=False)
    quiet = io.StringIO()
    with contextlib.redirect_stdout(quiet):
        compiled(obj, 10)
        compiled2(m, obj, 10)
        compiled3(obj, 10)
        gc.collect()
        before = sys.getrefcount(obj), sys.getrefcount(m), sys.getrefcount(ValueError)
        compiled(obj, 10_000)
        compiled2(m, obj, 10_000)
        compiled3(obj, 10_000)
        gc.collect()
        after = sys.getrefcount(obj), sys.getrefcount(m), sys.getrefcount(ValueError)
    assert after == before


# --- not lowered: refused with a reason ---------------------------------------------------


def except_star(x):
    try:
        raise ExceptionGroup("g", [ValueError(x)])
    except* ValueError:
        x = 1
    return x


def test_except_star_is_refused():
    from ember.bytecode import Refused

    with pytest.raises(Refused):
        jit(twin(except_star))


# --- whole process: an uncaught exception through handlers --------------------------------

PROGRAM = """
import sys

class M:
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        return False

def inner(d, k):
    try:
        return d[k]
    except KeyError:
        raise
    finally:
        d["seen"] = k

def middle(d, k):
    with M():
        try:
            return inner(d, k) + 1
        except TypeError as e:
            raise ValueError("typed") from e

def outer(d):
    xs = [middle(d, k) for k in ("a", "b")]
    assert xs, "empty"
    return xs

print(outer({"a": 1, "b": 2}))
try:
    outer({"a": "s"})
except ValueError as e:
    print("caught", e, repr(e.__cause__))
print(sys.exception())
outer({"a": 1})
"""


def test_uncaught_traceback_through_handlers(tmp_path):
    prog = tmp_path / "prog.py"
    prog.write_text(textwrap.dedent(PROGRAM))
    stats = tmp_path / "stats.json"
    env = environment()
    want = subprocess.run([str(CPYTHON), str(prog)], capture_output=True, env=env)
    got = subprocess.run([str(EMBER), "-X", "jit-threshold=0", "-X", f"jit-stats={stats}",
                          str(prog)], capture_output=True, env=env)
    assert (got.returncode, got.stdout, got.stderr) == (want.returncode, want.stdout,
                                                        want.stderr)
    assert want.returncode == 1 and b"KeyError: 'b'" in want.stderr
    import json

    data = json.loads(stats.read_text())
    compiled = {c["qualname"] for c in data["compiled"] if c["filename"] == str(prog)}
    assert {"inner", "middle", "outer", "M.__enter__", "M.__exit__"} <= compiled, data
