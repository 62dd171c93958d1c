"""binary_op, unary ops, compare_op, contains_op: the number protocol and rich comparison
through the C API, exactly as ceval.c's BINARY_OP / UNARY_* / COMPARE_OP / CONTAINS_OP.

No inline fast paths yet: each op is one C API call, which is what the interpreter ends up
doing for the same operands (its specialisations are equivalent to these calls).
"""

from __future__ import annotations

from ember.ir import ops
from ember.ir.ops.arith import BinaryOperator
from ember.ir.ops.compare import CompareOperator
from ember.lower.registry import lowers

_CAPI = {
    "add": "Add",
    "and": "And",
    "floor_divide": "FloorDivide",
    "lshift": "Lshift",
    "matrix_multiply": "MatrixMultiply",
    "multiply": "Multiply",
    "remainder": "Remainder",
    "or": "Or",
    "power": "Power",
    "rshift": "Rshift",
    "subtract": "Subtract",
    "true_divide": "TrueDivide",
    "xor": "Xor",
}


def number_function(op: BinaryOperator) -> str:
    name = str(op)
    if name.startswith("inplace_"):
        return "PyNumber_InPlace" + _CAPI[name.removeprefix("inplace_")]
    return "PyNumber_" + _CAPI[name]


@lowers(ops.BinaryOp)
def lower_binary_op(cx, op):
    fn = number_function(op.op)
    args = [cx.v(op.left), cx.v(op.right)]
    if fn.endswith("Power"):
        args.append(cx.none())
    return cx.check_null(cx.call(fn, *args))


def _unary(capi_name):
    def lower(cx, op):
        return cx.check_null(cx.call(capi_name, cx.v(op.value)))

    return lower


lowers(ops.UnaryNegative)(_unary("PyNumber_Negative"))
lowers(ops.UnaryInvert)(_unary("PyNumber_Invert"))

_RICH = {
    CompareOperator.LT: 0,
    CompareOperator.LE: 1,
    CompareOperator.EQ: 2,
    CompareOperator.NE: 3,
    CompareOperator.GT: 4,
    CompareOperator.GE: 5,
}


@lowers(ops.CompareOp)
def lower_compare_op(cx, op):
    res = cx.call("PyObject_RichCompare", cx.v(op.left), cx.v(op.right), cx.i32(_RICH[op.op]))
    return cx.check_null(res)


@lowers(ops.ContainsOp)
def lower_contains_op(cx, op):
    r = cx.check_neg(cx.call("PySequence_Contains", cx.v(op.container), cx.v(op.item)))
    found = cx.b.icmp_signed("!=", r, cx.i32(0))
    return cx.bool_obj(cx.b.not_(found) if op.invert else found)
