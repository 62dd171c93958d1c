"""Ember's defaults and fixed constants: the values the boot's fast path needs before
anything else, apart from the switch parsing of options.py (this module loads in a few
tens of microseconds, options.py in a quarter of a millisecond, in every process).
"""

#: Calls before a function is compiled. Measured by bench/thresholds.py (a rent-or-buy
#: rule: compile once the counting and the missed savings cost as much as the compile
#: costs the program's thread). On the 2-core dev machine, CPython 3.12.1, two runs:
#:
#:     counted, per call / back-edge (the "rent")     11-23 ns / 25-32 ns
#:     saved by tier 1, per call / back-edge          5-8 ns / 10-12 ns
#:     program thread's price per compiled function   0.21 ms median, 0.41-0.43 ms p95
#:                                                    (the compile itself runs in the
#:                                                    compile server, on another core)
#:
#: which gives 7,000 and 13,000 calls. The acceptance programs run the same at 1000, 5000
#: and 10000 (bench/acceptance.py --thresholds): their hot functions pass any of them
#: within the first few percent of their run.
DEFAULT_THRESHOLD = 10000

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
#: on-stack replacement yet; see FIRST_CALL_WAIT_MS). By the same rule as the threshold,
#: a back-edge should weigh its rent against a call's: the two runs above gave a call the
#: worth of 0.4 and 0.8 back-edges, so the nearest whole weight, 1 (the counter's units
#: are integers).
BACK_EDGES_PER_CALL = 1

#: Milliseconds a function that got hot at a back-edge of its first call goes on running
#: in that call before the sampler has it compiled (otherwise it is decided at its next
#: call; _counter.c). Without on-stack replacement that call cannot use the code, so the
#: compile pays only if the function is called again, and a function called once (a
#: program's main loop, `main()`) never is: compiled at once, a 50-100 ms loop-once program
#: paid ~8 ms of its own thread (the runtime, the compile server's start) and the server's
#: LLVM on the other core, 1.1x its CPU time and 1.5x its machine's. A first call that
#: lasts this long after getting hot makes its function worth compiling for its next calls
#: (the same rent-or-buy rule as the threshold: what the wait can lose is at most its
#: length, and the program thread's price of a first compile is a few percent of it),
#: and a call of 10**7 back-edges (~1 s) still ends long after its compile.
FIRST_CALL_WAIT_MS = 100

#: Milliseconds between two samples of the running frames (runtime/sampler.py, which says
#: what a sample does and costs).
SAMPLE_MS = 4
#: How many innermost frames of each thread a sample looks at.
SAMPLE_DEPTH = 4

DUMP_KINDS = ("ir", "llvm", "asm", "profile")

#: The counter hook's answer for code whose compile is under way or waits for the end of
#: the warm-up (any int): the C counter marks it pending and switches its events off.
HOOK_PENDING = 1
#: The `sys.monitoring` tool Ember counts with.
MONITORING_TOOL = 5  # sys.monitoring.OPTIMIZER_ID
#: The `ember._hotness` this Ember was written for (its VERSION constant).
HOTNESS_VERSION = 14
#: Recursion headroom the hook needs: Python frames and C recursion units (the compiler's
#: deepest stack, measured below the hook, is 78 Python frames and 73 C units for the first
#: compile, 26 and 30 later; see runtime/driver.py).
COMPILER_PY_FRAMES = 250
COMPILER_C_UNITS = 250
