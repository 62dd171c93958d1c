"""Terminators, truth tests, constants, NULLs, fast-local checks and the eval breaker.

Terminators hand their edges to the core (`cx.edge`, `cx.ret`), which does the
reference work; truth tests follow ceval.c's POP_JUMP_IF_* (True/False/None without a
call, else `PyObject_IsTrue`).
"""

from __future__ import annotations

from llvmlite import ir

from ember.backend import support
from ember.ir import ops
from ember.ir.consts import ConstRef
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
    cx.ret(op.value)


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
    start = b.block
    slow = cx.fn.append_basic_block("truth.slow")
    done = cx.fn.append_basic_block("truth.done")
    is_t = b.icmp_unsigned("==", value, true)
    is_f = b.icmp_unsigned("==", value, false)
    b.cbranch(b.or_(is_t, is_f), done, slow)
    b.position_at_end(slow)
    r = cx.check_neg(cx.call("PyObject_IsTrue", value))
    r_true = b.icmp_signed("!=", r, cx.i32(0))
    slow_end = b.block
    b.branch(done)
    b.position_at_end(done)
    phi = b.phi(support.I1)
    phi.add_incoming(is_t, start)
    phi.add_incoming(r_true, slow_end)
    return phi


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
