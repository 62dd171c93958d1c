"""Acceptance programs (/work/shared/acceptance/*.py by default) under python3.12 and under
Ember at its default threshold, taking turns; prints the median child CPU time (user+sys)
of each and the ratio ember/cpython, plus the load average.

    .venv/bin/python bench/acceptance.py [--reps N] [programs...]

CPU time, not wall time, because the machine is shared; Ember's figure includes loading
LLVM and every compile, which is what a user of these short programs pays.
"""

from __future__ import annotations

import argparse
import glob
import os
import resource
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cpu_seconds(cmd: list[str], env: dict) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("programs", nargs="*")
    args = ap.parse_args()
    programs = args.programs or sorted(glob.glob(str(ROOT.parent / "shared" / "acceptance" / "*.py")))
    cpython = [sys.executable]
    ember = [str(ROOT / "ember")]
    env = dict(os.environ)
    print(f"load average before: {os.getloadavg()}")
    for prog in programs:
        c, e = [], []
        for _ in range(args.reps):
            c.append(cpu_seconds([*cpython, prog], env))
            e.append(cpu_seconds([*ember, prog], env))
        mc, me = statistics.median(c), statistics.median(e)
        print(f"{Path(prog).name:22s} cpython {mc * 1000:8.0f} ms  ember {me * 1000:8.0f} ms"
              f"  ember/cpython {me / mc:6.2f}", flush=True)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
