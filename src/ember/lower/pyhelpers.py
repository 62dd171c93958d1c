"""Slow paths run by CPython itself: tiny Python functions that execute the very bytecode
instruction being lowered (e.g. `a, b = seq` for UNPACK_SEQUENCE 2), so rare cases get
CPython's exact behaviour and messages without re-implementing them in LLVM IR.

Compiled code calls a helper with `PyObject_Vectorcall`; if it raises, the helper's own
traceback entry (the head of the chain) is removed, so the traceback is what the
interpreter would have produced for the compiled function's instruction. Helpers are
compiled with this file's name, so the runtime never compiles them (Ember's own code).
"""

from __future__ import annotations

from functools import cache

from llvmlite import ir

from ember import abi
from ember.backend import support

STRIP = "ember.strip_helper_tb"


@cache
def unpacker(n: int):
    names = [f"a{i}" for i in range(n)]
    target = "[]" if n == 0 else ", ".join(names) + ("," if n == 1 else "")
    result = "(" + ", ".join(names) + ("," if n == 1 else "") + ")"
    src = f"def unpack(seq):\n    {target} = seq\n    return {result}\n"
    ns: dict = {}
    exec(compile(src, __file__, "exec"), ns)
    return ns["unpack"]


def call(cx, helper, args) -> ir.Value:
    """Call `helper(*args)`; a new reference, or NULL with the helper's entry removed."""
    b = cx.b
    with b.goto_block(cx.fn.entry_basic_block):
        b.position_at_start(cx.fn.entry_basic_block)
        arr = b.alloca(support.OBJ, size=max(len(args), 1), name="helperargs")
    for i, a in enumerate(args):
        b.store(a, b.gep(arr, [cx.i64(i)], source_etype=support.OBJ))
    res = cx.call("PyObject_Vectorcall", cx.pyobj(helper), arr, cx.i64(len(args)),
                  support.NULL)
    with b.if_then(b.icmp_unsigned("==", res, support.NULL), likely=False):
        b.call(_strip(cx), [])
    return res


def _strip(cx) -> ir.Function:
    fn = cx.module.globals.get(STRIP)
    if fn is not None:
        return fn
    fn = ir.Function(cx.module, ir.FunctionType(ir.VoidType(), []), name=STRIP)
    fn.linkage = "internal"
    fn.attributes.add("cold")
    fn.attributes.add("noinline")
    saved, cx.b = cx.b, ir.IRBuilder(fn.append_basic_block("entry"))
    b = cx.b
    try:
        exc = cx.call("PyErr_GetRaisedException")
        tb = cx.call("PyException_GetTraceback", exc)
        with b.if_then(b.icmp_unsigned("!=", tb, support.NULL)):
            nxt = support.load_field(b, tb, abi.Object.SIZE)  # tb_next
            rest = b.select(b.icmp_unsigned("==", nxt, support.NULL), cx.none(), nxt)
            cx.call("PyException_SetTraceback", exc, rest)
            cx.decref(tb)
        cx.call("PyErr_SetRaisedException", exc)
        b.ret_void()
    finally:
        cx.b = saved
    return fn
