"""Calling the slow paths run by CPython itself (`ember.slowpaths`: tiny Python functions
that execute the very bytecode instruction being lowered, e.g. `a, b = seq` for
UNPACK_SEQUENCE 2), and small helpers for lowering cold paths natively.

Compiled code calls a slow path with `PyObject_Vectorcall`; if it raises, the helper's
own traceback entry (the head of the chain) is removed, so the traceback is what the
interpreter would have produced for the compiled function's instruction.
"""

from __future__ import annotations

from llvmlite import ir

from ember import abi
from ember.backend import support
from ember.lower import prebuild

STRIP = "ember.strip_helper_tb"


def call(cx, helper, args, recipe) -> ir.Value:
    """Call `helper(*args)`; a new reference, or NULL with the helper's entry removed.
    `recipe` rebuilds the helper in another process (`consts.py`)."""
    b = cx.b
    with b.goto_block(cx.fn.entry_basic_block):
        b.position_at_start(cx.fn.entry_basic_block)
        arr = b.alloca(support.OBJ, size=max(len(args), 1), name="helperargs")
    for i, a in enumerate(args):
        b.store(a, b.gep(arr, [cx.i64(i)], source_etype=support.OBJ))
    res = cx.call("PyObject_Vectorcall", cx.pyobj(helper, recipe), arr, cx.i64(len(args)),
                  support.NULL)
    with b.if_then(b.icmp_unsigned("==", res, support.NULL), likely=False):
        b.call(_strip(cx), [])
    return res


@prebuild.helper(STRIP)
def _strip(cx) -> ir.Function:
    def build(fn):
        b = cx.b
        exc = cx.call("PyErr_GetRaisedException")
        tb = cx.call("PyException_GetTraceback", exc)
        with b.if_then(b.icmp_unsigned("!=", tb, support.NULL)):
            nxt = support.load_field(b, tb, abi.Object.SIZE)  # tb_next
            rest = b.select(b.icmp_unsigned("==", nxt, support.NULL), cx.none(), nxt)
            cx.call("PyException_SetTraceback", exc, rest)
            cx.decref(tb)
        cx.call("PyErr_SetRaisedException", exc)
        b.ret_void()

    return cx.shared(STRIP, ir.FunctionType(ir.VoidType(), []), build)


def native(cx, name: str, ret: ir.Type, params: list, build) -> ir.Function:
    """The process-wide helper `name` (compiled once, `Lowering.shared`): a slow path
    written against the C API, as ceval.c's static helpers are. `build(cx, fn)` emits
    its body with `cx.b` inside it; it must not use `cx.fail` (there is no op there)
    nor anything of the function being compiled (`cx.pyobj`, `cx.code`)."""
    return cx.shared(name, ir.FunctionType(ret, params), lambda fn: build(cx, fn))


def tuple_items(cx, tup) -> tuple[ir.Value, ir.Value]:
    """(size as i64, address of item 0) of a tuple."""
    b = cx.b
    size = support.load_field(b, tup, abi.Tuple.ob_size, support.I64)
    return size, support.field_address(b, tup, abi.Tuple.ob_item)


def has_flag(cx, obj, flag: int) -> ir.Value:
    """i1: Py_TYPE(obj)->tp_flags & flag."""
    return type_has_flag(cx, cx.type_of(obj), flag)


def type_has_flag(cx, tp, flag: int) -> ir.Value:
    """i1: tp->tp_flags & flag (PyType_HasFeature)."""
    b = cx.b
    flags = support.load_field(b, tp, abi.Type.tp_flags, support.I64)
    return b.icmp_unsigned("!=", b.and_(flags, ir.Constant(support.I64, flag)),
                           ir.Constant(support.I64, 0))


class Loop:
    """`for i in range(n)` in LLVM IR: `with Loop(cx, n) as i:` emits the body once; after
    the block the builder is at the loop's exit."""

    def __init__(self, cx, n: ir.Value, name: str = "loop"):
        self.cx, self.n, self.name = cx, n, name

    def __enter__(self) -> ir.Value:
        cx = self.cx
        b = cx.b
        self.start = b.block
        fn = b.function
        self.head = fn.append_basic_block(f"{self.name}.head")
        self.body = fn.append_basic_block(f"{self.name}.body")
        self.exit = fn.append_basic_block(f"{self.name}.exit")
        b.branch(self.head)
        b.position_at_end(self.head)
        self.i = b.phi(support.I64, name=f"{self.name}.i")
        self.i.add_incoming(ir.Constant(support.I64, 0), self.start)
        b.cbranch(b.icmp_signed("<", self.i, self.n), self.body, self.exit)
        b.position_at_end(self.body)
        return self.i

    def __exit__(self, *exc) -> None:
        b = self.cx.b
        if exc[0] is not None:
            return
        nxt = b.add(self.i, ir.Constant(support.I64, 1))
        self.i.add_incoming(nxt, b.block)
        b.branch(self.head)
        b.position_at_end(self.exit)


def select_cstr(cx, cond, a: str, b_: str) -> ir.Value:
    """`cond ? "a" : "b"` as a `const char *`."""
    b = cx.b
    ia = b.ptrtoint(cx.cstr(a), support.I64)
    ib = b.ptrtoint(cx.cstr(b_), support.I64)
    return b.inttoptr(b.select(cond, ia, ib), support.OBJ)
