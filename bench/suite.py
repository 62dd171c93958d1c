"""The benchmark set and the run settings per interpreter.

A `Benchmark` is one invocation of a `run_benchmark.py` script (from pyperformance's data
files, or `bench/cold/` for ours). One invocation may produce several pyperf benchmarks
(`deepcopy` gives deepcopy, deepcopy_memo and deepcopy_reduce; `logging` gives three); each
of those is a row of the results table, as in pyperformance's own reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent

# pyperformance release whose benchmark scripts we run: pinned, so that numbers from
# different days compare the same code.
PYPERFORMANCE_VERSION = "1.14.0"
# pyperf for PyPy's venv: Debian's PyPy is Python 3.9, and pyperf 2.11 needs 3.11, so
# PyPy cannot take the main venv's pyperf. 2.10.0 is the last release for 3.9; its
# workers write the same JSON the other columns' pyperf reads.
PYPY_PYPERF_VERSION = "2.10.0"
# Third-party modules the chosen scripts import, installed into every interpreter's venv.
BENCH_DEPS = ("pyaes==1.6.1",)


@dataclass(frozen=True)
class Benchmark:
    name: str                     # what --bench selects
    script_dir: str               # bm_* directory in pyperformance, or a path under bench/
    args: tuple[str, ...] = ()    # extra script arguments (pyperformance's extra_opts)
    local: bool = False           # script lives in bench/ rather than pyperformance
    # Warm-up values for PyPy where pyperf's calibration under-warms its JIT.
    jit_warmups: int | None = None
    # The script times whole child processes (pyperf bench_command): the probe then runs
    # `command` itself instead of a pyperf worker.
    command: tuple[str, ...] = field(default=())
    # Seconds per iteration (mdp): one loop per value without calibrating, and fewer values.
    slow: bool = False


def _pp(name: str, script_dir: str | None = None, *args: str, jit_warmups=None,
        slow=False) -> Benchmark:
    return Benchmark(name, script_dir or f"bm_{name}", tuple(args), jit_warmups=jit_warmups,
                     slow=slow)


BENCHMARKS: tuple[Benchmark, ...] = (
    _pp("nbody"),
    _pp("spectral_norm"),
    _pp("fannkuch"),
    _pp("float"),
    _pp("richards"),
    _pp("chaos"),
    _pp("deltablue"),
    # PyPy's JIT needs seconds on these two; pyperf's automatic calibration stops too early.
    _pp("go", jit_warmups=30),
    _pp("hexiom", jit_warmups=30),
    _pp("raytrace"),
    _pp("nqueens"),
    _pp("unpack_sequence"),
    _pp("generators"),
    _pp("coroutines"),
    _pp("deepcopy"),
    _pp("pyflate"),
    _pp("crypto_pyaes"),
    _pp("logging"),
    _pp("pickle_pure_python", "bm_pickle", "--pure-python", "pickle"),
    _pp("json_dumps"),
    _pp("regex_v8"),
    _pp("mdp", slow=True),  # several seconds per iteration under CPython
    _pp("comprehensions"),
    _pp("scimark_sor", "bm_scimark", "sor"),
    _pp("scimark_lu", "bm_scimark", "lu"),
    _pp("scimark_fft", "bm_scimark", "fft"),
    _pp("scimark_monte_carlo", "bm_scimark", "monte_carlo"),
    _pp("scimark_sparse_mat_mult", "bm_scimark", "sparse_mat_mult"),
    Benchmark("cold_stdlib", "cold", local=True, command=("{python}", "{dir}/workload.py")),
)

BY_NAME = {b.name: b for b in BENCHMARKS}


@dataclass(frozen=True)
class Settings:
    """pyperf settings of one run mode for one kind of interpreter."""
    processes: int
    values: int
    warmups: int
    probe_seconds: float  # how long the single-process probe (first iteration, RSS) runs


# mode -> interpreter -> settings. Ember gets CPython's settings plus warm-up values, so that a
# tiered JIT has reached its steady state when values are taken (as many as PyPy's: with 3,
# the values of regex_v8 and logging were still falling while compiles in the background
# were installed, 43 -> 19.5 ms within one process; the first iteration and the warm-up
# table show what the warm-up costs); Ember with the JIT off
# gets Ember's own, so that the two differ only in the JIT; PyPy fewer processes (its
# values vary less between processes) but many more warm-up values.
SETTINGS = {
    "full": {
        "cpython": Settings(processes=3, values=3, warmups=2, probe_seconds=1.5),
        "ember": Settings(processes=3, values=3, warmups=10, probe_seconds=1.5),
        "pypy": Settings(processes=2, values=4, warmups=10, probe_seconds=3.0),
    },
    "quick": {
        "cpython": Settings(processes=1, values=3, warmups=1, probe_seconds=0.3),
        "ember": Settings(processes=1, values=3, warmups=4, probe_seconds=0.3),
        "pypy": Settings(processes=1, values=3, warmups=4, probe_seconds=0.6),
    },
}
for _mode in SETTINGS.values():
    _mode["ember-off"] = _mode["ember"]


def select(spec: str | None) -> list[Benchmark]:
    """`None` -> all; `"nbody,float"` -> those, in the given order; unknown names raise."""
    if not spec:
        return list(BENCHMARKS)
    out = []
    for name in (s.strip() for s in spec.split(",")):
        if not name:
            continue
        if name == "scimark":
            out += [b for b in BENCHMARKS if b.name.startswith("scimark_")]
        elif name in BY_NAME:
            out.append(BY_NAME[name])
        else:
            raise KeyError(f"unknown benchmark {name!r}; known: {', '.join(BY_NAME)}")
    return out


def warmups_for(bench: Benchmark, kind: str, settings: Settings, mode: str) -> int:
    """Warm-up values: the mode's default, raised for PyPy on benchmarks that need it
    (scaled down in quick mode); one for process-timing benchmarks, where every value is a
    cold start anyway."""
    if bench.command:
        return 1
    if bench.jit_warmups and kind == "pypy":
        extra = bench.jit_warmups if mode == "full" else max(1, bench.jit_warmups // 3)
        return max(settings.warmups, extra)
    return settings.warmups


@dataclass(frozen=True)
class Plan:
    """What one steady run of one benchmark under one interpreter is given."""
    processes: int
    values: int
    warmups: int
    loops: int | None     # None: pyperf calibrates
    probe_seconds: float


def plan(bench: Benchmark, kind: str, mode: str) -> Plan:
    """Settings for `bench` under interpreter `kind`: the mode's, with PyPy's extra warm-up
    (`warmups_for`), and cut down for slow benchmarks, where one iteration already lasts
    seconds (PyPy: half a minute on mdp): one loop per value, 1 process x 2 values after 1
    warm-up (PyPy 3); quick: 1 value, no warm-up."""
    s = SETTINGS[mode][kind]
    warmups = warmups_for(bench, kind, s, mode)
    if not bench.slow:
        return Plan(s.processes, s.values, warmups, None, s.probe_seconds)
    if mode == "quick":
        return Plan(1, 1, 0, 1, s.probe_seconds)
    return Plan(1, min(s.values, 2), min(warmups, 3 if kind == "pypy" else 1), 1,
                s.probe_seconds)
