"""Every registered op can be built, verified, printed and parsed back."""

from __future__ import annotations

import enum

import pytest

from ember.ir import (
    OPS,
    Builder,
    Edge,
    FrameState,
    Function,
    IsNone,
    Kind,
    LoadMethod,
    Op,
    Return,
    parse_function,
    print_function,
    verify,
)
from ember.ir import (
    types as T,
)

SAMPLE_ATTRS: dict[object, object] = {int: 1, bool: True, str: "x", tuple: ("a", "b"), object: 1.5}


def build_with(cls: type[Op]) -> Function:
    func = Function("f", qualname="f", varnames=("a",), argcount=1)
    b = Builder(func)
    entry = b.new_block(0, [T.Object])
    b.set_block(entry)
    (a,) = entry.params
    exit_ = b.new_block(10, [T.Object])

    def fs(offset: int) -> FrameState:
        return FrameState(offset, (a,), (a,))

    def operand(want: T.Type):
        if T.Multi <= want:
            return b.emit(LoadMethod(name="m", obj=a, offset=1, frame_state=fs(1)))
        if T.CBool <= want:
            return b.emit(IsNone(value=a, offset=1))
        return a

    kwargs: dict[str, object] = {}
    for f in cls.op_fields:
        if f.kind is Kind.ATTR:
            t = f.attr_type
            kwargs[f.name] = next(iter(t)) if isinstance(t, type) and issubclass(t, enum.Enum) else SAMPLE_ATTRS[t]
        elif f.kind in (Kind.OPERAND, Kind.OPT_OPERAND):
            kwargs[f.name] = operand(f.operand_type)
        elif f.kind is Kind.OPERANDS:
            kwargs[f.name] = (a,) if f.name == "locals" else (a, a)
        elif f.kind is Kind.EDGE:
            kwargs[f.name] = Edge(exit_, (a,))
    if cls.opname == "extract":
        kwargs["index"] = 0
    if cls.opname == "build_map":
        kwargs["values"] = (a, a)
    op = cls(offset=2, frame_state=fs(2) if cls.may_raise else None, **kwargs)
    b.emit(op)
    if not cls.is_terminator:
        b.emit(Return(value=a, offset=4))
    b.set_block(exit_)
    b.emit(Return(value=exit_.params[0], offset=10))
    return func


@pytest.mark.parametrize("opname", sorted(OPS))
def test_op_round_trips(opname):
    func = build_with(OPS[opname])
    verify(func)
    text = print_function(func)
    assert f" {opname}" in text
    again = parse_function(text)
    verify(again)
    assert print_function(again) == text
