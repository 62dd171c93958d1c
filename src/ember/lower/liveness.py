"""Reference ownership and liveness, the facts the core needs to refcount exactly.

Assumes: verified IR. Exception edges count: an op whose frame state has a handler
reads, on its way to the handler, the values the handler receives (the frame state's
locals and `stack[:depth]`) and everything live into the handler block; so those are
live just before the op, as they must be if it raises.
Guarantees, for every object-valued SSA value, one of three kinds:

- `OWNED`: the value holds one strong reference that the compiled code must release
  (results of ops that return new references, and every non-entry block parameter);
- `BORROWED`: kept alive by something else for the whole call (constants, kept by the
  code object; arguments, kept by the caller; the immortal True/False);
- `NONE`: nothing to count (unboxed values, NULL, `void`, `multi`).

Aliases (`assume_not_null`, which only refines a type) share their operand's reference:
`root(v)` is the value that owns it, and liveness is computed on roots. A `multi` op
defines the `extract` values taken from it (they are defined when it runs).

Example: in `bb1(%9) ... %14 = for_iter %13; branch %15, bb5(%9), bb6()` the iterator
`%13` is live into `bb6` only, so the edge to `bb5` releases it.
"""

from __future__ import annotations

from ember.ir import ops
from ember.ir import types as T

OWNED, BORROWED, NONE = "owned", "borrowed", "none"

#: Ops whose result is a borrowed reference (see the module docstring).
BORROWED_RESULTS: set[type] = {ops.Const, ops.IsOp, ops.ContainsOp, ops.CheckExcMatch}
#: Ops whose result is the same reference as their `value` operand.
ALIASES: set[type] = {ops.AssumeNotNull, ops.LoadFastCheck}


def counted(ty: T.Type) -> bool:
    """Does a value of this type hold a PyObject reference (possibly NULL)?"""
    return bool(ty & T.Object) and ty <= T.ObjectOrNull


class Ownership:
    def __init__(self, func, entry_kinds: dict):
        self.func = func
        self.kind: dict = {}
        self.root: dict = {}
        self.extracts: dict = {}  # multi op -> list of its extract ops
        self.defs: dict = {}  # op -> roots it defines
        for p, kind in entry_kinds.items():
            self.kind[p] = kind
        for block in func.blocks[1:]:
            for p in block.params:
                self.kind[p] = OWNED if counted(p.type) else NONE
        for op in func.all_ops():
            if isinstance(op, ops.Extract):
                self.extracts.setdefault(op.value, []).append(op)
        for op in func.all_ops():
            self._classify(op)
        self._liveness()

    def _classify(self, op) -> None:
        cls = type(op)
        if cls in ALIASES:
            self.root[op] = self.root_of(op.value)
            self.defs[op] = ()
            return
        if cls is ops.Extract:
            self.kind[op] = OWNED if counted(op.type) else NONE
            self.defs[op] = ()
            return
        if op.type == T.Multi:
            self.kind[op] = NONE
            self.defs[op] = tuple(self.extracts.get(op, ()))
            return
        if not counted(op.type) or op.type <= T.Null:
            self.kind[op] = NONE
        elif cls in BORROWED_RESULTS:
            self.kind[op] = BORROWED
        else:
            self.kind[op] = OWNED
        self.defs[op] = (op,) if op.type != T.Void else ()

    def root_of(self, v):
        return self.root.get(v, v)

    def owned(self, v) -> bool:
        return self.kind.get(self.root_of(v)) == OWNED

    def uses(self, op) -> list:
        """Owned roots the op reads (terminator edge arguments included), and the values
        its frame state holds in fast locals: CPython's frame keeps a local alive until it
        is rebound or the frame goes, so compiled code keeps it at least that long."""
        out = [self.root_of(v) for v in op.inputs()]
        for edge in op.edges():
            out.extend(self.root_of(a) for a in edge.args)
        fs = op.frame_state
        if fs is not None:
            out.extend(self.root_of(v) for v in fs.locals)
            if fs.handler is not None:
                out.extend(self.root_of(v) for v in fs.stack[: fs.handler.depth])
        return [v for v in out if self.kind.get(v) == OWNED]

    def _liveness(self) -> None:
        blocks = self.func.blocks
        self.live_in = {b: set() for b in blocks}
        changed = True
        while changed:
            changed = False
            for b in reversed(blocks):
                new = self._scan(b, record=False) - set(b.params)
                if new != self.live_in[b]:
                    self.live_in[b] = new
                    changed = True
        # Per op: the owned roots live just after it and just before it.
        self.after: dict = {}
        self.before: dict = {}
        for b in blocks:
            self._scan(b, record=True)

    def _scan(self, b, record: bool) -> set:
        """Backward over block `b` from its live-out set; returns the set live at its
        start (params included). An op with a handler also keeps what the handler needs."""
        live = set()
        for s in b.successors():
            live |= self.live_in[s]
        for op in reversed(list(b.all_ops())):
            if record:
                self.after[op] = frozenset(live)
            live = (live - set(self.defs[op])) | set(self.uses(op))
            fs = op.frame_state
            if fs is not None and fs.handler is not None:
                live |= self.live_in[fs.handler.block]
            if record:
                self.before[op] = frozenset(live)
        return live
