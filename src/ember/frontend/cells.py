"""Cells and free variables. The cell object lives in its fast-locals slot, as in CPython,
so LOAD_CLOSURE is a plain local read."""

from __future__ import annotations

from ember.ir.ops import (
    CopyFreeVar,
    DeleteDeref,
    LoadDeref,
    LoadFromDictOrDeref,
    MakeCell,
    StoreDeref,
)

from .registry import handles


@handles("MAKE_CELL")
def make_cell(b, ins):
    b.set_local(ins.arg, b.emit(MakeCell, value=b.locals[ins.arg]))


@handles("COPY_FREE_VARS")
def copy_free_vars(b, ins):
    first = b.fb.nlocals - ins.arg
    for j in range(ins.arg):
        b.set_local(first + j, b.emit(CopyFreeVar, index=j))


@handles("LOAD_CLOSURE")
def load_closure(b, ins):
    b.push(b.locals[ins.arg])


@handles("LOAD_DEREF")
def load_deref(b, ins):
    b.push(b.emit(LoadDeref, name=b.local_name(ins.arg), cell=b.locals[ins.arg]))


@handles("STORE_DEREF")
def store_deref(b, ins):
    b.emit(StoreDeref, cell=b.locals[ins.arg], value=b.pop())


@handles("DELETE_DEREF")
def delete_deref(b, ins):
    b.emit(DeleteDeref, name=b.local_name(ins.arg), cell=b.locals[ins.arg])


@handles("LOAD_FROM_DICT_OR_DEREF")
def load_from_dict_or_deref(b, ins):
    mapping = b.pop()
    cell = b.locals[ins.arg]
    b.push(b.emit(LoadFromDictOrDeref, name=b.local_name(ins.arg), mapping=mapping, cell=cell))
