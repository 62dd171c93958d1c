"""The IR type lattice: a finite powerset lattice over disjoint atoms.

Every type is a set of *atoms*; an atom is a kind of run-time value that no other atom
overlaps (an exact builtin type, "any other object", the C NULL, an unboxed machine value).
Representing a type as a bitmask of atoms makes the lattice laws hold by construction:
join is union, meet is intersection, subtype is inclusion. See TYPES.md for the picture and
for how to add an atom.
"""

from __future__ import annotations

import types as _pytypes
from dataclasses import dataclass

# Order matters only for printing: unions print their atoms in this order.
_ATOMS: tuple[str, ...] = (
    "int",  # exact int (not bool, not subclasses)
    "bool",
    "float",
    "complex",
    "str",
    "bytes",
    "tuple",
    "list",
    "dict",
    "set",
    "frozenset",
    "none",  # the None singleton
    "slice",
    "code",
    "cell",
    "function",
    "type",  # exact `type` instances (classes whose metaclass is `type`)
    "other",  # any object not of an exact type above, including subclasses of them
    "null",  # the C NULL CPython keeps on the stack and in unbound locals
    "i64",  # unboxed int64
    "f64",  # unboxed IEEE double
    "cbool",  # unboxed C truth value
    "multi",  # the several results of one op, taken apart with `extract`
    "void",  # "no result"
)
_BIT = {name: 1 << i for i, name in enumerate(_ATOMS)}
_OBJECT_BITS = 0
for _name in _ATOMS[: _ATOMS.index("other") + 1]:
    _OBJECT_BITS |= _BIT[_name]
_ALL_BITS = (1 << len(_ATOMS)) - 1


@dataclass(frozen=True, slots=True, eq=False)
class Type:
    """A set of atoms. Immutable and hashable; compare with `<=` (subtype) and `==`."""

    bits: int

    # Hand-written: the dataclass versions compare tuples, and these run on every op.
    def __eq__(self, other: object) -> bool:
        return type(other) is Type and self.bits == other.bits  # type: ignore[attr-defined]

    def __ne__(self, other: object) -> bool:
        return not (type(other) is Type and self.bits == other.bits)  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self.bits)

    def join(self, other: Type) -> Type:
        return Type(self.bits | other.bits)

    def meet(self, other: Type) -> Type:
        return Type(self.bits & other.bits)

    def is_subtype(self, other: Type) -> bool:
        return self.bits & ~other.bits == 0

    __or__ = join
    __and__ = meet
    __le__ = is_subtype

    def __lt__(self, other: Type) -> bool:
        return self.bits != other.bits and self.is_subtype(other)

    def __ge__(self, other: Type) -> bool:
        return other.is_subtype(self)

    def __gt__(self, other: Type) -> bool:
        return other < self

    def overlaps(self, other: Type) -> bool:
        return self.bits & other.bits != 0

    @property
    def is_bottom(self) -> bool:
        return self.bits == 0

    def atoms(self) -> tuple[str, ...]:
        return tuple(name for name in _ATOMS if self.bits & _BIT[name])

    def __str__(self) -> str:
        named = _NAME_OF.get(self.bits)
        if named is not None:
            return named
        parts: list[str] = []
        rest = self.bits
        # Prefer the widest composite name that fits, so `object|i64` not 18 atoms.
        for name, composite in _COMPOSITES:
            if composite.bits and composite.bits & rest == composite.bits:
                parts.append(name)
                rest &= ~composite.bits
        parts.extend(name for name in _ATOMS if rest & _BIT[name])
        return "|".join(parts)

    def __repr__(self) -> str:
        return f"Type({self})"


def _atom(name: str) -> Type:
    return Type(_BIT[name])


Bottom = Type(0)
Top = Type(_ALL_BITS)
Object = Type(_OBJECT_BITS)
Null = _atom("null")
ObjectOrNull = Object | Null
Int = _atom("int")
Bool = _atom("bool")
Float = _atom("float")
Complex = _atom("complex")
Str = _atom("str")
Bytes = _atom("bytes")
Tuple = _atom("tuple")
List = _atom("list")
Dict = _atom("dict")
Set = _atom("set")
FrozenSet = _atom("frozenset")
NoneType = _atom("none")
Slice = _atom("slice")
Code = _atom("code")
Cell = _atom("cell")
Function = _atom("function")
TypeObject = _atom("type")
OtherObject = _atom("other")
CInt64 = _atom("i64")
CDouble = _atom("f64")
CBool = _atom("cbool")
Multi = _atom("multi")
Void = _atom("void")
# Anything a frame state may hold: a boxed object, NULL, or an unboxed value to box on exit.
Storable = ObjectOrNull | CInt64 | CDouble | CBool

# Composite names, widest first; atoms keep their own names.
_COMPOSITES: tuple[tuple[str, Type], ...] = (
    ("top", Top),
    ("nullable", ObjectOrNull),
    ("object", Object),
)
_NAME_OF: dict[int, str] = {name_type.bits: name for name, name_type in _COMPOSITES}
_NAME_OF[0] = "bottom"
for _name in _ATOMS:
    _NAME_OF[_BIT[_name]] = _name

_BY_NAME: dict[str, Type] = {name: t for name, t in _COMPOSITES}
_BY_NAME["bottom"] = Bottom
_BY_NAME.update((name, _atom(name)) for name in _ATOMS)

ALL_NAMED: tuple[Type, ...] = tuple(_BY_NAME.values())


def parse_type(text: str) -> Type:
    """Parse the printed form (`object`, `int|none`, ...). Raises ValueError."""
    known = _PARSED.get(text)
    if known is not None:
        return known
    result = Bottom
    for part in text.split("|"):
        named = _BY_NAME.get(part.strip())
        if named is None:
            raise ValueError(f"unknown type name {part.strip()!r}")
        result = result | named
    if len(_PARSED) < 4096:
        _PARSED[text] = result
    return result


_PARSED: dict[str, Type] = {}


def type_names() -> tuple[str, ...]:
    return tuple(_BY_NAME)


_EXACT: dict[type, Type] = {
    int: Int,
    bool: Bool,
    float: Float,
    complex: Complex,
    str: Str,
    bytes: Bytes,
    tuple: Tuple,
    list: List,
    dict: Dict,
    set: Set,
    frozenset: FrozenSet,
    type(None): NoneType,
    slice: Slice,
    _pytypes.CodeType: Code,
    _pytypes.CellType: Cell,
    _pytypes.FunctionType: Function,
    type: TypeObject,
}


def type_of_constant(value: object) -> Type:
    """The most precise type of a known Python object."""
    return _EXACT.get(type(value), OtherObject)


def join_all(ts: object) -> Type:
    result = Bottom
    for t in ts:  # type: ignore[attr-defined]
        result = result | t
    return result
