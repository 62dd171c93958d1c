"""Structural pattern matching: match_mapping, match_sequence, match_keys, match_class.

`match_mapping`/`match_sequence` test the subject type's Py_TPFLAGS_MAPPING/SEQUENCE bit
(MATCH_MAPPING/MATCH_SEQUENCE); the result is Py_True or Py_False, immortal, so borrowed.

`match_keys` and `match_class` call cold helpers of the module (`ember.match_keys`,
`ember.match_class`, `ember.match_class_attr`) that transcribe ceval.c's static
`match_keys`, `match_class` and `match_class_attr` call for call against the C API: the
same lookups in the same order (`map.get(key, dummy)` through `_PyObject_GetMethod`,
`isinstance`, `__match_args__`, `_PyObject_LookupAttr`), the same duplicate checks through a
set, the same messages. User code they reach (`get`, `__instancecheck__`, properties) runs
with our frame as its caller, as in CPython. `match_class`'s NULL means "no match" unless an
exception is set (MATCH_CLASS then pushes None).
"""

from __future__ import annotations

import sys

from llvmlite import ir

from ember import abi
from ember.backend import support
from ember.ir import ops
from ember.lower import liveness, prebuild, pyhelpers
from ember.lower.registry import lowers

NULL = support.NULL
OBJ = support.OBJ
I32 = support.I32
I64 = support.I64
TPFLAGS_MATCH_SELF = 1 << 22  # _Py_TPFLAGS_MATCH_SELF (Include/object.h)

# Py_True / Py_False are immortal.
liveness.BORROWED_RESULTS.update({ops.MatchMapping, ops.MatchSequence})


@lowers(ops.MatchMapping)
def lower_match_mapping(cx, op):
    return cx.bool_obj(pyhelpers.has_flag(cx, cx.v(op.subject), abi.TPFLAGS_MAPPING))


@lowers(ops.MatchSequence)
def lower_match_sequence(cx, op):
    return cx.bool_obj(pyhelpers.has_flag(cx, cx.v(op.subject), abi.TPFLAGS_SEQUENCE))


@lowers(ops.MatchKeys)
def lower_match_keys(cx, op):
    fn = _match_keys_fn(cx)
    return cx.check_null(cx.b.call(fn, [cx.v(op.subject), cx.v(op.keys)]))


@lowers(ops.MatchClass)
def lower_match_class(cx, op):
    b = cx.b
    fn = _match_class_fn(cx)
    res = b.call(fn, [cx.v(op.subject), cx.v(op.cls), cx.i64(op.count), cx.v(op.names)])
    failed = b.icmp_unsigned("==", res, NULL)
    with b.if_then(failed, likely=False):
        cx.fail_if(b.icmp_unsigned("!=", cx.call("PyErr_Occurred"), NULL))
    return b.select(failed, cx.none(), res)  # None is immortal: owning it costs nothing


@prebuild.helper("ember.match_keys")
def _match_keys_fn(cx):
    return pyhelpers.native(cx, "ember.match_keys", OBJ, [OBJ, OBJ], _build_match_keys)


@prebuild.helper("ember.match_class")
def _match_class_fn(cx):
    return pyhelpers.native(cx, "ember.match_class", OBJ, [OBJ, OBJ, I64, OBJ],
                            _build_match_class)


@prebuild.helper("ember.match_class_attr")
def _match_class_attr_fn(cx):
    return pyhelpers.native(cx, "ember.match_class_attr", OBJ, [OBJ] * 4,
                            _build_match_class_attr)


def _slot(cx, name: str):
    slot = cx.b.alloca(OBJ, name=name)
    cx.b.store(NULL, slot)
    return slot


def _item(cx, base, i):
    return cx.b.load(cx.b.gep(base, [i], source_etype=OBJ), typ=OBJ)


def _tp_name(cx, tp):
    return support.load_field(cx.b, tp, abi.Type.tp_name, support.OBJ)


def _seen_before(cx, seen, key, on_dup):
    """`PySet_Contains(seen, key) || PySet_Add(seen, key)`: `on_dup()` (it sets the message
    unless an error is already set) and branch to the caller's fail block in that case."""
    b = cx.b
    dup = b.function.append_basic_block("dup")
    go = b.function.append_basic_block("fresh")
    add = b.function.append_basic_block("add")
    b.cbranch(b.icmp_signed("!=", cx.call("PySet_Contains", seen, key), cx.i32(0)), dup, add)
    b.position_at_end(add)
    b.cbranch(b.icmp_signed("!=", cx.call("PySet_Add", seen, key), cx.i32(0)), dup, go)
    b.position_at_end(dup)
    with b.if_then(b.icmp_unsigned("==", cx.call("PyErr_Occurred"), NULL)):
        on_dup()
    return dup, go


def _build_match_keys(cx, fn):
    b = cx.b
    subject, keys = fn.args
    nkeys, items = pyhelpers.tuple_items(cx, keys)
    get, seen, dummy, values = (_slot(cx, n) for n in ("get", "seen", "dummy", "values"))
    fail = fn.append_basic_block("fail")
    with b.if_then(b.icmp_signed("==", nkeys, cx.i64(0))):
        b.ret(cx.call("PyTuple_New", cx.i64(0)))
    meth_found = cx.call("_PyObject_GetMethod", subject, cx.pyobj(sys.intern("get")), get)
    with b.if_then(b.icmp_unsigned("==", b.load(get, typ=OBJ), NULL), likely=False):
        b.branch(fail)
    for slot, make in ((seen, lambda: cx.call("PySet_New", NULL)),
                       (dummy, lambda: cx.call("PyObject_CallNoArgs",
                                               cx.obj_static("PyBaseObject_Type"))),
                       (values, lambda: cx.call("PyTuple_New", nkeys))):
        made = make()
        b.store(made, slot)
        with b.if_then(b.icmp_unsigned("==", made, NULL), likely=False):
            b.branch(fail)
    argv = b.alloca(OBJ, size=3, name="getargs")
    found = b.icmp_signed("!=", meth_found, cx.i32(0))
    with pyhelpers.Loop(cx, nkeys, "keys") as i:
        key = _item(cx, items, i)
        dup, go = _seen_before(cx, b.load(seen, typ=OBJ), key, lambda: cx.call(
            "PyErr_Format", cx.exc("ValueError"),
            cx.cstr("mapping pattern checks duplicate key (%R)"), key))
        b.branch(fail)
        b.position_at_end(go)
        for j, v in enumerate((subject, key, b.load(dummy, typ=OBJ))):
            b.store(v, b.gep(argv, [cx.i64(j)], source_etype=OBJ))
        value = cx.call("PyObject_Vectorcall", b.load(get, typ=OBJ),
                        b.select(found, argv, b.gep(argv, [cx.i64(1)], source_etype=OBJ)),
                        b.select(found, cx.i64(3), cx.i64(2)), NULL)
        with b.if_then(b.icmp_unsigned("==", value, NULL), likely=False):
            b.branch(fail)
        with b.if_then(b.icmp_unsigned("==", value, b.load(dummy, typ=OBJ))):
            # key not in map: None
            cx.decref(value)
            cx.decref(b.load(values, typ=OBJ))
            none = cx.none()
            cx.incref(none)
            b.store(none, values)
            _release(cx, get, seen, dummy)
            b.ret(none)
        base = support.field_address(b, b.load(values, typ=OBJ), abi.Tuple.ob_item)
        b.store(value, b.gep(base, [i], source_etype=OBJ))
    _release(cx, get, seen, dummy)
    b.ret(b.load(values, typ=OBJ))
    b.position_at_end(fail)
    _release(cx, get, seen, dummy, values, x=True)
    b.ret(NULL)


def _release(cx, *slots, x=False):
    for slot in slots:
        v = cx.b.load(slot, typ=OBJ)
        (cx.xdecref if x else cx.decref)(v)


def _build_match_class_attr(cx, fn):
    """match_class_attr: the duplicate check, then `_PyObject_LookupAttr` (NULL when
    missing, with no error: no match)."""
    b = cx.b
    subject, tp, name, seen = fn.args
    attr = _slot(cx, "attr")
    dup, go = _seen_before(cx, seen, name, lambda: cx.call(
        "PyErr_Format", cx.exc("TypeError"),
        cx.cstr("%s() got multiple sub-patterns for attribute %R"), _tp_name(cx, tp), name))
    b.ret(NULL)
    b.position_at_end(go)
    cx.call("_PyObject_LookupAttr", subject, name, attr)
    b.ret(b.load(attr, typ=OBJ))


def _build_match_class(cx, fn):
    b = cx.b
    subject, tp, nargs, kwargs = fn.args
    match_args = _slot(cx, "match_args")
    match_self = b.alloca(support.I1, name="match_self")
    b.store(ir.Constant(support.I1, 0), match_self)
    fail = fn.append_basic_block("fail")
    attr_fn = _match_class_attr_fn(cx)
    with b.if_then(b.not_(pyhelpers.has_flag(cx, tp, abi.TPFLAGS_TYPE_SUBCLASS)),
                   likely=False):
        cx.call("PyErr_Format", cx.exc("TypeError"),
                cx.cstr("called match pattern must be a class"))
        b.ret(NULL)
    with b.if_then(b.icmp_signed("<=", cx.call("PyObject_IsInstance", subject, tp),
                                 cx.i32(0))):
        b.ret(NULL)
    seen = cx.call("PySet_New", NULL)
    with b.if_then(b.icmp_unsigned("==", seen, NULL), likely=False):
        b.ret(NULL)
    attrs = cx.call("PyList_New", cx.i64(0))
    with b.if_then(b.icmp_unsigned("==", attrs, NULL), likely=False):
        cx.decref(seen)
        b.ret(NULL)

    def append(value):
        with b.if_then(b.icmp_signed("<", cx.call("PyList_Append", attrs, value), cx.i32(0)),
                       likely=False):
            b.branch(fail)

    def append_attr(name):
        attr = b.call(attr_fn, [subject, tp, name, seen])
        with b.if_then(b.icmp_unsigned("==", attr, NULL), likely=False):
            b.branch(fail)
        r = cx.call("PyList_Append", attrs, attr)
        cx.decref(attr)
        with b.if_then(b.icmp_signed("<", r, cx.i32(0)), likely=False):
            b.branch(fail)

    with b.if_then(b.icmp_signed("!=", nargs, cx.i64(0))):
        ma = cx.call("PyObject_GetAttr", tp, cx.pyobj(sys.intern("__match_args__")))
        b.store(ma, match_args)
        with b.if_else(b.icmp_unsigned("!=", ma, NULL)) as (got, missing):
            with got:
                not_tuple = b.icmp_unsigned("!=", cx.type_of(ma), cx.obj_static("PyTuple_Type"))
                with b.if_then(not_tuple, likely=False):
                    cx.call("PyErr_Format", cx.exc("TypeError"),
                            cx.cstr("%s.__match_args__ must be a tuple (got %s)"),
                            _tp_name(cx, tp), _tp_name(cx, cx.type_of(ma)))
                    b.branch(fail)
            with missing:
                is_attr = cx.call("PyErr_ExceptionMatches", cx.exc("AttributeError"))
                with b.if_then(b.icmp_signed("==", is_attr, cx.i32(0)), likely=False):
                    b.branch(fail)
                cx.call("PyErr_Clear")
                b.store(cx.call("PyTuple_New", cx.i64(0)), match_args)
                b.store(pyhelpers.type_has_flag(cx, tp, TPFLAGS_MATCH_SELF), match_self)
        ma = b.load(match_args, typ=OBJ)
        size, items = pyhelpers.tuple_items(cx, ma)
        is_self = b.load(match_self)
        allowed = b.select(is_self, cx.i64(1), size)
        with b.if_then(b.icmp_signed("<", allowed, nargs), likely=False):
            plural = pyhelpers.select_cstr(cx, b.icmp_signed("==", allowed, cx.i64(1)),
                                           "", "s")
            cx.call("PyErr_Format", cx.exc("TypeError"),
                    cx.cstr("%s() accepts %d positional sub-pattern%s (%d given)"),
                    _tp_name(cx, tp), b.trunc(allowed, I32), plural, b.trunc(nargs, I32))
            b.branch(fail)
        with b.if_else(is_self) as (self_, named):
            with self_:
                append(subject)
            with named:
                with pyhelpers.Loop(cx, nargs, "posargs") as i:
                    name = _item(cx, items, i)
                    not_str = b.icmp_unsigned("!=", cx.type_of(name),
                                              cx.obj_static("PyUnicode_Type"))
                    with b.if_then(not_str, likely=False):
                        cx.call("PyErr_Format", cx.exc("TypeError"),
                                cx.cstr("__match_args__ elements must be strings (got %s)"),
                                _tp_name(cx, cx.type_of(name)))
                        b.branch(fail)
                    append_attr(name)
        cx.decref(b.load(match_args, typ=OBJ))
        b.store(NULL, match_args)
    nkw, kwitems = pyhelpers.tuple_items(cx, kwargs)
    with pyhelpers.Loop(cx, nkw, "kwargs") as i:
        append_attr(_item(cx, kwitems, i))
    res = cx.call("PyList_AsTuple", attrs)
    cx.decref(attrs)
    cx.decref(seen)
    b.ret(res)
    b.position_at_end(fail)
    cx.xdecref(b.load(match_args, typ=OBJ))
    cx.decref(seen)
    cx.decref(attrs)
    b.ret(NULL)
