"""Cells, free variables and function creation: copy_free_var, make_cell, load_deref,
store_deref, delete_deref, load_from_dict_or_deref, make_function.

A cell lives in its fast-locals slot, as in CPython: the frame state's locals hold the
cell value, so the core's sync puts it in the frame (`f_locals`, `inspect` and a kept
frame object read the cell contents there, as `_PyFrame_FastToLocalsWithError` does).
`copy_free_var` borrows the cell from the running function's `__closure__` (read-only,
and the function is kept alive by the caller); the slot holds its own reference, as
COPY_FREE_VARS's `Py_NewRef` does.

Messages are format_exc_unbound's (ceval.c): a cell of this function that is empty
raises UnboundLocalError, an empty free variable NameError (with `.name`, as
format_exc_check_arg sets it for NameError only).
"""

from __future__ import annotations

import sys

from ember import abi
from ember.backend import support
from ember.ir import ops
from ember.ir import types as T
from ember.lower import liveness, names
from ember.lower.registry import lowers

NULL = support.NULL
OBJ = support.OBJ
I32 = support.I32

UNBOUND_LOCAL = "cannot access local variable '%s' where it is not associated with a value"
UNBOUND_FREE = ("cannot access free variable '%s' where it is not associated with a value"
                " in enclosing scope")

# The closure tuple holds the cell for as long as the function (our caller's) lives.
liveness.BORROWED_RESULTS.add(ops.CopyFreeVar)


def _is_free(cx, name: str) -> bool:
    """Is `name` a free variable (its slot at or after `PyCode_GetFirstFree`)?"""
    names = cx.func.localsplusnames
    return names.index(name) >= len(names) - len(cx.func.freevars)


def unbound_error(cx, name: str) -> None:
    """Set the error format_exc_unbound sets for the empty cell of `name`."""
    if not _is_free(cx, name):
        cx.call("PyErr_Format", cx.exc("UnboundLocalError"), cx.cstr(UNBOUND_LOCAL),
                cx.cstr(name))
        return
    cx.call("PyErr_Format", cx.exc("NameError"), cx.cstr(UNBOUND_FREE), cx.cstr(name))
    exc = cx.call("PyErr_GetRaisedException")
    cx.call("PyObject_SetAttr", exc, cx.pyobj("name"), cx.pyobj(sys.intern(name)))
    cx.call("PyErr_SetRaisedException", exc)


def _cell_ref(cx, cell):
    return cx.b.bitcast(support.field_address(cx.b, cell, abi.Cell.ob_ref), OBJ.as_pointer())


@lowers(ops.CopyFreeVar)
def lower_copy_free_var(cx, op):
    b = cx.b
    closure = support.load_field(b, cx.fn.args[0], abi.Function.func_closure)
    items = support.field_address(b, closure, abi.Tuple.ob_item)
    return b.load(b.gep(items, [cx.i64(op.index)], source_etype=OBJ), typ=OBJ)


@lowers(ops.MakeCell)
def lower_make_cell(cx, op):
    value = NULL if op.value.type <= T.Null else cx.v(op.value)
    return cx.check_null(cx.call("PyCell_New", value))


@lowers(ops.LoadDeref)
def lower_load_deref(cx, op):
    b = cx.b
    value = b.load(_cell_ref(cx, cx.v(op.cell)), typ=OBJ)
    with b.if_then(b.icmp_unsigned("==", value, NULL), likely=False):
        unbound_error(cx, op.name)
        cx.fail()
    cx.incref(value)
    return value


@lowers(ops.StoreDeref)
def lower_store_deref(cx, op):
    b = cx.b
    ref = _cell_ref(cx, cx.v(op.cell))
    value = cx.v(op.value)
    cx.incref(value)
    old = b.load(ref, typ=OBJ)
    b.store(value, ref)
    cx.xdecref(old)


@lowers(ops.DeleteDeref)
def lower_delete_deref(cx, op):
    b = cx.b
    ref = _cell_ref(cx, cx.v(op.cell))
    old = b.load(ref, typ=OBJ)
    with b.if_then(b.icmp_unsigned("==", old, NULL), likely=False):
        unbound_error(cx, op.name)
        cx.fail()
    b.store(NULL, ref)
    cx.decref(old)


@lowers(ops.MakeFunction)
def lower_make_function(cx, op):
    """MAKE_FUNCTION: PyFunction_New with our globals, then the optional parts (new
    references; ours stay with the core) and `func_version = co_version`."""
    b = cx.b
    code = cx.v(op.code)
    glob = support.load_field(b, cx.fn.args[0], abi.Function.func_globals)
    fn = cx.check_null(cx.call("PyFunction_New", code, glob))
    F = abi.Function
    for part, off in ((op.closure, F.func_closure), (op.annotations, F.func_annotations),
                      (op.kwdefaults, F.func_kwdefaults), (op.defaults, F.func_defaults)):
        if part is None:
            continue
        val = cx.v(part)
        cx.incref(val)
        b.store(val, b.bitcast(support.field_address(b, fn, off), OBJ.as_pointer()))
    version = support.load_field(b, code, abi.Code.co_version, I32)
    b.store(version, b.bitcast(support.field_address(b, fn, F.func_version),
                               I32.as_pointer()))
    return fn


@lowers(ops.LoadFromDictOrDeref)
def lower_load_from_dict_or_deref(cx, op):
    """LOAD_FROM_DICT_OR_DEREF (class bodies and their annotation scopes): the mapping
    first (exact dict or `mapping[name]`, KeyError meaning missing), else the cell."""
    b = cx.b
    found = names.load_from_mapping(cx, cx.v(op.mapping), op.name)
    start = b.block
    miss = cx.fn.append_basic_block("dictorderef.miss")
    done = cx.fn.append_basic_block("dictorderef.done")
    b.cbranch(b.icmp_unsigned("==", found, NULL), miss, done)
    b.position_at_end(miss)
    value = b.load(_cell_ref(cx, cx.v(op.cell)), typ=OBJ)
    with b.if_then(b.icmp_unsigned("==", value, NULL), likely=False):
        unbound_error(cx, op.name)
        cx.fail()
    cx.incref(value)
    miss_end = b.block
    b.branch(done)
    b.position_at_end(done)
    phi = b.phi(OBJ)
    phi.add_incoming(found, start)
    phi.add_incoming(value, miss_end)
    return phi
