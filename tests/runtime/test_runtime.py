"""The runtime driver: threshold counting, DISABLE, refusals, stats, failure containment."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ember import options as ember_options
from ember.runtime import driver
from tests.harness import EMBER_PYTHON, require_free_monitoring_tool

ROOT = Path(__file__).resolve().parents[2]
needs_alias = pytest.mark.skipif(not EMBER_PYTHON.exists(), reason=f"no {EMBER_PYTHON}")


def run_ember(tmp_path, source, *xopts, python=EMBER_PYTHON):
    prog = tmp_path / "prog.py"
    prog.write_text(textwrap.dedent(source))
    stats = tmp_path / "stats.json"
    # The tests here check when decisions are made: compiles run on the main thread.
    if not any(o.startswith("jit-background") for o in xopts):
        xopts = (*xopts, "jit-background=0")
    cmd = [str(python), *(f"-X{o}" for o in xopts), f"-Xjit-stats={stats}", str(prog)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMBER_")}
    # Thresholds 0 and 1 compile every standard-library function run after start-up.
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    data = json.loads(stats.read_text()) if stats.exists() else None
    return proc, data


def by_name(records, qualname):
    return [r for r in records if r["qualname"] == qualname]


PROGRAM = """
    import ember.runtime as rt

    def f(x):
        return x + 1

    def seen():
        s = rt.stats()
        return [r["qualname"] for r in s["refused"] + s["compiled"]]

    for i in range({before}):
        f(i)
    print("f" in seen())
    f(0)
    print("f" in seen())
"""


@needs_alias
@pytest.mark.parametrize("threshold, before", [(5, 4), (1, 0), (0, 0)])
def test_compiled_or_refused_at_the_nth_call(tmp_path, threshold, before):
    proc, data = run_ember(tmp_path, PROGRAM.format(before=before), f"jit-threshold={threshold}")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "True"]
    [rec] = by_name(data["refused"] + data["compiled"], "f")
    assert rec["filename"].endswith("prog.py") and rec["firstlineno"] == 4
    assert data["totals"]["threshold"] == threshold
    assert proc.stderr == ""


@needs_alias
def test_reasons_for_staying_interpreted(tmp_path):
    source = """
        import sys

        def gen():
            yield 1

        async def coro():
            pass

        async def agen():
            yield 1

        def loc():
            return locals()

        def var():
            return vars()

        def dirs():
            return dir()

        def ev(s):
            return eval(s)

        def ex(s):
            exec(s)

        def frame():
            return sys._getframe()

        def ok_vars(o):
            return vars(o)

        def drive(awaitable):
            try:
                awaitable.send(None)
            except StopIteration:
                pass

        list(gen())
        drive(coro())
        drive(agen().__anext__())
        loc(); var(); dirs(); ev("1"); ex("pass"); frame(); ok_vars(ok_vars)
    """
    proc, data = run_ember(tmp_path, source, "jit-threshold=0")
    assert proc.returncode == 0, proc.stderr
    reasons = {r["qualname"]: r["reason"] for r in data["refused"]}
    assert reasons["gen"] == "generator"
    assert reasons["coro"] == "coroutine"
    assert reasons["agen"] == "async_generator"
    assert reasons["loc"] == "uses_locals"
    assert reasons["var"] == "uses_vars"
    assert reasons["dirs"] == "uses_dir"
    assert reasons["ev"] == "uses_eval"
    assert reasons["ex"] == "uses_exec"
    assert reasons["frame"] == "uses_frame"
    assert reasons.get("ok_vars") != "uses_vars"  # vars(obj) is fine: compiled or refused otherwise
    totals = data["totals"]
    assert totals["refused"] == len(data["refused"])
    assert sum(totals["refused_by_reason"].values()) == totals["refused"]


@needs_alias
def test_stats_table_on_stderr_and_log(tmp_path):
    prog = tmp_path / "p.py"
    prog.write_text("def f():\n    yield 1\nlist(f())\nprint('out')\n")  # a generator: refused
    proc = subprocess.run(
        [str(EMBER_PYTHON), "-Xjit-threshold=0", "-Xjit-stats", "-Xjit-log", str(prog)],
        capture_output=True,
        text=True,
        env=dict(os.environ),
    )
    assert proc.stdout == "out\n"
    assert "ember: refused f (p.py:1)" in proc.stderr  # the log line
    assert "compiled," in proc.stderr and "refused by reason" in proc.stderr  # the table


@needs_alias
def test_jit_off_does_nothing(tmp_path):
    proc, data = run_ember(tmp_path, "def f():\n    pass\nf()\n", "jit=off", "jit-threshold=0")
    assert proc.returncode == 0 and proc.stderr == ""
    assert data is None


def test_abi_mismatch_disables_the_jit_with_one_line(tmp_path):
    # Compiling in this process ("thread"), whose ember.abi is made wrong.
    source = """
        import ember.abi, ember.options, ember.runtime as rt
        ember.abi.Float.ob_fval += 8
        rt.start(ember.options.parse({"jit-threshold": "0", "jit-background": "thread"}, {}))

        def f():
            return 41

        print(f() + 1, f() + 1)
        print(rt.stats()["totals"]["refused"], rt.current().enabled)
    """
    # A plain interpreter (the ember hook stays off) starting the runtime by hand.
    proc, _ = run_ember(tmp_path, source, python=Path(sys.executable))
    assert proc.returncode == 0
    assert proc.stdout.split() == ["42", "42", "0", "False"]
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "ember: warning: JIT disabled: CPython ABI mismatch"
    )


# -- in-process: the driver with a compiler hook ------------------------------------------


class CountingRuntime(driver.Runtime):
    """Counts the hook calls it receives per code object."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.hooks = {}

    def _on_hot(self, code, frame):
        self.hooks[code] = self.hooks.get(code, 0) + 1
        return super()._on_hot(code, frame)


@pytest.fixture
def runtime_with(request):
    pytest.importorskip("ember._hotness", reason="the C hotness counter is not built")
    require_free_monitoring_tool()
    made = []

    def make(threshold, compiler):
        opts = ember_options.parse({"jit-threshold": str(threshold), "jit-background": "0"}, {})
        rt = CountingRuntime(opts, compiler=compiler)
        assert rt.start()
        made.append(rt)
        return rt

    yield make
    for rt in made:
        rt.stop()
    sys.monitoring.restart_events()


def test_monitoring_disabled_after_counting(runtime_with):
    calls = []

    def compiler(func, opts):
        calls.append(func)
        from ember.bytecode import Refused

        raise Refused("test_refusal", "refused by the test")

    rt = runtime_with(3, compiler)

    def hot(x):
        return x

    hot(0)
    hot(1)
    assert calls == [] and rt.counter.count(hot.__code__) == 2 * rt.call_weight
    hot(2)  # the third call: hot, refused, decided
    assert calls == [hot] and rt.counter.count(hot.__code__) == -1
    events = rt.counter.events
    hot(3)
    hot(4)
    assert rt.counter.events == events  # DISABLEd: no more events
    rt.stop()
    assert rt.hooks[hot.__code__] == 1
    [rec] = [r for r in rt.stats.refused if r.qualname.endswith("hot")]
    assert rec.reason == "test_refusal"


def test_no_compile_starts_inside_a_compile(runtime_with):
    compiled = []

    def helper():
        return 1

    def compiler(func, opts):
        compiled.append(func.__name__)
        for _ in range(10):  # the compiler's own calls get helper hot: not compiled now
            helper()
        from ember.bytecode import Refused

        raise Refused("test_refusal", "refused by the test")

    rt = runtime_with(2, compiler)

    def target():
        return 2

    ours = lambda: [name for name in compiled if name in ("target", "helper")]
    assert rt.compile_and_install(target) is False  # started outside the hook
    assert ours() == ["target"] and rt.hooks.get(helper.__code__, 0) >= 1
    assert rt.counter.count(helper.__code__) != -1  # not decided: counted again
    helper()
    helper()
    assert ours() == ["target", "helper"]


def test_compiler_errors_never_reach_the_program(runtime_with):
    def compiler(func, opts):
        raise ZeroDivisionError("inside the compiler")

    rt = runtime_with(0, compiler)

    def victim():
        return "fine"

    assert victim() == "fine"
    assert victim() == "fine"
    rt.stop()
    [rec] = [r for r in rt.stats.refused if r.qualname.endswith("victim")]
    assert rec.reason == "internal_error" and "ZeroDivisionError" in rec.detail


def test_forwarding_entry_installed_by_the_driver(runtime_with):
    pytest.importorskip("llvmlite")
    from ember.backend import entry as backend_entry
    from ember.runtime import install

    def compiler(func, opts):
        return backend_entry.compile_entry()[0]

    rt = runtime_with(2, compiler)

    def work(a, b=1):
        return a * b

    assert [work(3), work(3, 2)] == [3, 6]  # the second call compiles and installs
    assert install.is_installed(work)
    assert work(4, b=2) == 8 and work(5) == 5
    work.__defaults__ = (10,)  # the watcher sends it back
    assert not install.is_installed(work)
    assert work(5) == 50
    rt.stop()
    assert [c.qualname for c in rt.stats.compiled if c.qualname.endswith("work")]
    assert [i.reason for i in rt.stats.invalidated] == ["__defaults__ changed"]


@needs_alias
def test_start_up_imports_neither_llvmlite_nor_ctypes():
    code = "import sys; print(sorted(m for m in ('llvmlite', 'ctypes', 'dis', 'ember.pipeline') if m in sys.modules))"
    proc = subprocess.run([str(EMBER_PYTHON), "-c", code], capture_output=True, text=True)
    assert proc.stdout.strip() == "[]", proc.stderr
    code = "import sys, ember.backend; print('llvmlite' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.stdout.strip() == "False", proc.stderr


def test_dump_llvm_and_asm(capfd):
    pytest.importorskip("llvmlite")
    from ember.backend import entry as backend_entry

    backend_entry.compile_entry(dump=frozenset({"llvm", "asm"}))
    err = capfd.readouterr().err
    assert ";; ember llvm: ember." in err and ";; ember asm: ember." in err
    assert "_PyFunction_Vectorcall" in err


def test_an_abi_mismatch_the_compile_server_reports_disables_the_jit(capsys):
    """The compile server runs this interpreter's binary and checks ember.abi for it;
    its verdict (in its hello) disables the JIT here with the same one line."""
    from ember import options
    from ember.runtime.driver import Runtime
    from ember.runtime.remote import Remote

    rt = Runtime(options.Options(threshold=0))
    remote = Remote(rt)
    remote.client.hello = True
    remote.client.abi_error = "Float.ob_fval: read 0, expected 16"
    remote._after_hello()
    assert rt._abi_ok is False
    err = capsys.readouterr().err
    assert err == ("ember: warning: JIT disabled: CPython ABI mismatch "
                   "(Float.ob_fval: read 0, expected 16)\n")
