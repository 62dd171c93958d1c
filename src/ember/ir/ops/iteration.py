"""Iteration: GET_ITER and FOR_ITER."""

from __future__ import annotations

from dataclasses import dataclass

from ember.ir import types as T
from ember.ir.core import Value
from ember.ir.ops.base import Op, register


@register
@dataclass(slots=True, eq=False, kw_only=True)
class GetIter(Op):
    opname = "get_iter"
    may_raise = True
    value: Value


@register
@dataclass(slots=True, eq=False, kw_only=True)
class ForIter(Op):
    """The next item, or NULL when the iterator is exhausted (StopIteration is swallowed,
    as FOR_ITER does). Follow it with `is_null` and `branch`."""

    opname = "for_iter"
    result = T.ObjectOrNull
    may_raise = True
    iterator: Value
