"""`-X perf`: name compiled code for Linux perf, the way CPython 3.12's trampoline does.

With `-X perf` (or PYTHONPERFSUPPORT=1) CPython writes `/tmp/perf-<pid>.map`, one line
per trampoline: `<start hex> <size hex> py::<qualname>:<filename>`. When that is on, each
function Ember compiles (or loads from the code cache) adds the same kind of line for its
body and its entry, so `perf report` shows Python names for machine code of Ember's too.
Sizes come from the object code's symbol table.
"""

from __future__ import annotations

import os
import sys


def active() -> bool:
    try:
        return bool(sys.is_stack_trampoline_active())
    except AttributeError:  # not a perf-capable build
        return False


def record(object_code: bytes | None, addresses: dict[str, int], code) -> None:
    """Append map lines for the functions `addresses` ({symbol: address}) of `code`."""
    if not object_code or not active():
        return
    from ember.backend.loader import elf_symbols

    try:
        sizes = {name: size for name, defined, size in elf_symbols(object_code) if defined}
        name = f"py::{code.co_qualname}:{code.co_filename}"
        lines = "".join(f"{address:x} {sizes[symbol]:x} {name}\n"
                        for symbol, address in addresses.items()
                        if address and sizes.get(symbol))
        with open(f"/tmp/perf-{os.getpid()}.map", "a", encoding="utf-8") as f:
            f.write(lines)
    except (OSError, ValueError, KeyError):
        pass  # a profiler aid: never an error of the program's
