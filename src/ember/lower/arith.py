"""binary_op, unary ops, compare_op, contains_op: the number protocol and rich comparison
through the C API, exactly as ceval.c's BINARY_OP / UNARY_* / COMPARE_OP / CONTAINS_OP.

Inline fast paths (`exact.py` has the rules) for the types CPython 3.12 specialises:
compact ints (`+ - * // % & | ^`, true division, comparisons), floats (`+ - * /`,
comparisons) and str concatenation; anything else, and any case a fast path cannot finish exactly, is the one
generic C API call.
"""

from __future__ import annotations

from llvmlite import ir

from ember import abi
from ember.backend import support
from ember.ir import ops
from ember.ir.ops.arith import BinaryOperator
from ember.ir.ops.compare import CompareOperator
from ember.lower import exact, liveness
from ember.lower.exact import DOUBLE
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


def _floor_parts(b, x, y):
    """Python's floor division and modulo of i64s (y != 0): C truncates toward zero."""
    q = b.sdiv(x, y)
    r = b.srem(x, y)
    zero = ir.Constant(x.type, 0)
    adjust = b.and_(b.icmp_signed("!=", r, zero), b.icmp_signed("<", b.xor(r, y), zero))
    return b.sub(q, b.zext(adjust, x.type)), b.select(adjust, b.add(r, y), r)


def _nonzero(cx, y, slow):
    """Continue only when the i64 divisor `y` is not 0 (else the generic call raises)."""
    ok = exact.block(cx, "binop.nonzero")
    cx.b.cbranch(cx.b.icmp_signed("==", y, ir.Constant(y.type, 0)), slow, ok)
    cx.b.position_at_end(ok)


def _int_floor_divide(cx, x, y, slow):
    _nonzero(cx, y, slow)
    return exact.box_int(cx, _floor_parts(cx.b, x, y)[0])


def _int_remainder(cx, x, y, slow):
    _nonzero(cx, y, slow)
    return exact.box_int(cx, _floor_parts(cx.b, x, y)[1])


def _int_true_divide(cx, x, y, slow):
    # long_true_divide: both below 2**53 in magnitude -> (double)x / (double)y, exactly.
    _nonzero(cx, y, slow)
    b = cx.b
    return exact.box_float(cx, b.fdiv(b.sitofp(x, DOUBLE), b.sitofp(y, DOUBLE)))


def _int_simple(method):
    def fast(cx, x, y, slow):
        return exact.box_int(cx, getattr(cx.b, method)(x, y))

    return fast


def _float_simple(method):
    def fast(cx, x, y, slow, box=None):
        return (box or exact.box_float)(cx, getattr(cx.b, method)(x, y))

    return fast


def _float_true_divide(cx, x, y, slow, box=None):
    b = cx.b
    ok = exact.block(cx, "binop.nonzero")
    b.cbranch(b.fcmp_ordered("==", y, ir.Constant(DOUBLE, 0.0)), slow, ok)
    b.position_at_end(ok)
    return (box or exact.box_float)(cx, b.fdiv(x, y))


def _dies_here(cx, op, value) -> bool:
    """`value` is a reference this function owns and does not use after `op` (not even
    in a fast local: a frame slot would hold a reference of its own)."""
    own = getattr(cx, "own", None)
    if own is None:
        return False
    root = own.root_of(value)
    return own.kind.get(root) == liveness.OWNED and root not in own.after.get(op, {root})


def _reusing_box(cx, candidates):
    """A float boxer that, like ceval.c's DECREF_INPUTS_AND_REUSE_FLOAT, writes the result
    into an operand whose only reference is ours and dies at this op (refcount 1), instead
    of allocating; the core's release after the op then drops the extra reference taken
    here. Otherwise PyFloat_FromDouble."""
    def box(cx, value):
        b = cx.b
        join = exact.Join(cx, exact.OBJ, "fbox")
        for obj in candidates:
            reuse = exact.block(cx, "fbox.reuse")
            nxt = exact.block(cx, "fbox.next")
            rc = support.load_field(b, obj, abi.Object.ob_refcnt, support.I64)
            b.cbranch(b.icmp_unsigned("==", rc, cx.i64(1)), reuse, nxt)
            b.position_at_end(reuse)
            b.store(value, support.field_address(b, obj, abi.Float.ob_fval))
            b.store(cx.i64(2), support.as_ptr(b, obj))
            join.add(obj)
            b.position_at_end(nxt)
        join.add(exact.box_float(cx, value))
        return join.finish()

    return box if candidates else None


#: operator (without "inplace_": int and float have no in-place slots) -> fast path of
#: two compact ints, as i64s; it returns a new reference or NULL, or branches to `slow`.
INT_FAST = {
    "add": _int_simple("add"),
    "subtract": _int_simple("sub"),
    "multiply": _int_simple("mul"),
    "and": _int_simple("and_"),
    "or": _int_simple("or_"),
    "xor": _int_simple("xor"),
    "floor_divide": _int_floor_divide,
    "remainder": _int_remainder,
    "true_divide": _int_true_divide,
}
#: The same for two exact floats, as doubles.
FLOAT_FAST = {
    "add": _float_simple("fadd"),
    "subtract": _float_simple("fsub"),
    "multiply": _float_simple("fmul"),
    "true_divide": _float_true_divide,
}


#: Two exact ints that are not both compact: the number protocol ends at int's own slot
#: for the operator (`nb_<name>`: binary_op1 picks the left operand's slot, the right's is
#: the same one and never tried, and int has no in-place slots nor NotImplemented for
#: ints), so calling it directly skips PyNumber_*'s dispatch, as BINARY_OP_ADD_INT calls
#: _PyLong_Add (which libpython does not export). Every operator of INT_FAST has one.
_BINARY_SLOT = ir.FunctionType(support.OBJ, [support.OBJ, support.OBJ])


def _int_slot(slot):
    """A big-int path: `PyLong_Type.tp_as_number-><slot>(x, y)` (new reference or NULL)."""
    def big(cx, left, right):
        b = cx.b
        methods = support.load_field(b, cx.obj_static("PyLong_Type"), abi.Type.tp_as_number)
        fn = support.load_field(b, methods, getattr(abi.NumberMethods, slot),
                                _BINARY_SLOT.as_pointer())
        return b.call(fn, [left, right])

    return big


def _int_and_float_paths(cx, left, right, int_fast, float_fast, slow, join, stem,
                         float_box=None, int_big=None):
    """Branch on the operand types to the int and float fast paths; each adds its value
    to `join`; anything else goes to `slow`. `int_big(cx, left, right)`, if given, takes
    two exact ints that are not both compact (else they go to `slow`)."""
    b = cx.b
    if int_fast is not None:
        ints = exact.block(cx, f"{stem}.int")
        rest = exact.block(cx, f"{stem}.notint") if float_fast is not None else slow
        b.cbranch(exact.both_exact(cx, left, right, "PyLong_Type"), ints, rest)
        b.position_at_end(ints)
        tl, tr = exact.long_tag(cx, left), exact.long_tag(cx, right)
        compact = exact.block(cx, f"{stem}.compact")
        big = exact.block(cx, f"{stem}.bigint") if int_big is not None else slow
        b.cbranch(exact.tags_compact(cx, tl, tr), compact, big)
        if int_big is not None:
            b.position_at_end(big)
            join.add(int_big(cx, left, right))
        b.position_at_end(compact)
        x, y = exact.compact_value(cx, left, tl), exact.compact_value(cx, right, tr)
        join.add(int_fast(cx, x, y, slow))
        if float_fast is not None:
            b.position_at_end(rest)
    if float_fast is not None:
        floats = exact.block(cx, f"{stem}.float")
        b.cbranch(exact.both_exact(cx, left, right, "PyFloat_Type"), floats, slow)
        b.position_at_end(floats)
        x, y = exact.float_value(cx, left), exact.float_value(cx, right)
        if float_box is not None:
            join.add(float_fast(cx, x, y, slow, box=float_box))
        else:
            join.add(float_fast(cx, x, y, slow))


@lowers(ops.BinaryOp)
def lower_binary_op(cx, op):
    fn = number_function(op.op)
    left, right = cx.v(op.left), cx.v(op.right)
    args = [left, right]
    if fn.endswith("Power"):
        args.append(cx.none())
    name = str(op.op).removeprefix("inplace_")
    int_fast, float_fast = INT_FAST.get(name), FLOAT_FAST.get(name)
    if int_fast is None and float_fast is None:
        return cx.check_null(cx.call(fn, *args))
    join = exact.Join(cx, exact.OBJ, "binop")
    slow = exact.block(cx, "binop.slow")
    reusable = []
    if float_fast is not None:
        if _dies_here(cx, op, op.left):
            reusable.append(left)
        if _dies_here(cx, op, op.right) and cx.own.root_of(op.right) != cx.own.root_of(op.left):
            reusable.append(right)
    _int_and_float_paths(cx, left, right, int_fast, float_fast, slow, join, "binop",
                         _reusing_box(cx, reusable),
                         _int_slot(f"nb_{name}") if int_fast is not None else None)
    b = cx.b
    b.position_at_end(slow)
    if name == "add":
        # BINARY_OP_ADD_UNICODE: two exact str are PyUnicode_Concat (what the number
        # protocol ends at for them: str has no nb_add, nor an in-place concat).
        strs = exact.block(cx, "binop.str")
        generic = exact.block(cx, "binop.generic")
        b.cbranch(exact.both_exact(cx, left, right, "PyUnicode_Type"), strs, generic)
        b.position_at_end(strs)
        join.add(cx.call("PyUnicode_Concat", left, right))
        b.position_at_end(generic)
    join.add(cx.call(fn, *args))
    return cx.check_null(join.finish())


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


_ICMP = {"lt": "<", "le": "<=", "eq": "==", "ne": "!=", "gt": ">", "ge": ">="}


def _int_compare(pred):
    def fast(cx, x, y, slow):
        return cx.bool_obj(cx.b.icmp_signed(pred, x, y))

    return fast


def _float_compare(pred):
    # float_richcompare on two floats is C's comparison: false with a NaN except `!=`.
    def fast(cx, x, y, slow):
        b = cx.b
        cmp = b.fcmp_unordered("!=", x, y) if pred == "!=" else b.fcmp_ordered(pred, x, y)
        return cx.bool_obj(cmp)

    return fast


@lowers(ops.CompareOp)
def lower_compare_op(cx, op):
    left, right = cx.v(op.left), cx.v(op.right)
    pred = _ICMP[str(op.op)]
    join = exact.Join(cx, exact.OBJ, "cmp")
    slow = exact.block(cx, "cmp.slow")
    _int_and_float_paths(
        cx, left, right, _int_compare(pred), _float_compare(pred), slow, join, "cmp"
    )
    cx.b.position_at_end(slow)
    join.add(cx.call("PyObject_RichCompare", left, right, cx.i32(_RICH[op.op])))
    return cx.check_null(join.finish())


@lowers(ops.ContainsOp)
def lower_contains_op(cx, op):
    r = cx.check_neg(cx.call("PySequence_Contains", cx.v(op.container), cx.v(op.item)))
    found = cx.b.icmp_signed("!=", r, cx.i32(0))
    return cx.bool_obj(cx.b.not_(found) if op.invert else found)
