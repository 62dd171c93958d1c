"""Binding a compiled body's parameters: which entry params are borrowed or owned, and
their values from the `params` array the vectorcall entry passes.

`EntryMixin` is part of `function.Lowering` (split out by concept). The entry
(`backend.entry.build_entry`) binds the call (or hands it to CPython) and passes the
parameters in fast-locals order: the positional and keyword-only ones borrowed for the
call (by the caller's array or by the entry itself), then the `*args` tuple and the
`**kwargs` dict as new references the body owns.
"""

from __future__ import annotations

from ember import abi
from ember.backend import support
from ember.ir import types as T
from ember.lower.liveness import BORROWED, NONE, OWNED
from ember.lower.registry import NotLowered

I64, OBJ = support.I64, support.OBJ
NULL = support.NULL


class EntryMixin:
    def nparams(self) -> int:
        """How many parameters the entry passes (`backend.entry.Shape.nparams`)."""
        func = self.func
        n = func.argcount + func.kwonlyargcount
        n += bool(func.flags & abi.CO_VARARGS) + bool(func.flags & abi.CO_VARKEYWORDS)
        return n

    def _entry_kinds(self) -> dict:
        func = self.func
        kinds = {}
        nargs = func.argcount + func.kwonlyargcount
        nparams = self.nparams()
        for i, p in enumerate(func.entry.params):
            if i < nargs:
                kinds[p] = BORROWED
            elif i < nparams:
                kinds[p] = OWNED
            elif p.type <= T.Null:
                kinds[p] = NONE
            else:
                raise NotLowered("entry", f"tier 1: entry parameter {i} is {p.type}")
        return kinds

    def _bind_entry(self, kinds: dict) -> None:
        func, b = self.func, self.b
        args = self.fn.args[1]
        nparams = self.nparams()
        names = func.localsplusnames
        for i, p in enumerate(func.entry.params):
            if i < nparams:
                addr = b.gep(args, [self.i64(i)], source_etype=OBJ)
                self.values[p] = b.load(addr, typ=OBJ, name=names[i])
            else:
                self.values[p] = NULL

    def _release_owned_params(self) -> None:
        """On a path that leaves before `_bind_entry` (RecursionError): the `*args`
        tuple and `**kwargs` dict the entry handed over are ours to release."""
        func, b = self.func, self.b
        for i in range(func.argcount + func.kwonlyargcount, self.nparams()):
            addr = b.gep(self.fn.args[1], [self.i64(i)], source_etype=OBJ)
            support.decref(b, b.load(addr, typ=OBJ))
