"""Fast locals and constants. Locals are SSA values, so loads and stores emit no op; only
a possibly unbound local needs `load_fast_check`."""

from __future__ import annotations

from ember.ir import types as T
from ember.ir.ops import LoadFastCheck

from .registry import handles


def _checked(b, i: int):
    """The value of local `i`, checked for NULL unless it is known to be bound."""
    v = b.locals[i]
    if v.type <= T.Object:
        return v
    checked = b.emit(LoadFastCheck, name=b.local_name(i), value=v)
    b.set_local(i, checked)
    return checked


# The compiler emits LOAD_FAST only where it proved the local bound; our nullness analysis
# follows the same rules, so LOAD_FAST normally finds an `object` and costs nothing. If it
# ever finds `nullable` the check is kept: raising beats reading NULL.
handles("LOAD_FAST", "LOAD_FAST_CHECK")(lambda b, ins: b.push(_checked(b, ins.arg)))


@handles("LOAD_FAST_AND_CLEAR")
def load_fast_and_clear(b, ins):
    b.push(b.locals[ins.arg])
    b.set_local(ins.arg, b.null())


@handles("STORE_FAST")
def store_fast(b, ins):
    b.set_local(ins.arg, b.pop())


@handles("DELETE_FAST")
def delete_fast(b, ins):
    # Deleting an unbound local raises the same UnboundLocalError as loading it.
    _checked(b, ins.arg)
    b.set_local(ins.arg, b.null())


@handles("LOAD_CONST")
def load_const(b, ins):
    b.push(b.const(b.fb.code.co_consts[ins.arg]))
