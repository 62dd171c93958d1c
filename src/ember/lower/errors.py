"""Error paths of a compiled body: where an exception raised by an op goes.

`ErrorsMixin` is part of `function.Lowering` (split out by concept). As ceval.c's `error:`
label, an op's error path first adds the traceback entry of our frame (`PyTraceBack_Here`,
line and carets from `prev_instr`); `reraise` and a bare `raise` skip that, as ceval.c's
`goto exception_unwind` does. Then, as `exception_unwind`:

- if the op's frame state has a handler: the owned values that do not reach the handler
  are released (the value stack above `depth`, top first), `lasti` is pushed if the
  exception-table entry says so (from the frame's `prev_instr`, which `reraise` may have
  moved), the exception is taken out of the thread state and the handler block runs
  with `locals + stack[:depth] + [lasti] + [exc]`;
- else the body leaves: each op gets a small block that jumps to a cleanup block shared by
  every op with the same locals and live references (release, frame pop, return NULL).
"""

from __future__ import annotations

from llvmlite import ir

from ember import abi
from ember.backend import support
from ember.ir import types as T
from ember.lower import prebuild
from ember.lower.frame import frame_pop_helper
from ember.lower.liveness import NONE, OWNED

I1, I32, I64, OBJ = support.I1, support.I32, support.I64, support.OBJ
NULL = support.NULL

TB_HELPER = "ember.tb_here"  # traceback entry, releases, frame pop
UNWIND_HELPER = "ember.unwind_exit"  # the same without the traceback entry
TB_ONLY = "ember.tb_add"  # the traceback entry alone (before a handler runs)
MASK_SLOTS = 64  # fast locals an error exit can name by slot (an i64 mask)


prebuild.helper(TB_HELPER)(lambda cx: cx._tb_helper(True))
prebuild.helper(UNWIND_HELPER)(lambda cx: cx._tb_helper(False))
prebuild.helper(TB_ONLY)(lambda cx: cx._tb_only_helper())


class ErrorsMixin:
    def err_block(self, op, traceback: bool = True) -> ir.Block:
        """The error path of `op` (an exception is set): to its handler, if its frame
        state has one, else out of the body. `traceback=False` for the ops that unwind
        without adding an entry (ceval.c's `goto exception_unwind`)."""
        early = self.released_early if op is self.op else frozenset()
        blk = self._err_blocks.get((op, traceback, early))
        if blk is not None:
            return blk
        fs = op.frame_state
        if fs is not None and fs.handler is not None:
            blk = self._to_handler(op, fs, traceback, early)
            self._err_blocks[(op, traceback, early)] = blk
            return blk
        release, mask = self._error_state(op, early)
        key = (tuple(id(v) for v in release), traceback)
        shared = self._err_shared.get(key)
        if shared is None:
            shared_bb = self.fn.append_basic_block(f"error.shared{len(self._err_shared)}")
            with self.b.goto_block(shared_bb):
                offset = self.b.phi(I64, name="offset")
                slots = self.b.phi(I64, name="slot_refs")
                self._emit_error(release, offset, slots, traceback)
            shared = self._err_shared[key] = (shared_bb, offset, slots)
        blk = self.fn.append_basic_block(f"error.{op.offset}")
        self._err_blocks[(op, traceback, early)] = blk
        with self.b.goto_block(blk):
            shared[1].add_incoming(self.i64(op.offset), blk)
            shared[2].add_incoming(self.i64(mask), blk)
            self.b.branch(shared[0])
        return blk

    def _to_handler(self, op, fs, traceback: bool, early=frozenset()) -> ir.Block:
        """The exception edge of `op` to `fs.handler` (ceval.c's `exception_unwind` when
        `get_exception_handler` finds an entry)."""
        handler = fs.handler
        own, b = self.own, self.b
        target = handler.block
        blk = self.fn.append_basic_block(f"except.{op.offset}.to.{target.label}")
        with b.goto_block(blk):
            if traceback:
                b.call(self._tb_only_helper(), [])
            args = list(fs.locals) + list(fs.stack[: handler.depth])
            target_live = own.live_in[target]
            moved, increfs = set(), []
            for arg in args:
                r = own.root_of(arg)
                kind = own.kind.get(r, NONE)
                if arg.type <= T.Null or kind == NONE:
                    continue
                if kind == OWNED and r not in target_live and r not in moved:
                    moved.add(r)
                else:
                    increfs.append(arg)
            for arg in increfs:
                val = self.values[arg]
                if arg.type <= T.Object:
                    support.incref(b, val)
                else:
                    with b.if_then(b.icmp_unsigned("!=", val, NULL)):
                        support.incref(b, val)
            # What the handler does not receive dies here: the value stack above the
            # handler's depth top first (CPython pops it), then the rest.
            dead = {v for v in own.before[op]
                    if v not in target_live and v not in moved and v not in early}
            first = self._unwind_order(op, fs, dead)
            self.release(first + self._ordered(dead - set(first), op, fs))
            extra = []
            if handler.lasti:
                # _PyInterpreterFrame_LASTI: prev_instr in code units from the start of
                # the bytecode (a call may have left it at its last cache entry, and a
                # reraise at the lasti it was given).
                prev = b.load(self.prev_instr_addr(), typ=I64)
                lasti = b.ashr(b.sub(prev, self.code_start()), self.i64(1))
                extra.append(self.call("PyLong_FromSsize_t", lasti))
            extra.append(self.call("PyErr_GetRaisedException"))
            here = b.block
            vals = [NULL if a.type <= T.Null else self.values[a] for a in args] + extra
            for p, val in zip(target.params, vals, strict=True):
                self.values[p].add_incoming(val, here)
            b.branch(self.blocks[target])
        return blk

    def _unwind_order(self, op, fs, dying: set) -> list:
        """The owned values of `dying` that CPython releases when `op` fails, in its order:
        the instruction's operands (`DECREF_INPUTS()` before `ERROR_IF`, in
        `Op.released` order), then what `exception_unwind` pops off the value stack, top
        first. An operand that the stack also holds below the operands (a COPY) is
        released where that deeper entry is popped."""
        own = self.own
        stack = [own.root_of(v) for v in fs.stack]
        for v in op.inputs():  # the operands are the top entries: take one of each
            r = own.root_of(v)
            for i in range(len(stack) - 1, -1, -1):
                if stack[i] is r:
                    del stack[i]
                    break
        below = set(stack)
        order = []
        for v in [own.root_of(v) for v in op.released() if own.root_of(v) not in below]:
            if v in dying and v not in order:
                order.append(v)
        for v in reversed(stack):
            if v in dying and v not in order:
                order.append(v)
        return order

    def _error_state(self, op, early=frozenset()):
        """(owned values to release in order, slot mask) when `op` leaves the body with
        an exception.

        A live owned value that a fast-local slot also holds (synced before the op) is
        not passed: bit i of the mask says "slot i's object carries one more reference
        of ours", and the helper drops it by reading the slot. That reference can never
        be the last (the slot has its own), so objects still die in CPython's order:
        the value stack top first, then the frame's locals in slot order. Passing the
        locals in an array made each op's error exit a distinct block of stores: 14% of
        a module's instructions."""
        fs, own = op.frame_state, self.own
        live = {v for v in own.before[op] if own.kind.get(v) == OWNED and v not in early}
        mask = 0
        if len(fs.locals) <= MASK_SLOTS:
            for i, v in enumerate(fs.locals):
                if v.type <= T.Null:
                    continue
                r = own.root_of(v)
                if r in live:
                    live.discard(r)
                    mask |= 1 << i
        ordered = self._unwind_order(op, fs, live)
        ordered += self._ordered(live - set(ordered), op, fs)
        return [self.values[v] for v in ordered], mask

    def _emit_error(self, release, offset, slots, traceback: bool = True) -> None:
        b = self.b
        rels = self._error_array() if release else NULL
        for i, val in enumerate(release):
            b.store(val, b.gep(rels, [self.i64(i)], source_etype=OBJ))
        helper = self._tb_helper(traceback)
        b.call(helper, [self.frame, offset, self.i64(len(release)), rels, slots])
        self._to_exit(NULL)

    def _error_array(self):
        if not hasattr(self, "_err_array"):
            b = self.b
            with b.goto_block(self.fn.entry_basic_block):
                b.position_at_start(self.fn.entry_basic_block)
                m = max(len(self.own.kind), 1)
                self._err_array = b.alloca(OBJ, size=m, name="err_release")
        return self._err_array

    def _tb_only_helper(self) -> ir.Function:
        """`tb_add()`: `PyTraceBack_Here` of the current frame's frame object (ours)."""

        def build(fn):
            b = self.b
            fobj = self.call("PyEval_GetFrame")
            with b.if_then(b.icmp_unsigned("!=", fobj, NULL), likely=True):
                self.call("PyTraceBack_Here", fobj)
            b.ret_void()

        return self.shared(TB_ONLY, ir.FunctionType(ir.VoidType(), []), build)

    def _tb_helper(self, traceback: bool = True) -> ir.Function:
        """`tb_here(frame, offset, m, release, slots)`: with `frame` (ours, still the
        thread's current frame) stopped at `offset`, add the traceback entry CPython adds
        (`PyTraceBack_Here` of its frame object; not for `unwind_exit`), release the
        references `release[0:m]` (each may be NULL), drop one reference of the object
        in each slot whose bit is set in `slots`, then pop the frame."""

        def build(fn):
            frame, offset, m, rels, slots = fn.args
            b = self.b
            saved = self.frame, self.tstate
            self.frame = frame
            try:
                self.tstate = self.call("_PyThreadState_UncheckedGet")
                # prev_instr is already the raising op's (synced before it; a call may
                # have moved it to its last cache entry, as ceval.c does for Python
                # callees).
                if traceback:
                    fobj = self.call("PyEval_GetFrame")
                    with b.if_then(b.icmp_unsigned("!=", fobj, NULL), likely=True):
                        self.call("PyTraceBack_Here", fobj)
                # The value stack goes first, then the frame with the locals (ceval.c's
                # exception_unwind, then exit_unwind).
                self._loop(fn, m, rels, lambda val, i: support.xdecref(b, val))
                top = support.load_field(b, frame, abi.InterpreterFrame.stacktop, I32)
                n = b.zext(top, I64)
                n = b.select(b.icmp_unsigned("<", n, self.i64(MASK_SLOTS)), n,
                             self.i64(MASK_SLOTS))
                locals_ = b.bitcast(
                    support.field_address(b, frame, abi.InterpreterFrame.localsplus), OBJ)

                def slot_ref(val, i):
                    bit = b.and_(b.lshr(slots, i), self.i64(1))
                    with b.if_then(b.icmp_unsigned("!=", bit, self.i64(0))):
                        support.xdecref(b, val)

                self._loop(fn, n, locals_, slot_ref)
                self._unlink()
                b.call(frame_pop_helper(self.module), [frame])
                b.ret_void()
            finally:
                self.frame, self.tstate = saved

        ty = ir.FunctionType(ir.VoidType(), [OBJ, I64, I64, OBJ, I64])
        return self.shared(TB_HELPER if traceback else UNWIND_HELPER, ty, build)

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
