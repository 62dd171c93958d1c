"""Run pyperformance's benchmarks under CPython 3.12, Ember, Ember with the JIT off and PyPy,
side by side.

    .venv/bin/python bench/run.py                    # the whole set (make bench)
    .venv/bin/python bench/run.py --quick            # same set, few values (make bench-quick)
    .venv/bin/python bench/run.py --bench nbody,float
    .venv/bin/python bench/run.py --report bench/results/full.json   # redraw md + png

Sets itself up on first use: pyperformance, pyperf, matplotlib and the benchmarks' own
dependencies in the main .venv; a bare python3.12 venv and a PyPy venv under bench/.work.
Each benchmark script runs directly with pyperf under each interpreter (not through
`pyperformance run`, which would build its own venvs and lose Ember). Interpreters take turns
per benchmark, so slow drifts in machine load hit all of them alike.

Writes bench/results/<mode>.json, <mode>.md and <mode>.png (mode: full, quick or subset);
logs go to bench/.work/runs/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
import shutil
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import interpreters as interp_mod  # noqa: E402
from bench import measure, report, suite  # noqa: E402
from bench.machine import describe_machine, git_commit, load_average  # noqa: E402

RESULTS = ROOT / "bench" / "results"
NOISE_NOTE = ("This machine is shared: other work was running during this run (see the load "
              "averages), so differences under about 10% are noise.")


def settings_dict(s: suite.Settings) -> dict:
    return {"processes": s.processes, "values": s.values, "warmups": s.warmups,
            "probe_seconds": s.probe_seconds}


def steady_argv(bench: suite.Benchmark, interp: interp_mod.Interpreter, script: Path,
                p: suite.Plan, out_json: Path) -> list[str]:
    """pyperf's manager for one script under one interpreter, with the plan's settings; its
    workers are started by `interp.worker` where `sys.executable` would lose options."""
    argv = [*interp.cmd, str(script), *bench.args,
            "--processes", str(p.processes), "--values", str(p.values),
            "--warmups", str(p.warmups), "-o", str(out_json)]
    if p.loops:
        argv += ["--loops", str(p.loops)]
    if interp.worker:
        argv += ["--python", interp.worker]
    return argv


def run_script(bench: suite.Benchmark, interp: interp_mod.Interpreter, script: Path,
               mode: str, rundir: Path, timeout: float) -> dict[str, dict]:
    """Steady run plus probes of one script under one interpreter -> sub-benchmark -> data."""
    p = suite.plan(bench, interp.name, mode)
    log = rundir / f"{bench.name}.{interp.name}.log"
    steady_json = rundir / f"{bench.name}.{interp.name}.json"
    steady_json.unlink(missing_ok=True)
    argv = steady_argv(bench, interp, script, p, steady_json)
    rc, _, secs = measure.run_with_rusage(argv, log, timeout, cwd=script.parent)
    if rc != 0 or not steady_json.exists():
        return {bench.name: {"status": "failed", "note": _failure_note(log, rc)}}
    steady = measure.parse_pyperf_suite(steady_json)
    if not steady:
        return {bench.name: {"status": "failed", "note": "pyperf produced no values"}}
    out = {}
    for index, (name, st) in enumerate(steady.items()):
        entry = {"status": "ok", **measure.as_dict(st), "processes": p.processes,
                 "warmups": p.warmups, "steady_seconds": round(secs, 1)}
        entry.update(probe(bench, interp, script, index, name, st.mean, p.probe_seconds,
                           rundir, timeout))
        out[name] = entry
    return out


def probe(bench: suite.Benchmark, interp: interp_mod.Interpreter, script: Path, index: int,
          name: str, steady_mean: float, probe_seconds: float, rundir: Path,
          timeout: float) -> dict:
    """First-iteration time, peak RSS and (Ember) JIT stats from one fresh process, started
    with the interpreter's own command (`-X jit=off` included for ember-off)."""
    log = rundir / f"{name}.{interp.name}.probe.log"
    stats = rundir / f"{name}.{interp.name}.jit-stats.json"
    stats.unlink(missing_ok=True)
    xopts = ["-X", f"jit-stats={stats}"] if interp.name == "ember" else []
    if bench.command:
        argv = [*interp.cmd, *xopts,
                *(a.format(dir=script.parent, python="").strip() for a in bench.command[1:])]
        rc, rss, secs = measure.run_with_rusage(argv, log, timeout, cwd=script.parent)
        values = [secs] if rc == 0 else []
    else:
        out_json = rundir / f"{name}.{interp.name}.probe.json"
        out_json.unlink(missing_ok=True)
        k = measure.probe_count(probe_seconds, steady_mean)
        argv = [*interp.cmd, *xopts, str(script), *bench.args, "--worker",
                "--worker-task", str(index), "--loops", "1", "--warmups", "0",
                "--values", str(k), "-o", str(out_json)]
        rc, rss, secs = measure.run_with_rusage(argv, log, timeout, cwd=script.parent)
        values = []
        if rc == 0 and out_json.exists():
            values = measure.probe_values(out_json).get(name, [])
    p = measure.summarize_probe(values, rc, rss, secs)
    data = {"first_iteration": p.first_iteration, "probe_values": p.values,
            "tail_mean": p.tail_mean, "peak_rss_mib": p.peak_rss_mib,
            "probe_seconds": p.seconds}
    if rc != 0:
        data["probe_note"] = _failure_note(log, rc)
    if interp.name == "ember":
        data.update(measure.parse_jit_stats(stats))
    return data


def _failure_note(log: Path, rc: int) -> str:
    try:
        lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        lines = []
    tail = [ln.strip() for ln in lines[-3:] if not ln.startswith("$ ")]
    what = "timed out" if rc == -9 else f"exit status {rc}"
    return f"{what}: {' | '.join(tail)[-300:]}"


def write_outputs(prefix: Path, meta: dict, rows: list[dict], chart: bool) -> None:
    prefix.parent.mkdir(parents=True, exist_ok=True)
    png = prefix.with_suffix(".png")
    meta["chart"] = png.name
    tmp = prefix.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")
    tmp.replace(prefix.with_suffix(".json"))
    prefix.with_suffix(".md").write_text(report.render_markdown(meta, rows))
    if chart:
        report.render_chart(meta, rows, png)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bench", help="comma-separated benchmarks (default: all); "
                    "`scimark` selects the five scimark ones")
    ap.add_argument("--quick", action="store_true",
                    help="few processes and values: about 11 minutes for the whole set")
    ap.add_argument("--interpreters", default=",".join(interp_mod.ORDER),
                    help="comma-separated subset of " + ",".join(interp_mod.ORDER))
    ap.add_argument("--install-pypy", action="store_true",
                    help="apt-get install pypy3 pypy3-venv first if PyPy is missing")
    ap.add_argument("--output", help="results path prefix (default bench/results/<mode>)")
    ap.add_argument("--timeout", type=float, default=None,
                    help="seconds per pyperf run (default 300 quick, 1200 full)")
    ap.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    ap.add_argument("--report", metavar="JSON", help="only redraw .md and .png from a JSON")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # see compat/run.py

    if args.list:
        for b in suite.BENCHMARKS:
            print(b.name)
        return 0
    if args.report:
        data = json.loads(Path(args.report).read_text())
        write_outputs(Path(args.report).with_suffix(""), data["meta"], data["rows"], True)
        return 0

    try:
        benches = suite.select(args.bench)
    except KeyError as exc:
        ap.error(str(exc))
    mode = "quick" if args.quick else "full"
    label = ("quick" if args.quick else "full") if not args.bench else (
        "quick-subset" if args.quick else "subset")
    prefix = Path(args.output) if args.output else RESULTS / label
    timeout = args.timeout or (300.0 if args.quick else 1200.0)
    names = [n.strip() for n in args.interpreters.split(",") if n.strip()]

    interp_mod.ensure_main_deps()
    if "pypy" in names and args.install_pypy and not interp_mod.find_pypy():
        interp_mod.install_pypy()
    interps = interp_mod.setup(names)
    for i in interps.values():
        if not i.available:
            interp_mod.log(f"{i.label}: not run: {i.note}")
    scripts_root = interp_mod.benchmark_scripts()
    run_names = [n for n in names if interps[n].available]
    if "cpython" not in run_names:
        sys.exit("bench: CPython 3.12 is the baseline and must be available")

    run_id = dt.datetime.now().strftime("%Y%m%d-%H%M%S") + f"-{label}"
    rundir = interp_mod.WORK / "runs" / run_id
    rundir.mkdir(parents=True, exist_ok=True)
    import pyperformance  # installed by ensure_main_deps

    meta = {
        "mode": label,
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": describe_machine(),
        "load_start": load_average(),
        "commit": git_commit(),
        "command": shlex.join(["bench/run.py",
                               *(argv if argv is not None else sys.argv[1:])]),
        "pyperformance": pyperformance.__version__,
        "pyperf": interp_mod.pyperf_version(),
        "interpreters": {
            n: {"label": i.label, "cmd": i.cmd, "version": i.version, "available":
                i.available, "note": i.note, "worker": i.worker, "pyperf": i.pyperf,
                "settings": settings_dict(suite.SETTINGS[mode][n]) if i.available else None}
            for n, i in interps.items()},
        "interpreters_run": run_names,
        "noise_note": NOISE_NOTE,
        "logs": str(rundir.relative_to(ROOT)),
        "planned": len(benches),
        "finished": 0,
        "partial": True,
    }
    interp_mod.log(f"{len(benches)} benchmarks x {', '.join(run_names)}; mode {mode}; "
                   f"logs in {rundir.relative_to(ROOT)}")
    rows: list[dict] = []
    t0 = time.monotonic()
    for n, bench in enumerate(benches, 1):
        if bench.local:
            script = ROOT / "bench" / bench.script_dir / "run_benchmark.py"
        else:
            script = scripts_root / bench.script_dir / "run_benchmark.py"
        per_interp: dict[str, dict[str, dict]] = {}
        for name in run_names:
            start = time.monotonic()
            per_interp[name] = run_script(bench, interps[name], script, mode, rundir, timeout)
            status = ", ".join(
                f"{sub}: {report.fmt_time(d.get('mean')) if d['status'] == 'ok' else 'FAILED'}"
                for sub, d in per_interp[name].items())
            interp_mod.log(f"[{n}/{len(benches)}] {bench.name:<24} {interps[name].label:<14} "
                           f"{status} ({time.monotonic() - start:.0f} s)")
        rows.extend(merge_rows(bench, per_interp, interps))
        meta.update(finished=n, wall_seconds=time.monotonic() - t0, load_end=load_average())
        write_outputs(prefix, meta, rows, chart=False)

    meta.update(partial=False, wall_seconds=time.monotonic() - t0, load_end=load_average())
    write_outputs(prefix, meta, rows, chart=True)
    if label == "full":
        hist = RESULTS / "history"
        hist.mkdir(parents=True, exist_ok=True)
        stamp = meta["date"][:16].replace(":", "").replace("T", "-")
        shutil.copy(prefix.with_suffix(".json"), hist / f"{stamp}-{meta['commit']}.json")
    gm, common = report.geomean_ratios(rows, run_names)
    summary = [f"{interps[i].label} {report.fmt_ratio(g)}" for i, g in gm.items()
               if i != "cpython"]
    if report.SHARE_OF in run_names and report.SHARE_OVER in run_names:
        own = report.geomean_share(rows, run_names)
        summary.append(f"{report.SHARE_LABEL} {report.fmt_ratio(own)}")
    interp_mod.log(f"geometric mean of time ratios to CPython over {common} benchmarks: "
                   + ", ".join(summary))
    interp_mod.log(report.verdict_text(report.verdict(rows, run_names)).replace("**", ""))
    interp_mod.log(f"wrote {prefix.with_suffix('.md')}, .json, .png")
    return 0


def merge_rows(bench: suite.Benchmark, per_interp: dict[str, dict[str, dict]],
               interps: dict[str, interp_mod.Interpreter]) -> list[dict]:
    """One row per pyperf benchmark the script produced under any interpreter; an
    interpreter that failed the whole script gets its failure on every row."""
    subs: list[str] = []
    for results in per_interp.values():
        for sub, d in results.items():
            if d["status"] == "ok" and sub not in subs:
                subs.append(sub)
    if not subs:
        subs = [bench.name]
    rows = []
    for sub in subs:
        row = {"benchmark": sub, "script": bench.name, "results": {}}
        for name, results in per_interp.items():
            if sub in results:
                row["results"][name] = results[sub]
            elif bench.name in results and results[bench.name]["status"] != "ok":
                row["results"][name] = results[bench.name]
            else:
                row["results"][name] = {"status": "failed", "note": "no result for " + sub}
        for name, i in interps.items():
            if not i.available:
                row["results"][name] = {"status": "unavailable", "note": i.note}
        rows.append(row)
    return rows


if __name__ == "__main__":
    sys.exit(main())
