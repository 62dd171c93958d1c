"""IMPORT_NAME and IMPORT_FROM (`import *` is CALL_INTRINSIC_1 import_star)."""

from __future__ import annotations

from ember.ir.ops import ImportFrom, ImportName

from .registry import handles


@handles("IMPORT_NAME")
def import_name(b, ins):
    fromlist = b.pop()
    level = b.pop()
    name = b.fb.code.co_names[ins.arg]
    b.push(b.emit(ImportName, name=name, level=level, fromlist=fromlist))


@handles("IMPORT_FROM")
def import_from(b, ins):
    b.push(b.emit(ImportFrom, name=b.fb.code.co_names[ins.arg], module=b.peek(1)))
