"""Code every compiled function shares: refcounting, "step aside" checks, the eval breaker.

Emitters (`incref`, `decref`, `tools_active`, `eval_breaker_set`, `call_eval_breaker`)
write inline LLVM IR with an llvmlite builder; they are what the tier-1 lowering uses for
these jobs, so that the 3.12 rules live here once:

- refcounts follow PEP 683 (immortal objects are never written to; see `ember.abi`);
- a tool is "active" when any sys.monitoring tool other than Ember's own
  (`sys.monitoring.OPTIMIZER_ID`, used for hotness counting) has an event switched on,
  globally (`interp->monitors`; `sys.settrace` is tool 7, `sys.setprofile` tool 6) or for
  this function's code object alone (`code->_co_monitoring->local_monitors`). Then the
  entry hands the call to CPython's `_PyFunction_Vectorcall`, so tracers, profilers and
  coverage see every line of it;
- the eval breaker (`interp->ceval.eval_breaker`: signals, pending calls, a GIL drop
  request, an async exception, a scheduled GC) is handled by calling a tiny Python function
  (`loader.breaker`): its RESUME runs CPython's own `_Py_HandlePending`, which is not exported.
  An exception it raises (KeyboardInterrupt) comes back with the breaker's traceback entry
  removed, as if raised in the compiled code itself.
"""

from __future__ import annotations

import sys
import threading
from functools import cache

from llvmlite import ir

from ember import abi
from ember.backend import capi, loader
from ember.backend.engine import Engine, get_engine

I1 = ir.IntType(1)
I8, I16, I32, I64 = capi.I8, ir.IntType(16), capi.I32, capi.I64
OBJ = capi.OBJ
NULL = ir.Constant(OBJ, None)

#: The vectorcall signature: (callable, const args[], nargsf, kwnames) -> new ref or NULL.
VECTORCALL = ir.FunctionType(OBJ, [OBJ, OBJ, I64, OBJ])
#: What a compiled body provides: (function, args[0..co_argcount), the thread state)
#: -> new ref or NULL. The entry reads the thread state once and hands it on: reading it
#: is a call of `_PyThreadState_UncheckedGet`, a thread-local of libpython.
BODY = ir.FunctionType(OBJ, [OBJ, OBJ, OBJ])

OWN_TOOL = sys.monitoring.OPTIMIZER_ID
# Byte-wise mask over the 15 bytes of _Py_GlobalMonitors / _Py_LocalMonitors, read as two
# little-endian i64 words: every tool bit except ours; byte 15 (not a monitor) is masked out.
_OTHER_TOOLS_LO = int.from_bytes(bytes([0xFF & ~(1 << OWN_TOOL)] * 8), "little")
_OTHER_TOOLS_HI = int.from_bytes(bytes([0xFF & ~(1 << OWN_TOOL)] * 7 + [0]), "little")
assert abi.MONITORING_UNGROUPED_EVENTS == 15


def as_ptr(builder: ir.IRBuilder, value: ir.Value) -> ir.Value:
    """`value` as an opaque `ptr` (llvmlite gives globals typed pointer types like i8*)."""
    if isinstance(value.type, ir.PointerType) and not value.type.is_opaque:
        # llvmlite treats i8* and ptr as equal, so bitcast would be a no-op; LLVM folds
        # this pair away.
        return builder.inttoptr(builder.ptrtoint(value, I64), OBJ)
    return value


def _field(builder: ir.IRBuilder, base: ir.Value, offset: int, ty: ir.Type, name=""):
    base = as_ptr(builder, base)
    addr = builder.gep(base, [ir.Constant(I64, offset)], source_etype=I8) if offset else base
    return builder.load(addr, name=name, typ=ty)


def load_field(builder: ir.IRBuilder, base: ir.Value, offset: int, ty: ir.Type = OBJ, name=""):
    """Load the field at `offset` bytes (an `ember.abi` constant) from `base`."""
    return _field(builder, base, offset, ty, name)


def field_address(builder: ir.IRBuilder, base: ir.Value, offset: int, name=""):
    return builder.gep(
        as_ptr(builder, base), [ir.Constant(I64, offset)], source_etype=I8, name=name
    )


# --- helpers shared by every compiled function ---------------------------------------
#
# Slow paths every body needs (frame pop, traceback entry, do_raise, ...) are compiled
# once per process, each into its own small module, and bound as a symbol; a body only
# declares them. Defining them in every body's module cost some 250 lines of LLVM IR per
# function (parsed, optimised and emitted again each time), and it keeps per-function
# constants out of them by construction: a shared helper gets everything as arguments.

_shared: dict[str, int] = loader.SYMBOLS  # with code loaded without LLVM (the registry)
_shared_lock = threading.RLock()
#: (get(name) -> object code or None, put(name, object code)): set by the code cache
#: (ember/codecache.py) so that helpers, too, are compiled once per machine.
helper_store = None


def mark_process_local(module: ir.Module) -> None:
    """Say that `module`'s code embeds addresses of this process (never cache it)."""
    module.ember_process_local = True


def shared_names() -> frozenset[str]:
    """The shared helpers compiled or loaded in this process so far."""
    return frozenset(n for n in _shared if n != HANDLE_EVAL_BREAKER)


def load_shared(name: str, object_code: bytes) -> bool:
    """Load the shared helper `name` from object code (the code cache); False if it
    could not be loaded (then it is built as usual)."""
    with _shared_lock:
        if name in _shared:
            return True

        try:
            address = get_engine().add_object(object_code, [name])[name]
        except Exception:  # noqa: BLE001 - CompileError: a bad or stale entry
            return False
        loader.register(name, address)
        return True


def shared_function(module: ir.Module, name: str, fnty: ir.FunctionType, build) -> ir.Function:
    """`name` declared in `module`; compiled the first time it is asked for in this
    process: `build(fn)` emits the body of `fn` (a function of a fresh module, so the
    body declares what it calls through `fn.module`)."""
    fn = module.globals.get(name)
    if fn is not None:
        return fn
    with _shared_lock:
        if name not in _shared:

            engine = get_engine()
            store = helper_store
            blob = store[0](name) if store is not None else None
            address = None
            if blob:
                try:
                    address = engine.add_object(blob, [name])[name]
                except Exception:  # noqa: BLE001 - a bad entry: compile it
                    address = None
            if address is None:
                own = engine.new_module(name)
                body = ir.Function(own, fnty, name=name)
                build(body)
                compiled = engine.add(own, [name], want_object=store is not None)
                address = compiled.addresses[name]
                if (store is not None and compiled.object_code
                        and not getattr(own, "ember_process_local", False)):
                    store[1](name, compiled.object_code)
            loader.register(name, address)
    return ir.Function(module, fnty, name=name)


# --- reference counting ---------------------------------------------------------------


# Each is one call to a small `alwaysinline` function of the module (made on first use),
# which the always-inliner pass expands first: the same machine code, but lowering builds,
# prints and LLVM parses one instruction per refcount operation instead of ten and two
# blocks (refcounting was a third of a module's instructions).


def incref(builder: ir.IRBuilder, obj: ir.Value) -> None:
    """Py_INCREF of 3.12: add 1 to the low 32 bits unless that wraps (immortal)."""
    builder.call(_inline_helper(builder.module, "ember.incref", _emit_incref), [as_ptr(builder, obj)])


def decref(builder: ir.IRBuilder, obj: ir.Value) -> None:
    """Py_DECREF of 3.12: skip immortals; at zero, `_Py_Dealloc`."""
    builder.call(_inline_helper(builder.module, "ember.decref", _emit_decref), [as_ptr(builder, obj)])


def xdecref(builder: ir.IRBuilder, obj: ir.Value) -> None:
    """Py_XDECREF: decref unless NULL."""
    builder.call(_inline_helper(builder.module, "ember.xdecref", _emit_xdecref),
                 [as_ptr(builder, obj)])


_REFCOUNT_FN = ir.FunctionType(ir.VoidType(), [OBJ])


def _inline_helper(module: ir.Module, name: str, emit) -> ir.Function:
    fn = module.globals.get(name)
    if fn is None:
        fn = ir.Function(module, _REFCOUNT_FN, name=name)
        fn.linkage = "internal"
        fn.attributes.add("alwaysinline")
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        emit(b, fn.args[0])
        b.ret_void()
    return fn


def _emit_incref(builder: ir.IRBuilder, obj: ir.Value) -> None:
    # Branch-free: an immortal's low word is stored back unchanged (the same value, so no
    # other reader can tell), which keeps a module's block count, and LLVM's time, down.
    low = builder.load(obj, typ=I32, name="rc")
    new = builder.add(low, ir.Constant(I32, 1))
    wrapped = builder.icmp_unsigned("==", new, ir.Constant(I32, 0))
    builder.store(builder.select(wrapped, low, new), obj)


def _emit_decref(builder: ir.IRBuilder, obj: ir.Value) -> None:
    # Branch-free up to the zero test: an immortal's (negative low word) count is stored
    # back unchanged, and can never reach zero.
    rc = builder.load(obj, typ=I64, name="rc")
    mortal = builder.icmp_signed(">=", builder.trunc(rc, I32), ir.Constant(I32, 0))
    new = builder.sub(rc, builder.zext(mortal, I64))
    builder.store(new, obj)
    with builder.if_then(builder.icmp_signed("==", new, ir.Constant(I64, 0)), likely=False):
        builder.call(capi.declare(builder.module, "_Py_Dealloc"), [obj])


def _emit_xdecref(builder: ir.IRBuilder, obj: ir.Value) -> None:
    with builder.if_then(builder.icmp_unsigned("!=", obj, NULL)):
        _emit_decref(builder, obj)


# --- stepping aside for tracers, profilers and other monitoring tools -----------------


def other_tools(builder: ir.IRBuilder, monitors: ir.Value) -> ir.Value:
    """i1: a tool other than Ember's has an event on in `monitors` (a _Py_Monitors or
    _Py_LocalMonitors: 15 bytes, a bit per tool)."""
    return _other_tools(builder, monitors)


def _other_tools(builder: ir.IRBuilder, monitors: ir.Value) -> ir.Value:
    lo = builder.load(as_ptr(builder, monitors), typ=I64)
    hi = _field(builder, monitors, 8, I64)
    lo = builder.and_(lo, ir.Constant(I64, _OTHER_TOOLS_LO))
    hi = builder.and_(hi, ir.Constant(I64, _OTHER_TOOLS_HI))
    return builder.icmp_unsigned("!=", builder.or_(lo, hi), ir.Constant(I64, 0))


def other_tools_or_evaluator(builder: ir.IRBuilder) -> ir.Value:
    """i1: a monitoring tool other than Ember's is on globally, or a PEP 523 frame
    evaluator is set (a debugger's, say): then calls are CPython's, so that its
    evaluator sees every frame, as it would without Ember."""
    module = builder.module
    glob = _other_tools(builder, capi.declare_object(module, "ember.monitors"))
    evaluator = builder.load(as_ptr(builder, capi.declare_object(module, "ember.eval_frame")),
                             typ=OBJ)
    return builder.or_(glob, builder.icmp_unsigned("!=", evaluator, NULL))


def tools_active(builder: ir.IRBuilder, func: ir.Value) -> ir.Value:
    """i1: some monitoring tool other than Ember's is on, globally or for func's code, or
    a PEP 523 frame evaluator is set."""
    glob = other_tools_or_evaluator(builder)
    result = builder.alloca(I1, name="tools")
    builder.store(glob, result)
    with builder.if_then(builder.not_(glob), likely=True):
        code = _field(builder, func, abi.Function.func_code, OBJ, "code")
        mon = _field(builder, code, abi.Code._co_monitoring, OBJ, "mon")
        has = builder.icmp_unsigned("!=", mon, NULL)
        with builder.if_then(has):
            local = field_address(builder, mon, abi.CoMonitoringData.local_monitors)
            builder.store(_other_tools(builder, local), result)
    return builder.load(result)


# --- the eval breaker -----------------------------------------------------------------


def eval_breaker_set(builder: ir.IRBuilder) -> ir.Value:
    """i1: the interpreter asks running code to leave its fast path (cheap: one load)."""
    gv = capi.declare_object(builder.module, "ember.eval_breaker")
    value = builder.load_atomic(as_ptr(builder, gv), "monotonic", 4, typ=I32)
    return builder.icmp_unsigned("!=", value, ir.Constant(I32, 0))


def call_eval_breaker(builder: ir.IRBuilder) -> ir.Value:
    """Handle the eval breaker; i32 0, or -1 with an exception set. Use on back-edges:

    with builder.if_then(eval_breaker_set(builder), likely=False):
        failed = builder.icmp_signed("<", call_eval_breaker(builder), zero)
        ... branch to the error path if failed ...
    """
    fn = builder.module.globals.get(HANDLE_EVAL_BREAKER)
    if fn is None:
        fn = ir.Function(builder.module, ir.FunctionType(I32, []), name=HANDLE_EVAL_BREAKER)
    return builder.call(fn, [])


HANDLE_EVAL_BREAKER = "ember.handle_eval_breaker"


def _build_breaker_module(engine: Engine) -> ir.Module:
    module = engine.new_module("ember_support")
    fn = ir.Function(module, ir.FunctionType(I32, []), name=HANDLE_EVAL_BREAKER)
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    breaker = capi.declare_object(module, "ember.breaker_func")
    zero = ir.Constant(I64, 0)
    res = b.call(capi.declare(module, "PyObject_Vectorcall"), [breaker, NULL, zero, NULL])
    with b.if_else(b.icmp_unsigned("==", res, NULL), likely=False) as (failed, ok):
        with failed:
            # Drop the traceback entry of the breaker function's frame (the chain's head).
            exc = b.call(capi.declare(module, "PyErr_GetRaisedException"), [])
            tb = b.call(capi.declare(module, "PyException_GetTraceback"), [exc])
            with b.if_then(b.icmp_unsigned("!=", tb, NULL)):
                nxt = _field(b, tb, _TB_NEXT, OBJ, "tb_next")
                none = capi.declare_object(module, "_Py_NoneStruct")
                rest = b.select(b.icmp_unsigned("==", nxt, NULL), none, nxt)
                b.call(capi.declare(module, "PyException_SetTraceback"), [exc, rest])
                decref(b, tb)
            b.call(capi.declare(module, "PyErr_SetRaisedException"), [exc])
            b.ret(ir.Constant(I32, -1))
        with ok:
            decref(b, res)
    b.ret(ir.Constant(I32, 0))
    return module


# PyTracebackObject.tb_next: right after the object header (Include/cpython/traceback.h).
_TB_NEXT = abi.Object.SIZE
#: PyTracebackObject.tb_frame, after tb_next.
TB_FRAME = _TB_NEXT + abi.POINTER_SIZE

RAISED_IN = "ember.raised_in"


def _build_raised_in(fn) -> None:
    module = fn.module
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    exc = b.call(capi.declare(module, "PyErr_GetRaisedException"), [])
    tb = b.call(capi.declare(module, "PyException_GetTraceback"), [exc])
    b.call(capi.declare(module, "PyErr_SetRaisedException"), [exc])
    with b.if_then(b.icmp_unsigned("==", tb, NULL)):
        b.ret(ir.Constant(I32, 0))
    frame = _field(b, tb, TB_FRAME, OBJ)
    iframe = _field(b, frame, abi.FrameObject.f_frame, OBJ)
    same = b.icmp_unsigned("==", _field(b, iframe, abi.InterpreterFrame.f_code, OBJ),
                           fn.args[0])
    decref(b, tb)
    b.ret(b.zext(same, I32))


def raised_in_function(module: ir.Module) -> ir.Function:
    return shared_function(module, RAISED_IN, ir.FunctionType(I32, [OBJ]), _build_raised_in)


def raised_in(builder: ir.IRBuilder, code: ir.Value) -> ir.Value:
    """i1: the newest traceback entry of the raised exception is a frame of `code`, i.e.
    the exception left a frame of it (rather than failing before one ran)."""

    res = builder.call(raised_in_function(builder.module), [code])
    return builder.icmp_unsigned("!=", res, ir.Constant(I32, 0))


@cache
def install_support(engine: Engine | None = None) -> None:
    """Load the shared helpers into the engine and bind their symbols (once)."""
    from llvmlite import binding as llvm

    engine = engine or get_engine()
    llvm.add_symbol("ember.breaker_func", id(loader.breaker))
    if HANDLE_EVAL_BREAKER in loader.SYMBOLS:
        return  # loaded without LLVM (backend/loader.py), bound by the engine
    compiled = engine.add(_build_breaker_module(engine), [HANDLE_EVAL_BREAKER])
    loader.register(HANDLE_EVAL_BREAKER, compiled.addresses[HANDLE_EVAL_BREAKER])


# --- the function-watcher filter --------------------------------------------------------

FUNC_WATCHER = "ember.func_watcher"
_WATCHER = ir.FunctionType(I32, [I32, OBJ, OBJ])


def compile_func_watcher(handler_address: int, engine: Engine | None = None) -> int:
    """A `PyFunction_WatchCallback` that calls `handler_address` (same signature) only for
    functions whose vectorcall is not CPython's own, and never for CREATE.

    3.12 calls a function watcher for every event of every function in the interpreter
    (each closure created, each function freed); filtering in machine code keeps that
    cost to a few instructions for all the functions Ember did not install code on.
    """
    from llvmlite import binding as llvm

    engine = engine or get_engine()
    llvm.add_symbol("ember.func_watcher_handler", handler_address)
    name = engine.unique_name("func_watcher")
    module = engine.new_module(name)
    fn = ir.Function(module, _WATCHER, name=name)
    event, func, new_value = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    zero = ir.Constant(I32, 0)
    create = b.icmp_unsigned("==", event, ir.Constant(I32, abi.FUNC_EVENT_CREATE))
    with b.if_then(create, likely=True):
        b.ret(zero)
    vc = _field(b, func, abi.Function.vectorcall, OBJ, "vectorcall")
    ours = b.icmp_unsigned("!=", vc, capi.declare(module, "_PyFunction_Vectorcall"))
    with b.if_then(b.not_(ours), likely=True):
        b.ret(zero)
    handler = ir.Function(module, _WATCHER, name="ember.func_watcher_handler")
    b.ret(b.call(handler, [event, func, new_value]))
    return engine.add(module, [name]).addresses[name]
