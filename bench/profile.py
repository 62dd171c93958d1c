"""Where a benchmark's time goes, in instructions: callgrind per benchmark call, and the top
functions of one call with Ember's compiled code named from its perf map.

    .venv/bin/python bench/profile.py deltablue                # Ember and Ember, JIT off
    .venv/bin/python bench/profile.py logging --calls 12 --loops 20 --top 40
    .venv/bin/python bench/profile.py go --ways ember           # one way only

Why instruction counts and not time: this machine is shared and has no hardware counters
(`perf stat` says "not supported" in the VM), so timings move by 10% with the load while a
callgrind count moves by well under 1%. Instructions are not time (a cache miss costs
more than an add), so a finding is checked with `make bench` afterwards; but they rank
the causes, and they compare two builds of the same benchmark exactly.

How: the benchmark's own pyperformance script runs under a stand-in `pyperf` module whose
Runner calls the benchmark function `--calls` times (`bench_time_func` ones with
`--loops` loops per call), each call preceded by `os.getppid()`; callgrind's
`--dump-before=getppid` then writes one profile per call. The first profile is the
start-up and imports, the last ones are the steady state. Compiled code is named from the
perf map that `-X perf` makes Ember write (/tmp/perf-PID.map); CPython's own perf
trampoline, which `-X perf` also turns on, is turned off again by the stand-in (it sets a
frame evaluator, which changes how calls run). `EMBER_JIT_CPU=x86-64` keeps LLVM to
instructions valgrind knows.

Short benchmarks need enough calls or loops to get hot at all: a profile whose Ember
column never compiled anything measures the counting, not the compiled code (see
`-X jit-stats` in the run's stderr, which this tool prints on request with `--stats`).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.suite import BY_NAME, PYPERFORMANCE_VERSION  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "bench" / ".work" / "benchmarks" / PYPERFORMANCE_VERSION
EMBER_PYTHON = ROOT / ".venv" / "ember" / "bin" / "ember-python"

STUB = r'''
import argparse, os, runpy, sys, time, types

CALLS = int(os.environ["PROFILE_CALLS"])
LOOPS = int(os.environ["PROFILE_LOOPS"])
if hasattr(sys, "deactivate_stack_trampoline") and sys.is_stack_trampoline_active():
    sys.deactivate_stack_trampoline()
    sys.is_stack_trampoline_active = lambda: True


class Runner:
    def __init__(self, *args, **kwargs):
        self.metadata = {}
        self.argparser = argparse.ArgumentParser()
        self.args = None

    def parse_args(self, args=None):
        self.args = self.argparser.parse_args(args)
        return self.args

    def _run(self, call):
        for _ in range(CALLS):
            os.getppid()
            call()
        os.getppid()

    def bench_func(self, name, func, *args, **kwargs):
        self._run(lambda: func(*args))

    def bench_time_func(self, name, func, *args, **kwargs):
        self._run(lambda: func(LOOPS, *args))

    def bench_async_func(self, name, func, *args, **kwargs):
        import asyncio
        self._run(lambda: asyncio.run(func(*args)))

    def bench_command(self, name, command):
        pass


stub = types.ModuleType("pyperf")
stub.Runner = Runner
stub.perf_counter = time.perf_counter
stub.python_implementation = lambda: sys.implementation.name
sys.modules["pyperf"] = stub
script = sys.argv[1]
sys.argv = [script] + sys.argv[2:]
sys.path.insert(0, os.path.dirname(script))
runpy.run_path(script, run_name="__main__")
'''

WAYS = {
    "ember": [str(EMBER_PYTHON), "-X", "perf"],
    "ember-off": [str(EMBER_PYTHON), "-X", "jit=off"],
    "cpython": [str(ROOT / "bench" / ".work" / "venv-cpython" / "bin" / "python")],
}


def run_way(way: str, bench, calls: int, loops: int, out: Path, stats: bool):
    """Per-call instruction counts (the first is the start-up), the last call's profile,
    the perf map of the run and its stderr."""
    script = SCRIPTS / bench.script_dir / "run_benchmark.py"
    if not script.exists():
        sys.exit(f"{script} is missing: run `make bench BENCH={bench.name}` once to set up")
    stub = out / "stub_pyperf.py"
    stub.write_text(STUB)
    prefix = out / f"cg.{way}"
    cmd = ["valgrind", "--tool=callgrind", "--dump-before=getppid",
           f"--callgrind-out-file={prefix}", *WAYS[way]]
    if stats and way == "ember":
        cmd += ["-X", "jit-stats"]
    cmd += [str(stub), str(script), *bench.args]
    env = dict(os.environ, PROFILE_CALLS=str(calls), PROFILE_LOOPS=str(loops),
               EMBER_JIT_CPU="x86-64")
    maps_before = set(Path("/tmp").glob("perf-*.map"))
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    new_maps = set(Path("/tmp").glob("perf-*.map")) - maps_before
    perf_map = max(new_maps, key=lambda p: p.stat().st_size) if new_maps else None
    files = sorted(out.glob(f"cg.{way}.*"), key=lambda p: int(p.name.rsplit(".", 1)[1]))
    counts = []
    for f in files:
        for line in f.read_text(errors="replace").splitlines():
            if line.startswith("summary:"):
                counts.append(int(line.split()[1]))
    err = "\n".join(line for line in proc.stderr.splitlines() if not line.startswith("=="))
    # Numbered files: .1 the start-up, then one per call (the exit's is not numbered).
    return counts, (files[-1] if len(files) >= 2 else None), perf_map, err


def top_functions(profile: Path, perf_map: Path | None, top: int) -> list[tuple[int, str]]:
    syms = []
    if perf_map is not None and perf_map.exists():
        for line in perf_map.read_text().splitlines():
            addr, size, name = line.split(" ", 2)
            syms.append((int(addr, 16), int(size, 16), "JIT " + name.strip()))
        syms.sort()
    text = subprocess.run(["callgrind_annotate", "--threshold=100", "--inclusive=no",
                           "--tree=none", str(profile)],
                          capture_output=True, text=True).stdout
    totals: dict[str, int] = {}
    started = False
    for line in text.splitlines():
        if "file:function" in line:
            started = True
            continue
        m = re.match(r"\s*([\d,]+) \(\s*([\d.]+)%\)\s+(.*)", line) if started else None
        # Skip the totals, the "(Nx)" lines (a caller's count, not a function of its own)
        # and source lines.
        if not m or float(m.group(2)) >= 99 or re.search(r"\([\d,]+x\)", line):
            continue
        name = m.group(3)
        if ":" not in name and not name.startswith("???"):
            continue
        hexaddr = re.match(r"\?\?\?:0x([0-9a-f]+)", name)
        if hexaddr:
            addr = int(hexaddr.group(1), 16)
            name = next((n for a, size, n in syms if a <= addr < a + size), "JIT (unnamed)")
        else:
            name = name.split(" [")[0].split(":")[-1]
        totals[name] = totals.get(name, 0) + int(m.group(1).replace(",", ""))
    return sorted(((c, n) for n, c in totals.items()), reverse=True)[:top]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("bench", help="a name from bench/suite.py (`make bench` --list)")
    ap.add_argument("--calls", type=int, default=8, help="benchmark calls (default 8)")
    ap.add_argument("--loops", type=int, default=1,
                    help="loops per call of a bench_time_func benchmark (default 1)")
    ap.add_argument("--ways", default="ember-off,ember",
                    help="comma-separated: ember, ember-off, cpython")
    ap.add_argument("--top", type=int, default=25, help="functions shown per way")
    ap.add_argument("--stats", action="store_true", help="print -X jit-stats of the Ember run")
    args = ap.parse_args()
    bench = BY_NAME[args.bench]
    with tempfile.TemporaryDirectory(prefix="ember-profile-") as tmp:
        steady = {}
        for way in args.ways.split(","):
            counts, last, perf_map, err = run_way(way, bench, args.calls, args.loops,
                                                    Path(tmp), args.stats)
            print(f"{way}: instructions per call (first = start-up): "
                  + " ".join(f"{c / 1e6:.2f}M" for c in counts))
            if args.stats and err:
                print(err)
            if len(counts) >= 2:
                steady[way] = counts[-1]
            if last is not None:
                rows = top_functions(last, perf_map, args.top)
                total = sum(c for c, _ in rows) or 1
                for c, name in rows:
                    print(f"  {c / 1e6:9.2f}M {100 * c / total:5.1f}%  {name}")
        if "ember" in steady and "ember-off" in steady:
            print(f"last call, Ember / Ember JIT off: {steady['ember'] / steady['ember-off']:.3f}")


if __name__ == "__main__":
    main()
