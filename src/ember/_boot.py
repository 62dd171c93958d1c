"""Start of every Ember process: read Ember's switches, then hand over to the runtime.

Imported by the `_ember_hook` module (through `ember-jit.pth`) while `site` runs, before the
program's own code. Nothing here may print or fail in a way the program could see, except a
bad Ember option, which ends the process the way CPython ends it for a bad option of its own.
"""

import os
import sys

from ember import options

try:
    OPTIONS = options.parse()
except options.OptionError as exc:
    sys.stderr.write(f"ember: {exc}\n")
    sys.stderr.flush()
    os._exit(2)

if OPTIONS.jit:
    try:
        from ember import runtime

        runtime.start(OPTIONS)
    except Exception as exc:  # noqa: BLE001 - a broken JIT must leave a working CPython
        if OPTIONS.log is not None:
            sys.stderr.write(f"ember: the JIT is off: {type(exc).__name__}: {exc}\n")
