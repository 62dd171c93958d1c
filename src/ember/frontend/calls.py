"""Calls (KW_NAMES folded into the CALL it precedes), intrinsics, MAKE_FUNCTION and
FORMAT_VALUE."""

from __future__ import annotations

from ember.bytecode import Refused
from ember.bytecode.opcodes import FVS_HAVE_SPEC, INTRINSIC_1, INTRINSIC_2
from ember.ir.ops import (
    Call,
    CallFunctionEx,
    CallIntrinsic1,
    CallIntrinsic2,
    Conversion,
    FormatValue,
    Intrinsic1,
    Intrinsic2,
    MakeFunction,
)

from .registry import handles

_CONVERSIONS = (Conversion.NONE, Conversion.STR, Conversion.REPR, Conversion.ASCII)


def _intrinsics(descs, enum):
    # Index 0 is INTRINSIC_*_INVALID, which the compiler never emits.
    return (None,) + tuple(enum(name.removeprefix("INTRINSIC_").lower()) for name in descs[1:])


_INTRINSIC_1 = _intrinsics(INTRINSIC_1, Intrinsic1)
_INTRINSIC_2 = _intrinsics(INTRINSIC_2, Intrinsic2)


@handles("KW_NAMES")
def kw_names(b, ins):
    if ins is b.bb.last:
        raise Refused("kw_names_at_block_end", f"offset {ins.offset}")
    b.kwnames = b.fb.code.co_consts[ins.arg]


@handles("CALL")
def call(b, ins):
    args = b.popn(ins.arg)
    callable_ = b.pop()
    method = b.pop()
    kwnames, b.kwnames = b.kwnames, ()
    b.push(b.emit(Call, kwnames=kwnames, method=method, callable=callable_, args=args))


@handles("CALL_FUNCTION_EX")
def call_function_ex(b, ins):
    kwargs = b.pop() if ins.arg & 1 else None
    callargs = b.pop()
    func = b.pop()
    b.pop()  # the NULL (or method) slot CPython ignores here
    b.push(b.emit(CallFunctionEx, func=func, callargs=callargs, kwargs=kwargs))


def _intrinsic(table, arg, kind):
    which = table[arg] if 0 < arg < len(table) else None
    if which is None:
        raise Refused("invalid_intrinsic", f"{kind} {arg}")
    return which


@handles("CALL_INTRINSIC_1")
def call_intrinsic_1(b, ins):
    which = _intrinsic(_INTRINSIC_1, ins.arg, "CALL_INTRINSIC_1")
    b.push(b.emit(CallIntrinsic1, which=which, value=b.pop()))


@handles("CALL_INTRINSIC_2")
def call_intrinsic_2(b, ins):
    which = _intrinsic(_INTRINSIC_2, ins.arg, "CALL_INTRINSIC_2")
    # bytecodes.c: (value2, value1 -- res), called as f(value2, value1).
    value1 = b.pop()
    value2 = b.pop()
    b.push(b.emit(CallIntrinsic2, which=which, value1=value1, value2=value2))


@handles("MAKE_FUNCTION")
def make_function(b, ins):
    a = ins.arg
    code = b.pop()
    closure = b.pop() if a & 0x08 else None
    annotations = b.pop() if a & 0x04 else None
    kwdefaults = b.pop() if a & 0x02 else None
    defaults = b.pop() if a & 0x01 else None
    b.push(
        b.emit(
            MakeFunction,
            code=code,
            defaults=defaults,
            kwdefaults=kwdefaults,
            annotations=annotations,
            closure=closure,
        )
    )


@handles("FORMAT_VALUE")
def format_value(b, ins):
    spec = b.pop() if (ins.arg & FVS_HAVE_SPEC) == FVS_HAVE_SPEC else None
    value = b.pop()
    conv = _CONVERSIONS[ins.arg & 3]
    b.push(b.emit(FormatValue, conversion=conv, value=value, spec=spec))
