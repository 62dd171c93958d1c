"""Containers: build_list/tuple/set/map/const_key_map/slice, list_append, set_add,
map_add, subscripts and slices, get_len, unpack_sequence (its fast path; the rest through
`pyhelpers`).

Inline fast paths (rules in `exact.py`): `list[i]` and `tuple[i]` (BINARY_SUBSCR_LIST_INT,
_TUPLE_INT, plus negative indexes, as list_subscript adds the length), `list[i] = v`
(STORE_SUBSCR_LIST_INT), `len()` of exact lists and tuples; an exact int index that is not
compact or out of range takes the generic call, which raises CPython's IndexError.

Builders store new references into freshly made objects (as PyList_SET_ITEM does); on
failure the half-built object is released and the inputs stay owned by the caller.
"""

from __future__ import annotations

from llvmlite import ir

from ember import abi, slowpaths
from ember.backend import support
from ember.ir import ops
from ember.lower import exact, pyhelpers
from ember.lower.registry import lowers

NULL = support.NULL
OBJ = support.OBJ


def _store_items(cx, base, items) -> None:
    b = cx.b
    for i, v in enumerate(items):
        val = cx.v(v)
        cx.incref(val)
        b.store(val, b.gep(base, [cx.i64(i)], source_etype=OBJ))


@lowers(ops.BuildList)
def lower_build_list(cx, op):
    lst = cx.check_null(cx.call("PyList_New", cx.i64(len(op.items))))
    if op.items:
        _store_items(cx, support.load_field(cx.b, lst, abi.List.ob_item), op.items)
    return lst


@lowers(ops.BuildTuple)
def lower_build_tuple(cx, op):
    tup = cx.check_null(cx.call("PyTuple_New", cx.i64(len(op.items))))
    if op.items:
        _store_items(cx, support.field_address(cx.b, tup, abi.Tuple.ob_item), op.items)
    return tup


def _fill(cx, obj, call, pairs) -> None:
    """Call `call(obj, *pair)` for each pair; on failure release obj and fail."""
    b = cx.b
    for pair in pairs:
        r = cx.call(call, obj, *pair)
        with b.if_then(b.icmp_signed("<", r, cx.i32(0)), likely=False):
            cx.decref(obj)
            cx.fail()


@lowers(ops.BuildSet)
def lower_build_set(cx, op):
    """BUILD_SET releases each item once it tried to add it, and the set last when an
    add failed: an unhashable item goes before the items already in the set."""
    b = cx.b
    s = cx.check_null(cx.call("PySet_New", NULL))
    for i, item in enumerate(op.items):
        r = cx.call("PySet_Add", s, cx.v(item))
        with b.if_then(b.icmp_signed("<", r, cx.i32(0)), likely=False):
            before = cx.released_early
            cx.release_early(op.items[i:])
            cx.decref(s)
            cx.fail()
            cx.released_early = before
        cx.release_early([item])
    return s


@lowers(ops.BuildMap)
def lower_build_map(cx, op):
    d = cx.check_null(cx.call("PyDict_New"))
    _fill(cx, d, "PyDict_SetItem", [(cx.v(k), cx.v(v)) for k, v in zip(op.keys, op.values)])
    return d


@lowers(ops.BuildConstKeyMap)
def lower_build_const_key_map(cx, op):
    b = cx.b
    keys = cx.v(op.keys)
    d = cx.check_null(cx.call("PyDict_New"))
    pairs = []
    for i, v in enumerate(op.values):
        slot = support.field_address(b, keys, abi.Tuple.ob_item + 8 * i)
        pairs.append((b.load(slot, typ=OBJ), cx.v(v)))
    _fill(cx, d, "PyDict_SetItem", pairs)
    return d


@lowers(ops.BuildSlice)
def lower_build_slice(cx, op):
    step = cx.v(op.step) if op.step is not None else NULL
    return cx.check_null(cx.call("PySlice_New", cx.v(op.start), cx.v(op.stop), step))


@lowers(ops.ListAppend)
def lower_list_append(cx, op):
    # LIST_APPEND's `_PyList_AppendTakeRef`: into spare capacity inline, else the C call
    # that grows the list (a comprehension paid a call per item where ceval pays none).
    b = cx.b
    I64 = support.I64
    lst, value = cx.v(op.list), cx.v(op.value)
    size = support.load_field(b, lst, abi.List.ob_size, I64)
    room = b.icmp_signed("<", size, support.load_field(b, lst, abi.List.allocated, I64))
    with b.if_else(room, likely=True) as (fits, grows):
        with fits:
            cx.incref(value)
            items = support.load_field(b, lst, abi.List.ob_item)
            b.store(value, b.gep(items, [size], source_etype=OBJ))
            b.store(b.add(size, ir.Constant(I64, 1)),
                    support.field_address(b, lst, abi.List.ob_size))
        with grows:
            cx.check_neg(cx.call("PyList_Append", lst, value))


@lowers(ops.SetAdd)
def lower_set_add(cx, op):
    cx.check_neg(cx.call("PySet_Add", cx.v(op.set), cx.v(op.value)))


@lowers(ops.MapAdd)
def lower_map_add(cx, op):
    cx.check_neg(cx.call("PyDict_SetItem", cx.v(op.dict), cx.v(op.key), cx.v(op.value)))


def _index_in_range(cx, index, size, slow):
    """Continue (returning the i64 index, negatives plus `size`) when `index` is an exact
    compact int within [-size, size); otherwise branch to `slow`."""
    b = cx.b
    is_int = exact.block(cx, "subscr.int")
    b.cbranch(exact.is_exact(cx, index, "PyLong_Type"), is_int, slow)
    b.position_at_end(is_int)
    tag = exact.long_tag(cx, index)
    compact = exact.block(cx, "subscr.compact")
    b.cbranch(exact.tags_compact(cx, tag), compact, slow)
    b.position_at_end(compact)
    i = exact.compact_value(cx, index, tag)
    neg = b.icmp_signed("<", i, cx.i64(0))
    i = b.select(neg, b.add(i, size), i)
    ok = exact.block(cx, "subscr.inrange")
    # One unsigned compare covers i < 0 (still negative after adding size) and i >= size.
    b.cbranch(b.icmp_unsigned("<", i, size), ok, slow)
    b.position_at_end(ok)
    return i


@lowers(ops.BinarySubscr)
def lower_binary_subscr(cx, op):
    b = cx.b
    container, key = cx.v(op.container), cx.v(op.key)
    join = exact.Join(cx, OBJ, "subscr")
    slow = exact.block(cx, "subscr.slow")
    tp = cx.type_of(container)
    is_list = b.icmp_unsigned("==", tp, cx.obj_static("PyList_Type"))
    is_tuple = b.icmp_unsigned("==", tp, cx.obj_static("PyTuple_Type"))
    seq = exact.block(cx, "subscr.seq")
    b.cbranch(b.or_(is_list, is_tuple), seq, slow)
    b.position_at_end(seq)
    size = support.load_field(b, container, abi.VarObject.ob_size, support.I64)
    i = _index_in_range(cx, key, size, slow)
    list_items = support.load_field(b, container, abi.List.ob_item)
    tuple_items = support.field_address(b, container, abi.Tuple.ob_item)
    base = b.select(is_list, list_items, tuple_items)
    item = b.load(b.gep(base, [i], source_etype=OBJ), typ=OBJ)
    cx.incref(item)
    join.add(item)
    b.position_at_end(slow)
    join.add(cx.call("PyObject_GetItem", container, key))
    return cx.check_null(join.finish())


@lowers(ops.StoreSubscr)
def lower_store_subscr(cx, op):
    b = cx.b
    container, key, value = cx.v(op.container), cx.v(op.key), cx.v(op.value)
    join = exact.Join(cx, support.I32, "store_subscr")
    slow = exact.block(cx, "store_subscr.slow")
    is_list = exact.block(cx, "store_subscr.list")
    b.cbranch(exact.is_exact(cx, container, "PyList_Type"), is_list, slow)
    b.position_at_end(is_list)
    size = support.load_field(b, container, abi.List.ob_size, support.I64)
    i = _index_in_range(cx, key, size, slow)
    # list_ass_item: the new reference goes in, then the old one is released.
    slot = b.gep(support.load_field(b, container, abi.List.ob_item), [i], source_etype=OBJ)
    old = b.load(slot, typ=OBJ)
    cx.incref(value)
    b.store(value, slot)
    cx.decref(old)
    join.add(cx.i32(0))
    b.position_at_end(slow)
    join.add(cx.call("PyObject_SetItem", container, key, value))
    cx.check_neg(join.finish())


@lowers(ops.DeleteSubscr)
def lower_delete_subscr(cx, op):
    cx.check_neg(cx.call("PyObject_DelItem", cx.v(op.container), cx.v(op.key)))


def _slice(cx, op):
    return cx.check_null(cx.call("PySlice_New", cx.v(op.start), cx.v(op.stop), NULL))


@lowers(ops.BinarySlice)
def lower_binary_slice(cx, op):
    s = _slice(cx, op)
    res = cx.call("PyObject_GetItem", cx.v(op.container), s)
    cx.decref(s)
    return cx.check_null(res)


@lowers(ops.StoreSlice)
def lower_store_slice(cx, op):
    s = _slice(cx, op)
    r = cx.call("PyObject_SetItem", cx.v(op.container), s, cx.v(op.value))
    cx.decref(s)
    cx.check_neg(r)


@lowers(ops.GetLen)
def lower_get_len(cx, op):
    b = cx.b
    value = cx.v(op.value)
    join = exact.Join(cx, support.I64, "len")
    tp = cx.type_of(value)
    is_seq = b.or_(
        b.icmp_unsigned("==", tp, cx.obj_static("PyList_Type")),
        b.icmp_unsigned("==", tp, cx.obj_static("PyTuple_Type")),
    )
    fast = exact.block(cx, "len.fast")
    slow = exact.block(cx, "len.slow")
    b.cbranch(is_seq, fast, slow)
    b.position_at_end(fast)
    join.add(support.load_field(b, value, abi.VarObject.ob_size, support.I64))
    b.position_at_end(slow)
    join.add(cx.call("PyObject_Size", value))
    n = cx.check_neg(join.finish())
    return cx.check_null(cx.call("PyLong_FromSsize_t", n))


@lowers(ops.UnpackSequence)
def lower_unpack_sequence(cx, op):
    """Exact tuples and lists of the right length inline (UNPACK_SEQUENCE_TUPLE/LIST);
    anything else through a helper that runs UNPACK_SEQUENCE itself, for its messages."""
    b = cx.b
    n = op.count
    seq = cx.v(op.seq)
    tp = cx.type_of(seq)
    is_tuple = b.icmp_unsigned("==", tp, cx.obj_static("PyTuple_Type"))
    is_list = b.icmp_unsigned("==", tp, cx.obj_static("PyList_Type"))
    sized = cx.fn.append_basic_block("unpack.sized")
    fast = cx.fn.append_basic_block("unpack.fast")
    slow = cx.fn.append_basic_block("unpack.slow")
    done = cx.fn.append_basic_block("unpack.done")
    b.cbranch(b.or_(is_tuple, is_list), sized, slow)
    b.position_at_end(sized)
    size = support.load_field(b, seq, abi.VarObject.ob_size, support.I64)
    b.cbranch(b.icmp_signed("==", size, cx.i64(n)), fast, slow)
    b.position_at_end(fast)
    tuple_items = support.field_address(b, seq, abi.Tuple.ob_item)
    list_items = support.load_field(b, seq, abi.List.ob_item)
    base = b.select(is_tuple, tuple_items, list_items)
    fast_vals = []
    for i in range(n):
        v = b.load(b.gep(base, [cx.i64(i)], source_etype=OBJ), typ=OBJ)
        cx.incref(v)
        fast_vals.append(v)
    fast_end = b.block
    b.branch(done)
    b.position_at_end(slow)
    tup = cx.check_null(pyhelpers.call(cx, slowpaths.unpacker(n), [seq],
                                         ["helper", "ember.slowpaths:unpacker", n]))
    slow_vals = []
    for i in range(n):
        v = support.load_field(b, tup, abi.Tuple.ob_item + 8 * i)
        cx.incref(v)
        slow_vals.append(v)
    cx.decref(tup)
    slow_end = b.block
    b.branch(done)
    b.position_at_end(done)
    out = []
    for fv, sv in zip(fast_vals, slow_vals):
        phi = b.phi(OBJ)
        phi.add_incoming(fv, fast_end)
        phi.add_incoming(sv, slow_end)
        out.append(phi)
    return tuple(out)
