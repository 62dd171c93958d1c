"""The sampler (ember._hotness.Sampler, src/ember/_sampler.c; runtime/sampler.py says why):
at the default threshold only the functions seen running (and those they name as globals)
get the counter's events; nothing else is instrumented, and a sample makes nothing the
program can see.

In-process tests drive a Sampler by hand with the tool free (pytest runs under the plain
venv interpreter, where Ember's boot hook is off). End-to-end tests run a program under
`./ember` on both start-up paths: the fast one (no switch) and the full runtime.
"""

import gc
import os
import sys
import textwrap
import time
import types
import weakref

import pytest

import ember
from ember.defaults import FIRST_CALL_WAIT_MS
from ember.runtime import sampler as sampling
from tests.harness import ember as run_ember
from tests.harness import require_free_monitoring_tool

hotness = pytest.importorskip("ember._hotness", reason="the C hotness counter is not built")

mon = sys.monitoring
TOOL = mon.OPTIMIZER_ID
COUNTED = mon.events.PY_START | mon.events.JUMP


@pytest.fixture
def tool():
    require_free_monitoring_tool()
    mon.use_tool_id(TOOL, "ember-test")
    yield
    mon.set_events(TOOL, 0)
    mon.register_callback(TOOL, mon.events.PY_START, None)
    mon.register_callback(TOOL, mon.events.JUMP, None)
    mon.free_tool_id(TOOL)
    mon.restart_events()


def helper(x):
    return x * 2


def not_called(x):
    return x


def test_a_sample_counts_the_running_frames_and_their_global_callees(tool):
    sampler = sampling.make()

    def inner():
        sampler.sample()
        return helper(1)

    def outer():
        return inner()

    outer()
    try:
        assert mon.get_local_events(TOOL, inner.__code__) == COUNTED
        assert mon.get_local_events(TOOL, outer.__code__) == COUNTED
        # The test function itself is within SAMPLE_DEPTH frames too; `helper` is a
        # global that `inner` names, `not_called` is named by nobody.
        assert mon.get_local_events(TOOL, helper.__code__) == COUNTED
        # (looked up by string: naming it here would make this frame name it)
        assert mon.get_local_events(TOOL, globals()["not_" + "called"].__code__) == 0
        assert mon.get_events(TOOL) == 0  # nothing global
        counted = sampler.counted()
        assert {inner.__code__, outer.__code__, helper.__code__} <= set(counted)
        ember_dir = os.path.dirname(ember.__file__)
        assert not any(code.co_filename.startswith(ember_dir) for code in counted)
        assert sampler.samples == 1
    finally:
        sampler.stop()
    for code in (inner.__code__, outer.__code__, helper.__code__):
        assert mon.get_local_events(TOOL, code) == 0
    assert sampler.counted() == []


def test_embers_own_frames_are_skipped_on_top_and_end_the_walk_below(tool):
    sampler = sampling.make()
    own = {"sampler": sampler}
    # A function "of Ember's" (its file is under Ember's directory) calling the program.
    exec(compile("def ember_side(f):\n    return f()\n",
                 os.path.join(os.path.dirname(ember.__file__), "runtime", "x.py"), "exec"), own)

    def program_callback():
        sampler.sample()

    def program_caller():
        own["ember_side"](program_callback)

    try:
        program_caller()
        counted = set(sampler.counted())
        assert program_callback.__code__ in counted
        assert own["ember_side"].__code__ not in counted
        assert program_caller.__code__ not in counted  # below Ember's frame: not the walk's
    finally:
        sampler.stop()


def test_a_sample_looks_at_every_thread(tool):
    """The innermost frames of every thread of the interpreter, many threads too."""
    import threading

    sampler = sampling.make()
    go = threading.Event()
    done = threading.Event()
    codes = []

    def make_worker(i):
        namespace = {"go": go, "done": done}
        exec(f"def worker_{i}():\n    go.set()\n    done.wait(30)\n", namespace)
        codes.append(namespace[f"worker_{i}"].__code__)
        return namespace[f"worker_{i}"]

    threads = [threading.Thread(target=make_worker(i)) for i in range(40)]
    try:
        for t in threads:
            t.start()
        go.wait(10)
        time.sleep(0.2)  # all of them in done.wait()
        sampler.sample()
        assert set(codes) <= set(sampler.counted())
    finally:
        done.set()
        for t in threads:
            t.join()
        sampler.stop()


def test_a_code_object_that_dies_takes_its_note_with_it(tool):
    sampler = sampling.make()
    namespace = {"sampler": sampler}
    exec("def short_lived():\n    sampler.sample()\n", namespace)
    namespace["short_lived"]()
    code_ref = weakref.ref(namespace["short_lived"].__code__)
    assert code_ref() in sampler.counted()
    before = len(sampler.counted())
    del namespace["short_lived"]
    gc.collect()
    assert code_ref() is None and len(sampler.counted()) == before - 1
    sampler.stop()


def test_a_sample_makes_nothing_the_collector_sees(tool):
    """Between two bytecodes of the program a sample may switch events on for new
    functions: no object the collector tracks is made or freed, and no allocation is
    counted (gc.get_objects() and gc.get_count() read the same on either side)."""
    sampler = sampling.make()
    seen = []
    try:
        for i in range(50):
            namespace = {"sampler": sampler, "gc": gc, "seen": seen, "helper": helper}
            exec(f"def fresh_{i}():\n"
                 "    a = len(gc.get_objects()); x = gc.get_count()[0]\n"
                 "    sampler.sample()\n"
                 "    y = gc.get_count()[0]; b = len(gc.get_objects())\n"
                 "    seen.append((a, b, x, y))\n"
                 "    return helper(1)\n", namespace)
            namespace[f"fresh_{i}"]()
        assert all(a == b and x == y for a, b, x, y in seen), seen
        assert len(sampler.counted()) >= 50
    finally:
        sampler.stop()


def _loops_long(sampler, on_sample):
    n = 0
    while n < 10**9:
        n += 1
        if n % 100 == 0:
            sampler.sample()
            if on_sample(n):
                return n
    return n


def test_a_first_call_still_running_after_the_wait_is_decided_at_its_next_back_edge(tool):
    """A function hot at a back-edge of its only call waits for its next call; when samples
    still find that call running FIRST_CALL_WAIT_MS after first finding it waiting, its
    back-edges are switched on again, and the next one calls the hook, in that call, on
    its own frame (no Python code runs in the sample)."""
    hooked = []

    def on_hot(code, seen):
        hooked.append((code, seen, sys._getframe(1).f_locals["n"], time.monotonic()))
        return mon.DISABLE

    counter = hotness.Counter(on_hot, threshold=50, call_weight=1, py_headroom=0,
                              c_headroom=0)
    mon.register_callback(TOOL, mon.events.PY_START, counter)
    mon.register_callback(TOOL, mon.events.JUMP, counter)
    sampler = sampling.make(counter)
    assert counter.first_call_waits == 1
    loops = types.FunctionType(_loops_long.__code__.replace(), globals())
    waiting_since = []

    def on_sample(n):
        if counter.waiting(loops.__code__) and not waiting_since:
            waiting_since.append(time.monotonic())
        return bool(hooked) or n > 10**8

    try:
        loops(sampler, on_sample)
        assert counter.at_next_call == 1 and waiting_since
        [(code, seen, n, at)] = hooked
        assert code is loops.__code__ and seen[0] is loops
        assert at - waiting_since[0] >= FIRST_CALL_WAIT_MS / 1000 * 0.9
        assert counter.count(loops.__code__) == -1
    finally:
        sampler.stop()
    assert counter.first_call_waits == 0


PROGRAM = textwrap.dedent("""
    import sys, time

    def cold(x):
        return x + 1

    def busy():
        t = time.perf_counter()
        n = 0
        while time.perf_counter() - t < 0.3:
            n += 1
        return n

    cold(1)
    busy()
    cold(2)
    mon = sys.monitoring
    print("global", mon.get_events(mon.OPTIMIZER_ID))
    print("cold", mon.get_local_events(mon.OPTIMIZER_ID, cold.__code__))
    import ember
    print("compiled", [c["qualname"] for c in ember.stats()["compiled"]])
""")


@pytest.mark.parametrize("switches", [(), ("-X", "jit-stats=/dev/null")],
                         ids=["fast-path", "runtime"])
def test_at_the_default_threshold_only_running_code_is_counted(tmp_path, switches):
    pytest.importorskip("llvmlite")
    prog = tmp_path / "sampled.py"
    prog.write_text(PROGRAM)
    result = run_ember([str(prog)], ember_args=("-X", "jit-cache=off", *switches), timeout=600)
    out = result.stdout.decode()
    assert result.returncode == 0, result.stderr.decode()
    # No global events at any time, and the function that ran only during the warm-up
    # and between two samples was never instrumented; the loop was found and compiled.
    assert "global 0\n" in out and "cold 0\n" in out
    assert "compiled ['busy']" in out
