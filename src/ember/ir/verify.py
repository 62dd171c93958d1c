"""`verify(func)`: check every rule of docs/ir-contract.md, raise `VerifyError` if broken.

Checks, in order: structure (blocks, labels, terminators, each op placed once), then per
op the field types, operand types, result type, op-specific rules (`Op.check`), edges
against target params, and frame states (present iff `may_raise`, locals length, handler
block shape); finally SSA dominance over the CFG including exception edges. Messages name
values as the printer would (`%7`), so they can be read against `print_function(func)`.
"""

from __future__ import annotations

import enum
import re

from ember.ir import types as T
from ember.ir.core import Block, BlockParam, Edge, FrameState, Function, Value
from ember.ir.dominators import DominatorTree
from ember.ir.ops.base import Kind, Op
from ember.ir.printer import ValueNames

_MAX_ERRORS = 20
_LABEL = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


class VerifyError(Exception):
    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


def verify(func: Function) -> None:
    errors = _Verifier(func).run()
    if errors:
        raise VerifyError(errors)


class _Stop(Exception):
    pass


class _Verifier:
    def __init__(self, func: Function) -> None:
        self.func = func
        self.errors: list[str] = []
        self.names = ValueNames()
        # id(value) -> (block, position); params are at position -1.
        self.defs: dict[int, tuple[Block, int]] = {}
        self.block_ids = {id(b) for b in func.blocks}
        # Set when a field holds something of the wrong kind (not a Value, not a tuple, not
        # a FrameState); the dominance walk would trip over it.
        self.malformed = False

    def error(self, where: str, message: str) -> None:
        self.errors.append(f"{where}: {message}")
        if len(self.errors) >= _MAX_ERRORS:
            raise _Stop

    def run(self) -> list[str]:
        try:
            self.structure()
            if not self.errors:
                for block in self.func.blocks:
                    for i, op in enumerate(block.all_ops()):
                        self.op(block, i, op)
                # Dominance walks every use, which needs well-formed fields to be safe.
                if not self.malformed:
                    self.dominance()
        except _Stop:
            pass
        return self.errors

    def where(self, block: Block, op: Op) -> str:
        result = f"{self.names(op)} = " if op.type != T.Void and id(op) in self.defs else ""
        return f"{block.label}: {result}{op.opname} @{op.offset}"

    # -- structure -------------------------------------------------------------------

    def structure(self) -> None:
        func = self.func
        if not func.blocks:
            self.error(func.qualname or func.name, "function has no blocks")
            return
        labels: set[str] = set()
        seen_blocks: set[int] = set()
        for block in func.blocks:
            if id(block) in seen_blocks:
                self.error(block.label, "block appears twice in the function")
            seen_blocks.add(id(block))
            if block.label in labels:
                self.error(block.label, "duplicate block label")
            if not _LABEL.fullmatch(block.label):
                self.error(repr(block.label), "block label must match [A-Za-z_][A-Za-z0-9_.]*")
            labels.add(block.label)
            for p in block.params:
                self.define(block, -1, p)
                if not p.type <= T.Storable:
                    self.error(block.label, f"parameter {self.names(p)} has type {p.type}")
            for i, op in enumerate(block.ops):
                if not isinstance(op, Op):
                    self.error(block.label, f"item {i} is not an op: {op!r}")
                    continue
                if op.is_terminator:
                    self.error(block.label, f"terminator {op.opname} in the middle of the block")
                if op.type != T.Void:
                    self.define(block, i, op)
                else:
                    self.place(block, i, op)
            t = block.terminator
            if t is None:
                self.error(block.label, "block has no terminator")
            elif not isinstance(t, Op) or not t.is_terminator:
                self.error(block.label, f"{getattr(t, 'opname', t)!r} is not a terminator")
            else:
                self.place(block, len(block.ops), t)
        entry = func.blocks[0]
        for block in func.blocks:
            if block.terminator is not None and isinstance(block.terminator, Op):
                for e in block.terminator.edges():
                    if e.block is entry:
                        self.error(block.label, f"branches to the entry block {entry.label}")

    def define(self, block: Block, pos: int, v: Value) -> None:
        if id(v) in self.defs:
            other = self.defs[id(v)][0]
            self.error(block.label, f"value defined twice (also in {other.label})")
            return
        self.names.define(v)
        self.defs[id(v)] = (block, pos)

    def place(self, block: Block, pos: int, op: Op) -> None:
        # Void ops are never used, but must still be placed only once.
        key = ~id(op)
        if key in self.defs:
            self.error(block.label, f"{op.opname} @{op.offset} appears twice")
        self.defs[key] = (block, pos)

    # -- per op ------------------------------------------------------------------------

    def op(self, block: Block, pos: int, op: Op) -> None:
        where = self.where(block, op)
        cls = type(op)
        if cls.result == T.Void:
            if op.type != T.Void:
                self.error(where, f"{op.opname} has no result but its type is {op.type}")
        elif op.type == T.Void:
            self.error(where, f"{op.opname} must have a result (type within {cls.result})")
        elif not op.type <= cls.result:
            self.error(where, f"result type {op.type} is not within {cls.result}")
        if not isinstance(op.offset, int):
            self.error(where, f"offset {op.offset!r} is not an int")
        for f in op.op_fields:
            v = getattr(op, f.name)
            if f.kind is Kind.ATTR:
                self.attr(where, f.name, f.attr_type, v)
            elif f.kind is Kind.OPERAND or (f.kind is Kind.OPT_OPERAND and v is not None):
                self.operand(where, f.name, v, f.operand_type)
            elif f.kind is Kind.OPERANDS:
                if not isinstance(v, tuple):
                    self.malformed = True
                    self.error(where, f"{f.name} is a {type(v).__name__}, not a tuple")
                    continue
                for i, x in enumerate(v):
                    self.operand(where, f"{f.name}[{i}]", x, f.operand_type)
            elif f.kind is Kind.EDGE:
                self.edge(where, f.name, v)
        problem = op.check()
        if problem:
            self.error(where, problem)
        # An operand list named `locals` is the fast locals at that point (return,
        # pop_top): all of them, or none (not tracked: the slots stay as they are).
        locals_ = getattr(op, "locals", None)
        if type(locals_) is tuple and locals_ and len(locals_) != self.func.nlocalsplus:
            self.error(where, f"{op.opname} has {len(locals_)} locals, function has "
                              f"{self.func.nlocalsplus} fast locals")
        self.frame_state(where, op)

    def attr(self, where: str, name: str, attr_type: object, v: object) -> None:
        if isinstance(attr_type, type) and issubclass(attr_type, enum.Enum):
            ok = isinstance(v, attr_type)
        elif attr_type is tuple:
            ok = type(v) is tuple and all(type(s) is str for s in v)  # type: ignore[attr-defined]
        elif attr_type is int:
            ok = type(v) is int
        elif attr_type is object:
            ok = True
        else:
            ok = type(v) is attr_type
        if not ok:
            want = getattr(attr_type, "__name__", str(attr_type))
            self.error(where, f"attribute {name}={v!r} is not a {want}")

    def operand(self, where: str, name: str, v: object, want: T.Type) -> None:
        if not isinstance(v, Value):
            self.malformed = True
            self.error(where, f"operand {name} is not a value: {v!r}")
        elif v.type == T.Void:
            self.error(where, f"operand {name} uses an op without a result")
        elif id(v) not in self.defs:
            self.error(where, f"operand {name} is not defined in this function")
        elif not v.type <= want:
            self.error(where, f"operand {name} {self.names(v)} has type {v.type}, expected {want}")

    def edge(self, where: str, name: str, e: object) -> None:
        if not isinstance(e, Edge):
            self.malformed = True
            self.error(where, f"{name} is not an edge: {e!r}")
            return
        if not isinstance(e.args, tuple):
            self.malformed = True
            self.error(where, f"{name} arguments are a {type(e.args).__name__}, not a tuple")
            return
        target = e.block
        if id(target) not in self.block_ids:
            self.error(where, f"{name} targets {target.label}, which is not in the function")
            return
        if len(e.args) != len(target.params):
            self.error(
                where,
                f"{name} passes {len(e.args)} arguments to {target.label}, "
                f"which has {len(target.params)} parameters",
            )
            return
        for i, (a, p) in enumerate(zip(e.args, target.params)):
            self.operand(where, f"{name} argument {i}", a, p.type)

    def frame_state(self, where: str, op: Op) -> None:
        fs = op.frame_state
        if fs is None:
            if op.may_raise:
                self.error(where, f"{op.opname} may raise but has no frame state")
            return
        if not op.may_raise:
            self.error(where, f"{op.opname} cannot raise but has a frame state")
        if not isinstance(fs, FrameState) or not (
            isinstance(fs.locals, tuple) and isinstance(fs.stack, tuple)
        ):
            self.malformed = True
            self.error(where, f"frame_state is not a FrameState: {fs!r}")
            return
        n = self.func.nlocalsplus
        if len(fs.locals) != n:
            self.error(
                where, f"frame state has {len(fs.locals)} locals, function has {n} fast locals"
            )
        for what, values in (("local", fs.locals), ("stack", fs.stack)):
            for i, v in enumerate(values):
                self.operand(where, f"frame state {what} {i}", v, T.Storable)
        h = fs.handler
        if h is None:
            return
        hb = h.block
        if id(hb) not in self.block_ids:
            self.error(where, f"handler {hb.label} is not in the function")
            return
        if not 0 <= h.depth <= len(fs.stack):
            self.error(where, f"handler depth {h.depth} but the stack has {len(fs.stack)} values")
            return
        expect = len(fs.locals) + h.depth + int(h.lasti) + 1
        if len(hb.params) != expect:
            self.error(
                where,
                f"handler {hb.label} has {len(hb.params)} parameters, expected {expect} "
                f"(locals {len(fs.locals)} + stack depth {h.depth}"
                f"{' + lasti' if h.lasti else ''} + exc)",
            )
            return
        passed = fs.locals + fs.stack[: h.depth]
        for v, p in zip(passed, hb.params):
            if isinstance(v, Value) and not v.type <= p.type:
                self.error(
                    where,
                    f"handler {hb.label} parameter {self.names(p)} has type {p.type}, but the "
                    f"frame state passes {self.names(v)} of type {v.type}",
                )
        tail = hb.params[len(passed) :]
        if h.lasti and not T.Int <= tail[0].type:
            self.error(where, f"handler {hb.label} lasti parameter must accept int")
        if not T.Object <= tail[-1].type:
            self.error(where, f"handler {hb.label} exception parameter must accept object")

    # -- dominance -----------------------------------------------------------------------

    def dominance(self) -> None:
        dt = DominatorTree(self.func)
        for block in self.func.blocks:
            if not dt.reachable(block):
                continue
            for pos, op in enumerate(block.all_ops()):
                for v in op.uses():
                    self.dominated(dt, block, pos, op, v)

    def dominated(self, dt: DominatorTree, block: Block, pos: int, op: Op, v: Value) -> None:
        d = self.defs.get(id(v))
        if d is None:
            return  # reported as "not defined in this function"
        dblock, dpos = d
        if dblock is block:
            if dpos >= pos:
                self.error(self.where(block, op), f"uses {self.names(v)} before its definition")
        elif not dt.reachable(dblock) or not dt.dominates(dblock, block):
            kind = "parameter of" if isinstance(v, BlockParam) else "defined in"
            self.error(
                self.where(block, op),
                f"uses {self.names(v)}, {kind} {dblock.label}, which does not dominate "
                f"{block.label}",
            )
