"""Terminators, truth tests, constants, NULLs, fast-local checks and the eval breaker.

Terminators hand their edges to the core (`cx.edge`, `cx.ret`), which does the
reference work; truth tests follow ceval.c's POP_JUMP_IF_* and TO_BOOL's cases: True,
False and None, exact ints (zero iff the sign bits say so), exact floats, exact lists and
tuples (their size) without a call, else `PyObject_IsTrue`.
"""

from __future__ import annotations

from llvmlite import ir

from ember import abi
from ember.backend import support
from ember.ir import ops
from ember.ir.consts import ConstRef
from ember.lower import exact
from ember.lower.registry import NotLowered, lowers

NULL = support.NULL


@lowers(ops.Jump)
def lower_jump(cx, op):
    cx.b.branch(cx.edge(op.target, op))


@lowers(ops.Branch)
def lower_branch(cx, op):
    cond = cx.v(op.cond)
    here = cx.b.block
    t = cx.edge(op.if_true, op)
    f = cx.edge(op.if_false, op)
    cx.b.position_at_end(here)
    cx.b.cbranch(cond, t, f)


@lowers(ops.Return)
def lower_return(cx, op):
    cx.ret(op.value, op.locals)


@lowers(ops.PopTop)
def lower_pop_top(cx, op):
    # The stores before this POP_TOP reach the slots first; the popped value, which
    # dies here, is released after (by the core, as every operand that dies).
    cx._sync_locals(op.locals)


@lowers(ops.Unreachable)
def lower_unreachable(cx, op):
    cx.b.unreachable()


@lowers(ops.Const)
def lower_const(cx, op):
    if isinstance(op.value, ConstRef):
        raise NotLowered("const", "tier 1: unresolved constant reference")
    return cx.pyobj(op.value)


@lowers(ops.Null)
def lower_null(cx, op):
    return NULL


@lowers(ops.AssumeNotNull, ops.Extract)
def lower_alias(cx, op):
    return None  # the core maps the value


@lowers(ops.IsNull)
def lower_is_null(cx, op):
    return cx.b.icmp_unsigned("==", cx.v(op.value), NULL)


@lowers(ops.IsNone)
def lower_is_none(cx, op):
    return cx.b.icmp_unsigned("==", cx.v(op.value), cx.none())


@lowers(ops.IsOp)
def lower_is_op(cx, op):
    same = cx.b.icmp_unsigned("==", cx.v(op.left), cx.v(op.right))
    return cx.bool_obj(cx.b.not_(same) if op.invert else same)


def _is_true(cx, value) -> ir.Value:
    """i1 truth of `value` (may fail: branches to the error path)."""
    b = cx.b
    true, false = cx.obj_static("_Py_TrueStruct"), cx.obj_static("_Py_FalseStruct")
    join = exact.Join(cx, support.I1, "truth")
    is_t = b.icmp_unsigned("==", value, true)
    is_f = b.icmp_unsigned("==", value, false)
    is_n = b.icmp_unsigned("==", value, cx.none())
    other = exact.block(cx, "truth.other")
    # True -> 1; False, None -> 0.
    b.cbranch(b.or_(b.or_(is_t, is_f), is_n), join.done, other)
    join.incoming.append((is_t, b.block))
    b.position_at_end(other)
    tp = cx.type_of(value)
    cases = [
        ("PyLong_Type", lambda: b.icmp_unsigned(
            "!=",
            b.and_(exact.long_tag(cx, value), cx.i64(abi.LONG_SIGN_MASK)),
            cx.i64(abi.LONG_SIGN_ZERO),
        )),
        ("PyFloat_Type", lambda: b.fcmp_unordered(
            "!=", exact.float_value(cx, value), ir.Constant(exact.DOUBLE, 0.0)
        )),
        ("PyList_Type", lambda: b.icmp_signed(
            "!=", support.load_field(b, value, abi.List.ob_size, support.I64), cx.i64(0)
        )),
        ("PyTuple_Type", lambda: b.icmp_signed(
            "!=", support.load_field(b, value, abi.Tuple.ob_size, support.I64), cx.i64(0)
        )),
    ]
    for type_name, truth in cases:
        hit = exact.block(cx, f"truth.{type_name}")
        miss = exact.block(cx, "truth.other")
        b.cbranch(b.icmp_unsigned("==", tp, cx.obj_static(type_name)), hit, miss)
        b.position_at_end(hit)
        join.add(truth())
        b.position_at_end(miss)
    r = cx.check_neg(cx.call("PyObject_IsTrue", value))
    join.add(b.icmp_signed("!=", r, cx.i32(0)))
    return join.finish()


@lowers(ops.Truth)
def lower_truth(cx, op):
    return _is_true(cx, cx.v(op.value))


@lowers(ops.UnaryNot)
def lower_unary_not(cx, op):
    return cx.bool_obj(cx.b.not_(_is_true(cx, cx.v(op.value))))


@lowers(ops.LoadFastCheck)
def lower_load_fast_check(cx, op):
    value = cx.v(op.value)
    b = cx.b
    with b.if_then(b.icmp_unsigned("==", value, NULL), likely=False):
        cx.call(
            "PyErr_Format",
            cx.exc("UnboundLocalError"),
            cx.cstr("cannot access local variable '%s' where it is not associated with a value"),
            cx.cstr(op.name),
        )
        cx.fail()
    return None  # an alias of op.value (see liveness.ALIASES)


@lowers(ops.CheckEvalBreaker)
def lower_check_eval_breaker(cx, op):
    b = cx.b
    with b.if_then(support.eval_breaker_set(b), likely=False):
        r = support.call_eval_breaker(b)
        cx.fail_if(b.icmp_signed("<", r, cx.i32(0)))
