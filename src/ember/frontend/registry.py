"""The opcode -> handler table. Each opcode family module registers its handlers here.

A handler is `fn(b: BlockBuilder, ins: Instr) -> None`: it pops its inputs from `b.stack`,
emits ops through `b.emit`, pushes results, and for control flow sets the block's
terminator. Importing `ember.frontend` imports every family module, which fills the table.
"""

from __future__ import annotations

from collections.abc import Callable

from ember.bytecode.opcodes import OPMAP

HANDLERS: dict[int, Callable] = {}


def handles(*opnames: str):
    def deco(fn):
        for name in opnames:
            op = OPMAP[name]
            if op in HANDLERS:
                raise RuntimeError(f"two handlers for {name}")
            HANDLERS[op] = fn
        return fn

    return deco
