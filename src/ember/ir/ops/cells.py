"""Cells and free variables. A cell lives in its fast-locals slot, as in CPython."""

from __future__ import annotations

from dataclasses import dataclass

from ember.ir import types as T
from ember.ir.core import Value
from ember.ir.ops.base import Op, register


@register
@dataclass(slots=True, eq=False, kw_only=True)
class MakeCell(Op):
    """A new cell holding `value` (NULL for a cell that is not an argument)."""

    opname = "make_cell"
    result = T.Cell
    may_raise = True
    operand_types = {"value": T.ObjectOrNull}
    value: Value


@register
@dataclass(slots=True, eq=False, kw_only=True)
class CopyFreeVar(Op):
    """Cell `index` of the running function's `__closure__` (one per COPY_FREE_VARS slot)."""

    opname = "copy_free_var"
    result = T.Cell
    index: int


@register
@dataclass(slots=True, eq=False, kw_only=True)
class LoadDeref(Op):
    opname = "load_deref"
    may_raise = True
    name: str
    cell: Value


@register
@dataclass(slots=True, eq=False, kw_only=True)
class StoreDeref(Op):
    opname = "store_deref"
    result = T.Void
    cell: Value
    value: Value


@register
@dataclass(slots=True, eq=False, kw_only=True)
class DeleteDeref(Op):
    opname = "delete_deref"
    result = T.Void
    may_raise = True
    name: str
    cell: Value


@register
@dataclass(slots=True, eq=False, kw_only=True)
class LoadFromDictOrDeref(Op):
    """Class bodies: `mapping[name]` if present, else the cell's contents."""

    opname = "load_from_dict_or_deref"
    may_raise = True
    name: str
    mapping: Value
    cell: Value
