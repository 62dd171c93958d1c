"""Terminators that do not raise: jump, branch, return, unreachable."""

from __future__ import annotations

from dataclasses import dataclass

from ember.ir import types as T
from ember.ir.core import Edge, Value
from ember.ir.ops.base import Op, register


@register
@dataclass(slots=True, eq=False, kw_only=True)
class Jump(Op):
    opname = "jump"
    result = T.Void
    is_terminator = True
    target: Edge


@register
@dataclass(slots=True, eq=False, kw_only=True)
class Branch(Op):
    """Two-way branch on a C truth value (make one with `truth`, `is_none`, `is_null`)."""

    opname = "branch"
    result = T.Void
    is_terminator = True
    operand_types = {"cond": T.CBool}
    cond: Value
    if_true: Edge
    if_false: Edge


@register
@dataclass(slots=True, eq=False, kw_only=True)
class Return(Op):
    """Leave the function with `value`. `locals` are the fast locals as RETURN finds them
    (CPython's order; `null` for unbound), so the frame clears exactly what CPython's
    would, even after stores that no raising op followed (`except E as e:` ends with
    `e = None; del e` right before the return)."""

    opname = "return"
    result = T.Void
    is_terminator = True
    operand_types = {"locals": T.ObjectOrNull}
    value: Value
    locals: tuple[Value, ...] = ()


@register
@dataclass(slots=True, eq=False, kw_only=True)
class Unreachable(Op):
    opname = "unreachable"
    result = T.Void
    is_terminator = True
