"""`python3.12 -m ember` (the `ember` command itself is scripts/ember, a sh script that
execs the alias, or runs this when it cannot).

This re-executes the interpreter through its `ember-python` alias, so the program runs in
the real CPython binary (its own command line, REPL, tracebacks and exit statuses) and the
JIT hook in `ember-jit.pth` switches on, in this process and in children started with
`sys.executable`. `./ember` at the repository root skips this step and execs the alias
directly, which keeps start-up within a few milliseconds of `python3.12`.
"""

import os
import sys


def alias_path():
    """The alias next to this environment's interpreter, made if missing (linked, or a
    symlink: ember/interpreter.py)."""
    from ember import interpreter

    alias = os.path.join(os.path.dirname(sys.executable), interpreter.NAME)
    if not os.path.lexists(alias):
        try:
            interpreter.make()
        except OSError as exc:
            if not os.path.lexists(alias):  # another process may have made it first
                target = os.path.basename(sys.executable)
                sys.stderr.write(
                    f"ember: cannot create the interpreter alias {alias}: {exc.strerror}\n"
                    f"ember: create it by hand with: ln -s {target} {alias}\n"
                )
                raise SystemExit(2) from None
    return alias


def main():
    import ember  # noqa: F401  (stops with one line on a Python other than 3.12)

    alias = alias_path()
    os.execv(alias, [alias, *_interpreter_flags(), *sys.argv[1:]])


def _interpreter_flags() -> list[str]:
    """The interpreter flags given to *this* process (`python3.12 -O -m ember …`), to carry
    over. `subprocess` knows how to rebuild them, but importing it costs ~10 ms, which
    the `ember` command would pay at every start: only when some flag is set."""
    f = sys.flags
    if not (sys.warnoptions or sys._xoptions or f.debug or f.inspect or f.optimize
            or f.dont_write_bytecode or f.no_user_site or f.no_site or f.ignore_environment
            or f.verbose or f.bytes_warning or f.quiet or f.isolated or f.dev_mode
            or f.safe_path):
        return []
    import subprocess

    return subprocess._args_from_interpreter_flags()


if __name__ == "__main__":
    main()
