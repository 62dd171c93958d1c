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


def interpreter_version(cmd: list[str]) -> str:
    """`CPython 3.12.1` / `PyPy 7.3.11 (Python 3.9.16)` for an interpreter command line."""
    code = ("import sys, platform; i = sys.implementation; "
            "v = '.'.join(map(str, sys.version_info[:3])); "
            "print(f'PyPy {\".\".join(map(str, sys.pypy_version_info[:3]))} (Python {v})' "
            "if i.name == 'pypy' else f'{platform.python_implementation()} {v}', end=''); "
            "e = sys.modules.get('ember') if sys.executable.rpartition('/')[2]"
            ".startswith('ember') else None; "
            "print(f' + Ember {getattr(e, \"__version__\", \"?\")}' if e else '')")
    try:
        out = subprocess.run([*cmd, "-c", code], capture_output=True, text=True, timeout=120)
        return out.stdout.strip() or f"? ({out.stderr.strip()[-200:]})"
    except (OSError, subprocess.SubprocessError) as exc:
        return f"? ({exc})"
