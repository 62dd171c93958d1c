"""The real `_PyInterpreterFrame` of a compiled call: push, sync, pop, recursion depth.

`FrameMixin` is part of `function.Lowering` (split out by concept); it owns `self.frame`,
the alloca'd frame linked into the thread's frame chain, and everything that keeps it
looking as CPython's own frame would: `prev_instr`, the fast-local slots, the exit path.
"""

from __future__ import annotations

from llvmlite import ir

from ember import abi
from ember.backend import capi, support
from ember.ir import types as T
from ember.lower import prebuild

I1, I32, I64, OBJ = support.I1, support.I32, support.I64, support.OBJ
NULL = support.NULL
#: At most this many bound fast locals are released inline at a return (more: the
#: shared helper's loop, which keeps big functions' code small).
INLINE_CLEAR = 8


class FrameMixin:
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

    _body_frame = None  # the body's own frame (helpers lower with another `self.frame`)

    def _frame_size(self) -> int:
        return abi.InterpreterFrame.localsplus + 8 * max(self.func.nlocalsplus, 1)

    def _push_frame(self) -> None:
        b, code, func = self.b, self.code, self.fn.args[0]
        n = self.func.nlocalsplus
        frame = b.alloca(ir.IntType(8), size=self._frame_size(), name="frame")
        frame.align = 16
        self.frame = frame
        F = abi.InterpreterFrame
        # The slot and prev_instr addresses, computed once here (the entry block dominates
        # every use) instead of a GEP per access: a sync is then a store per slot.
        self._body_frame = frame
        self._prev_instr_addr = self._frame_addr(F.prev_instr)
        self._slot_addrs = [self._frame_addr(F.localsplus + 8 * i) for i in range(n)]

        def put(off, val, ty=OBJ):
            b.store(val, b.bitcast(support.field_address(b, frame, off), ty.as_pointer()))

        put(F.f_code, self.pyobj(code, ["code"]))
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
        nparams = self.nparams()
        for i in range(n):
            if i < nparams:
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
        code = self.pyobj(self.code, ["code"])
        return self.b.gep(code, [self.i64(abi.Code.co_code_adaptive + offset)],
                          source_etype=ir.IntType(8))

    def _frame_addr(self, off: int) -> ir.Value:
        return self.b.bitcast(support.field_address(self.b, self.frame, off), OBJ.as_pointer())

    def prev_instr_addr(self) -> ir.Value:
        """The address of our frame's `prev_instr` (an `OBJ*`)."""
        if self.frame is self._body_frame:
            return self._prev_instr_addr
        return self._frame_addr(abi.InterpreterFrame.prev_instr)

    def set_prev_instr(self, ptr: ir.Value) -> None:
        self.b.store(ptr, self.prev_instr_addr())

    def slot(self, i: int) -> ir.Value:
        if self.frame is self._body_frame:
            return self._slot_addrs[i]
        return self._frame_addr(abi.InterpreterFrame.localsplus + 8 * i)

    def _sync_frame(self, op) -> None:
        """Before an op that may raise or call out: prev_instr and the fast locals."""
        fs = op.frame_state
        if fs is None:
            return
        self.set_prev_instr(self.instr_ptr(op.offset))
        self._sync_locals(fs.locals)

    def _local_value(self, v):
        """(LLVM value, may it be NULL) of a fast-locals entry."""
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

    def _pop_frame(self, known: bool = False) -> None:
        """Unlink the frame, then clear it (or hand it to a frame object that outlives
        the call): what `_PyEvalFrameClearAndPop` does once RETURN_VALUE has unlinked.
        One call to the shared helper: clearing the slots inline cost an xdecref per
        local at every exit, 5% of a module's instructions. With `known` (a return,
        whose sync left every slot's value in `_slot_cache`) and few bound slots, the
        common case (no frame object) releases those values inline, in slot order,
        with no loop over unbound slots and no call."""
        self._unlink()
        b = self.b
        if known:
            held = [(i, v) for i, v in sorted(self._slot_cache.items())
                    if not v.type <= T.Null]
            if len(self._slot_cache) == self.func.nlocalsplus and len(held) <= INLINE_CLEAR:
                fobj = support.load_field(b, self.frame, abi.InterpreterFrame.frame_obj)
                with b.if_else(b.icmp_unsigned("==", fobj, NULL), likely=True) as (
                        no_obj, has_obj):
                    with no_obj:
                        for _i, v in held:
                            val, maybe_null = self._local_value(v)
                            (support.xdecref if maybe_null else support.decref)(b, val)
                    with has_obj:
                        b.call(frame_pop_helper(self.module), [self.frame])
                return
        b.call(frame_pop_helper(self.module), [self.frame])

    # --- what the slots hold at block entry ----------------------------------------------
    #
    # A sync only writes the slots whose value changed since the last sync in the block
    # (`_slot_cache`: slot -> the IR value it holds). Every edge into a block other than
    # an exception handler syncs the slots to the values it passes as the target's local
    # params (usually nothing to do: the last op before a jump synced them). So at entry
    # to such a block slot i holds param i, and the block's first sync need not reload
    # and rewrite every local. A handler is entered from many raising ops' error paths,
    # so it starts with nothing known instead. A block without local params (an IR-only
    # split block) with one incoming edge inherits what the edge's source knew.

    def _plan_entry_caches(self) -> dict:
        func = self.func
        self._handler_targets = set()
        self._preds: dict = {}
        for op in func.all_ops():
            fs = op.frame_state
            if fs is not None and fs.handler is not None:
                self._handler_targets.add(fs.handler.block)
            for edge in op.edges():
                self._preds[edge.block] = self._preds.get(edge.block, 0) + 1
        return {}

    def _entry_cache(self, blk) -> dict:
        n = self.func.nlocalsplus
        if blk in self._handler_targets:
            return {}
        if len(blk.params) >= n:
            return {i: blk.params[i] for i in range(n)}
        return dict(self._entry_caches.get(blk, {}))

    def _sync_edge(self, edge, src_cache: dict) -> None:
        """Inside `edge`'s block: make the slots hold what the target expects."""
        target, n = edge.block, self.func.nlocalsplus
        if target in self._handler_targets:
            return
        if len(target.params) >= n:
            saved, self._slot_cache = self._slot_cache, dict(src_cache)
            try:
                self._sync_locals(edge.args[:n])
            finally:
                self._slot_cache = saved
        elif self._preds.get(target) == 1:
            self._entry_caches[target] = dict(src_cache)

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
        self._release_owned_params()
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


def first_traceable(code) -> int:
    """`code->_co_firsttraceable`: the index of the first RESUME instruction."""
    import dis

    raw, resume = code.co_code, dis.opmap["RESUME"]
    for i in range(0, len(raw), 2):
        if raw[i] == resume:
            return i // 2
    return len(raw) // 2


FRAME_POP = "ember.frame_pop"


@prebuild.helper(FRAME_POP)
def _make_frame_pop(cx):
    return frame_pop_helper(cx.module)


def frame_pop_helper(module: ir.Module) -> ir.Function:
    """`frame_pop(frame)`: `_PyFrame_ClearExceptCode` for an unlinked frame of ours.

    If something else still holds its frame object, do what `take_ownership`
    (Python/frame.c) does: copy the frame into the object, which takes over the locals
    and f_locals and gets its own references to the code and function (ours are
    borrowed), link `f_back` to the previous complete frame's object and GC-track it.
    Otherwise drop the frame object, the locals and `f_locals`."""
    return support.shared_function(
        module, FRAME_POP, ir.FunctionType(ir.VoidType(), [OBJ]), _build_frame_pop)


def _build_frame_pop(fn: ir.Function) -> None:
    module = fn.module
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
