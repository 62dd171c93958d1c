"""Acceptance programs (/work/shared/acceptance/*.py by default) under python3.12 and under
Ember, taking turns; prints the median wall time and child CPU time (user+sys) of each,
and the ratios ember/cpython, plus the load average.

    .venv/bin/python bench/acceptance.py [--reps N] [--thresholds N,N,...] [--cold]
                                         [--baseline python3.12|venv] [--off] [programs...]

The baseline is what a user would otherwise type, the python3.12 the venv was made from
(`sys._base_executable`), with its own site-packages; `--baseline venv` is the venv's
python instead, which shares Ember's site-packages, so its ratio is Ember's own cost
alone. The ratio printed is the median of the paired ratios (each Ember run over the
baseline run just before it): on a shared machine the two runs of a pair see the same
load, which the ratio of the medians does not ensure.

By default Ember runs at its defaults (`./ember prog`). `--thresholds` instead runs it at
each given threshold with the default threshold's other settings (background compiles,
the warm-up), which is how the default threshold was chosen (src/ember/defaults.py);
`--cold` gives every Ember run an empty code cache of its own (a fresh $XDG_CACHE_HOME;
not `-X jit-cache=off`, which is a switch and takes the slower start of one), which is
what a first run on a new machine gets. `--off` adds a column for `./ember -X jit=off`:
the same interpreter with no JIT (ember-python is CPython statically linked where
python3.12 is a shared build, ember/interpreter.py), which tells the JIT's share of a
ratio from the interpreter's. Wall time includes the compile server's
work on the other core, CPU time only this process's: the machine is shared, so read
both. Each value is one whole process: start-up, loading LLVM and every compile are
counted, as a user of these short programs pays them.
"""

from __future__ import annotations

import argparse
import glob
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def measure(cmd: list[str], env: dict) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process and the children it waited for)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def variants(args) -> dict[str, list[str]]:
    ember = str(ROOT / "ember")
    off = {"jit=off": [ember, "-X", "jit=off"]} if args.off else {}
    if not args.thresholds:
        return {"ember": [ember], **off}
    return {**{f"t={n}": [ember, "-X", f"jit-threshold={n}", "-X", "jit-background=1",
                          "-X", "jit-warmup=50"]
               for n in args.thresholds.split(",")}, **off}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--thresholds", help="comma-separated thresholds to compare")
    ap.add_argument("--cold", action="store_true", help="an empty code cache (a first run)")
    ap.add_argument("--baseline", choices=("python3.12", "venv"), default="python3.12")
    ap.add_argument("--off", action="store_true", help="also ./ember -X jit=off")
    ap.add_argument("programs", nargs="*")
    args = ap.parse_args()
    programs = args.programs or sorted(glob.glob(str(ROOT.parent / "shared" / "acceptance" / "*.py")))
    base = sys.executable if args.baseline == "venv" else getattr(sys, "_base_executable", sys.executable)
    cmds = {"cpython": [base], **variants(args)}
    env = dict(os.environ)
    print(f"baseline: {base}; load average before: {os.getloadavg()}")
    ratios: dict[str, list[float]] = {name: [] for name in cmds if name != "cpython"}
    caches: list[str] = []  # --cold: the empty cache directories given out
    for prog in programs:
        for cmd in cmds.values():  # a warm cache (unless --cold), compiled .pyc files
            subprocess.run([*cmd, prog], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in cmds}
        for _ in range(args.reps):
            for name, cmd in cmds.items():
                if args.cold and name not in ("cpython", "jit=off"):
                    # Kept to the end: the compile server may still fill it after the run.
                    empty = tempfile.mkdtemp(prefix="ember-cold-")
                    caches.append(empty)
                    runs[name].append(measure([*cmd, prog], {**env, "XDG_CACHE_HOME": empty}))
                else:
                    runs[name].append(measure([*cmd, prog], env))
        wall = {name: statistics.median(w for w, _ in r) for name, r in runs.items()}
        cpu = {name: statistics.median(c for _, c in r) for name, r in runs.items()}
        line = [f"{Path(prog).name:20s} cpython {wall['cpython'] * 1000:7.1f} ms"]
        for name in ratios:
            ratio = statistics.median(e[0] / c[0] for e, c in zip(runs[name], runs["cpython"]))
            ratios[name].append(ratio)
            line.append(f"{name} {wall[name] * 1000:7.1f} ms {ratio:5.2f} (cpu {cpu[name] / cpu['cpython']:4.2f})")
        print("  ".join(line), flush=True)
    for name, rs in ratios.items():
        geo = math.exp(sum(math.log(r) for r in rs) / len(rs))
        print(f"{name}: geometric mean of wall ratios {geo:.3f}, worst {max(rs):.3f}")
    print(f"load average after: {os.getloadavg()}")
    if caches:
        from ember.runtime.compileserver import ORPHAN_GRACE_S

        time.sleep(ORPHAN_GRACE_S + 1)  # the compile servers may still be filling them
        for path in caches:
            shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    main()
