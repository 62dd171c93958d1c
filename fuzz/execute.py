"""Running one program under python3.12 and under Ember's ways, and comparing them.

The ways (`WAYS`): `eager` compiles every function at its first call
(`-X jit-threshold=0`); `warm` compiles a function after 50 calls or loop iterations,
waiting for each compile (`-X jit-threshold=50 -X jit-background=off`), so the first calls
are interpreted and profiled, the later ones run compiled code that meets values it was
not warmed up with. Each Ember run writes `-X jit-stats` JSON, from which the compiled
share is counted, and uses the code cache directory it is given (a run's workers keep
one each: the prelude and the standard library functions every program calls are
compiled once per worker, not once per program).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EMBER = ROOT / "ember"

WAYS = {
    "eager": ("-X", "jit-threshold=0"),
    "warm": ("-X", "jit-threshold=50", "-X", "jit-background=off"),
}

CO_OPTIMIZED = 0x1
CO_GENERATOR, CO_COROUTINE, CO_ASYNC_GENERATOR = 0x20, 0x80, 0x200


def oracle() -> str:
    """The CPython 3.12 that .venv was made from, unless EMBER_ORACLE names another (as in
    tests/harness.py)."""
    if os.environ.get("EMBER_ORACLE"):
        return os.environ["EMBER_ORACLE"]
    cfg = ROOT / ".venv" / "pyvenv.cfg"
    if cfg.exists():
        for line in cfg.read_text().splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "executable":
                return value.strip()
    return "/root/.pyenv/versions/3.12.1/bin/python3.12"


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EMBER_", "PYTHON"))}
    env["PYTHONHASHSEED"] = "0"
    return env


@dataclass
class Result:
    stdout: bytes
    stderr: bytes
    returncode: int | None      # None: timed out (killed)
    seconds: float

    def same_as(self, other: Result) -> bool:
        return (self.stdout, self.stderr, self.returncode) == \
            (other.stdout, other.stderr, other.returncode)


def run(argv: list[str], timeout: float, cwd: Path | None = None) -> Result:
    """Run `argv` in its own session, so that a timeout kills it and whatever it started
    (Ember's compile server)."""
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=environment(), cwd=cwd,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
        rc: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, err = proc.communicate()
        rc = None
    return Result(_normalize(out), _normalize(err), rc, time.monotonic() - start)


def _interpreters() -> list[str]:
    paths = [str(EMBER), oracle()]
    try:
        from ember import interpreter

        paths.append(interpreter.launched(str(ROOT / ".venv")))
    except Exception:  # noqa: BLE001 - only for masking paths in output
        pass
    return paths


def _normalize(data: bytes) -> bytes:
    # The interpreters' own paths (CPython prints them in a few messages).
    for path in _interpreters():
        data = data.replace(os.fsencode(path), b"<python>")
    return data


def run_cpython(program: Path, timeout: float = 20) -> Result:
    return run([oracle(), str(program)], timeout)


def run_ember(program: Path, way: str, cache: Path | None, stats: Path | None,
              timeout: float) -> Result:
    """`cache` None: Ember's default code cache (the test suite points it at a
    temporary directory of its own)."""
    args = [str(EMBER), *WAYS[way]]
    if cache is not None:
        args += ["-X", f"jit-cache={cache}"]
    if stats:
        args += ["-X", f"jit-stats={stats}"]
    return run([*args, str(program)], timeout)


# -- what diverged --------------------------------------------------------------------

def category(expected: Result, actual: Result) -> str | None:
    """None when the results are the same; else what differs, the worst first: `hang`,
    `crash` (killed by a signal), `exit`, `stderr`, `stdout`."""
    if actual.same_as(expected):
        return None
    if actual.returncode is None:
        return "hang"
    if actual.returncode < 0:
        return f"crash (signal {-actual.returncode})"
    if actual.returncode != expected.returncode:
        return "exit"
    if actual.stderr != expected.stderr:
        return "stderr"
    return "stdout"


def first_difference(expected: bytes, actual: bytes) -> tuple[int, str, str]:
    """The first differing line: its number (from 1) and both texts."""
    e = expected.decode("utf-8", "replace").splitlines()
    a = actual.decode("utf-8", "replace").splitlines()
    for i in range(max(len(e), len(a))):
        x = e[i] if i < len(e) else "<end of output>"
        y = a[i] if i < len(a) else "<end of output>"
        if x != y:
            return i + 1, x, y
    return 0, "", ""


def unit_at(stdout: bytes, line: int) -> str | None:
    """The unit (`u3`) whose driver printed line `line`: the last `-- uN_main` before it."""
    unit = None
    for text in stdout.decode("utf-8", "replace").splitlines()[:line]:
        if text.startswith("-- u") and text.endswith("_main"):
            unit = text[3:-5]
    return unit


def locate(expected: Result, actual: Result, cat: str, kinds: dict[str, str]) -> dict:
    """Where a divergence shows: the first differing line of the stream that differs,
    and the feature (the kind of the unit whose driver printed it, `prelude` before the
    first unit, `ending` or `?` for stderr)."""
    stream = "stdout" if cat == "stdout" else "stderr"
    line, want, got = first_difference(getattr(expected, stream), getattr(actual, stream))
    if stream == "stdout":
        unit = unit_at(expected.stdout, line)
        feature = kinds.get(f"{unit}_", "?") if unit else "prelude"
    else:
        unit, feature = None, "ending" if "ending" in kinds.values() else "?"
    return {"line": line, "expected_line": want[:300], "actual_line": got[:300],
            "unit": unit, "feature": feature}


def describe(expected: Result, actual: Result, limit: int = 60) -> str:
    import difflib

    lines = []
    if expected.returncode != actual.returncode:
        lines.append(f"exit status: python3.12={expected.returncode} ember={actual.returncode}")
    for name in ("stdout", "stderr"):
        e = getattr(expected, name).decode("utf-8", "replace").splitlines(keepends=True)
        a = getattr(actual, name).decode("utf-8", "replace").splitlines(keepends=True)
        if e != a:
            diff = list(difflib.unified_diff(e, a, f"python3.12 {name}", f"ember {name}", n=1))
            lines.append("".join(diff[:limit]) + ("...\n" if len(diff) > limit else ""))
    return "\n".join(lines)


# -- the compiled share ---------------------------------------------------------------

def defined_functions(source: str, filename: str) -> dict[tuple[str, int], str]:
    """Every function the program defines, (qualname, first line) -> its kind: `function`,
    `generator` (also coroutines), or `except*`: what tier 1 refuses by design is counted,
    not hidden."""
    import warnings

    out: dict[tuple[str, int], str] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the program's own, which its runs print
        code = compile(source, filename, "exec")
    todo = [code]
    while todo:
        co = todo.pop()
        for const in co.co_consts:
            if hasattr(const, "co_code"):
                todo.append(const)
        if co.co_flags & CO_OPTIMIZED:
            kind = "function"
            if co.co_flags & (CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR):
                kind = "generator"
            elif _uses_except_star(co):
                kind = "except*"
            out[(co.co_qualname, co.co_firstlineno)] = kind
    return out


def _uses_except_star(co) -> bool:
    import dis

    return any(i.opname == "CHECK_EG_MATCH" for i in dis.get_instructions(co))


def read_stats(path: Path, filename: str) -> tuple[set, dict]:
    """From `-X jit-stats` JSON: the program's compiled functions, and its refused ones
    with their reasons."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return set(), {}
    compiled = {(c["qualname"], c["firstlineno"]) for c in data.get("compiled", [])
                if c["filename"] == filename}
    refused = {(r["qualname"], r["firstlineno"]): r["reason"]
               for r in data.get("refused", []) if r["filename"] == filename}
    return compiled, refused
