"""The library interface in a plain python3.12 process: ember.install/uninstall/jit/stats.

Each program runs in a subprocess of `.venv/bin/python` (not `./ember`: Ember's boot hook
is off there), with tier 1 on. Its stdout, stderr and exit status are compared with
python3.12 running the same program against a stub `ember` whose functions do nothing;
what Ember decided is read from a JSON file the program writes with `ember.stats()`.
"""

import json
import subprocess
import textwrap
from pathlib import Path

import pytest

from tests import harness

ROOT = Path(__file__).resolve().parents[2]
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"

STUB = '''
def install(**kw): return True
def uninstall(): pass
def jit(f=None): return f if f is not None else jit
def stats(): return {"compiled": [], "refused": [], "invalidated": []}
'''

PRELUDE = '''\
import atexit, json, sys
import ember

HERE = __file__  # CPython deletes __main__.__file__ before atexit callbacks run

def _dump():
    s = ember.stats()
    out = {k: [r["qualname"] for r in s[k] if r["filename"] == HERE]
           for k in ("compiled", "refused", "invalidated")}
    with open(sys.argv[1], "w") as f:
        json.dump(out, f)

atexit.register(_dump)
'''


def run_both(tmp_path, body):
    """Run `body` as a library user and under python3.12 with the stub; check they agree;
    return (stdout, {"compiled": [...], "refused": [...], "invalidated": [...]})."""
    prog = tmp_path / "prog.py"
    prog.write_text(PRELUDE + textwrap.dedent(body))
    stub = tmp_path / "stub"
    stub.mkdir(exist_ok=True)
    (stub / "ember.py").write_text(STUB)
    decisions = tmp_path / "decisions.json"
    expected = harness.cpython([str(prog), str(tmp_path / "unused.json")],
                               env={"PYTHONPATH": str(stub)})
    actual = harness.run([str(VENV_PYTHON), str(prog), str(decisions)])
    assert actual == expected, harness.describe_difference(
        ["prog.py"], ("as a library",), expected, actual)
    return actual.stdout.decode(), json.loads(decisions.read_text())


def test_import_ember_is_cheap():
    code = ("import sys, ember; print([m for m in ('llvmlite', 'ctypes', "
            "'ember.runtime', 'ember._hotness') if m in sys.modules])")
    out = subprocess.run([str(VENV_PYTHON), "-c", code], capture_output=True, text=True,
                         env=harness.environment(), timeout=60)
    assert out.stdout.strip() == "[]", out.stderr


def test_install_compiles_hot_functions(tmp_path):
    out, decided = run_both(tmp_path, '''
        print(ember.install(threshold=10, background=False))
        print("llvmlite" in sys.modules)

        def f(x):
            return x * 3 + 1

        def cold(x):
            return x

        total = 0
        for i in range(100):
            total += f(i)
        print(total, f(2**70), cold(1))
        try:
            f(None)
        except TypeError as e:
            print("TypeError:", e)
    ''')
    assert out.splitlines()[:2] == ["True", "False"]
    assert "f" in decided["compiled"]
    assert "cold" not in decided["compiled"] + decided["refused"]


def test_jit_compiles_at_the_first_call_without_install(tmp_path):
    out, decided = run_both(tmp_path, '''
        @ember.jit
        def g(a, b=2):
            return a - b

        def hot(x):
            return x + 1

        h = g
        print(g(5), g is h, g.__name__)
        for i in range(5000):
            hot(i)
        print(g(1, 1))

        class C:
            @ember.jit
            @staticmethod
            def s(x):
                return -x

        print(C.s(3), C().s(4))
    ''')
    assert out.splitlines()[0] == "3 True g"
    assert "g" in decided["compiled"] and "C.s" in decided["compiled"]
    # Nothing else is counted without install().
    assert "hot" not in decided["compiled"] + decided["refused"]


def test_uninstall_restores_interpretation(tmp_path):
    out, decided = run_both(tmp_path, '''
        ember.install(threshold=5, background=False)

        def f(x):
            return x + 1

        for i in range(50):
            f(i)
        ember.uninstall()
        # Back to CPython's own vectorcall, and no Ember tool left in sys.monitoring.
        if "ember.runtime.install" in sys.modules:
            from ember.runtime import install
            assert install.vectorcall_of(f) == install.PY_VECTORCALL
            assert install.installed_count() == 0
        print(sys.monitoring.get_tool(sys.monitoring.OPTIMIZER_ID))

        def g(x):
            return x * 2

        for i in range(50):
            g(i)
        print(f(1), g(2))
        ember.install()
        for i in range(50):
            g(i)
        print(g(3))
    ''')
    assert out.splitlines()[0] == "None"
    assert "f" in decided["compiled"]
    assert "g" in decided["compiled"]  # counted after the second install()


def test_a_tracer_sees_nothing_of_a_jit_compile(tmp_path):
    out, decided = run_both(tmp_path, '''
        events = []

        def tracer(frame, event, arg):
            events.append((event, frame.f_code.co_name))
            return tracer

        @ember.jit
        def k(x):
            return x * 2 + 1

        sys.settrace(tracer)
        print(k(1))
        k.__defaults__ = ()
        sys.settrace(None)
        print(k(2))
        print(events)
    ''')
    assert "k" in decided["compiled"] and "k" in decided["invalidated"]


def test_with_the_jit_off_the_library_does_nothing(tmp_path):
    code = ("import ember\nprint(ember.install())\n@ember.jit\ndef f(): pass\n"
            "f(); print(ember.stats()['totals']['compiled'])")
    out = subprocess.run([str(VENV_PYTHON), "-c", code], capture_output=True, text=True,
                         env=harness.environment({"EMBER_JIT": "off"}), timeout=60)
    assert out.stdout.split() == ["False", "0"], out.stderr


def test_jit_rejects_what_is_not_a_python_function():
    import ember

    with pytest.raises(TypeError, match="expects a Python function, got builtin_function"):
        ember.jit(len)
