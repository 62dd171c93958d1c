"""The core of tier 1: one IR function -> one LLVM function with the `support.BODY` shape.

    body(func, args) -> new reference, or NULL with an exception set

Assumes: verified IR, no exception handlers (refused before this runs), every op class has
a registered lowering (else `NotLowered`). The entry (`support.build_entry`) calls the body
only for exactly `co_argcount` positional arguments and no keywords, with no monitoring
tool active; everything else goes to CPython's own `_PyFunction_Vectorcall`.

What the core owns, so that op lowerings stay small:

- block params become LLVM phis; every edge gets its own LLVM block that increfs what it
  passes and releases what dies on it (`liveness.py` says what);
- after each op, the owned values that die there are released, in a fixed order
  (fast-local slot order, then operand order);
- the body links a real `_PyInterpreterFrame` into the thread's frame chain and keeps its
  `prev_instr` and fast locals current before each op that may raise or call out (see
  "the frame" below and README.md);
- each op that may raise gets an error block (made on first use): `PyTraceBack_Here` of
  our frame's frame object adds the entry CPython would add (line and carets come from
  `prev_instr`), the other live values are released, the frame is popped and the body
  returns NULL;
- Python recursion depth: the body counts itself in `py_recursion_remaining` (and, since
  it runs on the C stack, `c_recursion_remaining`) exactly as a Python frame does.
"""

from __future__ import annotations

from llvmlite import ir

from ember import abi
from ember.backend import capi, support
from ember.ir import ops
from ember.ir import types as T
from ember.lower import liveness
from ember.lower.liveness import BORROWED, NONE, OWNED
from ember.lower.registry import LOWERINGS, NotLowered

I1, I32, I64, OBJ = support.I1, support.I32, support.I64, support.OBJ
NULL = support.NULL
TB_HELPER = "ember.tb_here"


def llvm_type(ty: T.Type) -> ir.Type:
    if ty <= T.ObjectOrNull:
        return OBJ
    if ty <= T.CBool:
        return I1
    if ty <= T.CInt64:
        return I64
    if ty <= T.CDouble:
        return ir.DoubleType()
    raise NotLowered("type", f"tier 1: no machine type for {ty}")


class Lowering:
    """State while lowering one function; op lowerings receive it as `cx`."""

    def __init__(self, func, code, module: ir.Module, name: str):
        self.func = func
        self.code = code
        self.module = module
        self.name = name
        self.keep: list = [code]  # objects whose addresses are baked into the code
        self.values: dict = {}
        self.fn = ir.Function(module, support.BODY, name=name)
        self.fn.args[0].name, self.fn.args[1].name = "func", "args"
        self._cstrings: dict[str, ir.GlobalVariable] = {}
        self._err_blocks: dict = {}
        self._err_shared: dict = {}
        self.op = None  # the op being lowered
        self._ret_phi = None

    # --- helpers for op lowerings -------------------------------------------------------

    def call(self, name: str, *args, **kw) -> ir.Value:
        return self.b.call(capi.declare(self.module, name), list(args), **kw)

    def i64(self, n: int) -> ir.Constant:
        return ir.Constant(I64, n)

    def i32(self, n: int) -> ir.Constant:
        return ir.Constant(I32, n)

    def pyobj(self, obj: object) -> ir.Value:
        """A pointer to `obj`, which is kept alive as long as the compiled code."""
        self.keep.append(obj)
        return ir.Constant(I64, id(obj)).inttoptr(OBJ)

    def cstr(self, text: str) -> ir.Value:
        gv = self._cstrings.get(text)
        if gv is None:
            data = bytearray(text.encode("utf-8") + b"\0")
            ty = ir.ArrayType(ir.IntType(8), len(data))
            gv = ir.GlobalVariable(self.module, ty, name=f"str.{len(self._cstrings)}")
            gv.global_constant = True
            gv.linkage = "private"
            gv.initializer = ir.Constant(ty, data)
            self._cstrings[text] = gv
        return gv.bitcast(OBJ)

    def exc(self, name: str) -> ir.Value:
        return capi.load_pointer(self.b, f"PyExc_{name}")

    def obj_static(self, name: str) -> ir.Value:
        return support.as_ptr(self.b, capi.declare_object(self.module, name))

    def none(self) -> ir.Value:
        return self.obj_static("_Py_NoneStruct")

    def incref(self, v) -> None:
        support.incref(self.b, v)

    def decref(self, v) -> None:
        support.decref(self.b, v)

    def xdecref(self, v) -> None:
        support.xdecref(self.b, v)

    def type_of(self, obj: ir.Value) -> ir.Value:
        return support.load_field(self.b, obj, abi.Object.ob_type)

    def fail(self) -> None:
        """Branch to the current op's error path (an exception must be set)."""
        self.b.branch(self.err_block(self.op))
        self.b.position_at_end(self.fn.append_basic_block("dead"))

    def fail_if(self, cond: ir.Value) -> None:
        ok = self.fn.append_basic_block("ok")
        self.b.cbranch(cond, self.err_block(self.op), ok)
        self.b.position_at_end(ok)

    def check_null(self, v: ir.Value) -> ir.Value:
        self.fail_if(self.b.icmp_unsigned("==", v, NULL))
        return v

    def check_neg(self, v: ir.Value) -> ir.Value:
        self.fail_if(self.b.icmp_signed("<", v, ir.Constant(v.type, 0)))
        return v

    def bool_obj(self, cond: ir.Value) -> ir.Value:
        """Py_True or Py_False (immortal, borrowed) for an i1."""
        return self.b.select(
            cond, self.obj_static("_Py_TrueStruct"), self.obj_static("_Py_FalseStruct")
        )

    def v(self, value) -> ir.Value:
        return self.values[value]

    # --- driving ----------------------------------------------------------------------

    def lower(self) -> ir.Function:
        func = self.func
        for op in func.all_ops():
            if op.frame_state is not None and op.frame_state.handler is not None:
                raise NotLowered("handlers", "tier 1: exception handlers not lowered yet")
            if type(op) not in LOWERINGS:
                raise NotLowered("op", f"tier 1: op {op.opname} not lowered")
        entry_kinds = self._entry_kinds()
        self.own = liveness.Ownership(func, entry_kinds)

        b = self.b = ir.IRBuilder(self.fn.append_basic_block("entry"))
        self.exit_bb = self.fn.append_basic_block("exit")
        self.blocks = {blk: self.fn.append_basic_block(blk.label) for blk in func.blocks}
        self.tstate = self.call("_PyThreadState_UncheckedGet")
        self._slot_cache: dict[int, object] = {}
        self._tails = {}
        for blk in func.blocks:
            self._tails.update(return_tail(func, self.code, blk))
        self._push_frame()
        self._enter_recursion()
        self._bind_entry(entry_kinds)
        b.branch(self.blocks[func.entry])

        for blk in func.blocks[1:]:
            b.position_at_end(self.blocks[blk])
            for p in blk.params:
                self.values[p] = b.phi(llvm_type(p.type))
        for blk in func.blocks:
            b.position_at_end(self.blocks[blk])
            self._slot_cache = {}
            tail = self._tails.get(blk)
            if tail is not None:
                self._sync_locals(tail)
            self._release_unused_params(blk)
            for op in blk.ops:
                self._lower_op(op)
            self.op = blk.terminator
            self._sync_frame(blk.terminator)
            LOWERINGS[type(blk.terminator)](self, blk.terminator)

        b.position_at_end(self.exit_bb)
        phi = self._ret_phi
        self._leave_recursion()
        b.ret(phi)
        return self.fn

    def _release_unused_params(self, blk) -> None:
        """Owned block params that nothing in the block uses (not even a frame state)
        die on arrival: the edge passed a reference, so release it here."""
        own = self.own
        first = blk.ops[0] if blk.ops else blk.terminator
        live = own.before[first]
        dead = [p for p in blk.params
                if own.kind.get(p) == OWNED and own.root_of(p) is p and p not in live]
        self.release(dead)

    def _entry_kinds(self) -> dict:
        func = self.func
        kinds = {}
        nargs = func.argcount + func.kwonlyargcount
        if func.kwonlyargcount:
            raise NotLowered("kwonly", "tier 1: keyword-only arguments are not bound natively")
        extra = 0
        if func.flags & abi.CO_VARARGS:
            extra += 1
        if func.flags & abi.CO_VARKEYWORDS:
            extra += 1
        for i, p in enumerate(func.entry.params):
            if i < nargs:
                kinds[p] = BORROWED
            elif i < nargs + extra:
                kinds[p] = OWNED
            elif p.type <= T.Null:
                kinds[p] = NONE
            else:
                raise NotLowered("entry", f"tier 1: entry parameter {i} is {p.type}")
        return kinds

    def _bind_entry(self, kinds: dict) -> None:
        func, b = self.func, self.b
        args = self.fn.args[1]
        nargs = func.argcount
        varargs = bool(func.flags & abi.CO_VARARGS)
        for i, p in enumerate(func.entry.params):
            if i < nargs:
                addr = b.gep(args, [self.i64(i)], source_etype=OBJ)
                self.values[p] = b.load(addr, typ=OBJ, name=func.varnames[i])
            elif i == nargs and varargs:
                self.values[p] = self._entry_alloc("PyTuple_New", self.i64(0))
            elif kinds[p] == OWNED:
                self.values[p] = self._entry_alloc("PyDict_New")
            else:
                self.values[p] = NULL

    def _entry_alloc(self, name: str, *args) -> ir.Value:
        v = self.call(name, *args)
        fail = self.fn.append_basic_block("entry_nomem")
        ok = self.fn.append_basic_block("entry_ok")
        self.b.cbranch(self.b.icmp_unsigned("==", v, NULL), fail, ok)
        with self.b.goto_block(fail):
            self._pop_frame()
            self._to_exit(NULL)
        self.b.position_at_end(ok)
        return v

    # --- the frame ----------------------------------------------------------------------
    #
    # Each call links a real _PyInterpreterFrame (on the C stack) into the thread's frame
    # chain, so callees that look at their caller (sys._getframe, warnings' stacklevel,
    # logging, inspect, traceback, super()) see this function as CPython would show it.
    # Its specials are borrowed (the code is kept alive by the compiled code, the function
    # by our caller). `localsplus` owns its references, as in CPython: before each op
    # that may raise or call out ("sync") the slots whose value changed get the new
    # value (incref) and drop the old one (decref, after the store, as STORE_FAST does);
    # so a local lives until it is rebound or the call ends, as in CPython. On exit the
    # slots are cleared (`_PyFrame_ClearExceptCode`), unless a frame object outlives the
    # call: then it takes the frame over (`take_ownership` of Python/frame.c).

    def _frame_size(self) -> int:
        return abi.InterpreterFrame.localsplus + 8 * max(self.func.nlocalsplus, 1)

    def _push_frame(self) -> None:
        b, code, func = self.b, self.code, self.fn.args[0]
        n = self.func.nlocalsplus
        if n != code.co_nlocals or code.co_cellvars or code.co_freevars:
            raise NotLowered("cells", "tier 1: cell and free variables have no frame layout")
        frame = b.alloca(ir.IntType(8), size=self._frame_size(), name="frame")
        frame.align = 16
        self.frame = frame
        F = abi.InterpreterFrame

        def put(off, val, ty=OBJ):
            b.store(val, b.bitcast(support.field_address(b, frame, off), ty.as_pointer()))

        put(F.f_code, self.pyobj(code))
        put(F.f_funcobj, func)
        put(F.f_globals, support.load_field(b, func, abi.Function.func_globals))
        put(F.f_builtins, support.load_field(b, func, abi.Function.func_builtins))
        put(F.f_locals, NULL)
        put(F.frame_obj, NULL)
        put(F.prev_instr, self.instr_ptr(2 * first_traceable(code)))
        put(F.stacktop, self.i32(n), I32)
        put(F.return_offset, ir.Constant(support.I16, 0), support.I16)
        put(F.owner, ir.Constant(ir.IntType(8), abi.FRAME_OWNED_BY_THREAD), ir.IntType(8))
        args = self.fn.args[1]
        for i in range(n):
            if i < self.func.argcount:
                addr = b.gep(args, [self.i64(i)], source_etype=OBJ)
                val = b.load(addr, typ=OBJ)
                support.incref(b, val)
            else:
                val = NULL
            b.store(val, self.slot(i))
        cframe = support.load_field(b, self.tstate, abi.ThreadState.cframe)
        cur = support.field_address(b, cframe, abi.CFrame.current_frame)
        put(F.previous, b.load(cur, typ=OBJ))
        b.store(frame, cur)

    def instr_ptr(self, offset: int) -> ir.Value:
        """`_PyCode_CODE(code) + offset/2`: what `prev_instr` holds at that instruction."""
        return ir.Constant(I64, id(self.code) + abi.Code.co_code_adaptive + offset).inttoptr(OBJ)

    def set_prev_instr(self, ptr: ir.Value) -> None:
        addr = support.field_address(self.b, self.frame, abi.InterpreterFrame.prev_instr)
        self.b.store(ptr, self.b.bitcast(addr, OBJ.as_pointer()))

    def slot(self, i: int) -> ir.Value:
        off = abi.InterpreterFrame.localsplus + 8 * i
        return self.b.bitcast(support.field_address(self.b, self.frame, off), OBJ.as_pointer())

    def _sync_frame(self, op) -> None:
        """Before an op that may raise or call out: prev_instr and the fast locals."""
        fs = op.frame_state
        if fs is None:
            return
        self.set_prev_instr(self.instr_ptr(op.offset))
        self._sync_locals(fs.locals)

    def _local_value(self, v):
        """(LLVM value, may it be NULL) of a fast-locals entry: an IR value or a Const."""
        if isinstance(v, _Const):
            if v is _UNBOUND:
                return NULL, False
            return self.pyobj(v.value), False
        if v.type <= T.Null:
            return NULL, False
        return self.values[v], not v.type <= T.Object

    def _sync_locals(self, locals_) -> None:
        b = self.b
        cache = self._slot_cache
        changed = []
        for i, v in enumerate(locals_):
            if i in cache and cache[i] is v:
                continue
            new, new_maybe_null = self._local_value(v)
            slot = self.slot(i)
            if i in cache:
                old, old_maybe_null = self._local_value(cache[i])
            else:
                old = b.load(slot, typ=OBJ)
                old_maybe_null = True
            if new is not NULL:
                if not new_maybe_null:
                    support.incref(b, new)
                else:
                    with b.if_then(b.icmp_unsigned("!=", new, NULL)):
                        support.incref(b, new)
            b.store(new, slot)
            cache[i] = v
            changed.append((old, old_maybe_null))
        # STORE_FAST stores, then drops the old value.
        for old, maybe_null in changed:
            if old is NULL:
                continue
            (support.xdecref if maybe_null else support.decref)(b, old)

    def _unlink(self) -> None:
        b = self.b
        cframe = support.load_field(b, self.tstate, abi.ThreadState.cframe)
        cur = support.field_address(b, cframe, abi.CFrame.current_frame)
        b.store(support.load_field(b, self.frame, abi.InterpreterFrame.previous), cur)

    def _pop_frame(self) -> None:
        """Unlink the frame, then clear it (or hand it to a frame object that outlives
        the call): what `_PyEvalFrameClearAndPop` does once RETURN_VALUE has unlinked."""
        b, F = self.b, abi.InterpreterFrame
        self._unlink()
        fobj = support.load_field(b, self.frame, F.frame_obj, I64)
        locs = support.load_field(b, self.frame, F.f_locals, I64)
        slow = b.icmp_unsigned("!=", b.or_(fobj, locs), self.i64(0))
        with b.if_else(slow, likely=False) as (then, otherwise):
            with then:
                b.call(frame_pop_helper(self.module), [self.frame])
            with otherwise:
                for i in range(self.func.nlocalsplus):
                    support.xdecref(b, b.load(self.slot(i), typ=OBJ))

    def _enter_recursion(self) -> None:
        b = self.b
        fields = (abi.ThreadState.py_recursion_remaining, abi.ThreadState.c_recursion_remaining)
        too_deep = ir.Constant(I1, 0)
        for off in fields:
            addr = support.field_address(b, self.tstate, off)
            old = b.load(addr, typ=I32)
            b.store(b.sub(old, self.i32(1)), addr)
            too_deep = b.or_(too_deep, b.icmp_signed("<=", old, self.i32(0)))
        ok = self.fn.append_basic_block("depth_ok")
        deep = self.fn.append_basic_block("too_deep")
        b.cbranch(too_deep, deep, ok)
        b.position_at_end(deep)
        # _Py_CheckRecursiveCall: no error while already handling one (the headroom),
        # until 50 past the limit.
        head = support.load_field(b, self.tstate, abi.ThreadState.recursion_headroom, I32)
        raise_bb = self.fn.append_basic_block("raise_recursion")
        b.cbranch(b.icmp_unsigned("==", head, self.i32(0)), raise_bb, ok)
        b.position_at_end(raise_bb)
        self.call("PyErr_SetString", self.exc("RecursionError"),
                  self.cstr("maximum recursion depth exceeded"))
        self._pop_frame()
        self._to_exit(NULL)
        b.position_at_end(ok)

    def _leave_recursion(self) -> None:
        b = self.b
        for off in (abi.ThreadState.py_recursion_remaining,
                    abi.ThreadState.c_recursion_remaining):
            addr = support.field_address(b, self.tstate, off)
            b.store(b.add(b.load(addr, typ=I32), self.i32(1)), addr)

    def _to_exit(self, value: ir.Value) -> None:
        """Leave the body with `value` (a new reference, or NULL)."""
        if self._ret_phi is None:
            with self.b.goto_block(self.exit_bb):
                self._ret_phi = self.b.phi(OBJ, name="result")
        self._ret_phi.add_incoming(value, self.b.block)
        self.b.branch(self.exit_bb)

    # --- ops ----------------------------------------------------------------------------

    def _lower_op(self, op) -> None:
        self.op = op
        self._sync_frame(op)
        result = LOWERINGS[type(op)](self, op)
        own = self.own
        if type(op) in liveness.ALIASES:
            self.values[op] = self.values[op.value]
        elif op.type == T.Multi:
            self.values[op] = result
            for ex in own.extracts.get(op, ()):
                self.values[ex] = result[ex.index]
            taken = {ex.index for ex in own.extracts.get(op, ())}
            for i, item in enumerate(result):
                if i not in taken and liveness.counted(op.result_items()[i]):
                    support.xdecref(self.b, item)
        elif type(op) is not ops.Extract and op.type != T.Void:
            if result is None:
                raise NotLowered("internal", f"tier 1: {op.opname} produced no value")
            self.values[op] = result
        tail = self._tails.get(op)
        if tail is not None:
            self._sync_locals(tail)
        self.release(self.dying(op, op.frame_state))

    def dying(self, op, fs) -> list:
        """Owned roots that die at `op`, in release order."""
        own = self.own
        dead = (set(own.uses(op)) | set(own.defs[op])) - own.after[op]
        dead = {v for v in dead if own.kind.get(v) == OWNED}
        return self._ordered(dead, op, fs)

    def _ordered(self, roots: set, op, fs) -> list:
        order = []
        if fs is not None:
            order.extend(self.own.root_of(v) for v in fs.locals)
        order.extend(self.own.root_of(v) for v in op.inputs())
        for edge in op.edges():
            order.extend(self.own.root_of(a) for a in edge.args)
        order.extend(self.own.defs[op])
        out, seen = [], set()
        for v in order:
            if v in roots and v not in seen:
                seen.add(v)
                out.append(v)
        rest = sorted(roots - seen, key=lambda v: getattr(v, "offset", 0))
        return out + rest

    def release(self, roots) -> None:
        for v in roots:
            if v.type <= T.Object:
                support.decref(self.b, self.values[v])
            else:
                support.xdecref(self.b, self.values[v])

    # --- errors -------------------------------------------------------------------------

    def err_block(self, op) -> ir.Block:
        """The error path of `op`: a small block that jumps, with the op's offset, to a
        cleanup block shared by every op with the same locals and live references."""
        blk = self._err_blocks.get(op)
        if blk is not None:
            return blk
        locals_, release = self._error_state(op)
        key = (tuple(id(v) for v in locals_), tuple(id(v) for v in release))
        shared = self._err_shared.get(key)
        if shared is None:
            shared_bb = self.fn.append_basic_block(f"error.shared{len(self._err_shared)}")
            with self.b.goto_block(shared_bb):
                offset = self.b.phi(I64, name="offset")
                self._emit_error(locals_, release, offset)
            shared = self._err_shared[key] = (shared_bb, offset)
        blk = self.fn.append_basic_block(f"error.{op.offset}")
        self._err_blocks[op] = blk
        with self.b.goto_block(blk):
            shared[1].add_incoming(self.i64(op.offset), blk)
            self.b.branch(shared[0])
        return blk

    def _error_state(self, op):
        """(the fast locals, owned values to release in order) at op."""
        fs, own = op.frame_state, self.own
        locals_ = list(fs.locals)
        # CPython pops the value stack top first; the frame keeps the locals.
        live = {v for v in own.before[op] if own.kind.get(v) == OWNED}
        ordered = []
        for v in [own.root_of(v) for v in reversed(fs.stack)] + [
            own.root_of(v) for v in op.inputs()
        ]:
            if v in live and v not in ordered:
                ordered.append(v)
        ordered += self._ordered(live - set(ordered), op, fs)
        return locals_, [self.values[v] for v in ordered]

    def _emit_error(self, locals_, release, offset) -> None:
        # The fast locals are already in the frame (synced before the op).
        b = self.b
        rels = self._error_array()
        for i, val in enumerate(release):
            b.store(val, b.gep(rels, [self.i64(i)], source_etype=OBJ))
        b.call(self._tb_helper(), [self.frame, offset, self.i64(len(release)), rels])
        self._to_exit(NULL)

    def _error_array(self):
        if not hasattr(self, "_err_array"):
            b = self.b
            with b.goto_block(self.fn.entry_basic_block):
                b.position_at_start(self.fn.entry_basic_block)
                m = max(len(self.own.kind), 1)
                self._err_array = b.alloca(OBJ, size=m, name="err_release")
        return self._err_array

    def _tb_helper(self) -> ir.Function:
        """`tb_here(frame, offset, m, release)`: with `frame` (ours, still the thread's
        current frame) stopped at `offset`, add the traceback entry CPython adds
        (`PyTraceBack_Here` of its frame object), pop the frame, then release the
        references `release[0:m]` (each may be NULL)."""
        fn = self.module.globals.get(TB_HELPER)
        if fn is not None:
            return fn
        ty = ir.FunctionType(ir.VoidType(), [OBJ, I64, I64, OBJ])
        fn = ir.Function(self.module, ty, name=TB_HELPER)
        fn.linkage = "internal"
        fn.attributes.add("noinline")
        fn.attributes.add("cold")
        frame, offset, m, rels = fn.args
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        saved = self.b, self.frame, self.tstate
        self.b, self.frame = b, frame
        try:
            self.tstate = self.call("_PyThreadState_UncheckedGet")
            # prev_instr is already the raising op's (synced before it; a call may have
            # moved it to its last cache entry, as ceval.c does for Python callees).
            fobj = self.call("PyEval_GetFrame")
            with b.if_then(b.icmp_unsigned("!=", fobj, NULL), likely=True):
                self.call("PyTraceBack_Here", fobj)
            # The value stack goes first, then the frame with the locals (ceval.c's
            # exception_unwind, then exit_unwind).
            self._loop(fn, m, rels, lambda val, i: support.xdecref(b, val))
            self._unlink()
            b.call(frame_pop_helper(self.module), [frame])
            b.ret_void()
        finally:
            self.b, self.frame, self.tstate = saved
        return fn

    def _loop(self, fn, n, arr, body) -> None:
        b = self.b
        head = fn.append_basic_block("loop")
        inner = fn.append_basic_block("loop.body")
        done = fn.append_basic_block("loop.done")
        pre = b.block
        b.branch(head)
        b.position_at_end(head)
        i = b.phi(I64)
        i.add_incoming(self.i64(0), pre)
        b.cbranch(b.icmp_unsigned("<", i, n), inner, done)
        b.position_at_end(inner)
        body(b.load(b.gep(arr, [i], source_etype=OBJ), typ=OBJ), i)
        i.add_incoming(b.add(i, self.i64(1)), b.block)
        b.branch(head)
        b.position_at_end(done)

    # --- edges --------------------------------------------------------------------------

    def edge(self, edge, op) -> ir.Block:
        """An LLVM block that passes `edge.args` to its target's params and releases what
        dies on this edge; returns it (the caller branches to it)."""
        own = self.own
        src = self.b.block
        blk = self.fn.append_basic_block(f"{src.name}.to.{edge.block.label}")
        target_live = own.live_in[edge.block]
        with self.b.goto_block(blk):
            moved = set()
            for arg in edge.args:
                r = own.root_of(arg)
                kind = own.kind.get(r, NONE)
                val = self.values[arg] if not arg.type <= T.Null else NULL
                if kind == OWNED and r not in target_live and r not in moved:
                    moved.add(r)
                elif kind != NONE and not arg.type <= T.Null:
                    if arg.type <= T.Object:
                        support.incref(self.b, val)
                    else:
                        with self.b.if_then(self.b.icmp_unsigned("!=", val, NULL)):
                            support.incref(self.b, val)
            dead = {v for v in own.before[op] if v not in target_live and v not in moved}
            self.release(self._ordered(dead, op, None))
            here = self.b.block
            for p, arg in zip(edge.block.params, edge.args, strict=True):
                val = NULL if arg.type <= T.Null else self.values[arg]
                self.values[p].add_incoming(val, here)
            self.b.branch(self.blocks[edge.block])
        return blk

    def ret(self, value) -> None:
        own = self.own
        r = own.root_of(value)
        val = self.values[value]
        op = self.op
        dead = set(own.before[op])
        if own.kind.get(r) == OWNED:
            dead.discard(r)
        else:
            support.incref(self.b, val)
        addr = support.field_address(self.b, self.frame, abi.InterpreterFrame.prev_instr)
        self.b.store(self.instr_ptr(op.offset), self.b.bitcast(addr, OBJ.as_pointer()))
        self.release(self._ordered(dead, op, None))
        self._pop_frame()
        self._to_exit(val)


def first_traceable(code) -> int:
    """`code->_co_firsttraceable`: the index of the first RESUME instruction."""
    import dis

    raw, resume = code.co_code, dis.opmap["RESUME"]
    for i in range(0, len(raw), 2):
        if raw[i] == resume:
            return i // 2
    return len(raw) // 2


FRAME_POP = "ember.frame_pop"


def frame_pop_helper(module: ir.Module) -> ir.Function:
    """`frame_pop(frame)`: `_PyFrame_ClearExceptCode` for an unlinked frame of ours.

    If something else still holds its frame object, do what `take_ownership`
    (Python/frame.c) does: copy the frame into the object, which takes over the locals
    and f_locals and gets its own references to the code and function (ours are
    borrowed), link `f_back` to the previous complete frame's object and GC-track it.
    Otherwise drop the frame object, the locals and `f_locals`."""
    fn = module.globals.get(FRAME_POP)
    if fn is not None:
        return fn
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), [OBJ]), name=FRAME_POP)
    fn.linkage = "internal"
    fn.attributes.add("noinline")
    fn.attributes.add("cold")
    (frame,) = fn.args
    F, FO = abi.InterpreterFrame, abi.FrameObject
    b = ir.IRBuilder(fn.append_basic_block("entry"))

    def call(name, *args):
        return b.call(capi.declare(module, name), list(args))

    def addr(base, off, ty=OBJ):
        return b.bitcast(support.field_address(b, base, off), ty.as_pointer())

    f = support.load_field(b, frame, F.frame_obj)
    clear = fn.append_basic_block("clear")
    has = fn.append_basic_block("has_frame_obj")
    b.cbranch(b.icmp_unsigned("==", f, NULL), clear, has)
    b.position_at_end(has)
    b.store(NULL, addr(frame, F.frame_obj))
    rc = b.load(support.as_ptr(b, f), typ=I64)
    shared = fn.append_basic_block("take_ownership")
    alone = fn.append_basic_block("drop_frame_obj")
    b.cbranch(b.icmp_signed(">", rc, ir.Constant(I64, 1)), shared, alone)

    b.position_at_end(alone)
    support.decref(b, f)
    b.branch(clear)

    b.position_at_end(shared)
    # The locals and f_locals move with the frame; the code and function, borrowed
    # by our frame, become the frame object's own references.
    support.incref(b, support.load_field(b, frame, F.f_code))
    support.incref(b, support.load_field(b, frame, F.f_funcobj))
    n64 = b.sext(support.load_field(b, frame, F.stacktop, I32), I64)
    size = b.add(ir.Constant(I64, F.localsplus), b.mul(n64, ir.Constant(I64, 8)))
    data = support.field_address(b, f, FO._f_frame_data)
    memcpy = module.globals.get("llvm.memcpy.p0.p0.i64")
    if memcpy is None:
        memcpy = ir.Function(
            module, ir.FunctionType(ir.VoidType(), [OBJ, OBJ, I64, I1]),
            name="llvm.memcpy.p0.p0.i64")
    b.call(memcpy, [data, frame, size, ir.Constant(I1, 0)])
    b.store(data, addr(f, FO.f_frame))
    b.store(ir.Constant(ir.IntType(8), abi.FRAME_OWNED_BY_FRAME_OBJECT),
            addr(data, F.owner, ir.IntType(8)))
    b.store(NULL, addr(data, F.previous))
    # Our frame is unlinked: the thread's current frame is the previous one.
    back = call("PyEval_GetFrame")
    with b.if_then(b.icmp_unsigned("!=", back, NULL), likely=True):
        support.incref(b, back)
        b.store(back, addr(f, FO.f_back))
    tracked = call("PyObject_GC_IsTracked", f)
    with b.if_then(b.icmp_signed("==", tracked, ir.Constant(tracked.type, 0))):
        call("PyObject_GC_Track", f)
    support.decref(b, f)
    b.ret_void()

    b.position_at_end(clear)
    n64 = b.sext(support.load_field(b, frame, F.stacktop, I32), I64)
    head = fn.append_basic_block("loop")
    body = fn.append_basic_block("loop.body")
    done = fn.append_basic_block("loop.done")
    pre = b.block
    b.branch(head)
    b.position_at_end(head)
    i = b.phi(I64)
    i.add_incoming(ir.Constant(I64, 0), pre)
    b.cbranch(b.icmp_signed("<", i, n64), body, done)
    b.position_at_end(body)
    slots = support.field_address(b, frame, F.localsplus)
    support.xdecref(b, b.load(b.gep(slots, [i], source_etype=OBJ), typ=OBJ))
    i.add_incoming(b.add(i, ir.Constant(I64, 1)), b.block)
    b.branch(head)
    b.position_at_end(done)
    locs = support.load_field(b, frame, F.f_locals)
    b.store(NULL, addr(frame, F.f_locals))
    support.xdecref(b, locs)
    b.ret_void()
    return fn


class _Const:
    """A constant a tail of bytecode stores into a fast local (LOAD_CONST; STORE_FAST)."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


_UNBOUND = _Const(None)  # DELETE_FAST

_TAIL_OPS = frozenset({"STORE_FAST", "DELETE_FAST", "LOAD_FAST", "LOAD_CONST", "POP_TOP", "NOP",
                       "EXTENDED_ARG", "RETURN_VALUE", "RETURN_CONST"})


def return_tail(func, code, blk) -> dict:
    """{op or block: the fast locals at the block's RETURN} when the bytecode between the
    block's last op with a frame state (or its start) and the return stores locals.

    A frame object that outlives the call shows the locals as they are at RETURN, but
    only ops that may raise carry a frame state. The tail after the last one holds no
    raising instruction, so a few stack moves rebuild it; the result is synced right
    after that op (or at block entry), while every value in it is still alive."""
    import dis

    term = blk.terminator
    if not isinstance(term, ops.Return):
        return {}
    n = func.nlocalsplus
    last = None
    for op in blk.ops:
        if op.frame_state is not None:
            last = op
    if last is not None:
        if last.type == T.Multi or last.type == T.Void or not last.type <= T.ObjectOrNull:
            return {}
        locals_ = list(last.frame_state.locals)
        stack = [last]
        start, key = last.offset, last
        after = True
    else:
        if len(blk.params) < n or blk.offset < 0:
            return {}
        locals_ = list(blk.params[:n])
        stack = list(blk.params[n:])
        start, key = blk.offset, blk
        after = False
    stored = False
    for ins in dis.get_instructions(code):
        if ins.offset < start or (after and ins.offset == start):
            continue
        if ins.offset > term.offset:
            break
        name = ins.opname
        if name not in _TAIL_OPS:
            return {}
        if name == "STORE_FAST":
            if not stack:
                return {}
            locals_[ins.arg] = stack.pop()
            stored = True
        elif name == "DELETE_FAST":
            locals_[ins.arg] = _UNBOUND
            stored = True
        elif name == "LOAD_FAST":
            stack.append(locals_[ins.arg])
        elif name == "LOAD_CONST":
            stack.append(_Const(code.co_consts[ins.arg]))
        elif name == "POP_TOP":
            if not stack:
                return {}
            stack.pop()
        elif name in ("RETURN_VALUE", "RETURN_CONST"):
            break
    return {key: locals_} if stored else {}
