"""Jumps, conditional branches, returns, and FOR_ITER.

Conditional jumps keep CPython's order of effects: the condition is popped, tested
(`truth` may raise: it calls `__bool__`), then control moves. FOR_ITER tests its item for
NULL; the continuing edge goes through a small IR-only block that narrows the item to
`object` with `assume_not_null`, since the loop body's params are `object`.
"""

from __future__ import annotations

from ember.ir.core import Edge
from ember.ir.ops import (
    AssumeNotNull,
    Branch,
    CheckEvalBreaker,
    ForIter,
    IsNone,
    IsNull,
    Jump,
    Return,
    Truth,
)

from .registry import handles


def _jump(b, ins):
    b.terminate(Jump(target=b.edge(b.bb.jump), offset=ins.offset))


handles("JUMP_FORWARD", "JUMP_BACKWARD_NO_INTERRUPT")(_jump)


@handles("JUMP_BACKWARD")
def jump_backward(b, ins):
    # Backward jumps poll the eval breaker: what lets Ctrl-C stop a loop. CPython jumps
    # first, then checks (JUMP_BACKWARD: JUMPBY(-oparg); CHECK_EVAL_BREAKER()), and its
    # exception_unwind looks the handler up at the code unit before next_instr: an
    # exception from a signal handler here goes to the handler that covers the unit
    # before the loop's head, not the JUMP_BACKWARD's own (a `try` around the loop
    # often ends before its back-edge). Traceback line and lasti stay the jump's.
    handler = b.handler_at(b.bb.jump.start - 2)
    saved, b.handler = b.handler, handler
    try:
        b.emit(CheckEvalBreaker)
    finally:
        b.handler = saved
    _jump(b, ins)


def _branch(b, ins, cond, jump_if: bool) -> None:
    taken = b.edge(b.bb.jump)
    fall = b.edge(b.bb.fallthrough)
    if_true, if_false = (taken, fall) if jump_if else (fall, taken)
    b.terminate(Branch(cond=cond, if_true=if_true, if_false=if_false, offset=ins.offset))


@handles("POP_JUMP_IF_TRUE", "POP_JUMP_IF_FALSE")
def pop_jump_if_bool(b, ins):
    v = b.pop()
    _branch(b, ins, b.emit(Truth, value=v), ins.opname == "POP_JUMP_IF_TRUE")


@handles("POP_JUMP_IF_NONE", "POP_JUMP_IF_NOT_NONE")
def pop_jump_if_none(b, ins):
    v = b.pop()
    _branch(b, ins, b.emit(IsNone, value=v), ins.opname == "POP_JUMP_IF_NONE")


@handles("RETURN_VALUE")
def return_value(b, ins):
    b.terminate(Return(value=b.pop(), locals=tuple(b.locals), offset=ins.offset))


@handles("RETURN_CONST")
def return_const(b, ins):
    value = b.const(b.fb.code.co_consts[ins.arg])
    b.terminate(Return(value=value, locals=tuple(b.locals), offset=ins.offset))


@handles("FOR_ITER")
def for_iter(b, ins):
    it = b.peek(1)
    item = b.emit(ForIter, iterator=it)
    done = b.emit(IsNull, value=item)
    exhausted = b.edge(b.bb.jump, b.stack[:-1])
    # The narrowing block is dominated by this one, so it reads `item` directly.
    narrow = b.fb.new_block(ins.offset, [])
    bound = AssumeNotNull(value=item, offset=ins.offset)
    narrow.ops.append(bound)
    args = tuple(b.locals) + tuple(b.stack) + (bound,)
    narrow.terminator = Jump(target=Edge(b.fb.blocks[b.bb.fallthrough], args), offset=ins.offset)
    b.terminate(Branch(cond=done, if_true=exhausted, if_false=Edge(narrow, ()), offset=ins.offset))
