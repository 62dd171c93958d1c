"""The fuzzer's runner: generated programs under python3.12 and under Ember, compared.

    .venv/bin/python -m fuzz.run --programs 200           # 200 programs
    .venv/bin/python -m fuzz.run --minutes 120            # for two hours (make fuzz)
    .venv/bin/python -m fuzz.run --seeds 17,42 --jobs 1   # these seeds again

Each program (`gen.py`) runs twice under python3.12 (a program whose two runs differ, or
that takes longer than the timeout, is counted as skipped: a generator bug, not an Ember
one), then under each of Ember's ways (`execute.WAYS`). A difference in stdout, stderr or
exit status, a crash or a timeout is a divergence: the program and both outputs are saved
under `<out>/seed-<seed>/`, and the first divergence of each group (same way's category
and feature) is reduced (`reduce.py`) to `reduced.py`. At the end `<out>/report.md` and
`summary.json` give the programs, functions and compiled share, and the divergences.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fuzz import execute as ex  # noqa: E402
from fuzz.gen import generate  # noqa: E402
from fuzz.reduce import Reducer  # noqa: E402

FUZZ = Path(__file__).resolve().parent
CPYTHON_TIMEOUT = 10.0


class Checker:
    """One worker's directory: the program file (always the same path, so that code
    cache keys, which include the file name, match across programs), the code cache and
    the stats files."""

    def __init__(self, work: Path, timeout: float = 300.0, cache: Path | None | bool = True):
        # Absolute: python3.12 makes the script's path absolute in co_filename, and the
        # stats are matched on it.
        self.work = work.resolve()
        self.work.mkdir(parents=True, exist_ok=True)
        self.program = self.work / "prog.py"
        # True: a cache of this worker's own; None: Ember's default.
        self.cache = self.work / "cache" if cache is True else cache
        self.timeout = timeout

    def expected(self, source: str) -> ex.Result | None:
        """CPython's result, or None when the program is not fit to compare against:
        slow, or different in two runs."""
        self.program.write_text(source)
        first = ex.run_cpython(self.program, CPYTHON_TIMEOUT)
        if first.returncode is None:
            return None
        second = ex.run_cpython(self.program, CPYTHON_TIMEOUT)
        return first if first.same_as(second) else None

    def ember(self, way: str, stats: bool = True, timeout: float | None = None) -> ex.Result:
        path = self.work / f"stats-{way}.json"
        path.unlink(missing_ok=True)
        return ex.run_ember(self.program, way, self.cache, path if stats else None,
                            timeout or self.timeout)

    def divergence(self, source: str, way: str, quick: bool = False) -> str | None:
        """The category of `source`'s divergence under `way` (None: none, or not a fit
        program). `quick` (while reducing) waits less for a hang."""
        expected = self.expected(source)
        if expected is None:
            return None
        timeout = min(self.timeout, 30 + 20 * expected.seconds) if quick else None
        return ex.category(expected, self.ember(way, stats=False, timeout=timeout))


class Run:
    def __init__(self, args):
        self.args = args
        self.out: Path = args.out
        self.out.mkdir(parents=True, exist_ok=True)
        self.lock = threading.Lock()
        self.records: list[dict] = []
        self.groups: Counter = Counter()
        self.started = time.monotonic()
        #: Set by Ctrl-C or SIGTERM: the workers finish the program they are on, and the
        #: report covers what ran.
        self.stopping = False

    def log(self, msg: str) -> None:
        with self.lock:
            print(msg, flush=True)

    def time_left(self) -> bool:
        if self.stopping:
            return False
        return not self.args.minutes or time.monotonic() - self.started < self.args.minutes * 60

    # -- one program ----------------------------------------------------------------

    def check(self, seed: int, checker: Checker) -> dict:
        t0 = time.monotonic()
        prog = generate(seed, small=self.args.small)
        filename = str(checker.program)
        defined = ex.defined_functions(prog.text, filename)
        rec = {"seed": seed, "small": self.args.small, "kinds": sorted(set(prog.kinds.values())),
               "defined": len(defined),
               "defined_by_kind": dict(Counter(defined.values())), "ways": {}}
        expected = checker.expected(prog.text)
        if expected is None:
            rec["skipped"] = "slow or nondeterministic under python3.12"
            return rec
        diverged = []
        for way in self.args.ways:
            actual = checker.ember(way)
            compiled, refused = ex.read_stats(checker.work / f"stats-{way}.json", filename)
            cat = ex.category(expected, actual)
            info = {"compiled": len(compiled & defined.keys()),
                    "refused": dict(Counter(refused.values())),
                    "called": len((compiled | refused.keys()) & defined.keys()),
                    "seconds": round(actual.seconds, 2), "divergence": cat}
            if cat:
                info.update(ex.locate(expected, actual, cat, prog.kinds))
                diverged.append((way, actual, info))
            rec["ways"][way] = info
        rec["seconds"] = round(time.monotonic() - t0, 2)
        if diverged:
            self.save(prog.text, expected, diverged, rec, checker)
        return rec

    def save(self, source: str, expected: ex.Result, diverged, rec: dict,
             checker: Checker) -> None:
        where = self.out / f"seed-{rec['seed']}"
        where.mkdir(parents=True, exist_ok=True)
        (where / "prog.py").write_text(source)
        (where / "python3.12.stdout").write_bytes(expected.stdout)
        (where / "python3.12.stderr").write_bytes(expected.stderr)
        for way, actual, _info in diverged:
            (where / f"ember-{way}.stdout").write_bytes(actual.stdout)
            (where / f"ember-{way}.stderr").write_bytes(actual.stderr)
            (where / f"ember-{way}.diff").write_text(ex.describe(expected, actual))
        way, actual, info = diverged[0]
        group = f"{info['divergence']} / {info['feature']}"
        with self.lock:
            self.groups[group] += 1
            first = self.groups[group] <= self.args.reduce_per_group
        rec["group"] = group
        rec["finding"] = str(where)
        if first and not self.args.no_reduce:
            self.reduce(source, way, info["divergence"], where, checker)
        (where / "meta.json").write_text(json.dumps(rec, indent=1))

    def reduce(self, source: str, way: str, target: str, where: Path, checker: Checker):
        reducer = Reducer(lambda s: checker.divergence(s, way, quick=True) == target,
                          self.args.reduce_minutes * 60)
        reduced = reducer.reduce(source)
        (where / "reduced.py").write_text(reduced)
        expected = checker.expected(reduced)
        actual = checker.ember(way, stats=False)
        if expected is not None:
            (where / "reduced.python3.12.stdout").write_bytes(expected.stdout)
            (where / "reduced.python3.12.stderr").write_bytes(expected.stderr)
            (where / f"reduced.ember-{way}.stdout").write_bytes(actual.stdout)
            (where / f"reduced.ember-{way}.stderr").write_bytes(actual.stderr)
            (where / "reduced.diff").write_text(
                f"flags: {' '.join(ex.WAYS[way])}\n" + ex.describe(expected, actual))
        self.log(f"  reduced seed {where.name}: {len(source.splitlines())} -> "
                 f"{len(reduced.splitlines())} lines in {reducer.tries} tries")

    # -- the run --------------------------------------------------------------------

    def seeds(self):
        if self.args.seeds:
            yield from self.args.seeds
            return
        seed = self.args.seed_start
        while self.args.programs is None or seed < self.args.seed_start + self.args.programs:
            yield seed
            seed += 1

    def worker(self, k: int, seeds, lock: threading.Lock) -> None:
        checker = Checker(self.out / ".work" / f"w{k}", self.args.timeout)
        shutil.rmtree(checker.cache, ignore_errors=True)
        while self.time_left():
            with lock:
                seed = next(seeds, None)
            if seed is None:
                return
            rec = self.check(seed, checker)
            with self.lock:
                self.records.append(rec)
            self.log(_line(rec))

    def main(self) -> int:
        seeds, lock = iter(self.seeds()), threading.Lock()
        signal.signal(signal.SIGTERM, lambda *_: self._stop())
        with ThreadPoolExecutor(self.args.jobs) as pool:
            futures = [pool.submit(self.worker, k, seeds, lock) for k in range(self.args.jobs)]
            for f in futures:
                while True:
                    try:
                        f.result()
                        break
                    except KeyboardInterrupt:
                        self._stop()
        shutil.rmtree(self.out / ".work", ignore_errors=True)
        summary = summarize(self.records, self.args, time.monotonic() - self.started)
        (self.out / "summary.json").write_text(json.dumps(summary, indent=1))
        (self.out / "report.md").write_text(render(summary, self.out))
        print(render(summary, self.out))
        return 1 if summary["divergent_programs"] else 0


    def _stop(self) -> None:
        self.stopping = True
        self.log("stopping: the workers finish their programs, then the report")


def _line(rec: dict) -> str:
    if "skipped" in rec:
        return f"seed {rec['seed']}: skipped ({rec['skipped']})"
    parts = [f"seed {rec['seed']}: {rec['defined']} functions"]
    for way, info in rec["ways"].items():
        parts.append(f"{way} {info['compiled']} compiled in {info['seconds']} s")
        if info["divergence"]:
            parts.append(f"DIVERGES ({info['divergence']}, {info.get('feature')}, "
                         f"line {info.get('line')})")
    return ", ".join(parts)


def summarize(records: list[dict], args, seconds: float) -> dict:
    ran = [r for r in records if "skipped" not in r]
    defined = Counter()
    for r in ran:
        defined.update(r["defined_by_kind"])
    ways = {}
    for way in args.ways:
        infos = [r["ways"][way] for r in ran if way in r["ways"]]
        refused = Counter()
        for i in infos:
            refused.update(i["refused"])
        compiled = sum(i["compiled"] for i in infos)
        total = sum(r["defined"] for r in ran)
        plain = defined.get("function", 0)
        ways[way] = {"compiled": compiled, "called": sum(i["called"] for i in infos),
                     "share": round(compiled / total, 4) if total else None,
                     "share_of_plain": round(compiled / plain, 4) if plain else None,
                     "refused": dict(refused),
                     "divergences": sum(1 for i in infos if i["divergence"])}
    groups: dict[str, list] = {}
    for r in ran:
        if "group" in r:
            groups.setdefault(r["group"], []).append(r["seed"])
    return {"programs": len(ran), "skipped": len(records) - len(ran),
            "seeds": sorted(r["seed"] for r in records), "small": args.small,
            "minutes": round(seconds / 60, 1), "functions": sum(r["defined"] for r in ran),
            "functions_by_kind": dict(defined), "ways": ways,
            "divergent_programs": sum(1 for r in ran if "group" in r), "groups": groups}


def render(s: dict, out: Path) -> str:
    seeds = s["seeds"]
    lines = [
        "# Fuzz run", "",
        f"{s['programs']} programs ({s['skipped']} skipped), seeds {seeds[0] if seeds else '-'}"
        f"..{seeds[-1] if seeds else '-'}, {s['minutes']} minutes; findings under `{out}`.",
        "",
        f"Functions defined: {s['functions']} ({', '.join(f'{v} {k}' for k, v in sorted(s['functions_by_kind'].items()))}).",
        "", "| way | compiled | share of defined | share of plain functions | refused | divergent programs |",
        "|---|---|---|---|---|---|",
    ]
    for way, w in s["ways"].items():
        refused = ", ".join(f"{k} {v}" for k, v in sorted(w["refused"].items())) or "-"
        lines.append(f"| {way} | {w['compiled']} | {w['share']} | {w['share_of_plain']} | "
                     f"{refused} | {w['divergences']} |")
    lines += ["", f"Divergent programs: {s['divergent_programs']}", ""]
    for group, seeds in sorted(s["groups"].items(), key=lambda g: -len(g[1])):
        lines.append(f"- {group}: {len(seeds)} programs, seeds {', '.join(map(str, seeds[:12]))}"
                     + (" ..." if len(seeds) > 12 else ""))
    return "\n".join(lines) + "\n"


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description="Fuzz Ember against python3.12.")
    ap.add_argument("--programs", type=int, help="how many programs (default: until --minutes)")
    ap.add_argument("--minutes", type=float, help="time budget")
    ap.add_argument("--seed-start", type=int, help="first seed (default: from the clock)")
    ap.add_argument("--seeds", type=lambda s: [int(x) for x in s.split(",")],
                    help="exactly these seeds")
    ap.add_argument("--small", action="store_true", help="the quick test's smaller programs")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--ways", type=lambda s: s.split(","), default=list(ex.WAYS))
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per Ember run")
    ap.add_argument("--no-reduce", action="store_true")
    ap.add_argument("--reduce-minutes", type=float, default=10.0)
    ap.add_argument("--reduce-per-group", type=int, default=1,
                    help="how many divergences of each group to reduce")
    ap.add_argument("--out", type=Path, help="findings folder (default fuzz/findings/<time>)")
    args = ap.parse_args(argv)
    if args.programs is None and args.minutes is None and not args.seeds:
        args.programs = 50
    if args.seed_start is None:
        args.seed_start = int(time.time()) % 100_000 * 10_000
    if args.out is None:
        args.out = FUZZ / "findings" / time.strftime("%Y%m%d-%H%M%S")
    for way in args.ways:
        if way not in ex.WAYS:
            ap.error(f"unknown way {way!r} (known: {', '.join(ex.WAYS)})")
    return args


if __name__ == "__main__":
    sys.exit(Run(parse_args()).main())
