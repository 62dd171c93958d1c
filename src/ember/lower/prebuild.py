"""The shared helpers by name, so that any of them can be built without lowering a body.

Bodies call shared helpers (`support.shared_function`: frame pop, traceback exit, CALL,
the argument binder, ...), which a process compiles the first time a lowering asks for
one. Machine code loaded from the persistent cache was lowered in another process, so
before it is loaded the helpers it declares must exist here too: `ensure(names)` builds
the missing ones. Every helper registers its maker here (`@helper(NAME)`); a maker takes
a `Lowering` (`cx`) and returns the helper's declaration in `cx.module`.
"""

from __future__ import annotations

_MAKERS: dict = {}


def _backend_makers() -> None:
    from ember.backend import binder, support

    _MAKERS[binder.BIND] = lambda cx: binder.bind_function(cx.module)
    _MAKERS[binder.UNBIND] = lambda cx: binder.unbind_function(cx.module)
    _MAKERS[support.RAISED_IN] = lambda cx: support.raised_in_function(cx.module)


def helper(name: str):
    """Register `make(cx)` as the way to build the shared helper `name`."""

    def register(make):
        _MAKERS[name] = make
        return make

    return register


def known() -> frozenset[str]:
    """The names of every shared helper that can be built."""
    import ember.lower  # noqa: F401 - every lowering module registers its helpers

    _backend_makers()
    return frozenset(_MAKERS)


def ensure(names) -> bool:
    """Build the shared helpers among `names` that this process does not have yet;
    False if one of them is unknown (then the cached code cannot be loaded)."""
    import ember.lower  # noqa: F401 - every lowering module registers its helpers
    from ember.backend import support

    _backend_makers()
    missing = [n for n in names if n not in support.shared_names()]
    if not missing:
        return True
    if any(n not in _MAKERS for n in missing):
        return False
    from ember.backend.engine import get_engine
    from ember.lower.function import Lowering

    module = get_engine().new_module("ember.prebuild")  # only declarations land here
    cx = Lowering(None, None, module, "ember.prebuild")
    cx.frame = cx.tstate = cx.b = None
    for n in missing:
        _MAKERS[n](cx)
    return True
