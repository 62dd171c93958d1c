"""Run CPython's own `Lib/test` under python3.12 and under Ember, module by module.

    .venv/bin/python compat/run.py            # every module (make compat); long
    .venv/bin/python compat/run.py --quick    # ~65 core modules (make compat-quick)
    .venv/bin/python compat/run.py --modules test_int,test_float

Each module runs in its own process (`<interp> -m test -q --junit-xml X <module>`) with a
timeout, in three ways: `cpython` (the oracle python3.12), `ember` (`./ember` at its
defaults) and `ember-eager` (`./ember -X jit-threshold=0`), one way after the other. Up to one
module per core runs at a time. A module that passes under CPython but not under an Ember way is run once more, alone,
to tell a real failure from a flaky one. Results: `compat/results*.json` and `.md`; raw
logs and JUnit XML under `compat/.work/`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.machine import (  # noqa: E402
    describe_machine,
    git_commit,
    interpreter_version,
    load_average,
)
from compat.modules import QUICK_MODULES, list_all_modules, schedule  # noqa: E402
from compat.outcome import ModuleResult, classify  # noqa: E402
from compat.report import render_markdown, summary_counts_line  # noqa: E402

COMPAT = ROOT / "compat"
WORK = COMPAT / ".work"
DEFAULT_ORACLE = "/root/.pyenv/versions/3.12.1/bin/python3.12"
DEFAULT_WAYS = ("cpython", "ember", "ember-eager")


def find_oracle() -> str:
    """The reference CPython 3.12: $EMBER_ORACLE, pyenv's 3.12.1, else python3.12 on PATH."""
    for cand in (os.environ.get("EMBER_ORACLE"), DEFAULT_ORACLE, shutil.which("python3.12")):
        if cand and os.access(cand, os.X_OK):
            return cand
    sys.exit("compat: no CPython 3.12 found (set EMBER_ORACLE=/path/to/python3.12)")


def find_ember() -> str:
    """`./ember` (the launcher), or the interpreter alias it execs, while it is not there."""
    launcher = ROOT / "ember"
    if launcher.is_file() and os.access(launcher, os.X_OK):
        return str(launcher)
    alias = ROOT / ".venv" / "bin" / "ember-python"
    if alias.exists():
        return str(alias)
    sys.exit("compat: neither ./ember nor .venv/bin/ember-python exists")


def way_commands(oracle: str, ember: str) -> dict[str, list[str]]:
    return {
        "cpython": [oracle],
        "ember": [ember],
        "ember-eager": [ember, "-X", "jit-threshold=0"],
        # Not run by default: the venv's CPython with the JIT off; separates "the venv
        # differs from a bare python3.12" from "the JIT differs".
        "venv": [str(ROOT / ".venv" / "bin" / "python")],
    }


def child_env() -> dict[str, str]:
    """The caller's environment minus Ember's own switches and Python's `PYTHON*` variables
    (PYTHONDONTWRITEBYTECODE, PYTHONPATH, ... change what some tests see: test_compileall
    fails under every way with PYTHONDONTWRITEBYTECODE=1), so each way is exactly its
    command line in a plain environment."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("EMBER_", "PYTHON"))}


def run_one(module: str, way: str, cmd: list[str], timeout: float, logdir: Path) -> ModuleResult:
    """One module under one way, in its own process group; killed at `timeout` seconds."""
    logdir.mkdir(parents=True, exist_ok=True)
    log = logdir / f"{module}.log"
    xml = logdir / f"{module}.xml"
    xml.unlink(missing_ok=True)
    cwd = WORK / "cwd"
    cwd.mkdir(parents=True, exist_ok=True)
    # regrtest's own faulthandler timeout fires first and dumps the hung thread's stack.
    inner = max(int(timeout) - 30, 30)
    argv = [*cmd, "-m", "test", "-q", "--randseed=1", f"--timeout={inner}",
            "--junit-xml", str(xml), module]
    killed = False
    start = time.monotonic()
    with open(log, "w") as out:
        out.write("$ " + shlex.join(argv) + "\n")
        out.flush()
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=cwd,
                                env=child_env(), stdin=subprocess.DEVNULL,
                                start_new_session=True)
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            killed = True
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            rc = proc.wait()
    seconds = time.monotonic() - start
    output = log.read_text(errors="replace")
    xml_text = xml.read_text(errors="replace") if xml.exists() else None
    return classify(module, way, rc, output, xml_text, seconds, killed_by_timeout=killed)


def write_results(prefix: Path, meta: dict, results: list[ModuleResult], ways: list[str]):
    data = {"meta": meta, "results": [r.to_json() for r in sorted(
        results, key=lambda r: (r.module, r.way))]}
    tmp = prefix.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    tmp.replace(prefix.with_suffix(".json"))
    prefix.with_suffix(".md").write_text(render_markdown(meta, results, ways))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="only the ~65 core modules")
    ap.add_argument("--modules", help="comma-separated module list (overrides --quick)")
    ap.add_argument("--ways", default=",".join(DEFAULT_WAYS),
                    help="comma-separated subset of cpython,ember,ember-eager,venv")
    ap.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 1,
                    help="modules run at once (default: number of cores)")
    ap.add_argument("--timeout", type=float, default=None,
                    help="seconds per module run (default 300 quick, 1200 full)")
    ap.add_argument("--output", help="results path prefix (default compat/results[-quick])")
    ap.add_argument("--resume", action="store_true",
                    help="keep the results already in the output JSON (from an interrupted "
                    "run of the same modules) and run only the missing module/way pairs")
    ap.add_argument("--report", metavar="JSON",
                    help="only rewrite the .md next to a results JSON")
    ap.add_argument("--no-rerun", action="store_true",
                    help="don't re-run regressions alone to detect flaky ones")
    args = ap.parse_args(argv)
    # Started in the background (`make compat &`, nohup), we inherit SIGINT ignored, and an
    # ignored signal stays ignored across exec: tests that raise SIGINT would then fail under
    # every way. A handled signal is reset to its default in the child.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if args.report:
        data = json.loads(Path(args.report).read_text())
        res = [ModuleResult.from_json(r) for r in data["results"]]
        write_results(Path(args.report).with_suffix(""), data["meta"], res,
                      list(data["meta"]["ways"]))
        return 0

    oracle = find_oracle()
    ember = find_ember()
    commands = way_commands(oracle, ember)
    ways = [w.strip() for w in args.ways.split(",") if w.strip()]
    for w in ways:
        if w not in commands:
            ap.error(f"unknown way {w!r}")
    run_ways = list(ways)  # the ways run now; `ways` may grow by resumed ones
    if args.modules:
        modules = [m.strip() for m in args.modules.split(",") if m.strip()]
        mode, default_prefix = "subset", COMPAT / "results-subset"
    elif args.quick:
        modules = list(QUICK_MODULES)
        mode, default_prefix = "quick", COMPAT / "results-quick"
    else:
        modules = list_all_modules(oracle)
        mode, default_prefix = "full", COMPAT / "results"
    prefix = Path(args.output) if args.output else default_prefix
    timeout = args.timeout or (300.0 if mode != "full" else 1200.0)
    run_id = dt.datetime.now().strftime("%Y%m%d-%H%M%S") + f"-{mode}"
    logroot = WORK / run_id

    results: list[ModuleResult] = []
    if args.resume:
        # Every earlier result of these modules is kept, also of ways not run this time, so
        # a run can be completed way by way (`--resume --ways cpython,ember`, then all).
        results = load_previous(prefix, set(modules), set(commands))
        ways = [w for w in commands if w in ways or any(r.way == w for r in results)]
    have = {(r.module, r.way) for r in results}
    tasks = [(m, w) for m in schedule(modules) for w in ways]
    meta = {
        "mode": mode,
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": describe_machine(),
        "load_start": load_average(),
        "commit": git_commit(),
        "command": shlex.join([Path(sys.executable).name, "compat/run.py",
                               *(argv if argv is not None else sys.argv[1:])]),
        "jobs": args.jobs,
        "timeout": timeout,
        "ways": {w: commands[w] for w in ways},
        "env_dropped": sorted(k for k in os.environ if k.startswith(("EMBER_", "PYTHON"))),
        "versions": {w: interpreter_version(commands[w]) for w in ways},
        "logs": str(logroot.relative_to(ROOT)),
        "planned": len(tasks),
        "partial": True,
        "finished": 0,
    }
    print(f"compat: {len(modules)} modules x {len(ways)} ways = {len(tasks)} runs, "
          f"{args.jobs} at a time, timeout {timeout:.0f} s; logs in {logroot}", flush=True)
    if args.resume:
        meta["resumed_with"] = len(results)
        print(f"compat: resuming: {len(results)} runs kept from {prefix.with_suffix('.json')}",
              flush=True)
    lock = threading.Lock()
    t0 = time.monotonic()
    last_write = t0

    def run_module(module: str) -> list[ModuleResult]:
        # The ways of one module run one after another, never at the same time: tests that
        # bind fixed ports or fixed file names would otherwise collide with themselves.
        done = []
        for way in run_ways:
            if (module, way) in have:
                continue
            try:
                r = run_one(module, way, commands[way], timeout, logroot / way)
            except Exception as exc:  # the harness itself failed: record, don't stop
                r = ModuleResult(module=module, way=way, outcome="fail", returncode=None,
                                 seconds=0.0, detail=f"harness error: {exc!r}")
            done.append(r)
            record(r)
        return done

    def record(r: ModuleResult) -> None:
        nonlocal last_write
        with lock:
            results.append(r)
            n = len(results)
            print(f"[{n}/{len(tasks)}] {r.module:<40} {r.way:<12} {r.outcome:<8} "
                  f"{r.seconds:7.1f}s", flush=True)
            if time.monotonic() - last_write > 60:
                meta.update(finished=n, wall_seconds=time.monotonic() - t0,
                            load_end=load_average())
                write_results(prefix, meta, results, ways)
                last_write = time.monotonic()

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        todo = [m for m in schedule(modules) if any((m, w) not in have for w in run_ways)]
        for fut in as_completed([pool.submit(run_module, m) for m in todo]):
            fut.result()

    if not args.no_rerun and "cpython" in ways:
        results = rerun_regressions(results, commands, timeout, logroot, run_ways)

    meta.update(partial=False, finished=len(results), wall_seconds=time.monotonic() - t0,
                load_end=load_average())
    write_results(prefix, meta, results, ways)
    print("compat:", summary_counts_line(results, ways))
    print(f"compat: wrote {prefix.with_suffix('.md')} and {prefix.with_suffix('.json')}")
    return 0


def load_previous(prefix: Path, modules: set[str], ways: set[str]) -> list[ModuleResult]:
    """Results of an earlier (possibly partial) run at `prefix`, limited to these modules
    and ways; an unreadable or missing file gives none."""
    try:
        data = json.loads(prefix.with_suffix(".json").read_text())
    except (OSError, json.JSONDecodeError):
        return []
    kept = []
    for item in data.get("results", []):
        r = ModuleResult.from_json(item)
        if r.module in modules and r.way in ways:
            kept.append(r)
    return kept


def rerun_regressions(results: list[ModuleResult], commands: dict[str, list[str]],
                      timeout: float, logroot: Path,
                      run_ways: list[str]) -> list[ModuleResult]:
    """Run each (module, Ember way) that failed or crashed where CPython passed once more,
    alone. If it passes now, keep the pass and mark it flaky."""
    from compat.report import regressions

    ways = sorted({r.way for r in results})
    redo = [r for r in regressions(results, ways)
            if r.outcome in ("fail", "crash") and r.way in run_ways and not r.flaky]
    if not redo:
        return results
    print(f"compat: re-running {len(redo)} regressions alone", flush=True)
    replaced = {}
    for r in redo:
        again = run_one(r.module, r.way, commands[r.way], timeout, logroot / f"{r.way}-rerun")
        print(f"  {r.module:<40} {r.way:<12} {r.outcome} -> {again.outcome}", flush=True)
        if again.outcome == "pass":
            again.flaky = True
            names = ", ".join(t.name.removeprefix("test.") for t in r.failed_tests[:8])
            again.detail = f"{r.outcome} in the main pass: {names or r.detail[:200]}"
            replaced[(r.module, r.way)] = again
    return [replaced.get((r.module, r.way), r) for r in results]


if __name__ == "__main__":
    sys.exit(main())
