"""The text form of a Function. The grammar, by example:

    function 'mod.f' {
      name='f' file='x.py' line=3 flags=0x3
      argcount=2 posonly=0 kwonly=0
      varnames=('a', 'b') cellvars=() freevars=() names=('g',)
      consts=(None, 1.5, <code f.<locals>.h #2>)
    bb0(%0: object, %1: object) @0:
      %2: object = binary_op[op=add] %0, %1 @6 fs(@6; locals=[%0, %1]; stack=[%0, %1]; handler=bb4/1/lasti)
      %3: multi = load_method[name=append] %2 @8 fs(@8; locals=[%0, %1]; stack=[%2])
      %4: nullable = extract[index=0] %3 @8
      %5: object = call[kwnames=('x',)] %4, %2, (%0, %1) @10 fs(...)
      branch %7, bb1(%5), bb2() @12
    bb1(%8: object) @14:
      return %8 @14
    }

An op line is `[%N: type = ]opname[attr=value, ...] operands @offset [fs(...)]`, the
result part present iff the type is not `void`, attributes and operands in field order.
Operands: `%N`, `_` (absent optional operand), `(%a, %b)` (operand list) and
`label(%a, %b)` (an edge). Values are numbered afresh on every print, in block order.
"""

from __future__ import annotations

import enum
import re

from ember.ir import types as T
from ember.ir.consts import format_const, is_literal
from ember.ir.core import Block, Function, Value
from ember.ir.ops.base import Kind, Op

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def format_str(s: str) -> str:
    return s if _IDENT.match(s) else repr(s)


class ValueNames:
    """`%N` names in definition order; `print_function` and the verifier's messages share
    them. Call `define` for each value in block order, then call the object to name one."""

    def __init__(self) -> None:
        self.names: dict[int, str] = {}

    def define(self, v: Value) -> str:
        name = f"%{len(self.names)}"
        self.names[id(v)] = name
        return name

    def __call__(self, v: Value) -> str:
        name = self.names.get(id(v))
        # A use of something never defined in this function: print it recognisably
        # rather than fail, so broken IR can still be dumped and read.
        return name if name is not None else f"%undef.{id(v):x}"


def print_function(func: Function) -> str:
    index_of = {id(c): i for i, c in enumerate(func.consts) if not is_literal(c)}
    names = ValueNames()
    for block in func.blocks:
        for p in block.params:
            names.define(p)
        for op in block.ops:
            if op.type != T.Void:
                names.define(op)
    q = repr
    lines = [
        f"function {q(func.qualname)} {{",
        f"  name={q(func.name)} file={q(func.filename)} line={func.firstlineno}"
        f" flags={func.flags:#x}",
        f"  argcount={func.argcount} posonly={func.posonlyargcount}"
        f" kwonly={func.kwonlyargcount}",
        f"  varnames={format_const(func.varnames)} cellvars={format_const(func.cellvars)}"
        f" freevars={format_const(func.freevars)} names={format_const(func.names)}",
        f"  consts={format_const(tuple(func.consts), index_of)}",
    ]
    for block in func.blocks:
        lines.append(_block_header(block, names))
        for op in block.ops:
            lines.append("  " + format_op(op, names, index_of))
        if block.terminator is not None:
            lines.append("  " + format_op(block.terminator, names, index_of))
    lines.append("}")
    return "\n".join(lines) + "\n"


def _block_header(block: Block, names: ValueNames) -> str:
    params = ", ".join(f"{names(p)}: {p.type}" for p in block.params)
    return f"{block.label}({params}) @{block.offset}:"


def format_attr(value: object, attr_type: object, index_of: dict[int, int]) -> str:
    if isinstance(value, enum.Enum):
        return str(value.value)
    if attr_type is str and isinstance(value, str):
        return format_str(value)
    return format_const(value, index_of)


def format_op(op: Op, names: ValueNames, index_of: dict[int, int] | None = None) -> str:
    index_of = index_of or {}
    parts: list[str] = []
    if op.type != T.Void:
        parts.append(f"{names(op)}: {op.type} = ")
    parts.append(op.opname)
    attrs = [
        f"{f.name}={format_attr(getattr(op, f.name), f.attr_type, index_of)}"
        for f in op.op_fields
        if f.kind is Kind.ATTR
    ]
    if attrs:
        parts.append("[" + ", ".join(attrs) + "]")
    operands: list[str] = []
    for f in op.op_fields:
        v = getattr(op, f.name)
        if f.kind is Kind.OPERAND:
            operands.append(names(v))
        elif f.kind is Kind.OPT_OPERAND:
            operands.append("_" if v is None else names(v))
        elif f.kind is Kind.OPERANDS:
            if not v and op.__dataclass_fields__[f.name].default == ():
                continue  # an empty list that defaults to empty (the parser's _may_omit)
            operands.append("(" + ", ".join(names(x) for x in v) + ")")
        elif f.kind is Kind.EDGE:
            args = ", ".join(names(x) for x in v.args)
            operands.append(f"{v.block.label}({args})")
    if operands:
        parts.append(" " + ", ".join(operands))
    parts.append(f" @{op.offset}")
    fs = op.frame_state
    if fs is not None:
        loc = ", ".join(names(v) for v in fs.locals)
        stk = ", ".join(names(v) for v in fs.stack)
        text = f" fs(@{fs.offset}; locals=[{loc}]; stack=[{stk}]"
        h = fs.handler
        if h is not None:
            text += f"; handler={h.block.label}/{h.depth}{'/lasti' if h.lasti else ''}"
        parts.append(text + ")")
    return "".join(parts)
