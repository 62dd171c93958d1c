"""ember-python, the interpreter programs run in (ember/interpreter.py): where this CPython
is a shared build it is the same CPython linked statically, and nothing a program can see
may tell the two apart beyond what the venv already changes."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig

import pytest

from ember import interpreter
from tests.harness import EMBER_PYTHON, ROOT

VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
can_link = pytest.mark.skipif(
    not sysconfig.get_config_var("Py_ENABLE_SHARED"),
    reason="this CPython is static already: ember-python is a symlink to it")

#: What a program may look at about its interpreter, printed by each for comparison.
FACTS = r"""
import sys, sysconfig, platform, json, ctypes
print(sys.version, sys.hexversion, sys.api_version, sys.implementation)
print(sys.flags, sys.float_info, sys.int_info, sys.hash_info, sys.thread_info)
print(sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, sys.platlibdir)
print(sys._base_executable, sys.path[1:])
print(sorted(sys.builtin_module_names), sys.stdlib_module_names == sys.stdlib_module_names)
print(platform.python_build(), platform.python_compiler(), platform.libc_ver())
print(sysconfig.get_paths(), sysconfig.get_config_var("EXT_SUFFIX"))
print(json.dumps({"a": [1.5, None]}), ctypes.pythonapi.Py_GetVersion.restype)
ctypes.pythonapi.Py_GetVersion.restype = ctypes.c_char_p
print(ctypes.pythonapi.Py_GetVersion().decode())
"""


def run(exe, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    return subprocess.run([str(exe), *args], capture_output=True, text=True, env=env,
                          timeout=120)


@can_link
def test_the_alias_is_this_cpython_statically_linked():
    assert EMBER_PYTHON.is_file() and not EMBER_PYTHON.is_symlink()
    maps = run(EMBER_PYTHON, "-c", "print(open('/proc/self/maps').read())").stdout
    assert "libpython" not in maps
    assert "/lib/libpython" in run(VENV_PYTHON, "-c",
                                   "print(open('/proc/self/maps').read())").stdout


def test_a_program_sees_the_same_interpreter():
    # -X jit=off: the facts of the interpreter, not of Ember's start (which imports its
    # extension: the one difference the venv's python would show).
    ember = run(EMBER_PYTHON, "-X", "jit=off", "-c", FACTS)
    venv = run(VENV_PYTHON, "-c", FACTS)
    assert ember.returncode == venv.returncode == 0, ember.stderr + venv.stderr
    assert ember.stdout == venv.stdout
    assert ember.stderr == venv.stderr == ""


def test_extensions_resolve_the_c_api_against_the_executable():
    code = ("import _decimal, _ctypes, _sqlite3, _json, array, _pickle;"
            "print(_decimal.Decimal(1) / 7, array.array('d', [1.5]).tolist(),"
            " _pickle.loads(_pickle.dumps({1: 2})))")
    ember, cpython = run(EMBER_PYTHON, "-c", code), run(VENV_PYTHON, "-c", code)
    assert (ember.returncode, ember.stdout, ember.stderr) == (
        cpython.returncode, cpython.stdout, cpython.stderr)


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
