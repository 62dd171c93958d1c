"""The sampler (ember.runtime.sampler): at the default threshold only the functions seen
running (and those they name as globals) get the counter's events; nothing else is
instrumented.

In-process tests drive a Sampler by hand with the tool free (pytest runs under the plain
venv interpreter, where Ember's boot hook is off). End-to-end tests run a program under
`./ember` on both start-up paths: the fast one (no switch) and the full runtime.
"""

import gc
import os
import sys
import textwrap

import pytest

import ember
from ember.defaults import FIRST_CALL_WAIT_MS
from ember.runtime.sampler import Sampler
from tests.harness import ember as run_ember
from tests.harness import require_free_monitoring_tool

pytest.importorskip("ember._hotness", reason="the C hotness counter is not built")

mon = sys.monitoring
TOOL = mon.OPTIMIZER_ID
COUNTED = mon.events.PY_START | mon.events.JUMP


@pytest.fixture
def tool():
    require_free_monitoring_tool()
    mon.use_tool_id(TOOL, "ember-test")
    yield
    mon.free_tool_id(TOOL)


def helper(x):
    return x * 2


def not_called(x):
    return x


def test_a_sample_counts_the_running_frames_and_their_global_callees(tool):
    sampler = Sampler()

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
        ember_dir = os.path.dirname(ember.__file__)
        assert not any(ref().co_filename.startswith(ember_dir)  # the sample's own frames
                       for ref in sampler.counted.values() if ref() is not None)
    finally:
        sampler.stop()
    for code in (inner.__code__, outer.__code__, helper.__code__):
        assert mon.get_local_events(TOOL, code) == 0
    assert sampler.counted == {}


def test_a_code_object_that_dies_leaves_the_table(tool):
    sampler = Sampler()
    namespace = {"sampler": sampler}
    exec("def short_lived():\n    sampler.sample()\n", namespace)
    namespace["short_lived"]()
    code_id = id(namespace["short_lived"].__code__)
    assert code_id in sampler.counted
    del namespace["short_lived"]
    gc.collect()
    assert code_id not in sampler.counted
    sampler.stop()


class _WaitingCounter:
    """What the sampler asks of the C counter about functions hot in their first call."""

    def __init__(self, waiting):
        self.first_call_waits = 0
        self.waiting_codes = set(waiting)
        self.hot = []

    def waiting(self, code):
        return code in self.waiting_codes

    def hot_now(self, code, frame):
        self.hot.append((code, frame))
        self.waiting_codes.discard(code)
        return True


def test_a_first_call_still_running_after_the_wait_is_decided_by_a_sample(tool, monkeypatch):
    from ember.runtime import sampler as sampler_module

    clock = [0]
    monkeypatch.setattr(sampler_module, "_now_ns", lambda: clock[0])

    def long_first_call():
        sampler.sample()  # counted (its events on)
        sampler.sample()  # waiting: first seen so now
        clock[0] = (FIRST_CALL_WAIT_MS - 1) * 1_000_000
        sampler.sample()  # not yet
        before = list(counter.hot)
        clock[0] = FIRST_CALL_WAIT_MS * 1_000_000
        sampler.sample()  # still running: decided, with this very frame
        return before, sys._getframe()

    counter = _WaitingCounter([long_first_call.__code__])
    sampler = Sampler(counter)
    assert counter.first_call_waits == 1
    try:
        before, frame = long_first_call()
        assert before == []
        assert counter.hot == [(long_first_call.__code__, frame)]
    finally:
        sampler.stop()
    assert counter.first_call_waits == 0 and sampler.first_calls == {}


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
