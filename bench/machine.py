"""What machine and which versions a result came from (shared by bench/ and compat/)."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def describe_machine() -> str:
    mem = memory_gib()
    return (f"{cpu_model()}, {os.cpu_count()} cores, "
            f"{mem if mem is not None else '?'} GiB, {platform.system()} {platform.release()}")


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def git_commit() -> str:
    """HEAD of the Ember checkout, with `+dirty` when tracked files are modified."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT,
                              capture_output=True, text=True, timeout=30).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=ROOT, capture_output=True, text=True, timeout=30).stdout
        return head + ("+dirty" if dirty.strip() else "") if head else "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


# Run by the interpreter under test (PyPy 3.9 too). Ember's start imports no module named
# `ember` on its fast path, so Ember is recognised by its executable's name and its version
# read from its distribution; the JIT is on when Ember's counter holds the optimizer's
# sys.monitoring tool id (it is off with `-X jit=off`).
_VERSION_CODE = """\
import platform, sys
i = sys.implementation
v = '.'.join(map(str, sys.version_info[:3]))
if i.name == 'pypy':
    print(f"PyPy {'.'.join(map(str, sys.pypy_version_info[:3]))} (Python {v})")
else:
    out = f'{platform.python_implementation()} {v}'
    if sys.executable.rpartition('/')[2].startswith('ember'):
        import importlib.metadata
        try:
            out += ' + Ember ' + importlib.metadata.version('ember-jit')
        except importlib.metadata.PackageNotFoundError:
            out += ' + Ember ?'
        m = sys.monitoring
        if m.get_tool(m.OPTIMIZER_ID) != 'ember':
            out += ' (JIT off)'
    print(out)
"""


def interpreter_version(cmd: list[str]) -> str:
    """`CPython 3.12.1`, `CPython 3.12.1 + Ember 0.1.0`, `... + Ember 0.1.0 (JIT off)` or
    `PyPy 7.3.11 (Python 3.9.16)` for an interpreter command line."""
    try:
        out = subprocess.run([*cmd, "-c", _VERSION_CODE], capture_output=True, text=True,
                             timeout=120)
        return out.stdout.strip() or f"? ({out.stderr.strip()[-200:]})"
    except (OSError, subprocess.SubprocessError) as exc:
        return f"? ({exc})"
