"""Running the stress programs (programs/*.py) under python3.12 and under Ember.

Each program prints only what does not depend on scheduling or timing, so its output is
compared byte for byte, as in tests/harness.py, except for process ids (the 3.12 warning
about forking a threaded process names one). A run is bounded: on a timeout its whole
process group (forked children and the compile server included) is killed and the test
fails, so a hang never blocks the suite.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import tempfile
from pathlib import Path

from tests.harness import CPYTHON, EMBER, Result, describe_difference, environment

PROGRAMS = Path(__file__).resolve().parent / "programs"

#: Every function compiled at its first call, the caller waiting for the compile.
EAGER = ("-X", "jit-threshold=0")
#: Ember's defaults: hot code compiled by the background compile server.
DEFAULTS = ()

#: Seconds before a run counts as hung. Generous: with a cold code cache on a loaded
#: 2-core machine, compiling what -X jit-threshold=0 compiles took 100 s.
TIMEOUT = 600


class Hang(AssertionError):
    pass


def _normalize(result: Result) -> Result:
    def pids(data: bytes) -> bytes:
        return re.sub(rb"\(pid=\d+\)", b"(pid=N)", data)

    return Result(pids(result.stdout), pids(result.stderr), result.returncode)


def run(argv: list[str], *, timeout: float = TIMEOUT, env: dict[str, str] | None = None) -> Result:
    """Run argv in its own session; on timeout, kill the session and raise Hang."""
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=environment(env),
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc.pid)
        out, err = proc.communicate()
        raise Hang(f"{argv!r} did not end within {timeout} s\nstdout: {out[-2000:]!r}\n"
                   f"stderr: {err[-2000:]!r}") from None
    finally:
        # Whatever the program left behind in its group (a forked child): not ours to keep.
        _kill_group(proc.pid)
    return _normalize(Result(out, err, proc.returncode).normalized())


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def program(name: str) -> str:
    return str(PROGRAMS / name)


def cpython(name: str, *args: str, timeout: float = TIMEOUT) -> Result:
    return run([str(CPYTHON), program(name), *args], timeout=timeout)


def ember(name: str, *args: str, ember_args: tuple[str, ...] = EAGER,
          timeout: float = TIMEOUT, stats: bool = True) -> tuple[Result, set[str]]:
    """Ember's result and (with `stats`) the qualified names of the program's own functions
    it compiled. Writing the stats at exit waits for the compiles still queued: at the
    defaults, with a cold code cache on a loaded machine, that can take minutes."""
    with tempfile.TemporaryDirectory(prefix="ember-stress-") as tmp:
        stats_path = Path(tmp) / "stats.json"
        switch = ("-X", f"jit-stats={stats_path}") if stats else ()
        argv = [str(EMBER), *ember_args, *switch, program(name), *args]
        result = run(argv, timeout=timeout)
        compiled = set()
        if stats_path.exists():
            data = json.loads(stats_path.read_text())
            compiled = {c["qualname"] for c in data["compiled"]
                        if Path(c["filename"]).name == name}
    return result, compiled


def assert_same(name: str, *args: str, ember_args: tuple[str, ...] = EAGER,
                compiled: set[str] = frozenset(), timeout: float = TIMEOUT,
                expected: Result | None = None, stats_at_defaults: bool = False) -> Result:
    """python3.12 and Ember give the same output, and Ember compiled `compiled`. That is
    read in -X jit-stats under -X jit-threshold=0; at the defaults only if
    `stats_at_defaults` (the programs' warm-up checks what it waits for itself, _warm.py).
    """
    want = expected if expected is not None else cpython(name, *args, timeout=timeout)
    if ember_args != EAGER and not stats_at_defaults:
        compiled = frozenset()
    got, done = ember(name, *args, ember_args=ember_args, timeout=timeout,
                      stats=bool(compiled))
    if got != want:
        raise AssertionError(describe_difference([name, *args], ember_args, want, got))
    missing = compiled - done
    assert not missing, f"{name}: not compiled under Ember {ember_args}: {sorted(missing)}"
    return want


def assert_same_repeatedly(name: str, *args: str, repeat: int,
                           ember_args: tuple[str, ...] = EAGER,
                           compiled: set[str] = frozenset(), timeout: float = TIMEOUT,
                           stats_at_defaults: bool = False) -> None:
    """assert_same `repeat` times, python3.12 giving the same output every time (a
    program whose output depended on scheduling would be no test)."""
    first = None
    for i in range(repeat):
        want = cpython(name, *args, timeout=timeout)
        if first is None:
            first = want
        elif want != first:
            raise AssertionError(f"python3.12 run {i} differs from its first run:\n"
                                 + describe_difference([name, *args], (), first, want))
        assert_same(name, *args, ember_args=ember_args, compiled=compiled, timeout=timeout,
                    expected=want, stats_at_defaults=stats_at_defaults)
