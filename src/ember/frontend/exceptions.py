"""Raising and handling: the ops of `try`/`except`/`except*`/`finally`/`with`.

Where an exception goes is not an edge here: every op that may raise carries its block's
handler in its frame state (see builder.py). These handlers only move values.
"""

from __future__ import annotations

from ember.ir.ops import (
    BeforeAsyncWith,
    BeforeWith,
    CheckEgMatch,
    CheckExcMatch,
    Extract,
    LoadAssertionError,
    PopExcept,
    PushExcInfo,
    Raise,
    Reraise,
    WithExceptStart,
)

from .registry import handles


@handles("RAISE_VARARGS")
def raise_varargs(b, ins):
    cause = b.pop() if ins.arg == 2 else None
    exc = b.pop() if ins.arg >= 1 else None
    b.terminate(Raise(exc=exc, cause=cause, offset=ins.offset))


@handles("RERAISE")
def reraise(b, ins):
    exc = b.pop()
    values = b.popn(ins.arg)
    # With an oparg, values[0] is the lasti saved by the handler entry: the traceback then
    # names the instruction that raised first, not this one.
    lasti = values[0] if values else None
    b.terminate(Reraise(exc=exc, lasti=lasti, offset=ins.offset))


@handles("PUSH_EXC_INFO")
def push_exc_info(b, ins):
    exc = b.pop()
    b.push(b.emit(PushExcInfo, exc=exc))
    b.push(exc)


@handles("POP_EXCEPT")
def pop_except(b, ins):
    b.emit(PopExcept, prev=b.pop())


@handles("CHECK_EXC_MATCH")
def check_exc_match(b, ins):
    match_type = b.pop()
    b.push(b.emit(CheckExcMatch, exc=b.peek(1), match_type=match_type))


@handles("CHECK_EG_MATCH")
def check_eg_match(b, ins):
    match_type = b.pop()
    m = b.emit(CheckEgMatch, exc=b.pop(), match_type=match_type)
    b.push(b.emit(Extract, index=0, value=m))
    b.push(b.emit(Extract, index=1, value=m))


@handles("LOAD_ASSERTION_ERROR")
def load_assertion_error(b, ins):
    b.push(b.emit(LoadAssertionError))


def _before(cls):
    def handler(b, ins):
        m = b.emit(cls, mgr=b.pop())
        b.push(b.emit(Extract, index=0, value=m))
        b.push(b.emit(Extract, index=1, value=m))

    return handler


handles("BEFORE_WITH")(_before(BeforeWith))
handles("BEFORE_ASYNC_WITH")(_before(BeforeAsyncWith))


@handles("WITH_EXCEPT_START")
def with_except_start(b, ins):
    # Stack: exit, lasti, previous exception, exception; all stay.
    b.push(b.emit(WithExceptStart, exit=b.peek(4), exc=b.peek(1)))
