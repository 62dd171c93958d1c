"""Ember: a JIT compiler for CPython 3.12.

`ember app.py` runs a program as `python3.12 app.py` would, compiling its hot code. As a
library, `ember.install()` turns the JIT on inside any CPython 3.12 process.

This file is read by whatever Python imports it, so it keeps to syntax every Python 3 can
parse: on the wrong interpreter the user gets one clear line and exit status 2.
"""

import sys

__version__ = "0.1.0"

if sys.implementation.name != "cpython" or sys.version_info[:2] != (3, 12):
    sys.stderr.write(
        "ember: needs CPython 3.12, found {} {}.{}.{} ({})\n".format(
            sys.implementation.name,
            *sys.version_info[:3],
            sys.executable or "unknown interpreter",
        )
    )
    raise SystemExit(2)


# The library interface. Each function loads what it needs when called, so `import ember`
# stays cheap (no llvmlite, no ctypes: those load when something is about to be compiled).
# `-X jit=off` / `EMBER_JIT=off` switches them off, as it does the `ember` command.


def install(*, threshold=None, stats=None, log=None, background=None):
    """Turn the JIT on in this process: count calls and loops, compile what gets hot.

    Keyword arguments override Ember's switches (`-X jit-threshold`, `-X jit-stats`,
    `-X jit-log`, `-X jit-background`, or their `EMBER_*` variables), and apply at the
    first install() only. `background=False` compiles on the thread that made a function
    hot, at that moment. Returns True when the JIT is counting. Calling it again does
    nothing.
    """
    from ember.runtime import library

    return library.install(threshold=threshold, stats=stats, log=log, background=background)


def uninstall():
    """Turn the JIT off: stop counting and send every compiled function back to the
    interpreter. The stats are kept; `install()` turns the JIT on again (functions already
    decided stay interpreted)."""
    from ember.runtime import library

    library.uninstall()


def jit(func=None):
    """Decorator: compile `func` at its first call, without waiting for it to get hot.

    The function object is returned as it is (same identity, `__code__`, `__name__`);
    the first call runs interpreted and triggers the compile, later calls run the compiled
    code. A function Ember cannot compile stays interpreted (see `stats()["refused"]`).
    Works with or without `install()`; without it, nothing else is counted or compiled.
    Also takes a staticmethod or classmethod, and may be written `@jit()`.
    """
    if func is None:
        return jit
    import types

    target = func.__func__ if isinstance(func, (staticmethod, classmethod)) else func
    if type(target) is not types.FunctionType:
        raise TypeError(
            "ember.jit expects a Python function, got {}".format(type(target).__name__)  # noqa: UP032
        )
    from ember.runtime import library

    library.jit(target)
    return func


def stats():
    """What `-X jit-stats=PATH` would write now, as a dict (see ember.runtime.report)."""
    from ember import runtime

    return runtime.stats()


def _started_here():
    """`ember._boot` if Ember's start ran in this process, else None. On the launcher's
    fast path only the C start (`_hotness.boot`) ran: `_boot` is imported now, and takes
    its state over."""
    boot = sys.modules.get("ember._boot")
    if boot is None:
        hotness = sys.modules.get("ember._hotness")
        state = getattr(hotness, "boot_state", None)
        if state is not None and state() is not None:
            from ember import _boot as boot
    return boot


# ember-jit.pth may have loaded the extension by its path before this package existed;
# the import system then left it out of the package's namespace.
if "ember._hotness" in sys.modules:
    _hotness = sys.modules["ember._hotness"]
