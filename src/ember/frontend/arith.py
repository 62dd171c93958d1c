"""BINARY_OP, the unary operators, COMPARE_OP, IS_OP and CONTAINS_OP."""

from __future__ import annotations

from ember.bytecode.opcodes import BINARY_OPS, COMPARE_OPS
from ember.ir.ops import (
    BinaryOp,
    BinaryOperator,
    CompareOp,
    CompareOperator,
    ContainsOp,
    IsOp,
    UnaryInvert,
    UnaryNegative,
    UnaryNot,
)

from .registry import handles

# Indexed by oparg: CPython's NB_* order, and its cmp_op order.
_BINARY = tuple(BinaryOperator(name[3:].lower()) for name in BINARY_OPS)
_COMPARE = tuple(
    {
        "<": CompareOperator.LT,
        "<=": CompareOperator.LE,
        "==": CompareOperator.EQ,
        "!=": CompareOperator.NE,
        ">": CompareOperator.GT,
        ">=": CompareOperator.GE,
    }[sym]
    for sym in COMPARE_OPS
)


@handles("BINARY_OP")
def binary_op(b, ins):
    right = b.pop()
    left = b.pop()
    b.push(b.emit(BinaryOp, op=_BINARY[ins.arg], left=left, right=right))


def _unary(cls):
    return lambda b, ins: b.push(b.emit(cls, value=b.pop()))


handles("UNARY_NEGATIVE")(_unary(UnaryNegative))
handles("UNARY_INVERT")(_unary(UnaryInvert))
handles("UNARY_NOT")(_unary(UnaryNot))


@handles("COMPARE_OP")
def compare_op(b, ins):
    right = b.pop()
    left = b.pop()
    # The low four bits are the interpreter's specialisation mask.
    b.push(b.emit(CompareOp, op=_COMPARE[ins.arg >> 4], left=left, right=right))


@handles("IS_OP")
def is_op(b, ins):
    right = b.pop()
    left = b.pop()
    b.push(b.emit(IsOp, invert=bool(ins.arg), left=left, right=right))


@handles("CONTAINS_OP")
def contains_op(b, ins):
    container = b.pop()
    item = b.pop()
    b.push(b.emit(ContainsOp, invert=bool(ins.arg), item=item, container=container))
