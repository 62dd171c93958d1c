"""Attributes: load_attr, load_method, store_attr, delete_attr, load_super_attr and
load_super_method (3.12 LOAD_ATTR, LOAD_SUPER_ATTR and friends, through the generic C API
the interpreter's specialisations are equivalent to).
"""

from __future__ import annotations

import sys

from ember.backend import support
from ember.ir import ops
from ember.lower.registry import lowers

NULL = support.NULL


@lowers(ops.LoadAttr)
def lower_load_attr(cx, op):
    name = cx.pyobj(sys.intern(op.name))
    return cx.check_null(cx.call("PyObject_GetAttr", cx.v(op.obj), name))


@lowers(ops.LoadMethod)
def lower_load_method(cx, op):
    """Items: (unbound method, obj) when `_PyObject_GetMethod` finds a method descriptor,
    else (NULL, attribute); both new references, as LOAD_ATTR leaves them on the stack."""
    b = cx.b
    obj = cx.v(op.obj)
    with b.goto_block(cx.fn.entry_basic_block):
        b.position_at_start(cx.fn.entry_basic_block)
        slot = b.alloca(support.OBJ, name="meth")
    b.store(NULL, slot)
    found = cx.call("_PyObject_GetMethod", obj, cx.pyobj(sys.intern(op.name)), slot)
    meth = b.load(slot, typ=support.OBJ)
    is_method = b.icmp_signed("!=", found, cx.i32(0))
    with b.if_else(is_method) as (then, otherwise):
        with then:
            cx.incref(obj)
        with otherwise:
            cx.fail_if(b.icmp_unsigned("==", meth, NULL))
    item0 = b.select(is_method, meth, NULL)
    item1 = b.select(is_method, obj, meth)
    return (item0, item1)


@lowers(ops.StoreAttr)
def lower_store_attr(cx, op):
    name = cx.pyobj(sys.intern(op.name))
    cx.check_neg(cx.call("PyObject_SetAttr", cx.v(op.obj), name, cx.v(op.value)))


@lowers(ops.DeleteAttr)
def lower_delete_attr(cx, op):
    name = cx.pyobj(sys.intern(op.name))
    cx.check_neg(cx.call("PyObject_SetAttr", cx.v(op.obj), name, NULL))


def _super_attr(cx, op):
    """LOAD_SUPER_ATTR's generic path: `global_super(cls, self)` (or `global_super()`,
    which reads our frame as CPython's zero-argument super() does), then the attribute."""
    b = cx.b
    with b.goto_block(cx.fn.entry_basic_block):
        b.position_at_start(cx.fn.entry_basic_block)
        stack = b.alloca(support.OBJ, size=2, name="superargs")
    b.store(cx.v(op.cls), stack)
    b.store(cx.v(op.self_), b.gep(stack, [cx.i64(1)], source_etype=support.OBJ))
    sup = cx.check_null(cx.call("PyObject_Vectorcall", cx.v(op.global_super), stack,
                                cx.i64(2 if op.two_args else 0), NULL))
    res = cx.call("PyObject_GetAttr", sup, cx.pyobj(sys.intern(op.name)))
    cx.decref(sup)
    return cx.check_null(res)


@lowers(ops.LoadSuperAttr)
def lower_load_super_attr(cx, op):
    return _super_attr(cx, op)


@lowers(ops.LoadSuperMethod)
def lower_load_super_method(cx, op):
    """Items (NULL, the bound attribute), as the unspecialised LOAD_SUPER_ATTR leaves them."""
    return (NULL, _super_attr(cx, op))
