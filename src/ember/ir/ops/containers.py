"""Building, filling, unpacking and subscripting containers."""

from __future__ import annotations

from dataclasses import dataclass

from ember.ir import types as T
from ember.ir.core import Value
from ember.ir.ops.base import Op, register


@register
@dataclass(slots=True, eq=False, kw_only=True)
class BuildList(Op):
    opname = "build_list"
    result = T.List
    may_raise = True
    items: tuple[Value, ...]


@register
@dataclass(slots=True, eq=False, kw_only=True)
class BuildTuple(Op):
    opname = "build_tuple"
    result = T.Tuple
    may_raise = True
    items: tuple[Value, ...]


@register
@dataclass(slots=True, eq=False, kw_only=True)
class BuildSet(Op):
    opname = "build_set"
    result = T.Set
    may_raise = True
    items: tuple[Value, ...]


@register
@dataclass(slots=True, eq=False, kw_only=True)
class BuildMap(Op):
    """BUILD_MAP; keys[i] maps to values[i], inserted in order (the verifier checks the
    two lists have the same length)."""

    opname = "build_map"
    result = T.Dict
    may_raise = True
    keys: tuple[Value, ...]
    values: tuple[Value, ...]

    def check(self) -> str | None:
        if len(self.keys) != len(self.values):
            return f"{len(self.keys)} keys but {len(self.values)} values"
        return None

    def released(self) -> tuple[Value, ...]:
        # BUILD_MAP's stack holds key, value, key, value, ...; DECREF_INPUTS releases an
        # array input from its end.
        return tuple(v for pair in zip(self.keys, self.values) for v in pair)[::-1]


@register
@dataclass(slots=True, eq=False, kw_only=True)
class BuildConstKeyMap(Op):
    opname = "build_const_key_map"
    result = T.Dict
    may_raise = True
    keys: Value
    values: tuple[Value, ...]

    def released(self) -> tuple[Value, ...]:
        return (*self.values[::-1], self.keys)  # (values[oparg], keys): arrays from the end


@register
@dataclass(slots=True, eq=False, kw_only=True)
class BuildSlice(Op):
    opname = "build_slice"
    result = T.Slice
    may_raise = True
    start: Value
    stop: Value
    step: Value | None = None


@register
@dataclass(slots=True, eq=False, kw_only=True)
class ListAppend(Op):
    opname = "list_append"
    result = T.Void
    may_raise = True
    list: Value
    value: Value


@register
@dataclass(slots=True, eq=False, kw_only=True)
class SetAdd(Op):
    opname = "set_add"
    result = T.Void
    may_raise = True
    set: Value
    value: Value


@register
@dataclass(slots=True, eq=False, kw_only=True)
class MapAdd(Op):
    opname = "map_add"
    result = T.Void
    may_raise = True
    dict: Value
    key: Value
    value: Value


@register
@dataclass(slots=True, eq=False, kw_only=True)
class ListExtend(Op):
    opname = "list_extend"
    result = T.Void
    may_raise = True
    list: Value
    iterable: Value


@register
@dataclass(slots=True, eq=False, kw_only=True)
class SetUpdate(Op):
    opname = "set_update"
    result = T.Void
    may_raise = True
    set: Value
    iterable: Value


@register
@dataclass(slots=True, eq=False, kw_only=True)
class DictUpdate(Op):
    opname = "dict_update"
    result = T.Void
    may_raise = True
    dict: Value
    mapping: Value


@register
@dataclass(slots=True, eq=False, kw_only=True)
class DictMerge(Op):
    """DICT_MERGE (`f(**a, **b)`); `callable` is only used to word the TypeError."""

    opname = "dict_merge"
    result = T.Void
    may_raise = True
    callable: Value
    dict: Value
    mapping: Value


@register
@dataclass(slots=True, eq=False, kw_only=True)
class UnpackSequence(Op):
    """Items 0..count-1 are `seq[0]`..`seq[count-1]` (natural order, not stack order)."""

    opname = "unpack_sequence"
    result = T.Multi
    may_raise = True
    count: int
    seq: Value

    def check(self) -> str | None:
        return "count must be >= 0" if self.count < 0 else None

    def result_items(self) -> tuple[T.Type, ...]:
        return (T.Object,) * self.count


@register
@dataclass(slots=True, eq=False, kw_only=True)
class UnpackEx(Op):
    """`a, *b, c = seq`: `before` items, then the starred list, then `after` items."""

    opname = "unpack_ex"
    result = T.Multi
    may_raise = True
    before: int
    after: int
    seq: Value

    def check(self) -> str | None:
        return "before and after must be >= 0" if min(self.before, self.after) < 0 else None

    def result_items(self) -> tuple[T.Type, ...]:
        return (T.Object,) * self.before + (T.List,) + (T.Object,) * self.after


@register
@dataclass(slots=True, eq=False, kw_only=True)
class BinarySubscr(Op):
    opname = "binary_subscr"
    may_raise = True
    container: Value
    key: Value


@register
@dataclass(slots=True, eq=False, kw_only=True)
class StoreSubscr(Op):
    opname = "store_subscr"
    result = T.Void
    may_raise = True
    container: Value
    key: Value
    value: Value

    def released(self) -> tuple[Value, ...]:
        return (self.value, self.container, self.key)  # STORE_SUBSCR's (v, container, sub)


@register
@dataclass(slots=True, eq=False, kw_only=True)
class DeleteSubscr(Op):
    opname = "delete_subscr"
    result = T.Void
    may_raise = True
    container: Value
    key: Value


@register
@dataclass(slots=True, eq=False, kw_only=True)
class BinarySlice(Op):
    opname = "binary_slice"
    may_raise = True
    container: Value
    start: Value
    stop: Value

    def released(self) -> tuple[Value, ...]:
        # The slice made of start and stop goes first (its dealloc releases them in
        # that order), then the container.
        return (self.start, self.stop, self.container)


@register
@dataclass(slots=True, eq=False, kw_only=True)
class StoreSlice(Op):
    opname = "store_slice"
    result = T.Void
    may_raise = True
    container: Value
    start: Value
    stop: Value
    value: Value

    def released(self) -> tuple[Value, ...]:
        # The slice (start, stop), then v and the container, as STORE_SLICE does.
        return (self.start, self.stop, self.value, self.container)


@register
@dataclass(slots=True, eq=False, kw_only=True)
class GetLen(Op):
    opname = "get_len"
    result = T.Int
    may_raise = True
    value: Value
