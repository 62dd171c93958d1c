"""Code every compiled function shares: refcounting, "step aside" checks, the eval breaker,
and the vectorcall entry that is installed on a function object.

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
  (`_breaker`): its RESUME runs CPython's own `_Py_HandlePending`, which is not exported.
  An exception it raises (KeyboardInterrupt) comes back with `_breaker`'s traceback entry
  removed, as if raised in the compiled code itself.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import cache

from llvmlite import ir

from ember import abi
from ember.backend import capi
from ember.backend.engine import Engine, get_engine

I1 = ir.IntType(1)
I8, I16, I32, I64 = capi.I8, ir.IntType(16), capi.I32, capi.I64
OBJ = capi.OBJ
NULL = ir.Constant(OBJ, None)

#: The vectorcall signature: (callable, const args[], nargsf, kwnames) -> new ref or NULL.
VECTORCALL = ir.FunctionType(OBJ, [OBJ, OBJ, I64, OBJ])
#: What a compiled body provides: (function, args[0..co_argcount)) -> new ref or NULL.
BODY = ir.FunctionType(OBJ, [OBJ, OBJ])

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


# --- reference counting ---------------------------------------------------------------


def incref(builder: ir.IRBuilder, obj: ir.Value) -> None:
    """Py_INCREF of 3.12: add 1 to the low 32 bits unless that wraps (immortal)."""
    obj = as_ptr(builder, obj)
    low = builder.load(obj, typ=I32, name="rc")
    new = builder.add(low, ir.Constant(I32, 1))
    with builder.if_then(builder.icmp_unsigned("!=", new, ir.Constant(I32, 0)), likely=True):
        builder.store(new, obj)


def decref(builder: ir.IRBuilder, obj: ir.Value) -> None:
    """Py_DECREF of 3.12: skip immortals; at zero, `_Py_Dealloc`."""
    obj = as_ptr(builder, obj)
    rc = builder.load(obj, typ=I64, name="rc")
    immortal = builder.icmp_signed("<", builder.trunc(rc, I32), ir.Constant(I32, 0))
    with builder.if_then(builder.not_(immortal), likely=True):
        new = builder.sub(rc, ir.Constant(I64, 1))
        builder.store(new, obj)
        with builder.if_then(builder.icmp_signed("==", new, ir.Constant(I64, 0))):
            builder.call(capi.declare(builder.module, "_Py_Dealloc"), [obj])


def xdecref(builder: ir.IRBuilder, obj: ir.Value) -> None:
    with builder.if_then(builder.icmp_unsigned("!=", obj, NULL)):
        decref(builder, obj)


# --- stepping aside for tracers, profilers and other monitoring tools -----------------


def _other_tools(builder: ir.IRBuilder, monitors: ir.Value) -> ir.Value:
    lo = builder.load(as_ptr(builder, monitors), typ=I64)
    hi = _field(builder, monitors, 8, I64)
    lo = builder.and_(lo, ir.Constant(I64, _OTHER_TOOLS_LO))
    hi = builder.and_(hi, ir.Constant(I64, _OTHER_TOOLS_HI))
    return builder.icmp_unsigned("!=", builder.or_(lo, hi), ir.Constant(I64, 0))


def tools_active(builder: ir.IRBuilder, func: ir.Value) -> ir.Value:
    """i1: some monitoring tool other than Ember's is on, globally or for func's code."""
    module = builder.module
    glob = _other_tools(builder, capi.declare_object(module, "ember.monitors"))
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


def _breaker():
    # Its RESUME instruction checks the eval breaker and runs CPython's _Py_HandlePending.
    pass


def _build_breaker_module(engine: Engine) -> ir.Module:
    module = engine.new_module("ember_support")
    fn = ir.Function(module, ir.FunctionType(I32, []), name=HANDLE_EVAL_BREAKER)
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    breaker = capi.declare_object(module, "ember.breaker_func")
    zero = ir.Constant(I64, 0)
    res = b.call(capi.declare(module, "PyObject_Vectorcall"), [breaker, NULL, zero, NULL])
    with b.if_else(b.icmp_unsigned("==", res, NULL), likely=False) as (failed, ok):
        with failed:
            # Drop the traceback entry of _breaker's frame, the head of the chain.
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


def raised_in(builder: ir.IRBuilder, code: ir.Value) -> ir.Value:
    """i1: the newest traceback entry of the raised exception is a frame of `code`, i.e.
    the exception left a frame of it (rather than failing before one ran)."""
    module = builder.module
    fn = module.globals.get(RAISED_IN)
    if fn is None:
        fn = ir.Function(module, ir.FunctionType(I32, [OBJ]), name=RAISED_IN)
        fn.linkage = "internal"
        fn.attributes.add("noinline")
        fn.attributes.add("cold")
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
    res = builder.call(fn, [code])
    return builder.icmp_unsigned("!=", res, ir.Constant(I32, 0))


def _call_opcodes() -> frozenset[int]:
    import dis
    import opcode

    names = ["CALL", "INSTRUMENTED_CALL", *opcode._specializations["CALL"]]
    return frozenset(dis._all_opmap[n] for n in names)


CALL_OPCODES = _call_opcodes()
CALL_CACHE_BYTES = 6  # INLINE_CACHE_ENTRIES_CALL code units


def bump_interpreted_caller(builder: ir.IRBuilder, args: ir.Value):
    """Where an interpreted frame's CALL calls us with its value stack as `args`, move its
    prev_instr to the CALL's last cache entry, as ceval.c's inlined call of a Python
    function does (DISPATCH_INLINED after SKIP_OVER), so that f_lasti and tb_lasti of
    the caller are CPython's. Returns (frame or NULL, its old prev_instr), to undo it
    when the call fails before a frame ran (argument errors; CPython's prev_instr then
    stays at the CALL)."""
    b = builder
    F = abi.InterpreterFrame
    got_frame = b.alloca(OBJ, name="bumped")
    got_instr = b.alloca(OBJ, name="bumped_instr")
    b.store(NULL, got_frame)
    b.store(NULL, got_instr)
    tstate = b.call(capi.declare(b.module, "_PyThreadState_UncheckedGet"), [])
    cframe = _field(b, tstate, abi.ThreadState.cframe, OBJ)
    cur = _field(b, cframe, abi.CFrame.current_frame, OBJ)
    with b.if_then(b.icmp_unsigned("!=", cur, NULL)):
        owner = _field(b, cur, F.owner, I8)
        with b.if_then(b.icmp_unsigned("==", owner, ir.Constant(I8, abi.FRAME_OWNED_BY_THREAD))):
            code = _field(b, cur, F.f_code, OBJ)
            nlp = _field(b, code, abi.Code.co_nlocalsplus, I32)
            ss = _field(b, code, abi.Code.co_stacksize, I32)
            lo = b.add(b.ptrtoint(cur, I64), ir.Constant(I64, F.localsplus))
            hi = b.add(lo, b.mul(b.sext(b.add(nlp, ss), I64), ir.Constant(I64, 8)))
            a = b.ptrtoint(args, I64)
            inside = b.and_(b.icmp_unsigned(">=", a, lo), b.icmp_unsigned("<", a, hi))
            with b.if_then(inside):
                instr = _field(b, cur, F.prev_instr, OBJ)
                op = b.load(instr, typ=I8)
                is_call = ir.Constant(I1, 0)
                for k in sorted(CALL_OPCODES):
                    is_call = b.or_(is_call, b.icmp_unsigned("==", op, ir.Constant(I8, k)))
                with b.if_then(is_call):
                    moved = b.gep(instr, [ir.Constant(I64, CALL_CACHE_BYTES)], source_etype=I8)
                    b.store(moved, field_address(b, cur, F.prev_instr))
                    b.store(cur, got_frame)
                    b.store(instr, got_instr)
    return got_frame, got_instr


@cache
def install_support(engine: Engine | None = None) -> None:
    """Load the shared helpers into the engine and bind their symbols (once)."""
    from llvmlite import binding as llvm

    engine = engine or get_engine()
    llvm.add_symbol("ember.breaker_func", id(_breaker))
    compiled = engine.add(_build_breaker_module(engine), [HANDLE_EVAL_BREAKER])
    llvm.add_symbol(HANDLE_EVAL_BREAKER, compiled.addresses[HANDLE_EVAL_BREAKER])


# --- the installed entry ----------------------------------------------------------------


@dataclass(slots=True)
class Entry:
    """An entry loaded in the engine: its address and its two call counters."""

    name: str
    address: int
    #: Addresses of i64 counters: calls that ran `body`, calls handed to CPython.
    native_calls: int
    interpreted_calls: int
    tier: int = 1


def build_entry(
    module: ir.Module, name: str, body: ir.Function | None, argcount: int
) -> ir.Function:
    """Add the vectorcall entry `name` to `module`; return it.

    The entry hands the call to `_PyFunction_Vectorcall` (CPython runs it, exactly) when a
    monitoring tool is active, when keywords are passed, or when the positional count is
    not `argcount`; otherwise it calls `body(func, args)`. With `body` None it always hands
    over: the *forwarding entry*, used to prove installation before real code exists.
    Two i64 counters (`<name>.native`, `<name>.interpreted`) count the two paths.
    """
    fn = ir.Function(module, VECTORCALL, name=name)
    func, args, nargsf, kwnames = fn.args
    func.name, args.name, nargsf.name, kwnames.name = "func", "args", "nargsf", "kwnames"
    counters = {}
    for path in ("native", "interpreted"):
        gv = ir.GlobalVariable(module, I64, name=f"{name}.{path}")
        gv.initializer = ir.Constant(I64, 0)
        counters[path] = gv
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    bumped, old_instr = bump_interpreted_caller(b, args)
    fallback_bb = fn.append_basic_block("interpreted")
    native_bb = fn.append_basic_block("native")

    checks_bb = fn.append_basic_block("shape")
    b.cbranch(tools_active(b, func), fallback_bb, checks_bb)
    b.position_at_end(checks_bb)
    if body is None:
        b.branch(fallback_bb)
    else:
        nargs = b.and_(nargsf, ir.Constant(I64, abi.VECTORCALL_ARGUMENTS_OFFSET - 1))
        shape_ok = b.and_(
            b.icmp_unsigned("==", kwnames, NULL),
            b.icmp_unsigned("==", nargs, ir.Constant(I64, argcount)),
        )
        b.cbranch(shape_ok, native_bb, fallback_bb)

    b.position_at_end(fallback_bb)
    _count(b, counters["interpreted"])
    vectorcall = capi.declare(module, "_PyFunction_Vectorcall")
    res = b.call(vectorcall, [func, args, nargsf, kwnames])
    frame = b.load(bumped)
    failed = b.and_(b.icmp_unsigned("==", res, NULL), b.icmp_unsigned("!=", frame, NULL))
    with b.if_then(failed, likely=False):
        code = _field(b, func, abi.Function.func_code, OBJ)
        with b.if_then(b.not_(raised_in(b, code))):
            b.store(b.load(old_instr), field_address(b, frame, abi.InterpreterFrame.prev_instr))
    b.ret(res)

    b.position_at_end(native_bb)
    if body is None:
        b.unreachable()
    else:
        _count(b, counters["native"])
        b.ret(b.call(body, [func, args], tail=True))
    return fn


def _write_dumps(name: str, compiled) -> None:
    """`-X jit-dump=llvm,asm`: the optimised IR and the assembly, on stderr."""
    for kind, text in (("llvm", compiled.llvm_ir), ("asm", compiled.asm)):
        if text:
            sys.stderr.write(f";; ember {kind}: {name}\n{text.rstrip()}\n")
    sys.stderr.flush()


def _count(builder: ir.IRBuilder, counter: ir.GlobalVariable) -> None:
    builder.store(builder.add(builder.load(counter), ir.Constant(I64, 1)), counter)


def compile_entry(
    body_module: ir.Module | None = None,
    body_name: str | None = None,
    argcount: int = 0,
    *,
    stem: str = "entry",
    dump: frozenset[str] = frozenset(),
    engine: Engine | None = None,
) -> tuple[Entry, float]:
    """Compile an entry (forwarding when `body_module` is None); return it and its ms.

    With a body, the entry is added to `body_module`, which must define `body_name` with
    the `BODY` signature; both are loaded together.
    """
    engine = engine or get_engine()
    install_support(engine)
    name = engine.unique_name(stem)
    if body_module is None:
        module = engine.new_module(name)
        build_entry(module, name, None, argcount)
    else:
        module = body_module
        build_entry(module, name, module.get_global(body_name), argcount)
    compiled = engine.add(module, [name], dump=dump)
    _write_dumps(name, compiled)
    entry = Entry(
        name=name,
        address=compiled.addresses[name],
        native_calls=engine.global_address(f"{name}.native"),
        interpreted_calls=engine.global_address(f"{name}.interpreted"),
    )
    return entry, compiled.llvm_ms


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
