"""`ember-python`: the interpreter a program runs in under Ember, made once at setup.

Ember's start (`ember-jit.pth`) switches on in a process whose executable's name starts
with "ember", so the interpreter needs a name of its own next to `python3.12`. Where
CPython was built with `--enable-shared` (pyenv's default, and python.org's on Linux),
that name is given to the *same* CPython statically linked: the installation ships the
objects it built libpython from (`LIBPL/libpython3.12.a`, `LIBPL/python.o`), and linking
them into the executable is what Debian and Fedora do for their own python3.

Why: a shared libpython is built with `-fPIC` and semantic interposition, so every call
from one exported CPython function to another goes through the PLT and every access to a
global (the type objects, `_PyRuntime`) through the GOT, and the loader relocates the whole
library at every start. In the executable the linker turns those into direct calls and
addresses. The code is the same object code, the same 3.12.1, the same stdlib, and
extensions resolve their C API against the executable (`-export-dynamic`), as they would
against libpython. Measured on pyenv's 3.12.1: start-up about 40% less CPU, and
interpreted code 1.5-2x faster (bench/README.md has the figures).

Where that cannot be done (a static CPython already, no compiler, no archive, a link or
a check that fails), the name is a symlink to the interpreter, as before. Either way
`sys.executable` is the alias and subprocesses started with it run under Ember too.

`python -m ember.interpreter` (re)makes the alias next to the running interpreter; the
`./ember` launcher runs that at setup, and `python -m ember` when the alias is missing.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import sysconfig

NAME = "ember-python"

#: What the linked interpreter must print the same as this one before it replaces the alias.
_CHECK = ("import sys, _struct, _json; "
          "print(sys.version, sys.hexversion, sys.base_prefix, sys.flags.no_site)")


def make(bindir: str | None = None) -> str:
    """Make `ember-python` in *bindir* (this interpreter's), replacing what is there.
    Returns a line saying which kind it is."""
    bindir = bindir or os.path.dirname(sys.executable)
    alias = os.path.join(bindir, NAME)
    problem = _link(alias)
    if problem is None:
        return f"{alias}: CPython {sys.version.split()[0]} statically linked"
    _symlink(os.path.basename(sys.executable), alias)
    return f"{alias}: a symlink to {os.path.basename(sys.executable)} ({problem})"


def _link(alias: str) -> str | None:
    """Link the static interpreter as *alias*; the reason when it was not done."""
    var = sysconfig.get_config_var
    if not var("Py_ENABLE_SHARED"):
        return "this CPython is linked statically already"
    libpl = var("LIBPL") or ""
    archive = os.path.join(libpl, var("LIBRARY") or "libpython3.12.a")
    main_o = os.path.join(libpl, "python.o")
    if not (os.path.isfile(archive) and os.path.isfile(main_o)):
        return f"no {archive} and python.o to link"
    # The Makefile's own rule for the python executable, with the archive for libpython.
    cc = shlex.split(os.environ.get("CC") or var("LINKCC") or var("CC") or "cc")
    flags = [f for name in ("PY_CORE_LDFLAGS", "LINKFORSHARED") for f in shlex.split(var(name) or "")]
    libs = [f for name in ("LIBS", "MODLIBS", "SYSLIBS") for f in shlex.split(var(name) or "")]
    staged = f"{alias}.{os.getpid()}.tmp"
    try:
        done = subprocess.run([*cc, *flags, "-o", staged, main_o, archive, *libs],
                              capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            return "the link failed: " + (done.stderr.strip().splitlines() or ["?"])[-1]
        # -S: the staged name starts with "ember", and Ember must not start in the check.
        ran = subprocess.run([staged, "-S", "-c", _CHECK], capture_output=True, text=True,
                             timeout=60)
        mine = subprocess.run([sys.executable, "-S", "-c", _CHECK], capture_output=True,
                              text=True, timeout=60)
        if ran.returncode != 0 or ran.stdout != mine.stdout:
            return "the linked interpreter did not start as this one does"
        os.replace(staged, alias)
        return None
    except (OSError, subprocess.SubprocessError) as exc:
        return f"the link failed: {exc}"
    finally:
        if os.path.lexists(staged):
            os.unlink(staged)


def _symlink(target: str, alias: str) -> None:
    staged = f"{alias}.{os.getpid()}.tmp"
    if os.path.lexists(staged):
        os.unlink(staged)
    os.symlink(target, staged)
    os.replace(staged, alias)


if __name__ == "__main__":
    print(make())
