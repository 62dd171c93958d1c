"""Globals and builtins: load_global, store_global, delete_global, load_build_class,
load_from_dict_or_globals (a class's annotation scopes: the class dict first).

Looked up as LOAD_GLOBAL does on exact dicts (`_PyDict_LoadGlobal`: globals, then
builtins), through a per-site cache keyed by both dicts' version tags (`load_global`), so
a rebinding is seen at once. Functions whose globals or builtins are
not exact dicts are refused (CPython takes a different, mapping-protocol path for them).
NameError is raised as `format_exc_check_arg` does: the same message and the `name`
attribute that the traceback's "Did you mean" suggestions read.
"""

from __future__ import annotations

import sys

from llvmlite import ir

from ember import abi
from ember.backend import support
from ember.ir import ops
from ember.lower import prebuild
from ember.lower.registry import lowers

NULL = support.NULL
NAME_ERROR = "ember.name_error"


def _globals(cx):
    return support.load_field(cx.b, cx.fn.args[0], abi.Function.func_globals)


def _builtins(cx):
    return support.load_field(cx.b, cx.fn.args[0], abi.Function.func_builtins)


def name_error(cx, name: str) -> None:
    """Set NameError("name 'x' is not defined") with its `name` attribute."""
    cx.b.call(_name_error_fn(cx), [cx.cstr(name), cx.pyobj(sys.intern(name)), cx.pyobj("name")])


@prebuild.helper(NAME_ERROR)
def _name_error_fn(cx):
    def build(fn):
        cname, pyname, attr = fn.args
        cx.call("PyErr_Format", cx.exc("NameError"),
                cx.cstr("name '%.200s' is not defined"), cname)
        exc = cx.call("PyErr_GetRaisedException")
        cx.call("PyObject_SetAttr", exc, attr, pyname)
        cx.call("PyErr_SetRaisedException", exc)
        cx.b.ret_void()

    return cx.shared(NAME_ERROR, ir.FunctionType(ir.VoidType(), [support.OBJ] * 3), build)


@lowers(ops.LoadGlobal)
def lower_load_global(cx, op):
    return load_global(cx, op.name)


#: A load_global site's cache, a zeroed global of the body's module:
#: [globals' ma_version_tag, builtins' ma_version_tag, the value (borrowed)].
GLOBAL_CACHE = ir.ArrayType(support.I64, 3)


def load_global(cx, name: str):
    """globals[name], else builtins[name], else NameError: a new reference.

    Each site caches the value it found with the `ma_version_tag` of both dicts. CPython
    gives every dict a new tag, unique in the process, at each change (insert, delete,
    update, clear; not for storing the same value again), so while both tags are the
    ones cached, neither dict changed and the cached value is what a lookup would find;
    the dicts still hold it, so it is alive. A zeroed cache never matches: live dicts
    have non-zero tags. On a miss, the shared `global_fill` looks up and refills."""
    b = cx.b
    key = cx.pyobj(sys.intern(name))
    cache = cx.site_global("gcache", GLOBAL_CACHE)
    glob, builtins = _globals(cx), _builtins(cx)
    tag = abi.Dict.ma_version_tag
    gtag = support.load_field(b, glob, tag, support.I64)
    btag = support.load_field(b, builtins, tag, support.I64)
    slots = [b.gep(cache, [cx.i64(0), cx.i64(i)]) for i in range(3)]
    cached = b.inttoptr(b.load(slots[2]), support.OBJ)
    hit = b.and_(b.and_(b.icmp_unsigned("==", b.load(slots[0]), gtag),
                        b.icmp_unsigned("==", b.load(slots[1]), btag)),
                 b.icmp_unsigned("!=", cached, NULL))
    start = b.block
    miss = cx.fn.append_basic_block("global.miss")
    done = cx.fn.append_basic_block("global.done")
    b.cbranch(hit, done, miss).set_weights([99, 1])
    b.position_at_end(miss)
    found = b.call(_global_fill_fn(cx), [glob, builtins, key, b.bitcast(cache, support.OBJ)])
    cx.fail_if(b.icmp_unsigned("==", found, NULL))
    miss_end = b.block
    b.branch(done)
    b.position_at_end(done)
    phi = b.phi(support.OBJ)
    phi.add_incoming(cached, start)
    phi.add_incoming(found, miss_end)
    cx.incref(phi)
    return phi


GLOBAL_FILL = "ember.global_fill"


@prebuild.helper(GLOBAL_FILL)
def _global_fill_fn(cx):
    return cx.shared(GLOBAL_FILL, ir.FunctionType(support.OBJ, [support.OBJ] * 4),
                     lambda fn: _build_global_fill(cx, fn))


def _build_global_fill(cx, fn) -> None:
    """global_fill(globals, builtins, name, cache): globals[name], else builtins[name]
    (borrowed), and the cache filled with it and both dicts' tags; else NULL with the
    lookup's error or NameError set (the cache left as it was)."""
    b = cx.b
    glob, builtins, key, cache = fn.args
    tag = abi.Dict.ma_version_tag

    def fill(value):
        slots = [b.gep(cache, [cx.i64(8 * i)], source_etype=support.I8) for i in range(3)]
        b.store(support.load_field(b, glob, tag, support.I64), slots[0])
        b.store(support.load_field(b, builtins, tag, support.I64), slots[1])
        b.store(b.ptrtoint(value, support.I64), slots[2])
        b.ret(value)

    res = cx.call("PyDict_GetItemWithError", glob, key)
    with b.if_then(b.icmp_unsigned("!=", res, NULL), likely=True):
        fill(res)
    with b.if_then(b.icmp_unsigned("!=", cx.call("PyErr_Occurred"), NULL), likely=False):
        b.ret(NULL)
    res = cx.call("PyDict_GetItemWithError", builtins, key)
    with b.if_then(b.icmp_unsigned("!=", res, NULL), likely=True):
        fill(res)
    with b.if_then(b.icmp_unsigned("==", cx.call("PyErr_Occurred"), NULL)):
        cname = cx.call("PyUnicode_AsUTF8", key)
        b.call(_name_error_fn(cx), [cname, key, cx.pyobj("name")])
    b.ret(NULL)


@lowers(ops.StoreGlobal)
def lower_store_global(cx, op):
    key = cx.pyobj(sys.intern(op.name))
    cx.check_neg(cx.call("PyDict_SetItem", _globals(cx), key, cx.v(op.value)))


@lowers(ops.DeleteGlobal)
def lower_delete_global(cx, op):
    b = cx.b
    key = cx.pyobj(sys.intern(op.name))
    r = cx.call("PyDict_DelItem", _globals(cx), key)
    with b.if_then(b.icmp_signed("<", r, cx.i32(0)), likely=False):
        matches = cx.call("PyErr_ExceptionMatches", cx.exc("KeyError"))
        with b.if_then(b.icmp_signed("!=", matches, cx.i32(0))):
            cx.call("PyErr_Clear")
            name_error(cx, op.name)
        cx.fail()


@lowers(ops.LoadBuildClass)
def lower_load_build_class(cx, op):
    """LOAD_BUILD_CLASS on exact builtins: no `name` attribute on this NameError."""
    b = cx.b
    bc = cx.call("PyDict_GetItemWithError", _builtins(cx), cx.pyobj(sys.intern("__build_class__")))
    with b.if_then(b.icmp_unsigned("==", bc, NULL), likely=False):
        with b.if_then(b.icmp_unsigned("==", cx.call("PyErr_Occurred"), NULL)):
            cx.call("PyErr_SetString", cx.exc("NameError"), cx.cstr("__build_class__ not found"))
        cx.fail()
    cx.incref(bc)
    return bc


def load_from_mapping(cx, mapping, name: str):
    """The mapping half of LOAD_FROM_DICT_OR_GLOBALS / _OR_DEREF: a new reference, or NULL
    (no error) when the name is missing; a lookup error fails the op."""
    b = cx.b
    key = cx.pyobj(sys.intern(name))
    is_dict = b.icmp_unsigned("==", cx.type_of(mapping), cx.obj_static("PyDict_Type"))
    res = b.alloca(support.OBJ)
    with b.if_else(is_dict) as (exact, other):
        with exact:
            v = cx.call("PyDict_GetItemWithError", mapping, key)
            with b.if_then(b.icmp_unsigned("==", v, NULL), likely=False):
                cx.fail_if(b.icmp_unsigned("!=", cx.call("PyErr_Occurred"), NULL))
            with b.if_then(b.icmp_unsigned("!=", v, NULL)):
                cx.incref(v)
            b.store(v, res)
        with other:
            v = cx.call("PyObject_GetItem", mapping, key)
            with b.if_then(b.icmp_unsigned("==", v, NULL)):
                matches = cx.call("PyErr_ExceptionMatches", cx.exc("KeyError"))
                cx.fail_if(b.icmp_signed("==", matches, cx.i32(0)))
                cx.call("PyErr_Clear")
            b.store(v, res)
    return b.load(res, typ=support.OBJ)


@lowers(ops.LoadFromDictOrGlobals)
def lower_load_from_dict_or_globals(cx, op):
    """LOAD_FROM_DICT_OR_GLOBALS (annotation scopes of classes): the mapping, then
    globals and builtins as LOAD_GLOBAL, with its NameError."""
    b = cx.b
    found = load_from_mapping(cx, cx.v(op.mapping), op.name)
    start = b.block
    miss = cx.fn.append_basic_block("dictorglobals.miss")
    done = cx.fn.append_basic_block("dictorglobals.done")
    b.cbranch(b.icmp_unsigned("==", found, NULL), miss, done)
    b.position_at_end(miss)
    glob = load_global(cx, op.name)
    miss_end = b.block
    b.branch(done)
    b.position_at_end(done)
    phi = b.phi(support.OBJ)
    phi.add_incoming(found, start)
    phi.add_incoming(glob, miss_end)
    return phi
