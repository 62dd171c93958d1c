"""Start-up stays python3.12's: what `./ember` loads before the program, and what it leaves.

No timings here (bench/cold_startup.py measures them): these tests guard the structure
that keeps start-up within about a millisecond of python3.12's. A program where nothing
gets hot must not pay for Ember's options, runtime, compiler or LLVM.
"""

import json
import os
import subprocess

from tests.harness import CPYTHON, EMBER, ROOT, environment, run

VENV_PYTHON = ROOT / ".venv" / "bin" / "python"

SHOW_MODULES = "import sys, json; print(json.dumps(sorted(sys.modules)))"
# Modules that must never load before something is compiled.
HEAVY = ("llvmlite", "ctypes", "ember.pipeline", "ember.abi", "ember.lower", "ember.backend",
         "dataclasses", "inspect", "typing")


def modules(argv, env=None) -> list[str]:
    # `json` is imported by the probe itself; everything else is start-up's.
    result = run([*argv, "-c", SHOW_MODULES], env=env)
    assert result.returncode == 0, result
    return json.loads(result.stdout)


def heavy(mods) -> list[str]:
    return [m for m in mods if m.startswith(HEAVY)]


def test_no_switch_loads_only_the_counter():
    """With no Ember switch set, start-up loads the C counter (by its path, not through
    the `ember` package) and nothing else: not the boot module, not the runtime, no stdlib
    module the plain interpreter of the same venv does not load (`atexit` is builtin)."""
    under_ember = modules([str(EMBER)])
    plain = modules([str(VENV_PYTHON)])
    assert [m for m in under_ember if m.startswith("ember")] == ["ember._hotness"]
    assert [m for m in under_ember if not m.startswith("ember") and m != "atexit"] == plain


def test_jit_off_loads_nothing_and_counts_nothing():
    """`-X jit=off` alone is plain CPython from the start: no boot module, no counter
    registered, the same modules as the venv's python (the extension aside). With any
    other switch next to it, the switches are still parsed (and a bad one reported)."""
    probe = ("import sys, json; print(json.dumps([sorted(sys.modules), "
             "sys.monitoring.get_tool(5)]))")
    result = run([str(EMBER), "-X", "jit=off", "-c", probe])
    mods, tool = json.loads(result.stdout)
    assert tool is None
    assert [m for m in mods if m.startswith("ember")] == ["ember._hotness"]
    assert [m for m in mods if not m.startswith("ember")] == modules([str(VENV_PYTHON)])
    bad = run([str(EMBER), "-X", "jit=off", "-X", "jit-threshold=x", "-c", "pass"])
    assert bad.returncode == 2 and b"-X jit-threshold" in bad.stderr, bad
    assert "ember.options" in modules([str(EMBER), "-X", "jit=off"],
                                      env={"EMBER_JIT_LOG": os.devnull})


def test_no_switch_counts_from_the_end_of_the_warm_up():
    """The fast path registers the C counter at start but counts nothing before the
    warm-up ends (a loop in the first milliseconds costs nothing and loads nothing); then
    the sampler runs, never with global events, and switches the counter on for what it
    sees running; the runtime comes when something gets hot (here: a function looping
    10,000 times, called until it is). The warm-up ends while the main thread sleeps,
    too (the timer's thread then runs the callback itself)."""
    probe = ("import sys, time, ember._boot as b\n"
             "def f():\n    for i in range(10_000): pass\n"
             "f()\n"
             "young = time.perf_counter() - b._started < 0.045  # else too slow to tell\n"
             "print(sys.monitoring.get_tool(5), b._counter is not None, "
             "sys.monitoring.get_events(5) == 0 or not young, 'ember.runtime' in sys.modules)\n"
             "time.sleep(0.5)\n"
             "print(sys.monitoring.get_events(5), "
             "sys.modules['ember._hotness'].boot_state()[2] == 'sampling')\n"
             "t = time.perf_counter()\n"
             "while 'ember.runtime.driver' not in sys.modules and time.perf_counter() - t < 10:\n"
             "    f()\n"
             "print('ember.runtime.driver' in sys.modules, sys.monitoring.get_events(5))")
    result = run([str(EMBER), "-c", probe])
    assert result.stdout == b"ember True True False\n0 True\nTrue 0\n", result


def test_a_switch_starts_the_runtime_without_the_compiler():
    """A switch takes the full path (options parsed, runtime started); the compiler and
    LLVM still wait until something gets hot."""
    for env, args in (({"EMBER_JIT_STATS": os.devnull}, ()), ({}, ("-X", "jit-threshold=100000")),
                      ({"EMBER_JIT_LOG": os.devnull}, ())):
        mods = modules([str(EMBER), *args], env=env)
        assert "ember.options" in mods and "ember.runtime" in mods, (env, args)
        assert heavy(mods) == [], (env, args)


def test_defaults_need_no_stats_or_log():
    """The fast path of `ember._boot` starts no runtime when no switch is set, which is
    right only while the defaults write nothing: no stats, no log."""
    probe = ("import ember.options as o; d = o.Options(); "
             "print(d.stats is None and d.log is None and d.jit)")
    result = run([str(EMBER), "-c", probe])
    assert result.stdout == b"True\n", result


def test_boot_options_on_the_fast_path_are_the_defaults():
    result = run([str(EMBER), "-c", "import ember._boot as b, ember.options as o; "
                                    "print(b.OPTIONS == o.Options())"])
    assert result.stdout == b"True\n", result


def test_launcher_leaves_the_environment_alone():
    """The program sees the environment python3.12 would see (a bash launcher added
    SHLVL=0 where it was unset). `_` is set by the caller's shell to the command it ran,
    so it is left out."""
    probe = ("import os, json; print(json.dumps(sorted((k, v) for k, v in os.environ.items() "
             "if k != '_')))")
    env = {k: v for k, v in environment().items() if k != "SHLVL"}
    env["PWD"] = os.getcwd()
    expected = subprocess.run([str(CPYTHON), "-c", probe], capture_output=True, env=env)
    actual = subprocess.run([str(EMBER), "-c", probe], capture_output=True, env=env)
    assert actual.returncode == expected.returncode == 0
    assert actual.stdout == expected.stdout


def test_the_program_imports_from_where_python312_would():
    """Every entry of python3.12's own sys.path (its site-packages, what its .pth files
    add) is on the program's, in the same order: a package installed for python3.12 is
    importable under Ember. Ember's venv and its dependencies come in between."""
    probe = "import json, sys; print(json.dumps(sys.path[1:]))"
    expected = json.loads(subprocess.run([str(CPYTHON), "-c", probe], capture_output=True,
                                         env=environment(), check=True).stdout)
    actual = json.loads(subprocess.run([str(EMBER), "-c", probe], capture_output=True,
                                       env=environment(), check=True).stdout)
    assert [p for p in actual if p in expected] == expected, (actual, expected)
