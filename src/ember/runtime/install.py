"""Putting compiled code on function objects and taking it off again.

`install(func, entry)` calls `PyFunction_SetVectorcall` on the original function object:
its identity, `__code__`, `__name__`, `__defaults__`, `inspect.signature` and pickling stay
as they are; every call, from the interpreter or from C, now goes through the entry. (3.12
also sets `func_version` to 0, so the interpreter stops inlining calls to it.) The entry
keeps `_PyFunction_Vectorcall` for what it does not handle; `uninstall` puts it back.

A function watcher takes the code off a function whose `__code__`, `__defaults__` or
`__kwdefaults__` is about to change (the compiled code assumed the old ones), and forgets a
function when it is destroyed. Records hold no reference to the function (its address
only), so installing never keeps a function alive. The watcher is registered at the first
install; its first filter runs in machine code (see `backend.support.compile_func_watcher`).
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

from ember import abi

_api = ctypes.pythonapi
_api.PyFunction_SetVectorcall.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
_api.PyFunction_SetVectorcall.restype = None
_api.PyFunction_AddWatcher.argtypes = [ctypes.c_void_p]
_api.PyFunction_AddWatcher.restype = ctypes.c_int
_api.PyFunction_ClearWatcher.argtypes = [ctypes.c_int]
_api.PyFunction_ClearWatcher.restype = ctypes.c_int

#: CPython's own vectorcall for Python functions, which the entries fall back to.
PY_VECTORCALL = ctypes.cast(_api._PyFunction_Vectorcall, ctypes.c_void_p).value

_WATCH_EVENTS = {
    abi.FUNC_EVENT_MODIFY_CODE: "__code__ changed",
    abi.FUNC_EVENT_MODIFY_DEFAULTS: "__defaults__ changed",
    abi.FUNC_EVENT_MODIFY_KWDEFAULTS: "__kwdefaults__ changed",
}
_WatchCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)


@dataclass(slots=True)
class Installed:
    address: int  # id() of the function object
    code: object  # the code object the entry was compiled for
    entry: object  # backend.entry.Entry (its machine code lives as long as the engine)


_installed: dict[int, Installed] = {}
_watcher_id: int | None = None
_watcher_callback = None  # the ctypes callback object, kept alive while registered
#: Called as on_invalidate(code, reason) after a watched change uninstalled a function.
on_invalidate = None


def vectorcall_of(func) -> int:
    return ctypes.c_void_p.from_address(id(func) + abi.Function.vectorcall).value or 0


def is_installed(func) -> bool:
    return id(func) in _installed


def installed_count() -> int:
    return len(_installed)


def install(func, entry) -> None:
    """Route every call of `func` through `entry` (a backend.entry.Entry)."""
    if vectorcall_of(func) != PY_VECTORCALL:
        raise RuntimeError(f"{func.__qualname__} does not use CPython's vectorcall")
    _ensure_watcher()
    _installed[id(func)] = Installed(id(func), func.__code__, entry)
    _api.PyFunction_SetVectorcall(id(func), entry.address)


def uninstall(func) -> bool:
    """Send `func` back to the interpreter; False if Ember had nothing on it."""
    return _uninstall_address(id(func))


def _uninstall_address(address: int) -> bool:
    rec = _installed.pop(address, None)
    if rec is None:
        return False
    vc = ctypes.c_void_p.from_address(address + abi.Function.vectorcall).value
    if vc == rec.entry.address:
        _api.PyFunction_SetVectorcall(address, PY_VECTORCALL)
    return True


def uninstall_all() -> None:
    for address in list(_installed):
        _uninstall_address(address)


def shutdown() -> None:
    """Everything back to the interpreter and the watcher gone (at exit, or ember.uninstall)."""
    global _watcher_id, _watcher_callback
    uninstall_all()
    if _watcher_id is not None:
        _api.PyFunction_ClearWatcher(_watcher_id)
        _watcher_id = None
        _watcher_callback = None


def _ensure_watcher() -> None:
    global _watcher_id, _watcher_callback
    if _watcher_id is not None:
        return
    from ember.backend import support

    callback = _WatchCallback(_on_function_event)
    handler = ctypes.cast(callback, ctypes.c_void_p).value
    filtered = support.compile_func_watcher(handler)
    wid = _api.PyFunction_AddWatcher(filtered)
    if wid < 0:
        raise RuntimeError("no function watcher left (CPython allows 8)")
    _watcher_id, _watcher_callback = wid, callback


def _on_function_event(event: int, func_address: int, new_value: int) -> int:
    # Runs inside CPython's function machinery: must not raise, must not keep `func`.
    try:
        if event == abi.FUNC_EVENT_DESTROY:
            _installed.pop(func_address, None)
        elif event in _WATCH_EVENTS:
            rec = _installed.get(func_address)
            if rec is not None and _uninstall_address(func_address) and on_invalidate:
                on_invalidate(rec.code, _WATCH_EVENTS[event])
    except BaseException:  # noqa: BLE001 - nothing may escape into CPython here
        pass
    return 0
