"""Ember's defaults and fixed constants: the values the boot's fast path needs before
anything else, apart from the switch parsing of options.py (this module loads in a few
tens of microseconds, options.py in a quarter of a millisecond, in every process).
"""

#: Calls before a function is compiled. Provisional until measured in bench/ (issue 5
#: sets the default from measurements).
DEFAULT_THRESHOLD = 1000

#: Milliseconds a process runs before anything is compiled (`-X jit-warmup=MS`), at the
#: default threshold. A compile is paid back only by the rest of the run, and the run's
#: age is the cheapest predictor of the rest: a program younger than this pays nothing
#: for the functions that got hot (they are decided, their events off, and the worker
#: sleeps) and nothing at all if it ends first. The compile server's own start takes
#: some 300 ms on another core, so a short wait here loses little. With
#: `-X jit-background=off` a function hot too early is counted again instead (its events
#: stay on, which cost a ~95 ms program 40% with 1000 ms). `ember.jit` never waits.
WARMUP_MS = 50

#: Loop back-edges worth one call: a function is also hot once its loops went round
#: threshold * BACK_EDGES_PER_CALL times in all (calls and back-edges add up), so a
#: function called once that loops a lot is compiled for its next call (there is no
#: on-stack replacement yet). Provisional, from measurements on the 2-core dev machine
#: (src/ember/runtime/driver.py, "Thresholds"): an interpreted call of a small function
#: costs about 2x an empty loop iteration (49 vs 23 ns), and a counted back-edge costs
#: about 49 ns until the function is decided, so 4 keeps the counting cost per loop
#: (4000 x 49 ns = 0.2 ms) of the order of the per-function call counting (1000 x 72 ns).
BACK_EDGES_PER_CALL = 4

DUMP_KINDS = ("ir", "llvm", "asm", "profile")

#: The counter hook's answer for code whose compile is under way or waits for the end of
#: the warm-up (any int): the C counter marks it pending and switches its events off.
HOOK_PENDING = 1
#: The `sys.monitoring` tool Ember counts with.
MONITORING_TOOL = 5  # sys.monitoring.OPTIMIZER_ID
#: The `ember._hotness` this Ember was written for (its VERSION constant).
HOTNESS_VERSION = 7
#: Recursion headroom the hook needs: Python frames and C recursion units (the compiler's
#: deepest stack, measured below the hook, is 78 Python frames and 73 C units for the first
#: compile, 26 and 30 later; see runtime/driver.py).
COMPILER_PY_FRAMES = 250
COMPILER_C_UNITS = 250
