"""The runtime's decisions: count hotness, screen, check the ABI, compile, install, record.

Counting: `ember._hotness.Counter` (C, src/ember/_counter.c) is the `sys.monitoring`
callback of tool `OPTIMIZER_ID` for PY_START and JUMP. It keeps one integer per code object
in a co_extra slot (no reference to the code, no id() reuse) and pushes no Python frame, so
counting never moves the point where RecursionError strikes. A call adds
`BACK_EDGES_PER_CALL` units, a loop back-edge one; at `threshold` calls' worth of units it
calls `Runtime._on_hot(code, seen)` from C, on top of the frame that fired the event,
and only when the thread has room for the compiler's frames (`COMPILER_PY_FRAMES`,
`COMPILER_C_UNITS`; otherwise it tries again at a later event). It gets no frame object
but what the hook needs of that frame, read in C: `seen`, the function and the types of
its arguments (a frame object would be made for the hook and kept by the running frame
until it returns, where gc.get_objects() finds it). `_on_hot` returns
`DISABLE` once it decided (compiled or refused), after which every event of that code is
disabled; module and class bodies and forward jumps are disabled at once. So in steady
state the interpreter runs with no callback at all.

Quietly: the hook, and the runtime's tick (below), run with automatic collection off and
the youngest generation's count put back after them (src/ember/_sampler.c), so that what
they allocate never triggers a collection at a point the program did not, nor moves
gc.get_count(). What they keep is kept as plain values (report.py, install.py,
profile.py): gc.get_objects() stays as under python3.12.

Waking: the runtime acts at moments no event of the program marks (a compile's reply, the
end of the warm-up): the native thread of src/ember/_replies.c calls a `Sampler` (C),
which samples every few milliseconds at the default threshold, and calls `_tick` only
when a reply is readable or at a time the runtime asked for (`_rearm`).

Without the C counter (no C compiler at install time) nothing is counted and the JIT stays
off, saying why in the log and the stats: a Python callback would put its frame on top of
every counted call, which is not exact.

When a function is hot: `screen` (reasons to stay interpreted), then `ember.abi.check()`
the first time (a mismatch turns the JIT off with one warning line), then the compiler
(`ember.pipeline.compile(func, options)`, which returns a `backend.entry.Entry` or raises
`Refused`), then `install`. Any exception from any of it is caught and recorded as
`internal_error`; it never reaches the program and is printed only if logging is on.
None of it is the program's: a signal's Python handler never runs inside the hook or a
tick on the main thread (they run quietly, src/ember/_quiet.c: the handler waits for
the program's next eval-breaker check, where CPython would run it), so its exception
is neither caught here nor lost, and a wait for a compile ends when a handler is due
(remote.compile_now leaves the compile to finish in the background).

Thresholds: `DEFAULT_THRESHOLD` and `BACK_EDGES_PER_CALL` in ember/defaults.py, which says
how bench/thresholds.py measured them. Most of the C counter's cost is sys.monitoring's
own dispatch; the Python callback it replaced cost about 10x more per event and put a
frame on top of every counted call.

Headroom: the compiler's deepest stack, measured below the hook, is 78 Python frames and
73 C recursion units for the first compile (it imports llvmlite and the compiler), 26 and
30 for later ones. `COMPILER_PY_FRAMES` and `COMPILER_C_UNITS` ask for about three times
that, so a program that lowers its recursion limit below about 250 compiles nothing.
"""

import sys
import time

from ember.defaults import COMPILER_C_UNITS, COMPILER_PY_FRAMES, HOTNESS_VERSION, MONITORING_TOOL
from ember.runtime import sampler as sampling
from ember.runtime.report import Stats

# Ember's own code is never compiled: it runs while compiling, reporting and installing.
_OWN_DIR = __file__.rpartition("/runtime/")[0] + "/"
# Nor is the code of the compiler's dependencies (llvmlite), which runs while compiling;
# its directory is added once llvmlite is imported (it cannot run before). Skipped
# silently, as Ember's own code is: these are not the program's functions.
_skip_dirs: tuple[str, ...] = (_OWN_DIR,)
_DEPENDENCIES = ("llvmlite",)


def _not_compiled_here(filename: str) -> bool:
    global _skip_dirs
    if len(_skip_dirs) == 1:
        modules = [sys.modules.get(name) for name in _DEPENDENCIES]
        if all(m is not None for m in modules):
            dirs = [getattr(m, "__file__", None) or "" for m in modules]
            _skip_dirs += tuple(d.rpartition("/")[0] + "/" for d in dirs if "/" in d)
    return filename.startswith(_skip_dirs)




def load_counter_module():
    """`ember._hotness`, or a string saying why it cannot be used."""
    try:
        from ember import _hotness
    except ImportError as exc:
        import os

        note = os.path.join(os.path.dirname(__file__), os.pardir, "_hotness.missing")
        try:
            with open(note, encoding="utf-8") as f:
                why = f.read().strip()
        except OSError:
            why = f"{type(exc).__name__}: {exc}"
        return f"the C hotness counter is not built ({why})"
    if getattr(_hotness, "VERSION", None) != HOTNESS_VERSION:
        return (f"the C hotness counter is out of date (version "
                f"{getattr(_hotness, 'VERSION', None)}, needs {HOTNESS_VERSION}; reinstall)")
    return _hotness


class Runtime:
    def __init__(self, options, compiler=None, started: float | None = None):
        from ember.defaults import BACK_EDGES_PER_CALL, DEFAULT_THRESHOLD, WARMUP_MS

        self.options = options
        self.threshold = max(options.threshold, 1)  # 0 and 1 both mean "at the first call"
        self.call_weight = BACK_EDGES_PER_CALL
        self.stats = Stats(options.threshold, options.log, started)
        self._warm_up = None  # the pipeline's one-time start (timed apart: startup_ms)
        # Compile off the main thread (runtime/background.py) at the default threshold.
        # An explicit threshold (eager mode, tests, tuning) compiles at the moment the
        # function gets hot, unless -X jit-background=1 says otherwise.
        background = options.background
        if background is None:
            background = options.threshold == DEFAULT_THRESHOLD
        self.background = background
        self.worker = None
        # In a compile server process (runtime/compileserver.py) unless told "thread";
        # made when the first function gets hot.
        self.remote = None
        # Compiles run in the compile server (background or not) unless told "thread";
        # in this process when it cannot start. A compile in this process leaves about
        # 1,600 objects of the compiler's for the cycle collector, which programs (and
        # CPython's own tests) see in gc.get_objects(). `-X jit-dump=ir,llvm,asm` is
        # printed by whoever compiles, so dumps compile here: the server has no stderr.
        dumps = options.dump & {"ir", "llvm", "asm"}
        self._use_server = background != "thread" and compiler is None and not dumps
        # A fork's child has no worker thread and must not share the parent's server.
        if not _AT_FORK:
            import os

            os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent,
                                after_in_child=_after_fork)
        _AT_FORK[:] = [self]
        import _thread

        self.main_ident = _thread.get_ident()  # (a fork from another thread: _after_fork)

        warmup = options.warmup
        if warmup is None:
            warmup = WARMUP_MS if options.threshold == DEFAULT_THRESHOLD else 0
        self.warmup_s = warmup / 1000  # nothing compiles before the run is this old
        self.compiler = compiler  # None: ember.pipeline.compile, loaded when first needed
        self.enabled = False
        self.counter = None  # the ember._hotness.Counter while counting
        self.counter_module = None  # ember._hotness, once loaded
        self.counting_all = False  # counting every function (globally, or as sampled)
        # At the default threshold the counter's events go on per function, for those
        # the sampler saw running (runtime/sampler.py); an explicit threshold counts
        # every function's every call, so that "hot after N calls" is exact.
        self.sampled = options.threshold == DEFAULT_THRESHOLD
        self.sampler = None  # the Sampler while sampling (runtime/sampler.py)
        self._waker = None  # a Sampler that does not sample, to wake up when not sampling
        # Made once: the native thread keeps it, a cycle the C Sampler does not show the
        # collector (`stop` breaks it).
        self._tick_cb = self._tick
        self._count_later = False  # count_all at the end of the warm-up (`_tick`)
        self._in_hook = 0  # _on_hot calls under way (a tick waits for them: `_tick`)
        self._tick_wanted = False
        self._marked: dict[int, object] = {}  # code objects with local events (mark)
        self._abi_ok: bool | None = None
        self._compiling = False  # or the thread running compile_and_install

    # -- monitoring --------------------------------------------------------------------

    def start(self, count_all: bool = True, after_warmup: bool = False) -> bool:
        """Start counting; False (and the reason logged and in the stats) if it cannot.

        With count_all False, the counter is registered but no event is switched on
        globally: only functions given to `mark` are compiled (`ember.jit` without
        `ember.install`), and the rest of the program runs with no callback at all.
        With `after_warmup` (a process starting), the events go on when the warm-up
        ends: nothing is counted before (see `count_all`).
        """
        if self.enabled:
            if count_all:
                self.count_all(after_warmup)
            return True
        hotness = load_counter_module()
        if isinstance(hotness, str):
            return self._not_counting(f"{hotness}; the JIT stays off")
        mon = sys.monitoring
        try:
            mon.use_tool_id(MONITORING_TOOL, "ember")
        except ValueError:
            return self._not_counting(f"sys.monitoring tool {MONITORING_TOOL} is taken; the JIT stays off")
        self.counter_module = hotness
        self.counter = hotness.Counter(
            self._on_hot,
            threshold=self.threshold * self.call_weight,
            call_weight=self.call_weight,
            py_headroom=COMPILER_PY_FRAMES,
            c_headroom=COMPILER_C_UNITS,
        )
        mon.register_callback(MONITORING_TOOL, mon.events.PY_START, self.counter)
        mon.register_callback(MONITORING_TOOL, mon.events.JUMP, self.counter)
        self.stats.not_counting = None
        self.stats.counter = self.counter
        self.enabled = True
        if count_all:
            self.count_all(after_warmup)
        return True

    def adopt(self, counter, counting: bool = True, sampler=None) -> None:
        """Take over `counter`, which the C start (`ember._boot`) registered (tool
        MONITORING_TOOL) before this runtime existed: counting every function already
        (with `sampler`: the functions it samples, and it goes on), or (not `counting`)
        waiting for the end of the warm-up to start."""
        from ember import _hotness

        self.counter_module = _hotness
        self.counter = counter
        self.stats.not_counting = None
        self.stats.counter = counter
        self.enabled = True
        self.counting_all = counting
        if not counting:
            self.count_all(after_warmup=True)
        elif sampler is not None:
            self.sampled = True
            self.sampler = sampling.make(counter, sampler)
            self._rearm()

    def count_all(self, after_warmup: bool = False) -> None:
        """Count every function (the default; `ember.install`): at the default threshold
        those the sampler finds running (`self.sampled`), else every call. With `after_warmup`,
        from the end of the warm-up: a program that ends first pays nothing for
        counting, not even the instrumentation of its code, and what runs during its
        first milliseconds (imports, set-up) would be compiled for little."""
        if after_warmup and self.young():
            self._count_later = True
            self._rearm()
            return
        self._count_later = False
        self.counting_all = True
        if self.sampled:
            if self.sampler is None:
                self.sampler = sampling.make(self.counter)
                self._rearm()
            return
        sys.monitoring.set_events(MONITORING_TOOL, sys.monitoring.events.PY_START | sys.monitoring.events.JUMP)

    # -- waking up ---------------------------------------------------------------------

    def _rearm(self, soon: bool = False) -> None:
        """Have `_tick` run when the compile server's reply pipe is readable (something
        is pending), at the end of the warm-up (counting starts, or code waits to be
        sent), or (`soon`) in a millisecond; the native thread of src/ember/_replies.c
        waits for it, calling the Sampler (which samples meanwhile, in C, and calls
        `_tick` only then), and exists only while there is something to wait for."""
        hotness = self.counter_module
        if hotness is None:
            return
        young = self.young()
        if self._count_later and not young and self.enabled:
            self.count_all()
        remote = self.remote
        fd = -1
        if remote is not None and (len(remote.pending) or remote.client.outstanding):
            fd = remote.client.reply_fd  # (the thread also writes the requests)
            if remote._waiting and not young and remote.can_send():
                soon = True  # (without room, the replies that make room wake us)
        wake = 0
        if soon:
            wake = time.monotonic_ns() + 1_000_000
        elif young and (self._count_later or (remote is not None and remote._waiting)):
            left = self.warmup_s - (time.perf_counter() - self.stats.started)
            wake = time.monotonic_ns() + max(int(left * 1e9), 0)
        due = remote.client.check_due_ns() if fd >= 0 else 0
        if due and (not wake or due < wake):
            wake = due  # a server silent this long is looked at (compileserver.Client)
        try:
            self._watcher().watch(fd, wake, self._tick_cb)
        except OSError as exc:  # no thread: count now, wait for replies at drain()
            self.stats.log(f"cannot wait for replies in the background: {exc}")
            if self._count_later:
                self.count_all()

    def _watcher(self):
        """The Sampler the native thread calls: the sampler while sampling, else one
        that does not sample."""
        if self.sampler is not None and self.enabled:
            return self.sampler
        if self._waker is None:
            self._waker = self.counter_module.Sampler(None, sampling=False)
        return self._waker

    def _tick(self) -> bool:
        """Run by the native thread's request (with tracing suspended, quietly): start
        counting if the warm-up is over, and install the replies that arrived. Ember's own
        code under way (a hook, `drain`: on another frame of this thread, or on another
        thread) is never interrupted: then the tick is left to the end of that code
        (`tick_if_wanted`), and False tells the native thread to stop watching until
        then."""
        remote = self.remote
        if self._in_hook or (remote is not None and remote._busy):
            self._tick_wanted = True
            return False
        self._tick_wanted = False
        if self._count_later and not self.young() and self.enabled:
            self.count_all()
        if remote is not None:
            remote.poll()
        self._rearm()
        return True

    def tick_if_wanted(self) -> None:
        """At the end of Ember's code that a tick waited for."""
        if self._tick_wanted and not self._in_hook:
            self._tick()

    def mark(self, func) -> bool:
        """Compile `func` at its next call (`ember.jit`): the C counter sees its code as
        hot already, and its PY_START is switched on for this code alone. The compile runs
        in the counter's hook, like any other, so tracers and profilers never see it.
        False if the JIT is off or the code was decided already."""
        if not self.enabled or not self.counter.mark(func.__code__):
            return False
        code = func.__code__
        self._marked[id(code)] = code
        mon = sys.monitoring
        mon.set_local_events(MONITORING_TOOL, code, mon.get_local_events(MONITORING_TOOL, code) | mon.events.PY_START)
        return True

    def _not_counting(self, why: str) -> bool:
        self.stats.not_counting = why
        self.stats.log(why)
        return False

    def stop(self, exiting: bool = False) -> None:
        """Stop counting and send every function back to the interpreter. At exit
        (`exiting`), a background compile under way is only waited for while it is
        inside LLVM (see runtime/background.py)."""
        if self.worker is not None:
            cancel = getattr(sys.modules.get("ember.pipeline"), "cancel", None)
            if cancel is not None and self.worker.pending():
                cancel()  # the compile under way stops at its next stage
            self.worker.close(wait=not exiting)
            self.worker = None
        if self.remote is not None:
            self.remote.close()  # the server ends with its lifetime pipe
            self.remote = None
        self._count_later = False
        if self.counter_module is not None:
            # No thread of Ember's touches Python after this (at exit, a sleeping one is
            # left to the process's end rather than woken and joined).
            if exiting:
                self.counter_module.replies_leave()
            else:
                self.counter_module.replies_stop()
        if self.sampler is not None:
            self.sampler.stop()
            self.sampler = None
        if self._waker is not None:
            self._waker.stop()
            self._waker = None
        if exiting:
            close_llvm = getattr(sys.modules.get("ember.backend.engine"), "close_llvm", None)
            if close_llvm is not None:
                close_llvm()
        if self.enabled:
            self.enabled = False
            self.counting_all = False
            mon = sys.monitoring
            mon.set_events(MONITORING_TOOL, 0)
            for code in self._marked.values():  # 3.12's free_tool_id leaves local events on
                mon.set_local_events(MONITORING_TOOL, code, 0)
            self._marked.clear()
            mon.register_callback(MONITORING_TOOL, mon.events.PY_START, None)
            mon.register_callback(MONITORING_TOOL, mon.events.JUMP, None)
            mon.free_tool_id(MONITORING_TOOL)
        install = sys.modules.get("ember.runtime.install")
        if install is not None:
            install.shutdown()

    def _on_hot(self, code, seen):
        """Called by the C counter (on top of the frame of `code` that fired the event,
        whose function and argument types are `seen`) once `code` is hot. Returns
        DISABLE: decided, whatever the outcome; an
        int: pending (its compile is under way in the compile server, or waits for the
        end of the warm-up: remote.py); or None (count again later): too early, or a
        compile is already running here (one started outside the hook, whose own Python
        code fires events)."""
        self._in_hook += 1
        try:
            return self._decide_hot(code, seen)
        finally:
            self._in_hook -= 1
            if self._tick_wanted:
                self.tick_if_wanted()

    def _decide_hot(self, code, seen):
        if self._compiling and (not self.background or self.worker is None
                                or self._compiling == _thread_ident()):
            return None  # not from inside a compile; nor two compiles at once
        if self.worker is not None and self.worker.thread_id == _thread_ident():
            return None  # the standard library as Ember's worker uses it: the program's
            # own calls of it will count
        marked = id(code) in self._marked
        if not self.enabled or _not_compiled_here(code.co_filename):
            return sys.monitoring.DISABLE
        young = not marked and self.young()
        if self.background and self._use_server and not marked:
            try:
                return self._remote().hot(code, seen, young)
            except Exception as exc:  # noqa: BLE001 - the JIT never breaks the program
                self._internal_error(code, exc)
                return sys.monitoring.DISABLE
        if young:
            return None  # too early to pay for a compile: counted again from zero
        try:
            pending = self._hot_now(code, seen, in_background=self.background and not marked)
        except Exception as exc:  # noqa: BLE001 - the JIT never breaks the program
            self._internal_error(code, exc)
            return sys.monitoring.DISABLE
        return pending if pending is not None else sys.monitoring.DISABLE

    # -- deciding ----------------------------------------------------------------------

    def young(self) -> bool:
        """Whether the process is younger than the warm-up (-X jit-warmup)."""
        return bool(self.warmup_s) and \
            time.perf_counter() - self.stats.started < self.warmup_s

    def _remote(self):
        if self.remote is None:
            from ember.runtime.remote import Remote

            self.remote = Remote(self)
            self._ready_to_install()
        return self.remote

    def _ready_to_install(self) -> None:
        """What installing compiled code needs, made now, in the hook, rather than when
        the first reply is installed: the native thread has replies installed at
        arbitrary points of the program, where new modules or a new bound method would
        be objects it sees appear in gc.get_objects()."""
        from ember import abi, codecache, slowpaths  # noqa: F401
        from ember.backend import loader, perfmap  # noqa: F401
        from ember.runtime import install

        report = self.stats.record_invalidated
        if install.on_invalidate != report:  # not a new bound method kept at every compile
            install.on_invalidate = report
        self.stats.sync = install.drain

    def function_and_types(self, code, seen):
        """(the function, the types of its parameters) of the hot frame, as the C hook
        read it (`seen`); None (and the refusal recorded) if the frame had no function
        object for `code`."""
        if seen is None:
            self.stats.record_refused(code, "no_function", "no function object for the frame")
        return seen

    def record_profile(self, code, types) -> None:
        """The profile of `code` for the next tier (runtime/profile.py). Not at threshold 0
        (nothing warmed up), unless -X jit-dump=profile asks to see it."""
        if self.options.threshold == 0 and "profile" not in self.options.dump:
            return
        from ember.runtime import profile

        profile.record(code, profile.named_types(code, types),
                       dump="profile" in self.options.dump)

    def _hot_now(self, code, seen, in_background: bool = False):
        """Decide about `code` now: in the compile server, waiting for it (unless
        `in_background`: then on Ember's thread), else in this process. None, or PENDING
        (an int, for the C counter) if the wait was given up for a signal's handler and
        the compile goes on in the background (remote.compile_now)."""
        got = self.function_and_types(code, seen)
        if got is None:
            return None
        func, types = got
        if self._use_server and self._remote().usable:
            done = self._remote().compile_now(func, types)
            if done:
                return None if done is True else done
        self.compile_here(func, types, in_background)
        return None

    def compile_here(self, func, types, in_background: bool | None = None) -> None:
        """Compile `func` in this process: on a thread of Ember's in the background
        (runtime/background.py), else now."""
        if in_background is None:
            in_background = self.background
        if in_background:
            if self.worker is None:
                from ember.runtime.background import Worker

                self.worker = Worker(self._decide)
            if self.worker.submit(func, types):
                return
        self._decide(func, types)

    def _decide(self, func, types) -> None:
        """In this process (on Ember's thread, or the program's): screen, check the ABI,
        record the profile, compile and install."""
        from ember.runtime.screen import screen

        if self.worker is not None and self.worker.thread_id == _thread_ident():
            _preload_llvm()
        code = func.__code__
        refusal = screen(code)
        if refusal is not None:
            self.stats.record_refused(code, refusal.reason, refusal.detail)
            return
        if not self._check_abi():
            return
        self.record_profile(code, types)
        self.compile_and_install(func)

    def _after_fork(self) -> None:
        if self.worker is not None:
            self.worker = None  # its thread is the parent's; queued jobs are dropped
        self._compiling = False
        if self.remote is not None:
            self.remote.after_fork()

    def compile_and_install(self, func) -> bool:
        """Compile `func` now and install the result; record the outcome either way.
        Code that gets hot meanwhile (the compiler's own use of the standard library,
        on this thread or while the GIL is shared) waits: `_on_hot` says "not now"."""
        import _thread

        self._compiling = _thread.get_ident()
        try:
            return self._compile_and_install(func)
        finally:
            self._compiling = False

    def _compile_and_install(self, func) -> bool:
        from ember.bytecode import Refused
        from ember.runtime import install

        code = func.__code__
        if install.vectorcall_of(func) != install.PY_VECTORCALL:
            self.stats.record_refused(code, "foreign_vectorcall", "another vectorcall is set")
            return False
        compiler = self.compiler
        if compiler is None:
            from ember import pipeline

            compiler = self.compiler = getattr(pipeline, "compile", _no_lowering)
            self._warm_up = getattr(pipeline, "warm_up", None)
        warm_up, self._warm_up = self._warm_up, None
        if warm_up is not None:
            t = time.perf_counter()
            try:
                warm_up()
            except Exception as exc:  # noqa: BLE001
                self._internal_error(code, exc)
                return False
            self.stats.startup_ms += (time.perf_counter() - t) * 1000
        t0 = time.perf_counter()
        try:
            entry = compiler(func, self.options)
        except Refused as r:
            self.stats.record_refused(code, r.reason, r.detail)
            return False
        except Exception as exc:  # noqa: BLE001
            self._internal_error(code, exc)
            return False
        self._installed(func, entry, (time.perf_counter() - t0) * 1000)
        return True

    def _installed(self, func, entry, compile_ms: float) -> None:
        from ember.runtime import install

        self._ready_to_install()
        install.install(func, entry)
        self.stats.record_compiled(func.__code__, getattr(entry, "tier", 1), compile_ms,
                                   getattr(entry, "from_cache", False))
        self._small_again()

    def _small_again(self) -> None:
        """The small functions the counter left to the interpreter's inlined calls
        (_counter.c): with compiled code installed, some may now be called by compiled
        code, which calls compiled code directly. Each is counted again (its events
        switched back on: a DISABLE'd event comes back only so)."""
        small = self.counter.small_codes() if self.counter is not None else ()
        mon = sys.monitoring
        for code in small:
            events = mon.get_local_events(MONITORING_TOOL, code)
            mon.set_local_events(MONITORING_TOOL, code, 0)
            mon.set_local_events(MONITORING_TOOL, code, events | mon.events.PY_START)

    def _check_abi(self) -> bool:
        if self._abi_ok is None:
            from ember import abi

            try:
                abi.check()
                self._abi_ok = True
            except Exception as exc:  # noqa: BLE001 - AbiMismatch, or ctypes failing
                self._abi_ok = False
                self.disable(f"CPython ABI mismatch ({exc})")
        return self._abi_ok

    def disable(self, why: str) -> None:
        """Turn the JIT off for the rest of the process, with one warning line."""
        sys.stderr.write(f"ember: warning: JIT disabled: {why}\n")
        sys.stderr.flush()
        self.stop()

    def _internal_error(self, code, exc: Exception) -> None:
        detail = f"{type(exc).__name__}: {exc}"
        self.stats.record_refused(code, "internal_error", detail)
        if self.options.log is not None:
            import traceback

            self.stats.log("".join(traceback.format_exception(exc)).rstrip())

    # -- exit ----------------------------------------------------------------------------

    def at_exit(self) -> None:
        try:
            if self.counter is not None and self.options.stats is not None:
                for code in self.counter.small_codes():  # left to CPython to the end
                    self.stats.record_refused(
                        code, "small_inlined", "small, and called only inline by the "
                        "interpreter, whose call would then go through C")
        except Exception as exc:  # noqa: BLE001 - the stats are still written
            self._exit_error(exc)
        try:
            self.stop(exiting=True)
        except Exception as exc:  # noqa: BLE001 - the stats are still written
            self._exit_error(exc)
        try:
            if self.options.stats is not None:
                self.stats.write(self.options.stats)
        except Exception as exc:  # noqa: BLE001
            self._exit_error(exc)

    def _exit_error(self, exc: Exception) -> None:
        if self.options.log is not None:
            sys.stderr.write(f"ember: at exit: {type(exc).__name__}: {exc}\n")


#: The runtime of this process (at most one is started; `os.register_at_fork` cannot
#: unregister, so its callback goes through this list, not a reference to it).
_AT_FORK: list = []


def _before_fork() -> None:
    # No thread of Ember's at the fork (3.12 warns when forking a multi-threaded process),
    # whichever thread forks, and none started until the fork is done (_replies.c).
    for rt in _AT_FORK:
        if rt.counter_module is not None:
            rt.counter_module.replies_before_fork()


def _after_fork_in_parent() -> None:
    for rt in _AT_FORK:
        if rt.counter_module is not None:
            rt.counter_module.replies_after_fork()
        if rt.enabled:
            rt._rearm()


def _after_fork() -> None:
    import _thread

    for rt in _AT_FORK:
        if rt.counter_module is not None:
            rt.counter_module.replies_forget()  # the thread was the parent's
        rt._after_fork()
        if _thread.get_ident() != rt.main_ident:
            # Forked from a thread other than the main one. The child's only thread is
            # that one, and once it ends CPython 3.12.1 makes the next thread state from
            # the main thread's initial one, still marked initialised (a fatal error,
            # "init_threadstate: thread state already initialized"): Ember's native
            # thread would be that next one. So no thread of Ember's in such a child:
            # its functions run interpreted (Lib/test's test_threading forks so).
            rt.stop()
            continue
        if rt.enabled:
            rt._rearm()


def _preload_llvm() -> None:
    """Map libllvmlite without the GIL (`_hotness.preload`) before llvmlite loads it with
    the GIL held; on the worker, so the program does not wait for it. Best effort."""
    if "llvmlite.binding" in sys.modules:
        return
    try:
        import importlib.util
        import os

        from ember import _hotness

        spec = importlib.util.find_spec("llvmlite")
        for folder in spec.submodule_search_locations or ():
            path = os.path.join(folder, "binding", "libllvmlite.so")
            if os.path.exists(path):
                _hotness.preload(path)
                return
    except Exception:  # noqa: BLE001 - llvmlite then loads it itself
        pass


def _thread_ident() -> int:
    import _thread

    return _thread.get_ident()


def _no_lowering(func, options):
    from ember.bytecode import Refused

    raise Refused("no_lowering", "tier 1: no lowering yet")
