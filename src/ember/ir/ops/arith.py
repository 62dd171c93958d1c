"""Arithmetic on objects: BINARY_OP and the unary operators."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ember.ir import types as T
from ember.ir.core import Value
from ember.ir.ops.base import Op, register


class BinaryOperator(enum.StrEnum):
    """BINARY_OP's operator; names follow CPython's NB_* (lowercase, without the prefix)."""

    ADD = "add"
    AND = "and"
    FLOOR_DIVIDE = "floor_divide"
    LSHIFT = "lshift"
    MATRIX_MULTIPLY = "matrix_multiply"
    MULTIPLY = "multiply"
    REMAINDER = "remainder"
    OR = "or"
    POWER = "power"
    RSHIFT = "rshift"
    SUBTRACT = "subtract"
    TRUE_DIVIDE = "true_divide"
    XOR = "xor"
    INPLACE_ADD = "inplace_add"
    INPLACE_AND = "inplace_and"
    INPLACE_FLOOR_DIVIDE = "inplace_floor_divide"
    INPLACE_LSHIFT = "inplace_lshift"
    INPLACE_MATRIX_MULTIPLY = "inplace_matrix_multiply"
    INPLACE_MULTIPLY = "inplace_multiply"
    INPLACE_REMAINDER = "inplace_remainder"
    INPLACE_OR = "inplace_or"
    INPLACE_POWER = "inplace_power"
    INPLACE_RSHIFT = "inplace_rshift"
    INPLACE_SUBTRACT = "inplace_subtract"
    INPLACE_TRUE_DIVIDE = "inplace_true_divide"
    INPLACE_XOR = "inplace_xor"


@register
@dataclass(slots=True, eq=False, kw_only=True)
class BinaryOp(Op):
    opname = "binary_op"
    may_raise = True
    op: BinaryOperator
    left: Value
    right: Value


@register
@dataclass(slots=True, eq=False, kw_only=True)
class UnaryNegative(Op):
    opname = "unary_negative"
    may_raise = True
    value: Value


@register
@dataclass(slots=True, eq=False, kw_only=True)
class UnaryInvert(Op):
    opname = "unary_invert"
    may_raise = True
    value: Value


@register
@dataclass(slots=True, eq=False, kw_only=True)
class UnaryNot(Op):
    """`not value`: calls `__bool__`, so it may raise."""

    opname = "unary_not"
    result = T.Bool
    may_raise = True
    value: Value
