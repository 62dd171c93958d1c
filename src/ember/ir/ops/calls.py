"""Calls, intrinsics, and function creation."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ember.ir import types as T
from ember.ir.core import Value
from ember.ir.ops.base import Op, register


@register
@dataclass(slots=True, eq=False, kw_only=True)
class Call(Op):
    """CALL (with KW_NAMES folded in). As in ceval.c: if `method` is not NULL it is the
    callable and `callable` is its first argument; the last `len(kwnames)` of `args` are
    keyword arguments."""

    opname = "call"
    may_raise = True
    operand_types = {"method": T.ObjectOrNull}
    kwnames: tuple[str, ...]
    method: Value
    callable: Value
    args: tuple[Value, ...]

    def check(self) -> str | None:
        if len(self.kwnames) > len(self.args):
            return f"{len(self.kwnames)} keyword names but only {len(self.args)} arguments"
        return None


@register
@dataclass(slots=True, eq=False, kw_only=True)
class CallFunctionEx(Op):
    """`func(*callargs, **kwargs)`; the NULL CPython keeps below `func` is dropped."""

    opname = "call_function_ex"
    may_raise = True
    func: Value
    callargs: Value
    kwargs: Value | None = None


class Intrinsic1(enum.StrEnum):
    """CALL_INTRINSIC_1 functions: CPython's INTRINSIC_* names, lowercase, no prefix."""

    PRINT = "print"
    IMPORT_STAR = "import_star"
    STOPITERATION_ERROR = "stopiteration_error"
    ASYNC_GEN_WRAP = "async_gen_wrap"
    UNARY_POSITIVE = "unary_positive"
    LIST_TO_TUPLE = "list_to_tuple"
    TYPEVAR = "typevar"
    PARAMSPEC = "paramspec"
    TYPEVARTUPLE = "typevartuple"
    SUBSCRIPT_GENERIC = "subscript_generic"
    TYPEALIAS = "typealias"


class Intrinsic2(enum.StrEnum):
    PREP_RERAISE_STAR = "prep_reraise_star"
    TYPEVAR_WITH_BOUND = "typevar_with_bound"
    TYPEVAR_WITH_CONSTRAINTS = "typevar_with_constraints"
    SET_FUNCTION_TYPE_PARAMS = "set_function_type_params"


@register
@dataclass(slots=True, eq=False, kw_only=True)
class CallIntrinsic1(Op):
    opname = "call_intrinsic_1"
    may_raise = True
    which: Intrinsic1
    value: Value


@register
@dataclass(slots=True, eq=False, kw_only=True)
class CallIntrinsic2(Op):
    opname = "call_intrinsic_2"
    may_raise = True
    which: Intrinsic2
    value1: Value
    value2: Value

    def released(self) -> tuple[Value, ...]:
        return (self.value2, self.value1)  # CALL_INTRINSIC_2's (value2, value1)


@register
@dataclass(slots=True, eq=False, kw_only=True)
class MakeFunction(Op):
    """MAKE_FUNCTION; 3.12 takes the optional parts in one instruction (its oparg flags),
    so each is an optional operand here rather than a SET_FUNCTION_ATTRIBUTE (3.13)."""

    opname = "make_function"
    result = T.Function
    may_raise = True
    code: Value
    defaults: Value | None = None
    kwdefaults: Value | None = None
    annotations: Value | None = None
    closure: Value | None = None
