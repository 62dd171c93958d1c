"""`co_exceptiontable` of CPython 3.12, decoded.

The table is a sequence of varint-encoded entries (see Objects/exception_handling_notes.txt
in CPython): `start`, `length`, `target` in code units, then `depth << 1 | lasti`. When an
instruction in `[start, end)` raises, the interpreter pops the value stack down to `depth`,
pushes the offset of the raising instruction (in code units, as an int) if `lasti`, pushes
the exception, and jumps to `target`. The first matching entry wins; entries do not overlap.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import CodeType


@dataclass(frozen=True, slots=True)
class ExcEntry:
    start: int  # byte offset, inclusive
    end: int  # byte offset, exclusive
    target: int  # byte offset of the handler
    depth: int  # stack depth kept below the pushed values
    lasti: bool  # whether the raising instruction's offset is pushed

    @property
    def handler_depth(self) -> int:
        """Stack depth at the handler's first instruction."""
        return self.depth + self.lasti + 1


def _varints(data: bytes):
    # Each entry starts with a byte whose bit 7 is set; bit 6 continues a varint.
    i, n = 0, len(data)
    while i < n:
        b = data[i]
        i += 1
        val = b & 63
        while b & 64:
            b = data[i]
            i += 1
            val = (val << 6) | (b & 63)
        yield val


def parse_exception_table(code: CodeType) -> list[ExcEntry]:
    """The entries of `code.co_exceptiontable`, in table order (sorted by start)."""
    data = code.co_exceptiontable
    if not data:
        return []
    it = _varints(data)
    entries = []
    for start in it:
        length = next(it)
        target = next(it)
        dl = next(it)
        entries.append(ExcEntry(start * 2, (start + length) * 2, target * 2, dl >> 1, bool(dl & 1)))
    return entries
