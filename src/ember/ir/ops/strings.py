"""f-string pieces."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ember.ir import types as T
from ember.ir.core import Value
from ember.ir.ops.base import Op, register


class Conversion(enum.StrEnum):
    NONE = "none"
    STR = "str"
    REPR = "repr"
    ASCII = "ascii"


@register
@dataclass(slots=True, eq=False, kw_only=True)
class FormatValue(Op):
    """`format(conversion(value), spec)`; always returns a str."""

    opname = "format_value"
    result = T.Str
    may_raise = True
    conversion: Conversion
    value: Value
    spec: Value | None = None


@register
@dataclass(slots=True, eq=False, kw_only=True)
class BuildString(Op):
    opname = "build_string"
    result = T.Str
    may_raise = True
    parts: tuple[Value, ...]

    def released(self) -> tuple[Value, ...]:
        return self.parts[::-1]  # DECREF_INPUTS releases an array input from its end
