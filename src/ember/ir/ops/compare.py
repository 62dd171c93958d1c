"""Comparisons, identity and membership, and the tests that feed `branch` a `cbool`."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ember.ir import types as T
from ember.ir.core import Value
from ember.ir.ops.base import Op, register


class CompareOperator(enum.StrEnum):
    LT = "lt"
    LE = "le"
    EQ = "eq"
    NE = "ne"
    GT = "gt"
    GE = "ge"


@register
@dataclass(slots=True, eq=False, kw_only=True)
class CompareOp(Op):
    opname = "compare_op"
    may_raise = True
    op: CompareOperator
    left: Value
    right: Value


@register
@dataclass(slots=True, eq=False, kw_only=True)
class IsOp(Op):
    opname = "is_op"
    result = T.Bool
    invert: bool
    left: Value
    right: Value


@register
@dataclass(slots=True, eq=False, kw_only=True)
class ContainsOp(Op):
    """`item in container` (`not in` when `invert`)."""

    opname = "contains_op"
    result = T.Bool
    may_raise = True
    invert: bool
    item: Value
    container: Value


@register
@dataclass(slots=True, eq=False, kw_only=True)
class Truth(Op):
    """PyObject_IsTrue, as POP_JUMP_IF_TRUE/FALSE do it."""

    opname = "truth"
    result = T.CBool
    may_raise = True
    value: Value


@register
@dataclass(slots=True, eq=False, kw_only=True)
class IsNone(Op):
    opname = "is_none"
    result = T.CBool
    value: Value


@register
@dataclass(slots=True, eq=False, kw_only=True)
class IsNull(Op):
    """Whether a nullable value is NULL (e.g. `for_iter` exhausted)."""

    opname = "is_null"
    result = T.CBool
    operand_types = {"value": T.ObjectOrNull}
    value: Value


@register
@dataclass(slots=True, eq=False, kw_only=True)
class AssumeNotNull(Op):
    """`value`, known not to be NULL on this path (e.g. after `is_null` branched false, as
    for `for_iter`'s item). Generates no code; it only narrows the type."""

    opname = "assume_not_null"
    operand_types = {"value": T.ObjectOrNull}
    value: Value
