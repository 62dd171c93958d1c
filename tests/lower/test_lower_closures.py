"""Cells, free variables and nested functions under tier 1 (`./ember -X jit-threshold=0`)
against python3.12: results, messages, traceback text, frames seen from
outside, refcounts; and the functions under test were compiled (stats JSON)."""

from __future__ import annotations

import json
import textwrap

from tests.harness import assert_same


def run_compiled(tmp_path, body: str, must_compile: set[str]):
    prog = tmp_path / "prog.py"
    prog.write_text(textwrap.dedent(body))
    stats = tmp_path / "stats.json"
    result = assert_same([str(prog)], ember_args=("-X", "jit-threshold=0", "-X",
                                                  f"jit-stats={stats}"),
                         timeout=900)  # threshold 0 compiles the stdlib it runs too
    data = json.loads(stats.read_text())
    compiled = {c["qualname"] for c in data["compiled"] if c["filename"] == str(prog)}
    missing = must_compile - compiled
    refused = [(r["qualname"], r["detail"]) for r in data["refused"]
               if r["filename"] == str(prog)]
    assert not missing, (missing, refused)
    return result


CLOSURES = """
    import sys

    def make_counter(start):
        n = start
        def inc(k=1):
            nonlocal n
            n += k
            return n
        return inc

    def argcell(x, y):
        def g():
            return x + y
        y = 5
        return g

    def peek():
        f = sys._getframe(1)
        return sorted((k, v) for k, v in f.f_locals.items() if k != "h")

    def look(a):
        b = a + 1
        def h():
            return a + b
        return peek(), h()

    def free_unbound():
        def h():
            return zz
        h2 = h
        zz = None
        del zz
        return h2

    def local_unbound():
        def h():
            return q
        print(q)
        q = 2

    def deleter(v):
        def h():
            return v
        del v
        return h

    def delete_twice(v):
        def h():
            return v
        del v
        del v

    def lambdas(xs):
        scale = 3
        return list(map(lambda x: x * scale, xs)), (lambda: scale)()

    def with_parts(a, b=2, *, c=3):
        def f(x: int, y=a, *, z=b) -> str:
            return x + y + z + c
        return f

    def kept_frame(a):
        def h():
            return a
        return sys._getframe(), h

    def run(name, f, *args):
        try:
            print(name, f(*args))
        except Exception as e:
            print(name, type(e).__name__, e, getattr(e, "name", None))

    c = make_counter(10)
    run("counter", lambda: (c(), c(5), c(k=-3)))
    run("argcell", lambda: argcell(1, 2)())
    run("look", look, 3)
    run("free_unbound", lambda: free_unbound()())
    run("local_unbound", local_unbound)
    run("deleter", lambda: deleter(3)())
    run("delete_twice", delete_twice, 1)
    run("lambdas", lambdas, [1, 2])
    f = with_parts(1)
    run("parts", lambda: (f(1), f.__defaults__, f.__kwdefaults__, f.__annotations__,
                          f.__qualname__, f.__closure__[0].cell_contents))
    fr, h = kept_frame(7)
    run("kept", lambda: (sorted((k, v) for k, v in fr.f_locals.items() if k != "h"), h()))

    # refcounts: closures made and called 10**4 times keep the counts steady
    obj = object()
    def holder(o):
        def get():
            return o
        return get
    before = sys.getrefcount(obj)
    for _ in range(10000):
        holder(obj)()
    print("refs", sys.getrefcount(obj) - before)
    cnt = make_counter(0)
    for _ in range(10000):
        cnt()
    print("count", cnt(0))
    deleter(4)()  # uncaught: NameError traceback on stderr, exit status 1
"""


def test_closures(tmp_path):
    result = run_compiled(tmp_path, CLOSURES, {
        "make_counter", "make_counter.<locals>.inc", "argcell", "argcell.<locals>.g",
        "look", "look.<locals>.h", "free_unbound", "free_unbound.<locals>.h",
        "local_unbound", "deleter", "deleter.<locals>.h", "delete_twice", "lambdas",
        "lambdas.<locals>.<lambda>", "with_parts", "with_parts.<locals>.f", "kept_frame.<locals>.h",
        "holder", "holder.<locals>.get",
    })
    assert result.returncode == 1
    assert b"refs 0\n" in result.stdout
    assert b"cannot access free variable 'v'" in result.stderr
