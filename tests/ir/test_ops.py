"""The op registry: every op is well-formed and the generated accessors behave."""

from __future__ import annotations

import dataclasses
import re

import pytest

from ember.ir import (
    OPS,
    Block,
    BuildMap,
    Call,
    Const,
    Edge,
    FrameState,
    Jump,
    Kind,
    LoadMethod,
    Null,
    Op,
    parse_function,
    register,
)
from ember.ir import (
    types as T,
)
from ember.ir.ops import Branch, Extract


def test_opnames_unique_and_snake_case():
    assert len(OPS) >= 90
    for name, cls in OPS.items():
        assert cls.opname == name
        assert re.fullmatch(r"[a-z][a-z0-9_]*", name), name
        assert dataclasses.is_dataclass(cls) and "__slots__" in cls.__dict__
        assert cls.result == T.Void or not cls.is_terminator


def test_generated_inputs_and_replace():
    a, b, c = (Const(value=i, offset=0) for i in range(3))
    m = Null(offset=0)
    call = Call(kwnames=("k",), method=m, callable=a, args=[b, a], offset=4)
    assert call.args == (b, a)  # lists become tuples
    assert call.inputs() == (m, a, b, a)
    assert call.replace_input(a, c) == 2
    assert call.inputs() == (m, c, b, c)
    blk = Block("bb1")
    j = Jump(target=Edge(blk, [a, b]), offset=0)
    assert j.inputs() == (a, b) and j.successors() == (blk,)
    j.replace_input(b, c)
    assert j.target.args == (a, c)
    br = Branch(cond=m, if_true=Edge(blk, (a,)), if_false=Edge(blk, ()), offset=0)
    assert br.inputs() == (m, a)


def test_uses_include_frame_state():
    a, b = Const(value=1, offset=0), Const(value=2, offset=0)
    op = LoadMethod(name="x", obj=a, offset=2, frame_state=FrameState(2, (b,), (a,)))
    assert op.inputs() == (a,)
    assert op.uses() == (a, b, a)
    op.replace_uses(a, b)
    assert op.uses() == (b, b, b)


def test_replace_all_uses():
    func = parse_function(
        "function 'f' {\n"
        "  name='f' file='' line=0 flags=0x0\n"
        "  argcount=1 posonly=0 kwonly=0\n"
        "  varnames=('a',) cellvars=() freevars=() names=()\n"
        "  consts=()\n"
        "bb0(%0: object) @0:\n"
        "  %1: object = get_iter %0 @2 fs(@2; locals=[%0]; stack=[%0])\n"
        "  jump bb1(%0) @4\n"
        "bb1(%2: object) @6:\n"
        "  return %2 @6\n"
        "}\n"
    )
    a = func.blocks[0].params[0]
    b = Const(value=None, offset=0)
    func.blocks[0].ops.insert(0, b)
    assert func.replace_all_uses(a, b) == 2
    get_iter, jump = func.blocks[0].ops[1], func.blocks[0].terminator
    assert get_iter.uses() == (b, b, b) and jump.inputs() == (b,)


def test_default_types():
    assert Const(value=1.5, offset=0).type == T.Float
    assert Null(offset=0).type == T.Null
    m = LoadMethod(name="x", obj=Null(offset=0), offset=0)
    assert Extract(index=0, value=m, offset=0).type == T.ObjectOrNull
    assert Extract(index=1, value=m, offset=0).type == T.Object
    assert BuildMap(keys=(), values=(), offset=0).type == T.Dict


def test_field_kinds():
    kinds = {f.name: f.kind for f in Call.op_fields}
    assert kinds == {
        "kwnames": Kind.ATTR, "method": Kind.OPERAND, "callable": Kind.OPERAND, "args": Kind.OPERANDS,
    }


def test_ops_are_final():
    with pytest.raises(TypeError, match="is final"):

        class Sub(Const):  # noqa: F841
            pass


def test_register_rejects_duplicates_and_shadowing():
    with pytest.raises(TypeError, match="duplicate opname"):

        @register
        @dataclasses.dataclass(slots=True, eq=False, kw_only=True)
        class Again(Op):
            opname = "const"

    with pytest.raises(TypeError, match="shadow Op attributes"):

        @register
        @dataclasses.dataclass(slots=True, eq=False, kw_only=True)
        class Shadow(Op):
            opname = "test_shadow_op"
            result: int
