"""The `Op` base class and the op registry.

Every op is a final `@dataclass(slots=True, eq=False, kw_only=True)` subclass of `Op`,
decorated with `@register`. Registration reads the dataclass fields and their annotations
and classifies each field once (`FieldSpec`), so the printer, parser and verifier can treat
every op alike, and it generates the per-class `inputs`, `replace_input`, `edges` and
`__post_init__` as straight-line code, because they are on every pass's hot path.

Field annotations decide the kind:
    Value                 -> one operand
    Value | None          -> an optional operand (printed `_` when absent)
    tuple[Value, ...]     -> a variadic operand list (printed `(%1, %2)`)
    Edge                  -> a successor with its arguments (terminators)
    int, bool, str, tuple[str, ...], an Enum, object (a constant) -> a static attribute
"""

from __future__ import annotations

import enum
import sys
import typing
from dataclasses import dataclass, fields
from typing import Any, ClassVar

from ember.ir import types as T
from ember.ir.core import Edge, FrameState, Value


class Kind(enum.Enum):
    OPERAND = "operand"
    OPT_OPERAND = "opt_operand"
    OPERANDS = "operands"
    EDGE = "edge"
    ATTR = "attr"


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    kind: Kind
    # For ATTR: int, bool, str, tuple (of str), object (a constant) or an Enum subclass.
    attr_type: Any = None
    # For operands: the widest type an operand may have.
    operand_type: T.Type = T.Object


@dataclass(slots=True, eq=False, kw_only=True)
class Op(Value):
    """Base of all ops. `type` is the result type (`void` when the op has no result)."""

    opname: ClassVar[str] = ""
    # Widest result type this op may have; `type` defaults to it and must stay below it.
    result: ClassVar[T.Type] = T.Object
    may_raise: ClassVar[bool] = False
    is_terminator: ClassVar[bool] = False
    # Operand fields whose acceptable type is not `object`.
    operand_types: ClassVar[dict[str, T.Type]] = {}
    op_fields: ClassVar[tuple[FieldSpec, ...]] = ()

    offset: int
    type: T.Type = None  # type: ignore[assignment]
    frame_state: FrameState | None = None

    def __post_init__(self) -> None:  # replaced per class by @register
        if self.type is None:
            self.type = self.default_type()

    def default_type(self) -> T.Type:
        return self.result

    # These three are generated per class by @register.
    def inputs(self) -> tuple[Value, ...]:
        raise NotImplementedError

    def replace_input(self, old: Value, new: Value) -> int:
        """Replace every operand (edge arguments included) that is `old`; return how many
        fields changed. Frame-state uses are separate: see `replace_uses`."""
        raise NotImplementedError

    def edges(self) -> tuple[Edge, ...]:
        raise NotImplementedError

    def released(self) -> tuple[Value, ...]:
        """The operands in the order CPython's instruction releases them. Its
        `DECREF_INPUTS()` goes in stack order, bottom first, which is field order for most
        ops; the ops whose fields are ordered otherwise, or whose instruction releases in
        its own order (BINARY_SLICE releases the slice it made first), override this.
        Compiled code releases what dies at the op in this order, on its success and on
        its error path, so `__del__` and weakref callbacks run in CPython's order."""
        return self.inputs()

    def uses(self) -> tuple[Value, ...]:
        """Operands plus frame-state values: everything this op keeps alive."""
        fs = self.frame_state
        return self.inputs() if fs is None else self.inputs() + fs.values()

    def replace_uses(self, old: Value, new: Value) -> int:
        n = self.replace_input(old, new)
        if self.frame_state is not None:
            n += self.frame_state.replace(old, new)
        return n

    def successors(self) -> tuple[Any, ...]:
        return tuple(e.block for e in self.edges())

    def result_items(self) -> tuple[T.Type, ...]:
        """For ops of type `multi`: the type of each item `extract` may take out."""
        return ()

    def check(self) -> str | None:
        """Op-specific invariants beyond field types, for the verifier; None if fine."""
        return None

    def attrs(self) -> dict[str, object]:
        return {f.name: getattr(self, f.name) for f in self.op_fields if f.kind is Kind.ATTR}

    def __repr__(self) -> str:
        attrs = ", ".join(
            f"{k}={v.value if isinstance(v, enum.Enum) else v!r}" for k, v in self.attrs().items()
        )
        return f"<{self.opname}[{attrs}] @{self.offset} at {id(self):#x}>"


OPS: dict[str, type[Op]] = {}

_BASE_FIELDS = frozenset({"offset", "type", "frame_state"})
_ATTR_TYPES = (int, bool, str, object)


def _classify(name: str, hint: Any, operand_types: dict[str, T.Type]) -> FieldSpec:
    otype = operand_types.get(name, T.Object)
    if hint is Value:
        return FieldSpec(name, Kind.OPERAND, operand_type=otype)
    if hint is Edge:
        return FieldSpec(name, Kind.EDGE)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is tuple and args == (Value, ...):
        return FieldSpec(name, Kind.OPERANDS, operand_type=otype)
    if origin is tuple and args == (str, ...):
        return FieldSpec(name, Kind.ATTR, attr_type=tuple)
    if args and set(args) == {Value, type(None)}:
        return FieldSpec(name, Kind.OPT_OPERAND, operand_type=otype)
    if hint in _ATTR_TYPES or (isinstance(hint, type) and issubclass(hint, enum.Enum)):
        return FieldSpec(name, Kind.ATTR, attr_type=hint)
    raise TypeError(f"op field {name}: unsupported annotation {hint!r}")


def _compile(cls: type[Op], spec: tuple[FieldSpec, ...]) -> None:
    parts: list[str] = []
    rep: list[str] = []
    edge_names: list[str] = []
    post: list[str] = []
    for f in spec:
        a = f"self.{f.name}"
        if f.kind is Kind.OPERAND:
            parts.append(f"({a},)")
            rep.append(f"    if {a} is old:\n        {a} = new\n        n += 1")
        elif f.kind is Kind.OPT_OPERAND:
            parts.append(f"(() if {a} is None else ({a},))")
            rep.append(f"    if {a} is old:\n        {a} = new\n        n += 1")
        elif f.kind is Kind.OPERANDS:
            parts.append(a)
            rep.append(
                f"    if any(v is old for v in {a}):\n"
                f"        {a} = tuple(new if v is old else v for v in {a})\n        n += 1"
            )
            post.append(f"    if not isinstance({a}, tuple):\n        {a} = tuple({a})")
        elif f.kind is Kind.EDGE:
            parts.append(f"{a}.args")
            rep.append(f"    n += {a}.replace(old, new)")
            edge_names.append(a)
    src = [
        "def inputs(self):",
        f"    return {' + '.join(parts) if parts else '()'}",
        "def replace_input(self, old, new):",
        "    n = 0",
        *rep,
        "    return n",
        "def edges(self):",
        f"    return ({''.join(e + ', ' for e in edge_names)})",
        "def __post_init__(self):",
        *post,
        "    if self.type is None:",
        "        self.type = self.default_type()",
    ]
    ns: dict[str, Any] = {}
    exec("\n".join(src), {}, ns)
    for name in ("inputs", "replace_input", "edges", "__post_init__"):
        fn = ns[name]
        fn.__qualname__ = f"{cls.__qualname__}.{name}"
        setattr(cls, name, fn)


_COMMON_HINTS: dict[str, Any] = {
    "Value": Value,
    "Edge": Edge,
    "Value | None": Value | None,
    "tuple[Value, ...]": tuple[Value, ...],
    "tuple[str, ...]": tuple[str, ...],
    "int": int,
    "bool": bool,
    "str": str,
    "object": object,
}


def _own_hints(cls: type[Op]) -> dict[str, Any]:
    """The class's own field annotations, resolved. `typing.get_type_hints` would do, but
    it re-evaluates every base's annotations for each of ~100 classes at import."""
    module = sys.modules[cls.__module__].__dict__
    hints: dict[str, Any] = {}
    for name, ann in cls.__dict__.get("__annotations__", {}).items():
        if isinstance(ann, str):
            ann = _COMMON_HINTS[ann] if ann in _COMMON_HINTS else eval(ann, module)  # noqa: S307
        hints[name] = ann
    return hints


def register(cls: type[Op]) -> type[Op]:
    """Class decorator: record `cls.opname -> cls` and compile its field accessors."""
    if not cls.opname or cls.opname in OPS:
        raise TypeError(f"{cls.__name__}: missing or duplicate opname {cls.opname!r}")
    if "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__}: apply @register outside @dataclass(slots=True)")
    hints = _own_hints(cls)
    if any(f.name not in hints and f.name not in _BASE_FIELDS for f in fields(cls)):
        hints = typing.get_type_hints(cls)  # fields from an intermediate base class
    unknown = set(cls.operand_types) - {f.name for f in fields(cls)}
    if unknown:
        raise TypeError(f"{cls.__name__}: operand_types names unknown fields {unknown}")
    spec = tuple(
        _classify(f.name, hints[f.name], cls.operand_types)
        for f in fields(cls)
        if f.name not in _BASE_FIELDS
    )
    shadowed = [f.name for f in spec if hasattr(Op, f.name)]
    if shadowed:
        raise TypeError(f"{cls.__name__}: fields {shadowed} shadow Op attributes")
    if any(f.kind is Kind.EDGE for f in spec) and not cls.is_terminator:
        raise TypeError(f"{cls.__name__}: only terminators may have edges")
    cls.op_fields = spec
    _compile(cls, spec)
    # The dataclass repr would recurse through operands and frame states.
    cls.__repr__ = Op.__repr__  # type: ignore[method-assign]
    OPS[cls.opname] = cls
    return cls


def __init_subclass_guard(cls: type[Op], **kwargs: Any) -> None:
    for base in cls.__mro__[1:]:
        if base.__dict__.get("opname") and OPS.get(base.__dict__["opname"]) is base:
            raise TypeError(f"{cls.__name__}: op class {base.__name__} is final")


Op.__init_subclass__ = classmethod(__init_subclass_guard)  # type: ignore[assignment]
