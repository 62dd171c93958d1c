"""The differential runner: the same command under python3.12 and under Ember.

python3.12 is the oracle. A test runs a command line under both, with PYTHONHASHSEED fixed
and Ember's own environment variables removed, and compares stdout, stderr and exit status
byte for byte. The only text that may differ is the interpreter's own path, which CPython
prints in a few places (`-h`, "can't open file"): both paths become `<python>`.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ember import interpreter

ROOT = Path(__file__).resolve().parents[1]
EMBER = ROOT / "ember"
#: The interpreter ./ember execs (ember/interpreter.py): what runs a program under Ember.
EMBER_PYTHON = Path(interpreter.launched(str(ROOT / ".venv")))
CORPUS = ROOT / "tests" / "corpus"
ACCEPTANCE = Path(os.environ.get("EMBER_ACCEPTANCE_DIR", ROOT.parent / "shared" / "acceptance"))


def _oracle() -> Path:
    """The CPython 3.12 that .venv was made from (pyvenv.cfg), unless EMBER_ORACLE says."""
    if os.environ.get("EMBER_ORACLE"):
        return Path(os.environ["EMBER_ORACLE"])
    for line in (ROOT / ".venv" / "pyvenv.cfg").read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "executable":
            return Path(value.strip())
    raise RuntimeError(".venv/pyvenv.cfg names no executable; run ./ember once")


CPYTHON = _oracle()



@dataclass(frozen=True)
class Result:
    stdout: bytes
    stderr: bytes
    returncode: int

    def normalized(self) -> Result:
        def norm(data: bytes) -> bytes:
            for path in (EMBER_PYTHON, CPYTHON):
                data = data.replace(os.fsencode(path), b"<python>")
            return data

        return Result(norm(self.stdout), norm(self.stderr), self.returncode)


def environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EMBER_", "PYTHON"))}
    env["PYTHONHASHSEED"] = "0"
    if extra:
        env.update(extra)
    return env


def run(argv: list[str], *, stdin: bytes | None = None, cwd: Path | None = None,
        env: dict[str, str] | None = None, timeout: float = 300) -> Result:
    proc = subprocess.run(
        argv,
        input=stdin if stdin is not None else b"",
        capture_output=True,
        cwd=cwd,
        env=environment(env),
        timeout=timeout,
    )
    return Result(proc.stdout, proc.stderr, proc.returncode).normalized()


def cpython(args: list[str], **kw) -> Result:
    return run([str(CPYTHON), *args], **kw)


def ember(args: list[str], *, ember_args: tuple[str, ...] = (), **kw) -> Result:
    return run([str(EMBER), *ember_args, *args], **kw)


def assert_same(args: list[str], *, ember_args: tuple[str, ...] = (), **kw) -> Result:
    """Run under both; fail with a readable diff unless the results are identical."""
    expected = cpython(args, **kw)
    actual = ember(args, ember_args=ember_args, **kw)
    if actual != expected:
        raise AssertionError(describe_difference(args, ember_args, expected, actual))
    return expected


def describe_difference(args, ember_args, expected: Result, actual: Result) -> str:
    import difflib

    lines = [f"ember {' '.join(ember_args)} differs from python3.12 for {args!r}"]
    if expected.returncode != actual.returncode:
        lines.append(f"exit status: python3.12={expected.returncode} ember={actual.returncode}")
    for name in ("stdout", "stderr"):
        e = getattr(expected, name).decode("utf-8", "replace").splitlines(keepends=True)
        a = getattr(actual, name).decode("utf-8", "replace").splitlines(keepends=True)
        if e != a:
            diff = difflib.unified_diff(e, a, f"python3.12 {name}", f"ember {name}", n=2)
            lines.append("".join(list(diff)[:80]))
        elif getattr(expected, name) != getattr(actual, name):
            lines.append(f"{name} differs in bytes that do not show as text")
    return "\n".join(lines)


def require_free_monitoring_tool() -> None:
    """Skip an in-process test of Ember's own counter when the tool it registers
    (OPTIMIZER_ID) is taken: by Ember itself when this suite runs with the JIT on
    (`pytest -p ember.pytest_plugin`), which cannot test its counter while it counts."""
    import sys

    import pytest

    owner = sys.monitoring.get_tool(sys.monitoring.OPTIMIZER_ID)
    if owner is not None:
        pytest.skip(f"sys.monitoring tool {sys.monitoring.OPTIMIZER_ID} is held by {owner!r}")
