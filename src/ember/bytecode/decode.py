"""Decoding 3.12 `co_code` into instructions.

`dis.get_instructions` does the same but also builds positions and display strings for
every instruction, which costs more than the rest of the frontend on small functions. This
decoder reads the base (non-adaptive) opcodes straight from `co_code`: it folds
`EXTENDED_ARG` prefixes into the following instruction (which keeps the offset of its own
opcode, as in `dis`), skips inline `CACHE` entries, and resolves jump targets to byte
offsets. `tests/frontend/test_bytecode.py` checks it against `dis` over real code.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import CodeType

from .errors import Refused
from .opcodes import BACKWARD_JUMPS, CACHE_ENTRIES, OPMAP, OPNAME, REFUSED_OPS, RELATIVE_JUMPS

_EXTENDED_ARG = OPMAP["EXTENDED_ARG"]
_CACHE = OPMAP["CACHE"]


@dataclass(slots=True)
class Instr:
    offset: int  # byte offset of the opcode (after any EXTENDED_ARG prefix)
    start: int  # byte offset of its first EXTENDED_ARG prefix, else `offset`
    op: int
    arg: int  # full oparg, EXTENDED_ARG included; 0 when the opcode takes none
    target: int  # jump target as a byte offset, -1 for non-jumps
    next_offset: int  # byte offset of the next instruction (caches skipped)

    @property
    def opname(self) -> str:
        return OPNAME[self.op]

    def __repr__(self) -> str:
        tgt = f" ->{self.target}" if self.target >= 0 else ""
        return f"<{self.offset} {self.opname} {self.arg}{tgt}>"


def decode(code: CodeType) -> list[Instr]:
    """The instructions of `code`, in offset order, without caches and EXTENDED_ARG."""
    raw = code.co_code
    n = len(raw)
    out: list[Instr] = []
    ext = 0
    start = -1
    i = 0
    while i < n:
        op = raw[i]
        arg = raw[i + 1] | ext
        if op == _EXTENDED_ARG:
            ext = arg << 8
            if start < 0:
                start = i
            i += 2
            continue
        ext = 0
        if op == _CACHE:
            # Only reachable in malformed code: caches are skipped below.
            raise Refused("stray_cache", f"CACHE at offset {i}")
        if op in REFUSED_OPS:
            raise Refused("unsupported_opcode", OPNAME[op])
        nxt = i + 2 + 2 * CACHE_ENTRIES[op]
        if op in RELATIVE_JUMPS:
            target = nxt - 2 * arg if op in BACKWARD_JUMPS else nxt + 2 * arg
        else:
            target = -1
        out.append(Instr(i, i if start < 0 else start, op, arg, target, nxt))
        start = -1
        i = nxt
    return out
