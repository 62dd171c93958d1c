"""Start of every Ember process: read Ember's switches, then hand over to the runtime.

Imported through `ember-jit.pth` while `site` runs (in an interpreter started as
`ember-python`), before the program's own code. Nothing here may print or fail in a way the
program could see, except a bad Ember option, which ends the process the way CPython ends
it for a bad option of its own.

The fast path: when no Ember switch is set at all (no `-X jit…` option, no `EMBER_*`
variable), the settings are the defaults, and at the defaults the runtime has nothing to do
while tier 1 is off: nothing is counted, no stats or log are written. So this module then
imports nothing (not `ember.options`, not the runtime), and start-up costs what finding
this package costs, a fraction of a millisecond; `OPTIONS` is made when first read.
`tests/cli/test_startup.py` checks that the defaults still do nothing (the day tier 1 is
on by default, `_DEFAULTS_START_RUNTIME` becomes True and that test says so).
"""

import sys

#: Whether the default settings (no switch set) need `runtime.start`. False while tier 1
#: is off unless `EMBER_TIER1=1` (an `EMBER_*` variable, so never the fast path).
_DEFAULTS_START_RUNTIME = False


def _switch_given() -> bool:
    """Whether any `-X jit…` option or `EMBER_*` variable is set. Variables count even
    under -E/-I (where `options.parse` ignores most of them): the slow path is always right."""
    for name in sys._xoptions:
        if name == "jit" or name.startswith("jit-"):
            return True
    import os  # loaded already by site

    for name in os.environ:
        if name.startswith("EMBER_"):
            return True
    return False


def _start() -> None:
    global OPTIONS
    import os

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


def __getattr__(name):
    # `OPTIONS` on the fast path: the defaults, made at first use (pipeline.dump_kinds, tests).
    if name == "OPTIONS":
        global OPTIONS
        from ember.options import Options

        OPTIONS = Options()
        return OPTIONS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if _DEFAULTS_START_RUNTIME or _switch_given():
    _start()
