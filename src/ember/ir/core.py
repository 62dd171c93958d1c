"""The IR's containers: values, blocks, frame states and functions.

SSA with block arguments: a `BlockParam` is defined at its block's entry, an `Op` with a
non-void type defines itself. Control transfer passes explicit arguments through `Edge`s.
Ops live in `ember.ir.ops`; this module knows only the `Op` protocol (see `ops/base.py`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ember.ir import types as T

if TYPE_CHECKING:
    from ember.ir.ops.base import Op


class Value:
    """Anything usable as an operand. Subclasses carry a `type` slot."""

    __slots__ = ()
    type: T.Type


@dataclass(slots=True, eq=False)
class BlockParam(Value):
    type: T.Type

    def __repr__(self) -> str:
        return f"<BlockParam {self.type} at {id(self):#x}>"


@dataclass(slots=True, eq=False)
class Edge:
    """A control-flow edge from a terminator to `block`, passing `args` to its params."""

    block: Block
    args: tuple[Value, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.args, tuple):
            self.args = tuple(self.args)

    def replace(self, old: Value, new: Value) -> int:
        if not any(a is old for a in self.args):
            return 0
        self.args = tuple(new if a is old else a for a in self.args)
        return 1


@dataclass(slots=True, eq=False)
class ExcHandler:
    """Where an exception goes: the handler `block`, the stack `depth` to keep, and
    whether the offset of the raising instruction (`lasti`) is pushed as well."""

    block: Block
    depth: int
    lasti: bool = False


@dataclass(slots=True, eq=False)
class FrameState:
    """The interpreter-visible state just before the instruction at `offset` runs.

    `locals` has one value per fast-locals slot (`Function.localsplusnames`), NULL-typed
    where unbound; `stack` is the value stack, bottom first.
    """

    offset: int
    locals: tuple[Value, ...]
    stack: tuple[Value, ...] = ()
    handler: ExcHandler | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.locals, tuple):
            self.locals = tuple(self.locals)
        if not isinstance(self.stack, tuple):
            self.stack = tuple(self.stack)

    def values(self) -> tuple[Value, ...]:
        return self.locals + self.stack

    def replace(self, old: Value, new: Value) -> int:
        n = 0
        if any(v is old for v in self.locals):
            self.locals = tuple(new if v is old else v for v in self.locals)
            n += 1
        if any(v is old for v in self.stack):
            self.stack = tuple(new if v is old else v for v in self.stack)
            n += 1
        return n

    def handler_args(self, lasti_value: Value | None, exc: Value) -> tuple[Value, ...]:
        """The arguments the handler block receives (contract: locals+stack[:depth]+...)."""
        assert self.handler is not None
        extra = (lasti_value,) if self.handler.lasti and lasti_value is not None else ()
        return self.locals + self.stack[: self.handler.depth] + extra + (exc,)


@dataclass(slots=True, eq=False)
class Block:
    label: str
    offset: int = -1
    params: list[BlockParam] = field(default_factory=list)
    ops: list[Op] = field(default_factory=list)
    terminator: Op | None = None

    def add_param(self, type: T.Type) -> BlockParam:
        p = BlockParam(type)
        self.params.append(p)
        return p

    def successors(self) -> tuple[Block, ...]:
        if self.terminator is None:
            return ()
        return tuple(e.block for e in self.terminator.edges())

    def all_ops(self) -> Iterator[Op]:
        yield from self.ops
        if self.terminator is not None:
            yield self.terminator

    def __repr__(self) -> str:
        return f"<Block {self.label}>"


@dataclass(slots=True, eq=False)
class Function:
    """One code object in SSA form. `blocks[0]` is the entry; its params are the fast
    locals on entry (arguments bound, everything else NULL)."""

    name: str
    qualname: str = ""
    filename: str = ""
    firstlineno: int = 0
    argcount: int = 0
    posonlyargcount: int = 0
    kwonlyargcount: int = 0
    flags: int = 0
    varnames: tuple[str, ...] = ()
    cellvars: tuple[str, ...] = ()
    freevars: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    consts: tuple[object, ...] = ()
    blocks: list[Block] = field(default_factory=list)

    @property
    def entry(self) -> Block:
        return self.blocks[0]

    @property
    def localsplusnames(self) -> tuple[str, ...]:
        """CPython's fast-locals layout: an argument that is also a cell has one slot."""
        seen = set(self.varnames)
        return (
            self.varnames
            + tuple(c for c in self.cellvars if c not in seen)
            + self.freevars
        )

    @property
    def nlocalsplus(self) -> int:
        return len(self.localsplusnames)

    def new_block(self, offset: int = -1, label: str | None = None) -> Block:
        if label is None:
            taken = {b.label for b in self.blocks}
            n = len(self.blocks)
            while f"bb{n}" in taken:
                n += 1
            label = f"bb{n}"
        b = Block(label, offset)
        self.blocks.append(b)
        return b

    def block(self, label: str) -> Block:
        for b in self.blocks:
            if b.label == label:
                return b
        raise KeyError(label)

    def all_ops(self) -> Iterator[Op]:
        for b in self.blocks:
            yield from b.all_ops()

    def replace_all_uses(self, old: Value, new: Value) -> int:
        """Make every use of `old` (operands, edge arguments, frame states) use `new`.
        Returns the number of ops changed. `old` itself stays where it is."""
        changed = 0
        for op in self.all_ops():
            if op.replace_uses(old, new):
                changed += 1
        return changed

    def __repr__(self) -> str:
        return f"<Function {self.qualname or self.name}: {len(self.blocks)} blocks>"

    def __str__(self) -> str:
        from ember.ir.printer import print_function  # the printer depends on this module

        return print_function(self)
