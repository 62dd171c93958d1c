"""Start of every Ember process: read Ember's switches, then hand over to the runtime.

Imported through `ember-jit.pth` while `site` runs (in an interpreter started as
`ember-python`), before the program's own code. Nothing here may print or fail in a way the
program could see, except a bad Ember option, which ends the process the way CPython ends
it for a bad option of its own.

The fast path: when no Ember switch is set at all (no `-X jit…` option, no `EMBER_*`
variable), the settings are the defaults, and at the defaults all a process needs before
something gets hot is the C hotness counter: no stats, no log, no options to parse. That
start is `_hotness.boot()` (src/ember/_start.c), which the launcher's venv calls from
`ember-jit.pth` before this module exists, and which `_start_counting` calls for an
installed wheel: it registers the counter with `sys.monitoring` and arms the warm-up
timer (the first WARMUP_MS of the run count nothing); when the warm-up ends it starts the
sampler that switches the counter's events on for the functions seen running
(runtime/sampler.py), all in C. Its hooks import this module only when a function gets
hot (`_first_hot`), or when the library interface asks for the runtime (`adopt`): the
runtime (`ember.runtime.driver`, its report, the compiler) takes the C start's state over
then, and a program where nothing gets hot never loads it. `tests/cli/test_startup.py`
guards what start-up loads.
"""

import sys

#: The C counter on the fast path; the counter's hook, once the runtime exists (its
#: `_on_hot`).
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
    defaults write none). The C start (`_hotness.boot`) does the work; the launcher's
    venv calls it before this module exists, a wheel's .pth from here."""
    try:
        from ember import _hotness, defaults
    except ImportError:
        return
    if getattr(_hotness, "VERSION", None) != defaults.HOTNESS_VERSION:
        return
    if _hotness.boot():
        _take_over(_hotness.boot_state())


def _take_over(state) -> None:
    """The C start ran (`_hotness.boot`): its counter, and when the process started. The
    warm-up, the sampler and the fork hooks stay the C start's until `adopt`."""
    global _counter, _started
    _counter, started_ns, _phase = state
    _started = started_ns / 1e9


def _count_all() -> None:
    from ember import defaults

    mon = sys.monitoring
    mon.set_events(defaults.MONITORING_TOOL, mon.events.PY_START | mon.events.JUMP)


def _first_hot(code, seen):
    """The counter's hook on the fast path: the first time, start the runtime around the
    counter that is already counting, then let it decide."""
    if _runtime_hot is None:
        adopt()
    return _runtime_hot(code, seen)


def adopt():
    """The runtime, made now around the counter that counts (or waits for the end of the
    warm-up to start), taking the C start's state over (`_hotness.boot_adopt`): at the
    first hot function, or when the library interface (`ember.jit`, `ember.install`,
    `ember.stats`) is used on the fast path."""
    global _runtime_hot
    from ember import _hotness, runtime

    if _runtime_hot is None:
        state = _hotness.boot_adopt()
        waiting, sampler = (state[2], state[3]) if state is not None else (False, None)
        try:
            opts = globals().get("OPTIONS") or __getattr__("OPTIONS")
            _runtime_hot = runtime.adopt(opts, _counter, _started, counting=not waiting,
                                         sampler=sampler)._on_hot
        except Exception:  # noqa: BLE001 - the JIT never breaks the program
            _runtime_hot = _stay_off
            if waiting:
                _count_all()  # still counted: the hook then turns each code off
    return runtime.current()


def _stay_off(code, seen):
    return sys.monitoring.DISABLE


def _at_exit() -> None:
    """After the C start's exit handler (which leaves its timer's thread): the runtime's."""
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
    hotness = sys.modules.get("ember._hotness")
    state = getattr(hotness, "boot_state", None)
    state = state() if state is not None else None
    if state is not None:
        _take_over(state)  # the C start ran (the launcher's venv)
    elif _switch_given():
        _start()
    else:
        _start_counting()


_boot()
