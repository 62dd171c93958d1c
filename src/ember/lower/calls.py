"""Calls: `call` (CALL with KW_NAMES folded in) through `ember.c.call` (src/ember/_calls.c:
ceval.c's generic CALL path, with 3.12's own specialisations as fast paths); `call_function_ex` (`f(*a, **k)`) through `PyObject_Call`; the
intrinsics that are one C API call (`+x`, the tuple of a `*`-built call).

The arguments array has one spare slot in front (PY_VECTORCALL_ARGUMENTS_OFFSET lets the
callee borrow it, as bound methods do):

    [spare, self-or-callable, arg0, ..., argN-1]
"""

from __future__ import annotations

import sys

from llvmlite import ir

from ember import abi
from ember.backend import support
from ember.ir import ops
from ember.ir import types as T
from ember.lower.registry import NotLowered, lowers

NULL = support.NULL
OBJ = support.OBJ
#: A call site's cache (src/ember/_calls.c CallCache: the compiled callee it last saw).
CALL_CACHE = ir.ArrayType(support.I64, 4)


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
    b.store(cx.v(op.callable), b.gep(arr, [cx.i64(1)], source_etype=OBJ))
    for i, a in enumerate(op.args):
        b.store(cx.v(a), b.gep(arr, [cx.i64(i + 2)], source_etype=OBJ))
    kwnames = cx.pyobj(tuple(sys.intern(k) for k in op.kwnames)) if op.kwnames else NULL
    npos = n - len(op.kwnames)
    method = NULL if op.method.type <= T.Null else cx.v(op.method)
    # What dies at the call goes before its result is checked, as CALL releases its
    # operands; `ember.c.call` releases them in CPython's order, which depends on what
    # is called (a Python function's frame releases its arguments, then the function).
    operands = [op.method, op.callable, *op.args]
    dying = set(cx.dies_here(operands)) if len(operands) <= 64 else set()
    owned = sum(1 << k for k, v in enumerate(operands) if cx.own.root_of(v) in dying
                and all(cx.own.root_of(w) is not cx.own.root_of(v) for w in operands[:k]))
    if owned >= 1 << 63:
        owned -= 1 << 64  # an i64 constant
    # One call of Ember's C (src/ember/_calls.c): ceval.c's CALL, prev_instr as the
    # interpreter leaves it, and CPython's own CALL specialisations as fast paths.
    cache = cx.site_global("ccache", CALL_CACHE)
    res = cx.call("ember.c.call", cx.tstate, cx.frame, method, arr, cx.i64(npos), kwnames,
                  cx.instr_ptr(op.offset), cx.i64(owned), b.bitcast(cache, OBJ))
    cx.mark_released(dying)
    return cx.check_null(res)


@lowers(ops.CallFunctionEx)
def lower_call_function_ex(cx, op):
    """CALL_FUNCTION_EX: a non-tuple `callargs` becomes a tuple first (check_args_iterable's
    message when it is not iterable), which replaces it at once, then `PyObject_Call`.
    Then it releases its operands in its order: the function, the arguments, the
    keywords; but a Python function's frame takes the arguments over, and releases the
    function object last."""
    b = cx.b
    func = cx.v(op.func)
    callargs = cx.v(op.callargs)
    has_kwargs = op.kwargs is not None and not op.kwargs.type <= T.Null
    dying = cx.dies_here([op.func, op.callargs] + ([op.kwargs] if has_kwargs else []))
    own = cx.own
    args_dies = own.root_of(op.callargs) in dying
    is_tuple = b.icmp_unsigned("==", cx.type_of(callargs), cx.obj_static("PyTuple_Type"))
    start = b.block
    convert = cx.fn.append_basic_block("callex.tuple")
    done = cx.fn.append_basic_block("callex.call")
    b.cbranch(is_tuple, done, convert)
    b.position_at_end(convert)
    ty = cx.type_of(callargs)
    no_iter = b.icmp_unsigned("==", support.load_field(b, ty, abi.Type.tp_iter), NULL)
    with b.if_then(no_iter, likely=False):
        not_seq = b.icmp_signed("==", cx.call("PySequence_Check", callargs), cx.i32(0))
        with b.if_then(not_seq):
            cx.call("PyErr_Clear")
            fstr = cx.call("_PyObject_FunctionStr", func)
            with b.if_then(b.icmp_unsigned("!=", fstr, NULL)):
                cx.call("PyErr_Format", cx.exc("TypeError"),
                        cx.cstr("%U argument after * must be an iterable, not %.200s"),
                        fstr, support.load_field(b, ty, abi.Type.tp_name))
                cx.decref(fstr)
            cx.fail()
    tup = cx.check_null(cx.call("PySequence_Tuple", callargs))
    if args_dies:
        cx.decref(callargs)  # Py_SETREF(callargs, tuple)
    conv_end = b.block
    b.branch(done)
    b.position_at_end(done)
    args = b.phi(OBJ)
    args.add_incoming(callargs, start)
    args.add_incoming(tup, conv_end)
    owned_args = b.phi(OBJ)  # what to release as the arguments: ours, or the tuple made
    owned_args.add_incoming(callargs if args_dies else NULL, start)
    owned_args.add_incoming(tup, conv_end)
    kwargs = cx.v(op.kwargs) if has_kwargs else NULL
    res = cx.call("PyObject_Call", func, args, kwargs)
    func_dies = own.root_of(op.func) in dying
    is_function = b.icmp_unsigned("==", cx.type_of(func), cx.obj_static("PyFunction_Type"))
    dying_func = func if func_dies else NULL
    cx.xdecref(b.select(is_function, NULL, dying_func))
    cx.xdecref(owned_args)
    if has_kwargs and own.root_of(op.kwargs) in dying:
        cx.decref(kwargs)
    cx.xdecref(b.select(is_function, dying_func, NULL))
    cx.mark_released(dying)
    return cx.check_null(res)


# Intrinsics refused, with why: each either never reaches a compiled function or is a
# CPython-internal function that is not exported (so there is nothing exact to call).
_REFUSED_1 = {
    ops.Intrinsic1.PRINT: "the interactive loop's expression print (module code only)",
    ops.Intrinsic1.IMPORT_STAR: "`from m import *` (module code only)",
    ops.Intrinsic1.STOPITERATION_ERROR: "generators stay interpreted",
    ops.Intrinsic1.ASYNC_GEN_WRAP: "async generators stay interpreted",
}
_TYPING = "PEP 695 type parameters: CPython's _Py_make_typevar & co. are not exported"


@lowers(ops.CallIntrinsic1)
def lower_call_intrinsic_1(cx, op):
    """The intrinsics that are one C API call (Python/intrinsics.c); others are refused."""
    which = op.which
    value = cx.v(op.value)
    if which == ops.Intrinsic1.UNARY_POSITIVE:
        return cx.check_null(cx.call("PyNumber_Positive", value))
    if which == ops.Intrinsic1.LIST_TO_TUPLE:
        return cx.check_null(cx.call("PyList_AsTuple", value))
    why = _REFUSED_1.get(which, _TYPING)
    raise NotLowered("intrinsic", f"tier 1: call_intrinsic_1[which={which}] refused: {why}")


@lowers(ops.CallIntrinsic2)
def lower_call_intrinsic_2(cx, op):
    """SET_FUNCTION_TYPE_PARAMS is `_Py_set_function_type_params`: store the type
    parameters in `func_typeparams` and answer the function (a new reference). The others
    are refused: PREP_RERAISE_STAR belongs to `except*` (refused), and the TypeVar makers
    are not exported."""
    b = cx.b
    if op.which != ops.Intrinsic2.SET_FUNCTION_TYPE_PARAMS:
        why = ("except* stays interpreted" if op.which == ops.Intrinsic2.PREP_RERAISE_STAR
               else _TYPING)
        raise NotLowered("intrinsic",
                         f"tier 1: call_intrinsic_2[which={op.which}] refused: {why}")
    func, params = cx.v(op.value2), cx.v(op.value1)  # called as f(value2, value1)
    cx.incref(params)
    slot = b.bitcast(support.field_address(b, func, abi.Function.func_typeparams),
                     OBJ.as_pointer())
    old = b.load(slot, typ=OBJ)
    b.store(params, slot)
    cx.xdecref(old)
    cx.incref(func)
    return func
