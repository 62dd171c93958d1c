"""Imports: import_name (IMPORT_NAME), import_from (IMPORT_FROM).

ceval.c's `import_name` calls `builtins.__import__` (looked up in the frame's builtins
each time); its fast path for the default `__import__` calls the same
`PyImport_ImportModuleLevelObject` that `__import__` itself does, so calling
`__import__(name, globals, None, fromlist, level)` is exact either way (our frame has no
`f_locals`).

`import_from` is ceval.c's `import_from`: `_PyObject_LookupAttr(module, name)` inline; only
when the attribute is missing does the cold `ember.import_from_missing` run, a transcript of
the rest of that function against the C API: the fallback to `sys.modules["pkg.name"]`
(issue 17636, circular relative imports), then ImportError with ceval's three messages
(unknown location / partially initialized module / plain) and the `name`, `path` and
`name_from` attributes that `_PyErr_SetImportErrorWithNameFrom` (not exported) sets, made
the way it makes them: `ImportError(msg, name=, path=, name_from=)`, raised as its type.
Nothing runs in another Python frame, so a module `__getattr__` sees our frame as caller.
"""

from __future__ import annotations

import sys

from llvmlite import ir

from ember import abi
from ember.backend import support
from ember.ir import ops
from ember.lower import prebuild, pyhelpers
from ember.lower.registry import lowers

NULL = support.NULL
OBJ = support.OBJ


@lowers(ops.ImportName)
def lower_import_name(cx, op):
    b = cx.b
    builtins = support.load_field(b, cx.fn.args[0], abi.Function.func_builtins)
    imp = cx.call("PyDict_GetItemWithError", builtins, cx.pyobj(sys.intern("__import__")))
    with b.if_then(b.icmp_unsigned("==", imp, NULL), likely=False):
        with b.if_then(b.icmp_unsigned("==", cx.call("PyErr_Occurred"), NULL)):
            cx.call("PyErr_SetString", cx.exc("ImportError"), cx.cstr("__import__ not found"))
        cx.fail()
    cx.incref(imp)
    with b.goto_block(cx.fn.entry_basic_block):
        b.position_at_start(cx.fn.entry_basic_block)
        stack = b.alloca(OBJ, size=5, name="importargs")
    glob = support.load_field(b, cx.fn.args[0], abi.Function.func_globals)
    for i, v in enumerate((cx.pyobj(sys.intern(op.name)), glob, cx.none(),
                           cx.v(op.fromlist), cx.v(op.level))):
        b.store(v, b.gep(stack, [cx.i64(i)], source_etype=OBJ))
    res = cx.call("PyObject_Vectorcall", imp, stack, cx.i64(5), NULL)
    cx.decref(imp)
    return cx.check_null(res)


@lowers(ops.ImportFrom)
def lower_import_from(cx, op):
    b = cx.b
    module = cx.v(op.module)
    name = cx.pyobj(sys.intern(op.name))
    with b.goto_block(cx.fn.entry_basic_block):
        b.position_at_start(cx.fn.entry_basic_block)
        slot = b.alloca(OBJ, name="importfrom")
    found = cx.call("_PyObject_LookupAttr", module, name, slot)
    attr = b.load(slot, typ=OBJ)  # NULL when the lookup raised or found nothing
    start = b.block
    missing = cx.fn.append_basic_block("importfrom.missing")
    done = cx.fn.append_basic_block("importfrom.done")
    b.cbranch(b.icmp_signed("==", found, cx.i32(0)), missing, done)
    b.position_at_end(missing)
    fallback = b.call(_missing_fn(cx), [module, name])
    missing_end = b.block
    b.branch(done)
    b.position_at_end(done)
    res = b.phi(OBJ)
    res.add_incoming(attr, start)
    res.add_incoming(fallback, missing_end)
    return cx.check_null(res)


@prebuild.helper("ember.import_from_missing")
def _missing_fn(cx):
    return pyhelpers.native(cx, "ember.import_from_missing", OBJ, [OBJ, OBJ], _build_missing)


def _unicode(cx, obj):
    return pyhelpers.has_flag(cx, obj, abi.TPFLAGS_UNICODE_SUBCLASS)


def _build_missing(cx, fn):
    """ceval.c import_from after `_PyObject_LookupAttr` found nothing (no error set)."""
    b = cx.b
    v, name = fn.args
    error = fn.append_basic_block("error")
    pkgname_slot = b.alloca(OBJ, name="pkgname")
    b.store(NULL, pkgname_slot)
    pkgname = cx.call("PyObject_GetAttr", v, cx.pyobj(sys.intern("__name__")))
    with b.if_then(b.icmp_unsigned("==", pkgname, NULL), likely=False):
        b.branch(error)
    with b.if_then(b.not_(_unicode(cx, pkgname)), likely=False):
        cx.decref(pkgname)
        b.branch(error)
    b.store(pkgname, pkgname_slot)
    full = cx.call("PyUnicode_FromFormat", cx.cstr("%U.%U"), pkgname, name)
    with b.if_then(b.icmp_unsigned("==", full, NULL), likely=False):
        cx.decref(pkgname)
        b.ret(NULL)
    x = cx.call("PyImport_GetModule", full)
    cx.decref(full)
    with b.if_then(b.icmp_unsigned("==", x, NULL), likely=False):
        with b.if_then(b.icmp_unsigned("==", cx.call("PyErr_Occurred"), NULL)):
            b.branch(error)
    cx.decref(pkgname)
    b.ret(x)

    b.position_at_end(error)
    pkgname = b.load(pkgname_slot, typ=OBJ)
    pkgpath = cx.call("PyModule_GetFilenameObject", v)
    no_name = b.icmp_unsigned("==", pkgname, NULL)
    with b.if_then(no_name, likely=False):
        unknown = cx.call("PyUnicode_FromString", cx.cstr("<unknown module name>"))
        with b.if_then(b.icmp_unsigned("==", unknown, NULL), likely=False):
            cx.xdecref(pkgpath)
            b.ret(NULL)
        b.store(unknown, pkgname_slot)
    pkgname_or_unknown = b.load(pkgname_slot, typ=OBJ)
    msg_slot = b.alloca(OBJ, name="errmsg")
    path_ok = b.alloca(support.I1, name="path_ok")
    b.store(b.icmp_unsigned("!=", pkgpath, NULL), path_ok)
    with b.if_then(b.load(path_ok)):
        b.store(_unicode(cx, pkgpath), path_ok)
    with b.if_else(b.load(path_ok)) as (known, unknown_path):
        with known:
            spec = cx.call("PyObject_GetAttr", v, cx.pyobj(sys.intern("__spec__")))
            init = cx.call("_PyModuleSpec_IsInitializing", spec)
            cx.xdecref(spec)
            partial = b.icmp_signed("!=", init, cx.i32(0))
            fmt = pyhelpers.select_cstr(
                cx, partial, "cannot import name %R from partially initialized module %R "
                "(most likely due to a circular import) (%S)",
                "cannot import name %R from %R (%S)")
            b.store(cx.call("PyUnicode_FromFormat", fmt, name, pkgname_or_unknown, pkgpath),
                    msg_slot)
        with unknown_path:
            cx.call("PyErr_Clear")
            b.store(cx.call("PyUnicode_FromFormat",
                            cx.cstr("cannot import name %R from %R (unknown location)"),
                            name, pkgname_or_unknown), msg_slot)
    errmsg = b.load(msg_slot, typ=OBJ)
    # pkgname (NULL if unknown) and the path only when it is a str, as ceval passes them
    path_arg = b.select(b.load(path_ok), pkgpath, NULL)
    _set_import_error(cx, errmsg, b.select(no_name, NULL, pkgname_or_unknown), path_arg,
                      name)
    cx.xdecref(errmsg)
    cx.xdecref(pkgname_or_unknown)
    cx.xdecref(pkgpath)
    b.ret(NULL)


def _set_import_error(cx, msg, name, path, name_from):
    """_PyErr_SetImportErrorSubclassWithNameFrom(PyExc_ImportError, ...): NULL arguments
    are None; the exception is made by calling ImportError with keywords."""
    b = cx.b
    with b.if_else(b.icmp_unsigned("==", msg, NULL)) as (no_msg, has_msg):
        with no_msg:
            cx.call("PyErr_SetString", cx.exc("TypeError"),
                    cx.cstr("expected a message argument"))
        with has_msg:
            kwargs = cx.call("PyDict_New")
            with b.if_then(b.icmp_unsigned("!=", kwargs, NULL)):
                filled = b.alloca(support.I1)
                b.store(ir.Constant(support.I1, 1), filled)
                for key, val in (("name", name), ("path", path), ("name_from", name_from)):
                    with b.if_then(b.load(filled)):
                        val = b.select(b.icmp_unsigned("==", val, NULL), cx.none(), val)
                        r = cx.call("PyDict_SetItem", kwargs, cx.pyobj(sys.intern(key)), val)
                        b.store(b.icmp_signed(">=", r, cx.i32(0)), filled)
                with b.if_then(b.load(filled)):
                    argv = b.alloca(OBJ)
                    b.store(msg, argv)
                    err = cx.call("PyObject_VectorcallDict", cx.exc("ImportError"), argv,
                                  cx.i64(1), kwargs)
                    with b.if_then(b.icmp_unsigned("!=", err, NULL)):
                        cx.call("PyErr_SetObject", cx.type_of(err), err)
                        cx.decref(err)
                cx.decref(kwargs)
