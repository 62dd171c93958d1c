"""Inline fast paths on exact builtin types, for the op lowerings (arith, containers,
control): type guards, unboxing of compact ints and floats, and `Join`, which merges the
fast paths with the generic C API call.

Rules every fast path here keeps (so results are CPython's, bit for bit):

- guard on the *exact* type (`Py_TYPE(o) == &PyLong_Type`), never a subclass: `bool`,
  int and float subclasses and everything else take the generic call;
- ints are used only when compact (`lv_tag < 2 << 3`, |v| < 2**30, see `ember.abi`), so
  `+ - *` cannot overflow an i64; results are boxed by `PyLong_FromLongLong`, which gives
  the cached singletons for -5..256 exactly as CPython's own int code does;
- anything the fast path cannot finish exactly (division by zero, an index out of range)
  branches to the generic call, which then raises CPython's own exception and message.

    before: r = PyNumber_Add(a, b)
    after:  if int(a) and int(b) and compact(a, b): r = PyLong_FromLongLong(va + vb)
            elif float(a) and float(b):             r = PyFloat_FromDouble(fa + fb)
            else:                                   r = PyNumber_Add(a, b)
"""

from __future__ import annotations

from llvmlite import ir

from ember import abi
from ember.backend import support

I1, I32, I64, OBJ = support.I1, support.I32, support.I64, support.OBJ
DOUBLE = ir.DoubleType()


class Join:
    """Paths that each end with one value, merged by a phi in a `done` block."""

    def __init__(self, cx, ty: ir.Type, stem: str):
        self.cx = cx
        self.ty = ty
        self.done = cx.fn.append_basic_block(f"{stem}.done")
        self.incoming: list[tuple[ir.Value, ir.Block]] = []

    def add(self, value: ir.Value) -> None:
        """End the current block with `value` as the result."""
        b = self.cx.b
        self.incoming.append((value, b.block))
        b.branch(self.done)

    def finish(self) -> ir.Value:
        b = self.cx.b
        b.position_at_end(self.done)
        phi = b.phi(self.ty)
        for value, block in self.incoming:
            phi.add_incoming(value, block)
        return phi


def block(cx, name: str) -> ir.Block:
    return cx.fn.append_basic_block(name)


def is_exact(cx, obj: ir.Value, type_name: str) -> ir.Value:
    """i1: Py_TYPE(obj) is exactly the static type `type_name` (e.g. "PyLong_Type")."""
    return cx.b.icmp_unsigned("==", cx.type_of(obj), cx.obj_static(type_name))


def both_exact(cx, a: ir.Value, b: ir.Value, type_name: str) -> ir.Value:
    t = cx.obj_static(type_name)
    bl = cx.b
    return bl.and_(
        bl.icmp_unsigned("==", cx.type_of(a), t), bl.icmp_unsigned("==", cx.type_of(b), t)
    )


def long_tag(cx, obj: ir.Value) -> ir.Value:
    return support.load_field(cx.b, obj, abi.Long.lv_tag, I64)


def tags_compact(cx, *tags: ir.Value) -> ir.Value:
    """i1: every lv_tag is below the compact limit (a power of two, so OR them)."""
    b = cx.b
    acc = tags[0]
    for t in tags[1:]:
        acc = b.or_(acc, t)
    return b.icmp_unsigned("<", acc, ir.Constant(I64, abi.LONG_COMPACT_LIMIT))


def compact_value(cx, obj: ir.Value, tag: ir.Value) -> ir.Value:
    """The i64 value of a compact int: (1 - (lv_tag & 3)) * ob_digit[0]."""
    b = cx.b
    digit = b.zext(support.load_field(b, obj, abi.Long.ob_digit, I32), I64)
    sign = b.sub(ir.Constant(I64, 1), b.and_(tag, ir.Constant(I64, abi.LONG_SIGN_MASK)))
    return b.mul(sign, digit)


def float_value(cx, obj: ir.Value) -> ir.Value:
    return support.load_field(cx.b, obj, abi.Float.ob_fval, DOUBLE)


def box_int(cx, value: ir.Value) -> ir.Value:
    """New reference (or NULL with MemoryError) to the int `value` (an i64)."""
    return cx.call("PyLong_FromLongLong", value)


def box_float(cx, value: ir.Value) -> ir.Value:
    return cx.call("PyFloat_FromDouble", value)
