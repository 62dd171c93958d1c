"""Putting compiled code on function objects and taking it off again.

`install(func, entry)` calls `PyFunction_SetVectorcall` on the original function object:
its identity, `__code__`, `__name__`, `__defaults__`, `inspect.signature` and pickling stay
as they are; every call, from the interpreter or from C, now goes through the entry. (3.12
also sets `func_version` to 0, so the interpreter stops inlining calls to it.) The entry
keeps `_PyFunction_Vectorcall` for what it does not handle; `uninstall` puts it back.

The bookkeeping that must happen at CPython's own moments lives in C, in `ember._hotness`
(see its header): a function watcher with no Python callback puts `_PyFunction_Vectorcall`
back on an installed function whose `__code__`, `__defaults__` or `__kwdefaults__` is
about to change (the compiled code assumed the old ones), and forgets a function when it
is destroyed, logging both. So no Python code of Ember's runs when a closure is created or
a function freed, and a tracer or profiler never sees Ember.

Here, `_installed` keeps what the stats need (the code object, the entry's counters),
keyed by the function's address; it holds no reference to the function, so installing never keeps a
function alive. `drain()` reads the C log, in order, before every use of `_installed`:
a destroyed function's record goes (its address may be reused by a new function), a
modified one's goes and is reported to `on_invalidate`. So an invalidation reaches the
stats and the log at the next install, report or exit, not at the moment it happened.
"""


from ember import _hotness

#: CPython's own vectorcall for Python functions, which the entries fall back to.
PY_VECTORCALL = _hotness.PY_VECTORCALL

_WATCH_EVENTS = {
    _hotness.EVENT_MODIFY_CODE: "__code__ changed",
    _hotness.EVENT_MODIFY_DEFAULTS: "__defaults__ changed",
    _hotness.EVENT_MODIFY_KWDEFAULTS: "__kwdefaults__ changed",
}


class Installed:
    """What `record(address)` answers: the code object an entry was compiled for and
    the addresses of its two call counters (calls that ran the body, calls handed to
    CPython)."""

    __slots__ = ("address", "code", "native_calls", "interpreted_calls")

    def __init__(self, address: int, code, native_calls: int, interpreted_calls: int):
        self.address = address  # id() of the function object
        self.code = code
        self.native_calls = native_calls
        self.interpreted_calls = interpreted_calls


#: id(function) -> the code object it was compiled for; and -> (the entry's counters),
#: as one int pair packed in an int. Flat, plain values: installing adds no object the
#: cycle collector tracks (programs and CPython's own tests count gc.get_objects()).
_installed: dict[int, object] = {}
_counters: dict[int, int] = {}


def record(address: int) -> Installed | None:
    """The record of the function at `address`, if Ember installed code on it."""
    code = _installed.get(address)
    if code is None:
        return None
    both = _counters[address]
    return Installed(address, code, both >> 64, both & ((1 << 64) - 1))


#: Called as on_invalidate(code, reason) for a function a watched change sent back.
on_invalidate = None

vectorcall_of = _hotness.vectorcall_of
is_installed = _hotness.is_installed
installed_count = _hotness.installed_count


def install(func, entry) -> None:
    """Route every call of `func` through `entry` (a backend.entry.Entry)."""
    drain()
    _hotness.install(func, entry.address)  # RuntimeError if another vectorcall is set
    _installed[id(func)] = func.__code__
    _counters[id(func)] = (entry.native_calls << 64) | entry.interpreted_calls
    if getattr(entry, "body", 0) and entry.direct_argcount >= 0:
        # Compiled callers may call the body directly while this entry is the
        # function's vectorcall (src/ember/_calls.c).
        _hotness.register_direct(entry.address, entry.body, entry.native_calls,
                                 entry.direct_argcount)


def uninstall(func) -> bool:
    """Send `func` back to the interpreter; False if Ember had nothing on it."""
    drain()
    _installed.pop(id(func), None)
    _counters.pop(id(func), None)
    return _hotness.uninstall(func)


def uninstall_all() -> None:
    drain()
    _hotness.uninstall_all()
    _installed.clear()
    _counters.clear()


def shutdown() -> None:
    """Everything back to the interpreter and the watcher gone (at exit, or ember.uninstall)."""
    drain()
    _hotness.clear()
    _installed.clear()
    _counters.clear()


def drain() -> None:
    """Apply the C watcher's log: forget destroyed functions, report invalidated ones."""
    for address, code_address, event in _hotness.take_events():
        code = _installed.get(address)
        if code is None or id(code) != code_address:
            continue  # not a function installed through here (or already forgotten)
        del _installed[address]
        _counters.pop(address, None)
        reason = _WATCH_EVENTS.get(event)
        if reason is not None and on_invalidate is not None:
            try:
                on_invalidate(code, reason)
            except Exception:  # noqa: BLE001 - a broken report never reaches the program
                pass
