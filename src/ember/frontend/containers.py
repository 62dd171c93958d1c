"""Building, extending, subscripting and unpacking containers.

The `*_APPEND`/`*_ADD`/`*_EXTEND`/`*_UPDATE` opcodes reach down the stack: after popping
their own inputs, the container is `PEEK(oparg)` (comprehensions keep it below the
iterator). Unpacking pushes the items in reverse so that item 0 ends up on top.
"""

from __future__ import annotations

from ember.ir.ops import (
    BinarySlice,
    BinarySubscr,
    BuildConstKeyMap,
    BuildList,
    BuildMap,
    BuildSet,
    BuildSlice,
    BuildString,
    BuildTuple,
    DeleteSubscr,
    DictMerge,
    DictUpdate,
    Extract,
    GetLen,
    ListAppend,
    ListExtend,
    MapAdd,
    SetAdd,
    SetUpdate,
    StoreSlice,
    StoreSubscr,
    UnpackEx,
    UnpackSequence,
)

from .registry import handles


def _build(cls):
    return lambda b, ins: b.push(b.emit(cls, items=b.popn(ins.arg)))


handles("BUILD_TUPLE")(_build(BuildTuple))
handles("BUILD_LIST")(_build(BuildList))
handles("BUILD_SET")(_build(BuildSet))


@handles("BUILD_STRING")
def build_string(b, ins):
    b.push(b.emit(BuildString, parts=b.popn(ins.arg)))


@handles("BUILD_MAP")
def build_map(b, ins):
    kv = b.popn(2 * ins.arg)
    b.push(b.emit(BuildMap, keys=kv[0::2], values=kv[1::2]))


@handles("BUILD_CONST_KEY_MAP")
def build_const_key_map(b, ins):
    keys = b.pop()
    b.push(b.emit(BuildConstKeyMap, keys=keys, values=b.popn(ins.arg)))


@handles("BUILD_SLICE")
def build_slice(b, ins):
    step = b.pop() if ins.arg == 3 else None
    stop = b.pop()
    start = b.pop()
    b.push(b.emit(BuildSlice, start=start, stop=stop, step=step))


@handles("LIST_APPEND")
def list_append(b, ins):
    v = b.pop()
    b.emit(ListAppend, list=b.peek(ins.arg), value=v)


@handles("SET_ADD")
def set_add(b, ins):
    v = b.pop()
    b.emit(SetAdd, set=b.peek(ins.arg), value=v)


@handles("MAP_ADD")
def map_add(b, ins):
    value = b.pop()
    key = b.pop()
    b.emit(MapAdd, dict=b.peek(ins.arg), key=key, value=value)


@handles("LIST_EXTEND")
def list_extend(b, ins):
    it = b.pop()
    b.emit(ListExtend, list=b.peek(ins.arg), iterable=it)


@handles("SET_UPDATE")
def set_update(b, ins):
    it = b.pop()
    b.emit(SetUpdate, set=b.peek(ins.arg), iterable=it)


@handles("DICT_UPDATE")
def dict_update(b, ins):
    m = b.pop()
    b.emit(DictUpdate, dict=b.peek(ins.arg), mapping=m)


@handles("DICT_MERGE")
def dict_merge(b, ins):
    m = b.pop()
    # The callable two slots below the dict is named in the error message.
    b.emit(DictMerge, callable=b.peek(ins.arg + 2), dict=b.peek(ins.arg), mapping=m)


def _push_items(b, multi, n: int) -> None:
    for i in reversed(range(n)):
        b.push(b.emit(Extract, index=i, value=multi))


@handles("UNPACK_SEQUENCE")
def unpack_sequence(b, ins):
    m = b.emit(UnpackSequence, count=ins.arg, seq=b.pop())
    _push_items(b, m, ins.arg)


@handles("UNPACK_EX")
def unpack_ex(b, ins):
    before, after = ins.arg & 0xFF, ins.arg >> 8
    m = b.emit(UnpackEx, before=before, after=after, seq=b.pop())
    _push_items(b, m, before + 1 + after)


@handles("BINARY_SUBSCR")
def binary_subscr(b, ins):
    key = b.pop()
    b.push(b.emit(BinarySubscr, container=b.pop(), key=key))


@handles("STORE_SUBSCR")
def store_subscr(b, ins):
    key = b.pop()
    container = b.pop()
    b.emit(StoreSubscr, container=container, key=key, value=b.pop())


@handles("DELETE_SUBSCR")
def delete_subscr(b, ins):
    key = b.pop()
    b.emit(DeleteSubscr, container=b.pop(), key=key)


@handles("BINARY_SLICE")
def binary_slice(b, ins):
    stop = b.pop()
    start = b.pop()
    b.push(b.emit(BinarySlice, container=b.pop(), start=start, stop=stop))


@handles("STORE_SLICE")
def store_slice(b, ins):
    stop = b.pop()
    start = b.pop()
    container = b.pop()
    b.emit(StoreSlice, container=container, start=start, stop=stop, value=b.pop())


@handles("GET_LEN")
def get_len(b, ins):
    b.push(b.emit(GetLen, value=b.peek(1)))
