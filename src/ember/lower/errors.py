"""Error exits of a compiled body: the traceback entry, the releases, the frame pop.

`ErrorsMixin` is part of `function.Lowering` (split out by concept). Each op that may
raise gets a small block that jumps, with the op's offset, to a cleanup block shared by
every op with the same locals and live references.
"""

from __future__ import annotations

from llvmlite import ir

from ember.backend import support
from ember.lower.frame import frame_pop_helper
from ember.lower.liveness import OWNED

I1, I32, I64, OBJ = support.I1, support.I32, support.I64, support.OBJ
NULL = support.NULL

TB_HELPER = "ember.tb_here"


class ErrorsMixin:
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
