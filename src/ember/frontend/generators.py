"""Generators and coroutines: creation, suspension, delegation and the async protocol.

The frontend builds them faithfully; whether a later tier compiles them is its own call.
`send` is an ordinary op whose second item says whether the receiver returned; SEND's jump
is taken on that flag, and both edges carry the same stack shape.
"""

from __future__ import annotations

from ember.ir.ops import (
    Branch,
    CleanupThrow,
    EndAsyncFor,
    Extract,
    GetAiter,
    GetAnext,
    GetAwaitable,
    GetIter,
    GetYieldFromIter,
    ReturnGenerator,
    Send,
    YieldValue,
)

from .registry import handles


@handles("RETURN_GENERATOR")
def return_generator(b, ins):
    b.push(b.emit(ReturnGenerator))


@handles("YIELD_VALUE")
def yield_value(b, ins):
    b.push(b.emit(YieldValue, value=b.pop()))


@handles("SEND")
def send(b, ins):
    value = b.pop()
    receiver = b.peek(1)
    m = b.emit(Send, receiver=receiver, value=value)
    b.push(b.emit(Extract, index=0, value=m))
    returned = b.emit(Extract, index=1, value=m)
    b.terminate(
        Branch(
            cond=returned,
            if_true=b.edge(b.bb.jump),
            if_false=b.edge(b.bb.fallthrough),
            offset=ins.offset,
        )
    )


@handles("GET_ITER")
def get_iter(b, ins):
    b.push(b.emit(GetIter, value=b.pop()))


@handles("GET_YIELD_FROM_ITER")
def get_yield_from_iter(b, ins):
    b.push(b.emit(GetYieldFromIter, value=b.pop()))


@handles("GET_AWAITABLE")
def get_awaitable(b, ins):
    b.push(b.emit(GetAwaitable, where=ins.arg, value=b.pop()))


@handles("GET_AITER")
def get_aiter(b, ins):
    b.push(b.emit(GetAiter, value=b.pop()))


@handles("GET_ANEXT")
def get_anext(b, ins):
    b.push(b.emit(GetAnext, aiter=b.peek(1)))


@handles("END_ASYNC_FOR")
def end_async_for(b, ins):
    exc = b.pop()
    b.pop()  # the awaitable
    b.emit(EndAsyncFor, exc=exc)


@handles("CLEANUP_THROW")
def cleanup_throw(b, ins):
    # (sub_iter, last_sent_val, exc_value -- None, value)
    exc = b.pop()
    b.popn(2)
    value = b.emit(CleanupThrow, exc=exc)
    b.push(b.const(None))
    b.push(value)
