"""Where the default thresholds come from: the measurements behind DEFAULT_THRESHOLD and
BACK_EDGES_PER_CALL (src/ember/defaults.py).

    .venv/bin/python bench/thresholds.py [--reps N]

Deciding when to compile is a rent-or-buy problem. While a function is counted, each of
its calls and loop back-edges pays the counter (sys.monitoring's dispatch and the C
counter: the "rent", `k`) and misses what compiled code would save (`s`); compiling it
costs the program's thread a price `C` once (sending the request, loading and installing
the machine code: the compile itself runs in the compile server, on another core). The
future of a function is unknown when it gets hot, and the strategy whose worst case is
best (the "ski rental" rule, at most twice the cost of knowing the future) buys once the
rent paid equals the price: compile after C / (k + s) calls, and weigh a back-edge
against a call by their rents.

This script measures the three, on this machine:

- `k` per call and per back-edge: a loop calling an empty function, and an empty loop,
  timed in-process under python3.12 and under Ember counting with a threshold so high
  that nothing is decided (`-X jit-warmup=0`);
- `s` per call and per back-edge: the same kernels and two with work in them, under
  python3.12 and compiled (`-X jit-threshold=0`);
- `C`: the time the program's thread spends per compiled function (`Remote.hot`,
  `Remote.load_and_install`, the ticks that install replies), over the functions of the
  acceptance programs at `-X jit-threshold=0` with the compile server.

and prints the thresholds they give. Not a test: the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import glob
import json
import statistics
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EMBER = str(ROOT / "ember")

# Each kernel runs N events (calls or back-edges) and prints the best ns per event.
KERNELS = {
    "call": ("call", """
        def f():
            pass
        def kernel(n):
            for i in range(n):
                f()
    """),
    "loop": ("back-edge", """
        def kernel(n):
            for i in range(n):
                pass
    """),
    "call_work": ("call", """
        class P:
            def __init__(self, x):
                self.x = x
        def f(p, i):
            return p.x + i
        def kernel(n, p=P(3)):
            for i in range(n):
                f(p, i)
    """),
    "loop_work": ("back-edge", """
        def kernel(n):
            t = 0
            for i in range(n):
                t += i & 255
            return t
    """),
}

TIMER = """
import time
N = {n}
kernel(1000)
best = float("inf")
for _ in range({reps}):
    t = time.perf_counter()
    kernel(N)
    best = min(best, time.perf_counter() - t)
print(best / N * 1e9)
"""

# Run under Ember: wraps the program-side halves of a compile in remote.py with timers,
# runs a program, waits for every reply, prints per-function milliseconds as JSON.
PRICE = """
import json, sys, time
from ember.runtime import driver, remote
spent = {}
def timed(cls, name, key):
    f = getattr(cls, name)
    def wrapper(self, *args):
        t = time.perf_counter()
        try:
            return f(self, *args)
        finally:
            dt = time.perf_counter() - t
            k = key(self, args)
            if k is not None:
                spent[k] = spent.get(k, 0.0) + dt
    setattr(cls, name, wrapper)
timed(remote.Remote, "hot", lambda self, a: id(a[0]))
timed(remote.Remote, "load_and_install", lambda self, a: id(a[0].__code__))
ticks = []
orig_tick = driver.Runtime._tick
def tick(self):
    t = time.perf_counter()
    try:
        return orig_tick(self)
    finally:
        ticks.append(time.perf_counter() - t)
driver.Runtime._tick = tick
prog = sys.argv[1]
sys.argv = sys.argv[1:]
try:
    exec(compile(open(prog).read(), prog, "exec"), {"__name__": "__main__"})
except BaseException:  # uncaught.py ends in one on purpose
    pass
import ember
compiled = len(ember.stats()["compiled"])
sys.__stderr__.write(json.dumps({"compiled": compiled, "per_function": list(spent.values()),
                                 "ticks": sum(ticks)}) + "\\n")
"""


def run_kernel(cmd: list[str], source: str, n: int, reps: int) -> float:
    program = textwrap.dedent(source) + TIMER.format(n=n, reps=reps)
    out = subprocess.run([*cmd, "-c", program], capture_output=True, text=True, check=True)
    return float(out.stdout.split()[-1])


def measure_kernels(reps: int) -> dict[str, dict[str, float]]:
    python = [sys.executable]
    counting = [EMBER, "-X", "jit-threshold=1000000000", "-X", "jit-warmup=0"]
    compiled = [EMBER, "-X", "jit-threshold=0"]
    out = {}
    for name, (_kind, source) in KERNELS.items():
        times = {label: min(run_kernel(cmd, source, 300_000, 7) for _ in range(reps))
                 for label, cmd in (("cpython", python), ("counting", counting),
                                    ("compiled", compiled))}
        out[name] = times
        print(f"{name:10s} cpython {times['cpython']:6.1f} ns  counted {times['counting']:6.1f} ns"
              f"  compiled {times['compiled']:6.1f} ns per event", flush=True)
    return out


def measure_price(programs: list[str]) -> list[float]:
    per_function: list[float] = []
    for prog in programs:
        r = subprocess.run([EMBER, "-X", "jit-threshold=0", "-X", "jit-background=1",
                            "-X", "jit-warmup=0", "-X", "jit-cache=off", "-c", PRICE, prog],
                           capture_output=True, text=True)
        line = [ln for ln in r.stderr.splitlines() if ln.startswith("{")]
        if not line:
            print(f"{Path(prog).name}: no measurement ({r.stderr.strip()[-200:]})", file=sys.stderr)
            continue
        got = json.loads(line[-1])
        ticks = got["ticks"] / max(got["compiled"], 1)  # shared by every installed function
        per_function.extend(t + ticks for t in got["per_function"])
    return per_function


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("programs", nargs="*")
    args = ap.parse_args()
    programs = args.programs or sorted(glob.glob(str(ROOT.parent / "shared" / "acceptance" / "*.py")))

    k = measure_kernels(args.reps)
    # The counter's rent: what counting adds to a bare call and a bare back-edge (the
    # loop kernel's back-edges are counted in the call kernel too).
    k_edge = k["loop"]["counting"] - k["loop"]["cpython"]
    k_call = (k["call"]["counting"] - k["call"]["cpython"]) - k_edge
    # What compiled code saves, per event, on the kernels with work in them (a lower
    # bound: more work per event saves more).
    s_call = max(k["call_work"]["cpython"] - k["call_work"]["compiled"], 0.0)
    s_edge = max(k["loop_work"]["cpython"] - k["loop_work"]["compiled"], 0.0)

    price = measure_price(programs)
    c = statistics.median(price) * 1e9  # ns
    p95 = sorted(price)[int(len(price) * 0.95)] * 1e9 if price else float("nan")
    print(f"\nrent while counted: {k_call:.0f} ns per call, {k_edge:.0f} ns per back-edge")
    print(f"saved once compiled: {s_call:.0f} ns per call, {s_edge:.0f} ns per back-edge")
    print(f"price on the program's thread: median {c / 1e6:.3f} ms, p95 {p95 / 1e6:.3f} ms "
          f"per function ({len(price)} functions)")
    calls = c / (k_call + s_call)
    per_call = (k_call + s_call) / (k_edge + s_edge)
    print(f"\nski rental: compile after {calls:.0f} calls; a call is worth {per_call:.1f} back-edges")


if __name__ == "__main__":
    main()
