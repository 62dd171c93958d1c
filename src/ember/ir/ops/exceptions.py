"""Raising, handling and `with` blocks.

Exceptional control flow is not an edge of the terminator: every op that may raise has a
frame state whose `handler` names where the exception goes (or None: it leaves the function).
"""

from __future__ import annotations

from dataclasses import dataclass

from ember.ir import types as T
from ember.ir.core import Value
from ember.ir.ops.base import Op, register


@register
@dataclass(slots=True, eq=False, kw_only=True)
class Raise(Op):
    """RAISE_VARARGS: bare `raise` (no operands), `raise exc`, or `raise exc from cause`."""

    opname = "raise"
    result = T.Void
    is_terminator = True
    may_raise = True
    exc: Value | None = None
    cause: Value | None = None

    def check(self) -> str | None:
        return "a cause needs an exception" if self.exc is None and self.cause else None


@register
@dataclass(slots=True, eq=False, kw_only=True)
class Reraise(Op):
    """RERAISE; with `lasti` the traceback points at the instruction that offset names."""

    opname = "reraise"
    result = T.Void
    is_terminator = True
    may_raise = True
    exc: Value
    lasti: Value | None = None


@register
@dataclass(slots=True, eq=False, kw_only=True)
class PushExcInfo(Op):
    """Make `exc` the handled exception; returns the previous one (or None)."""

    opname = "push_exc_info"
    exc: Value


@register
@dataclass(slots=True, eq=False, kw_only=True)
class PopExcept(Op):
    """Restore the handled exception saved by `push_exc_info`."""

    opname = "pop_except"
    result = T.Void
    prev: Value


@register
@dataclass(slots=True, eq=False, kw_only=True)
class CheckExcMatch(Op):
    opname = "check_exc_match"
    result = T.Bool
    may_raise = True
    exc: Value
    match_type: Value


@register
@dataclass(slots=True, eq=False, kw_only=True)
class CheckEgMatch(Op):
    """`except*`: item 0 is the rest of the group (or None), item 1 the match (or None)."""

    opname = "check_eg_match"
    result = T.Multi
    may_raise = True
    exc: Value
    match_type: Value

    def result_items(self) -> tuple[T.Type, ...]:
        return (T.Object, T.Object)


@register
@dataclass(slots=True, eq=False, kw_only=True)
class LoadAssertionError(Op):
    opname = "load_assertion_error"


@register
@dataclass(slots=True, eq=False, kw_only=True)
class BeforeWith(Op):
    """Item 0 is the bound `__exit__`, item 1 the result of `__enter__()`."""

    opname = "before_with"
    result = T.Multi
    may_raise = True
    mgr: Value

    def result_items(self) -> tuple[T.Type, ...]:
        return (T.Object, T.Object)


@register
@dataclass(slots=True, eq=False, kw_only=True)
class BeforeAsyncWith(Op):
    """Item 0 is the bound `__aexit__`, item 1 the awaitable from `__aenter__()`."""

    opname = "before_async_with"
    result = T.Multi
    may_raise = True
    mgr: Value

    def result_items(self) -> tuple[T.Type, ...]:
        return (T.Object, T.Object)


@register
@dataclass(slots=True, eq=False, kw_only=True)
class WithExceptStart(Op):
    """`exit(type(exc), exc, exc.__traceback__)`."""

    opname = "with_except_start"
    may_raise = True
    exit: Value
    exc: Value
