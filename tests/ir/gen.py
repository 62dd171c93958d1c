"""Hypothesis strategies for random well-formed IR functions and constants.

Every generated value is used only in its own block (so dominance holds by construction);
the CFG, block parameters, static attributes, constants and frame states are random.
"""

from __future__ import annotations

import enum
import math

from hypothesis import strategies as st

from ember.ir import types as T
from ember.ir.core import Block, Edge, ExcHandler, FrameState, Function, Value
from ember.ir.ops import OPS, Const, Extract, IsNone, Kind, Null, Op

CODE = compile("0", "<gen>", "eval")

floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, math.nan, -math.nan, math.inf, -math.inf, 5e-324, 1e308]),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.just(Ellipsis),
    st.integers(),
    # Huge ints are built lazily: hypothesis reprs sampled values, and str(10**5000) fails.
    st.sampled_from([64, -63, 16610]).map(lambda e: 2 ** abs(e) * (1 if e > 0 else -1)),
    floats,
    st.builds(complex, floats, floats),
    st.text(max_size=8),
    st.binary(max_size=8),
)
hashable_consts = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3).map(tuple), max_leaves=8
)
consts = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(tuple),
        st.frozensets(scalars, max_size=3),
    ),
    max_leaves=8,
)
names = st.one_of(
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}", fullmatch=True),
    st.text(max_size=6),
)

PARAM_TYPES = [T.Object, T.ObjectOrNull, T.Int, T.Str | T.Bytes, T.Storable, T.Int | T.NoneType]
OP_CLASSES = sorted(
    (c for c in OPS.values() if not c.is_terminator), key=lambda c: c.opname
)
TERMINATORS = ["return", "unreachable", "jump", "branch", "raise", "reraise"]


class _Gen:
    def __init__(self, draw, func: Function, handler: ExcHandler | None) -> None:
        self.draw = draw
        self.func = func
        self.handler = handler

    def pick(self, block: Block, avail: list[Value], t: T.Type, offset: int) -> Value:
        cands = [v for v in avail if v.type <= t and v.type != T.Bottom]
        if cands and self.draw(st.integers(0, 4)):
            return self.draw(st.sampled_from(cands))
        if T.Null <= t and self.draw(st.booleans()):
            v: Op = Null(offset=offset)
        elif T.Int <= t:
            v = Const(value=self.draw(st.integers(-5, 5)), offset=offset)
        elif T.Str <= t:
            v = Const(value=self.draw(st.text(max_size=4)), offset=offset)
        elif T.Null <= t:
            v = Null(offset=offset)
        elif T.CBool <= t:
            obj = Const(value=None, offset=offset)
            block.ops.append(obj)
            avail.append(obj)
            v = IsNone(value=obj, offset=offset)
        else:
            raise AssertionError(f"cannot make a value of type {t}")
        block.ops.append(v)
        avail.append(v)
        return v

    def attr(self, attr_type: object) -> object:
        d = self.draw
        if isinstance(attr_type, type) and issubclass(attr_type, enum.Enum):
            return d(st.sampled_from(list(attr_type)))
        if attr_type is bool:
            return d(st.booleans())
        if attr_type is int:
            return d(st.integers(0, 4))
        if attr_type is str:
            return d(names)
        if attr_type is tuple:
            return tuple(d(st.lists(names, max_size=2)))
        return d(st.one_of(consts, st.just(CODE)))

    def frame_state(self, block: Block, avail: list[Value], offset: int) -> FrameState:
        d = self.draw
        use_handler = self.handler is not None and d(st.booleans())
        depth = self.handler.depth if use_handler else 0  # type: ignore[union-attr]
        locals_ = [self.pick(block, avail, T.Storable, offset) for _ in range(self.func.nlocalsplus)]
        stack = [self.pick(block, avail, T.Storable, offset) for _ in range(depth + d(st.integers(0, 2)))]
        return FrameState(
            d(st.integers(0, 200)), tuple(locals_), tuple(stack),
            self.handler if use_handler else None,
        )

    def op(self, block: Block, avail: list[Value]) -> None:
        d = self.draw
        cls = d(st.sampled_from(OP_CLASSES))
        offset = d(st.integers(-1, 300))
        kwargs: dict[str, object] = {}
        if cls is Extract:
            multis = [v for v in avail if v.type == T.Multi and v.result_items()]  # type: ignore[attr-defined]
            if not multis:
                return
            producer = d(st.sampled_from(multis))
            kwargs = {"value": producer, "index": d(st.integers(0, len(producer.result_items()) - 1))}
        else:
            for f in cls.op_fields:
                if f.kind is Kind.ATTR:
                    kwargs[f.name] = self.attr(f.attr_type)
                elif f.kind is Kind.OPERAND:
                    kwargs[f.name] = self.pick(block, avail, f.operand_type, offset)
                elif f.kind is Kind.OPT_OPERAND:
                    kwargs[f.name] = (
                        self.pick(block, avail, f.operand_type, offset) if d(st.booleans()) else None
                    )
                elif f.kind is Kind.OPERANDS:
                    # `locals` lists are all the fast locals, or empty (verify.py).
                    n = (d(st.sampled_from([0, self.func.nlocalsplus])) if f.name == "locals"
                         else d(st.integers(0, 3)))
                    kwargs[f.name] = tuple(self.pick(block, avail, f.operand_type, offset) for _ in range(n))
        fs = self.frame_state(block, avail, offset) if cls.may_raise else None
        op = cls(offset=offset, frame_state=fs, **kwargs)
        if op.check() is not None:
            return
        block.ops.append(op)
        if op.type != T.Void:
            avail.append(op)

    def terminator(self, block: Block, avail: list[Value], targets: list[Block]) -> None:
        d = self.draw
        kinds = TERMINATORS if targets else ["return", "unreachable", "raise", "reraise"]
        kind = d(st.sampled_from(kinds))
        offset = d(st.integers(0, 300))

        def edge() -> Edge:
            target = d(st.sampled_from(targets))
            return Edge(target, tuple(self.pick(block, avail, p.type, offset) for p in target.params))

        from ember.ir import ops

        t: Op
        if kind == "return":
            t = ops.Return(value=self.pick(block, avail, T.Object, offset), offset=offset)
        elif kind == "unreachable":
            t = ops.Unreachable(offset=offset)
        elif kind == "jump":
            t = ops.Jump(target=edge(), offset=offset)
        elif kind == "branch":
            cond = self.pick(block, avail, T.CBool, offset)
            t = ops.Branch(cond=cond, if_true=edge(), if_false=edge(), offset=offset)
        elif kind == "raise":
            exc = self.pick(block, avail, T.Object, offset) if d(st.booleans()) else None
            cause = self.pick(block, avail, T.Object, offset) if exc and d(st.booleans()) else None
            t = ops.Raise(exc=exc, cause=cause, offset=offset,
                          frame_state=self.frame_state(block, avail, offset))
        else:
            exc = self.pick(block, avail, T.Object, offset)
            lasti = self.pick(block, avail, T.Int, offset) if d(st.booleans()) else None
            t = ops.Reraise(exc=exc, lasti=lasti, offset=offset,
                            frame_state=self.frame_state(block, avail, offset))
        block.terminator = t


@st.composite
def functions(draw) -> Function:
    varnames = tuple(f"v{i}" for i in range(draw(st.integers(0, 3))))
    cellvars = tuple(draw(st.lists(st.sampled_from(["v0", "c0", "c1"]), max_size=2, unique=True)))
    freevars = tuple(f"f{i}" for i in range(draw(st.integers(0, 2))))
    consts_table = tuple(draw(st.lists(consts, max_size=3))) + (CODE,)
    func = Function(
        name=draw(names),
        qualname=draw(names),
        filename=draw(st.text(max_size=10)),
        firstlineno=draw(st.integers(0, 10**6)),
        argcount=len(varnames),
        posonlyargcount=draw(st.integers(0, 2)),
        kwonlyargcount=draw(st.integers(0, 2)),
        flags=draw(st.integers(0, 2**20)),
        varnames=varnames,
        cellvars=cellvars,
        freevars=freevars,
        names=tuple(draw(st.lists(names, max_size=3))),
        consts=consts_table,
    )
    nblocks = draw(st.integers(1, 5))
    entry = func.new_block(0)
    for _ in range(func.nlocalsplus):
        entry.add_param(draw(st.sampled_from(PARAM_TYPES)))
    others = []
    for _ in range(nblocks - 1):
        b = func.new_block(draw(st.integers(-1, 300)))
        for _ in range(draw(st.integers(0, 3))):
            b.add_param(draw(st.sampled_from(PARAM_TYPES)))
        others.append(b)
    handler = None
    if draw(st.booleans()):
        depth = draw(st.integers(0, 2))
        lasti = draw(st.booleans())
        hb = func.new_block(draw(st.integers(0, 300)))
        for _ in range(func.nlocalsplus + depth):
            hb.add_param(T.Storable)
        if lasti:
            hb.add_param(T.Int)
        hb.add_param(T.Object)
        handler = ExcHandler(hb, depth, lasti)
        others.append(hb)
    # Shuffle the non-entry blocks so printed order differs from creation order.
    order = draw(st.permutations(others))
    func.blocks = [entry, *order]
    gen = _Gen(draw, func, handler)
    entry_values: list[Value] = []
    for block in func.blocks:
        # Nothing branches to the entry, so it dominates every block: its values may be
        # used anywhere. Values picked from it are copied, not appended to, by other blocks.
        avail: list[Value] = list(block.params) + entry_values
        for _ in range(draw(st.integers(0, 6))):
            gen.op(block, avail)
        gen.terminator(block, avail, others)
        if block is entry:
            entry_values = list(avail)
    return func
