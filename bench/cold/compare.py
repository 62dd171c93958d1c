"""cold_stdlib side by side: `./ember workload.py` against `python3.12 workload.py`.

    .venv/bin/python bench/cold/compare.py [--rounds R] [--processes P] [--values V]
                                           [--reference PYTHON] [--json DIR]

The goal it checks (issue 5): a program where nothing gets hot runs within 3% of
python3.12. Every value is one whole process (`python -m pyperf command`), so start-up,
the launcher and Ember's boot are all counted, as a user pays them. The two commands take
turns, R rounds of P worker processes x V values each (plus one warm-up value per worker),
so drifts in machine load hit both alike. Prints each one's mean and median, their ratio,
and pyperf's `compare_to` verdict (whether the difference is significant).

The reference is the bare python3.12 venv of the suite (`bench/.work/venv-cpython`, made
on first use), which runs no `.pth` start-up code of its own: a system python3.12 may
(here: a certificate hook importing certifi, about 1 ms per start). `--reference` picks
another interpreter.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
WORKLOAD = HERE / "workload.py"


def reference() -> str:
    sys.path.insert(0, str(ROOT))
    from bench.interpreters import setup

    interp = setup(["cpython"])["cpython"]
    if not interp.available:
        sys.exit(f"cold: {interp.note}")
    return interp.cmd[0]


def pyperf_command(out: Path, name: str, argv: list[str], args) -> None:
    subprocess.run(
        [sys.executable, "-m", "pyperf", "command", "--quiet", "--append", str(out),
         "--name", name, "--loops", "1", "--processes", str(args.processes),
         "--values", str(args.values), "--warmups", "1", "--", *argv],
        check=True, stdout=subprocess.DEVNULL,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--values", type=int, default=3)
    ap.add_argument("--reference", help="the python3.12 to compare with")
    ap.add_argument("--json", help="keep the pyperf JSON files in this directory")
    args = ap.parse_args()

    import pyperf

    ref = args.reference or reference()
    cases = {"python3.12": [ref, str(WORKLOAD)], "ember": [str(ROOT / "ember"), str(WORKLOAD)]}
    for argv in cases.values():  # set up .venv on a fresh clone; the workload must pass
        subprocess.run(argv, check=True)

    with tempfile.TemporaryDirectory() as tmp:
        outdir = Path(args.json or tmp)
        outdir.mkdir(parents=True, exist_ok=True)
        files = {name: outdir / f"cold_stdlib-{name}.json" for name in cases}
        for f in files.values():
            f.unlink(missing_ok=True)
        for r in range(args.rounds):
            print(f"cold: round {r + 1}/{args.rounds}", file=sys.stderr, flush=True)
            for name, argv in cases.items():
                pyperf_command(files[name], "cold_stdlib", argv, args)

        values = {}
        for name, f in files.items():
            values[name] = pyperf.Benchmark.load(str(f)).get_values()
        print(f"cold_stdlib: {len(values['ember'])} processes each, reference {ref}")
        for name, v in values.items():
            print(f"  {name:10} mean {statistics.mean(v) * 1000:7.1f} ms +- "
                  f"{statistics.stdev(v) * 1000:5.1f}   median {statistics.median(v) * 1000:7.1f} ms")
        mean_ratio = statistics.mean(values["ember"]) / statistics.mean(values["python3.12"])
        median_ratio = statistics.median(values["ember"]) / statistics.median(values["python3.12"])
        print(f"  ratio ember / python3.12: mean {mean_ratio:.3f}x, median {median_ratio:.3f}x "
              f"(goal: within 1.03x)")
        subprocess.run([sys.executable, "-m", "pyperf", "compare_to",
                        str(files["python3.12"]), str(files["ember"])])


if __name__ == "__main__":
    main()
