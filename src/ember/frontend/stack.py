"""Stack shuffling and no-ops: nothing here emits an op except RESUME's eval-breaker check."""

from __future__ import annotations

from ember.ir import types as T
from ember.ir.ops import CheckEvalBreaker, PopTop

from .registry import handles


@handles("NOP")
def nop(b, ins):
    pass


@handles("RESUME")
def resume(b, ins):
    # oparg 0 is the function start, 1 after a yield: both poll the eval breaker (signals,
    # thread switches); 2 and 3 (after yield from / await) do not.
    if ins.arg < 2:
        b.emit(CheckEvalBreaker)


@handles("POP_TOP")
def pop_top(b, ins):
    value = b.pop()
    if b.unsynced and not value.type <= T.Null:
        # The stores since the last synced op come before this release (see PopTop).
        b.emit(PopTop, value=value, locals=tuple(b.locals))
        b.unsynced = False


@handles("PUSH_NULL")
def push_null(b, ins):
    b.push(b.null())


@handles("COPY")
def copy(b, ins):
    b.push(b.peek(ins.arg))


@handles("SWAP")
def swap(b, ins):
    st = b.stack
    st[-1], st[-ins.arg] = st[-ins.arg], st[-1]


@handles("END_FOR")
def end_for(b, ins):
    # Only reachable by a hand-made jump: FOR_ITER skips it (see bytecode/opcodes.py).
    b.popn(2)


@handles("END_SEND")
def end_send(b, ins):
    value = b.pop()
    b.pop()
    b.push(value)
