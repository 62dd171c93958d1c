"""LOAD_ATTR, LOAD_SUPER_ATTR (both with their method-call forms), STORE/DELETE_ATTR."""

from __future__ import annotations

from ember.ir.ops import (
    DeleteAttr,
    Extract,
    LoadAttr,
    LoadMethod,
    LoadSuperAttr,
    LoadSuperMethod,
    StoreAttr,
)

from .registry import handles


def _push_pair(b, multi) -> None:
    # Method form: [method or NULL, self or attribute], as CALL expects them.
    b.push(b.emit(Extract, index=0, value=multi))
    b.push(b.emit(Extract, index=1, value=multi))


@handles("LOAD_ATTR")
def load_attr(b, ins):
    name = b.fb.code.co_names[ins.arg >> 1]
    obj = b.pop()
    if ins.arg & 1:
        _push_pair(b, b.emit(LoadMethod, name=name, obj=obj))
    else:
        b.push(b.emit(LoadAttr, name=name, obj=obj))


@handles("LOAD_SUPER_ATTR")
def load_super_attr(b, ins):
    self_ = b.pop()
    cls = b.pop()
    gsuper = b.pop()
    kw = dict(
        name=b.fb.code.co_names[ins.arg >> 2],
        two_args=bool(ins.arg & 2),
        global_super=gsuper,
        cls=cls,
        self_=self_,
    )
    if ins.arg & 1:
        _push_pair(b, b.emit(LoadSuperMethod, **kw))
    else:
        b.push(b.emit(LoadSuperAttr, **kw))


@handles("STORE_ATTR")
def store_attr(b, ins):
    obj = b.pop()
    b.emit(StoreAttr, name=b.fb.code.co_names[ins.arg], obj=obj, value=b.pop())


@handles("DELETE_ATTR")
def delete_attr(b, ins):
    b.emit(DeleteAttr, name=b.fb.code.co_names[ins.arg], obj=b.pop())
