"""`python -m ember.tools.irstats PATH...`: build the IR of every code object under PATHs.

For each `.py` file (files CPython cannot compile count as skipped) and each code object in
it, nested ones included: build the IR (`pipeline.build_ir`), verify it, and check that the
text form round-trips (`print(parse(print(f))) == print(f)`). Prints counts by outcome,
refusals by reason, crashes with a traceback summary, the slowest code objects, and build
time percentiles. The last line is exactly

    irstats: total=N built=B refused=R crashed=C

A crash is any unexpected exception in build, verify or round trip; it is counted and
reported, never fatal. The exit status is 1 if anything crashed, else 0.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
import traceback
import warnings
from collections import Counter
from types import CodeType

BUILT, REFUSED, CRASHED = "built", "refused", "crashed"


def iter_py_files(paths: list[str], site_packages: bool = False) -> list[str]:
    """Every .py file under `paths`, sorted; third-party `site-packages` directories are
    skipped unless asked for (they are not CPython's Lib)."""
    out: list[str] = []
    for p in paths:
        if os.path.isdir(p):
            for root, dirs, files in os.walk(p):
                if not site_packages:
                    dirs[:] = [d for d in dirs if d != "site-packages"]
                dirs.sort()
                out.extend(os.path.join(root, f) for f in sorted(files) if f.endswith(".py"))
        elif os.path.exists(p):
            out.append(p)
        else:
            raise SystemExit(f"irstats: no such file or directory: {p}")
    return out


def _code_objects(code: CodeType):
    stack = [code]
    while stack:
        c = stack.pop()
        yield c
        stack.extend(k for k in reversed(c.co_consts) if isinstance(k, CodeType))


def _crash_summary(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)[-3:]
    where = " <- ".join(f"{os.path.basename(f.filename)}:{f.lineno} {f.name}" for f in frames[::-1])
    msg = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {msg[:200]} [{where}]"


def check_file(path: str) -> tuple[str, bool, list[tuple]]:
    """Compile one file and check each code object.

    Returns (path, compiled, rows); a row is (qualname, firstlineno, outcome, detail,
    build_seconds, check_seconds) where detail is the refusal reason or crash summary."""
    try:
        with open(path, "rb") as f:
            source = f.read()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            top = compile(source, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError, UnicodeDecodeError, RecursionError, MemoryError):
        return path, False, []
    rows = []
    # The IR has reference cycles; left to itself the cyclic GC would run inside timed
    # builds and charge one code object for everyone's garbage. Collect between them.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for code in _code_objects(top):
            rows.append(check_code(code))
            if gc.get_count()[0] > 20_000:
                gc.collect()
    finally:
        if gc_was_enabled:
            gc.enable()
    return path, True, rows


def check_code(code: CodeType) -> tuple:
    """Build, verify and round-trip one code object; never raises. One row, as above."""
    from ember.bytecode import Refused
    from ember.ir.parser import parse_function
    from ember.ir.printer import print_function
    from ember.ir.verify import verify
    from ember.pipeline import build_ir

    clock = time.perf_counter
    name, line = code.co_qualname, code.co_firstlineno
    t0 = clock()
    try:
        func = build_ir(code)
    except Refused as exc:
        return (name, line, REFUSED, exc.reason, clock() - t0, 0.0)
    except Exception as exc:  # noqa: BLE001 - a crash is data here
        return (name, line, CRASHED, f"build: {_crash_summary(exc)}", clock() - t0, 0.0)
    t1 = clock()
    stage = "verify"
    try:
        verify(func)
        stage = "roundtrip"
        text = print_function(func)
        if print_function(parse_function(text)) != text:
            raise AssertionError("print(parse(print(f))) differs from print(f)")
    except Exception as exc:  # noqa: BLE001
        return (name, line, CRASHED, f"{stage}: {_crash_summary(exc)}", t1 - t0, clock() - t1)
    return (name, line, BUILT, "", t1 - t0, clock() - t1)


def _percentile(sorted_vals: list[float], q: float) -> float:
    if not sorted_vals:
        return 0.0
    k = min(len(sorted_vals) - 1, max(0, round(q * (len(sorted_vals) - 1))))
    return sorted_vals[k]


class _Progress:
    def __init__(self, total: int, enabled: bool) -> None:
        self.total = total
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self.last = 0.0
        self.start = time.monotonic()

    def update(self, done: int, objects: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if done != self.total and now - self.last < (0.25 if self.tty else 10.0):
            return
        self.last = now
        line = (
            f"irstats: {done}/{self.total} files, {objects} code objects, {now - self.start:.0f}s"
        )
        sys.stderr.write(("\r" + line) if self.tty else (line + "\n"))
        if self.tty and done == self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def run(
    paths: list[str],
    jobs: int,
    slowest: int,
    progress: bool,
    out=None,
    site_packages: bool = False,
) -> int:
    out = out or sys.stdout
    files = iter_py_files(paths, site_packages)
    # Biggest first, so one large file does not finish the run alone.
    files.sort(key=lambda p: -os.path.getsize(p))
    prog = _Progress(len(files), progress)
    t_start = time.monotonic()

    results: list[tuple] = []
    skipped: list[str] = []
    if jobs > 1 and len(files) > 1:
        import multiprocessing as mp

        with mp.get_context("fork" if sys.platform != "win32" else "spawn").Pool(jobs) as pool:
            for done, (path, ok, rows) in enumerate(
                pool.imap_unordered(check_file, files, chunksize=2), 1
            ):
                _collect(path, ok, rows, results, skipped)
                prog.update(done, len(results))
    else:
        for done, path in enumerate(files, 1):
            _collect(*check_file(path), results, skipped)
            prog.update(done, len(results))
    prog.update(len(files), len(results))
    wall = time.monotonic() - t_start
    return report(files, skipped, results, slowest, wall, out)


def _collect(path, ok, rows, results, skipped) -> None:
    if not ok:
        skipped.append(path)
        return
    for row in rows:
        results.append((path, *row))
        if row[2] == CRASHED:
            # Shown at once: a long run should not hide a crash until the end.
            sys.stderr.write(f"irstats: crash: {path}:{row[1]} {row[0]}: {row[3]}\n")


def report(files, skipped, results, slowest: int, wall: float, out) -> int:
    def w(line: str = "") -> None:
        print(line, file=out)

    outcomes = Counter(r[3] for r in results)
    total = len(results)
    built, refused, crashed = outcomes[BUILT], outcomes[REFUSED], outcomes[CRASHED]
    w(
        f"files: {len(files)} ({len(files) - len(skipped)} compiled, {len(skipped)} skipped: "
        "CPython cannot compile them)"
    )
    w(f"code objects: {total}")
    for name, n in ((BUILT, built), (REFUSED, refused), (CRASHED, crashed)):
        pct = 100.0 * n / total if total else 0.0
        w(f"  {name:8} {n:7} ({pct:5.1f}%)")

    reasons = Counter(r[4] for r in results if r[3] == REFUSED)
    if reasons:
        w()
        w("refusals by reason:")
        for reason, n in reasons.most_common():
            w(f"  {n:7}  {reason}")

    crashes = [r for r in results if r[3] == CRASHED]
    if crashes:
        w()
        w("crashes (by summary, first example of each):")
        by_kind = Counter(r[4] for r in crashes)
        firsts: dict[str, tuple] = {}
        for r in crashes:
            firsts.setdefault(r[4], r)
        for summary, n in by_kind.most_common(30):
            r = firsts[summary]
            w(f"  {n:5}  {summary}")
            w(f"         e.g. {r[0]}:{r[2]} {r[1]}")

    build_times = sorted(r[5] for r in results if r[3] != CRASHED)
    check_times = sorted(r[6] for r in results if r[3] == BUILT)
    w()
    w("build time per code object (build_ir, built and refused):")
    w(
        f"  median {1e3 * _percentile(build_times, 0.5):.3f} ms   "
        f"p95 {1e3 * _percentile(build_times, 0.95):.3f} ms   "
        f"max {1e3 * (build_times[-1] if build_times else 0):.1f} ms   "
        f"sum {sum(build_times):.1f} s"
    )
    w("check time per built code object (verify + print/parse/print):")
    w(
        f"  median {1e3 * _percentile(check_times, 0.5):.3f} ms   "
        f"p95 {1e3 * _percentile(check_times, 0.95):.3f} ms   "
        f"sum {sum(check_times):.1f} s"
    )
    if slowest:
        w()
        w(f"slowest {slowest} builds:")
        for r in sorted(results, key=lambda r: -r[5])[:slowest]:
            w(f"  {1e3 * r[5]:8.1f} ms  {r[3]:8} {r[0]}:{r[2]} {r[1]}")
    w(f"wall time: {wall:.1f} s")
    w(f"irstats: total={total} built={built} refused={refused} crashed={crashed}")
    return 1 if crashed else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m ember.tools.irstats", description=__doc__.split("\n")[0]
    )
    ap.add_argument("paths", nargs="+", help=".py files or directories to walk")
    ap.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="worker processes (default: CPU count; 1 runs in-process)",
    )
    ap.add_argument("--slowest", type=int, default=10, help="how many slowest builds to list")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress line on stderr")
    ap.add_argument(
        "--site-packages", action="store_true", help="also walk site-packages directories"
    )
    args = ap.parse_args(argv)
    # Compiling Lib/test produces SyntaxWarnings by design; workers inherit this filter.
    warnings.simplefilter("ignore", SyntaxWarning)
    return run(
        args.paths,
        max(1, args.jobs),
        args.slowest,
        not args.quiet,
        site_packages=args.site_packages,
    )


if __name__ == "__main__":
    sys.exit(main())
