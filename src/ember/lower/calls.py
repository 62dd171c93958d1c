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
from ember.backend.entry import C_DEPTH_LIMIT
from ember.ir import ops
from ember.ir import types as T
from ember.lower.registry import NotLowered, lowers

NULL = support.NULL
OBJ = support.OBJ
#: A call site's cache (src/ember/_calls.c CallCache: the compiled callees it saw last,
#: four of {entry, body, its native-call counter, its argument count}; the inline code
#: reads the first).
CALL_ENTRIES, CALL_ENTRY_SIZE = 4, 32
CALL_CACHE = ir.ArrayType(support.I64, CALL_ENTRIES * CALL_ENTRY_SIZE // 8)
#: INLINE_CACHE_ENTRIES_CALL of 3.12: prev_instr rests on the last while a Python
#: function runs.
CALL_CACHE_ENTRIES = 3


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
    if op.kwnames:
        res = cx.call("ember.c.call", cx.tstate, cx.frame, method, arr, cx.i64(npos),
                      kwnames, cx.instr_ptr(op.offset), cx.i64(owned),
                      b.bitcast(cache, OBJ))
    else:
        res = _direct_or_generic(cx, op, arr, method, npos, owned, dying, cache)
    cx.mark_released(dying)
    return cx.check_null(res)


def _direct_or_generic(cx, op, arr, method, npos, owned, dying, cache):
    """A call of the compiled function the site saw last goes straight to its body, here:
    the same checks as `ember.c.call`'s direct call (its entry at the site cache's, the
    argument count, no other monitoring tool on, C stack to spare), prev_instr as the
    interpreter leaves it, then the dying operands released in the order a Python
    function's frame releases them (the arguments, then the function). Anything else
    goes through `ember.c.call`, which fills the site cache."""
    b = cx.b
    if op.method.type <= T.Null:
        is_meth = ir.Constant(ir.IntType(1), 0)
    elif op.method.type <= T.Object:
        is_meth = ir.Constant(ir.IntType(1), 1)
    else:
        is_meth = b.icmp_unsigned("!=", method, NULL)
    callable_ = cx.v(op.callable)
    target = b.select(is_meth, method, callable_)
    nargs = b.add(cx.i64(npos), b.zext(is_meth, support.I64))
    argv = b.select(is_meth, b.gep(arr, [cx.i64(1)], source_etype=OBJ),
                    b.gep(arr, [cx.i64(2)], source_etype=OBJ))

    def field(base, off, ty=support.I64):
        return support.load_field(b, base, off, ty)

    direct = cx.fn.append_basic_block("call.direct")
    generic = cx.fn.append_basic_block("call.generic")
    check = cx.fn.append_basic_block("call.check")
    builtin = cx.fn.append_basic_block("call.builtin")
    target_type = cx.type_of(target)
    is_function = b.icmp_unsigned("==", target_type, cx.obj_static("PyFunction_Type"))
    b.cbranch(is_function, check, builtin)
    b.position_at_end(builtin)
    builtin_res, builtin_end = _builtin_call(cx, op, target, target_type, argv, nargs,
                                             dying, generic)
    b.position_at_end(check)
    # The site's entries (several, when a base class's method is called on subclasses).
    vectorcall = field(target, abi.Function.vectorcall)
    which = cx.fn.append_basic_block("call.entry")
    found = []
    for e in range(CALL_ENTRIES):
        base = CALL_ENTRY_SIZE * e
        same = b.and_(b.icmp_unsigned("==", vectorcall, field(cache, base)),
                      b.icmp_unsigned("==", field(cache, base + 24), nargs))
        found.append((cx.i64(base), b.block))
        nxt = cx.fn.append_basic_block(f"call.entry{e + 1}")
        b.cbranch(same, which, nxt).set_weights([99, 1] if e == 0 else [50, 50])
        b.position_at_end(nxt)
    b.branch(generic)
    b.position_at_end(which)
    offset = b.phi(support.I64)
    for off, bb in found:
        offset.add_incoming(off, bb)
    entry = b.inttoptr(b.add(b.ptrtoint(cache, support.I64), offset), OBJ)
    deep_ok = b.icmp_signed(">=", field(cx.tstate, abi.ThreadState.c_recursion_remaining,
                                        support.I32), cx.i32(C_DEPTH_LIMIT))
    glob = support.other_tools_or_evaluator(b)
    check2 = cx.fn.append_basic_block("call.tools")
    b.cbranch(b.and_(deep_ok, b.not_(glob)), check2, generic).set_weights([99, 1])
    b.position_at_end(check2)
    code = field(target, abi.Function.func_code, OBJ)
    mon = field(code, abi.Code._co_monitoring, OBJ)
    local_bb = cx.fn.append_basic_block("call.local_tools")
    b.cbranch(b.icmp_unsigned("==", mon, NULL), direct, local_bb)
    b.position_at_end(local_bb)
    local = support.field_address(b, mon, abi.CoMonitoringData.local_monitors)
    b.cbranch(support.other_tools(b, local), generic, direct)

    b.position_at_end(direct)
    # The exception handled here (a callee's bare `raise` re-raises it with no entry of
    # its own): what `ember.c.call_failed` needs if the callee fails.
    exc_info = field(cx.tstate, abi.ThreadState.exc_info, OBJ)
    handled = field(exc_info, 0, OBJ)
    at_call = cx.instr_ptr(op.offset)
    cx.set_prev_instr(b.gep(at_call, [cx.i64(2 * CALL_CACHE_ENTRIES)],
                            source_etype=support.I8))
    counter = field(entry, 16, OBJ.as_pointer())
    b.store(b.add(b.load(counter, typ=support.I64), cx.i64(1)),
            b.bitcast(counter, support.I64.as_pointer()))
    body = b.inttoptr(field(entry, 8), support.BODY.as_pointer())
    res_direct = b.call(body, [target, argv, cx.tstate])
    with b.if_then(b.icmp_unsigned("==", res_direct, NULL), likely=False):
        cx.call("ember.c.call_failed", cx.frame, code, handled, at_call)
    # A Python function's frame releases its parameters in order, then the function.
    own = cx.own
    roots = [own.root_of(v) for v in [op.method, op.callable, *op.args]]
    dying_func = b.select(is_meth, _if_dying(cx, op.method, dying),
                          _if_dying(cx, op.callable, dying))
    cx.xdecref(b.select(is_meth, _if_dying(cx, op.callable, dying), NULL))
    for v, r in zip(op.args, roots[2:], strict=True):
        if r in dying and r not in roots[:2]:
            cx.decref(cx.v(v))
    cx.xdecref(dying_func)
    direct_end = b.block
    done = cx.fn.append_basic_block("call.done")
    b.branch(done)
    b.position_at_end(builtin_end)
    b.branch(done)

    b.position_at_end(generic)
    res_generic = cx.call("ember.c.call", cx.tstate, cx.frame, method, arr, cx.i64(npos),
                          NULL, cx.instr_ptr(op.offset), cx.i64(owned),
                          b.bitcast(cache, OBJ))
    res_generic = _check_eval_breaker_after(cx, res_generic, _inlined_by_cpython(
        cx, target, is_meth))
    generic_end = b.block
    b.branch(done)
    b.position_at_end(done)
    res = b.phi(OBJ)
    res.add_incoming(res_direct, direct_end)
    res.add_incoming(res_generic, generic_end)
    res.add_incoming(builtin_res, builtin_end)
    return res


def _builtin_call(cx, op, target, target_type, argv, nargs, dying, generic):
    """A builtin function, or a method descriptor of a C type called on an object of
    exactly that type, whose C function takes what the call passes: called here, as
    3.12's CALL_NO_KW_BUILTIN_O / _FAST / _FAST_WITH_KEYWORDS and
    CALL_NO_KW_METHOD_DESCRIPTOR_O / _NOARGS / _FAST do (the C recursion check where
    those make it), then the arguments released and the callable, in their order, and
    CHECK_EVAL_BREAKER. Anything else branches to `generic`. Returns (result, the
    block that ends the path, not terminated)."""
    b = cx.b
    I32 = support.I32

    def field(base, off, ty=OBJ):
        return support.load_field(b, base, off, ty)

    is_cfunc = b.icmp_unsigned("==", target_type, cx.obj_static("PyCFunction_Type"))
    cfunc_bb = cx.fn.append_basic_block("call.cfunc")
    descr_check = cx.fn.append_basic_block("call.descr")
    b.cbranch(is_cfunc, cfunc_bb, descr_check)
    b.position_at_end(cfunc_bb)
    c_def = field(target, abi.CFunction.m_ml)
    c_self = field(target, abi.CFunction.m_self)
    cfunc_end = b.block
    pick = cx.fn.append_basic_block("call.cdef")
    b.branch(pick)

    b.position_at_end(descr_check)
    is_descr = b.and_(b.icmp_unsigned("==", target_type, cx.obj_static("PyMethodDescr_Type")),
                      b.icmp_signed(">=", nargs, cx.i64(1)))
    descr_bb = cx.fn.append_basic_block("call.descr.self")
    b.cbranch(is_descr, descr_bb, generic)
    b.position_at_end(descr_bb)
    d_self = b.load(argv, typ=OBJ)
    same_type = b.icmp_unsigned("==", cx.type_of(d_self), field(target, abi.MethodDescr.d_type))
    descr_ok = cx.fn.append_basic_block("call.descr.ok")
    b.cbranch(same_type, descr_ok, generic)
    b.position_at_end(descr_ok)
    d_def = field(target, abi.MethodDescr.d_method)
    descr_end = b.block
    b.branch(pick)

    b.position_at_end(pick)
    mdef = b.phi(OBJ)
    mdef.add_incoming(c_def, cfunc_end)
    mdef.add_incoming(d_def, descr_end)
    self_ = b.phi(OBJ)
    self_.add_incoming(c_self, cfunc_end)
    self_.add_incoming(d_self, descr_end)
    shift = b.phi(support.I64)  # a method descriptor's self is the first argument
    shift.add_incoming(cx.i64(0), cfunc_end)
    shift.add_incoming(cx.i64(1), descr_end)
    args = b.gep(argv, [shift], source_etype=OBJ)
    n = b.sub(nargs, shift)
    flags = field(mdef, abi.MethodDef.ml_flags, I32)
    meth = field(mdef, abi.MethodDef.ml_meth)
    at_call = cx.instr_ptr(op.offset)
    cx.set_prev_instr(at_call)

    kinds = [
        ("o", abi.METH_O, b.icmp_unsigned("==", n, cx.i64(1)), True),
        ("noargs", abi.METH_NOARGS, b.icmp_unsigned("==", n, cx.i64(0)), True),
        ("fast", abi.METH_FASTCALL, None, False),
        ("fastkw", abi.METH_FASTCALL | abi.METH_KEYWORDS, None, False),
    ]
    results = []
    join = cx.fn.append_basic_block("call.builtin.done")
    for name, flag, count_ok, recursion in kinds:
        this = b.icmp_unsigned("==", flags, cx.i32(flag))
        if count_ok is not None:
            this = b.and_(this, count_ok)
        call_bb = cx.fn.append_basic_block(f"call.builtin.{name}")
        nxt = cx.fn.append_basic_block(f"call.builtin.not_{name}")
        b.cbranch(this, call_bb, nxt)
        b.position_at_end(call_bb)
        if recursion:
            # _Py_EnterRecursiveCallTstate(tstate, " while calling a Python object")
            addr = support.field_address(b, cx.tstate, abi.ThreadState.c_recursion_remaining)
            left = b.load(b.bitcast(addr, I32.as_pointer()), typ=I32)
            b.store(b.sub(left, cx.i32(1)), b.bitcast(addr, I32.as_pointer()))
            deep = cx.fn.append_basic_block(f"call.builtin.{name}.deep")
            go = cx.fn.append_basic_block(f"call.builtin.{name}.go")
            b.cbranch(b.icmp_signed("<=", left, cx.i32(0)), deep, go).set_weights([1, 99])
            b.position_at_end(deep)
            b.store(left, b.bitcast(addr, I32.as_pointer()))  # the generic call checks again
            b.branch(generic)
            b.position_at_end(go)
        if name == "o":
            fnty = ir.FunctionType(OBJ, [OBJ, OBJ])
            res = b.call(_fn_ptr(b, meth, fnty), [self_, b.load(args, typ=OBJ)])
        elif name == "noargs":
            fnty = ir.FunctionType(OBJ, [OBJ, OBJ])
            res = b.call(_fn_ptr(b, meth, fnty), [self_, NULL])
        elif name == "fast":
            fnty = ir.FunctionType(OBJ, [OBJ, OBJ, support.I64])
            res = b.call(_fn_ptr(b, meth, fnty), [self_, args, n])
        else:
            fnty = ir.FunctionType(OBJ, [OBJ, OBJ, support.I64, OBJ])
            res = b.call(_fn_ptr(b, meth, fnty), [self_, args, n, NULL])
        if recursion:
            addr = support.field_address(b, cx.tstate, abi.ThreadState.c_recursion_remaining)
            now = b.load(b.bitcast(addr, I32.as_pointer()), typ=I32)
            b.store(b.add(now, cx.i32(1)), b.bitcast(addr, I32.as_pointer()))
        results.append((res, b.block))
        b.branch(join)
        b.position_at_end(nxt)
    b.branch(generic)

    b.position_at_end(join)
    res = b.phi(OBJ)
    for r, bb in results:
        res.add_incoming(r, bb)
    # A NULL without an exception is a bug of the C function: the SystemError CPython's
    # _Py_CheckFunctionResult raises.
    with b.if_then(b.icmp_unsigned("==", res, NULL), likely=False):
        cx.call("_Py_CheckFunctionResult", cx.tstate, target, NULL, NULL)
    # The specialised instructions release the arguments (self first), then the callable.
    own = cx.own
    roots = [own.root_of(v) for v in [op.method, op.callable, *op.args]]
    is_meth_slot = not op.method.type <= T.Null
    if is_meth_slot and not op.method.type <= T.Object:
        method_val = cx.v(op.method)
        has_meth = b.icmp_unsigned("!=", method_val, NULL)
    else:
        has_meth = ir.Constant(ir.IntType(1), 1 if is_meth_slot else 0)
    cx.xdecref(b.select(has_meth, _if_dying(cx, op.callable, dying), NULL))
    for v, r in zip(op.args, roots[2:], strict=True):
        if r in dying and r not in roots[:2]:
            cx.decref(cx.v(v))
    cx.xdecref(b.select(has_meth, _if_dying(cx, op.method, dying),
                        _if_dying(cx, op.callable, dying)))
    res = _check_eval_breaker_after(cx, res, ir.Constant(ir.IntType(1), 0))
    return res, b.block


def _inlined_by_cpython(cx, target, is_meth):
    """i1: CPython's CALL would run `target` in its own loop (a Python function, or a
    bound method of one in the callable slot), which checks no eval breaker on return."""
    b = cx.b
    func_type = cx.obj_static("PyFunction_Type")
    tp = cx.type_of(target)
    is_function = b.icmp_unsigned("==", tp, func_type)
    bound = b.and_(b.not_(is_meth), b.icmp_unsigned("==", tp, cx.obj_static("PyMethod_Type")))
    check = cx.fn.append_basic_block("call.bound")
    start = b.block
    done = cx.fn.append_basic_block("call.bound.done")
    b.cbranch(bound, check, done)
    b.position_at_end(check)
    im_func = support.load_field(b, target, abi.Method.im_func)
    of_function = b.icmp_unsigned("==", cx.type_of(im_func), func_type)
    check_end = b.block
    b.branch(done)
    b.position_at_end(done)
    result = b.phi(ir.IntType(1))
    result.add_incoming(is_function, start)
    result.add_incoming(of_function, check_end)
    return result


def _check_eval_breaker_after(cx, res, inlined):
    """CALL (and CALL_FUNCTION_EX) end with CHECK_EVAL_BREAKER when the callee did not
    run in CPython's loop: a signal that arrived during a C function is handled right
    after it, at the call (its line, its handler), not at the next loop's back-edge. The
    result is released on that error, as exception_unwind pops it."""
    b = cx.b
    start = b.block
    check = cx.fn.append_basic_block("call.breaker")
    fail = cx.fn.append_basic_block("call.breaker.raised")
    done = cx.fn.append_basic_block("call.breaker.done")
    cond = b.and_(b.and_(b.icmp_unsigned("!=", res, NULL), b.not_(inlined)),
                  support.eval_breaker_set(b))
    b.cbranch(cond, check, done).set_weights([1, 99])
    b.position_at_end(check)
    raised = b.icmp_signed("<", support.call_eval_breaker(b), cx.i32(0))
    check_end = b.block
    b.cbranch(raised, fail, done)
    b.position_at_end(fail)
    cx.decref(res)
    fail_end = b.block
    b.branch(done)
    b.position_at_end(done)
    out = b.phi(OBJ)
    out.add_incoming(res, start)
    out.add_incoming(res, check_end)
    out.add_incoming(NULL, fail_end)
    return out


def _fn_ptr(b, address, fnty):
    """`address` (a pointer loaded from memory) as a callable of type `fnty`."""
    return b.inttoptr(b.ptrtoint(address, support.I64), fnty.as_pointer())


def _if_dying(cx, v, dying):
    """The value of operand `v` if its reference dies at this call, else NULL."""
    if v.type <= T.Null or cx.own.root_of(v) not in dying:
        return NULL
    return cx.v(v)


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
    return cx.check_null(_check_eval_breaker_after(cx, res, is_function))


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
