"""Which functions are worth counting: a sampler, so that code that never gets hot costs
nothing.

Counting every function with global `sys.monitoring` events is cheap per event (~40 ns),
but switching them on makes CPython instrument every code object at its next run
(`_Py_Instrument` walks its whole bytecode), module bodies and class bodies included, and
every call and loop of code that stays cold then pays an event. On a program where
nothing gets hot (`bench/cold`) that was 8% of the time counted. So at the default
threshold the counter's events are switched on per code object instead
(`set_local_events`), for the code the sampler has seen running:

  - every SAMPLE_MS (the native timer of `_replies.c` asks for it through CPython's
    pending calls, so it runs on the main thread between two bytecodes), `sample` looks
    at the innermost SAMPLE_DEPTH Python frames of every thread (`sys._current_frames`),
    Ember's own frames left out;
  - a function seen there gets its PY_START and JUMP events, and so do the functions it
    names as globals (`_count_callees`); from then on the C counter counts their calls
    and back-edges to the threshold exactly as before (and DISABLEs each location once
    decided). Switching a cold function's events on costs little: its instrumentation,
    and its events until it returns DISABLE or the program ends.

A function that runs long enough to matter is on a stack in many samples; one that ran a
few microseconds is in none, and is never instrumented. What it costs: one pending call
and a few microseconds of Python per sample (~0.2% at 4 ms). What it misses: code that
runs only between two samples (a hot function is found at most one interval late), a
hot function that only ever runs deeper than SAMPLE_DEPTH frames below others and is
not named as a global by them, and code of threads that never give the GIL back.
"""

# `_weakref`, not `weakref`: the sampler starts in every program that outlives the
# warm-up, and `weakref` (with `_weakrefset`) costs that program's thread about 2 ms.
import sys
from _thread import get_ident as _thread_ident
from _weakref import ref as _ref
from time import monotonic_ns as _now_ns

from ember.defaults import FIRST_CALL_WAIT_MS, MONITORING_TOOL

#: Milliseconds between two samples.
SAMPLE_MS = 4
#: How many innermost frames of each thread a sample looks at.
SAMPLE_DEPTH = 4

_CO_OPTIMIZED = 0x1
_FUNCTION = type(lambda: None)
_EMBER_DIR = __file__.rpartition("/runtime/")[0] + "/"


class Sampler:
    """The code objects whose events it switched on."""

    def __init__(self, counter=None) -> None:
        # Keyed by id(): a code object's own hash and equality read its whole contents
        # (and two equal code objects are still two functions' code).
        self.counted: dict[int, _ref] = {}  # id(code) -> code, local events on
        self.samples = 0
        self.interval_ns = SAMPLE_MS * 1_000_000
        # The C counter, whose functions hot in their first call wait for their next
        # call (`first_call_waits`) or for a sample that finds that call still running
        # FIRST_CALL_WAIT_MS after it was first seen waiting: id(code) -> (code, since).
        self.counter = counter
        self.first_calls: dict[int, tuple] = {}
        if counter is not None:
            counter.first_call_waits = 1

    def sample(self) -> None:
        self.samples += 1
        counted = self.counted
        waits = self.counter is not None
        me = _thread_ident()
        for thread, frame in sys._current_frames().items():
            depth = 0
            while frame is not None and depth < SAMPLE_DEPTH:
                code = frame.f_code
                f_globals = frame.f_globals
                running, frame = frame, frame.f_back
                if code.co_filename.startswith(_EMBER_DIR):
                    if depth:
                        break  # a thread of Ember's, or Ember called by the program
                    continue  # this sample's own frames, on top of the main thread
                depth += 1
                if not code.co_flags & _CO_OPTIMIZED:
                    continue
                key = id(code)
                ref = counted.get(key)
                if ref is not None and ref() is code:
                    if waits and thread == me and self.counter.waiting(code):
                        self._first_call(code, running)
                        if self.counter is None:
                            return  # the hook stopped the runtime
                    continue
                self.count(code)
                self._count_callees(code, f_globals)

    def _first_call(self, code, frame) -> None:
        """`code`, hot in its first call, is running in `frame` on this thread: decide it
        once that call has gone on for FIRST_CALL_WAIT_MS since first seen so."""
        key = id(code)
        now = _now_ns()
        seen = self.first_calls.get(key)
        if seen is None or seen[0]() is not code:
            self.first_calls[key] = (
                _ref(code, lambda _, key=key, c=self.first_calls: c.pop(key, None)), now)
        elif now - seen[1] >= FIRST_CALL_WAIT_MS * 1_000_000:
            del self.first_calls[key]
            try:
                self.counter.hot_now(code, frame)
            except Exception:  # noqa: BLE001 - the JIT never breaks the program
                pass

    def _count_callees(self, code, f_globals) -> None:
        """Count the functions `code` names as globals too: a sample lands where the
        interpreter checks its eval breaker, at a loop's back-edge far more often than
        at the start of the small function the loop calls, which would be found late."""
        counted = self.counted
        for name in code.co_names:
            func = f_globals.get(name)
            if type(func) is _FUNCTION:
                callee = func.__code__
                ref = counted.get(id(callee))
                if (ref is None or ref() is not callee) and callee.co_flags & _CO_OPTIMIZED:
                    self.count(callee)

    def count(self, code) -> None:
        mon = sys.monitoring
        try:
            mon.set_local_events(MONITORING_TOOL, code, mon.get_local_events(MONITORING_TOOL, code)
                                 | mon.events.PY_START | mon.events.JUMP)
        except ValueError:  # the tool was freed (Ember stopping)
            return
        key = id(code)
        self.counted[key] = _ref(code, lambda _, key=key, c=self.counted: c.pop(key, None))

    def stop(self) -> None:
        """Switch the local events off again (3.12's free_tool_id leaves them on)."""
        mon = sys.monitoring
        for ref in list(self.counted.values()):
            code = ref()
            if code is None:
                continue
            try:
                mon.set_local_events(MONITORING_TOOL, code, 0)
            except ValueError:
                break
        self.counted.clear()
        self.first_calls.clear()
        if self.counter is not None:
            self.counter.first_call_waits = 0
            self.counter = None
