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


def test_no_switch_loads_only_the_boot_module():
    """With no Ember switch set, start-up imports `ember` and `ember._boot` and nothing
    else: not the options, not the runtime, no stdlib module the plain interpreter of the
    same venv does not load."""
    under_ember = modules([str(EMBER)])
    plain = modules([str(VENV_PYTHON)])
    assert [m for m in under_ember if m.startswith("ember")] == ["ember", "ember._boot"]
    assert [m for m in under_ember if not m.startswith("ember")] == plain


def test_a_switch_starts_the_runtime_without_the_compiler():
    """A switch takes the full path (options parsed, runtime started); the compiler and
    LLVM still wait until something gets hot."""
    for env, args in (({"EMBER_JIT_STATS": os.devnull}, ()), ({}, ("-X", "jit-threshold=5")),
                      ({"EMBER_TIER1": "1"}, ())):
        mods = modules([str(EMBER), *args], env=env)
        assert "ember.options" in mods and "ember.runtime" in mods, (env, args)
        assert heavy(mods) == [], (env, args)


def test_defaults_need_no_runtime():
    """The fast path of `ember._boot` skips `runtime.start` when no switch is set, which is
    right only while the defaults do nothing: no stats, no log, tier 1 off. When that
    changes, `_DEFAULTS_START_RUNTIME` in ember/_boot.py must become True."""
    probe = (
        "import ember._boot as b, ember.options as o; d = o.Options(); "
        "print(b._DEFAULTS_START_RUNTIME or (d.stats is None and d.log is None "
        "and not o.tier1_enabled()))"
    )
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
