"""Imports: import_name (IMPORT_NAME).

ceval.c's `import_name` calls `builtins.__import__` (looked up in the frame's builtins
each time); its fast path for the default `__import__` calls the same
`PyImport_ImportModuleLevelObject` that `__import__` itself does, so calling
`__import__(name, globals, None, fromlist, level)` is exact either way (our frame has no
`f_locals`). `import_from` is not lowered yet: its error messages (`import_from` in
ceval.c) have no C API to reuse.
"""

from __future__ import annotations

import sys

from ember import abi
from ember.backend import support
from ember.ir import ops
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
