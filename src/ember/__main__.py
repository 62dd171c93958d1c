"""`ember` as a command (`pip install .` script) and `python3.12 -m ember`.

Both re-execute the interpreter through its `ember-python` alias, so the program runs in
the real CPython binary (its own command line, REPL, tracebacks and exit statuses) and the
JIT hook in `ember-jit.pth` switches on, in this process and in children started with
`sys.executable`. `./ember` at the repository root skips this step and execs the alias
directly, which keeps start-up within a few milliseconds of `python3.12`.
"""

import os
import subprocess
import sys

ALIAS = "ember-python"


def alias_path():
    """The alias next to this environment's interpreter, created if missing."""
    bindir = os.path.dirname(sys.executable)
    alias = os.path.join(bindir, ALIAS)
    if not os.path.lexists(alias):
        target = os.path.basename(sys.executable)
        try:
            os.symlink(target, alias)
        except FileExistsError:
            pass  # another process made it first
        except OSError as exc:
            sys.stderr.write(
                f"ember: cannot create the interpreter alias {alias}: {exc.strerror}\n"
                f"ember: create it by hand with: ln -s {target} {alias}\n"
            )
            raise SystemExit(2) from None
    return alias


def main():
    import ember  # noqa: F401  (stops with one line on a Python other than 3.12)

    alias = alias_path()
    # Interpreter flags given to *this* process (`python3.12 -O -m ember …`) carry over.
    flags = subprocess._args_from_interpreter_flags()
    os.execv(alias, [alias, *flags, *sys.argv[1:]])


if __name__ == "__main__":
    main()
