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
timer (the first WARMUP_MS of the run count nothing), and its hooks import this module
only when something happens; `_take_over` then adopts that state. When the warm-up ends
(`_warmed_up`) this module starts the sampler that switches the counter's events on for
the functions seen running (runtime/sampler.py); the runtime (`ember.runtime.driver`,
its report, the compiler) is imported by `_first_hot` when the first function gets hot,
and a program where nothing does never loads it. `tests/cli/test_startup.py` guards
what start-up loads.
"""

import sys

#: The C counter's hook on the fast path, until the runtime exists; then its `_on_hot`.
_counter = None
_runtime_hot = None
#: When the process started (time.perf_counter), for the run time in the stats and the
#: compile warm-up.
_started = 0.0
#: The native timer is armed for `_warmed_up` (counting has not started yet).
_timer = False
#: After the warm-up: the sampler that picks the functions to count
#: (ember.runtime.sampler), and whether the native timer is armed for its next sample.
_sampler = None
_sampling = False
_fork_hooks = False


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
    """From here on this module decides: the counter `_hotness.boot` registered, counting
    from the end of the warm-up (the timer armed) or from the start. Its hooks (the
    counter's, the timer's, the fork and exit handlers) call this module's functions."""
    global _counter, _started, _timer, _fork_hooks
    _counter, started_ns, armed = state
    _started = started_ns / 1e9
    _timer = bool(armed)
    _fork_hooks = bool(armed)  # the C start registers them with the timer


def _count_all() -> None:
    from ember import defaults

    mon = sys.monitoring
    mon.set_events(defaults.MONITORING_TOOL, mon.events.PY_START | mon.events.JUMP)


def _arm() -> bool:
    """Have `_warmed_up` run when the warm-up ends (False if no thread can wait for it)."""
    global _timer, _fork_hooks
    import time

    from ember import _hotness
    from ember.defaults import WARMUP_MS

    at = _started + WARMUP_MS / 1000
    try:
        _hotness.replies_watch(
            -1, time.monotonic_ns() + max(int((at - time.perf_counter()) * 1e9), 0), _warmed_up)
    except OSError:
        return False
    _timer = True
    if not _fork_hooks:
        import os

        os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent,
                            after_in_child=_after_fork_in_child)
        _fork_hooks = True
    return True


def _disarm() -> None:
    global _timer
    if _timer:
        from ember import _hotness

        _timer = False
        _hotness.replies_stop()


def _warmed_up() -> None:
    """The warm-up is over: sample from now on, and count what the samples find."""
    global _sampler
    if _timer:
        _disarm()
        try:
            from ember.runtime.sampler import Sampler

            _sampler = Sampler(_counter)
        except Exception:  # noqa: BLE001 - the JIT never breaks the program
            _count_all()
            return
        if not _arm_sample():
            _sampler = None
            _count_all()


def _arm_sample() -> bool:
    """Have `_sample` run one interval from now (False if no thread can wait for it)."""
    global _sampling
    import time

    from ember import _hotness

    try:
        _hotness.replies_watch(-1, time.monotonic_ns() + _sampler.interval_ns, _sample)
    except OSError:
        return False
    _sampling = True
    return True


def _sample() -> None:
    global _sampling
    if _sampling:
        _sampling = False
        _sampler.sample()
        _arm_sample()


# The timer's thread must not exist at a fork (3.12 warns about forking a process with
# threads); before the runtime exists these keep it across one. The runtime has its own.


def _before_fork() -> None:
    if _timer or _sampling:
        from ember import _hotness

        _hotness.replies_stop()


def _after_fork_in_parent() -> None:
    if _timer and not _arm():
        _warmed_up()
    elif _sampling:
        _arm_sample()


def _after_fork_in_child() -> None:
    if _timer or _sampling:
        from ember import _hotness

        _hotness.replies_forget()  # the thread was the parent's
        if _sampling:
            _arm_sample()
        elif not _arm():
            _warmed_up()


def _first_hot(code, frame):
    """The counter's hook on the fast path: the first time, start the runtime around the
    counter that is already counting, then let it decide."""
    if _runtime_hot is None:
        adopt()
    return _runtime_hot(code, frame)


def adopt():
    """The runtime, made now around the counter that counts (or waits for the end of the
    warm-up to start): at the first hot function, or when the library interface
    (`ember.jit`, `ember.install`, `ember.stats`) is used on the fast path."""
    global _runtime_hot, _sampling
    from ember import runtime

    if _runtime_hot is None:
        waiting = _timer
        if waiting:
            _disarm()  # the runtime takes the warm-up over
        if _sampling:
            _sampling = False  # ... or the sampling
            from ember import _hotness

            _hotness.replies_stop()
        try:
            opts = globals().get("OPTIONS") or __getattr__("OPTIONS")
            _runtime_hot = runtime.adopt(opts, _counter, _started, counting=not waiting,
                                         sampler=_sampler)._on_hot
        except Exception:  # noqa: BLE001 - the JIT never breaks the program
            _runtime_hot = _stay_off
            if waiting:
                _count_all()  # still counted: the hook then turns each code off
    return runtime.current()


def _stay_off(code, frame):
    return sys.monitoring.DISABLE


def _at_exit() -> None:
    global _sampling, _timer
    if _timer or _sampling:
        from ember import _hotness

        # No thread of Ember's touches Python while the interpreter finalises; a sleeping
        # one is left to the process's end rather than woken and joined.
        _timer = _sampling = False
        _hotness.replies_leave()
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
