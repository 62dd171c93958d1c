"""Compile time per function: the acceptance programs (or the given ones) under
`./ember -X jit-threshold=0 -X jit-cache=off`, every compile's `compile_ms` from
`-X jit-stats`, as median, 95th percentile and maximum; the programs' own functions apart
from the standard library's they ran. Also how many of their non-generator functions
were compiled.

    .venv/bin/python bench/compile_times.py [programs...]

Not a test: the times depend on the machine's load (`uptime` is printed).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def defined_functions(path: str) -> set[tuple[str, int]]:
    """(qualname, first line) of every function the program defines (class bodies are
    not functions), generators, coroutines and async generators excepted."""
    import inspect

    out = set()

    def walk(code):
        for const in code.co_consts:
            if hasattr(const, "co_code"):
                flags = const.co_flags
                if flags & inspect.CO_OPTIMIZED and not flags & (
                        inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR):
                    out.add((const.co_qualname, const.co_firstlineno))
                walk(const)

    walk(compile(Path(path).read_text(), path, "exec"))
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(name: str, values: list[float]) -> str:
    if not values:
        return f"{name}: none"
    return (f"{name}: {len(values)} functions, median {statistics.median(values):.1f} ms, "
            f"p95 {percentile(values, 0.95):.1f} ms, max {max(values):.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("programs", nargs="*")
    args = ap.parse_args()
    programs = args.programs or sorted(glob.glob(str(ROOT.parent / "shared" / "acceptance" / "*.py")))
    print(f"load average before: {os.getloadavg()}")
    own, other, compiled, refused = [], [], set(), []
    defined: set = set()
    for prog in programs:
        with tempfile.TemporaryDirectory() as tmp:
            stats = Path(tmp) / "stats.json"
            subprocess.run([str(ROOT / "ember"), "-X", "jit-threshold=0", "-X", "jit-cache=off",
                            "-X", f"jit-stats={stats}", prog], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=3600)
            data = json.loads(stats.read_text())
        defined |= {(prog, *f) for f in defined_functions(prog)}
        for c in data["compiled"]:
            (own if c["filename"] == prog else other).append(c["compile_ms"])
            if c["filename"] == prog:
                compiled.add((prog, c["qualname"], c["firstlineno"]))
        refused += [(Path(prog).name, r["qualname"], r["reason"]) for r in data["refused"]
                    if r["filename"] == prog]
    print(summary("the programs' functions", own))
    print(summary("standard-library functions they ran", other))
    print(summary("all", own + other))
    print(f"programs' functions compiled: {len(compiled & defined)} of the {len(defined)} "
          f"non-generator functions they define ({100 * len(compiled & defined) / len(defined):.1f}%)")
    print(f"refused: {[r for r in refused if r[2] != 'generator']}")
    never = sorted((Path(p).name, q) for p, q, _l in defined - compiled
                   if not any(r[1] == q for r in refused))
    print(f"never called, or not reached: {never}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    sys.exit(main())
