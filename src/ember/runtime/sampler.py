"""Which functions are worth counting: a sampler, so that code that never gets hot costs
nothing. The sampler itself is C (`ember._hotness.Sampler`, src/ember/_sampler.c); this
module says what it does and why, and makes one for the runtime (`make`).

Counting every function with global `sys.monitoring` events is cheap per event (~40 ns),
but switching them on makes CPython instrument every code object at its next run
(`_Py_Instrument` walks its whole bytecode), module bodies and class bodies included, and
every call and loop of code that stays cold then pays an event. On a program where
nothing gets hot (`bench/cold`) that was 8% of the time counted. So at the default
threshold the counter's events are switched on per code object instead
(`set_local_events`), for the code the sampler has seen running:

  - every SAMPLE_MS (the native timer of `_replies.c` asks for it through CPython's
    pending calls, so it runs on the main thread between two bytecodes, or on the
    timer's own thread with the GIL when the main thread waits), a sample looks at the
    innermost SAMPLE_DEPTH Python frames of every thread of the interpreter, Ember's own
    frames left out;
  - a function seen there gets its PY_START and JUMP events, and so do the functions it
    names as globals; from then on the C counter counts their calls and back-edges to
    the threshold exactly as before (and DISABLEs each location once decided).
    Switching a cold function's events on costs little: its instrumentation, and its
    events until it returns DISABLE or the program ends;
  - a function hot at a back-edge of its first call waits for its next call (see
    defaults.FIRST_CALL_WAIT_MS); a sample that still finds that first call running
    FIRST_CALL_WAIT_MS after first finding it waiting has it decided at its next
    back-edge.

A sample runs no Python code and makes no object the cycle collector tracks: a program
that compares `len(gc.get_objects())` or `gc.get_count()` before and after something
sees what python3.12 shows, whatever the samples do meanwhile (a sampler in Python made
frame objects, weak references, lambdas and dicts every few milliseconds). The bookkeeping
is a note on each code object (a co_extra slot), freed with it.

A function that runs long enough to matter is on a stack in many samples; one that ran a
few microseconds is in none, and is never instrumented. What it costs: one pending call
and a few microseconds of C per sample (~0.1% at 4 ms). What it misses: code that runs
only between two samples (a hot function is found at most one interval late), a hot
function that only ever runs deeper than SAMPLE_DEPTH frames below others and is not
named as a global by them, and code of threads that never give the GIL back.
"""

from ember._hotness import Sampler
from ember.defaults import SAMPLE_DEPTH, SAMPLE_MS

__all__ = ["SAMPLE_DEPTH", "SAMPLE_MS", "Sampler", "make"]

#: Frames of files under this directory are Ember's own: never counted.
OWN_DIR = __file__.rpartition("/runtime/")[0] + "/"


def make(counter=None, sampler=None):
    """A sampler for `counter` (the C start's `sampler`, when it made one), told which
    frames are Ember's own."""
    if sampler is None:
        sampler = Sampler(counter)
    sampler.own_dir = OWN_DIR
    return sampler
