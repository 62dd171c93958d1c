"""The runtime: decides what to compile and when, installs compiled code, keeps stats.

`start(options)` is called once at process start by `ember._boot` when the JIT is on; it
only loads the C hotness counter (`ember._hotness`) and registers it as a
`sys.monitoring` callback (a fraction of a millisecond). Everything else
(ctypes, the ABI check, the compiler, LLVM) is imported when the first function gets hot.
See `driver.py` for the decisions, `install.py` for installation, `stats.py` for reports.
"""

_runtime = None


def start(options) -> None:
    """Turn the JIT on in this process (once; later calls do nothing)."""
    global _runtime
    if _runtime is not None:
        return
    try:
        import atexit

        from ember.runtime.driver import Runtime

        rt = Runtime(options)
        # Counting starts when the warm-up ends; when it cannot count, it says why (log,
        # stats); stats still at exit.
        rt.start(after_warmup=True)
        _runtime = rt
        atexit.register(rt.at_exit)
    except Exception as exc:  # noqa: BLE001 - the JIT never stops the program from starting
        if options.log is not None:
            import sys

            sys.stderr.write(f"ember: runtime failed to start: {type(exc).__name__}: {exc}\n")


def adopt(options, counter, started: float, counting: bool = True, sampler=None):
    """The runtime for `ember._boot`'s fast path, made when the first function gets hot
    (or the library interface is used): it takes over the C counter that `_boot`
    registered as tool MONITORING_TOOL, counting since the warm-up ended (or, not
    `counting`, still waiting for it; with `sampler`, the functions it sampled), with
    `started` as the process's start. `_boot`
    registered the exit handler already."""
    global _runtime
    if _runtime is None:
        from ember.runtime.driver import Runtime

        rt = Runtime(options, started=started)
        rt.adopt(counter, counting, sampler)
        _runtime = rt
    return _runtime


def current_or_boot():
    """The running runtime; on `ember._boot`'s fast path (the `ember` command with no
    switch), the one made around its counter if none exists yet; else None."""
    if _runtime is None:
        from ember import _started_here

        boot = _started_here()
        if boot is not None and boot._counter is not None:
            return boot.adopt()
    return _runtime


def stop() -> None:
    """Turn the JIT off: stop counting, send compiled functions back to the interpreter.

    Stats are kept and still written at exit.
    """
    if _runtime is not None:
        _runtime.stop()


def stats() -> dict:
    """What `-X jit-stats=PATH` would write now (empty lists if the JIT never started).
    Compiles already queued in the background finish first, so what got hot is there."""
    if current_or_boot() is None:
        from ember.runtime.report import Stats

        return Stats(threshold=0).as_dict()
    remote = _runtime.remote
    if remote is not None:
        remote.drain()  # first: a lost server hands its functions to the worker
    worker = _runtime.worker
    if worker is not None:
        worker.wait()
    return _runtime.stats.as_dict()


def current():
    """The running `driver.Runtime`, or None (for tests and tools)."""
    return _runtime
