"""Summaries of a compat run: counts per way, regressions against CPython, markdown."""

from __future__ import annotations

from collections import Counter, defaultdict

from compat.outcome import OUTCOMES, ModuleResult

BASELINE = "cpython"


def by_module(results: list[ModuleResult]) -> dict[str, dict[str, ModuleResult]]:
    """module -> way -> result."""
    table: dict[str, dict[str, ModuleResult]] = defaultdict(dict)
    for r in results:
        table[r.module][r.way] = r
    return dict(table)


def counts(results: list[ModuleResult], ways: list[str]) -> dict[str, dict[str, int]]:
    """way -> outcome -> number of modules (every outcome present, zeros included)."""
    out = {way: dict.fromkeys(OUTCOMES, 0) for way in ways}
    for r in results:
        if r.way in out:
            out[r.way][r.outcome] += 1
    return out


def regressions(results: list[ModuleResult], ways: list[str]) -> list[ModuleResult]:
    """Results of non-baseline ways for modules that pass under CPython but not that way.

    A module CPython skips is not a regression when Ember skips it too; one that CPython
    passes and Ember skips is (Ember should skip nothing CPython runs).
    """
    table = by_module(results)
    found = []
    for module in sorted(table):
        base = table[module].get(BASELINE)
        if base is None or base.outcome != "pass":
            continue
        for way in ways:
            if way == BASELINE:
                continue
            r = table[module].get(way)
            if r is not None and r.outcome != "pass":
                found.append(r)
    return found


def _failed_names(r: ModuleResult, limit: int = 8) -> str:
    names = [t.name.removeprefix("test.") for t in r.failed_tests]
    if not names:
        first = r.detail.strip().splitlines()
        return first[0][:120] if first else ""
    shown = ", ".join(f"`{n}`" for n in names[:limit])
    if len(names) > limit:
        shown += f" (+{len(names) - limit} more)"
    return shown


def _cell(r: ModuleResult | None) -> str:
    if r is None:
        return "—"
    text = r.outcome
    if r.flaky:
        text += " (flaky)"
    return text


def render_markdown(meta: dict, results: list[ModuleResult], ways: list[str]) -> str:
    """The whole `results.md`: header, counts, regressions, then every module."""
    lines = [f"# CPython `Lib/test` under Ember ({meta.get('mode', '?')} run)", ""]
    if meta.get("partial"):
        lines += [f"**PARTIAL: {meta.get('finished', '?')} of {meta.get('planned', '?')} "
                  "runs finished.** Modules without a result in some way show `—`.", ""]
    if meta.get("note"):
        lines += [f"> {meta['note']}", ""]
    if meta.get("resumed_with"):
        lines += [f"Resumed after an interruption: {meta['resumed_with']} runs kept from the "
                  "first part; the wall time counts the last part only.", ""]
    lines += [
        f"- date: {meta.get('date', '?')}, wall time {meta.get('wall_seconds', 0) / 60:.1f} min,"
        f" {meta.get('jobs', '?')} modules in parallel, per-module timeout "
        f"{meta.get('timeout', '?')} s",
        f"- machine: {meta.get('machine', '?')}",
        f"- load average at start / end: {meta.get('load_start', '?')} / "
        f"{meta.get('load_end', '?')}",
        f"- ember commit: `{meta.get('commit', '?')}`",
        f"- command: `{meta.get('command', '?')}`",
        "- environment variables removed for the runs: "
        + (", ".join(f"`{k}`" for k in meta["env_dropped"]) or "none"
           if "env_dropped" in meta else "none (inherited as is)"),
        f"- {len(by_module(results))} modules; ways:",
    ]
    for way in ways:
        lines.append(f"  - `{way}`: `{' '.join(meta.get('ways', {}).get(way, []))}` "
                     f"({meta.get('versions', {}).get(way, '?')})")
    lines += [
        "",
        "Outcomes: `pass`; `fail` (a test failed or errored, or the module did not import);"
        " `crash` (killed by a signal or `Fatal Python error`); `timeout`; `skipped` (regrtest"
        " skipped the whole module or ran no test). A `(flaky)` result failed in the parallel"
        " run and passed when run again alone.",
        "",
        "## Modules per outcome",
        "",
        "| way | " + " | ".join(OUTCOMES) + " | total |",
        "|---|" + "---:|" * (len(OUTCOMES) + 1),
    ]
    c = counts(results, ways)
    for way in ways:
        row = c[way]
        lines.append(f"| `{way}` | " + " | ".join(str(row[o]) for o in OUTCOMES)
                     + f" | {sum(row.values())} |")
    regs = regressions(results, ways)
    lines += ["", f"## Pass under CPython, not under Ember ({len(regs)})", ""]
    if regs:
        lines += ["| module | way | outcome | failing tests / detail |", "|---|---|---|---|"]
        for r in regs:
            lines.append(f"| {r.module} | `{r.way}` | {r.outcome} | {_failed_names(r)} |")
    else:
        lines.append("None.")
    flaky = [r for r in results if r.flaky]
    lines += ["", f"## Failed in the main pass, passed when re-run alone ({len(flaky)})", ""]
    if flaky:
        lines += ["| module | way | main pass |", "|---|---|---|"]
        for r in sorted(flaky, key=lambda r: (r.module, r.way)):
            lines.append(f"| {r.module} | `{r.way}` | {r.detail.splitlines()[0][:300] if r.detail else ''} |")
    else:
        lines.append("None.")
    table = by_module(results)
    base_bad = [m for m in sorted(table)
                if (b := table[m].get(BASELINE)) is not None and b.outcome not in ("pass",
                                                                                    "skipped")]
    lines += ["", f"## Not passing under CPython itself ({len(base_bad)})", "",
              "Environment or installation limits of this machine, not Ember's doing.", ""]
    if base_bad:
        lines += ["| module | outcome | failing tests / detail |", "|---|---|---|"]
        for m in base_bad:
            r = table[m][BASELINE]
            lines.append(f"| {m} | {r.outcome} | {_failed_names(r)} |")
    else:
        lines.append("None.")
    lines += ["", "## Every module", "",
              "| module | " + " | ".join(f"`{w}`" for w in ways) + " | CPython seconds |",
              "|---|" + "---|" * len(ways) + "---:|"]
    for m in sorted(table):
        base = table[m].get(BASELINE)
        secs = f"{base.seconds:.1f}" if base else ""
        lines.append(f"| {m} | " + " | ".join(_cell(table[m].get(w)) for w in ways)
                     + f" | {secs} |")
    return "\n".join(lines) + "\n"


def summary_counts_line(results: list[ModuleResult], ways: list[str]) -> str:
    """One line for the terminal: `cpython 60 pass / 62, ember 60 pass / 62, ...`."""
    c = counts(results, ways)
    parts = []
    for way in ways:
        row = Counter(c[way])
        parts.append(f"{way}: {row['pass']} pass, {row['fail']} fail, {row['crash']} crash, "
                     f"{row['timeout']} timeout, {row['skipped']} skipped")
    return "; ".join(parts)
