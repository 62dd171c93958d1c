"""f-strings: format_value (FORMAT_VALUE: conversion, then PyObject_Format, which returns
an exact str unchanged for an empty spec) and build_string (BUILD_STRING:
`_PyUnicode_JoinArray` with an empty separator)."""

from __future__ import annotations

from ember.backend import support
from ember.ir import ops
from ember.ir.ops.strings import Conversion
from ember.lower.registry import lowers

_CONVERT = {Conversion.STR: "PyObject_Str", Conversion.REPR: "PyObject_Repr",
            Conversion.ASCII: "PyObject_ASCII"}


@lowers(ops.FormatValue)
def lower_format_value(cx, op):
    value = cx.v(op.value)
    spec = cx.v(op.spec) if op.spec is not None else support.NULL
    if op.conversion in _CONVERT:
        conv = cx.check_null(cx.call(_CONVERT[op.conversion], value))
        res = cx.call("PyObject_Format", conv, spec)
        cx.decref(conv)
        return cx.check_null(res)
    return cx.check_null(cx.call("PyObject_Format", value, spec))


@lowers(ops.BuildString)
def lower_build_string(cx, op):
    b = cx.b
    n = len(op.parts)
    with b.goto_block(cx.fn.entry_basic_block):
        b.position_at_start(cx.fn.entry_basic_block)
        arr = b.alloca(support.OBJ, size=max(n, 1), name="parts")
    for i, p in enumerate(op.parts):
        b.store(cx.v(p), b.gep(arr, [cx.i64(i)], source_etype=support.OBJ))
    return cx.check_null(cx.call("_PyUnicode_JoinArray", cx.pyobj(""), arr, cx.i64(n)))
