"""The core of tier 1: one IR function -> one LLVM function with the `support.BODY` shape.

    body(func, args, tstate) -> new reference, or NULL with an exception set

Assumes: verified IR, every op class has a registered lowering (else `NotLowered`). The entry (`backend.entry.build_entry`) calls the body
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
- each op that may raise gets an error block (made on first use, `errors.py`):
  `PyTraceBack_Here` of our frame's frame object adds the entry CPython would add (line
  and carets come from `prev_instr`); then, if the op's frame state names a handler, the
  values the handler does not receive are released and the handler block runs with the
  exception (and `lasti`) as its last params; else the other live values are released,
  the frame is popped and the body returns NULL;
- Python recursion depth: the body counts itself in `py_recursion_remaining` (and, since
  it runs on the C stack, `c_recursion_remaining`) exactly as a Python frame does.
"""

from __future__ import annotations

import sys

from llvmlite import ir

from ember import abi
from ember.backend import capi, support
from ember.ir import ops
from ember.ir import types as T
from ember.lower import consts, liveness
from ember.lower import exceptions as _exceptions  # noqa: F401 - registers lowerings
from ember.lower.entrybind import EntryMixin
from ember.lower.errors import ErrorsMixin
from ember.lower.frame import FrameMixin
from ember.lower.liveness import NONE, OWNED
from ember.lower.registry import LOWERINGS, NotLowered

I1, I32, I64, OBJ = support.I1, support.I32, support.I64, support.OBJ
NULL = support.NULL


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


class Lowering(EntryMixin, FrameMixin, ErrorsMixin):
    """State while lowering one function; op lowerings receive it as `cx`."""

    def __init__(self, func, code, module: ir.Module, name: str):
        self.func = func
        self.code = code
        self.module = module
        self.name = name
        self.keep: list = [code]  # objects the code refers to (kept alive with it)
        self.table = consts.Table(module, name, code)
        self._body_module = module
        self.values: dict = {}
        self.fn = ir.Function(module, support.BODY, name=name)
        self.fn.args[0].name, self.fn.args[1].name = "func", "args"
        self.fn.args[2].name = "tstate"
        self._cstrings: dict[str, ir.GlobalVariable] = {}
        self._err_blocks: dict = {}
        self._err_shared: dict = {}
        self.op = None  # the op being lowered
        self.released_early: frozenset = frozenset()  # what the op released itself
        self._ret_phi = None

    # --- helpers for op lowerings -------------------------------------------------------

    def call(self, name: str, *args, **kw) -> ir.Value:
        return self.b.call(capi.declare(self.module, name), list(args), **kw)

    def i64(self, n: int) -> ir.Constant:
        return ir.Constant(I64, n)

    def i32(self, n: int) -> ir.Constant:
        return ir.Constant(I32, n)

    def pyobj(self, obj: object, recipe=None) -> ir.Value:
        """A pointer to `obj`, which is kept alive as long as the compiled code: loaded
        from the body's constants table (`consts.py`; `recipe` says how another process
        rebuilds it, when `consts.recipe_of` cannot tell). In a shared helper (built in
        its own module) only immortal interned names are used: their address is
        embedded, which makes that helper's object code valid in this process only
        (`support.shared_function` does not cache it)."""
        self.keep.append(obj)
        if self.module is not self._body_module:
            if type(obj) is str and obj.isidentifier() and sys.intern(obj) is obj:
                # An interned name: a symbol each process binds to its own copy
                # (`support.interned`), so the helper stays cacheable and portable.
                return consts.interned(self.module, obj)
            support.mark_process_local(self.module)
            return ir.Constant(I64, id(obj)).inttoptr(OBJ)
        return self.table.load(self.b, obj, recipe)

    def code_start(self) -> ir.Value:
        """`_PyCode_CODE(code)` as an i64: where `prev_instr` offsets count from."""
        code = self.b.ptrtoint(self.pyobj(self.code, ["code"]), I64)
        return self.b.add(code, self.i64(abi.Code.co_code_adaptive))

    def cstr(self, text: str) -> ir.Value:
        key = (self.module.name, text)  # a shared helper is built in its own module
        gv = self._cstrings.get(key)
        if gv is None:
            data = bytearray(text.encode("utf-8") + b"\0")
            ty = ir.ArrayType(ir.IntType(8), len(data))
            gv = ir.GlobalVariable(self.module, ty, name=f"str.{len(self._cstrings)}")
            gv.global_constant = True
            gv.linkage = "private"
            gv.initializer = ir.Constant(ty, data)
            self._cstrings[key] = gv
        return gv.bitcast(OBJ)

    def site_global(self, kind: str, ty: ir.Type) -> ir.GlobalVariable:
        """A new zeroed global of the body's module, for one op's inline cache: the
        loaders give it fresh zeroed memory (`.lbss`), so each process fills its own."""
        n = self._site_globals = getattr(self, "_site_globals", 0) + 1
        gv = ir.GlobalVariable(self._body_module, ty, name=f"{self.name}.{kind}.{n}")
        gv.initializer = ir.Constant(ty, None)
        return gv

    def shared(self, name: str, fnty: ir.FunctionType, build) -> ir.Function:
        """The process-wide helper `name` (`support.shared_function`), declared in our
        module. `build(fn)` emits its body with `self.b` and `self.module` pointing
        into the helper's own module (so `self.call`, `self.cstr`, `self.exc` work);
        it must use nothing of the function being compiled (no `pyobj`, no `code`)."""

        def build_in(fn):
            saved = self.module, self.b
            self.module, self.b = fn.module, ir.IRBuilder(fn.append_basic_block("entry"))
            try:
                build(fn)
            finally:
                self.module, self.b = saved

        return support.shared_function(self.module, name, fnty, build_in)

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
            if type(op) not in LOWERINGS:
                raise NotLowered("op", f"tier 1: op {op.opname} not lowered")
        entry_kinds = self._entry_kinds()
        self.own = liveness.Ownership(func, entry_kinds)

        b = self.b = ir.IRBuilder(self.fn.append_basic_block("entry"))
        self.exit_bb = self.fn.append_basic_block("exit")
        self.blocks = {blk: self.fn.append_basic_block(blk.label) for blk in func.blocks}
        self.tstate = self.fn.args[2]
        self._slot_cache: dict[int, object] = {}
        self._entry_caches = self._plan_entry_caches()
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
            self._slot_cache = self._entry_cache(blk)
            self._release_unused_params(blk)
            for op in blk.ops:
                self._lower_op(op)
            self.op = blk.terminator
            self.released_early = frozenset()
            self._sync_frame(blk.terminator)
            LOWERINGS[type(blk.terminator)](self, blk.terminator)

        b.position_at_end(self.exit_bb)
        phi = self._ret_phi
        self._leave_recursion()
        b.ret(phi)
        self.table.finish()
        self.module.ember_table = self.table
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

    # --- ops ----------------------------------------------------------------------------

    def _lower_op(self, op) -> None:
        self.op = op
        self.released_early = frozenset()
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
        self.release(self.dying(op, op.frame_state))

    def dying(self, op, fs) -> list:
        """Owned roots that die at `op`, in release order (less what the op's lowering
        released itself, `release_early`)."""
        own = self.own
        dead = (set(own.uses(op)) | set(own.defs[op])) - own.after[op]
        if fs is not None and fs.handler is not None:
            # Live only in case op raised (into its handler): dead once it did not.
            dead |= own.live_in[fs.handler.block] - own.after[op]
        dead = {v for v in dead if own.kind.get(v) == OWNED} - self.released_early
        return self._ordered(dead, op, fs)

    def release_early(self, operands) -> None:
        """Release now, in the order given, those of the current op's `operands` that die
        at it, as CPython's instruction does before it finishes (a call releases its
        callable and arguments before its result is checked). The core then leaves them
        out of the op's releases, on its success path and on error paths branched to
        from here on; error paths made before this point still release them."""
        roots = self.dies_here(operands)
        self.release(roots)
        self.mark_released(roots)

    def dies_here(self, operands) -> list:
        """The roots of `operands` (in that order, once each) whose reference the current
        op may release itself: owned, dead after it, and neither in a fast local (the
        slot holds it too, so that release would not be its last) nor handed to its
        exception handler."""
        own, op = self.own, self.op
        keep = set(own.after[op]) | self.released_early
        fs = op.frame_state
        if fs is not None:
            keep.update(own.root_of(v) for v in fs.locals)
            if fs.handler is not None:
                keep |= own.live_in[fs.handler.block]
                keep.update(own.root_of(v) for v in fs.stack[: fs.handler.depth])
        out = []
        for v in operands:
            r = own.root_of(v)
            if own.kind.get(r) == OWNED and r not in keep and r not in out:
                out.append(r)
        return out

    def mark_released(self, roots) -> None:
        """The current op's lowering released `roots` itself (see `release_early`)."""
        self.released_early = self.released_early | frozenset(roots)

    def _ordered(self, roots: set, op, fs) -> list:
        """`roots` in release order: the op's operands as CPython's instruction releases
        them (`Op.released`), then the rest. Only the operands' order can show: every
        other value that dies here is also held by a fast-local slot (synced before the
        op), so its release is never the last."""
        order = [self.own.root_of(v) for v in op.released()]
        if fs is not None:
            order.extend(self.own.root_of(v) for v in fs.locals)
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

    # --- edges --------------------------------------------------------------------------

    def edge(self, edge, op) -> ir.Block:
        """An LLVM block that passes `edge.args` to its target's params and releases what
        dies on this edge; returns it (the caller branches to it)."""
        own = self.own
        src = self.b.block
        blk = self.fn.append_basic_block(f"{src.name}.to.{edge.block.label}")
        target_live = own.live_in[edge.block]
        src_cache = self._slot_cache
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
            self._sync_edge(edge, src_cache)
            here = self.b.block
            for p, arg in zip(edge.block.params, edge.args, strict=True):
                val = NULL if arg.type <= T.Null else self.values[arg]
                self.values[p].add_incoming(val, here)
            self.b.branch(self.blocks[edge.block])
        return blk

    def ret(self, value, locals_=()) -> None:
        """Leave with `value`. The slots first get `locals_` (the fast locals at the
        RETURN), so that what the frame clears, and a frame object that outlives the
        call, are what CPython's frame would hold."""
        own = self.own
        r = own.root_of(value)
        val = self.values[value]
        op = self.op
        dead = set(own.before[op])
        if own.kind.get(r) == OWNED:
            dead.discard(r)
        else:
            support.incref(self.b, val)
        self.set_prev_instr(self.instr_ptr(op.offset))
        ordered = self._ordered(dead, op, None)
        # A value a slot holds has its reference there in CPython, not on the stack:
        # ours goes first, so that the slot's (dropped by the sync, where the tail's
        # STORE_FAST dropped it) is the last, as it is in CPython; then the stack's.
        in_slots = {own.root_of(v) for v in self._slot_cache.values()}
        self.release([v for v in ordered if v in in_slots])
        if locals_:
            self._sync_locals(locals_)
        self.release([v for v in ordered if v not in in_slots])
        self._pop_frame(known=bool(locals_))
        self._to_exit(val)
