"""Start of every Ember process: read Ember's switches, then hand over to the runtime.

Imported through `ember-jit.pth` while `site` runs (in an interpreter started as
`ember-python`), before the program's own code. Nothing here may print or fail in a way the
program could see, except a bad Ember option, which ends the process the way CPython ends
it for a bad option of its own.

The fast path: when no Ember switch is set at all (no `-X jit…` option, no `EMBER_*`
variable), the settings are the defaults, and at the defaults all a process needs before
something gets hot is the C hotness counter: no stats, no log, no options to parse. So this
module then loads `ember._hotness` and `ember.options` (constants only) and registers the
counter with `sys.monitoring`; the runtime (`ember.runtime.driver`, its report, the
compiler) is imported by `_first_hot` when the first function gets hot, and a program where
nothing does never loads it. `tests/cli/test_startup.py` guards what start-up loads.
"""

import sys

#: The C counter's hook on the fast path, until the runtime exists; then its `_on_hot`.
_counter = None
_runtime_hot = None
#: When the process started (time.perf_counter), for the run time in the stats and the
#: compile warm-up.
_started = 0.0


def _switch_given() -> bool:
    """Whether any `-X jit…` option or `EMBER_*` variable is set. Variables count even
    under -E/-I (where `options.parse` ignores most of them): the slow path is always right."""
    for name in sys._xoptions:
        if name == "jit" or name.startswith("jit-"):
            return True
    import os  # loaded already by site

    for name in os.environ:
        if name.startswith("EMBER_"):
            return True
    return False


def _start() -> None:
    global OPTIONS
    import os

    from ember import options

    try:
        OPTIONS = options.parse()
    except options.OptionError as exc:
        sys.stderr.write(f"ember: {exc}\n")
        sys.stderr.flush()
        os._exit(2)

    if OPTIONS.jit:
        try:
            from ember import runtime

            runtime.start(OPTIONS)
        except Exception as exc:  # noqa: BLE001 - a broken JIT must leave a working CPython
            if OPTIONS.log is not None:
                sys.stderr.write(f"ember: the JIT is off: {type(exc).__name__}: {exc}\n")


def _start_counting() -> None:
    """The defaults: count with the C counter; nothing else until something gets hot.
    Whatever goes wrong leaves plain CPython (the slow path's stats would say why; the
    defaults write none)."""
    global _counter
    try:
        from ember import _hotness, options
    except ImportError:
        return
    mon = sys.monitoring
    if getattr(_hotness, "VERSION", None) != options.HOTNESS_VERSION:
        return
    try:
        mon.use_tool_id(options.MONITORING_TOOL, "ember")
    except ValueError:
        return
    weight = options.BACK_EDGES_PER_CALL
    _counter = _hotness.Counter(
        _first_hot, threshold=options.DEFAULT_THRESHOLD * weight, call_weight=weight,
        py_headroom=options.COMPILER_PY_FRAMES, c_headroom=options.COMPILER_C_UNITS)
    mon.register_callback(options.MONITORING_TOOL, mon.events.PY_START, _counter)
    mon.register_callback(options.MONITORING_TOOL, mon.events.JUMP, _counter)
    mon.set_events(options.MONITORING_TOOL, mon.events.PY_START | mon.events.JUMP)
    import atexit

    atexit.register(_at_exit)


def _first_hot(code, frame):
    """The counter's hook on the fast path: the first time, start the runtime around the
    counter that is already counting, then let it decide."""
    global _runtime_hot
    if _runtime_hot is None:
        try:
            from ember import runtime

            opts = globals().get("OPTIONS") or __getattr__("OPTIONS")
            _runtime_hot = runtime.adopt(opts, _counter, _started)._on_hot
        except Exception:  # noqa: BLE001 - the JIT never breaks the program
            _runtime_hot = _stay_off
    return _runtime_hot(code, frame)


def _stay_off(code, frame):
    return sys.monitoring.DISABLE


def _at_exit() -> None:
    if _runtime_hot is not None and _runtime_hot is not _stay_off:
        from ember import runtime

        rt = runtime.current()
        if rt is not None:
            rt.at_exit()


def __getattr__(name):
    # `OPTIONS` on the fast path: the defaults, made at first use (pipeline.dump_kinds, tests).
    if name == "OPTIONS":
        global OPTIONS
        from ember.options import Options

        OPTIONS = Options()
        return OPTIONS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _boot() -> None:
    global _started
    import time

    _started = time.perf_counter()
    if _switch_given():
        _start()
    else:
        _start_counting()


_boot()
