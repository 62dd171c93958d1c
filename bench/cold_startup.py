"""Start-up cost of `./ember` against `python3.12`: CPU and wall time of whole processes.

    .venv/bin/python bench/cold_startup.py [--runs N] [--program FILE] [--ms MS]

Runs each command N times (default 200), interleaved so that drifts in machine load hit all
alike, and prints the median CPU time (user + system, from wait4) and wall time of each, and
the difference to `python3.12`. CPU time is the steadier figure on a shared machine.

The commands: `python3.12 -c pass`; the project's venv interpreter without Ember
(`.venv/bin/python`, same site-packages, Ember's boot not run); the interpreter `./ember`
execs (`.venv/ember/bin/ember-python` where it could be linked, src/ember/_main.c; else
`.venv/bin/ember-python`: Ember's boot, no launcher); `./ember` (the sh launcher too);
and the same for a program
that computes for about MS milliseconds (default 50) without anything getting hot, or for
--program FILE.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from ember import interpreter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# About `ms` milliseconds of work in straight-line module code and one call per function,
# so nothing gets hot at any threshold above 1.
_PROGRAM = """\
import json, re
def f(n):
    s = 0
    for i in range(n):
        s += i * i
    return s
assert f({n}) > 0
assert json.loads(json.dumps({{"a": [1, 2, 3]}}))["a"] == [1, 2, 3]
assert re.match(r"(\\w+)-(\\d+)", "abc-12").group(2) == "12"
"""


def reference_python() -> str:
    """$EMBER_PYTHON, else the CPython the venv was made from (what `./ember` runs)."""
    p = os.environ.get("EMBER_PYTHON") or getattr(sys, "_base_executable", None)
    if not p or not os.path.isfile(p):
        p = shutil.which("python3.12")
    if p is None:
        sys.exit("cold_startup: no python3.12 found (set EMBER_PYTHON)")
    return p


def run_once(argv: list[str]) -> tuple[float, float]:
    """(CPU ms, wall ms) of one process running argv to its end, output discarded."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(proc.pid, 0)
    wall = (time.perf_counter() - t0) * 1000
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"cold_startup: {argv} exited with {proc.returncode}")
    return (ru.ru_utime + ru.ru_stime) * 1000, wall


def calibrate_loop(python: str, ms: float) -> int:
    """Loop count for f(n) that takes about `ms` of CPU under `python`."""
    n = 200_000
    code = f"import time\ndef f(n):\n s=0\n for i in range(n): s+=i*i\n return s\nt=time.process_time();f({n});print(time.process_time()-t)"
    secs = min(float(subprocess.check_output([python, "-c", code])) for _ in range(3))
    return max(1000, int(n * ms / 1000 / max(secs, 1e-6)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--program", help="a program to run instead of the generated one")
    ap.add_argument("--ms", type=float, default=50.0, help="CPU ms of the generated program")
    args = ap.parse_args()

    py = reference_python()
    venv_py = os.path.join(ROOT, ".venv", "bin", "python")
    alias = interpreter.launched(os.path.join(ROOT, ".venv"))
    launcher = os.path.join(ROOT, "ember")
    subprocess.run([launcher, "-c", "pass"], check=True)  # set up .venv on a fresh clone

    with tempfile.TemporaryDirectory() as tmp:
        prog = args.program
        if prog is None:
            prog = os.path.join(tmp, "prog.py")
            with open(prog, "w") as f:
                f.write(_PROGRAM.format(n=calibrate_loop(py, args.ms)))
        label = os.path.basename(prog)
        cases = {
            "python3.12 -c pass": [py, "-c", "pass"],
            "venv python -c pass": [venv_py, "-c", "pass"],
            "ember-python -c pass": [alias, "-c", "pass"],
            "./ember -c pass": [launcher, "-c", "pass"],
            f"python3.12 {label}": [py, prog],
            f"./ember {label}": [launcher, prog],
        }
        cpu: dict[str, list[float]] = {k: [] for k in cases}
        wall: dict[str, list[float]] = {k: [] for k in cases}
        for argv in cases.values():  # one warm-up each (page cache, .pyc files)
            run_once(argv)
        for _ in range(args.runs):
            for name, argv in cases.items():
                c, w = run_once(argv)
                cpu[name].append(c)
                wall[name].append(w)

    med = {k: statistics.median(v) for k, v in cpu.items()}
    print(f"{args.runs} runs each, interleaved; medians in ms; reference {py}")
    print(f"{'command':28} {'CPU':>8} {'wall':>8} {'CPU vs python3.12':>20}")
    for name in cases:
        ref = med[f"python3.12 {label}"] if label in name else med["python3.12 -c pass"]
        d = med[name] - ref
        print(f"{name:28} {med[name]:8.2f} {statistics.median(wall[name]):8.2f} "
              f"{d:+8.2f} ({med[name] / ref:.3f}x)")


if __name__ == "__main__":
    main()
