"""bench/: result parsing, ratios and geometric mean, tables, verdict, settings, and how each
interpreter's pyperf workers are started. Runs no benchmark."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import matplotlib
import pyperf
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import interpreters, measure, report, suite  # noqa: E402
from bench.run import merge_rows, steady_argv  # noqa: E402


def pyperf_json(tmp_path: Path, benches: dict[str, list[list[float]]], loops: int = 4) -> Path:
    """A pyperf suite file as the manager writes it: a calibration run with warm-ups only,
    then one run per worker with warm-ups and values."""
    data = {"version": "1.0", "metadata": {"python_version": "3.12.1"}, "benchmarks": []}
    for name, runs in benches.items():
        entries = [{"metadata": {"calibrate_loops": loops}, "warmups": [[1, 9.0], [2, 9.0]]}]
        for values in runs:
            entries.append({"metadata": {"loops": loops}, "warmups": [[loops, 5.0]],
                            "values": values})
        data["benchmarks"].append({"metadata": {"name": name}, "runs": entries})
    path = tmp_path / "suite.json"
    path.write_text(json.dumps(data))
    return path


def test_parse_pyperf_suite_ignores_warmups_and_calibration(tmp_path):
    path = pyperf_json(tmp_path, {"a": [[1.0, 2.0], [3.0]], "b": [[0.5, 0.5]]})
    got = measure.parse_pyperf_suite(path)
    assert list(got) == ["a", "b"]
    assert got["a"].mean == pytest.approx(2.0)
    assert got["a"].median == pytest.approx(2.0)
    assert got["a"].values == 3
    assert got["a"].stdev == pytest.approx(1.0)
    assert got["a"].loops == 4
    assert got["b"].stdev == 0.0


def test_parse_pyperf_suite_single_benchmark_name_in_common_metadata(tmp_path):
    data = {"version": "1.0", "metadata": {"name": "nbody"},
            "benchmarks": [{"runs": [{"metadata": {}, "values": [0.25, 0.75]}]}]}
    path = tmp_path / "b.json"
    path.write_text(json.dumps(data))
    assert measure.parse_pyperf_suite(path)["nbody"].mean == pytest.approx(0.5)


def test_parse_real_pyperf_file(tmp_path):
    run = pyperf.Run([0.1, 0.3], warmups=[(1, 1.0)], metadata={"name": "x", "loops": 1},
                     collect_metadata=False)
    path = tmp_path / "real.json"
    pyperf.Benchmark([run]).dump(str(path))
    got = measure.parse_pyperf_suite(path)
    assert got["x"].mean == pytest.approx(0.2)
    assert measure.probe_values(path) == {"x": [0.1, 0.3]}


def test_probe_values_keeps_order(tmp_path):
    path = pyperf_json(tmp_path, {"a": [[3.0, 1.0, 2.0]]})
    assert measure.probe_values(path) == {"a": [3.0, 1.0, 2.0]}


@pytest.mark.parametrize("text", [None, "", "  \n"])
def test_jit_stats_absent_or_empty_means_nothing_compiled(tmp_path, text):
    path = tmp_path / "stats.json"
    if text is not None:
        path.write_text(text)
    assert measure.parse_jit_stats(path) == {"functions_compiled": 0, "compile_ms": 0.0,
                                             "refused": 0}


def test_jit_stats_sums_compile_time(tmp_path):
    path = tmp_path / "stats.json"
    path.write_text(json.dumps({
        "compiled": [
            {"qualname": "f", "filename": "a.py", "firstlineno": 1, "tier": 1,
             "compile_ms": 12.5},
            {"qualname": "g", "filename": "a.py", "firstlineno": 9, "tier": 2,
             "compile_ms": 7.5},
        ],
        "refused": [{"qualname": "h"}],
        "totals": {},
    }))
    assert measure.parse_jit_stats(path) == {"functions_compiled": 2, "compile_ms": 20.0,
                                             "refused": 1}


def test_jit_stats_unreadable_is_reported_not_raised(tmp_path):
    path = tmp_path / "stats.json"
    path.write_text("{not json")
    got = measure.parse_jit_stats(path)
    assert got["functions_compiled"] == 0 and "unreadable" in got["note"]


def test_probe_count_is_bounded():
    assert measure.probe_count(2.0, 0.5) == 4
    assert measure.probe_count(2.0, 10.0) == 1
    assert measure.probe_count(2.0, 1e-9) == 500
    assert measure.probe_count(2.0, None) == 1


def test_summarize_probe():
    p = measure.summarize_probe([4.0, 2.0, 1.0, 1.0], 0, 12.34, 8.0)
    assert p.first_iteration == 4.0 and p.tail_mean == 1.0 and p.peak_rss_mib == 12.3
    empty = measure.summarize_probe([], 1, None, 0.1)
    assert empty.first_iteration is None and empty.tail_mean is None


def test_run_with_rusage_reports_the_childs_peak_rss(tmp_path):
    log = tmp_path / "log"
    code = "b = bytearray(64 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096])"
    rc, rss, secs = measure.run_with_rusage([sys.executable, "-c", code], log, timeout=60)
    assert rc == 0
    assert rss is not None and rss >= 64
    assert log.read_text().startswith("$ ")


def test_run_with_rusage_kills_on_timeout(tmp_path):
    rc, _, secs = measure.run_with_rusage(
        [sys.executable, "-c", "import time; time.sleep(30)"], tmp_path / "log", timeout=0.5)
    assert rc == -9 and secs < 10


def row(name: str, **means: float | None) -> dict:
    results = {}
    for interp, mean in means.items():
        results[interp] = ({"status": "ok", "mean": mean} if mean is not None
                           else {"status": "failed", "note": "boom"})
    return {"benchmark": name, "script": name, "results": results}


def test_ratio_and_geomean_over_rows_that_ran_everywhere():
    rows = [row("a", cpython=2.0, ember=1.0, pypy=0.5),
            row("b", cpython=1.0, ember=2.0, pypy=0.25),
            row("c", cpython=1.0, ember=1.0, pypy=None)]
    assert report.ratio(rows[0], "ember") == 0.5
    assert report.ratio(rows[2], "pypy") is None
    gm, n = report.geomean_ratios(rows, ["cpython", "ember", "pypy"])
    assert n == 2
    assert gm["ember"] == pytest.approx(1.0)
    assert gm["pypy"] == pytest.approx(math.sqrt(0.25 * 0.25))
    assert gm["cpython"] == pytest.approx(1.0)


def test_geomean_edge_cases():
    assert report.geomean([]) is None
    assert report.geomean([4.0, 1.0]) == pytest.approx(2.0)


@pytest.mark.parametrize("secs,text", [(1.5, "1.5 sec"), (0.0123, "12.3 ms"),
                                       (0.000456, "456 us"), (2e-9, "2 ns"), (None, "—")])
def test_fmt_time(secs, text):
    assert report.fmt_time(secs) == text


def meta(interps=("cpython", "ember", "pypy")) -> dict:
    return {"mode": "quick", "date": "2026-01-01T00:00:00", "commit": "abc",
            "interpreters_run": list(interps),
            "interpreters": {i: {"label": i.upper(), "cmd": [i], "version": "v",
                                 "settings": {"processes": 1, "values": 3, "warmups": 1}}
                             for i in interps}}


def test_markdown_has_rows_geomean_and_notes():
    rows = [row("a", cpython=2.0, ember=1.0, pypy=0.5),
            row("b", cpython=1.0, ember=None, pypy=0.5)]
    rows[0]["results"]["ember"].update(functions_compiled=3, compile_ms=12.0, refused=1,
                                       first_iteration=3.0, peak_rss_mib=20.0)
    md = report.render_markdown(meta(), rows)
    assert "| a | 2 sec | 1 sec | 0.50x | 500 ms | 0.25x |" in md
    assert "geometric mean** (1 benchmarks that ran everywhere)" in md
    assert "| a | 3 | 1 | 12.0 |" in md
    assert "- b / EMBER: boom" in md


ALL = interpreters.ORDER


def test_markdown_with_the_jit_off_column_and_the_jits_own_share():
    rows = [row("a", cpython=2.0, ember=1.0, pypy=0.5, **{"ember-off": 1.6}),
            row("b", cpython=1.0, ember=1.0, pypy=0.5, **{"ember-off": 0.8})]
    m = meta(ALL)
    m["interpreters"]["ember-off"].update(label="Ember, JIT off", worker="/w/python",
                                          pyperf="2.11.0")
    md = report.render_markdown(m, rows)
    head = ("| benchmark | CPYTHON | EMBER | EMBER ratio | Ember, JIT off | Ember, JIT off ratio"
            " | JIT's own share | PYPY | PYPY ratio |")
    assert head in md
    assert "|---|" + "---:|" * 8 in md
    assert "| a | 2 sec | 1 sec | 0.50x | 1.6 sec | 0.80x | 0.62x | 500 ms | 0.25x |" in md
    assert "| b | 1 sec | 1 sec | 1.00x | 800 ms | 0.80x | 1.25x | 500 ms | 0.50x |" in md
    share = math.sqrt(1.0 / 1.6 * 1.0 / 0.8)
    assert (f"(2 benchmarks that ran everywhere) |  |  | **{math.sqrt(0.5):.2f}x** |  | "
            f"**{math.sqrt(0.8 * 0.8):.2f}x** | **{share:.2f}x** |  | **0.35x** |") in md
    assert "workers `/w/python` (the same command); pyperf 2.11.0" in md
    # The verdict comes before the tables, and names b: slower than with the JIT off.
    verdict = next(ln for ln in md.splitlines() if ln.startswith("**Verdict"))
    assert md.index(verdict) < md.index("## Steady state")
    assert "Ember above 1.00x CPython: none." in verdict
    assert "Ember above 1.00x Ember with the JIT off: b 1.25x." in verdict
    # The warm-up and memory tables have the column too.
    assert "Ember, JIT off first | Ember, JIT off first / steady" in md
    assert "| CPYTHON | EMBER | Ember, JIT off | PYPY |" in md


def test_verdict_met_only_when_both_criteria_hold_everywhere():
    ok = [row("a", cpython=2.0, ember=1.0, **{"ember-off": 1.0}),
          row("b", cpython=1.0, ember=1.004, **{"ember-off": 1.004})]
    v = report.verdict(ok, ["cpython", "ember", "ember-off"])
    assert v["met"] and not v["over_cpython"] and not v["over_jit_off"]
    assert report.verdict_text(v).startswith("**Verdict: no slowdown.**")


def test_verdict_lists_each_criterion_as_the_table_rounds_it():
    rows = [row("slow", cpython=1.0, ember=1.006, **{"ember-off": 2.0}),
            row("jit_hurts", cpython=2.0, ember=1.0, **{"ember-off": 0.9}),
            row("edge", cpython=1.0, ember=1.0049, **{"ember-off": 1.0049}),
            row("failed", cpython=1.0, ember=None, **{"ember-off": 1.0})]
    v = report.verdict(rows, ["cpython", "ember", "ember-off"])
    assert not v["met"]
    assert [n for n, _ in v["over_cpython"]] == ["slow"]
    assert [n for n, _ in v["over_jit_off"]] == ["jit_hurts"]
    assert v["unmeasured"] == ["failed"]
    text = report.verdict_text(v)
    assert text.startswith("**Verdict: slower than allowed.**")
    assert "CPython: slow 1.01x." in text and "JIT off: jit_hurts 1.11x." in text
    assert "No time to judge: failed." in text


def test_verdict_without_the_jit_off_column_is_not_met():
    rows = [row("a", cpython=2.0, ember=1.0)]
    v = report.verdict(rows, ["cpython", "ember"])
    assert not v["met"] and v["checked"] == ["cpython"]
    text = report.verdict_text(v)
    assert text.startswith("**Verdict: not established.**") and "unchecked" in text
    assert report.verdict_text(report.verdict(rows, ["cpython"])).startswith(
        "**Verdict: none**")


def test_jit_off_column_runs_with_embers_settings():
    for mode in ("full", "quick"):
        assert suite.SETTINGS[mode]["ember-off"] == suite.SETTINGS[mode]["ember"]
    mdp = suite.BY_NAME["mdp"]
    assert suite.plan(mdp, "ember-off", "full") == suite.plan(mdp, "ember", "full")
    assert list(ALL) == ["cpython", "ember", "ember-off", "pypy"]


def test_steady_argv_gives_pyperf_the_worker_executable(tmp_path):
    nbody = suite.BY_NAME["nbody"]
    p = suite.plan(nbody, "ember", "quick")
    plain = interpreters.Interpreter("ember", ["/e/ember"])
    off = interpreters.Interpreter("ember-off", ["/e/ember", "-X", "jit=off"],
                                   worker="/w/python")
    argv = steady_argv(nbody, plain, Path("s.py"), p, Path("o.json"))
    assert argv[:2] == ["/e/ember", "s.py"] and "--python" not in argv
    argv = steady_argv(nbody, off, Path("s.py"), p, Path("o.json"))
    assert argv[:4] == ["/e/ember", "-X", "jit=off", "s.py"]
    assert argv[argv.index("--python") + 1] == "/w/python"


def test_worker_executable_runs_the_command_with_its_arguments(tmp_path):
    path = tmp_path / "w" / "python"
    got = interpreters.worker_executable([sys.executable, "-X", "utf8"], path)
    assert got == str(path) and os.access(path, os.X_OK)
    out = subprocess.run([got, "-c", "import sys; print(sys.flags.utf8_mode, sys.argv[1:])",
                          "a b"], capture_output=True, text=True, check=True).stdout
    assert out == "1 ['a b']\n"


# Run by pyperf's workers: records the JIT state each worker ran in, in its metadata.
JIT_STATE_SCRIPT = """\
import sys
import pyperf

m = sys.monitoring
if __name__ == "__main__":
    runner = pyperf.Runner()
    runner.metadata["jit_state_worker"] = str("--worker" in sys.argv)
    runner.metadata["jit_state_xoptions"] = repr(sys._xoptions)
    runner.metadata["jit_state_tool"] = repr(m.get_tool(m.OPTIMIZER_ID))
    runner.bench_func("jit_state", lambda: None)
"""


def test_pyperf_workers_run_with_the_jit_off_only_in_the_jit_off_column(tmp_path):
    """The real thing: pyperf's manager under each Ember column, as the harness starts it,
    and what its workers report. pyperf passes neither `-X` options nor EMBER_* variables to
    its workers, so without the worker executable they would run with the JIT on."""
    script = tmp_path / "jit_state.py"
    script.write_text(JIT_STATE_SCRIPT)
    got = {}
    for name, interp in interpreters.setup(["ember", "ember-off"]).items():
        assert interp.available, interp.note
        out = tmp_path / f"{name}.json"
        p = suite.Plan(processes=2, values=1, warmups=0, loops=1, probe_seconds=0.1)
        argv = steady_argv(suite.BY_NAME["nbody"], interp, script, p, out)
        subprocess.run(argv, check=True, capture_output=True, timeout=300)
        data = json.loads(out.read_text())
        runs = data["benchmarks"][0]["runs"]
        states = set()
        for run in runs:
            md = {**data.get("metadata", {}), **data["benchmarks"][0].get("metadata", {}),
                  **run.get("metadata", {})}
            states.add((md["jit_state_worker"], md["jit_state_xoptions"], md["jit_state_tool"]))
        assert len(runs) == 2
        got[name] = states
    assert got["ember"] == {("True", "{}", "'ember'")}
    assert got["ember-off"] == {("True", "{'jit': 'off'}", "None")}


def test_cold_stdlib_starts_its_processes_with_the_workers_x_options():
    cold = ROOT / "bench" / "cold"
    code = (f"import sys; sys.path.insert(0, {str(cold)!r}); import run_benchmark; "
            "print(run_benchmark.XOPTIONS)")
    ember = str(ROOT / "ember")
    for extra, want in (([], "[]"), (["-X", "jit=off"], "['-Xjit=off']"),
                        (["-X", "jit=off", "-X", "dev"], "['-Xjit=off', '-Xdev']")):
        out = subprocess.run([ember, *extra, "-c", code], capture_output=True, text=True,
                             check=True).stdout
        assert out.strip() == want


def test_chart_is_written(tmp_path):
    assert matplotlib.__version__  # a dev dependency: the chart is part of every run
    rows = [row("a", cpython=2.0, ember=1.0, pypy=0.5, **{"ember-off": 1.5})]
    path = tmp_path / "c.png"
    assert report.render_chart(meta(ALL), rows, path)
    assert path.read_bytes()[:4] == b"\x89PNG"


def test_select():
    assert len(suite.select(None)) == len(suite.BENCHMARKS)
    assert [b.name for b in suite.select("float, nbody")] == ["float", "nbody"]
    assert len(suite.select("scimark")) == 5
    with pytest.raises(KeyError):
        suite.select("nope")


def test_benchmark_set_is_the_issues():
    names = {b.name for b in suite.BENCHMARKS}
    wanted = ("nbody spectral_norm fannkuch float richards chaos deltablue go hexiom raytrace "
              "nqueens unpack_sequence generators coroutines deepcopy pyflate crypto_pyaes "
              "logging pickle_pure_python json_dumps regex_v8 mdp comprehensions").split()
    assert set(wanted) <= names
    assert {f"scimark_{k}" for k in "sor lu fft monte_carlo sparse_mat_mult".split()} <= names
    assert "cold_stdlib" in names
    assert (ROOT / "bench" / "cold" / "run_benchmark.py").exists()


def test_warmups_for_pypy_on_go_and_cold_command():
    go, cold, nbody = suite.BY_NAME["go"], suite.BY_NAME["cold_stdlib"], suite.BY_NAME["nbody"]
    full = suite.SETTINGS["full"]
    assert suite.warmups_for(go, "pypy", full["pypy"], "full") == 30
    assert suite.warmups_for(go, "cpython", full["cpython"], "full") == full["cpython"].warmups
    assert suite.warmups_for(nbody, "pypy", full["pypy"], "full") == full["pypy"].warmups
    assert suite.warmups_for(cold, "pypy", full["pypy"], "full") == 1


def test_merge_rows_spreads_a_whole_script_failure():
    class FakeInterp:
        def __init__(self, available=True, note=""):
            self.available, self.note = available, note

    bench = suite.BY_NAME["deepcopy"]
    per = {"cpython": {"deepcopy": {"status": "ok", "mean": 1.0},
                       "deepcopy_memo": {"status": "ok", "mean": 2.0}},
           "pypy": {"deepcopy": {"status": "failed", "note": "exit status 1"}}}
    rows = merge_rows(bench, per, {"cpython": FakeInterp(), "pypy": FakeInterp(),
                                "ember": FakeInterp(False, "gone")})
    assert [r["benchmark"] for r in rows] == ["deepcopy", "deepcopy_memo"]
    assert rows[1]["results"]["pypy"]["status"] == "failed"
    assert rows[0]["results"]["ember"] == {"status": "unavailable", "note": "gone"}


def test_plan_cuts_slow_benchmarks_and_fixes_their_loops():
    mdp, nbody = suite.BY_NAME["mdp"], suite.BY_NAME["nbody"]
    assert suite.plan(nbody, "cpython", "full").loops is None
    full = suite.plan(mdp, "cpython", "full")
    assert full.loops == 1 and full.processes <= 2 and full.values <= 2 and full.warmups <= 1
    quick = suite.plan(mdp, "ember", "quick")
    assert (quick.processes, quick.values, quick.warmups, quick.loops) == (1, 1, 0, 1)
