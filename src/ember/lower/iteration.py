"""Iteration: get_iter (GET_ITER: PyObject_GetIter) and for_iter (FOR_ITER: the type's
tp_iternext; NULL without an error, or with StopIteration which is cleared, ends the loop).
"""

from __future__ import annotations

from llvmlite import ir

from ember import abi
from ember.backend import support
from ember.ir import ops
from ember.lower.registry import lowers

NULL = support.NULL
OBJ = support.OBJ
_ITERNEXT = ir.FunctionType(OBJ, [OBJ])


@lowers(ops.GetIter)
def lower_get_iter(cx, op):
    return cx.check_null(cx.call("PyObject_GetIter", cx.v(op.value)))


@lowers(ops.ForIter)
def lower_for_iter(cx, op):
    b = cx.b
    it = cx.v(op.iterator)
    fn = support.load_field(b, cx.type_of(it), abi.Type.tp_iternext, _ITERNEXT.as_pointer())
    nxt = b.call(fn, [it])
    with b.if_then(b.icmp_unsigned("==", nxt, NULL), likely=False):
        with b.if_then(b.icmp_unsigned("!=", cx.call("PyErr_Occurred"), NULL)):
            stop = cx.call("PyErr_ExceptionMatches", cx.exc("StopIteration"))
            cx.fail_if(b.icmp_signed("==", stop, cx.i32(0)))
            cx.call("PyErr_Clear")
    return nxt
