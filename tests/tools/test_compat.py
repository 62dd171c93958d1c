"""compat/: classifying a module's run, parsing regrtest output, the summary. Runs no part
of the CPython test suite."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from compat import modules, report  # noqa: E402
from compat.outcome import (  # noqa: E402
    FailedTest,
    ModuleResult,
    classify,
    parse_failure_lines,
    parse_junit,
    parse_totals,
)

PASS_OUT = """\
Using random seed: 1
0:00:00 load avg: 0.57 Run 1 test sequentially

== Tests result: SUCCESS ==

Total duration: 69 ms
Total tests: run=46
Total test files: run=1/1
Result: SUCCESS
"""

SKIP_OUT = """\
test_winreg skipped -- No module named 'winreg'

== Tests result: SUCCESS ==

Total tests: run=0
Total test files: run=1/1 skipped=1
Result: SUCCESS
"""

DENIED_OUT = """\
Total tests: run=0
Total test files: run=0/1 resource_denied=1
Result: NO TESTS RAN
"""

FAIL_OUT = """\
test test_fakefail failed -- multiple errors occurred; run in verbose mode for details
test_fakefail failed (1 error, 1 failure)

== Tests result: FAILURE ==

Total tests: run=3 failures=1 skipped=1
Total test files: run=1/1 failed=1
Result: FAILURE
"""

JUNIT = """<testsuites tests="3" errors="1" failures="1"><testsuite tests="3" errors="1"
failures="1"><testcase name="test.test_x.T.test_err" status="run"><error type="ValueError"
message="ValueError: x&#10;more">tb</error></testcase><testcase name="test.test_x.T.test_fail"
status="run"><failure type="AssertionError" message="AssertionError: 1 != 2">tb</failure>
</testcase><testcase name="test.test_x.T.test_ok" status="run" /></testsuite></testsuites>"""


def test_parse_totals():
    tests, files = parse_totals(FAIL_OUT)
    assert tests == {"run": 3, "failures": 1, "skipped": 1}
    assert files == {"run": 1, "failed": 1}
    assert parse_totals("nothing") == ({}, {})


def test_parse_junit():
    got = parse_junit(JUNIT)
    assert [(t.name, t.kind, t.message) for t in got] == [
        ("test.test_x.T.test_err", "error", "ValueError: x"),
        ("test.test_x.T.test_fail", "failure", "AssertionError: 1 != 2"),
    ]
    assert parse_junit("<not xml") == []


def test_parse_failure_lines_fallback():
    out = ("FAIL: test_a (test.test_x.T.test_a)\n----\nERROR: test_b (test.test_x.T.test_b)\n"
           "FAIL: test_a (test.test_x.T.test_a)\n")
    assert [(t.name, t.kind) for t in parse_failure_lines(out)] == [
        ("test.test_x.T.test_a", "failure"), ("test.test_x.T.test_b", "error")]


def test_classify_pass():
    r = classify("test_bisect", "ember", 0, PASS_OUT, None, 0.5)
    assert r.outcome == "pass" and r.tests_run == 46 and r.tests_failed == 0


@pytest.mark.parametrize("out,rc", [(SKIP_OUT, 0), (DENIED_OUT, 4), (DENIED_OUT, 0)])
def test_classify_skipped(out, rc):
    r = classify("test_winreg", "cpython", rc, out, None, 0.1)
    assert r.outcome == "skipped"


def test_classify_skip_reason():
    assert "No module named" in classify("test_winreg", "cpython", 0, SKIP_OUT, None, 0).detail


def test_classify_fail_with_junit_names():
    r = classify("test_x", "ember", 2, FAIL_OUT, JUNIT, 1.0)
    assert r.outcome == "fail"
    assert [t.name for t in r.failed_tests] == ["test.test_x.T.test_err",
                                                "test.test_x.T.test_fail"]
    assert r.tests_failed == 1


def test_classify_fail_without_names_keeps_tail():
    r = classify("test_x", "ember", 2, "ImportError: cannot import name 'y'\n", None, 1.0)
    assert r.outcome == "fail" and "ImportError" in r.detail


def test_classify_crash_by_signal():
    r = classify("test_x", "ember-eager", -11, "Fatal Python error: Segmentation fault\n",
                 None, 1.0)
    assert r.outcome == "crash" and r.detail.startswith("SIGSEGV")


def test_classify_crash_by_abort_message():
    r = classify("test_x", "ember", 1, "Fatal Python error: _Py_CheckFunctionResult\n", None, 1)
    assert r.outcome == "crash"


def test_classify_timeout_by_watchdog_and_by_faulthandler():
    assert classify("t", "ember", -9, "", None, 300, killed_by_timeout=True).outcome == "timeout"
    out = "Timeout (0:04:30)!\nThread 0x01 (most recent call first):\n"
    assert classify("t", "ember", 1, out, None, 270).outcome == "timeout"


def test_module_result_json_round_trip():
    r = ModuleResult("m", "ember", "fail", 2, 1.0, failed_tests=[FailedTest("a.b", "error")])
    assert ModuleResult.from_json(r.to_json()) == r


def test_parse_list_tests_and_prefix():
    out = "test_grammar\ntest.test_asyncio.test_tasks\n\nsome noise line\ntest_int\n"
    assert modules.parse_list_tests(out) == ["test_grammar", "test_asyncio.test_tasks",
                                             "test_int"]


def test_quick_set_has_issue4_modules():
    assert set(modules.ISSUE4_MODULES) <= set(modules.QUICK_MODULES)
    assert len(modules.ISSUE4_MODULES) == 55
    assert 55 <= len(modules.QUICK_MODULES) <= 70
    assert len(set(modules.QUICK_MODULES)) == len(modules.QUICK_MODULES)


def test_schedule_puts_slow_first_and_keeps_everything():
    mods = ["test_a", "test_decimal", "test_b", "test_multiprocessing_spawn"]
    got = modules.schedule(mods)
    assert got[:2] == ["test_multiprocessing_spawn", "test_decimal"]
    assert sorted(got) == sorted(mods)


def res(module, way, outcome, failed=()):
    return ModuleResult(module, way, outcome, 0, 1.0,
                        failed_tests=[FailedTest(n, "failure") for n in failed])


WAYS = ["cpython", "ember", "ember-eager"]


def test_regressions_and_counts():
    results = [
        res("test_a", "cpython", "pass"), res("test_a", "ember", "pass"),
        res("test_a", "ember-eager", "fail", ["test.test_a.T.test_x"]),
        res("test_b", "cpython", "fail"), res("test_b", "ember", "fail"),
        res("test_b", "ember-eager", "crash"),
        res("test_c", "cpython", "pass"), res("test_c", "ember", "skipped"),
        res("test_c", "ember-eager", "pass"),
    ]
    regs = report.regressions(results, WAYS)
    assert [(r.module, r.way) for r in regs] == [("test_a", "ember-eager"), ("test_c", "ember")]
    c = report.counts(results, WAYS)
    assert c["cpython"] == {"pass": 2, "fail": 1, "crash": 0, "timeout": 0, "skipped": 0}
    assert c["ember-eager"]["crash"] == 1
    md = report.render_markdown({"mode": "quick", "ways": {w: [w] for w in WAYS}}, results,
                                WAYS)
    assert "| `cpython` | 2 | 1 | 0 | 0 | 0 | 3 |" in md
    assert "| test_a | `ember-eager` | fail | `test_a.T.test_x` |" in md
    assert "## Not passing under CPython itself (1)" in md
    assert "| test_b | fail | fail | crash |" in md


def test_classify_fail_with_unnamed_errors_says_so():
    out = FAIL_OUT.replace("run=3 failures=1 skipped=1", "run=13 errors=2")
    r = classify("test_tomllib", "ember", 2, out, "<testsuites><testcase /></testsuites>", 1)
    assert r.outcome == "fail" and r.detail.startswith("2 tests failed or errored")


def test_flaky_results_are_listed_with_their_main_pass():
    r = res("test_a", "ember", "pass")
    r.flaky, r.detail = True, "fail in the main pass: test_a.T.test_x"
    md = report.render_markdown({"mode": "full", "note": "shared checkout"},
                                [res("test_a", "cpython", "pass"), r], ["cpython", "ember"])
    assert "> shared checkout" in md
    assert "| test_a | `ember` | fail in the main pass: test_a.T.test_x |" in md
    assert "| test_a | pass | pass (flaky) |" in md
