"""Type feedback (runtime/profile.py): recorded when a function gets hot, shown by
`-X jit-dump=profile`."""

from __future__ import annotations

import os
import subprocess

from tests import harness

ROOT = harness.ROOT

PROGRAM = """
import gc

class Box:
    def __del__(self):
        print("freed")

def f(a, b, *, k=1.5):
    s = 0
    for i in range(a):
        s = s + i * b
    return s + k

def g(box, x):
    return x

for _ in range(30):
    f(100, 2)
for _ in range(30):
    g(Box(), "s")
print(f(3, 2.5))
"""


def run(*args):
    env = dict(os.environ)
    return subprocess.run([str(ROOT / "ember"), *args, "-c", PROGRAM], env=env,
                          capture_output=True, text=True, timeout=300)


def test_profile_dump_shows_argument_types_and_quickened_instructions():
    r = run("-X", "jit-threshold=20", "-X", "jit-dump=profile")
    assert r.returncode == 0, r.stderr
    lines = r.stderr.splitlines()
    at = lines.index(";; ember profile: f (<string>:8)")
    assert lines[at + 1] == "  args: a: int, b: int, k: float"
    spec = lines[at + 2]
    assert spec.startswith("  specialised: ")
    assert "BINARY_OP_MULTIPLY_INT" in spec and "BINARY_OP_ADD_INT" in spec
    at = lines.index(";; ember profile: g (<string>:14)")
    assert lines[at + 1] == "  args: box: __main__.Box, x: str"


def test_recording_changes_nothing_the_program_sees():
    # Reading the frame's arguments must not keep them alive (no f_locals dict):
    # every Box is freed at the same point as under CPython.
    plain = subprocess.run([str(harness.CPYTHON), "-c", PROGRAM],
                           capture_output=True, text=True, timeout=300)
    profiled = run("-X", "jit-threshold=20")
    assert profiled.stdout == plain.stdout
