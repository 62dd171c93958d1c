"""`-X perf`: compiled code gets lines in /tmp/perf-PID.map, as CPython's trampolines do."""

from __future__ import annotations

import os
import subprocess
import sys

PROGRAM = """
import os
import ember

@ember.jit
def work(n):
    return sum(i * i for i in range(n)) + n

print(work(10), os.getpid())
"""


def map_lines(jit: str, tmp_path) -> list[str]:
    env = dict(os.environ, EMBER_JIT=jit, XDG_CACHE_HOME=str(tmp_path))
    out = subprocess.run([sys.executable, "-X", "perf", "-c", PROGRAM], env=env,
                         capture_output=True, text=True, check=True, timeout=300).stdout
    value, pid = out.split()
    assert value == "295"
    path = f"/tmp/perf-{pid}.map"
    try:
        with open(path, encoding="utf-8") as f:
            return [line for line in f if line.rstrip().endswith("py::work:<string>")]
    finally:
        os.unlink(path)


def test_compiled_code_is_named_for_perf(tmp_path):
    interpreted = map_lines("off", tmp_path)
    assert len(interpreted) == 1  # CPython's own trampoline for `work`
    for _run in ("compiled", "loaded from the code cache"):
        lines = map_lines("on", tmp_path)
        assert len(lines) == 3, lines  # the trampoline, Ember's entry and body
        sizes = sorted(int(line.split()[1], 16) for line in lines)
        assert sizes[-1] > 64  # machine code of Ember's, not a trampoline
