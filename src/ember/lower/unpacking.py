"""Star-unpacking: list_extend, set_update, dict_update, dict_merge (`[*a]`, `{*a}`,
`{**a}`, `f(**a, **b)`) and unpack_ex (`a, *b, c = seq`).

Each calls what ceval.c calls and rewrites the error as it does: LIST_EXTEND's "Value
after * must be an iterable", DICT_UPDATE's "is not a mapping", DICT_MERGE's
`format_kwargs_error` (the function's `_PyObject_FunctionStr` in the message).
unpack_ex runs the instruction itself through a `pyhelpers` helper, for
`unpack_iterable`'s messages.
"""

from __future__ import annotations

from ember import abi, slowpaths
from ember.backend import support
from ember.ir import ops
from ember.lower import pyhelpers
from ember.lower.registry import lowers

NULL = support.NULL
OBJ = support.OBJ


def _tp_name(cx, obj):
    return support.load_field(cx.b, cx.type_of(obj), abi.Type.tp_name)


def _not_iterable(cx, obj):
    """i1: `Py_TYPE(obj)->tp_iter == NULL && !PySequence_Check(obj)`."""
    b = cx.b
    no_iter = b.icmp_unsigned("==", support.load_field(b, cx.type_of(obj), abi.Type.tp_iter),
                              NULL)
    seq = cx.call("PySequence_Check", obj)
    return b.and_(no_iter, b.icmp_signed("==", seq, cx.i32(0)))


def _matches(cx, exc_name: str):
    return cx.b.icmp_signed("!=", cx.call("PyErr_ExceptionMatches", cx.exc(exc_name)),
                            cx.i32(0))


@lowers(ops.ListExtend)
def lower_list_extend(cx, op):
    b = cx.b
    it = cx.v(op.iterable)
    res = cx.call("_PyList_Extend", cx.v(op.list), it)
    with b.if_then(b.icmp_unsigned("==", res, NULL), likely=False):
        with b.if_then(_matches(cx, "TypeError")):
            with b.if_then(_not_iterable(cx, it)):
                cx.call("PyErr_Clear")
                cx.call("PyErr_Format", cx.exc("TypeError"),
                        cx.cstr("Value after * must be an iterable, not %.200s"),
                        _tp_name(cx, it))
        cx.fail()
    cx.decref(res)


@lowers(ops.SetUpdate)
def lower_set_update(cx, op):
    cx.check_neg(cx.call("_PySet_Update", cx.v(op.set), cx.v(op.iterable)))


@lowers(ops.DictUpdate)
def lower_dict_update(cx, op):
    b = cx.b
    update = cx.v(op.mapping)
    r = cx.call("PyDict_Update", cx.v(op.dict), update)
    with b.if_then(b.icmp_signed("<", r, cx.i32(0)), likely=False):
        with b.if_then(_matches(cx, "AttributeError")):
            cx.call("PyErr_Format", cx.exc("TypeError"),
                    cx.cstr("'%.200s' object is not a mapping"), _tp_name(cx, update))
        cx.fail()


@lowers(ops.DictMerge)
def lower_dict_merge(cx, op):
    b = cx.b
    update = cx.v(op.mapping)
    r = cx.call("_PyDict_MergeEx", cx.v(op.dict), update, cx.i32(2))
    with b.if_then(b.icmp_signed("<", r, cx.i32(0)), likely=False):
        _format_kwargs_error(cx, cx.v(op.callable), update)
        cx.fail()


def _format_kwargs_error(cx, func, kwargs) -> None:
    """ceval.c's format_kwargs_error."""
    b = cx.b
    with b.if_else(_matches(cx, "AttributeError")) as (attr, other):
        with attr:
            fstr = cx.call("_PyObject_FunctionStr", func)
            with b.if_then(b.icmp_unsigned("!=", fstr, NULL)):
                cx.call("PyErr_Format", cx.exc("TypeError"),
                        cx.cstr("%U argument after ** must be a mapping, not %.200s"),
                        fstr, _tp_name(cx, kwargs))
                cx.decref(fstr)
        with other:
            with b.if_then(_matches(cx, "KeyError")):
                exc = cx.call("PyErr_GetRaisedException")
                args = support.load_field(b, exc, abi.BaseException.args)
                is_tuple = b.icmp_unsigned("==", cx.type_of(args),
                                           cx.obj_static("PyTuple_Type"))
                ok = cx.fn.append_basic_block("kwerr.tuple")
                one = cx.fn.append_basic_block("kwerr.one")
                restore = cx.fn.append_basic_block("kwerr.restore")
                done = cx.fn.append_basic_block("kwerr.done")
                b.cbranch(b.icmp_unsigned("!=", args, NULL), ok, restore)
                b.position_at_end(ok)
                # PyTuple_Check: the exact type or a subclass (tp_flags bit 26)
                flags = support.load_field(b, cx.type_of(args), abi.Type.tp_flags, support.I64)
                sub = b.icmp_unsigned("!=", b.and_(flags, cx.i64(1 << 26)), cx.i64(0))
                size = support.load_field(b, args, abi.VarObject.ob_size, support.I64)
                single = b.and_(b.or_(is_tuple, sub), b.icmp_signed("==", size, cx.i64(1)))
                b.cbranch(single, one, restore)
                b.position_at_end(one)
                fstr = cx.call("_PyObject_FunctionStr", func)
                with b.if_then(b.icmp_unsigned("!=", fstr, NULL)):
                    key = support.load_field(b, args, abi.Tuple.ob_item)
                    cx.call("PyErr_Format", cx.exc("TypeError"),
                            cx.cstr("%U got multiple values for keyword argument '%S'"),
                            fstr, key)
                    cx.decref(fstr)
                cx.decref(exc)
                b.branch(done)
                b.position_at_end(restore)
                cx.call("PyErr_SetRaisedException", exc)
                b.branch(done)
                b.position_at_end(done)


@lowers(ops.UnpackEx)
def lower_unpack_ex(cx, op):
    b = cx.b
    tup = cx.check_null(pyhelpers.call(
        cx, slowpaths.unpacker_ex(op.before, op.after), [cx.v(op.seq)],
        ["helper", "ember.slowpaths:unpacker_ex", op.before, op.after]))
    out = []
    for i in range(op.before + 1 + op.after):
        v = support.load_field(b, tup, abi.Tuple.ob_item + 8 * i)
        cx.incref(v)
        out.append(v)
    cx.decref(tup)
    return tuple(out)
