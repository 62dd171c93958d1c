"""Fast-local checks, names (module/class namespaces) and globals.

Fast locals themselves are SSA values, carried in frame states; LOAD_FAST, STORE_FAST and
LOAD_CLOSURE produce no op. What remains is the unbound check (`load_fast_check`, also used
for DELETE_FAST, which raises the same error) and the dictionary-backed namespaces.
"""

from __future__ import annotations

from dataclasses import dataclass

from ember.ir import types as T
from ember.ir.core import Value
from ember.ir.ops.base import Op, register


@register
@dataclass(slots=True, eq=False, kw_only=True)
class LoadFastCheck(Op):
    """`value` if it is bound, else raise UnboundLocalError naming `name`."""

    opname = "load_fast_check"
    may_raise = True
    operand_types = {"value": T.ObjectOrNull}
    name: str
    value: Value


@register
@dataclass(slots=True, eq=False, kw_only=True)
class PopTop(Op):
    """POP_TOP of `value` after a STORE_FAST or DELETE_FAST that no op with a frame state
    followed: `locals` are the fast locals at the POP_TOP. Compiled code writes the
    frame's slots only before ops that may raise or call out, so without it a value
    popped here would be released before the stores, which CPython makes first (the
    end of a comprehension restores its variable, then pops the list it built)."""

    opname = "pop_top"
    result = T.Void
    operand_types = {"locals": T.ObjectOrNull}
    value: Value
    locals: tuple[Value, ...]


@register
@dataclass(slots=True, eq=False, kw_only=True)
class LoadName(Op):
    opname = "load_name"
    may_raise = True
    name: str


@register
@dataclass(slots=True, eq=False, kw_only=True)
class StoreName(Op):
    opname = "store_name"
    result = T.Void
    may_raise = True
    name: str
    value: Value


@register
@dataclass(slots=True, eq=False, kw_only=True)
class DeleteName(Op):
    opname = "delete_name"
    result = T.Void
    may_raise = True
    name: str


@register
@dataclass(slots=True, eq=False, kw_only=True)
class LoadGlobal(Op):
    """LOAD_GLOBAL; its optional NULL push is a separate `null` op."""

    opname = "load_global"
    may_raise = True
    name: str


@register
@dataclass(slots=True, eq=False, kw_only=True)
class StoreGlobal(Op):
    opname = "store_global"
    result = T.Void
    may_raise = True
    name: str
    value: Value


@register
@dataclass(slots=True, eq=False, kw_only=True)
class DeleteGlobal(Op):
    opname = "delete_global"
    result = T.Void
    may_raise = True
    name: str


@register
@dataclass(slots=True, eq=False, kw_only=True)
class LoadLocals(Op):
    opname = "load_locals"
    may_raise = True


@register
@dataclass(slots=True, eq=False, kw_only=True)
class LoadFromDictOrGlobals(Op):
    opname = "load_from_dict_or_globals"
    may_raise = True
    name: str
    mapping: Value


@register
@dataclass(slots=True, eq=False, kw_only=True)
class SetupAnnotations(Op):
    opname = "setup_annotations"
    result = T.Void
    may_raise = True


@register
@dataclass(slots=True, eq=False, kw_only=True)
class LoadBuildClass(Op):
    opname = "load_build_class"
    may_raise = True


@register
@dataclass(slots=True, eq=False, kw_only=True)
class CheckEvalBreaker(Op):
    """Run pending signal handlers and thread switches (RESUME, JUMP_BACKWARD); this is
    what lets Ctrl-C stop a compiled loop."""

    opname = "check_eval_breaker"
    result = T.Void
    may_raise = True
