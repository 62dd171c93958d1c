"""Calls: `call` (CALL with KW_NAMES folded in) through `PyObject_Vectorcall`, as ceval.c's
generic CALL path does, and `call_function_ex` when its arguments are already a tuple.

The arguments array has one spare slot in front (PY_VECTORCALL_ARGUMENTS_OFFSET lets the
callee borrow it, as bound methods do):

    [spare, self-or-callable, arg0, ..., argN-1]
"""

from __future__ import annotations

import sys

from ember import abi
from ember.backend import support
from ember.ir import ops
from ember.ir import types as T
from ember.lower.registry import NotLowered, lowers

NULL = support.NULL
OBJ = support.OBJ


def _array(cx, n: int, name: str):
    b = cx.b
    with b.goto_block(cx.fn.entry_basic_block):
        b.position_at_start(cx.fn.entry_basic_block)
        return b.alloca(OBJ, size=n, name=name)


@lowers(ops.Call)
def lower_call(cx, op):
    b = cx.b
    n = len(op.args)
    arr = _array(cx, n + 2, "callargs")
    callable_ = cx.v(op.callable)
    b.store(callable_, b.gep(arr, [cx.i64(1)], source_etype=OBJ))
    for i, a in enumerate(op.args):
        b.store(cx.v(a), b.gep(arr, [cx.i64(i + 2)], source_etype=OBJ))
    kwnames = cx.pyobj(tuple(sys.intern(k) for k in op.kwnames)) if op.kwnames else NULL
    npos = n - len(op.kwnames)
    flag = abi.VECTORCALL_ARGUMENTS_OFFSET
    if op.method.type <= T.Null:
        target, argv, nargs = callable_, b.gep(arr, [cx.i64(2)], source_etype=OBJ), npos
        nargsf = cx.i64(nargs | flag)
    else:
        method = cx.v(op.method)
        is_meth = b.icmp_unsigned("!=", method, NULL)
        target = b.select(is_meth, method, callable_)
        argv = b.select(is_meth, b.gep(arr, [cx.i64(1)], source_etype=OBJ),
                        b.gep(arr, [cx.i64(2)], source_etype=OBJ))
        nargsf = b.select(is_meth, cx.i64((npos + 1) | flag), cx.i64(npos | flag))
    res = cx.call("PyObject_Vectorcall", target, argv, nargsf, kwnames)
    return cx.check_null(res)


@lowers(ops.CallFunctionEx)
def lower_call_function_ex(cx, op):
    if not op.callargs.type <= T.Tuple:
        raise NotLowered("call_function_ex", "tier 1: f(*args) with a non-tuple not lowered")
    if op.kwargs is not None and not op.kwargs.type <= T.Dict:
        raise NotLowered("call_function_ex", "tier 1: f(**kw) with a non-dict not lowered")
    kwargs = cx.v(op.kwargs) if op.kwargs is not None else NULL
    res = cx.call("PyObject_Call", cx.v(op.func), cx.v(op.callargs), kwargs)
    return cx.check_null(res)


