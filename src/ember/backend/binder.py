"""Argument binding for the entries: one shared helper, compiled once per process.

`bind(func, args, nargsf, kwnames, params, argcount, posonly, kwonly, flags) -> i32`
mirrors `initialize_locals` (ceval.c) for the call shapes that bind without an error:
positional arguments, the `*args` tuple, the keywords (matched by identity with the
parameter names from `co_posonlyargcount` on, read from `co_localsplusnames`; an
unmatched one goes to `**kwargs` when no name is equal to it), the positional defaults,
then the keyword-only defaults (`PyDict_GetItemWithError`). It returns 1 with `params`
holding a new reference to each parameter (then the `*args` tuple and the `**kwargs`
dict, if the code has them), or 0 having released what it made: an argument error, a
keyword equal but not identical to a name, a failed allocation. The entry then hands the
call to `_PyFunction_Vectorcall`, which binds it again and raises CPython's own error.

The shape (argcount, posonly, kwonly, flags: 1 = `*args`, 2 = `**kwargs`, 4 = take no
keywords, for an entry built without its code object's names) is passed by
the entry as constants. Emitting this per function, unrolled over its parameter names,
made each entry as large as a small body; as a shared helper it is one call.
`unbind(params, n)` drops the references to the first n parameters after the body ran.
"""

from __future__ import annotations

from llvmlite import ir

from ember import abi
from ember.backend import capi
from ember.backend.support import (
    I32,
    I64,
    NULL,
    OBJ,
    _field,
    decref,
    field_address,
    incref,
    shared_function,
    xdecref,
)

BIND = "ember.bind"
BIND_TYPE = ir.FunctionType(I32, [OBJ, OBJ, I64, OBJ, OBJ, I64, I64, I64, I64])
UNBIND = "ember.unbind"
UNBIND_TYPE = ir.FunctionType(ir.VoidType(), [OBJ, I64])
VARARGS, VARKW, NO_KEYWORDS = 1, 2, 4


def bind_function(module: ir.Module) -> ir.Function:
    return shared_function(module, BIND, BIND_TYPE, _build_bind)


def unbind_function(module: ir.Module) -> ir.Function:
    return shared_function(module, UNBIND, UNBIND_TYPE, _build_unbind)


class _Emitter:
    """A builder inside one helper, with counted loops and an early exit."""

    def __init__(self, fn: ir.Function):
        self.fn = fn
        self.module = fn.module
        self.entry = fn.append_basic_block("entry")
        self.b = ir.IRBuilder(self.entry)

    def call(self, name, *args):
        return self.b.call(capi.declare(self.module, name), list(args))

    def at(self, base, i) -> ir.Value:
        i = i if isinstance(i, ir.Value) else ir.Constant(I64, i)
        return self.b.gep(base, [i], source_etype=OBJ)

    def var(self, ty, init) -> ir.Value:
        """An alloca in the entry block (SROA makes it a register), set to `init` here."""
        b = self.b
        with b.goto_block(self.entry):
            b.position_at_start(self.entry)
            slot = b.alloca(ty)
        b.store(init, slot)
        return slot

    def loop(self, start, end, body) -> None:
        """for i in range(start, end): body(i)"""
        b = self.b
        i_ptr = self.var(I64, start if isinstance(start, ir.Value) else ir.Constant(I64, start))
        head = self.fn.append_basic_block("loop")
        inner = self.fn.append_basic_block("loop.body")
        done = self.fn.append_basic_block("loop.done")
        b.branch(head)
        b.position_at_end(head)
        i = b.load(i_ptr)
        b.cbranch(b.icmp_signed("<", i, end), inner, done)
        b.position_at_end(inner)
        body(i)
        b.store(b.add(i, ir.Constant(I64, 1)), i_ptr)
        b.branch(head)
        b.position_at_end(done)

    def exit_if(self, cond, target) -> None:
        ok = self.fn.append_basic_block("ok")
        self.b.cbranch(cond, target, ok)
        self.b.position_at_end(ok)


def _build_bind(fn: ir.Function) -> None:
    e = _Emitter(fn)
    b = e.b
    func, args, nargsf, kwnames, params, argc, posonly, kwonly, flags = fn.args
    zero = ir.Constant(I64, 0)
    tup_cell = e.var(OBJ, NULL)
    kwd_cell = e.var(OBJ, NULL)
    fail = fn.append_basic_block("fail")
    fail_clear = fn.append_basic_block("fail.clear")

    nargs = b.and_(nargsf, ir.Constant(I64, abi.VECTORCALL_ARGUMENTS_OFFSET - 1))
    total = b.add(argc, kwonly)
    has_varargs = b.icmp_unsigned("!=", b.and_(flags, ir.Constant(I64, VARARGS)), zero)
    has_varkw = b.icmp_unsigned("!=", b.and_(flags, ir.Constant(I64, VARKW)), zero)
    e.loop(0, total, lambda i: b.store(NULL, e.at(params, i)))
    many = b.icmp_signed(">", nargs, argc)
    e.exit_if(b.and_(many, b.not_(has_varargs)), fail)
    npos = b.select(many, argc, nargs)
    e.loop(0, npos, lambda i: b.store(b.load(e.at(args, i), typ=OBJ), e.at(params, i)))

    with b.if_then(has_varargs):
        extra = b.select(many, b.sub(nargs, argc), zero)
        tup = e.call("PyTuple_New", extra)
        e.exit_if(b.icmp_unsigned("==", tup, NULL), fail_clear)
        b.store(tup, tup_cell)
        items = field_address(b, tup, abi.Tuple.ob_item)

        def fill(j):
            item = b.load(e.at(args, b.add(argc, j)), typ=OBJ)
            incref(b, item)
            b.store(item, e.at(items, j))

        e.loop(0, extra, fill)
    with b.if_then(has_varkw):
        kwd = e.call("PyDict_New")
        e.exit_if(b.icmp_unsigned("==", kwd, NULL), fail_clear)
        b.store(kwd, kwd_cell)

    code = _field(b, func, abi.Function.func_code, OBJ)
    names = field_address(b, _field(b, code, abi.Code.co_localsplusnames, OBJ),
                          abi.Tuple.ob_item)
    no_keywords = b.icmp_unsigned("!=", b.and_(flags, ir.Constant(I64, NO_KEYWORDS)), zero)
    e.exit_if(b.and_(no_keywords, b.icmp_unsigned("!=", kwnames, NULL)), fail)
    with b.if_then(b.icmp_unsigned("!=", kwnames, NULL)):
        nkw = _field(b, kwnames, abi.VarObject.ob_size, I64)
        kwitems = field_address(b, kwnames, abi.Tuple.ob_item)

        def keyword(j):
            key = b.load(e.at(kwitems, j), typ=OBJ)
            val = b.load(e.at(args, b.add(nargs, j)), typ=OBJ)
            found = e.var(I64, ir.Constant(I64, -1))

            def match(k):
                same = b.icmp_unsigned("==", b.load(e.at(names, k), typ=OBJ), key)
                with b.if_then(same):
                    b.store(k, found)

            e.loop(posonly, total, match)
            k = b.load(found)
            with b.if_else(b.icmp_signed(">=", k, zero)) as (named, other):
                with named:
                    slot = e.at(params, k)
                    e.exit_if(b.icmp_unsigned("!=", b.load(slot, typ=OBJ), NULL), fail)  # twice
                    b.store(val, slot)
                with other:
                    e.exit_if(b.not_(has_varkw), fail)
                    is_str = b.icmp_unsigned(
                        "==", _field(b, key, abi.Object.ob_type, OBJ),
                        b.bitcast(capi.declare_object(e.module, "PyUnicode_Type"), OBJ))
                    e.exit_if(b.not_(is_str), fail)

                    def equal(k):
                        r = e.call("PyUnicode_Compare", key, b.load(e.at(names, k), typ=OBJ))
                        e.exit_if(b.icmp_signed("==", r, ir.Constant(I32, 0)), fail)

                    e.loop(posonly, total, equal)  # equal, not identical: CPython binds
                    r = e.call("PyDict_SetItem", b.load(kwd_cell), key, val)
                    e.exit_if(b.icmp_signed("<", r, ir.Constant(I32, 0)), fail_clear)

        e.loop(0, nkw, keyword)

    def default(i):
        slot = e.at(params, i)
        with b.if_then(b.icmp_unsigned("==", b.load(slot, typ=OBJ), NULL)):
            defs = _field(b, func, abi.Function.func_defaults, OBJ)
            e.exit_if(b.icmp_unsigned("==", defs, NULL), fail)
            ndefs = _field(b, defs, abi.VarObject.ob_size, I64)
            idx = b.sub(i, b.sub(argc, ndefs))
            e.exit_if(b.icmp_signed("<", idx, zero), fail)  # missing
            items = field_address(b, defs, abi.Tuple.ob_item)
            b.store(b.load(e.at(items, idx), typ=OBJ), slot)

    e.loop(0, argc, default)

    def kwdefault(k):
        slot = e.at(params, k)
        with b.if_then(b.icmp_unsigned("==", b.load(slot, typ=OBJ), NULL)):
            kwdefs = _field(b, func, abi.Function.func_kwdefaults, OBJ)
            e.exit_if(b.icmp_unsigned("==", kwdefs, NULL), fail)
            v = e.call("PyDict_GetItemWithError", kwdefs, b.load(e.at(names, k), typ=OBJ))
            e.exit_if(b.icmp_unsigned("==", v, NULL), fail_clear)  # missing
            b.store(v, slot)

    e.loop(argc, total, kwdefault)
    e.loop(0, total, lambda i: incref(b, b.load(e.at(params, i), typ=OBJ)))
    with b.if_then(has_varargs):
        b.store(b.load(tup_cell), e.at(params, total))
    with b.if_then(has_varkw):
        b.store(b.load(kwd_cell), e.at(params, b.add(total, b.zext(has_varargs, I64))))
    b.ret(ir.Constant(I32, 1))

    b.position_at_end(fail_clear)
    e.call("PyErr_Clear")
    b.branch(fail)
    b.position_at_end(fail)
    xdecref(b, b.load(tup_cell))
    xdecref(b, b.load(kwd_cell))
    b.ret(ir.Constant(I32, 0))


def _build_unbind(fn: ir.Function) -> None:
    e = _Emitter(fn)
    params, n = fn.args
    e.loop(0, n, lambda i: decref(e.b, e.b.load(e.at(params, i), typ=OBJ)))
    e.b.ret_void()
