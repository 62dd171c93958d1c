"""Running one benchmark under one interpreter, and reading what it produced.

Two runs per (benchmark, interpreter):

1. **steady**: pyperf's manager (`run_benchmark.py --processes P --values V --warmups W`),
   which calibrates loops in a first worker and then takes values in fresh worker processes
   after W warm-up values each. The mean of the values is the steady-state time.
2. **probe**: one pyperf worker run directly (`--worker --loops 1 --warmups 0 --values K`,
   with `--worker-task i` for the i-th benchmark of the script), K sized to run about
   `probe_seconds`. Its first value is the first-iteration time (warm-up cost, including a
   JIT's compiling); `os.wait4` gives its peak RSS; under Ember it also runs with
   `-X jit-stats=PATH` for the compile time and the number of functions compiled. For a
   benchmark that times whole processes (the cold one) the probe runs the command itself.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class Steady:
    mean: float
    stdev: float
    median: float
    values: int
    loops: int | None


@dataclass
class Probe:
    first_iteration: float | None   # seconds, the very first call in a fresh process
    values: int
    tail_mean: float | None         # mean of the probe's second half: where warm-up got to
    peak_rss_mib: float | None
    seconds: float                  # wall time of the probe process
    returncode: int


def parse_pyperf_suite(path: Path) -> dict[str, Steady]:
    """pyperf JSON (suite or single benchmark) -> benchmark name -> steady-state stats.

    Only values count; warm-up values and calibration runs are ignored, as pyperf does.
    """
    data = json.loads(Path(path).read_text())
    common = data.get("metadata", {})
    out = {}
    for bench in data.get("benchmarks", []):
        meta = {**common, **bench.get("metadata", {})}
        values: list[float] = []
        loops = None
        for run in bench.get("runs", []):
            vals = run.get("values") or []
            values.extend(vals)
            if vals:
                loops = run.get("metadata", {}).get("loops", meta.get("loops", loops))
        name = meta.get("name", "?")
        if not values:
            continue
        out[name] = Steady(mean=_mean(values), stdev=_stdev(values),
                           median=_median(values), values=len(values), loops=loops)
    return out


def probe_values(path: Path) -> dict[str, list[float]]:
    """Worker-mode pyperf JSON -> benchmark name -> its values, in order."""
    data = json.loads(Path(path).read_text())
    common = data.get("metadata", {})
    out = {}
    for bench in data.get("benchmarks", []):
        meta = {**common, **bench.get("metadata", {})}
        vals: list[float] = []
        for run in bench.get("runs", []):
            vals.extend(run.get("values") or [])
        out[meta.get("name", "?")] = vals
    return out


def parse_jit_stats(path: Path) -> dict:
    """Ember's `-X jit-stats=PATH` file -> functions compiled, compile ms, functions refused.

    An absent or empty file means the JIT compiled nothing (0 / 0). The schema:
    `{"compiled": [{qualname, filename, firstlineno, tier, compile_ms}], "refused": [...],
    "totals": {...}}`.
    """
    empty = {"functions_compiled": 0, "compile_ms": 0.0, "refused": 0}
    try:
        text = Path(path).read_text()
    except OSError:
        return empty
    if not text.strip():
        return empty
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return {**empty, "note": f"unreadable jit-stats: {exc}"}
    compiled = data.get("compiled") or []
    refused = data.get("refused") or []
    compile_ms = sum(float(c.get("compile_ms") or 0.0) for c in compiled)
    totals = data.get("totals") or {}
    if not compiled and isinstance(totals.get("compile_ms"), int | float):
        compile_ms = float(totals["compile_ms"])
    return {"functions_compiled": len(compiled), "compile_ms": round(compile_ms, 3),
            "refused": len(refused)}


def probe_count(probe_seconds: float, steady_mean: float | None, lo: int = 1,
                hi: int = 500) -> int:
    """How many single iterations make a probe of about `probe_seconds`."""
    if not steady_mean or steady_mean <= 0:
        return lo
    return max(lo, min(hi, math.ceil(probe_seconds / steady_mean)))


def run_with_rusage(argv: list[str], log: Path, timeout: float, cwd: Path | None = None,
                    env: dict | None = None) -> tuple[int, float | None, float]:
    """Run `argv` (output appended to `log`), return (exit status, peak RSS MiB, seconds).

    The child gets its own process group, killed whole on timeout (status -9). Its peak RSS
    comes from `wait4` on that one child, so nothing else we ran is mixed in.
    """
    start = time.monotonic()
    with open(log, "a") as out:
        out.write("$ " + " ".join(argv) + "\n")
        out.flush()
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, env=env,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = start + timeout
        while True:
            pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                proc.returncode = os.waitstatus_to_exitcode(status)
                break
            if time.monotonic() > deadline:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                _, status, rusage = os.wait4(proc.pid, 0)
                proc.returncode = -9
                break
            time.sleep(0.02)
    seconds = time.monotonic() - start
    rss = rusage.ru_maxrss / 1024 if rusage.ru_maxrss else None  # KiB on Linux
    return proc.returncode, rss, seconds


def summarize_probe(values: list[float], rc: int, rss: float | None, secs: float) -> Probe:
    half = values[len(values) // 2:] if len(values) >= 2 else values
    return Probe(first_iteration=values[0] if values else None, values=len(values),
                 tail_mean=_mean(half) if half else None, peak_rss_mib=_round(rss, 1),
                 seconds=round(secs, 3), returncode=rc)


def as_dict(obj) -> dict:
    return asdict(obj)


def _round(x, nd):
    return None if x is None else round(x, nd)


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


def _stdev(xs: list[float]) -> float:
    if len(xs) < 2:
        return 0.0
    m = _mean(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def _median(xs: list[float]) -> float:
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2
