"""Classify one `-m test <module>` run: pass, fail, crash, timeout or skipped.

Inputs are what the runner saw: the exit status (negative for a signal, as `subprocess`
reports it), whether our own watchdog killed the process, the combined stdout/stderr text,
and the JUnit XML that regrtest wrote with `--junit-xml` (absent when the process died).

The rules, in order:

1. killed by the watchdog, or regrtest's own faulthandler timeout fired -> `timeout`;
2. ended by a signal, or `Fatal Python error` in the output -> `crash`;
3. exit 0 (or 4, "no tests ran") and regrtest counted the file as skipped (whole-module skip or resource denied)
   or ran no test -> `skipped`;
4. exit 0 -> `pass`;
5. anything else -> `fail` (test failures, errors, import errors at module level).
"""

from __future__ import annotations

import re
import signal
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field

OUTCOMES = ("pass", "fail", "crash", "timeout", "skipped")
EXITCODE_NO_TESTS_RAN = 4  # libregrtest.utils in 3.12

_TOTAL_TESTS = re.compile(r"^Total tests: (.*)$", re.M)
_TOTAL_FILES = re.compile(r"^Total test files: (.*)$", re.M)
_KV = re.compile(r"(\w+)=(\d+)")
_FAIL_LINE = re.compile(r"^(?:FAIL|ERROR): (\S+) \(([\w.]+)\)", re.M)
_TIMEOUT_MARK = re.compile(r"^Timeout \(\d+:\d\d:\d\d\)!", re.M)


@dataclass
class FailedTest:
    name: str            # dotted: test.test_x.Class.test_method
    kind: str            # "failure" or "error"
    message: str = ""    # first line of the exception message, truncated


@dataclass
class ModuleResult:
    module: str
    way: str
    outcome: str
    returncode: int | None
    seconds: float
    tests_run: int | None = None
    tests_failed: int | None = None
    tests_skipped: int | None = None
    failed_tests: list[FailedTest] = field(default_factory=list)
    detail: str = ""     # signal name, skip reason, or the tail of the output
    flaky: bool = False  # failed first, passed when run again alone

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> ModuleResult:
        data = dict(data)
        data["failed_tests"] = [FailedTest(**t) for t in data.get("failed_tests", [])]
        return cls(**data)


def parse_totals(output: str) -> tuple[dict[str, int], dict[str, int]]:
    """regrtest's closing `Total tests:` and `Total test files:` lines, as key=count dicts."""
    tests: dict[str, int] = {}
    files: dict[str, int] = {}
    if m := _TOTAL_TESTS.search(output):
        tests = {k: int(v) for k, v in _KV.findall(m.group(1))}
    if m := _TOTAL_FILES.search(output):
        files = {k: int(v) for k, v in _KV.findall(m.group(1))}
    return tests, files


def parse_junit(xml_text: str) -> list[FailedTest]:
    """Failing and erroring test cases from regrtest's `--junit-xml` output."""
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError:
        return []
    failed = []
    for case in root.iter("testcase"):
        for kind in ("failure", "error"):
            node = case.find(kind)
            if node is not None:
                message = (node.get("message") or "").strip().splitlines()
                failed.append(FailedTest(
                    name=case.get("name", "?"),
                    kind=kind,
                    message=(message[0] if message else "")[:200],
                ))
                break
    return failed


def parse_failure_lines(output: str) -> list[FailedTest]:
    """Fallback when there is no XML: unittest's `FAIL: test_x (module.Class.test_x)` lines."""
    seen = []
    names = set()
    for m in _FAIL_LINE.finditer(output):
        kind = "failure" if m.group(0).startswith("FAIL") else "error"
        name = m.group(2)
        if name not in names:
            names.add(name)
            seen.append(FailedTest(name=name, kind=kind))
    return seen


def _skip_reason(output: str, module: str) -> str:
    short = module.rsplit(".", 1)[-1]
    for line in output.splitlines():
        if (module in line or short in line) and " skipped" in line:
            return line.strip()[:200]
    return ""


def _tail(output: str, lines: int = 12) -> str:
    return "\n".join(output.rstrip().splitlines()[-lines:])[-1500:]


def classify(
    module: str,
    way: str,
    returncode: int | None,
    output: str,
    junit_xml: str | None,
    seconds: float,
    killed_by_timeout: bool = False,
) -> ModuleResult:
    """Turn what one run produced into a `ModuleResult` (see the module docstring)."""
    tests, files = parse_totals(output)
    failed = parse_junit(junit_xml) if junit_xml else []
    if not failed:
        failed = parse_failure_lines(output)
    result = ModuleResult(
        module=module, way=way, outcome="fail", returncode=returncode,
        seconds=round(seconds, 2),
        tests_run=tests.get("run"),
        tests_failed=(tests.get("failures", 0) + tests.get("errors", 0)) if tests else None,
        tests_skipped=tests.get("skipped", 0) if tests else None,
        failed_tests=failed,
    )
    if killed_by_timeout or _TIMEOUT_MARK.search(output):
        result.outcome = "timeout"
        result.detail = _tail(output)
    elif returncode is not None and returncode < 0:
        result.outcome = "crash"
        try:
            result.detail = signal.Signals(-returncode).name
        except ValueError:
            result.detail = f"signal {-returncode}"
        result.detail += "\n" + _tail(output)
    elif "Fatal Python error" in output:
        result.outcome = "crash"
        result.detail = _tail(output)
    elif returncode in (0, EXITCODE_NO_TESTS_RAN):
        skipped_file = files.get("skipped", 0) or files.get("resource_denied", 0)
        no_tests = (returncode == EXITCODE_NO_TESTS_RAN or files.get("run_no_tests", 0)
                    or "Result: NO TESTS RAN" in output)
        if skipped_file or no_tests:
            result.outcome = "skipped"
            result.detail = _skip_reason(output, module) or "no tests ran"
        else:
            result.outcome = "pass"
    else:
        result.outcome = "fail"
        if not failed:
            unnamed = ""
            if result.tests_failed:
                unnamed = (f"{result.tests_failed} tests failed or errored but the JUnit XML"
                           " does not name them; run the module with -v\n")
            result.detail = unnamed + _tail(output)
    return result
