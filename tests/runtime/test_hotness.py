"""The C hotness counter (ember._hotness) alone, with the driver, and end to end.

In-process tests register a `Counter` as the OPTIMIZER_ID callback themselves (pytest runs
under the plain venv interpreter, where Ember's boot hook is off and the tool is free).
End-to-end tests run programs under `./ember` and python3.12 with the differential
harness.
"""

import gc
import json
import sys
import textwrap
import types
from pathlib import Path

import pytest

from ember.runtime import driver
from tests.harness import assert_same, require_free_monitoring_tool

hotness = pytest.importorskip("ember._hotness", reason="the C hotness counter is not built")

mon = sys.monitoring
TOOL = mon.OPTIMIZER_ID
W = 4  # call weight in these tests: a call is worth W back-edges


@pytest.fixture
def counting():
    """make(on_hot, threshold_calls, **kw) -> a Counter registered for PY_START and JUMP.
    on_hot(code, seen) is called on top of the hot frame: sys._getframe(1) is that frame."""
    require_free_monitoring_tool()
    registered = []

    def make(on_hot, threshold, py_headroom=0, c_headroom=0, call_weight=W):
        counter = hotness.Counter(on_hot, threshold=threshold * call_weight,
                                  call_weight=call_weight, py_headroom=py_headroom,
                                  c_headroom=c_headroom)
        mon.use_tool_id(TOOL, "ember-test")
        registered.append(counter)
        mon.register_callback(TOOL, mon.events.PY_START, counter)
        mon.register_callback(TOOL, mon.events.JUMP, counter)
        mon.set_events(TOOL, mon.events.PY_START | mon.events.JUMP)
        return counter

    yield make
    if registered:
        mon.set_events(TOOL, 0)
        mon.register_callback(TOOL, mon.events.PY_START, None)
        mon.register_callback(TOOL, mon.events.JUMP, None)
        mon.free_tool_id(TOOL)
        mon.restart_events()


def test_calls_counted_then_hook_on_top_of_the_callee_then_disabled(counting):
    seen = []

    def on_hot(code, got):
        # Called from C: the frame right below the hook is the callee's, not a callback's;
        # `got` is its function and the types of its arguments.
        below = sys._getframe(1)
        seen.append((code, got, below.f_code, below.f_back.f_code.co_name))
        return mon.DISABLE

    counter = counting(on_hot, 3)

    def hot(x):
        return x

    hot(0)
    hot(1)
    assert counter.count(hot.__code__) == 2 * W and seen == []
    hot(2)
    assert seen == [
        (hot.__code__, (hot, (int,)), hot.__code__,
         "test_calls_counted_then_hook_on_top_of_the_callee_then_disabled")
    ]
    assert counter.count(hot.__code__) == -1  # decided
    events = counter.events
    hot(3)
    hot(4)
    assert counter.events == events  # DISABLEd: CPython calls the counter no more
    assert counter.hooks == 1 and counter.errors == 0


def test_back_edges_count_with_their_weight(counting):
    hooks = []
    counter = counting(lambda code, seen: hooks.append(dict(sys._getframe(1).f_locals)) or mon.DISABLE, 10)

    def loops(n):
        total = 0
        for i in range(n):
            total += i
        return total

    loops(30)  # a call is W units, each iteration one back-edge
    assert hooks == [] and counter.count(loops.__code__) == W + 30
    loops(100)  # W more at the call: 38 of 40; hot at the second back-edge, mid-loop
    assert counter.count(loops.__code__) == -1
    assert hooks == [{"n": 100, "total": 1, "i": 1}]


def _loops(n):
    total = 0
    for i in range(n):
        total += i
    return total


def test_hot_in_its_first_call_waits_for_the_next_call_while_sampled(counting):
    """With `first_call_waits` (a sampler runs), a function hot in the middle of its only
    call is left to its next call: without on-stack replacement the running call could
    not use the code, and a function called once (a main loop) is never called again."""
    hooks = []
    counter = counting(lambda code, seen: hooks.append(dict(sys._getframe(1).f_locals)) or mon.DISABLE, 10)
    counter.first_call_waits = 1
    loops = types.FunctionType(_loops.__code__.replace(), globals())

    assert loops(1000) == sum(range(1000))
    assert hooks == [] and counter.at_next_call == 1 and counter.waiting(loops.__code__)
    assert counter.count(loops.__code__) == 40  # its start (W) and 36 back-edges
    events = counter.events
    loops(1000)  # one event: its start, which calls the hook; the loop was DISABLEd
    assert counter.events == events + 1
    assert hooks == [{"n": 1000}] and counter.count(loops.__code__) == -1
    assert not counter.waiting(loops.__code__)


def _small(x):
    return x + 1


def _calls_small(n):
    total = 0
    for _ in range(n):
        total = _small(total)  # an interpreted CALL: the interpreter pushes the frame inline
    return total


def test_small_function_called_inline_is_left_to_the_interpreter_while_sampled(counting):
    """While sampled, a small function whose hot call came inline from the interpreter is
    not decided (compiled code would make each such call a C call): it is marked small,
    its events are DISABLEd, and small_codes() hands it back, counted from zero."""
    hooks = []
    counter = counting(lambda code, seen: hooks.append(code.co_name) or mon.DISABLE, 10)
    counter.first_call_waits = 1
    small = types.FunctionType(_small.__code__.replace(), globals())
    calls = types.FunctionType(_calls_small.__code__.replace(), {"_small": small})
    # Local events, as the sampler sets them (a DISABLE'd local event is revived by
    # switching the code's local events off and on; the runtime does that).
    mon.set_events(TOOL, 0)
    for code in (small.__code__, calls.__code__):
        mon.set_local_events(TOOL, code, mon.events.PY_START | mon.events.JUMP)
    calls(50)
    assert "_small" not in hooks and counter.smalls == 1 and counter.count(small.__code__) == -1
    events = counter.events
    calls(50)
    assert counter.events - events <= 2  # _calls_small's own events; _small's are off
    assert counter.small_codes() == [small.__code__] and counter.small_codes() == []
    assert counter.count(small.__code__) == 0
    # Called from C (here map), the call is not inline: decided as any other hot code.
    list(map(small, range(20)))
    assert "_small" not in hooks  # its events are still DISABLEd: the runtime turns them on
    mon.set_local_events(TOOL, small.__code__, 0)
    mon.set_local_events(TOOL, small.__code__, mon.events.PY_START)
    list(map(small, range(20)))
    assert hooks.count("_small") == 1 and counter.smalls == 1


def test_small_functions_are_decided_as_usual_without_a_sampler(counting):
    hooks = []
    counter = counting(lambda code, seen: hooks.append(code.co_name) or mon.DISABLE, 10)
    small = types.FunctionType(_small.__code__.replace(), globals())
    calls = types.FunctionType(_calls_small.__code__.replace(), {"_small": small})
    calls(50)
    assert "_small" in hooks and counter.smalls == 0


def test_hot_in_its_first_call_is_decided_at_once_without_a_sampler(counting):
    hooks = []
    counter = counting(lambda code, seen: hooks.append(dict(sys._getframe(1).f_locals)) or mon.DISABLE, 10)
    loops = types.FunctionType(_loops.__code__.replace(), globals())
    loops(1000)
    assert counter.at_next_call == 0 and len(hooks) == 1 and hooks[0]["n"] == 1000


def test_the_hook_runs_quietly_and_keeps_nothing_the_collector_sees(counting):
    """The hook gets no frame object (the running frame would keep one until it returns)
    but `seen`, which the collector does not track (the runtime may keep it until a
    compile's reply); and it runs with automatic collection off and the youngest
    generation's count put back: the program's gc.get_count() reads the same across it,
    and what the hook allocates triggers no collection."""
    kept = []
    frames = []
    collections = []

    def on_gc(phase, info):
        collections.append(phase)

    def on_hot(code, seen):
        kept.append(seen)
        frames.extend(o for o in gc.get_objects()
                      if isinstance(o, types.FrameType) and o.f_code is code)
        junk = [[i] for i in range(5000)]  # more than a collection's threshold
        del junk
        return mon.DISABLE

    counting(on_hot, 2)

    def hot(a, b=None, *, c=None):
        return a

    gc.callbacks.append(on_gc)
    try:
        before = gc.get_count()
        hot(1)
        hot(1.5, c="x")
        after = gc.get_count()
    finally:
        gc.callbacks.remove(on_gc)
    assert kept == [(hot, (float, type(None), str))] and frames == []
    assert not gc.is_tracked(kept[0]) and not gc.is_tracked(kept[0][1])
    assert collections == [] and 0 <= after[0] - before[0] <= 1  # (`before`, a tuple)


def test_forward_jumps_and_non_function_code_are_disabled_at_once(counting):
    counter = counting(lambda code, seen: mon.DISABLE, 1000)
    module_code = compile("for i in range(50):\n    pass\nclass C:\n    x = 1\n", "<m>", "exec")
    exec(module_code, {})
    events = counter.events
    exec(module_code, {})
    assert counter.events == events  # nothing fires a second time
    assert counter.count(module_code) == 0 and counter.hooks == 0
    class_body = next(c for c in module_code.co_consts if hasattr(c, "co_code"))
    assert counter.count(class_body) == 0

    def branchy(x):
        if x:
            y = 1
        else:
            y = 2
        return y

    branchy(0)
    branchy(1)
    assert counter.count(branchy.__code__) == 2 * W  # calls only: no jump counted


def test_hook_raising_never_reaches_the_program(counting):
    def on_hot(code, seen):
        raise ValueError("from the hook")

    counter = counting(on_hot, 2)

    def victim():
        return "fine"

    assert [victim() for _ in range(5)] == ["fine"] * 5
    assert counter.errors == 1 and counter.count(victim.__code__) == -1


def test_keyboard_interrupt_in_the_hook_reaches_the_program_later(counting):
    raised = []

    def victim():
        return "fine"

    def on_hot(code, seen):
        if code is victim.__code__ and not raised:
            raised.append(code)
            raise KeyboardInterrupt  # as if Ctrl-C came while compiling victim
        return mon.DISABLE

    counter = counting(on_hot, 1)
    with pytest.raises(KeyboardInterrupt):
        victim()  # the program sees it at its next eval-breaker check
        for _ in range(1000):
            pass
    assert raised == [victim.__code__] and counter.count(victim.__code__) == -1
    assert victim() == "fine"


def test_hook_waits_for_recursion_headroom(counting):
    from ember._hotness import recursion_remaining

    depths = []

    def on_hot(code, seen):
        if code is rec.__code__:
            depths.append(recursion_remaining()[0])
        return mon.DISABLE

    top = recursion_remaining()[0]
    counter = counting(on_hot, 5, py_headroom=top - 3, call_weight=1)

    def rec(n):
        if n:
            return rec(n - 1)
        return len(depths)

    assert rec(30) == 0  # hot at the 5th call, 5 frames down: no room, so put off
    assert counter.deferred > 0 and counter.hooks == 0
    rec(0)  # one frame down: now it runs (the hook's own frame is one more)
    assert counter.hooks == 1 and depths == [top - 2]


# -- the driver ---------------------------------------------------------------------------


def test_without_the_c_counter_nothing_is_counted_and_the_stats_say_why(tmp_path, monkeypatch):
    from ember import options

    monkeypatch.setattr(driver, "load_counter_module", lambda: "the C hotness counter is not built (test)")
    log = tmp_path / "log"
    rt = driver.Runtime(options.parse({"jit-log": str(log)}, {}))
    assert rt.start() is False and not rt.enabled
    counting = rt.stats.as_dict()["totals"]["counting"]
    assert counting == {"on": False, "why": "the C hotness counter is not built (test); the JIT stays off"}
    assert "not built (test)" in log.read_text()
    assert "not counting hotness: the C hotness counter is not built" in rt.stats.table()


def test_missing_extension_reads_the_build_note(monkeypatch):
    import ember

    monkeypatch.setitem(sys.modules, "ember._hotness", None)  # import fails
    monkeypatch.delattr(ember, "_hotness", raising=False)
    why = driver.load_counter_module()
    assert isinstance(why, str) and why.startswith("the C hotness counter is not built (")


def test_build_hook_compiles_or_says_why(tmp_path, monkeypatch):
    import importlib.util

    root = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location("ember_hatch_build", root / "hatch_build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)

    assert build.compile_extension(tmp_path / "ok") is None
    assert (tmp_path / "ok" / build.extension_name()).exists()
    assert not (tmp_path / "ok" / build.MISSING).exists()

    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    why = build.compile_extension(tmp_path / "bad")
    assert why and "no-such-cc" in why
    assert not (tmp_path / "bad" / build.extension_name()).exists()
    assert why in (tmp_path / "bad" / build.MISSING).read_text()


# -- end to end, against python3.12 -----------------------------------------------------

LOOP_ONCE = """
    import json, os, sys

    def work(n):
        total = 0
        i = 0
        while i < n:
            total += i
            i += 1
        return total

    print(work(10_000_000))  # one call, 10**7 back-edges: hot, compiled for the next call
    print(work(10))
    print(work(20))

    evidence = os.environ.get("EVIDENCE")
    if evidence and "ember.runtime" in sys.modules:
        import ctypes
        import ember
        from ember.runtime import install

        rec = install.record(id(work))
        counts = None
        if rec is not None:
            read = lambda addr: ctypes.c_int64.from_address(addr).value
            counts = [read(rec.native_calls), read(rec.interpreted_calls)]
        with open(evidence, "w") as f:
            json.dump({"stats": ember.stats(), "calls": counts}, f)
"""


def test_function_called_once_that_loops_is_native_at_its_next_call(tmp_path):
    pytest.importorskip("llvmlite")
    prog = tmp_path / "loop_once.py"
    prog.write_text(textwrap.dedent(LOOP_ONCE))
    evidence = tmp_path / "evidence.json"
    # Compiled on the main thread, at the moment the loop gets hot: in the background the
    # compile may still be under way when the loop ends (test_background.py covers that).
    env = {"EVIDENCE": str(evidence), "EMBER_JIT_BACKGROUND": "0"}
    assert_same([str(prog)], env=env, timeout=600)
    data = json.loads(evidence.read_text())
    compiled = [c["qualname"] for c in data["stats"]["compiled"]]
    refused = {r["qualname"]: r["reason"] for r in data["stats"]["refused"]}
    assert "work" in compiled, refused.get("work")
    native, interpreted = data["calls"]
    assert native == 2 and interpreted == 0  # both calls after the first ran native code
    counting = data["stats"]["totals"]["counting"]
    assert counting["on"] and counting["hooks"] >= 1 and counting["errors"] == 0
    # Hot in its first call, it waited (a sampler runs at the default threshold), and the
    # sampler had it compiled while that call went on.
    assert counting["at_next_call"] == 1


def test_restart_events_brings_no_second_decision(counting):
    counter = counting(lambda code, seen: mon.DISABLE, 1)

    def once():
        return 1

    once()
    assert counter.hooks == 1
    mon.restart_events()  # what another tool may do: every DISABLEd event fires again
    once()
    once()
    assert counter.hooks == 1 and counter.count(once.__code__) == -1


def test_one_hook_at_a_time_across_threads(counting):
    import threading

    in_hook = threading.Event()
    second_tried = threading.Event()
    hooked = []

    def first():
        return 1

    def second():
        return 2

    def on_hot(code, seen):
        if code is first.__code__:
            in_hook.set()
            second_tried.wait(10)  # releases the GIL, as the compiler does inside LLVM
        hooked.append(code.co_name)
        return mon.DISABLE

    counter = counting(on_hot, 3)

    def other_thread():
        in_hook.wait(10)
        for _ in range(10):
            second()  # hot while first's hook runs: put off, never a second hook at once
        second_tried.set()

    t = threading.Thread(target=other_thread)
    t.start()
    for _ in range(3):
        first()
    t.join()
    assert "second" not in hooked and counter.deferred >= 1
    second()  # now it gets its hook
    assert hooked.count("first") == 1 and hooked.count("second") == 1
    assert counter.count(second.__code__) == -1


def test_hook_may_unregister_the_counter_it_runs_under():
    require_free_monitoring_tool()
    def on_hot(code, seen):
        # What Runtime.stop does: after this CPython holds no reference to the counter.
        mon.set_events(TOOL, 0)
        mon.register_callback(TOOL, mon.events.PY_START, None)
        mon.register_callback(TOOL, mon.events.JUMP, None)
        mon.free_tool_id(TOOL)
        return mon.DISABLE

    mon.use_tool_id(TOOL, "ember-test")
    mon.register_callback(TOOL, mon.events.PY_START,
                          hotness.Counter(on_hot, threshold=1, call_weight=1, py_headroom=0,
                                          c_headroom=0))
    mon.set_events(TOOL, mon.events.PY_START)

    def f():
        return 3

    assert f() == 3 and f() == 3
    assert mon.get_tool(TOOL) is None
    mon.restart_events()


def test_mark_makes_code_hot_at_its_next_event(counting):
    calls = []

    def on_hot(code, seen):
        calls.append(code.co_name)
        return mon.DISABLE

    def marked():
        return 1

    counter = counting(on_hot, threshold=1000)
    assert counter.mark(marked.__code__) is True
    marked()
    assert calls == ["marked"] and counter.count(marked.__code__) == -1
    assert counter.mark(marked.__code__) is False  # decided already


def test_the_compilers_dependencies_are_never_compiled():
    import llvmlite.ir.values as values

    assert driver._not_compiled_here(values.__file__)
    assert driver._not_compiled_here(driver.__file__)
    assert not driver._not_compiled_here(__file__)


def test_counted_code_keeps_its_superinstructions():
    """sys.monitoring's instrumentation removes the superinstructions CPython 3.12 forms
    (LOAD_FAST__LOAD_FAST, ...); the counter forms them again at a code object's first
    event, so interpreted code runs the instructions it runs under CPython (checked with
    dis, which shows the quickened ones); under a tracer they stay removed, as in
    CPython."""
    from tests import harness

    program = textwrap.dedent("""
        import dis, sys
        def f(a, b):
            c = a + b
            d = c * a
            return c, d
        for i in range(20):
            f(i, 2)
        # (f's RESUME is instrumented while Ember counts it)
        print([i.opname.removeprefix("INSTRUMENTED_")
               for i in dis.get_instructions(f, adaptive=True)])
        def g(a, b):
            c = a
            return c, b
        sys.settrace(lambda *a: None)
        for i in range(20):
            g(i, 2)
        sys.settrace(None)
        print([i.opname for i in dis.get_instructions(g, adaptive=True)])
    """)
    result = harness.assert_same(["-c", program])
    assert b"LOAD_FAST__LOAD_FAST" in result.stdout


def test_replies_leave_ends_a_sleeping_thread_without_a_join():
    """At exit, the waiting thread is left to end by itself: replies_leave returns at once,
    the thread is gone soon after without being joined, and a later watch gets a thread
    of its own that still delivers its callback and is stopped (joined) as before."""
    from tests import harness

    program = textwrap.dedent("""
        import time
        import ember._hotness as h

        def threads():
            with open("/proc/self/status") as f:
                return next(int(line.split()[1]) for line in f if line.startswith("Threads:"))

        def wait(cond):
            t = time.monotonic()
            while not cond() and time.monotonic() - t < 30:
                time.sleep(0.001)

        base = threads()
        h.replies_watch(-1, time.monotonic_ns() + 600 * 10**9, lambda: print("never"))
        started = threads() - base
        print(h.replies_leave())
        wait(lambda: threads() == base)
        print(started, threads() - base)
        seen = []
        h.replies_watch(-1, time.monotonic_ns(), lambda: seen.append(threads() - base))
        wait(lambda: seen)
        print(seen, h.replies_stop(), threads() - base, h.replies_leave())
    """)
    result = harness.run([str(harness.ROOT / ".venv" / "bin" / "python"), "-c", program])
    assert result.stderr == b""
    assert result.stdout.decode().split("\n") == ["True", "1 0", "[1] True 0 False", ""]


SMALL_CALLEES = """
    import json, os, sys, time

    def small(x):
        return x + 1

    def caller(n):
        s = 0
        for i in range(n):
            s = small(s)
        return s

    def from_interpreter_only(x):
        return x * 2

    t = time.perf_counter()
    total = 0
    done = lambda: {"caller", "small"} <= {c["qualname"] for c in ember.stats()["compiled"]}
    under_ember = "ember._hotness" in sys.modules
    rounds = 0
    while time.perf_counter() - t < 20 and (under_ember or rounds < 200):
        rounds += 1
        for i in range(1000):
            total = from_interpreter_only(i)  # inline calls of the interpreter, always
        total += caller(1000)
        if "ember.runtime" in sys.modules:
            import ember
            if done():
                break
    print(total)  # the same whatever the number of rounds
    evidence = os.environ.get("EVIDENCE")
    if evidence and "ember.runtime" in sys.modules:
        with open(evidence, "w") as f:
            json.dump([c["qualname"] for c in ember.stats()["compiled"]], f)
"""


def test_a_small_function_is_compiled_once_compiled_code_calls_it(tmp_path):
    """At the defaults, `small` is hot first while its only caller is interpreted, and
    is left to the interpreter; `caller` is compiled, and then `small` as well (compiled
    callers call it directly). `from_interpreter_only`, called inline by the interpreter
    alone, is never compiled. The output is python3.12's all along."""
    pytest.importorskip("llvmlite")
    prog = tmp_path / "small.py"
    prog.write_text(textwrap.dedent(SMALL_CALLEES))
    evidence = tmp_path / "evidence.json"
    assert_same([str(prog)], env={"EVIDENCE": str(evidence)}, timeout=600)
    compiled = json.loads(evidence.read_text())
    assert "caller" in compiled and "small" in compiled
    assert "from_interpreter_only" not in compiled
