"""Compiled calls are real frames: callees that inspect their caller see what CPython shows.

Each scenario runs a function compiled by tier 1 and its interpreted twin (same code) and
compares what a callee observes about its caller's frame.
"""

from __future__ import annotations

import dis
import gc
import inspect
import io
import logging
import sys
import traceback
import warnings

from tests.lower.support import jit, outcome, twin


def both(func, *args):
    """(compiled result, interpreted result) of calling func(*args)."""
    interpreted = twin(func)
    return jit(func)(*args), interpreted(*args)


def peek():
    f = sys._getframe(1)
    return f.f_code.co_name, f.f_lineno, f.f_lasti, sorted(f.f_locals.items())


def caller_of_peek(a):
    b = a * 2
    c = [b]
    seen = peek()
    return seen, c


def test_getframe_sees_the_compiled_caller():
    got, want = both(caller_of_peek, 3)
    assert got == want
    assert got[0][0] == "caller_of_peek"


def warn_caller(x):
    warnings.warn(f"careful {x}", stacklevel=2)


def warn_user(x):
    y = x + 1
    warn_caller(y)
    return y


def test_warnings_stacklevel_2():
    def run(f):
        with warnings.catch_warnings(record=True) as log:
            warnings.simplefilter("always")
            f(1)
        return [(w.filename, w.lineno, str(w.message)) for w in log]

    interpreted = twin(warn_user)
    assert run(jit(warn_user)) == run(interpreted)
    assert run(warn_user)[0][0] == __file__


def log_user(logger, x):
    logger.warning("value %s", x)
    return x


def test_logging_find_caller():
    stream = io.StringIO()
    logger = logging.getLogger("ember.test.frames")
    logger.propagate = False
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(funcName)s %(lineno)d %(filename)s %(message)s"))
    logger.addHandler(handler)
    try:
        twin(log_user)(logger, 1)
        jit(log_user)(logger, 1)
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert lines[0] == lines[1]
    assert lines[0].startswith("log_user ")


def stack_names():
    return [(fi.function, fi.lineno) for fi in inspect.stack()[:3]]


def stack_user(x):
    return stack_names()


def extract():
    return [(fs.name, fs.lineno, fs.line) for fs in traceback.extract_stack()[-3:]]


def extract_user(x):
    z = x
    return extract(), z


def test_inspect_stack_and_extract_stack():
    got, want = both(stack_user, 0)
    assert got[:2] == want[:2] and got[1][0] == "stack_user"
    got, want = both(extract_user, 0)
    assert got[0][:2] == want[0][:2] and got[0][1][0] == "extract_user"


def print_user(x):
    out = io.StringIO()
    traceback.print_stack(limit=2, file=out)
    return out.getvalue()


def test_print_stack():
    got, want = both(print_user, 0)
    assert got == want and "print_user" in got


def grab():
    return sys._getframe(1)


def keeper(a):
    b = a + 1
    return grab(), b


def test_frame_kept_after_return():
    def describe(frame):
        return (frame.f_code.co_name, frame.f_lineno, frame.f_lasti,
                sorted(frame.f_locals.items()), frame.f_back.f_code.co_name)

    compiled, interpreted = jit(keeper), twin(keeper)
    got, want = describe(compiled(5)[0]), describe(interpreted(5)[0])
    assert got == want
    assert got[4] == "test_frame_kept_after_return"


def keeper_tail(a):
    fr = grab()
    n = 7  # noqa: F841 (seen through the kept frame)
    b = a  # noqa: F841
    del a
    return fr


def keeper_tail_const(a):
    fr = grab()
    x = fr
    y = "tail"  # noqa: F841
    return x


def test_frame_kept_after_return_sees_stores_after_the_last_call():
    for func in (keeper_tail, keeper_tail_const):
        got, want = jit(func)(3), twin(func)(3)
        assert (got.f_lineno, got.f_lasti, sorted(got.f_locals)) == (
            want.f_lineno, want.f_lasti, sorted(want.f_locals))


def raiser(x):
    return x / 0


def raise_user(a):
    b = a + 1
    return raiser(b)


def test_traceback_frames():
    def run(f):
        try:
            f(1)
        except ZeroDivisionError as e:
            tb = e.__traceback__.tb_next
            text = "".join(traceback.format_exception(e)).splitlines()[1:]
            out = []
            while tb:
                fr = tb.tb_frame
                out.append((fr.f_code.co_name, tb.tb_lineno, tb.tb_lasti,
                            sorted(fr.f_locals.items()), fr.f_back.f_code.co_name))
                tb = tb.tb_next
            return out, text

    # The callee stays interpreted in both runs: CPython inlines calls to functions
    # whose vectorcall is its own, and then the caller's tb_lasti is the CALL's last
    # cache entry, which the compiled caller must reproduce.
    compiled, interpreted = jit(raise_user), twin(raise_user)
    got, want = run(compiled), run(interpreted)
    assert got == want
    call = next(i for i in dis.get_instructions(raise_user) if i.opname == "CALL")
    assert got[0][0][2] == call.offset + 6


def bad_arity(a):
    return raiser(a, a)


def test_argument_error_lasti_is_the_call():
    def run(f):
        try:
            f(1)
        except TypeError as e:
            tb = e.__traceback__.tb_next
            return tb.tb_lineno, tb.tb_lasti, str(e)

    assert run(jit(bad_arity)) == run(twin(bad_arity))


def plain_super(x):
    return super()


def test_zero_argument_super_as_a_plain_call():
    compiled, interpreted = jit(plain_super), twin(plain_super)
    assert outcome(compiled, 1)[:3] == outcome(interpreted, 1)[:3]


def deep(n):
    return deep(n + 1)


def test_deep_recursion_error():
    compiled = jit(deep)
    interpreted = twin(deep)
    assert outcome(compiled, 0)[:3] == outcome(interpreted, 0)[:3]
    assert outcome(compiled, 0)[1] == "RecursionError"


def sometimes_keep(a, keep):
    b = [a]
    if keep:
        return grab()
    return b


def test_refcounts_stable_with_frames():
    f = jit(sometimes_keep)
    arg = object()
    for i in range(1000):
        f(arg, i % 3 == 0)
    gc.collect()
    before = sys.getrefcount(arg)
    for i in range(100_000):
        r = f(arg, i % 7 == 0)
    del r
    gc.collect()
    assert sys.getrefcount(arg) == before
    f(arg, False)
    assert sys._getframe(0).f_code.co_name == "test_refcounts_stable_with_frames"


def profiled(x):
    return peek()


def test_profiler_sees_calls_from_compiled_caller():
    def run(f):
        seen = []

        def prof(frame, event, arg):
            if event == "call" and frame.f_code.co_name == "peek":
                seen.append(frame.f_back.f_code.co_name)

        sys.setprofile(prof)
        try:
            f(1)
        finally:
            sys.setprofile(None)
        return seen

    compiled, interpreted = jit(profiled), twin(profiled)
    assert run(compiled) == run(interpreted) == ["profiled"]


def compiled_raiser(x):
    return 1 / x


def interpreted_caller(x):
    return compiled_raiser(x)


def test_interpreted_caller_lasti_as_if_inlined():
    """CPython inlines an interpreted CALL of a Python function: the caller's tb_lasti is
    the CALL's last cache entry, also when the callee is compiled; an argument error
    (no frame ran) stays at the CALL."""
    def lasti(f, *args):
        try:
            f(*args)
        except (ZeroDivisionError, TypeError) as e:
            return e.__traceback__.tb_next.tb_lasti

    call = next(i for i in dis.get_instructions(interpreted_caller) if i.opname == "CALL")
    want = lasti(interpreted_caller, 0)
    assert want == call.offset + 6
    jit(compiled_raiser)
    assert lasti(interpreted_caller, 0) == want
    call = next(i for i in dis.get_instructions(arity_caller) if i.opname == "CALL")
    assert lasti(arity_caller) == call.offset


def arity_caller():
    return compiled_raiser(1, 2)


def test_a_borrowed_function_that_deletes_itself_stays_alive_until_its_frame_ends():
    # A module's __getattr__ is called with a reference borrowed from the module's dict
    # (module_getattro): one that deletes itself from there must keep running on the
    # frame's own reference to it, as in CPython (f_funcobj). Crashed before.
    import types

    def run(compile_it):
        mod = types.ModuleType("selfdeleting")
        exec("def __getattr__(name):\n"
             "    if name != 'go':\n"
             "        raise AttributeError(name)\n"
             "    del globals()['__getattr__']\n"
             "    raise AttributeError('gone ' + name)\n", mod.__dict__)
        if compile_it:
            mod.__dict__["__getattr__"] = jit(mod.__dict__["__getattr__"])
        seen = []
        for name in ("x", "go", "go"):
            try:
                getattr(mod, name)
            except AttributeError as e:
                seen.append(str(e))
        gc.collect()
        return seen

    assert run(True) == run(False) == ["x", "gone go", "module 'selfdeleting' has no attribute 'go'"]
