"""Ember: a JIT compiler for CPython 3.12.

`ember app.py` runs a program as `python3.12 app.py` would, compiling its hot code. As a
library, `ember.install()` turns the JIT on inside any CPython 3.12 process.

This file is read by whatever Python imports it, so it keeps to syntax every Python 3 can
parse: on the wrong interpreter the user gets one clear line and exit status 2.
"""

import sys

__version__ = "0.1.0"

if sys.implementation.name != "cpython" or sys.version_info[:2] != (3, 12):
    sys.stderr.write(
        "ember: needs CPython 3.12, found {} {}.{}.{} ({})\n".format(
            sys.implementation.name,
            *sys.version_info[:3],
            sys.executable or "unknown interpreter",
        )
    )
    raise SystemExit(2)


def __getattr__(name):
    # The library interface is loaded on first use, so `import ember` stays cheap.
    if name == "stats":
        from ember.runtime import stats

        return stats
    raise AttributeError(f"module 'ember' has no attribute {name!r}")
