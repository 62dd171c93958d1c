"""Results of a bench run: ratios to CPython, geometric mean, markdown tables, PNG chart.

The results JSON holds `meta` and `rows`; each row is one pyperf benchmark with, per
interpreter, a `status` (`ok`, `failed`, `unavailable`) and the numbers measured:

    {"benchmark": "nbody", "script": "nbody",
     "results": {"cpython": {"status": "ok", "mean": 0.081, "stdev": ..., "median": ...,
                             "values": 18, "loops": 1, "warmups": 2,
                             "first_iteration": 0.085, "tail_mean": ..., "peak_rss_mib": 9.6},
                 "ember": {..., "functions_compiled": 0, "compile_ms": 0.0},
                 "ember-off": {...},
                 "pypy": {"status": "failed", "note": "..."}}}

Ratio = interpreter time / CPython time (below 1 is faster); speed-up is its inverse.
The JIT's own share = Ember's time / the time of Ember with the JIT off (the same
interpreter): below 1 the JIT makes Ember faster. The geometric mean is taken over the rows
where every interpreter of the run has a time.

The verdict is the bar of issue 25 ("no slowdown"): on every benchmark Ember takes at most
1.00x CPython's time and at most 1.00x its own time with the JIT off. A ratio fails it when
it shows above 1.00x in the table (two decimals: 1.005 and up), so what the table shows
and what the verdict says agree.
"""

from __future__ import annotations

import math

BASELINE = "cpython"
# The JIT's own share: SHARE_OF's time over SHARE_OVER's.
SHARE_OF, SHARE_OVER = "ember", "ember-off"
SHARE_LABEL = "JIT's own share"


def steady_time(row: dict, interp: str) -> float | None:
    r = row.get("results", {}).get(interp)
    if r and r.get("status") == "ok" and r.get("mean"):
        return float(r["mean"])
    return None


def ratio(row: dict, interp: str) -> float | None:
    """time(interp) / time(CPython), or None when either is missing."""
    base = steady_time(row, BASELINE)
    t = steady_time(row, interp)
    if base is None or t is None:
        return None
    return t / base


def share(row: dict) -> float | None:
    """time(Ember) / time(Ember with the JIT off), or None when either is missing."""
    off = steady_time(row, SHARE_OVER)
    t = steady_time(row, SHARE_OF)
    if off is None or t is None:
        return None
    return t / off


def geomean(xs: list[float]) -> float | None:
    xs = [x for x in xs if x is not None and x > 0]
    if not xs:
        return None
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


def common_rows(rows: list[dict], interps: list[str]) -> list[dict]:
    """Rows where every interpreter has a steady-state time."""
    return [r for r in rows if all(steady_time(r, i) is not None for i in interps)]


def geomean_ratios(rows: list[dict], interps: list[str]) -> tuple[dict[str, float | None], int]:
    """interp -> geometric mean of its ratios over the common rows; and how many rows."""
    common = common_rows(rows, interps)
    return {i: geomean([ratio(r, i) for r in common]) for i in interps}, len(common)


def geomean_share(rows: list[dict], interps: list[str]) -> float | None:
    """Geometric mean of the JIT's own share over the same rows as `geomean_ratios`."""
    return geomean([share(r) for r in common_rows(rows, interps)])


def above_one(x: float) -> bool:
    """Whether a ratio shows above 1.00x (`fmt_ratio`): the verdict's test."""
    return float(f"{x:.2f}") > 1.0


def verdict(rows: list[dict], interps: list[str]) -> dict:
    """The "no slowdown" bar over every row: which benchmarks Ember runs in more than 1.00x
    CPython's time (`over_cpython`), more than 1.00x its time with the JIT off
    (`over_jit_off`), which have no verdict (`unmeasured`: a time is missing), and whether
    the bar is `met` (nothing over, nothing unmeasured, both criteria checked)."""
    checks = [i for i in (BASELINE, SHARE_OVER) if i in interps]
    out = {"checked": checks, "over_cpython": [], "over_jit_off": [], "unmeasured": [],
           "met": False}
    if SHARE_OF not in interps or BASELINE not in interps:
        out["checked"] = []
        return out
    for row in rows:
        name = row["benchmark"]
        vs_cpython = ratio(row, SHARE_OF)
        vs_off = share(row) if SHARE_OVER in interps else 1.0
        if vs_cpython is None or vs_off is None:
            out["unmeasured"].append(name)
            continue
        if above_one(vs_cpython):
            out["over_cpython"].append((name, vs_cpython))
        if above_one(vs_off):
            out["over_jit_off"].append((name, vs_off))
    out["met"] = (len(checks) == 2 and not out["over_cpython"] and not out["over_jit_off"]
                  and not out["unmeasured"])
    return out


def verdict_text(v: dict) -> str:
    """One markdown line (a paragraph) for a `verdict`."""
    if not v["checked"]:
        return "**Verdict: none** (Ember or CPython was not run)."
    if v["met"]:
        return ("**Verdict: no slowdown.** On every benchmark Ember takes at most 1.00x"
                " CPython's time and at most 1.00x its own time with the JIT off.")

    def listed(items):
        return ", ".join(f"{name} {fmt_ratio(x)}" for name, x in items)

    slow = bool(v["over_cpython"] or v["over_jit_off"])
    parts = ["**Verdict: slower than allowed.**" if slow else "**Verdict: not established.**"]
    parts.append("Ember above 1.00x CPython: "
                 + (listed(v["over_cpython"]) or "none") + ".")
    if SHARE_OVER in v["checked"]:
        parts.append("Ember above 1.00x Ember with the JIT off: "
                     + (listed(v["over_jit_off"]) or "none") + ".")
    else:
        parts.append("Ember with the JIT off was not run: that half of the bar is"
                     " unchecked.")
    if v["unmeasured"]:
        parts.append("No time to judge: " + ", ".join(v["unmeasured"]) + ".")
    return " ".join(parts)


def fmt_time(seconds: float | None) -> str:
    """pyperf-style: 12.3 ms, 456 us, 1.23 sec."""
    if seconds is None:
        return "—"
    for unit, scale in (("sec", 1.0), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)):
        if seconds >= scale or unit == "ns":
            v = seconds / scale
            return f"{v:.3g} {unit}" if v < 100 else f"{v:.0f} {unit}"
    return f"{seconds} sec"


def fmt_ratio(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}x"


def _cell_status(row: dict, interp: str) -> str:
    r = row.get("results", {}).get(interp) or {}
    if r.get("status") == "ok":
        return fmt_time(r.get("mean"))
    return {"failed": "failed", "unavailable": "n/a"}.get(r.get("status"), "—")


def render_markdown(meta: dict, rows: list[dict]) -> str:
    interps = meta["interpreters_run"]
    others = [i for i in interps if i != BASELINE]
    labels = {k: v.get("label", k) for k, v in meta["interpreters"].items()}
    lines = [f"# Ember benchmarks ({meta.get('mode', '?')} run)", ""]
    if meta.get("partial"):
        lines += [f"**PARTIAL: {meta.get('finished', '?')} of {meta.get('planned', '?')} "
                  "benchmark scripts finished.**", ""]
    lines += [
        f"- date: {meta.get('date', '?')}, wall time {meta.get('wall_seconds', 0) / 60:.1f} min",
        f"- machine: {meta.get('machine', '?')}",
        f"- load average at start / end: {meta.get('load_start', '?')} / "
        f"{meta.get('load_end', '?')}",
        f"- ember commit: `{meta.get('commit', '?')}`; pyperformance "
        f"{meta.get('pyperformance', '?')}; pyperf {meta.get('pyperf', '?')}",
        f"- command: `{meta.get('command', '?')}`",
    ]
    for name, info in meta["interpreters"].items():
        s = info.get("settings") or {}
        if info.get("available", True):
            pyperf = f"pyperf {info['pyperf']}" if info.get("pyperf") else "pyperf"
            worker = (f"; workers `{info['worker']}` (the same command)"
                      if info.get("worker") else "")
            lines.append(
                f"- {info.get('label', name)}: `{' '.join(info.get('cmd', []))}` "
                f"({info.get('version', '?')}){worker}; {pyperf} {s.get('processes')}"
                f" processes x {s.get('values')} values after {s.get('warmups')} warm-up"
                " values" + (f" ({info['note']})" if info.get("note") else ""))
        else:
            lines.append(f"- {info.get('label', name)}: not run: {info.get('note', '')}")
    if meta.get("noise_note"):
        lines += ["", f"> {meta['noise_note']}"]
    lines += ["", verdict_text(verdict(rows, interps))]
    gm, n = geomean_ratios(rows, interps)
    with_share = SHARE_OF in interps and SHARE_OVER in interps
    lines += [
        "",
        "## Steady state",
        "",
        "Mean time per iteration after warm-up (pyperf values). Ratio = time / CPython time:"
        " below 1.00x is faster than CPython."
        + (f" {SHARE_LABEL} = {labels.get(SHARE_OF)} time / {labels.get(SHARE_OVER)} time,"
           " the same interpreter without the JIT: below 1.00x the JIT makes it faster, above"
           " 1.00x slower." if with_share else ""),
        "",
    ]
    head, gcells = [labels.get(BASELINE, BASELINE)], [""]
    for i in others:
        head += [labels.get(i, i), f"{labels.get(i, i)} ratio"]
        gcells += ["", f"**{fmt_ratio(gm.get(i))}**"]
        if i == SHARE_OVER and with_share:
            head.append(SHARE_LABEL)
            gcells.append(f"**{fmt_ratio(geomean_share(rows, interps))}**")
    lines += ["| benchmark | " + " | ".join(head) + " |", "|---|" + "---:|" * len(head)]
    for row in rows:
        cells = [_cell_status(row, BASELINE)]
        for i in others:
            cells += [_cell_status(row, i), fmt_ratio(ratio(row, i))]
            if i == SHARE_OVER and with_share:
                cells.append(fmt_ratio(share(row)))
        lines.append(f"| {row['benchmark']} | " + " | ".join(cells) + " |")
    lines.append(f"| **geometric mean** ({n} benchmarks that ran everywhere) | "
                 + " | ".join(gcells) + " |")

    lines += [
        "",
        "## Warm-up",
        "",
        "First iteration in a fresh process (includes a JIT's compiling), and the mean of the"
        " probe's second half; `first / steady` is how far the first iteration is from the"
        " steady-state time.",
        "",
        "| benchmark | " + " | ".join(
            f"{labels.get(i, i)} first | {labels.get(i, i)} first / steady" for i in interps)
        + " |",
        "|---|" + "---:|" * (2 * len(interps)),
    ]
    for row in rows:
        cells = []
        for i in interps:
            r = row["results"].get(i) or {}
            first, mean = r.get("first_iteration"), r.get("mean")
            cells.append(fmt_time(first) if r.get("status") == "ok" else "—")
            cells.append(f"{first / mean:.1f}" if first and mean else "—")
        lines.append(f"| {row['benchmark']} | " + " | ".join(cells) + " |")

    lines += [
        "",
        "## Peak memory",
        "",
        "Peak RSS (MiB) of the single probe process (`wait4`), which runs the benchmark for"
        " about the probe time.",
        "",
        "| benchmark | " + " | ".join(labels.get(i, i) for i in interps) + " |",
        "|---|" + "---:|" * len(interps),
    ]
    for row in rows:
        cells = []
        for i in interps:
            r = row["results"].get(i) or {}
            rss = r.get("peak_rss_mib")
            cells.append(f"{rss:.0f}" if rss is not None and r.get("status") == "ok" else "—")
        lines.append(f"| {row['benchmark']} | " + " | ".join(cells) + " |")

    if "ember" in interps:
        lines += [
            "",
            "## Ember's compiler",
            "",
            "From `-X jit-stats=PATH` of the probe process (one process, about the probe"
            " time): functions compiled, functions refused, total compile time.",
            "",
            "| benchmark | functions compiled | refused | compile ms |",
            "|---|---:|---:|---:|",
        ]
        for row in rows:
            r = row["results"].get("ember") or {}
            if r.get("status") != "ok":
                lines.append(f"| {row['benchmark']} | — | — | — |")
                continue
            lines.append(f"| {row['benchmark']} | {r.get('functions_compiled', 0)} | "
                         f"{r.get('refused', 0)} | {r.get('compile_ms', 0.0):.1f} |")

    notes = []
    for row in rows:
        for i in interps:
            r = row["results"].get(i) or {}
            if r.get("status") == "failed" and r.get("note"):
                notes.append(f"- {row['benchmark']} / {labels.get(i, i)}: {r['note']}")
    if notes:
        lines += ["", "## Not run", ""] + notes
    lines += ["", "Chart: `" + meta.get("chart", "?") + "` (speed-up over CPython, log scale)."]
    return "\n".join(lines) + "\n"


def render_chart(meta: dict, rows: list[dict], path) -> bool:
    """Grouped bars of speed-up over CPython (log scale), one group per benchmark plus the
    geometric mean. Returns False when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    interps = meta["interpreters_run"]
    others = [i for i in interps if i != BASELINE]
    labels = {k: v.get("label", k) for k, v in meta["interpreters"].items()}
    names = [r["benchmark"] for r in rows]
    gm, n = geomean_ratios(rows, interps)
    names.append(f"geomean ({n})")
    fig, ax = plt.subplots(figsize=(max(8, 0.45 * len(names) + 2), 5.5))
    width = 0.8 / max(1, len(others))
    colors = {"ember": "#d9480f", "ember-off": "#ffa94d", "pypy": "#1c7ed6"}
    for k, interp in enumerate(others):
        ys = []
        for row in rows:
            rt = ratio(row, interp)
            ys.append(1 / rt if rt else float("nan"))
        g = gm.get(interp)
        ys.append(1 / g if g else float("nan"))
        xs = [x + (k - (len(others) - 1) / 2) * width for x in range(len(names))]
        ax.bar(xs, ys, width=width, label=labels.get(interp, interp),
               color=colors.get(interp), bottom=0)
    ax.set_yscale("log")
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("speed-up over CPython 3.12 (log scale; >1 is faster)")
    ax.set_title(f"Ember benchmarks, {meta.get('mode', '')} run, {meta.get('date', '')[:10]}"
                 f" ({meta.get('commit', '')})", fontsize=10)
    ax.legend()
    ax.grid(axis="y", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True
