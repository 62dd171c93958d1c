"""Constants, NULL, and `extract` (taking one result out of a multi-result op)."""

from __future__ import annotations

from dataclasses import dataclass

from ember.ir import types as T
from ember.ir.core import Value
from ember.ir.ops.base import Op, register


@register
@dataclass(slots=True, eq=False, kw_only=True)
class Const(Op):
    """A constant, held by reference (for code objects, the very `co_consts[i]` object)."""

    opname = "const"
    value: object

    def default_type(self) -> T.Type:
        return T.type_of_constant(self.value)


@register
@dataclass(slots=True, eq=False, kw_only=True)
class Null(Op):
    """The C NULL: an unbound local, PUSH_NULL, the empty slot of LOAD_FAST_AND_CLEAR."""

    opname = "null"
    result = T.Null


@register
@dataclass(slots=True, eq=False, kw_only=True)
class Extract(Op):
    """Item `index` of a `multi` value; what the item means is documented on its producer."""

    opname = "extract"
    result = T.Storable
    operand_types = {"value": T.Multi}
    index: int
    value: Value

    def default_type(self) -> T.Type:
        producer = self.value
        if isinstance(producer, Op):
            items = producer.result_items()
            if 0 <= self.index < len(items):
                return items[self.index]
        return T.Object

    def check(self) -> str | None:
        producer = self.value
        if not isinstance(producer, Op) or producer.type != T.Multi:
            return "operand is not the result of a multi-result op"
        items = producer.result_items()
        if not 0 <= self.index < len(items):
            return f"index {self.index} out of range: {producer.opname} has {len(items)} items"
        if not self.type <= items[self.index]:
            return f"type {self.type} is not within item type {items[self.index]}"
        return None
