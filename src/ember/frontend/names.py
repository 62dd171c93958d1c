"""Dictionary-backed namespaces: module and class bodies (LOAD_NAME and friends), globals
and builtins, annotations."""

from __future__ import annotations

from ember.ir.ops import (
    DeleteGlobal,
    DeleteName,
    LoadBuildClass,
    LoadFromDictOrGlobals,
    LoadGlobal,
    LoadLocals,
    LoadName,
    SetupAnnotations,
    StoreGlobal,
    StoreName,
)

from .registry import handles


def _name(b, i: int) -> str:
    return b.fb.code.co_names[i]


@handles("LOAD_NAME")
def load_name(b, ins):
    b.push(b.emit(LoadName, name=_name(b, ins.arg)))


@handles("STORE_NAME")
def store_name(b, ins):
    b.emit(StoreName, name=_name(b, ins.arg), value=b.pop())


@handles("DELETE_NAME")
def delete_name(b, ins):
    b.emit(DeleteName, name=_name(b, ins.arg))


@handles("LOAD_GLOBAL")
def load_global(b, ins):
    if ins.arg & 1:
        b.push(b.null())
    b.push(b.emit(LoadGlobal, name=_name(b, ins.arg >> 1)))


@handles("STORE_GLOBAL")
def store_global(b, ins):
    b.emit(StoreGlobal, name=_name(b, ins.arg), value=b.pop())


@handles("DELETE_GLOBAL")
def delete_global(b, ins):
    b.emit(DeleteGlobal, name=_name(b, ins.arg))


@handles("LOAD_LOCALS")
def load_locals(b, ins):
    b.push(b.emit(LoadLocals))


@handles("LOAD_FROM_DICT_OR_GLOBALS")
def load_from_dict_or_globals(b, ins):
    b.push(b.emit(LoadFromDictOrGlobals, name=_name(b, ins.arg), mapping=b.pop()))


@handles("SETUP_ANNOTATIONS")
def setup_annotations(b, ins):
    b.emit(SetupAnnotations)


@handles("LOAD_BUILD_CLASS")
def load_build_class(b, ins):
    b.push(b.emit(LoadBuildClass))
