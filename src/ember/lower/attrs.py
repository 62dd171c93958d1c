"""Attributes: load_attr, load_method, store_attr, delete_attr, load_super_attr and
load_super_method (3.12 LOAD_ATTR, LOAD_SUPER_ATTR and friends).

Loads, method loads and stores go through a per-site inline cache (`ATTR_CACHE`), the
same cases and guards as CPython's own specialisations (LOAD_ATTR_INSTANCE_VALUE,
_SLOT, _MODULE, _METHOD_NO_DICT, _METHOD_WITH_VALUES, STORE_ATTR_INSTANCE_VALUE, _SLOT):
the common ones inline here, the others and every miss in src/ember/_caches.c, which
says why each case is exact. Everything else is the generic C API call.
"""

from __future__ import annotations

import sys

from llvmlite import ir

from ember import abi
from ember.backend import support
from ember.ir import ops
from ember.lower.registry import lowers

NULL = support.NULL


#: A site's AttrCache (src/ember/_caches.c; layout in abi.AttrCache), a zeroed global.
ATTR_CACHE = ir.ArrayType(support.I64, abi.AttrCache.SIZE // 8)
C = abi.AttrCache


def _cache_guard(cx, obj, cache):
    """(i1: the cache was filled for obj's type at its current version, the cache's kind)."""
    b = cx.b
    tp = cx.type_of(obj)
    c_type = support.load_field(b, cache, C.type)
    c_version = support.load_field(b, cache, C.version, support.I32)
    kind = support.load_field(b, cache, C.kind, support.I32)
    version = support.load_field(b, tp, abi.Type.tp_version_tag, support.I32)
    same = b.and_(b.icmp_unsigned("==", tp, c_type), b.icmp_unsigned("==", version, c_version))
    return same, kind


def _values(cx, obj):
    """(i1: obj's managed dict is inline values, the values array) — only for objects of
    a type with a managed dict."""
    b = cx.b
    dorv = b.load(b.gep(obj, [cx.i64(abi.MANAGED_DICT_OFFSET)], source_etype=support.I8),
                  typ=support.I64)
    tagged = b.icmp_unsigned("!=", b.and_(dorv, cx.i64(abi.VALUES_TAG)), cx.i64(0))
    values = b.inttoptr(b.add(dorv, cx.i64(abi.VALUES_TAG)), support.OBJ)
    return tagged, values


def _values_if(cx, obj, cond):
    """(i1: `cond` and obj's managed dict is inline values, the values array). The word
    before the object is read only under `cond` (which must imply a managed dict)."""
    b = cx.b
    dorv_addr = b.gep(obj, [cx.i64(abi.MANAGED_DICT_OFFSET)], source_etype=support.I8)
    check = cx.fn.append_basic_block("values.read")
    start = b.block
    done = cx.fn.append_basic_block("values.done")
    b.cbranch(cond, check, done)
    b.position_at_end(check)
    dorv = b.load(dorv_addr, typ=support.I64)
    read_end = b.block
    b.branch(done)
    b.position_at_end(done)
    word = b.phi(support.I64)
    word.add_incoming(cx.i64(0), start)
    word.add_incoming(dorv, read_end)
    tagged = b.icmp_unsigned("!=", b.and_(word, cx.i64(abi.VALUES_TAG)), cx.i64(0))
    return tagged, b.inttoptr(b.add(word, cx.i64(abi.VALUES_TAG)), support.OBJ)


def _instance_slot(cx, obj, cache, name):
    """The address of the attribute's value when entry 0 of the cache says where it is
    for obj now, and the miss block: (slot address, miss block); the builder is left
    where the slot is known. INSTANCE_VALUE: values[index] of the object's inline
    values; DICT_HINT: the value of entry `index` of its materialised __dict__ (a
    combined dict of str keys), while the key there is the name (LOAD_ATTR_WITH_HINT)."""
    b = cx.b
    same, kind = _cache_guard(cx, obj, cache)
    check = cx.fn.append_basic_block("attr.kind")
    miss = cx.fn.append_basic_block("attr.poly")
    # Both kinds are only ever filled for types with a managed dict, so the word before
    # the object is there to read.
    managed = b.or_(b.icmp_unsigned("==", kind, cx.i32(C.INSTANCE_VALUE)),
                    b.icmp_unsigned("==", kind, cx.i32(C.DICT_HINT)))
    slot_kind = cx.fn.append_basic_block("attr.slotkind")
    b.cbranch(same, slot_kind, miss).set_weights([99, 1])
    b.position_at_end(slot_kind)
    # SLOT (`__slots__` members, LOAD_ATTR_SLOT): the value at byte `index` of the object.
    member_bb = cx.fn.append_basic_block("attr.member")
    not_member = cx.fn.append_basic_block("attr.notmember")
    b.cbranch(b.icmp_unsigned("==", kind, cx.i32(C.SLOT)), member_bb, not_member)
    b.position_at_end(member_bb)
    member_slot = b.bitcast(b.gep(obj, [support.load_field(b, cache, C.index, support.I64)],
                                  source_etype=support.I8), support.OBJ.as_pointer())
    member_end = b.block
    b.position_at_end(not_member)
    b.cbranch(managed, check, miss).set_weights([99, 1])
    b.position_at_end(check)
    dorv = b.load(b.gep(obj, [cx.i64(abi.MANAGED_DICT_OFFSET)], source_etype=support.I8),
                  typ=support.I64)
    tagged = b.icmp_unsigned("!=", b.and_(dorv, cx.i64(abi.VALUES_TAG)), cx.i64(0))
    index = support.load_field(b, cache, C.index, support.I64)
    values_bb = cx.fn.append_basic_block("attr.values")
    not_values = cx.fn.append_basic_block("attr.dict")
    is_iv = b.icmp_unsigned("==", kind, cx.i32(C.INSTANCE_VALUE))
    b.cbranch(b.and_(is_iv, tagged), values_bb, not_values).set_weights([60, 40])
    found = cx.fn.append_basic_block("attr.slot")

    b.position_at_end(values_bb)
    values = b.inttoptr(b.add(dorv, cx.i64(abi.VALUES_TAG)), support.OBJ)
    iv_slot = b.gep(values, [index], source_etype=support.OBJ)
    b.branch(found)

    b.position_at_end(not_values)
    is_hint = b.and_(b.icmp_unsigned("==", kind, cx.i32(C.DICT_HINT)), b.not_(tagged))
    has_dict = cx.fn.append_basic_block("attr.hint")
    b.cbranch(b.and_(is_hint, b.icmp_unsigned("!=", dorv, cx.i64(0))), has_dict, miss)
    b.position_at_end(has_dict)
    d = b.inttoptr(dorv, support.OBJ)
    keys = support.load_field(b, d, abi.Dict.ma_keys)
    split = support.load_field(b, d, abi.Dict.ma_values)
    nentries = support.load_field(b, keys, abi.DictKeys.dk_nentries, support.I64)
    dk_kind = support.load_field(b, keys, abi.DictKeys.dk_kind, support.I8)
    ok = b.and_(b.icmp_signed("<", index, nentries),
                b.and_(b.icmp_unsigned("==", split, NULL),
                       b.icmp_unsigned("!=", dk_kind, ir.Constant(support.I8, 0))))
    entry_bb = cx.fn.append_basic_block("attr.entry")
    b.cbranch(ok, entry_bb, miss).set_weights([99, 1])
    b.position_at_end(entry_bb)
    # _DK_ENTRIES: the entries follow the index table of 1 << dk_log2_index_bytes bytes;
    # a unicode entry is {key, value}.
    log2_bytes = b.zext(support.load_field(b, keys, abi.DictKeys.dk_log2_index_bytes,
                                           support.I8), support.I64)
    entries = b.add(b.add(b.ptrtoint(keys, support.I64), cx.i64(abi.DictKeys.dk_indices)),
                    b.shl(cx.i64(1), log2_bytes))
    entry = b.add(entries, b.mul(index, cx.i64(16)))
    key = b.load(b.inttoptr(entry, support.OBJ.as_pointer()), typ=support.OBJ)
    hint_slot = b.inttoptr(b.add(entry, cx.i64(8)), support.OBJ.as_pointer())
    b.cbranch(b.icmp_unsigned("==", key, name), found, miss).set_weights([99, 1])

    # Entries 1 to 3 (a site that sees several classes): instance values only.
    b.position_at_end(miss)
    poly_slots = []
    tp = cx.type_of(obj)
    version = support.load_field(b, tp, abi.Type.tp_version_tag, support.I32)
    for e in range(1, C.ENTRIES):
        base = C.ENTRY_SIZE * e
        hit = b.and_(
            b.icmp_unsigned("==", support.load_field(b, cache, base + C.type), tp),
            b.and_(b.icmp_unsigned("==", support.load_field(b, cache, base + C.version,
                                                             support.I32), version),
                   b.icmp_unsigned("==", support.load_field(b, cache, base + C.kind,
                                                             support.I32),
                                   cx.i32(C.INSTANCE_VALUE))))
        hit_bb = cx.fn.append_basic_block(f"attr.poly{e}")
        next_bb = cx.fn.append_basic_block("attr.miss" if e == C.ENTRIES - 1 else "attr.poly")
        b.cbranch(hit, hit_bb, next_bb)
        b.position_at_end(hit_bb)
        tagged_e, values_e = _values(cx, obj)
        slot_bb = cx.fn.append_basic_block(f"attr.poly{e}.slot")
        b.cbranch(tagged_e, slot_bb, next_bb)
        b.position_at_end(slot_bb)
        index_e = support.load_field(b, cache, base + C.index, support.I64)
        poly_slots.append((b.gep(values_e, [index_e], source_etype=support.OBJ), b.block))
        b.branch(found)
        b.position_at_end(next_bb)
    real_miss = b.block

    b.position_at_end(member_end)
    b.branch(found)

    b.position_at_end(found)
    slot = b.phi(support.OBJ.as_pointer())
    slot.add_incoming(iv_slot, values_bb)
    slot.add_incoming(hint_slot, entry_bb)
    slot.add_incoming(member_slot, member_end)
    for s_, bb in poly_slots:
        slot.add_incoming(s_, bb)
    return slot, real_miss


@lowers(ops.LoadAttr)
def lower_load_attr(cx, op):
    """obj.name through the site's cache: inline for instance values, else the C slow
    path (`ember.c.load_attr`: the cache's other kinds, then PyObject_GetAttr)."""
    b = cx.b
    obj = cx.v(op.obj)
    name = cx.pyobj(sys.intern(op.name))
    cache = cx.site_global("acache", ATTR_CACHE)
    slot, miss = _instance_slot(cx, obj, cache, name)
    value = b.load(slot, typ=support.OBJ)
    present = cx.fn.append_basic_block("attr.present")
    b.cbranch(b.icmp_unsigned("!=", value, NULL), present, miss).set_weights([99, 1])
    b.position_at_end(present)
    cx.incref(value)
    done = cx.fn.append_basic_block("attr.done")
    b.branch(done)
    b.position_at_end(miss)
    slow = cx.check_null(cx.call("ember.c.load_attr", b.bitcast(cache, support.OBJ), obj, name))
    slow_end = b.block
    b.branch(done)
    b.position_at_end(done)
    phi = b.phi(support.OBJ)
    phi.add_incoming(value, present)
    phi.add_incoming(slow, slow_end)
    return phi


@lowers(ops.LoadMethod)
def lower_load_method(cx, op):
    """Items: (unbound method, obj) when the attribute is a method descriptor that binds
    to obj, else (NULL, attribute); both new references, as LOAD_ATTR leaves them on the
    stack. Inline when the site's cache holds the descriptor for obj's type (no instance
    dict, or inline values whose shared keys lack the name); else the C slow path
    (`ember.c.load_method`, then _PyObject_GetMethod)."""
    b = cx.b
    obj = cx.v(op.obj)
    cache = cx.site_global("acache", ATTR_CACHE)
    tp = cx.type_of(obj)
    version = support.load_field(b, tp, abi.Type.tp_version_tag, support.I32)
    hit = cx.fn.append_basic_block("meth.hit")
    hits = []
    # Every entry (a site that sees several classes keeps one per class).
    for e in range(C.ENTRIES):
        base = C.ENTRY_SIZE * e
        same = b.and_(
            b.icmp_unsigned("==", support.load_field(b, cache, base + C.type), tp),
            b.icmp_unsigned("==", support.load_field(b, cache, base + C.version, support.I32),
                            version))
        kind_bb = cx.fn.append_basic_block(f"meth.kind{e}")
        next_bb = cx.fn.append_basic_block(f"meth.next{e}")
        b.cbranch(same, kind_bb, next_bb).set_weights([99, 1] if e == 0 else [50, 50])
        b.position_at_end(kind_bb)
        kind = support.load_field(b, cache, base + C.kind, support.I32)
        descr = support.load_field(b, cache, base + C.value)
        values_bb = cx.fn.append_basic_block(f"meth.values{e}")
        no_dict_bb = b.block
        b.cbranch(b.icmp_unsigned("==", kind, cx.i32(C.METHOD_NO_DICT)), hit, values_bb)
        hits.append((descr, no_dict_bb))
        b.position_at_end(values_bb)
        tagged, _values_ptr = _values_if(cx, obj, b.icmp_unsigned(
            "==", kind, cx.i32(C.METHOD_VALUES)))
        keys_bb = cx.fn.append_basic_block(f"meth.keys{e}")
        b.cbranch(tagged, keys_bb, next_bb).set_weights([99, 1])
        b.position_at_end(keys_bb)
        keys = support.load_field(b, tp, abi.HeapType.ht_cached_keys)
        count = support.load_field(b, keys, abi.DictKeys.dk_nentries, support.I64)
        unchanged = b.icmp_unsigned("==", count,
                                    support.load_field(b, cache, base + C.index, support.I64))
        hits.append((descr, b.block))
        b.cbranch(unchanged, hit, next_bb).set_weights([99, 1])
        b.position_at_end(next_bb)
    miss = b.block

    b.position_at_end(hit)
    descr = b.phi(support.OBJ)
    for d, bb in hits:
        descr.add_incoming(d, bb)
    cx.incref(descr)
    cx.incref(obj)
    done = cx.fn.append_basic_block("meth.done")
    b.branch(done)

    b.position_at_end(miss)
    with b.goto_block(cx.fn.entry_basic_block):
        b.position_at_start(cx.fn.entry_basic_block)
        slot = b.alloca(support.OBJ, name="meth")
    found = cx.call("ember.c.load_method", b.bitcast(cache, support.OBJ), obj,
                    cx.pyobj(sys.intern(op.name)), slot)
    meth = b.load(slot, typ=support.OBJ)
    is_method = b.icmp_signed("!=", found, cx.i32(0))
    with b.if_else(is_method) as (then, otherwise):
        with then:
            cx.incref(obj)
        with otherwise:
            cx.fail_if(b.icmp_unsigned("==", meth, NULL))
    slow0 = b.select(is_method, meth, NULL)
    slow1 = b.select(is_method, obj, meth)
    slow_end = b.block
    b.branch(done)

    b.position_at_end(done)
    item0, item1 = b.phi(support.OBJ), b.phi(support.OBJ)
    item0.add_incoming(descr, hit)
    item0.add_incoming(slow0, slow_end)
    item1.add_incoming(obj, hit)
    item1.add_incoming(slow1, slow_end)
    return (item0, item1)


@lowers(ops.StoreAttr)
def lower_store_attr(cx, op):
    """obj.name = value through the site's cache: inline when it replaces an instance
    value, else the C slow path (`ember.c.store_attr`: slots, then PyObject_SetAttr).
    The replaced value is released after the store, as STORE_ATTR_INSTANCE_VALUE does."""
    b = cx.b
    obj, value = cx.v(op.obj), cx.v(op.value)
    name = cx.pyobj(sys.intern(op.name))
    cache = cx.site_global("acache", ATTR_CACHE)
    same, kind = _cache_guard(cx, obj, cache)
    miss = cx.fn.append_basic_block("attr.miss")
    done = cx.fn.append_basic_block("attr.stored")
    # `__slots__` members (STORE_ATTR_SLOT): the value at byte `index` of the object; the
    # old one (or NULL) released after the store.
    member_bb = cx.fn.append_basic_block("attr.member")
    not_member = cx.fn.append_basic_block("attr.notmember")
    b.cbranch(b.and_(same, b.icmp_unsigned("==", kind, cx.i32(C.SLOT))), member_bb,
              not_member)
    b.position_at_end(member_bb)
    member = b.bitcast(b.gep(obj, [support.load_field(b, cache, C.index, support.I64)],
                             source_etype=support.I8), support.OBJ.as_pointer())
    cx.incref(value)
    old_member = b.load(member, typ=support.OBJ)
    b.store(value, member)
    cx.xdecref(old_member)
    b.branch(done)
    b.position_at_end(not_member)
    # Inline only instance values: a store into a __dict__ also tells the dict's watchers
    # and gives it a new version (ember.c.store_attr does it, as STORE_ATTR_WITH_HINT).
    check = cx.fn.append_basic_block("attr.values")
    b.cbranch(b.and_(same, b.icmp_unsigned("==", kind, cx.i32(C.INSTANCE_VALUE))), check,
              miss).set_weights([99, 1])
    b.position_at_end(check)
    tagged, values = _values(cx, obj)
    hit = cx.fn.append_basic_block("attr.hit")
    b.cbranch(tagged, hit, miss).set_weights([99, 1])
    b.position_at_end(hit)
    slot = b.gep(values, [support.load_field(b, cache, C.index, support.I64)],
                 source_etype=support.OBJ)
    old = b.load(slot, typ=support.OBJ)
    replace = cx.fn.append_basic_block("attr.replace")
    b.cbranch(b.icmp_unsigned("!=", old, NULL), replace, miss).set_weights([99, 1])
    b.position_at_end(replace)
    cx.incref(value)
    b.store(value, slot)
    cx.decref(old)
    b.branch(done)
    b.position_at_end(miss)
    cx.check_neg(cx.call("ember.c.store_attr", b.bitcast(cache, support.OBJ), obj, name, value))
    b.branch(done)
    b.position_at_end(done)


@lowers(ops.DeleteAttr)
def lower_delete_attr(cx, op):
    name = cx.pyobj(sys.intern(op.name))
    cx.check_neg(cx.call("PyObject_SetAttr", cx.v(op.obj), name, NULL))


def _super_attr(cx, op):
    """LOAD_SUPER_ATTR's generic path: `global_super(cls, self)` (or `global_super()`,
    which reads our frame as CPython's zero-argument super() does), then the attribute."""
    b = cx.b
    with b.goto_block(cx.fn.entry_basic_block):
        b.position_at_start(cx.fn.entry_basic_block)
        stack = b.alloca(support.OBJ, size=2, name="superargs")
    b.store(cx.v(op.cls), stack)
    b.store(cx.v(op.self_), b.gep(stack, [cx.i64(1)], source_etype=support.OBJ))
    sup = cx.check_null(cx.call("PyObject_Vectorcall", cx.v(op.global_super), stack,
                                cx.i64(2 if op.two_args else 0), NULL))
    res = cx.call("PyObject_GetAttr", sup, cx.pyobj(sys.intern(op.name)))
    cx.decref(sup)
    return cx.check_null(res)


@lowers(ops.LoadSuperAttr)
def lower_load_super_attr(cx, op):
    return _super_attr(cx, op)


@lowers(ops.LoadSuperMethod)
def lower_load_super_method(cx, op):
    """Items (NULL, the bound attribute), as the unspecialised LOAD_SUPER_ATTR leaves them."""
    return (NULL, _super_attr(cx, op))
