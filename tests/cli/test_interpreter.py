"""The interpreters programs run in under Ember (ember/interpreter.py, src/ember/_main.c).

Where this CPython is a shared build, `./ember` runs `.venv/ember/bin/ember-python`: the
same CPython linked statically, with Ember's start in its main() and no venv, so that a
program sees python3.12's own prefix, paths and site, with only Ember's directories after
them. The venv's `bin/ember-python` (the fallback, and what a wheel install makes) is the
venv's python, statically linked too. Nothing a program can see may tell either from
the python it stands for beyond that."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig

import pytest

from ember import interpreter
from tests.harness import CPYTHON, EMBER_PYTHON, ROOT

VENV = ROOT / ".venv"
VENV_PYTHON = VENV / "bin" / "python"
VENV_ALIAS = VENV / "bin" / interpreter.NAME
can_link = pytest.mark.skipif(
    not sysconfig.get_config_var("Py_ENABLE_SHARED"),
    reason="this CPython is static already: ember-python is a symlink to it")

#: What a program may look at about its interpreter; sys.path comes last, on its own.
FACTS = r"""
import sys, sysconfig, platform, json, ctypes, site
print(sys.version, sys.hexversion, sys.api_version, sys.implementation)
print(sys.flags, sys.float_info, sys.int_info, sys.hash_info, sys.thread_info)
print(sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, sys.platlibdir)
print(sorted(sys.builtin_module_names), sys.stdlib_module_names == sys.stdlib_module_names)
print(platform.python_build(), platform.python_compiler(), platform.libc_ver())
print(sysconfig.get_paths(), sysconfig.get_config_var("EXT_SUFFIX"), site.getsitepackages())
print(json.dumps({"a": [1.5, None]}), ctypes.pythonapi.Py_GetVersion.restype)
ctypes.pythonapi.Py_GetVersion.restype = ctypes.c_char_p
print(ctypes.pythonapi.Py_GetVersion().decode(), sys._base_executable)
print(json.dumps(sys.path))
"""


def run(exe, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    return subprocess.run([str(exe), *args], capture_output=True, text=True, env=env,
                          timeout=120)


def facts(exe, *args: str) -> tuple[str, list[str]]:
    got = run(exe, *args, "-c", FACTS)
    assert got.returncode == 0 and got.stderr == "", got
    text, _, path = got.stdout.rstrip("\n").rpartition("\n")
    return text, json.loads(path)


def maps(exe) -> str:
    return run(exe, "-X", "jit=off", "-c", "print(open('/proc/self/maps').read())").stdout


@can_link
def test_ember_runs_this_cpython_statically_linked():
    assert EMBER_PYTHON == VENV.joinpath(*interpreter.STANDALONE)
    for exe in (EMBER_PYTHON, VENV_ALIAS):
        assert exe.is_file() and not exe.is_symlink()
        assert "libpython" not in maps(exe)
    assert "/lib/libpython" in maps(VENV_PYTHON)


@can_link
def test_a_program_sees_python312s_interpreter_and_then_embers_directories():
    # -X jit=off: the interpreter's facts, not those of Ember's start.
    text, path = facts(EMBER_PYTHON, "-X", "jit=off")
    cpython_text, cpython_path = facts(CPYTHON)
    assert text == cpython_text
    ember_dirs = [sysconfig.get_paths()["purelib"], str(ROOT / "src")]
    assert path == cpython_path + ember_dirs
    # At the defaults, start-up loads nothing python3.12 does not but the extension (built
    # into the interpreter) and atexit (a builtin module its exit hook is registered with).
    show = "import sys, json; print(json.dumps(sorted(sys.modules)))"
    ember = set(json.loads(run(EMBER_PYTHON, "-c", show).stdout))
    assert ember ^ set(json.loads(run(CPYTHON, "-c", show).stdout)) == {"ember._hotness", "atexit"}


def test_the_venv_alias_is_the_venvs_python():
    text, path = facts(VENV_ALIAS, "-X", "jit=off")
    assert (text, path) == facts(VENV_PYTHON)


@pytest.mark.parametrize("exe", [EMBER_PYTHON, VENV_ALIAS], ids=["launched", "venv-alias"])
def test_extensions_resolve_the_c_api_against_the_executable(exe):
    code = ("import _decimal, _ctypes, _sqlite3, _json, array, _pickle;"
            "print(_decimal.Decimal(1) / 7, array.array('d', [1.5]).tolist(),"
            " _pickle.loads(_pickle.dumps({1: 2})))")
    ember, cpython = run(exe, "-c", code), run(CPYTHON, "-c", code)
    assert (ember.returncode, ember.stdout, ember.stderr) == (
        cpython.returncode, cpython.stdout, cpython.stderr)


@can_link
def test_under_another_name_it_is_plain_cpython(tmp_path):
    """A venv made from an Ember process links its python to python3.12
    (sys._base_executable); a link to the interpreter by another name, or -S, starts no
    Ember."""
    other = tmp_path / "python3.12"
    other.symlink_to(EMBER_PYTHON)
    probe = "import sys; print(sys.path[1:], 'ember._hotness' in sys.modules)"
    assert run(other, "-c", probe).stdout == run(CPYTHON, "-c", probe).stdout
    # -S: no site, so no Ember (as the venv alias, whose start is a .pth line of site's).
    assert run(EMBER_PYTHON, "-S", "-c", probe).stdout == run(CPYTHON, "-S", "-c", probe).stdout
    base = run(EMBER_PYTHON, "-c", "import sys; print(sys._base_executable)").stdout
    assert base == os.path.realpath(CPYTHON) + "\n"


def _make_in(tmp_path, monkeypatch):
    """interpreter.make() in a scratch copy of this venv's bin/ (pyvenv.cfg next to it)."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True, exist_ok=True)
    (venv / "pyvenv.cfg").write_text((ROOT / ".venv" / "pyvenv.cfg").read_text())
    (venv / "bin" / "python3.12").symlink_to(os.path.realpath(sys.executable))
    monkeypatch.setattr(sys, "executable", str(venv / "bin" / "python3.12"))
    return venv / "bin" / interpreter.NAME, interpreter.make(str(venv / "bin"))


@can_link
def test_make_replaces_a_symlink_with_the_linked_interpreter(tmp_path, monkeypatch):
    (tmp_path / "venv" / "bin").mkdir(parents=True)
    (tmp_path / "venv" / "bin" / interpreter.NAME).symlink_to("python3.12")
    alias, said = _make_in(tmp_path, monkeypatch)
    assert said.endswith("statically linked"), said
    assert alias.is_file() and not alias.is_symlink()
    assert run(alias, "-S", "-c", "import sys; print(sys.version)").stdout == sys.version + "\n"
    assert sorted(p.name for p in alias.parent.iterdir()) == ["ember-python", "python3.12"]


def test_a_failed_link_leaves_a_symlink_and_says_why(tmp_path, monkeypatch):
    monkeypatch.setenv("CC", "false")
    alias, said = _make_in(tmp_path, monkeypatch)
    assert alias.is_symlink() and os.readlink(alias) == "python3.12"
    if sysconfig.get_config_var("Py_ENABLE_SHARED"):
        assert "the link failed" in said
    assert sorted(p.name for p in alias.parent.iterdir()) == ["ember-python", "python3.12"]


def test_a_static_cpython_gets_a_symlink(tmp_path, monkeypatch):
    real = sysconfig.get_config_var
    monkeypatch.setattr(interpreter.sysconfig, "get_config_var",
                        lambda name: 0 if name == "Py_ENABLE_SHARED" else real(name))
    alias, said = _make_in(tmp_path, monkeypatch)
    assert alias.is_symlink() and "linked statically already" in said
