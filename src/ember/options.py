"""Ember's own switches: `-X jit…` options and their `EMBER_*` environment variables.

Parsing happens once, at interpreter start, in `ember._boot`. A bad value is reported as
one line and exit status 2, the way CPython treats a bad value of its own options. `-X`
wins over the environment; `-E` and `-I` make Ember ignore `EMBER_*` as CPython ignores
`PYTHON*`.

This module must stay cheap to import: it runs in every Ember process before the program.
"""

import os
import sys

from ember.defaults import DEFAULT_THRESHOLD, DUMP_KINDS


class OptionError(Exception):
    """A bad value for one of Ember's switches; the message is the whole line to print."""


class Options:
    """Ember's settings for this process. Immutable once made.

    A plain class rather than a dataclass: `dataclasses` imports `inspect`, `re` and `ast`,
    which would put tens of milliseconds on every start-up.
    """

    __slots__ = ("jit", "threshold", "stats", "log", "dump", "cache", "warmup", "background")

    def __init__(
        self,
        jit: bool = True,
        threshold: int = DEFAULT_THRESHOLD,
        stats: str | None = None,  # None: off; "-": a table on stderr at exit; else a JSON path
        log: str | None = None,  # None: off; "-": stderr; else a file path
        dump: frozenset[str] = frozenset(),
        cache: str | None = None,  # None: the default directory; "off"; else a directory
        warmup: int | None = None,  # ms; None: WARMUP_MS at the default threshold, else 0
        background: bool | str | None = None,  # True, "thread", False; None: at the default threshold
    ) -> None:
        values = (jit, threshold, stats, log, dump, cache, warmup, background)
        for name, value in zip(self.__slots__, values):
            object.__setattr__(self, name, value)

    def __setattr__(self, name, value):
        raise AttributeError("Options are immutable")

    def _values(self) -> tuple:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other):
        return type(other) is Options and self._values() == other._values()

    def __hash__(self):
        return hash(self._values())

    def __repr__(self):
        fields = ", ".join(f"{n}={v!r}" for n, v in zip(self.__slots__, self._values()))
        return f"Options({fields})"


# name of the -X option -> (environment variable, parser for the value)
def _parse_onoff(value: str | bool, where: str) -> bool:
    if value is True:
        return True
    v = str(value).lower()
    if v in ("on", "1", "true", "yes"):
        return True
    if v in ("off", "0", "false", "no"):
        return False
    raise OptionError(f"{where}: expected 'on' or 'off', got {value!r}")


def _parse_background(value: str | bool, where: str) -> bool | str:
    # on: in a compile server process where it can start (runtime/compileserver.py), else
    # on a thread; thread: always on a thread (the GIL is shared with the program).
    if str(value).lower() == "thread":
        return "thread"
    try:
        return _parse_onoff(value, where)
    except OptionError:
        raise OptionError(f"{where}: expected 'on', 'off' or 'thread', got {value!r}") from None


def _parse_threshold(value: str | bool, where: str) -> int:
    text = "" if value is True else str(value)
    if not text.isdigit() or not text.isascii():
        raise OptionError(f"{where}: expected a non-negative integer, got {text!r}")
    return int(text)


def _parse_sink(value: str | bool, where: str) -> str:
    # `-X jit-stats` alone means stderr; so does EMBER_JIT_STATS=1.
    if value is True or value in ("", "1", "-"):
        return "-"
    return str(value)


def _parse_dump(value: str | bool, where: str) -> frozenset[str]:
    if value is True or not str(value).strip():
        raise OptionError(f"{where}: expected a comma-separated list of {','.join(DUMP_KINDS)}")
    kinds = [k.strip() for k in str(value).split(",")]
    bad = [k for k in kinds if k not in DUMP_KINDS]
    if bad:
        raise OptionError(
            f"{where}: unknown dump kind {bad[0]!r} (expected some of {','.join(DUMP_KINDS)})"
        )
    return frozenset(kinds)


def _parse_cache(value: str | bool, where: str) -> str | None:
    if value is True or not str(value):
        raise OptionError(f"{where}: expected 'on', 'off' or a directory path")
    # "on" is the default directory, as `jit=on` is the default, not a directory named
    # "on" in the current one ("./on" is that).
    return None if value == "on" else str(value)


_SWITCHES = {
    "jit": ("EMBER_JIT", "jit", _parse_onoff),
    "jit-threshold": ("EMBER_JIT_THRESHOLD", "threshold", _parse_threshold),
    "jit-stats": ("EMBER_JIT_STATS", "stats", _parse_sink),
    "jit-log": ("EMBER_JIT_LOG", "log", _parse_sink),
    "jit-dump": ("EMBER_JIT_DUMP", "dump", _parse_dump),
    "jit-cache": ("EMBER_JIT_CACHE", "cache", _parse_cache),
    "jit-warmup": ("EMBER_JIT_WARMUP", "warmup", _parse_threshold),
    "jit-background": ("EMBER_JIT_BACKGROUND", "background", _parse_background),
}


def parse(
    xoptions: dict[str, str | bool] | None = None,
    environ: dict[str, str] | None = None,
    ignore_environment: bool | None = None,
) -> Options:
    """Read Ember's switches from `-X` options and the environment; raise OptionError."""
    if xoptions is None:
        xoptions = sys._xoptions
    if environ is None:
        environ = os.environ
    if ignore_environment is None:
        ignore_environment = bool(sys.flags.ignore_environment)

    for name in xoptions:
        if (name == "jit" or name.startswith("jit-")) and name not in _SWITCHES:
            known = ", ".join(f"-X {k}" for k in _SWITCHES)
            raise OptionError(f"-X {name}: unknown Ember option (known: {known})")

    values: dict[str, object] = {}
    for xname, (envname, field, parse_value) in _SWITCHES.items():
        if xname in xoptions:
            values[field] = parse_value(xoptions[xname], f"-X {xname}")
        elif not ignore_environment and environ.get(envname):
            values[field] = parse_value(environ[envname], envname)
    return Options(**values)
