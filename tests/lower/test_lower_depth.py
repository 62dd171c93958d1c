"""Deep Python recursion through a compiled function: CPython nests Python-to-Python calls
without touching the C stack, compiled calls nest on it, so past half the C recursion budget
the entry hands the function back to the interpreter (backend/entry.py, C_DEPTH_LIMIT)."""

from __future__ import annotations

import json
import textwrap

from tests.harness import assert_same


def test_deep_recursion_beyond_the_c_limit_matches_cpython(tmp_path):
    prog = tmp_path / "deep.py"
    stats = tmp_path / "stats.json"
    prog.write_text(textwrap.dedent("""
        import sys

        def recurse(n):
            if n:
                recurse(n - 1)

        sys.setrecursionlimit(100_000)
        for _ in range(20):
            recurse(10)
        recurse(90_000)
        try:
            recurse(101_000)
        except RecursionError as e:
            print("RecursionError:", e)
        print("done")
    """))
    result = assert_same([str(prog)], ember_args=("-X", "jit-threshold=5", "-X", f"jit-stats={stats}"))
    assert result.stdout.endswith(b"done\n")
    compiled = {c["qualname"] for c in json.loads(stats.read_text())["compiled"]}
    assert "recurse" in compiled
