"""The interpreters under test, and the setup each needs (idempotent, from a fresh clone).

- `cpython`: the oracle python3.12 in its own venv (`bench/.work/venv-cpython`) with pyperf
  and the benchmarks' dependencies: a bare python3.12, without Ember's start-up hook.
- `ember`: `./ember` (or `.venv/bin/ember-python` until the launcher exists). pyperf starts
  its workers with `sys.executable`, which is `ember-python`, so workers run under Ember too.
  pyperf, pyperformance and the dependencies go into the main `.venv`.
- `ember-off`: `./ember -X jit=off`, the same interpreter with the JIT off, so that the
  JIT's own share of Ember's time can be told from the interpreter's. pyperf starts its
  workers as `sys.executable` plus the script's arguments: it passes no `-X` option on, and
  it clears the environment except for a few variables, so workers started that way would
  run with the JIT on. They get their own executable instead (pyperf's `--python`):
  `bench/.work/ember-off/python`, a two-line sh script that execs the same command, `-X
  jit=off` included. (`EMBER_JIT=off` with `--inherit-environ EMBER_JIT` would turn the JIT
  off too, but any `EMBER_*` variable takes Ember's slower start, which imports
  `ember.options` to parse the switches, whereas `-X jit=off` alone starts as fast as
  plain CPython: the column would not be what `./ember -X jit=off` runs.)
- `pypy`: Debian's `pypy3` (`apt-get install -y pypy3 pypy3-venv`) in its own venv
  (`bench/.work/venv-pypy`), with pyperf installed `--no-deps` (psutil has no PyPy wheel).
  Debian's PyPy is Python 3.9, so its pyperf is pinned apart (`PYPY_PYPERF_VERSION`).
"""

from __future__ import annotations

import importlib.metadata
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bench.suite import BENCH_DEPS, PYPERFORMANCE_VERSION, PYPY_PYPERF_VERSION

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / ".work"
ORACLE = "/root/.pyenv/versions/3.12.1/bin/python3.12"

LABELS = {"cpython": "CPython 3.12", "ember": "Ember", "ember-off": "Ember, JIT off",
          "pypy": "PyPy"}
# The order interpreters take their turns in, and of the report's columns.
ORDER = ("cpython", "ember", "ember-off", "pypy")
# The options the JIT-off column adds to Ember's command line.
JIT_OFF = ("-X", "jit=off")


@dataclass
class Interpreter:
    name: str                  # cpython / ember / ember-off / pypy
    cmd: list[str]             # how to start it
    available: bool = True
    note: str = ""             # why it is unavailable
    version: str = ""
    # pyperf's `--python` for the workers, when `sys.executable` would not start them the
    # way `cmd` does (ember-off: an executable that adds `-X jit=off`); None: pyperf's own.
    worker: str | None = None
    pyperf: str = ""           # the pyperf version in this interpreter's environment
    extra: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        return LABELS.get(self.name, self.name)


def log(msg: str) -> None:
    print(f"bench: {msg}", flush=True)


def _pip(python: str, *args: str) -> None:
    subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    *args], check=True)


def ensure_main_deps() -> None:
    """pyperformance (for its benchmark scripts), matplotlib, pyperf and the benchmarks'
    dependencies, in the venv running this script (the main .venv, which Ember uses)."""
    wanted = []
    try:
        if importlib.metadata.version("pyperformance") != PYPERFORMANCE_VERSION:
            wanted.append(f"pyperformance=={PYPERFORMANCE_VERSION}")
    except importlib.metadata.PackageNotFoundError:
        wanted.append(f"pyperformance=={PYPERFORMANCE_VERSION}")
    for req in ("pyperf", "matplotlib", *BENCH_DEPS):
        name, _, version = req.partition("==")
        try:
            if version and importlib.metadata.version(name) != version:
                wanted.append(req)
            elif not version:
                importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            wanted.append(req)
    if wanted:
        log(f"installing into {sys.prefix}: {' '.join(wanted)}")
        _pip(sys.executable, *wanted)


def _ensure_venv(base: list[str], venv: Path, packages: list[str], no_deps: bool) -> str:
    """A venv at `venv` made by `base`, with `packages`; redone only when they change."""
    python = venv / "bin" / "python"
    marker = venv / ".bench-ready"
    want = " ".join(packages) + (" --no-deps" if no_deps else "")
    if python.exists() and marker.exists() and marker.read_text() == want:
        return str(python)
    log(f"creating {venv.relative_to(ROOT)} ({want})")
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([*base, "-m", "venv", str(venv)], check=True)
    _pip(str(python), *(["--no-deps"] if no_deps else []), *packages)
    marker.write_text(want)
    return str(python)


def worker_executable(cmd: list[str], path: Path) -> str:
    """An executable at `path` that runs `cmd` with its own arguments after it: what
    pyperf's `--python` takes, since it starts workers from one path and no options."""
    text = f"#!/bin/sh\nexec {shlex.join(cmd)} \"$@\"\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.chmod(0o755)
        tmp.replace(path)
    return str(path)


def ember_command() -> tuple[list[str], str]:
    """How to start Ember: `./ember`, else `.venv/bin/ember-python` (with a note); an empty
    command when neither exists."""
    launcher = ROOT / "ember"
    alias = ROOT / ".venv" / "bin" / "ember-python"
    if launcher.is_file() and os.access(launcher, os.X_OK):
        return [str(launcher)], ""
    if alias.exists():
        return [str(alias)], "./ember missing: used .venv/bin/ember-python"
    return [], "neither ./ember nor .venv/bin/ember-python exists"


def find_oracle() -> str | None:
    for cand in (os.environ.get("EMBER_ORACLE"), ORACLE, shutil.which("python3.12")):
        if cand and os.access(cand, os.X_OK):
            return cand
    return None


def find_pypy() -> str | None:
    for cand in (os.environ.get("EMBER_BENCH_PYPY"), shutil.which("pypy3")):
        if cand and os.access(cand, os.X_OK):
            return cand
    return None


def install_pypy() -> None:
    """apt-get install pypy3 pypy3-venv (Debian; needs root)."""
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "pypy3", "pypy3-venv"], check=True,
                   env=env)


def pyperf_version() -> str:
    try:
        return importlib.metadata.version("pyperf")
    except importlib.metadata.PackageNotFoundError:
        return "?"


def setup(names: list[str]) -> dict[str, Interpreter]:
    """Every requested interpreter, set up, or marked unavailable with the reason."""
    out: dict[str, Interpreter] = {}
    pyperf_req = f"pyperf=={pyperf_version()}" if pyperf_version() != "?" else "pyperf"
    for name in names:
        if name == "cpython":
            oracle = find_oracle()
            if not oracle:
                out[name] = Interpreter(name, [], False, "no python3.12 found")
                continue
            py = _ensure_venv([oracle], WORK / "venv-cpython", [pyperf_req, *BENCH_DEPS],
                              no_deps=False)
            out[name] = Interpreter(name, [py])
        elif name in ("ember", "ember-off"):
            cmd, note = ember_command()
            if not cmd:
                out[name] = Interpreter(name, [], False, note)
            elif name == "ember":
                out[name] = Interpreter(name, cmd, note=note)
            else:
                cmd = [*cmd, *JIT_OFF]
                worker = worker_executable(cmd, WORK / "ember-off" / "python")
                out[name] = Interpreter(name, cmd, note=note, worker=worker)
        elif name == "pypy":
            pypy = find_pypy()
            if not pypy:
                out[name] = Interpreter(name, [], False, "PyPy not installed (apt-get install "
                                        "-y pypy3 pypy3-venv, or run with --install-pypy)")
                continue
            try:
                py = _ensure_venv([pypy], WORK / "venv-pypy",
                                  [f"pyperf=={PYPY_PYPERF_VERSION}", *BENCH_DEPS],
                                  no_deps=True)
            except subprocess.CalledProcessError as exc:
                out[name] = Interpreter(name, [], False, f"PyPy venv setup failed: {exc}")
                continue
            out[name] = Interpreter(name, [py], pyperf=PYPY_PYPERF_VERSION)
        else:
            raise KeyError(f"unknown interpreter {name!r}")
    from bench.machine import interpreter_version

    for interp in out.values():
        if interp.available:
            interp.version = interpreter_version(interp.cmd)
            interp.pyperf = interp.pyperf or pyperf_version()
    return out


def benchmark_scripts() -> Path:
    """pyperformance's benchmark directories, copied out of the installed package into
    bench/.work so that runs under other interpreters don't write into site-packages."""
    import pyperformance

    src = Path(pyperformance.__file__).resolve().parent / "data-files" / "benchmarks"
    dst = WORK / "benchmarks" / PYPERFORMANCE_VERSION
    if not (dst / "MANIFEST").exists():
        log(f"copying benchmark scripts from {src} to {dst.relative_to(ROOT)}")
        shutil.rmtree(dst, ignore_errors=True)
        shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dst
