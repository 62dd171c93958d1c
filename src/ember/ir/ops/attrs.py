"""Attribute access, including the method-call forms of LOAD_ATTR and LOAD_SUPER_ATTR."""

from __future__ import annotations

from dataclasses import dataclass

from ember.ir import types as T
from ember.ir.core import Value
from ember.ir.ops.base import Op, register


@register
@dataclass(slots=True, eq=False, kw_only=True)
class LoadAttr(Op):
    opname = "load_attr"
    may_raise = True
    name: str
    obj: Value


@register
@dataclass(slots=True, eq=False, kw_only=True)
class LoadMethod(Op):
    """LOAD_ATTR with the method bit. Items, as CALL expects them: 0 is the unbound method
    or NULL, 1 is `obj` (when 0 is a method) or the attribute."""

    opname = "load_method"
    result = T.Multi
    may_raise = True
    name: str
    obj: Value

    def result_items(self) -> tuple[T.Type, ...]:
        return (T.ObjectOrNull, T.Object)


@register
@dataclass(slots=True, eq=False, kw_only=True)
class LoadSuperAttr(Op):
    """`super(cls, self).name`; `two_args` is CPython's oparg bit 2 (call super with the
    two arguments rather than none)."""

    opname = "load_super_attr"
    may_raise = True
    name: str
    two_args: bool
    global_super: Value
    cls: Value
    self_: Value


@register
@dataclass(slots=True, eq=False, kw_only=True)
class LoadSuperMethod(Op):
    """LOAD_SUPER_ATTR with the method bit; items as for `load_method`."""

    opname = "load_super_method"
    result = T.Multi
    may_raise = True
    name: str
    two_args: bool
    global_super: Value
    cls: Value
    self_: Value

    def result_items(self) -> tuple[T.Type, ...]:
        return (T.ObjectOrNull, T.Object)


@register
@dataclass(slots=True, eq=False, kw_only=True)
class StoreAttr(Op):
    opname = "store_attr"
    result = T.Void
    may_raise = True
    name: str
    obj: Value
    value: Value

    def released(self) -> tuple[Value, ...]:
        return (self.value, self.obj)  # STORE_ATTR's stack is (v, owner)


@register
@dataclass(slots=True, eq=False, kw_only=True)
class DeleteAttr(Op):
    opname = "delete_attr"
    result = T.Void
    may_raise = True
    name: str
    obj: Value
