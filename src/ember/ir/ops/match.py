"""Structural pattern matching (`match` statements)."""

from __future__ import annotations

from dataclasses import dataclass

from ember.ir import types as T
from ember.ir.core import Value
from ember.ir.ops.base import Op, register


@register
@dataclass(slots=True, eq=False, kw_only=True)
class MatchMapping(Op):
    """Whether the subject's type has Py_TPFLAGS_MAPPING; no lookup, cannot raise."""

    opname = "match_mapping"
    result = T.Bool
    subject: Value


@register
@dataclass(slots=True, eq=False, kw_only=True)
class MatchSequence(Op):
    opname = "match_sequence"
    result = T.Bool
    subject: Value


@register
@dataclass(slots=True, eq=False, kw_only=True)
class MatchKeys(Op):
    """A tuple of the values for `keys`, or None if one is missing."""

    opname = "match_keys"
    may_raise = True
    subject: Value
    keys: Value


@register
@dataclass(slots=True, eq=False, kw_only=True)
class MatchClass(Op):
    """A tuple of `count` positional plus the named attributes, or None on no match."""

    opname = "match_class"
    may_raise = True
    count: int
    subject: Value
    cls: Value
    names: Value
