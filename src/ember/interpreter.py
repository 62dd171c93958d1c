"""The interpreters programs run in under Ember, made once at setup.

Where CPython was built with `--enable-shared` (pyenv's default, and python.org's on
Linux), Ember runs programs in the *same* CPython linked statically: the installation
ships the objects it built libpython from (`LIBPL/libpython3.12.a`, `LIBPL/python.o`),
and linking them into the executable is what Debian and Fedora do for their own python3.

Why: a shared libpython is built with `-fPIC` and semantic interposition, so every call
from one exported CPython function to another goes through the PLT, every access to a
global (the type objects, `_PyRuntime`) through the GOT, every thread-local (the thread
state) through `__tls_get_addr`, and the loader relocates the whole library at every
start. In the executable the linker turns those into direct calls and addresses. The
code is the same object code, the same 3.12.1, the same stdlib, and extensions resolve
their C API against the executable (`-export-dynamic`), as they would against libpython.
Measured on pyenv's 3.12.1: 8% fewer instructions and 25% less time on an interpreted
loop; the acceptance programs with the JIT off take 0.80-0.94 of python3.12's time.

Two interpreters are made this way (`link`):

- `.venv/ember/bin/ember-python` (`STANDALONE`, linked by `hatch_build.py --interpreter`
  with `src/ember/_main.c` as its main()): the one `./ember` runs. Ember's start is in its
  main(), and it sits outside the venv, so a program sees python3.12's own prefix and paths.
- `ember-python` next to an environment's python (`make`, `python -m ember.interpreter`),
  with CPython's own main: that environment's python, under a name that `ember-jit.pth`
  starts Ember in. The launcher's fallback, and what `python -m ember` runs for a wheel
  install.

Where linking cannot be done (a static CPython already, no compiler, no archive, a link
or a check that fails), the first is not made and the second is a symlink to the
interpreter. Either way `sys.executable` is Ember's interpreter, and subprocesses started
with it run under Ember too.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import sysconfig

NAME = "ember-python"
#: Where the launcher's own interpreter goes, under the venv (hatch_build.py --interpreter,
#: src/ember/_main.c): two levels below it, so getpath finds no pyvenv.cfg beside it.
STANDALONE = ("ember", "bin", NAME)

#: What a linked interpreter must print the same as its reference before it is used.
_CHECK = ("import sys, _struct, _json; "
          "print(sys.version, sys.hexversion, sys.prefix, sys.exec_prefix, sys.base_prefix, "
          "sys.path[1:], sys.flags.no_site)")


def launched(venv: str) -> str:
    """The interpreter `./ember` runs for the venv *venv*: its standalone one if it was
    linked, else its bin/ember-python."""
    standalone = os.path.join(venv, *STANDALONE)
    return standalone if os.access(standalone, os.X_OK) else os.path.join(venv, "bin", NAME)


def make(bindir: str | None = None) -> str:
    """Make `ember-python` in *bindir* (this interpreter's), replacing what is there.
    Returns a line saying which kind it is."""
    bindir = bindir or os.path.dirname(sys.executable)
    alias = os.path.join(bindir, NAME)
    main_o = os.path.join(sysconfig.get_config_var("LIBPL") or "", "python.o")
    problem = link(alias, [main_o], sys.executable)
    if problem is None:
        return f"{alias}: CPython {sys.version.split()[0]} statically linked"
    _symlink(os.path.basename(sys.executable), alias)
    return f"{alias}: a symlink to {os.path.basename(sys.executable)} ({problem})"


def link(dest: str, objects: list[str], reference: str) -> str | None:
    """Link this CPython statically, with *objects* for main(), as *dest*, once it starts
    as *reference* does; the reason when it was not done (*dest* is then untouched)."""
    var = sysconfig.get_config_var
    if not var("Py_ENABLE_SHARED"):
        return "this CPython is linked statically already"
    archive = os.path.join(var("LIBPL") or "", var("LIBRARY") or "libpython3.12.a")
    missing = [f for f in (archive, *objects) if not os.path.isfile(f)]
    if missing:
        return f"no {missing[0]} to link"
    # The Makefile's own rule for the python executable, with the archive for libpython.
    cc = shlex.split(os.environ.get("CC") or var("LINKCC") or var("CC") or "cc")
    flags = [f for name in ("PY_CORE_LDFLAGS", "LINKFORSHARED") for f in shlex.split(var(name) or "")]
    libs = [f for name in ("LIBS", "MODLIBS", "SYSLIBS") for f in shlex.split(var(name) or "")]
    # A name that does not start with "ember": the check runs it as plain CPython.
    folder, name = os.path.split(dest)
    staged = os.path.join(folder, f".{name}.{os.getpid()}.tmp")
    try:
        os.makedirs(folder, exist_ok=True)
        # The whole archive, as a shared libpython exports the whole C API: an extension
        # module (or ctypes.pythonapi) may use any of it, not only what main() reaches
        # (Py_FrozenMain was missing: test_capi's test_export_symbols).
        done = subprocess.run([*cc, *flags, "-o", staged, *objects, "-Wl,--whole-archive",
                               archive, "-Wl,--no-whole-archive", *libs],
                              capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            return "the link failed: " + (done.stderr.strip().splitlines() or ["?"])[-1]
        ran, ref = (subprocess.run([exe, "-S", "-c", _CHECK], capture_output=True, text=True,
                                   timeout=60) for exe in (staged, reference))
        if ran.returncode != 0 or ran.stdout != ref.stdout:
            return "the linked interpreter did not start as this one does"
        os.replace(staged, dest)
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
