"""What Ember does on the program's threads makes nothing the program can see through the
cycle collector (issue 24, defect 4).

A test of reference counts compares `len(gc.get_objects())` (or `gc.get_count()`) before
and after some code; under python3.12 two back-to-back reads never differ. Under Ember,
between two bytecodes of the program, the sampler runs every few milliseconds, functions
get hot, and the compile server's replies are installed. None of that may make or free
an object the collector tracks, move the youngest generation's count, or trigger a
collection (src/ember/_sampler.c says how).

The program here makes and calls many functions at the default settings with a cold
code cache, so that samples, hot functions (one of them hot in its only call, decided by
the sampler while that call runs) and installed replies all happen while it reads the
collector back to back. `GC_INVISIBLE_RUNS=20` runs it 20 times.
"""

import json
import os
import textwrap

import pytest

from tests import harness

pytest.importorskip("ember._hotness", reason="the C hotness counter is not built")

PROGRAM = textwrap.dedent("""
    import gc, json, sys, time

    RUN_S = float(sys.argv[1])  # at least; under Ember, until COMPILED are installed
    COMPILED = 4
    collections = [0]
    gc.callbacks.append(lambda phase, info: phase == "start" and collections.append(0))
    checks = 0
    differences = []


    def check():
        global checks
        c = len(collections)
        a = len(gc.get_objects())
        b = len(gc.get_objects())
        x = gc.get_count()[0]
        y = gc.get_count()[0]
        checks += 1
        if a != b or x != y or len(collections) != c:
            differences.append([a, b, x, y, len(collections) - c])


    def make(i):
        ns = {}
        exec(f"def f{i}(n):\\n    s = {i}\\n    for j in range(n):\\n        s += j ^ {i}\\n"
             f"    return s\\n", ns)
        return ns[f"f{i}"]


    def only_call(seconds):
        # Hot in its only call, which goes on: the sampler has it decided meanwhile.
        n = 0
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            n += 1
            if n % 500 == 0:
                check()
        return n


    def installed():
        # (Ember's count of installed functions, a C call made between two checks.)
        install = sys.modules.get("ember.runtime.install")
        return install.installed_count() if install is not None else 0


    funcs = [make(i) for i in range(60)]
    start = time.monotonic()
    only_call(0.4)
    rounds = 0
    while time.monotonic() - start < RUN_S or (
            "ember._hotness" in sys.modules and installed() < COMPILED
            and time.monotonic() - start < 60):
        k = rounds % len(funcs)
        for f in funcs[k:k + 6]:
            f(200)
        if rounds % 40 == 0:
            funcs.append(make(len(funcs)))
        rounds += 1
        for _ in range(4):
            check()
    out = {"checks": checks, "differences": differences}
    if "ember._hotness" in sys.modules:
        import ember
        stats = ember.stats()
        out["compiled"] = [c["qualname"] for c in stats["compiled"]]
        out["counting"] = stats["totals"]["counting"]
    print(json.dumps(out))
""")

RUNS = int(os.environ.get("GC_INVISIBLE_RUNS", "1"))


def _run(tmp_path, interpreter, seconds: float) -> dict:
    prog = tmp_path / "gc_reads.py"
    prog.write_text(PROGRAM)
    # A cold code cache: the compile server compiles, and its replies are installed
    # while the program runs.
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    result = interpreter([str(prog), str(seconds)], env=env, timeout=300)
    assert result.returncode == 0 and result.stderr == b"", result
    return json.loads(result.stdout)


def test_python312_reads_the_same_twice(tmp_path):
    """The program itself is steady: under python3.12 no two reads differ."""
    out = _run(tmp_path, harness.cpython, 1.0)
    assert out["checks"] > 100 and out["differences"] == []


@pytest.mark.parametrize("run", range(RUNS))
def test_ember_reads_the_same_twice_while_it_samples_and_compiles(tmp_path, run):
    out = _run(tmp_path, harness.ember, 3.0)
    counting = out["counting"]
    # Ember did its work meanwhile: it counted what it sampled, compiled functions (one
    # decided by the sampler in its only call) and installed them.
    assert counting["on"] and counting["events"] > 0 and counting["errors"] == 0, out
    assert counting["at_next_call"] >= 1 and "only_call" in out["compiled"], out
    assert len(out["compiled"]) >= 4, out
    assert out["checks"] > 100 and out["differences"] == [], out
