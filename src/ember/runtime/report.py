"""What the runtime decided, for `-X jit-stats`, `-X jit-log` and `ember.stats()`.

Formats (documented here; the README points at this docstring):

JSON (`-X jit-stats=PATH`, and `ember.stats()` returns the same dict)::

    {"compiled": [{"qualname", "filename", "firstlineno", "tier", "compile_ms", "cached"}],
     "refused": [{"qualname", "filename", "firstlineno", "reason", "detail"}],
     "invalidated": [{"qualname", "filename", "firstlineno", "reason"}],
     "totals": {"compiled", "refused", "invalidated", "compile_ms", "startup_ms", "run_ms",
                "compile_share", "threshold", "refused_by_reason": {reason: count},
                "counting": {"on", "why", "events", "hooks", "deferred", "at_next_call",
                             "errors"}}}

`counting` says whether hotness is counted at all (`why` when it is not: tier 1 off, the
C counter not built, the monitoring tool taken) and, when it is, the C counter's figures:
callbacks received, hook calls, hook calls put off for lack of recursion headroom,
functions that got hot at a back-edge of their first call (left to their next call, or to
the sampler once that call has run FIRST_CALL_WAIT_MS more: without on-stack replacement
the running call cannot use the code), hook errors.

`cached` is true when the machine code came from the persistent code cache (then
`compile_ms` is the time to load it). `compile_ms` (per function and in total) is the
compiler's own time; `startup_ms` is the
JIT's one-time start, paid by the first compile of a process whatever it compiles: loading
LLVM (llvmlite), the compiler's modules and the runtime support code.

`reason` is a short stable name (`generator`, `uses_locals`, `no_lowering`, a frontend
refusal such as `unsupported_opcode`, or `internal_error` when Ember itself failed).

Log (`-X jit-log[=PATH]`), one line per decision as it happens::

    ember: compiled mod.f (app.py:3) tier 1 in 12.3 ms
    ember: refused mod.g (app.py:9): generator (generators stay interpreted for now)
    ember: invalidated mod.f (app.py:3): __code__ changed
    ember: error mod.h (app.py:20): <exception text>
"""

import sys
import time


class _Record:
    # Plain slotted classes: dataclasses would cost ~20 ms of imports at every start.
    __slots__ = ()

    def __init__(self, *values):
        for name, value in zip(self.__slots__, values, strict=True):
            setattr(self, name, value)

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__slots__}


class Compiled(_Record):
    __slots__ = ("qualname", "filename", "firstlineno", "tier", "compile_ms", "cached")


class Refused(_Record):
    __slots__ = ("qualname", "filename", "firstlineno", "reason", "detail")


class Invalidated(_Record):
    __slots__ = ("qualname", "filename", "firstlineno", "reason")


def where(code) -> tuple[str, str, int]:
    return code.co_qualname, code.co_filename, code.co_firstlineno


class Stats:
    def __init__(self, threshold: int, log: str | None = None, started: float | None = None):
        self.threshold = threshold
        self.started = time.perf_counter() if started is None else started
        # The records, flat: the fields of each, one after the other, all of them plain
        # values (str, int, float, bool): recording adds no object the cycle collector
        # tracks (programs, and CPython's own tests, count gc.get_objects()).
        self._flat: dict[type, list] = {Compiled: [], Refused: [], Invalidated: []}
        self._log_target = log
        self._log_file = None
        #: Why hotness is not counted (None while it is), and the C counter when it is.
        self.not_counting: str | None = "not started"
        self.counter = None
        self.startup_ms = 0.0
        #: Called before every report: brings in what was logged elsewhere (the C function
        #: watcher's invalidations, through `install.drain`).
        self.sync = None

    # -- recording ---------------------------------------------------------------------

    def _records(self, cls) -> list:
        flat, n = self._flat[cls], len(cls.__slots__)
        return [cls(*flat[i:i + n]) for i in range(0, len(flat), n)]

    @property
    def compiled(self) -> list:
        return self._records(Compiled)

    @property
    def refused(self) -> list:
        return self._records(Refused)

    @property
    def invalidated(self) -> list:
        return self._records(Invalidated)

    def _add(self, cls, *values):
        self._flat[cls].extend(values)
        return cls(*values)

    def record_compiled(self, code, tier: int, compile_ms: float, cached: bool = False) -> None:
        rec = self._add(Compiled, *where(code), tier, round(compile_ms, 3), cached)
        self.log(
            f"compiled {rec.qualname} ({_short(rec.filename)}:{rec.firstlineno}) "
            f"tier {tier} in {compile_ms:.1f} ms" + (" (from the code cache)" if cached else "")
        )

    def record_refused(self, code, reason: str, detail: str = "") -> None:
        rec = self._add(Refused, *where(code), reason, detail)
        extra = f" ({detail})" if detail else ""
        self.log(
            f"refused {rec.qualname} ({_short(rec.filename)}:{rec.firstlineno}): {reason}{extra}"
        )

    def record_invalidated(self, code, reason: str) -> None:
        rec = self._add(Invalidated, *where(code), reason)
        self.log(f"invalidated {rec.qualname} ({_short(rec.filename)}:{rec.firstlineno}): {reason}")

    def log(self, line: str) -> None:
        if self._log_target is None:
            return
        try:
            if self._log_file is None:
                if self._log_target == "-":
                    self._log_file = sys.stderr
                else:
                    self._log_file = open(self._log_target, "a", buffering=1, encoding="utf-8")  # noqa: SIM115
            self._log_file.write(f"ember: {line}\n")
            self._log_file.flush()
        except Exception:
            self._log_target = None  # a broken log never reaches the program

    # -- reporting -----------------------------------------------------------------------

    def as_dict(self) -> dict:
        if self.sync is not None:
            try:
                self.sync()
            except Exception:  # noqa: BLE001 - a report never fails for this
                pass
        # Snapshot first: building the dict runs Python code that may itself get hot.
        compiled, refused, invalidated = self.compiled, self.refused, self.invalidated
        run_ms = (time.perf_counter() - self.started) * 1000
        compile_ms = sum(c.compile_ms for c in compiled)
        by_reason: dict[str, int] = {}
        for r in refused:
            by_reason[r.reason] = by_reason.get(r.reason, 0) + 1
        return {
            "compiled": [c.as_dict() for c in compiled],
            "refused": [r.as_dict() for r in refused],
            "invalidated": [i.as_dict() for i in invalidated],
            "totals": {
                "compiled": len(compiled),
                "refused": len(refused),
                "invalidated": len(invalidated),
                "compile_ms": round(compile_ms, 3),
                "startup_ms": round(self.startup_ms, 3),
                "run_ms": round(run_ms, 3),
                "compile_share": round(compile_ms / run_ms, 4) if run_ms else 0.0,
                "threshold": self.threshold,
                "refused_by_reason": dict(sorted(by_reason.items())),
                "counting": self._counting(),
            },
        }

    def _counting(self) -> dict:
        c = self.counter
        if self.not_counting is not None or c is None:
            return {"on": False, "why": self.not_counting or "no counter"}
        return {"on": True, "why": "", "events": c.events, "hooks": c.hooks,
                "deferred": c.deferred, "at_next_call": c.at_next_call, "errors": c.errors}

    def table(self) -> str:
        data = self.as_dict()
        t = data["totals"]
        lines = [
            f"ember: {t['compiled']} compiled, {t['refused']} refused, "
            f"{t['invalidated']} invalidated; compile {t['compile_ms']:.1f} ms "
            f"(+ {t['startup_ms']:.1f} ms JIT start-up) of "
            f"{t['run_ms']:.1f} ms run ({100 * t['compile_share']:.1f}%), threshold {t['threshold']}"
        ]
        if not t["counting"]["on"]:
            lines.append(f"  not counting hotness: {t['counting']['why']}")
        rows = [("function", "where", "outcome")]
        for c in data["compiled"]:
            where_ = f"{_short(c['filename'])}:{c['firstlineno']}"
            how = "cached, " if c["cached"] else ""
            rows.append((c["qualname"], where_, f"tier {c['tier']}, {how}{c['compile_ms']:.1f} ms"))
        for r in data["refused"]:
            where_ = f"{_short(r['filename'])}:{r['firstlineno']}"
            rows.append((r["qualname"], where_, f"refused: {r['reason']}"))
        for i in data["invalidated"]:
            where_ = f"{_short(i['filename'])}:{i['firstlineno']}"
            rows.append((i["qualname"], where_, f"invalidated: {i['reason']}"))
        if len(rows) > 1:
            w0 = max(len(r[0]) for r in rows)
            w1 = max(len(r[1]) for r in rows)
            lines += [f"  {a:<{w0}}  {b:<{w1}}  {c}" for a, b, c in rows]
        if t["refused_by_reason"]:
            reasons = ", ".join(f"{k} {v}" for k, v in t["refused_by_reason"].items())
            lines.append(f"  refused by reason: {reasons}")
        return "\n".join(lines) + "\n"

    def write(self, target: str) -> None:
        """At exit: the table on stderr ("-") or JSON to a file."""
        if target == "-":
            sys.stderr.write(self.table())
            sys.stderr.flush()
            return
        import json

        with open(target, "w", encoding="utf-8") as f:
            json.dump(self.as_dict(), f, indent=1)
            f.write("\n")


def _short(filename: str) -> str:
    return filename.rpartition("/")[2] or filename
