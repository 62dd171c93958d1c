"""Compile functions eagerly with tier 1 and compare them with CPython running them."""

from __future__ import annotations

import atexit
import sys
import traceback
import types

from ember import pipeline
from ember.runtime import install

# Without the runtime's own exit hook, the function watcher would still be registered
# while the interpreter finalizes (its ctypes callback then crashes in a late GC).
atexit.register(install.shutdown)


def jit(func):
    """Compile `func` with tier 1 now and install it; returns `func`."""
    entry = pipeline.compile(func)
    install.install(func, entry)
    return func


def twin(func):
    """An interpreted copy of `func` (same code, globals, defaults, closure)."""
    return types.FunctionType(
        func.__code__, func.__globals__, func.__name__, func.__defaults__, func.__closure__
    )


def outcome(func, *args):
    """('ok', repr-with-types) or ('raise', type, message, traceback text)."""
    try:
        result = func(*args)
    except BaseException:  # noqa: BLE001
        etype, exc, tb = sys.exc_info()
        text = "".join(traceback.format_exception(etype, exc, tb.tb_next))
        return ("raise", etype.__name__, str(exc), text)
    return ("ok", exact(result))


def exact(value):
    """A structure that tells 1, 1.0, True and -0.0 apart."""
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(exact(v) for v in value))
    if isinstance(value, float):
        return ("float", value.hex() if value == value else "nan")
    return (type(value).__name__, repr(value))


def same(func, *argsets):
    """Compile a copy of func and check every argument tuple gives CPython's outcome."""
    compiled = jit(twin(func))
    for args in argsets:
        want = outcome(func, *args)
        got = outcome(compiled, *args)
        assert got == want, (args, got, want)
    return compiled
