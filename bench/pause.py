"""The longest pause a program's main thread sees while Ember compiles in the background.

    .venv/bin/python bench/pause.py [--runs N] [--functions K] [--cache]

Runs a small program (below) N times under python3.12 and under `./ember` with
background compilation forced (`-X jit-background=1`, threshold 100). The program makes
K functions hot, then keeps calling them (the program's own work) and records the
largest gap between two rounds, until every function is installed (under Ember) or for
as long as Ember took (under CPython, the baseline: what the machine alone
costs: the switch interval, the scheduler, the shared machine's load). It prints the
largest gaps and how many gaps were longer than 5 ms.

The code cache is off (`-X jit-cache=off`) unless --cache: a cached function loads
instead of compiling. Not a test: the numbers depend on the machine's load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROGRAM = textwrap.dedent('''
    import gc, json, sys, time

    def f0(x):
        total = 0
        for i in range(x):
            total += i * i
        return total

    def f1(s):
        return s.upper() + s[::-1]

    def f2(xs):
        out = []
        for x in xs:
            if x % 3 == 0:
                out.append(x // 3)
            elif x % 3 == 1:
                out.append(x * 2.5)
            else:
                out.append(-x)
        return out

    def f3(d, k):
        try:
            return d[k] + len(d)
        except KeyError:
            return -1
        finally:
            d[k] = k

    def f4(a, b=2, *args, c=3, **kw):
        z = [a, b, c, *args]
        for k, v in sorted(kw.items()):
            z.append((k, v))
        return z

    def f5(n):
        class P:
            def __init__(self, x):
                self.x = x
        return sum(P(i).x for i in range(n))

    def f6(text):
        words = {}
        for w in text.split():
            w = w.strip(".,").lower()
            words[w] = words.get(w, 0) + 1
        return sorted(words.items(), key=lambda kv: (-kv[1], kv[0]))[:3]

    def f7(m):
        rows = [[i * j for j in range(m)] for i in range(m)]
        return [sum(r) for r in zip(*rows)]

    CALLS = [(f0, (10,)), (f1, ("ab",)), (f2, ([1, 2, 3, 4],)), (f3, ({1: 2}, 1)),
             (f4, (1, 2, 3, 4), {"q": 1}), (f5, (2,)), (f6, ("a b. a c, b a",)), (f7, (3,))]
    K = int(sys.argv[1])
    LIMIT = float(sys.argv[2])  # seconds to spin when nothing is compiled (the baseline)
    try:
        import ember.runtime.install as inst
        installed = inst.is_installed
    except ImportError:
        installed = None

    for _ in range(300):  # hot at threshold 100
        for call in CALLS[:K]:
            call[0](*call[1], **(call[2] if len(call) > 2 else {}))
    gaps = []
    t_start = last = time.perf_counter()
    done_at = None
    n = 0
    while True:
        for call in CALLS[:K]:  # the program's own work: the hot functions again
            call[0](*call[1], **(call[2] if len(call) > 2 else {}))
        now = time.perf_counter()
        gaps.append(now - last)
        last = now
        n += 1
        if n % 256 == 0:
            if installed is not None and done_at is None and \\
                    all(installed(c[0]) for c in CALLS[:K]):
                done_at = now
                break
            if now - t_start > LIMIT:
                break
    gaps.sort()
    print(json.dumps({"max_ms": gaps[-1] * 1000, "top_ms": [g * 1000 for g in gaps[-5:]],
                      "over_5ms": sum(g > 0.005 for g in gaps), "iterations": n,
                      "seconds": last - t_start,
                      "all_installed": done_at is not None}))
''')


def run(cmd: list[str], env: dict) -> dict:
    r = subprocess.run(cmd, capture_output=True, env=env, text=True, timeout=600)
    if r.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed:\n{r.stderr}")
    return json.loads(r.stdout.splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--functions", type=int, default=5)
    ap.add_argument("--cache", action="store_true")
    args = ap.parse_args()
    env = dict(os.environ, PYTHONHASHSEED="0")
    ember = [str(ROOT / "ember"), "-X", "jit-threshold=100", "-X", "jit-background=1"]
    if not args.cache:
        ember += ["-X", "jit-cache=off"]
    cpython = [sys.executable]  # .venv's python3.12, without the start-up hook's switch
    print(f"load average before: {os.getloadavg()}")
    em_max, cp_max = [], []
    for _ in range(args.runs):
        e = run([*ember, "-c", PROGRAM, str(args.functions), "120"], env)
        c = run([*cpython, "-c", PROGRAM, str(args.functions), str(e["seconds"])], env)
        em_max.append(e["max_ms"])
        cp_max.append(c["max_ms"])
        print(f"ember   {e['seconds']:6.2f} s  installed={e['all_installed']}  max "
              f"{e['max_ms']:6.1f} ms  top {[round(g, 1) for g in e['top_ms']]}  "
              f">5ms: {e['over_5ms']}", flush=True)
        print(f"cpython {c['seconds']:6.2f} s                  max "
              f"{c['max_ms']:6.1f} ms  top {[round(g, 1) for g in c['top_ms']]}  "
              f">5ms: {c['over_5ms']}", flush=True)
    print(f"median of the longest pause: ember {statistics.median(em_max):.1f} ms, "
          f"cpython {statistics.median(cp_max):.1f} ms")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
