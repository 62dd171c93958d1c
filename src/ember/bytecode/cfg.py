"""Basic blocks of a 3.12 code object, with normal and exception successors.

Leaders are: the first instruction, every jump target, every instruction after a jump,
return or raise, and every boundary and target of an exception-table entry. Splitting at
the table's boundaries means one entry (or none) covers a whole block, so every
instruction in a block shares one handler.

The stack depth at each block's entry is computed by walking the CFG from the entry; a
block reached with two different depths, a pop below zero, or a protected instruction
below its handler's depth is refused. Blocks never reached (from the entry, through jumps,
fall-throughs and exception edges) are dropped.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from types import CodeType

from .decode import Instr, decode
from .errors import Refused
from .exctable import ExcEntry, parse_exception_table
from .opcodes import BLOCK_ENDS, CONDITIONAL_JUMPS, EXITS, OPMAP, known, stack_effect

_FOR_ITER = OPMAP["FOR_ITER"]
_END_FOR = OPMAP["END_FOR"]


@dataclass(slots=True, eq=False)
class BBlock:
    start: int  # byte offset of the first instruction (EXTENDED_ARG prefix included)
    instrs: list[Instr]
    # The exception-table entry covering every instruction of this block, and its target.
    handler: ExcEntry | None = None
    handler_block: BBlock | None = None
    # An entry whose target is this block: the block is entered by unwinding.
    handler_of: ExcEntry | None = None
    jump: BBlock | None = None  # branch-taken successor (FOR_ITER: exhausted)
    fallthrough: BBlock | None = None
    depth: int = -1  # stack depth at entry; -1 until reached
    preds: list[BBlock] = field(default_factory=list)
    index: int = -1  # position in CFG.blocks

    @property
    def last(self) -> Instr:
        return self.instrs[-1]

    def successors(self) -> list[BBlock]:
        out = [b for b in (self.jump, self.fallthrough) if b is not None]
        if self.handler_block is not None:
            out.append(self.handler_block)
        return out

    def __repr__(self) -> str:
        return f"<BBlock @{self.start} depth={self.depth} n={len(self.instrs)}>"


@dataclass(slots=True, eq=False)
class CFG:
    code: CodeType
    blocks: list[BBlock]  # reachable blocks in offset order; blocks[0] is the entry
    entries: list[ExcEntry]
    nlocalsplus: int
    localsplus_names: tuple[str, ...]

    def block_at(self, start: int) -> BBlock:
        for b in self.blocks:
            if b.start == start:
                return b
        raise KeyError(start)


def localsplus_names(code: CodeType) -> tuple[str, ...]:
    """Names of the fast-locals slots in CPython's order.

    A cell variable that is also an argument shares the argument's slot, so it is not
    repeated (`_PyCode_GetVarnames` and `compute_localsplus_info` in CPython).
    """
    varnames = code.co_varnames
    cells = tuple(c for c in code.co_cellvars if c not in varnames)
    return varnames + cells + code.co_freevars


def exhaust_target(instrs_by_start: dict[int, Instr], ins: Instr) -> int:
    """Where a FOR_ITER really goes when the iterator is exhausted: past its END_FOR."""
    end_for = instrs_by_start.get(ins.target)
    if end_for is None or end_for.op != _END_FOR:
        raise Refused("for_iter_without_end_for", f"FOR_ITER at {ins.offset}")
    return end_for.next_offset


def build_cfg(code: CodeType) -> CFG:
    instrs = decode(code)
    if not instrs:
        raise Refused("empty_code")
    entries = parse_exception_table(code)
    by_start = {ins.start: ins for ins in instrs}
    end_offset = instrs[-1].next_offset

    leaders = {instrs[0].start}
    targets: dict[int, int] = {}  # instr offset -> real jump target
    for idx, ins in enumerate(instrs):
        op = ins.op
        if not known(op):
            raise Refused("unsupported_opcode", ins.opname)
        if op in BLOCK_ENDS:
            if ins.target >= 0:
                tgt = exhaust_target(by_start, ins) if op == _FOR_ITER else ins.target
                targets[ins.offset] = tgt
                leaders.add(tgt)
            if idx + 1 < len(instrs):
                leaders.add(instrs[idx + 1].start)
    for e in entries:
        leaders.add(e.start)
        leaders.add(e.target)
        if e.end < end_offset:
            leaders.add(e.end)
    for off in leaders:
        if off not in by_start:
            raise Refused("bad_block_boundary", f"offset {off} is not an instruction")

    blocks: list[BBlock] = []
    cur: list[Instr] = []
    for ins in instrs:
        if ins.start in leaders and cur:
            blocks.append(BBlock(cur[0].start, cur))
            cur = []
        cur.append(ins)
    blocks.append(BBlock(cur[0].start, cur))
    block_of = {b.start: b for b in blocks}

    starts = [e.start for e in entries]
    for i, b in enumerate(blocks):
        last = b.last
        if last.offset in targets:
            b.jump = block_of[targets[last.offset]]
        if last.op not in EXITS and (last.op not in BLOCK_ENDS or last.op in CONDITIONAL_JUMPS):
            if i + 1 >= len(blocks):
                raise Refused("falls_off_end", f"block at {b.start}")
            b.fallthrough = blocks[i + 1]
        k = bisect_right(starts, b.start) - 1
        if k >= 0 and entries[k].start <= b.start < entries[k].end:
            e = entries[k]
            b.handler = e
            b.handler_block = block_of[e.target]
            b.handler_block.handler_of = e

    _compute_depths(blocks[0])
    live = [b for b in blocks if b.depth >= 0]
    for i, b in enumerate(live):
        b.index = i
    for b in live:
        for s in b.successors():
            s.preds.append(b)
    names = localsplus_names(code)
    return CFG(code, live, entries, len(names), names)


def _arrive(block: BBlock, depth: int, work: list[BBlock]) -> None:
    if block.depth < 0:
        block.depth = depth
        work.append(block)
    elif block.depth != depth:
        raise Refused("stack_depth_mismatch", f"block at {block.start}: {block.depth} vs {depth}")


def _compute_depths(entry: BBlock) -> None:
    entry.depth = 0
    work = [entry]
    while work:
        b = work.pop()
        depth = b.depth
        h = b.handler
        for ins in b.instrs:
            if h is not None and depth < h.depth:
                raise Refused("handler_depth_above_stack", f"offset {ins.offset}")
            pops, pushes = stack_effect(ins.op, ins.arg)
            if pops > depth:
                raise Refused("stack_underflow", f"offset {ins.offset}")
            if ins is b.instrs[-1] and b.jump is not None:
                jp, jq = stack_effect(ins.op, ins.arg, jump=True)
                _arrive(b.jump, depth - jp + jq, work)
            depth += pushes - pops
        if b.fallthrough is not None:
            _arrive(b.fallthrough, depth, work)
        if h is not None:
            _arrive(b.handler_block, h.handler_depth, work)
