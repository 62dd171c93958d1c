"""A small cursor for building IR: create blocks, then append ops to the current one.

    b = Builder(func)
    entry = b.new_block(offset=0, params=[types.Object])
    b.set_block(entry)
    one = b.emit(Const(value=1, offset=0))
    b.emit(Return(value=one, offset=2))
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeVar

from ember.ir import types as T
from ember.ir.core import Block, Edge, Function, Value
from ember.ir.ops.base import Op
from ember.ir.ops.control import Branch, Jump

OpT = TypeVar("OpT", bound=Op)


class BuildError(Exception):
    pass


class Builder:
    def __init__(self, func: Function) -> None:
        self.func = func
        self.block: Block | None = None

    def new_block(
        self, offset: int = -1, params: Iterable[T.Type] = (), label: str | None = None
    ) -> Block:
        block = self.func.new_block(offset, label)
        for t in params:
            block.add_param(t)
        return block

    def set_block(self, block: Block) -> None:
        self.block = block

    @property
    def terminated(self) -> bool:
        return self.block is not None and self.block.terminator is not None

    def emit(self, op: OpT) -> OpT:
        """Append `op` to the current block (as its terminator if it is one)."""
        block = self.block
        if block is None:
            raise BuildError("no current block")
        if block.terminator is not None:
            raise BuildError(f"{block.label} already ends in {block.terminator.opname}")
        if op.is_terminator:
            block.terminator = op
        else:
            block.ops.append(op)
        return op

    def jump(self, target: Block, args: Sequence[Value], offset: int) -> Jump:
        return self.emit(Jump(target=Edge(target, tuple(args)), offset=offset))

    def branch(
        self,
        cond: Value,
        if_true: Block,
        true_args: Sequence[Value],
        if_false: Block,
        false_args: Sequence[Value],
        offset: int,
    ) -> Branch:
        return self.emit(
            Branch(
                cond=cond,
                if_true=Edge(if_true, tuple(true_args)),
                if_false=Edge(if_false, tuple(false_args)),
                offset=offset,
            )
        )
