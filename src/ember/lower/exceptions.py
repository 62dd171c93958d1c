"""Raising and handling: raise, reraise, the handled-exception stack, `except` matching,
`with`, `assert`; each as Python/bytecodes.c (3.12) does it.

Where an exception goes is the core's business (`errors.py`): these lowerings set the
exception and branch to `cx.err_block(op, traceback=...)`. `traceback=False` is ceval.c's
`goto exception_unwind` (RERAISE, and a bare `raise` that found the handled exception):
no traceback entry for this frame is added.

| op | CPython |
|---|---|
| `raise` | RAISE_VARARGS: `do_raise` (ceval.c), reimplemented in `ember.do_raise` below |
| `reraise` | RERAISE: with `lasti`, `prev_instr` moves there first (the traceback entry a handler adds later names the first raise, not the reraise) |
| `push_exc_info` / `pop_except` | PUSH_EXC_INFO / POP_EXCEPT on `tstate->exc_info->exc_value` |
| `check_exc_match` | CHECK_EXC_MATCH: `check_except_type_valid`, `PyErr_GivenExceptionMatches` |
| `load_assertion_error` | LOAD_ASSERTION_ERROR |
| `before_with` | BEFORE_WITH: `_PyObject_LookupSpecial` of `__enter__` and `__exit__` |
| `with_except_start` | WITH_EXCEPT_START: `exit(type(exc), exc, exc.__traceback__)` |

`check_eg_match` (`except*`) and `before_async_with` (coroutines, screened earlier) are
refused.
"""

from __future__ import annotations

import sys
import zlib

from llvmlite import ir

from ember import abi
from ember.backend import capi, support
from ember.ir import ops
from ember.lower import prebuild
from ember.lower.registry import NotLowered, lowers

I32, I64, OBJ = support.I32, support.I64, support.OBJ
NULL = support.NULL

TPFLAGS_BASE_EXC_SUBCLASS = 1 << 30
TPFLAGS_TYPE_SUBCLASS = 1 << 31
TPFLAGS_TUPLE_SUBCLASS = 1 << 26
CANNOT_CATCH_MSG = "catching classes that do not inherit from BaseException is not allowed"
BAD_INSTANCE_MSG = "calling %R should have returned an instance of BaseException, not %R"

DO_RAISE = "ember.do_raise"


def _flags(b, typ) -> ir.Value:
    return support.load_field(b, typ, abi.Type.tp_flags, I64)


def _has_flag(b, typ, flag) -> ir.Value:
    return b.icmp_unsigned("!=", b.and_(_flags(b, typ), ir.Constant(I64, flag)),
                           ir.Constant(I64, 0))


def _type_of(b, obj) -> ir.Value:
    return support.load_field(b, obj, abi.Object.ob_type)


def exception_instance(b, obj) -> ir.Value:
    """PyExceptionInstance_Check."""
    return _has_flag(b, _type_of(b, obj), TPFLAGS_BASE_EXC_SUBCLASS)


def exception_class(b, obj) -> ir.Value:
    """PyExceptionClass_Check: a type whose flags say BaseException subclass (the flags
    of `obj` are read only once it is known to be a type)."""
    start = b.block
    fn = start.function
    is_type = _has_flag(b, _type_of(b, obj), TPFLAGS_TYPE_SUBCLASS)
    check = fn.append_basic_block("exc_class.check")
    done = fn.append_basic_block("exc_class.done")
    b.cbranch(is_type, check, done)
    b.position_at_end(check)
    sub = _has_flag(b, obj, TPFLAGS_BASE_EXC_SUBCLASS)
    b.branch(done)
    b.position_at_end(done)
    phi = b.phi(support.I1)
    phi.add_incoming(ir.Constant(support.I1, 0), start)
    phi.add_incoming(sub, check)
    return phi


def _exc_info_slot(cx) -> ir.Value:
    """`&tstate->exc_info->exc_value` (exc_value is the first field of the item)."""
    item = support.load_field(cx.b, cx.tstate, abi.ThreadState.exc_info)
    return cx.b.bitcast(item, OBJ.as_pointer())


# --- raise -----------------------------------------------------------------------------


@lowers(ops.Raise)
def lower_raise(cx, op):
    b = cx.b
    exc = cx.v(op.exc) if op.exc is not None else NULL
    cause = cx.v(op.cause) if op.cause is not None else NULL
    r = b.call(_do_raise(cx.module), [exc, cause])
    # 1: a bare raise re-raised the handled exception (no traceback entry), else error.
    reraised = b.icmp_signed("!=", r, cx.i32(0))
    b.cbranch(reraised, cx.err_block(op, traceback=False), cx.err_block(op))


@prebuild.helper(DO_RAISE)
def _make_do_raise(cx):
    return _do_raise(cx.module)


def _do_raise(module: ir.Module) -> ir.Function:
    """`do_raise(exc, cause) -> int` of ceval.c with borrowed arguments (exc NULL for a
    bare raise; cause NULL when there is none). Always leaves an exception set; returns
    1 when a bare raise re-raised the handled exception, else 0."""
    return support.shared_function(
        module, DO_RAISE, ir.FunctionType(I32, [OBJ, OBJ]), _build_do_raise)


def _build_do_raise(fn: ir.Function) -> None:
    module = fn.module
    exc, cause = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))

    def call(name, *args):
        return b.call(capi.declare(module, name), list(args))

    def block(name):
        return fn.append_basic_block(name)

    def error_string(exc_name, text):
        call("PyErr_SetString", capi.load_pointer(b, f"PyExc_{exc_name}"), _cstr(module, text))

    def ret(n):
        b.ret(ir.Constant(I32, n))

    zero, one = 0, 1
    bare, given = block("bare"), block("given")
    b.cbranch(b.icmp_unsigned("==", exc, NULL), bare, given)

    # Bare raise: the topmost handled exception (_PyErr_GetTopmostException).
    b.position_at_end(bare)
    handled = call("PyErr_GetHandledException")
    none_bb, have_bb = block("no_active"), block("reraise")
    b.cbranch(b.icmp_unsigned("==", handled, NULL), none_bb, have_bb)
    b.position_at_end(none_bb)
    error_string("RuntimeError", "No active exception to reraise")
    ret(zero)
    b.position_at_end(have_bb)
    call("PyErr_SetRaisedException", handled)
    ret(one)

    # raise exc [from cause]: the value and its type.
    b.position_at_end(given)
    cls_bb, notcls_bb = block("exc_class"), block("not_class")
    b.cbranch(exception_class(b, exc), cls_bb, notcls_bb)

    b.position_at_end(cls_bb)
    made = call("PyObject_CallNoArgs", exc)
    made_ok, fail0 = block("made"), block("fail")
    b.cbranch(b.icmp_unsigned("==", made, NULL), fail0, made_ok)
    b.position_at_end(fail0)
    ret(zero)
    b.position_at_end(made_ok)
    inst_ok, bad_inst = block("made_instance"), block("made_not_instance")
    b.cbranch(exception_instance(b, made), inst_ok, bad_inst)
    b.position_at_end(bad_inst)
    call("PyErr_Format", capi.load_pointer(b, "PyExc_TypeError"),
         _cstr(module, BAD_INSTANCE_MSG), exc, _type_of(b, made))
    support.decref(b, made)
    ret(zero)

    b.position_at_end(notcls_bb)
    inst_bb, neither = block("exc_instance"), block("neither")
    b.cbranch(exception_instance(b, exc), inst_bb, neither)
    b.position_at_end(neither)
    error_string("TypeError", "exceptions must derive from BaseException")
    ret(zero)
    b.position_at_end(inst_bb)
    exc_type = _type_of(b, exc)
    support.incref(b, exc)
    inst_end = b.block
    b.branch(inst_ok)

    b.position_at_end(inst_ok)
    value = b.phi(OBJ, name="value")
    value.add_incoming(made, made_ok)
    value.add_incoming(exc, inst_end)
    typ = b.phi(OBJ, name="type")
    typ.add_incoming(exc, made_ok)
    typ.add_incoming(exc_type, inst_end)
    set_bb, cause_bb = block("set"), block("cause")
    b.cbranch(b.icmp_unsigned("==", cause, NULL), set_bb, cause_bb)

    # The cause: a class is called, an instance taken, None clears it.
    b.position_at_end(cause_bb)
    ccls, cnot = block("cause_class"), block("cause_not_class")
    b.cbranch(exception_class(b, cause), ccls, cnot)
    b.position_at_end(ccls)
    fixed = call("PyObject_CallNoArgs", cause)
    cmade, cfail = block("cause_made"), block("cause_fail")
    b.cbranch(b.icmp_unsigned("==", fixed, NULL), cfail, cmade)
    b.position_at_end(cfail)
    support.decref(b, value)
    ret(zero)
    b.position_at_end(cmade)
    cgood, cbad = block("cause_made_instance"), block("cause_made_not_instance")
    b.cbranch(exception_instance(b, fixed), cgood, cbad)
    b.position_at_end(cbad)
    call("PyErr_Format", capi.load_pointer(b, "PyExc_TypeError"),
         _cstr(module, BAD_INSTANCE_MSG), cause, _type_of(b, fixed))
    # ceval.c keeps (leaks) this reference on this path; so do we, to stay exact.
    support.decref(b, value)
    ret(zero)
    b.position_at_end(cnot)
    cinst, cother = block("cause_instance"), block("cause_other")
    b.cbranch(exception_instance(b, cause), cinst, cother)
    b.position_at_end(cinst)
    support.incref(b, cause)
    cinst_end = b.block
    b.branch(cgood)
    b.position_at_end(cother)
    cnone, cbadtype = block("cause_none"), block("cause_bad")
    b.cbranch(b.icmp_unsigned("==", cause, _none(module, b)), cnone, cbadtype)
    b.position_at_end(cbadtype)
    error_string("TypeError", "exception causes must derive from BaseException")
    support.decref(b, value)
    ret(zero)
    b.position_at_end(cnone)
    b.branch(cgood)
    b.position_at_end(cgood)
    fixed_cause = b.phi(OBJ, name="fixed_cause")
    fixed_cause.add_incoming(fixed, cmade)
    fixed_cause.add_incoming(cause, cinst_end)
    fixed_cause.add_incoming(NULL, cnone)
    call("PyException_SetCause", value, fixed_cause)  # steals
    b.branch(set_bb)

    b.position_at_end(set_bb)
    call("PyErr_SetObject", typ, value)  # chains __context__; increfs its arguments
    support.decref(b, value)
    ret(zero)


def _none(module, b) -> ir.Value:
    return support.as_ptr(b, capi.declare_object(module, "_Py_NoneStruct"))


def _cstr(module: ir.Module, text: str) -> ir.Value:
    name = f"exc.str.{zlib.crc32(text.encode()):08x}"  # the same in every process
    gv = module.globals.get(name)
    if gv is None:
        data = bytearray(text.encode("utf-8") + b"\0")
        ty = ir.ArrayType(ir.IntType(8), len(data))
        gv = ir.GlobalVariable(module, ty, name=name)
        gv.global_constant = True
        gv.linkage = "private"
        gv.initializer = ir.Constant(ty, data)
    return gv.bitcast(OBJ)


@lowers(ops.Reraise)
def lower_reraise(cx, op):
    b = cx.b
    if op.lasti is not None:
        # frame->prev_instr = _PyCode_CODE(code) + lasti (code units).
        lasti = cx.call("PyLong_AsSsize_t", cx.v(op.lasti))
        ptr = b.inttoptr(b.add(cx.code_start(), b.shl(lasti, cx.i64(1))), OBJ)
        cx.set_prev_instr(ptr)
    exc = cx.v(op.exc)
    support.incref(b, exc)
    cx.call("PyErr_SetRaisedException", exc)
    b.branch(cx.err_block(op, traceback=False))


# --- the handled exception -------------------------------------------------------------


@lowers(ops.PushExcInfo)
def lower_push_exc_info(cx, op):
    b = cx.b
    slot = _exc_info_slot(cx)
    prev = b.load(slot, typ=OBJ)
    prev = b.select(b.icmp_unsigned("==", prev, NULL), cx.none(), prev)
    new = cx.v(op.exc)
    support.incref(b, new)
    b.store(new, slot)
    return prev  # the reference exc_info held


@lowers(ops.PopExcept)
def lower_pop_except(cx, op):
    b = cx.b
    slot = _exc_info_slot(cx)
    prev = cx.v(op.prev)
    support.incref(b, prev)
    old = b.load(slot, typ=OBJ)
    b.store(prev, slot)
    support.xdecref(b, old)


@lowers(ops.CheckExcMatch)
def lower_check_exc_match(cx, op):
    b = cx.b
    right = cx.v(op.match_type)
    bad = cx.fn.append_basic_block("except_type.bad")
    ok = cx.fn.append_basic_block("except_type.ok")
    tup = cx.fn.append_basic_block("except_type.tuple")
    single = cx.fn.append_basic_block("except_type.single")
    is_tuple = _has_flag(b, _type_of(b, right), TPFLAGS_TUPLE_SUBCLASS)  # PyTuple_Check
    b.cbranch(is_tuple, tup, single)
    b.position_at_end(single)
    b.cbranch(exception_class(b, right), ok, bad)
    # Every item of a tuple must be an exception class.
    b.position_at_end(tup)
    n = support.load_field(b, right, abi.VarObject.ob_size, I64)
    items = support.field_address(b, right, abi.Tuple.ob_item)
    head = cx.fn.append_basic_block("except_type.loop")
    body = cx.fn.append_basic_block("except_type.item")
    pre = b.block
    b.branch(head)
    b.position_at_end(head)
    i = b.phi(I64)
    i.add_incoming(cx.i64(0), pre)
    b.cbranch(b.icmp_signed("<", i, n), body, ok)
    b.position_at_end(body)
    item = b.load(b.gep(items, [i], source_etype=OBJ), typ=OBJ)
    nxt = cx.fn.append_basic_block("except_type.next")
    b.cbranch(exception_class(b, item), nxt, bad)
    b.position_at_end(nxt)
    i.add_incoming(b.add(i, cx.i64(1)), nxt)
    b.branch(head)
    b.position_at_end(bad)
    cx.call("PyErr_SetString", cx.exc("TypeError"), cx.cstr(CANNOT_CATCH_MSG))
    cx.fail()
    b.unreachable()
    b.position_at_end(ok)
    res = cx.call("PyErr_GivenExceptionMatches", cx.v(op.exc), right)
    return cx.bool_obj(b.icmp_signed("!=", res, cx.i32(0)))


@lowers(ops.CheckEgMatch)
def lower_check_eg_match(cx, op):
    raise NotLowered("except_star", "tier 1: except* (exception groups) not lowered")


@lowers(ops.BeforeAsyncWith)
def lower_before_async_with(cx, op):
    raise NotLowered("async", "tier 1: async with not lowered")


@lowers(ops.LoadAssertionError)
def lower_load_assertion_error(cx, op):
    exc = cx.exc("AssertionError")
    support.incref(cx.b, exc)
    return exc


# --- with ------------------------------------------------------------------------------

_ENTER = sys.intern("__enter__")
_EXIT = sys.intern("__exit__")
NO_CM = "'%.200s' object does not support the context manager protocol"


@lowers(ops.BeforeWith)
def lower_before_with(cx, op):
    b = cx.b
    mgr = cx.v(op.mgr)
    tp_name = support.load_field(b, _type_of(b, mgr), abi.Type.tp_name)

    enter = cx.call("_PyObject_LookupSpecial", mgr, cx.pyobj(_ENTER))
    with b.if_then(b.icmp_unsigned("==", enter, NULL), likely=False):
        with b.if_then(b.icmp_unsigned("==", cx.call("PyErr_Occurred"), NULL)):
            cx.call("PyErr_Format", cx.exc("TypeError"), cx.cstr(NO_CM), tp_name)
        cx.fail()
        b.unreachable()
    exit_ = cx.call("_PyObject_LookupSpecial", mgr, cx.pyobj(_EXIT))
    with b.if_then(b.icmp_unsigned("==", exit_, NULL), likely=False):
        with b.if_then(b.icmp_unsigned("==", cx.call("PyErr_Occurred"), NULL)):
            cx.call("PyErr_Format", cx.exc("TypeError"),
                    cx.cstr(NO_CM + " (missed __exit__ method)"), tp_name)
        support.decref(b, enter)
        cx.fail()
        b.unreachable()
    res = cx.call("PyObject_CallNoArgs", enter)
    support.decref(b, enter)
    with b.if_then(b.icmp_unsigned("==", res, NULL), likely=False):
        support.decref(b, exit_)
        cx.fail()
        b.unreachable()
    return (exit_, res)


@lowers(ops.WithExceptStart)
def lower_with_except_start(cx, op):
    b = cx.b
    val = cx.v(op.exc)
    with b.goto_block(cx.fn.entry_basic_block):
        b.position_at_start(cx.fn.entry_basic_block)
        arr = b.alloca(OBJ, size=4, name="exit_args")
    tb = cx.call("PyException_GetTraceback", val)
    support.xdecref(b, tb)  # as ceval.c: the exception keeps it
    for i, v in enumerate((NULL, _type_of(b, val), val, tb)):
        b.store(v, b.gep(arr, [cx.i64(i)], source_etype=OBJ))
    nargsf = cx.i64(3 | abi.VECTORCALL_ARGUMENTS_OFFSET)
    args = b.gep(arr, [cx.i64(1)], source_etype=OBJ)
    return cx.check_null(cx.call("PyObject_Vectorcall", cx.v(op.exit), args, nargsf, NULL))
