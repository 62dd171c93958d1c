"""The library interface behind `ember.install`, `ember.uninstall` and `ember.jit`.

These start the same runtime that `ember app.py` starts at boot (`ember.runtime.start`),
in any CPython 3.12 process: a notebook, a test runner, a server. `install()` counts every
function; `jit(func)` alone registers the counter but switches events on for the marked
code objects only (`Runtime.mark`), so the rest of the program runs with no callback.
`uninstall()` is `Runtime.stop`: no more events, every compiled function back to
`_PyFunction_Vectorcall`. Code objects the runtime decided about (compiled or refused)
keep that mark in the C counter, so a later `install()` does not compile them again.
"""

from __future__ import annotations

from ember import runtime


def _library_options(overrides: dict):
    """Options for the library interface: Ember's switches (`-X jit…`, `EMBER_*`), with
    keyword arguments winning; None when they say `jit=off` (then the library does
    nothing, as the `ember` command would compile nothing)."""
    from ember import options

    base = options.parse()
    if not base.jit:
        return None
    values = {name: getattr(base, name) for name in options.Options.__slots__}
    unknown = set(overrides) - {"threshold", "stats", "log", "background"}
    if unknown:
        raise TypeError(f"install() got an unexpected keyword argument {sorted(unknown)[0]!r}")
    values.update(overrides)
    values["jit"] = True
    threshold = values["threshold"]
    if type(threshold) is not int or threshold < 0:
        raise ValueError(f"threshold must be a non-negative int, got {threshold!r}")
    return options.Options(**values)


def _ensure(count_all: bool, overrides: dict) -> object | None:
    """The runtime, started (again) if needed; None under `-X jit=off` / `EMBER_JIT=off`."""
    rt = runtime.current_or_boot()
    if rt is None:
        import atexit

        from ember.runtime.driver import Runtime

        opts = _library_options(overrides)
        if opts is None:
            return None
        rt = Runtime(opts)
        runtime._runtime = rt
        atexit.register(rt.at_exit)
    elif overrides:
        raise RuntimeError("ember is already installed in this process; options apply only "
                           "to the first install()")
    if not rt.enabled or (count_all and not rt.counting_all):
        rt.start(count_all=count_all)
    return rt


def install(**overrides) -> bool:
    """Turn the JIT on in this process (`ember.install`); True if it is counting."""
    rt = _ensure(True, {k: v for k, v in overrides.items() if v is not None})
    return rt is not None and rt.enabled


def uninstall() -> None:
    """Turn the JIT off (`ember.uninstall`): stop counting, every compiled function back to
    the interpreter. Stats are kept; `install()` turns it on again."""
    runtime.stop()


def jit(func):
    """Compile `func` at its first call (`ember.jit`); returns `func` itself."""
    rt = _ensure(False, {})
    if rt is not None:
        try:
            rt.mark(func)
        except Exception as exc:  # noqa: BLE001 - the JIT never breaks the program
            rt._internal_error(func.__code__, exc)
    return func
