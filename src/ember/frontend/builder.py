"""Stack to SSA: one IR block per bytecode block, built by abstract interpretation.

Invariants (what every handler may rely on, and what the result guarantees):

- Every bytecode block becomes one IR block labelled `bb<i>` (i = its index in the CFG)
  whose params are the fast locals (CPython's order) followed by the value stack at entry,
  bottom first. A handler block's stack is `stack[:depth] + [lasti] + [exc]`, which is
  exactly the contract's handler shape. The entry block's params are the fast locals on
  entry: arguments `object`, everything else `null`.
- Param types come from `bytecode.nullness` (`null`, `object` or `nullable`); values
  created inside a block carry the op's own type. Since blocks only exchange values through
  params, blocks can be built in any order.
- Every op with `may_raise` gets a `FrameState` taken *before* its instruction ran: the
  instruction's own offset, the locals and the whole stack (inputs included), and the
  block's exception handler. Re-executing the instruction from that state is exact, which is
  what deoptimisation needs; unwinding keeps only `stack[:depth]`.
- A block that needs a second IR block (FOR_ITER's refinement of its item) gets an extra
  block labelled after all bytecode blocks.

Before/after, `for x in xs: pass` (abridged):

    FOR_ITER  ->  %n: nullable = for_iter %it  fs(...)
                  %c: cbool = is_null %n
                  branch %c, bb5(<locals>), bb7()
    bb7():        %v: object = assume_not_null %n
                  jump bb3(<locals>, %it, %v)
"""

from __future__ import annotations

from types import CodeType

from ember.bytecode import BBlock, Instr, Refused, build_cfg
from ember.bytecode import nullness as N
from ember.ir import types as T
from ember.ir.core import Block, BlockParam, Edge, ExcHandler, FrameState, Function, Value
from ember.ir.ops import Const, Jump, Null

from .registry import HANDLERS

KIND_TYPE = {N.NULL: T.Null, N.OBJ: T.Object, N.MAYBE: T.ObjectOrNull}


class FunctionBuilder:
    def __init__(self, code: CodeType) -> None:
        self.code = code
        cfg = self.cfg = build_cfg(code)
        if cfg.blocks[0].preds:
            raise Refused("entry_is_jump_target")
        kinds = N.analyze(cfg)
        self.nlocals = cfg.nlocalsplus
        self.func = Function(
            name=code.co_name,
            qualname=code.co_qualname,
            filename=code.co_filename,
            firstlineno=code.co_firstlineno,
            argcount=code.co_argcount,
            posonlyargcount=code.co_posonlyargcount,
            kwonlyargcount=code.co_kwonlyargcount,
            flags=code.co_flags,
            varnames=code.co_varnames,
            cellvars=code.co_cellvars,
            freevars=code.co_freevars,
            names=code.co_names,
            consts=code.co_consts,
        )
        blocks = self.func.blocks
        self.blocks: dict[BBlock, Block] = {}
        for bb in cfg.blocks:
            blk = Block(f"bb{bb.index}", bb.start)
            loc, st = kinds[bb]
            blk.params.extend(_params(loc))
            blk.params.extend(_params(st))
            blocks.append(blk)
            self.blocks[bb] = blk

    def new_block(self, offset: int, types: list[T.Type]) -> Block:
        """An IR-only block (not from bytecode), labelled after every bytecode block."""
        blk = Block(f"bb{len(self.func.blocks)}", offset)
        blk.params.extend(BlockParam(t) for t in types)
        self.func.blocks.append(blk)
        return blk

    def build(self) -> Function:
        for bb, blk in list(self.blocks.items()):
            BlockBuilder(self, bb, blk).run()
        return self.func


def _params(kinds: list[int]) -> list[BlockParam]:
    return [BlockParam(KIND_TYPE[k]) for k in kinds]


class BlockBuilder:
    """The abstract interpreter state while one bytecode block is turned into IR."""

    __slots__ = (
        "fb",
        "bb",
        "block",
        "locals",
        "stack",
        "handler",
        "ins",
        "kwnames",
        "_fs_locals",
        "_fs_stack",
        "_pre_len",
        "_popped",
        "_dirty",
        "unsynced",
    )

    def __init__(self, fb: FunctionBuilder, bb: BBlock, block: Block) -> None:
        self.fb = fb
        self.bb = bb
        self.block = block
        n = fb.nlocals
        self.locals: list[Value] = list(block.params[:n])
        self.stack: list[Value] = list(block.params[n:])
        h = bb.handler
        self.handler = (
            None if h is None else ExcHandler(fb.blocks[bb.handler_block], h.depth, h.lasti)
        )
        self.ins: Instr | None = None
        self.kwnames: tuple[str, ...] = ()  # set by KW_NAMES for the next CALL
        self._fs_locals: tuple[Value, ...] | None = None
        # The stack before the current instruction, built only if one of its ops needs a
        # frame state: copying it for every instruction is quadratic in a module that
        # pushes thousands of constants. Until then, popped values are logged.
        self._fs_stack: tuple[Value, ...] | None = None
        self._pre_len = 0
        self._popped: list[Value] = []
        self._dirty = False
        # A local was stored since the last op with a frame state (where compiled code
        # writes the frame's slots): a POP_TOP must then say so (`PopTop`).
        self.unsynced = False

    def run(self) -> None:
        for ins in self.bb.instrs:
            self.ins = ins
            self._fs_stack = None
            self._pre_len = len(self.stack)
            self._popped.clear()
            if self._dirty:
                self._fs_locals = None
                self._dirty = False
            handler = HANDLERS.get(ins.op)
            if handler is None:
                raise Refused("unsupported_opcode", ins.opname)
            handler(self, ins)
        if self.block.terminator is None:
            nxt = self.bb.fallthrough
            if nxt is None:
                raise Refused("falls_off_end", f"block at {self.bb.start}")
            self.terminate(Jump(target=self.edge(nxt), offset=self.bb.last.offset))

    # -- the value stack and locals ------------------------------------------------------

    def push(self, v: Value) -> None:
        self.stack.append(v)

    def pop(self) -> Value:
        v = self.stack.pop()
        self._popped.append(v)
        return v

    def popn(self, n: int) -> list[Value]:
        """The top `n` values, bottom first, removed from the stack."""
        if n == 0:
            return []
        vals = self.stack[-n:]
        del self.stack[-n:]
        self._popped.extend(reversed(vals))
        return vals

    def peek(self, i: int) -> Value:
        """The `i`-th value from the top, 1-based as CPython's PEEK."""
        return self.stack[-i]

    def set_local(self, i: int, v: Value) -> None:
        if self._fs_locals is None:
            # Frame states of this instruction see the locals before it ran.
            self._fs_locals = tuple(self.locals)
        self.locals[i] = v
        self._dirty = True
        self.unsynced = True

    def handler_at(self, offset: int) -> ExcHandler | None:
        """The handler of the exception-table entry covering byte `offset` (None if no
        entry does). Refused when it is a block the CFG dropped as unreachable, or
        keeps more of the stack than there is here."""
        fb = self.fb
        for e in fb.cfg.entries:  # as bytecode/nullness.py's _entry_at
            if e.start <= offset < e.end:
                try:
                    block = fb.blocks[fb.cfg.block_at(e.target)]
                except KeyError:
                    raise Refused("handler_unreached", f"offset {offset}") from None
                if e.depth > len(self.stack):
                    raise Refused("handler_depth_above_stack", f"offset {offset}")
                return ExcHandler(block, e.depth, e.lasti)
        return None

    def local_name(self, i: int) -> str:
        return self.fb.cfg.localsplus_names[i]

    # -- emitting ------------------------------------------------------------------------

    def frame_state(self) -> FrameState:
        if self._fs_locals is None:
            self._fs_locals = tuple(self.locals)
        if self._fs_stack is None:
            # Handlers pop their inputs, then push; nothing below the popped values moves.
            base = self._pre_len - len(self._popped)
            self._fs_stack = tuple(self.stack[:base]) + tuple(reversed(self._popped))
        return FrameState(self.ins.offset, self._fs_locals, self._fs_stack, self.handler)

    def emit(self, opcls, /, **fields) -> Value:
        op = opcls(offset=self.ins.offset, **fields)
        if opcls.may_raise:
            op.frame_state = self.frame_state()
            self.unsynced = False
        self.block.ops.append(op)
        return op

    def const(self, value: object) -> Value:
        return self.emit(Const, value=value)

    def null(self) -> Value:
        return self.emit(Null)

    def terminate(self, op) -> None:
        if op.may_raise:
            op.frame_state = self.frame_state()
        self.block.terminator = op

    def edge(self, target: BBlock, stack: list[Value] | None = None) -> Edge:
        """An edge to `target` passing the current locals and `stack` (default: ours)."""
        args = tuple(self.locals) + tuple(self.stack if stack is None else stack)
        return Edge(self.fb.blocks[target], args)
