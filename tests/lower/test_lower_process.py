"""Whole-process behaviour of tier-1 code under `./ember -X jit-threshold=0`:
Ctrl-C, other threads, tracers, uncaught tracebacks, the acceptance programs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from tests.harness import ACCEPTANCE, EMBER, assert_same, environment


def _script(tmp_path, body: str):
    path = tmp_path / "prog.py"
    path.write_text(textwrap.dedent(body))
    return path


def _compiled(stats_path) -> set[str]:
    data = json.loads(stats_path.read_text())
    return {c["qualname"] for c in data["compiled"]}


def test_ctrl_c_stops_a_compiled_loop(tmp_path):
    prog = _script(tmp_path, """
        def spin():
            n = 0
            while True:
                n = n + 1

        print("ready", flush=True)
        try:
            spin()
        except KeyboardInterrupt:
            print("interrupted", flush=True)
    """)
    stats = tmp_path / "s.json"
    proc = subprocess.Popen(
        [str(EMBER), "-X", "jit-threshold=0", "-X", f"jit-stats={stats}", str(prog)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment(),
    )
    try:
        assert proc.stdout.readline() == b"ready\n"
        import time

        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()  # a loop that did not stop must not spin on after the test
        proc.wait()
    assert out == b"interrupted\n", err
    assert "spin" in _compiled(stats)


def test_other_thread_progresses(tmp_path):
    prog = _script(tmp_path, """
        import threading
        import time
        flag = []
        go = []

        def worker():
            while not go:
                time.sleep(0.001)
            for _ in range(1000):
                pass
            flag.append(1)

        def wait():
            n = 0
            go.append(1)
            while not flag:
                n = n + 1
            return n > 0

        t = threading.Thread(target=worker)
        t.start()
        print(wait())
        t.join()
    """)
    stats = tmp_path / "s.json"
    proc = subprocess.run(
        [str(EMBER), "-X", "jit-threshold=0", "-X", f"jit-stats={stats}", str(prog)],
        capture_output=True, env=environment(), timeout=60,
    )
    assert proc.stdout == b"True\n", proc.stderr
    assert "wait" in _compiled(stats)


def test_tracer_set_after_compilation_sees_lines(tmp_path):
    prog = _script(tmp_path, """
        import sys

        def f(x):
            y = x + 1
            return y * 2

        f(1)
        lines = []

        def tracer(frame, event, arg):
            if frame.f_code is f.__code__ and event == "line":
                lines.append(frame.f_lineno)
            return tracer

        sys.settrace(tracer)
        f(2)
        sys.settrace(None)
        print(lines)
    """)
    assert_same([str(prog)], ember_args=("-X", "jit-threshold=0"))


def test_uncaught_traceback_identical(tmp_path):
    prog = _script(tmp_path, """
        def inner(d, k):
            return d[k] + 1

        def outer(d):
            x = [1, 2]
            return inner(d, "missing") + len(x)

        print(outer({"a": 1}))
    """)
    result = assert_same([str(prog)], ember_args=("-X", "jit-threshold=0"))
    assert b"KeyError: 'missing'" in result.stderr


QUICK = ["arith_ints.py", "floats.py", "strings.py", "uncaught.py", "functions.py"]


@pytest.mark.parametrize("program", QUICK)
def test_acceptance_with_tier1(program):
    assert_same([str(ACCEPTANCE / program)], ember_args=("-X", "jit-threshold=0"),
                cwd=ACCEPTANCE)


def test_caller_frame_inspection_is_the_known_gap(tmp_path):
    """warnings.warn(stacklevel=2) from a callee of compiled code names the wrong line:
    the compiled function has no frame (README.md; why tier 1 is off by default)."""
    prog = _script(tmp_path, """
        import warnings

        def callee():
            warnings.warn("w", stacklevel=2)

        def caller():
            callee()

        caller()
    """)
    env = environment()
    out = subprocess.run([str(EMBER), "-X", "jit-threshold=0", str(prog)],
                         capture_output=True, env=env, timeout=300)
    assert b"UserWarning: w" in out.stderr
    _ = os, sys
