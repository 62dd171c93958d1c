"""Background compilation (runtime/background.py): the program goes on interpreted while a
hot function compiles on another thread; exiting meanwhile changes nothing it prints."""

from __future__ import annotations

import textwrap

import pytest

from tests import harness

HOT_THEN_EXIT = textwrap.dedent("""
    import sys

    def f(x):
        total = 0
        for i in range(x):
            total += i * i
        return total

    def g(s):
        return s.upper() + s[::-1]

    for i in range(3000):
        f(20)
        g("ab")
    print(f(10), g("xy"))
    {tail}
""")


@pytest.mark.parametrize("tail", [
    "",
    "sys.exit(3)",
    "raise ValueError('done')",
    "import os; sys.stdout.flush(); os._exit(4)",
])
def test_exit_while_compiling_is_invisible(tail):
    program = HOT_THEN_EXIT.format(tail=tail)
    harness.assert_same(["-c", program], ember_args=("-X", "jit-threshold=100", "-X", "jit-background=1"))


WAITS_FOR_NATIVE = textwrap.dedent("""
    import time
    import ember

    def f(x):
        return x * 2 + 1

    deadline = time.monotonic() + 120
    n = 0
    while time.monotonic() < deadline:
        for _ in range(1000):
            n += f(3) - 6
        if any(c["qualname"] == "f" for c in ember.stats()["compiled"]):
            break
    print("compiled", n > 0, [c["qualname"] for c in ember.stats()["compiled"]])
""")


def test_hot_function_is_compiled_in_the_background_and_installed():
    r = harness.ember(["-c", WAITS_FOR_NATIVE], ember_args=("-X", "jit-threshold=100", "-X", "jit-background=1"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(b"compiled True [") and b"'f'" in r.stdout
