"""Binding a compiled body's parameters: which entry params are borrowed or owned, and
their values from the `args` array the vectorcall entry passes.

`EntryMixin` is part of `function.Lowering` (split out by concept). The entry
(`backend.entry.build_entry`) decides which call shapes reach the body.
"""

from __future__ import annotations

from llvmlite import ir

from ember import abi
from ember.backend import support
from ember.ir import types as T
from ember.lower.liveness import BORROWED, NONE, OWNED
from ember.lower.registry import NotLowered

I64, OBJ = support.I64, support.OBJ
NULL = support.NULL


class EntryMixin:
    def _entry_kinds(self) -> dict:
        func = self.func
        kinds = {}
        nargs = func.argcount + func.kwonlyargcount
        if func.kwonlyargcount:
            raise NotLowered("kwonly", "tier 1: keyword-only arguments are not bound natively")
        extra = 0
        if func.flags & abi.CO_VARARGS:
            extra += 1
        if func.flags & abi.CO_VARKEYWORDS:
            extra += 1
        for i, p in enumerate(func.entry.params):
            if i < nargs:
                kinds[p] = BORROWED
            elif i < nargs + extra:
                kinds[p] = OWNED
            elif p.type <= T.Null:
                kinds[p] = NONE
            else:
                raise NotLowered("entry", f"tier 1: entry parameter {i} is {p.type}")
        return kinds

    def _bind_entry(self, kinds: dict) -> None:
        func, b = self.func, self.b
        args = self.fn.args[1]
        nargs = func.argcount
        varargs = bool(func.flags & abi.CO_VARARGS)
        for i, p in enumerate(func.entry.params):
            if i < nargs:
                addr = b.gep(args, [self.i64(i)], source_etype=OBJ)
                self.values[p] = b.load(addr, typ=OBJ, name=func.varnames[i])
            elif i == nargs and varargs:
                self.values[p] = self._entry_alloc("PyTuple_New", self.i64(0))
            elif kinds[p] == OWNED:
                self.values[p] = self._entry_alloc("PyDict_New")
            else:
                self.values[p] = NULL

    def _entry_alloc(self, name: str, *args) -> ir.Value:
        v = self.call(name, *args)
        fail = self.fn.append_basic_block("entry_nomem")
        ok = self.fn.append_basic_block("entry_ok")
        self.b.cbranch(self.b.icmp_unsigned("==", v, NULL), fail, ok)
        with self.b.goto_block(fail):
            self._pop_frame()
            self._to_exit(NULL)
        self.b.position_at_end(ok)
        return v
