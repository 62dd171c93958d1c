"""The vectorcall entry installed on a function object, and its compilation.

The entry decides, per call, whether the compiled body runs (the call shape it was built
for, no monitoring tool active) or CPython's `_PyFunction_Vectorcall` does (everything
else, exactly); it also makes an interpreted caller's `prev_instr` look as ceval.c's
inlined call leaves it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from llvmlite import ir

from ember import abi
from ember.backend import capi, loader
from ember.backend.engine import Engine, get_engine
from ember.backend.support import (
    I1,
    I8,
    I32,
    I64,
    NULL,
    OBJ,
    VECTORCALL,
    _field,
    decref,
    field_address,
    incref,
    install_support,
    raised_in,
    tools_active,
)


def _call_opcodes() -> frozenset[int]:
    import dis
    import opcode

    names = ["CALL", "INSTRUMENTED_CALL", *opcode._specializations["CALL"]]
    return frozenset(dis._all_opmap[n] for n in names)


CALL_OPCODES = _call_opcodes()
CALL_CACHE_BYTES = 6  # INLINE_CACHE_ENTRIES_CALL code units


def bump_interpreted_caller(builder: ir.IRBuilder, args: ir.Value, tstate: ir.Value):
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


# --- the installed entry ----------------------------------------------------------------


Entry = loader.Entry


@dataclass(frozen=True, slots=True)
class Shape:
    """The parameters of the compiled code, as the entry binds them."""

    argcount: int
    posonly: int = 0
    kwonly: int = 0
    varargs: bool = False
    varkw: bool = False
    #: The parameter name objects (the code's own, interned), argcount + kwonly of them.
    names: tuple = ()

    @classmethod
    def of(cls, code) -> Shape:
        total = code.co_argcount + code.co_kwonlyargcount
        return cls(code.co_argcount, code.co_posonlyargcount, code.co_kwonlyargcount,
                   bool(code.co_flags & abi.CO_VARARGS), bool(code.co_flags & abi.CO_VARKEYWORDS),
                   tuple(code.co_varnames[:total]))

    @property
    def simple(self) -> bool:
        """Only positional parameters: the caller's array is the body's."""
        return not (self.kwonly or self.varargs or self.varkw)

    @property
    def nparams(self) -> int:
        return self.argcount + self.kwonly + self.varargs + self.varkw


#: c_recursion_remaining below which a call gives its function back to the interpreter:
#: half of 3.12's C_RECURSION_LIMIT (1500, Include/cpython/pystate.h).
C_DEPTH_LIMIT = 750


def build_entry(
    module: ir.Module, name: str, body: ir.Function | None, argcount: int,
    shape: Shape | None = None,
) -> ir.Function:
    """Add the vectorcall entry `name` to `module`; return it.

    The body takes `body(func, params)`: `params` holds the parameters in fast-locals
    order (`shape.nparams` of them); the positional and keyword-only ones are borrowed
    for the call, the `*args` tuple and `**kwargs` dict are new references the body takes.
    A call of exactly `argcount` positional arguments and no keywords to a function with
    only positional parameters passes the caller's array as it is; other shapes are
    bound here (`_bind`): positional arguments, `*args`, keywords matched by identity
    with the parameter names, `**kwargs`, defaults and keyword-only defaults. Whatever
    that binding cannot decide simply (an argument error, a keyword equal but not
    identical to a name) and any call while a monitoring tool is active is handed to
    `_PyFunction_Vectorcall` (CPython runs it, exactly, with its own error messages).
    With `body` None it always hands over: the *forwarding entry*, used to prove
    installation before real code exists. Two i64 counters (`<name>.native`,
    `<name>.interpreted`) count the two paths.
    """
    shape = shape or Shape(argcount)
    fn = ir.Function(module, VECTORCALL, name=name)
    func, args, nargsf, kwnames = fn.args
    func.name, args.name, nargsf.name, kwnames.name = "func", "args", "nargsf", "kwnames"
    counters = {}
    for path in ("native", "interpreted"):
        gv = ir.GlobalVariable(module, I64, name=f"{name}.{path}")
        gv.initializer = ir.Constant(I64, 0)
        counters[path] = gv
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    tstate = b.call(capi.declare(module, "_PyThreadState_UncheckedGet"), [])
    bumped, old_instr = bump_interpreted_caller(b, args, tstate)
    fallback_bb = fn.append_basic_block("interpreted")
    native_bb = fn.append_basic_block("native")

    checks_bb = fn.append_basic_block("shape")
    depth_bb = fn.append_basic_block("c_depth")
    b.cbranch(tools_active(b, func), fallback_bb, depth_bb)
    b.position_at_end(depth_bb)
    # Compiled calls nest on the C stack and count against the C recursion limit, where
    # the interpreter nests Python-to-Python calls without either. Once half the C budget
    # is used, the function goes back to the interpreter for good (its vectorcall is
    # CPython's again), so deep Python recursion is inlined by ceval as in CPython and
    # never meets a RecursionError CPython would not raise.
    c_left = _field(b, tstate, abi.ThreadState.c_recursion_remaining, I32)
    deep = b.icmp_signed("<", c_left, ir.Constant(I32, C_DEPTH_LIMIT))
    deep_bb = fn.append_basic_block("too_deep_for_native")
    b.cbranch(deep, deep_bb, checks_bb)
    b.position_at_end(deep_bb)
    py_vc = capi.declare(module, "_PyFunction_Vectorcall")
    b.call(capi.declare(module, "PyFunction_SetVectorcall"), [func, b.bitcast(py_vc, OBJ)])
    b.branch(fallback_bb)
    b.position_at_end(checks_bb)
    if body is None:
        b.branch(fallback_bb)
    else:
        nargs = b.and_(nargsf, ir.Constant(I64, abi.VECTORCALL_ARGUMENTS_OFFSET - 1))
        shape_ok = b.and_(
            b.icmp_unsigned("==", kwnames, NULL),
            b.icmp_unsigned("==", nargs, ir.Constant(I64, argcount)),
        )
        if shape.simple:
            bind_bb = fn.append_basic_block("bind")
            b.cbranch(shape_ok, native_bb, bind_bb)
            b.position_at_end(bind_bb)
        _bind(b, fn, shape, counters["native"], fallback_bb, body, tstate)

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
    if body is None or not shape.simple:
        b.unreachable()
    else:
        _count(b, counters["native"])
        b.ret(_call_holding(b, body, func, [func, args, tstate]))
    return fn


def _call_holding(b: ir.IRBuilder, body, func, args) -> ir.Value:
    """Call the body with a reference of its own to `func`, as CPython's frame holds one
    (f_funcobj) from the push to the clear: a caller may pass a borrowed function (a
    module's `__getattr__`, looked up with PyDict_GetItem) that the call itself deletes
    (`del globals()['__getattr__']`), and the body's frame still reads it. Compiled
    callers' direct calls hold the function they call, and skip this."""
    incref(b, func)
    res = b.call(body, args)
    decref(b, func)
    return res


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
    code=None,
    stem: str = "entry",
    dump: frozenset[str] = frozenset(),
    engine: Engine | None = None,
    name: str | None = None,
    want_object: bool = False,
) -> tuple[Entry, float]:
    """Compile an entry (forwarding when `body_module` is None); return it and its ms.

    With a body, the entry is added to `body_module`, which must define `body_name` with
    the `BODY` signature; both are loaded together.
    """
    engine = engine or get_engine()
    install_support(engine)
    name = name or engine.unique_name(stem)
    if body_module is None:
        module = engine.new_module(name)
        build_entry(module, name, None, argcount)
    else:
        module = body_module
        shape = Shape.of(code) if code is not None else Shape(argcount)
        build_entry(module, name, module.get_global(body_name), argcount, shape)
    compiled = engine.add(module, [name], dump=dump, want_object=want_object)
    table = getattr(module, "ember_table", None)
    if table is not None:
        # The body's constants table (lower/consts.py), before anything can call it.
        fill_table(engine.global_address(table.name), table.objects)
    _write_dumps(name, compiled)
    entry = loaded_entry(engine, name, compiled.addresses[name], compiled.object_code,
                         body=body_name if body_module is not None else None, code=code)
    return entry, compiled.llvm_ms


def loaded_entry(engine: Engine, name: str, address: int, object_code=None,
                 from_cache: bool = False, body: str | None = None, code=None) -> Entry:
    """The `Entry` of the entry function `name`, loaded at `address` (with its `body`
    for direct calls of `code`)."""
    return Entry(
        name=name,
        address=address,
        native_calls=engine.global_address(f"{name}.native"),
        interpreted_calls=engine.global_address(f"{name}.interpreted"),
        object_code=object_code,
        from_cache=from_cache,
        body=engine.global_address(body) if body else 0,
        direct_argcount=loader.direct_argcount(code),
    )


fill_table = loader.fill_table


def _bind(b: ir.IRBuilder, fn: ir.Function, shape: Shape, counter, fallback, body,
          tstate) -> None:
    """Any call shape: the shared binder fills `params` (or says hand it to CPython),
    the body runs, the parameters' references are dropped."""
    from ember.backend import binder

    module = b.module
    func, args, nargsf, kwnames = fn.args
    with b.goto_block(fn.entry_basic_block):
        b.position_at_start(fn.entry_basic_block)
        params = b.alloca(OBJ, size=max(shape.nparams, 1), name="params")
    flags = (binder.VARARGS if shape.varargs else 0) | (binder.VARKW if shape.varkw else 0)
    if len(shape.names) < shape.argcount + shape.kwonly:
        flags |= binder.NO_KEYWORDS  # no names to match: keywords go to CPython
    ok = b.call(binder.bind_function(module), [
        func, args, nargsf, kwnames, params, ir.Constant(I64, shape.argcount),
        ir.Constant(I64, shape.posonly), ir.Constant(I64, shape.kwonly),
        ir.Constant(I64, flags)])
    bound = fn.append_basic_block("bound")
    b.cbranch(b.icmp_signed("==", ok, ir.Constant(I32, 0)), fallback, bound)
    b.position_at_end(bound)
    _count(b, counter)
    if body is None:
        b.branch(fallback)
        return
    incref(b, func)
    res = b.call(body, [func, params, tstate])
    b.call(binder.unbind_function(module), [params, ir.Constant(I64, shape.argcount + shape.kwonly)])
    decref(b, func)
    b.ret(res)
