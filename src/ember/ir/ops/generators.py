"""Generators and coroutines. Suspension points are ordinary ops with frame states."""

from __future__ import annotations

from dataclasses import dataclass

from ember.ir import types as T
from ember.ir.core import Value
from ember.ir.ops.base import Op, register


@register
@dataclass(slots=True, eq=False, kw_only=True)
class ReturnGenerator(Op):
    """Create the generator and return it; resumes here with the first sent value."""

    opname = "return_generator"
    may_raise = True


@register
@dataclass(slots=True, eq=False, kw_only=True)
class YieldValue(Op):
    """Suspend yielding `value`; resumes with the sent value (or raises, for throw())."""

    opname = "yield_value"
    may_raise = True
    value: Value


@register
@dataclass(slots=True, eq=False, kw_only=True)
class Send(Op):
    """`receiver.send(value)`. Item 0 is the value; item 1 is true when the receiver
    returned (item 0 is then its return value), false when it yielded."""

    opname = "send"
    result = T.Multi
    may_raise = True
    receiver: Value
    value: Value

    def result_items(self) -> tuple[T.Type, ...]:
        return (T.Object, T.CBool)


@register
@dataclass(slots=True, eq=False, kw_only=True)
class GetYieldFromIter(Op):
    opname = "get_yield_from_iter"
    may_raise = True
    value: Value


@register
@dataclass(slots=True, eq=False, kw_only=True)
class GetAwaitable(Op):
    """`where` is GET_AWAITABLE's oparg (1: after __aenter__, 2: after __aexit__), used
    only to word the error."""

    opname = "get_awaitable"
    may_raise = True
    where: int
    value: Value


@register
@dataclass(slots=True, eq=False, kw_only=True)
class GetAiter(Op):
    opname = "get_aiter"
    may_raise = True
    value: Value


@register
@dataclass(slots=True, eq=False, kw_only=True)
class GetAnext(Op):
    """The awaitable for the next item; the async iterator stays on the stack."""

    opname = "get_anext"
    may_raise = True
    aiter: Value


@register
@dataclass(slots=True, eq=False, kw_only=True)
class EndAsyncFor(Op):
    """Swallow `exc` if it is StopAsyncIteration, else re-raise it."""

    opname = "end_async_for"
    result = T.Void
    may_raise = True
    exc: Value


@register
@dataclass(slots=True, eq=False, kw_only=True)
class CleanupThrow(Op):
    """The value of `exc` if it is StopIteration, else re-raise it."""

    opname = "cleanup_throw"
    may_raise = True
    exc: Value
