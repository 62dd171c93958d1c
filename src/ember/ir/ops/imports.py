"""Imports. `from m import *` is `call_intrinsic_1[which=import_star]`."""

from __future__ import annotations

from dataclasses import dataclass

from ember.ir.core import Value
from ember.ir.ops.base import Op, register


@register
@dataclass(slots=True, eq=False, kw_only=True)
class ImportName(Op):
    opname = "import_name"
    may_raise = True
    name: str
    level: Value
    fromlist: Value


@register
@dataclass(slots=True, eq=False, kw_only=True)
class ImportFrom(Op):
    opname = "import_from"
    may_raise = True
    name: str
    module: Value
