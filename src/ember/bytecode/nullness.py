"""Which fast locals and stack slots may hold C NULL at each block entry.

CPython keeps NULL in unbound locals, in the slot below a callable (`PUSH_NULL`,
`LOAD_GLOBAL`/`LOAD_ATTR` with the low oparg bit), and in values saved by
`LOAD_FAST_AND_CLEAR`. The frontend gives every block parameter a type from this analysis
(`null`, `object` or `nullable`), so the IR is typed before any pass runs.

The rules match the 3.12 compiler's own analysis (`scan_block_for_locals` in
Python/flowgraph.c): a `LOAD_FAST` or `LOAD_FAST_CHECK` leaves the local bound, and an
exception edge carries the state before each instruction of the protected block.
"""

from __future__ import annotations

from heapq import heappop, heappush

from .cfg import CFG, BBlock
from .opcodes import OPMAP, stack_effect

NULL = 1
OBJ = 2
MAYBE = NULL | OBJ

_o = OPMAP
_PUSH_NULL = _o["PUSH_NULL"]
_LOAD_GLOBAL = _o["LOAD_GLOBAL"]
_LOAD_ATTR = _o["LOAD_ATTR"]
_LOAD_SUPER_ATTR = _o["LOAD_SUPER_ATTR"]
_LOAD_FAST = _o["LOAD_FAST"]
_LOAD_FAST_CHECK = _o["LOAD_FAST_CHECK"]
_LOAD_FAST_AND_CLEAR = _o["LOAD_FAST_AND_CLEAR"]
_STORE_FAST = _o["STORE_FAST"]
_DELETE_FAST = _o["DELETE_FAST"]
_MAKE_CELL = _o["MAKE_CELL"]
_COPY_FREE_VARS = _o["COPY_FREE_VARS"]
_COPY = _o["COPY"]
_SWAP = _o["SWAP"]
_JUMP_BACKWARD = _o["JUMP_BACKWARD"]
_SPECIAL = frozenset(
    {
        _PUSH_NULL,
        _LOAD_GLOBAL,
        _LOAD_ATTR,
        _LOAD_SUPER_ATTR,
        _LOAD_FAST,
        _LOAD_FAST_CHECK,
        _LOAD_FAST_AND_CLEAR,
        _STORE_FAST,
        _DELETE_FAST,
        _MAKE_CELL,
        _COPY_FREE_VARS,
        _COPY,
        _SWAP,
    }
)

State = tuple[list[int], list[int]]  # (locals, stack) kinds, as the builder reads them

# While iterating, the locals are two bitmasks (bit i: local i may be NULL / may be an
# object), so joining the states of a 50-local function is two integer ORs.


def argument_count(code) -> int:
    """Number of leading fast locals bound by the call (positional, keyword-only, * and **)."""
    flags = code.co_flags
    return code.co_argcount + code.co_kwonlyargcount + bool(flags & 0x04) + bool(flags & 0x08)


def _kind(null: int, obj: int, i: int) -> int:
    return ((null >> i) & 1) | (((obj >> i) & 1) << 1)


def _set(null: int, obj: int, i: int, kind: int) -> tuple[int, int]:
    bit = 1 << i
    null = (null | bit) if kind & NULL else (null & ~bit)
    obj = (obj | bit) if kind & OBJ else (obj & ~bit)
    return null, obj


def _step(ins, null: int, obj: int, st: list[int], nlocals: int) -> tuple[int, int]:
    op = ins.op
    if op not in _SPECIAL:
        pops, pushes = stack_effect(op, ins.arg)
        if pops:
            del st[-pops:]
        if pushes:
            st.extend([OBJ] * pushes)
        return null, obj
    arg = ins.arg
    if op == _LOAD_FAST or op == _LOAD_FAST_CHECK:
        st.append(OBJ)
        return _set(null, obj, arg, OBJ)
    if op == _STORE_FAST:
        return _set(null, obj, arg, st.pop())
    if op == _PUSH_NULL:
        st.append(NULL)
    elif op == _LOAD_GLOBAL:
        if arg & 1:
            st.append(NULL)
        st.append(OBJ)
    elif op == _LOAD_ATTR:
        st.pop()
        if arg & 1:
            st.append(MAYBE)
        st.append(OBJ)
    elif op == _LOAD_SUPER_ATTR:
        del st[-3:]
        if arg & 1:
            st.append(MAYBE)
        st.append(OBJ)
    elif op == _LOAD_FAST_AND_CLEAR:
        st.append(_kind(null, obj, arg))
        return _set(null, obj, arg, NULL)
    elif op == _DELETE_FAST:
        return _set(null, obj, arg, NULL)
    elif op == _MAKE_CELL:
        return _set(null, obj, arg, OBJ)
    elif op == _COPY_FREE_VARS:
        mask = ((1 << arg) - 1) << (nlocals - arg)
        return null & ~mask, obj | mask
    elif op == _COPY:
        st.append(st[-arg])
    elif op == _SWAP:
        st[-1], st[-arg] = st[-arg], st[-1]
    return null, obj


def _join_stack(dst: list[int], src: list[int]) -> bool:
    changed = False
    for i, k in enumerate(src):
        j = dst[i] | k
        if j != dst[i]:
            dst[i] = j
            changed = True
    return changed


def analyze(cfg: CFG) -> dict[BBlock, State]:
    """Kinds (NULL, OBJ, MAYBE) of the locals and stack at the entry of every block."""
    n = cfg.nlocalsplus
    nargs = min(argument_count(cfg.code), n)
    blocks = cfg.blocks
    # block index -> [null bits, obj bits, stack kinds]
    states: dict[int, list] = {0: [((1 << n) - 1) & ~((1 << nargs) - 1), (1 << nargs) - 1, []]}
    # Visit in offset order (lowest first): for structured code that is close to reverse
    # postorder, so a loop body is revisited only when its back edge changes something.
    work = [0]
    queued = {0}

    def arrive(b: BBlock, null: int, obj: int, st: list[int]) -> None:
        cur = states.get(b.index)
        if cur is None:
            states[b.index] = [null, obj, list(st)]
        else:
            jn, jo = cur[0] | null, cur[1] | obj
            changed = jn != cur[0] or jo != cur[1]
            cur[0], cur[1] = jn, jo
            if _join_stack(cur[2], st):
                changed = True
            if not changed:
                return
        if b.index not in queued:
            queued.add(b.index)
            heappush(work, b.index)

    while work:
        i = heappop(work)
        queued.discard(i)
        b = blocks[i]
        null, obj, st = states[i]
        st = list(st)
        h = b.handler
        if h is not None:
            d = h.depth
            hnull, hobj, hst = null, obj, st[:d]
        last = b.instrs[-1]
        for ins in b.instrs:
            if h is not None:
                # The state before every instruction reaches the handler.
                hnull |= null
                hobj |= obj
                if st[:d] != hst:
                    _join_stack(hst, st[:d])
            if ins is last and ins.op == _JUMP_BACKWARD and b.jump is not None:
                # The eval breaker's exception goes to the handler covering the unit
                # before the loop's head (frontend/control.py jump_backward).
                e = _entry_at(cfg, b.jump.start - 2)
                if e is not None and e.depth <= len(st):
                    try:
                        hb = cfg.block_at(e.target)
                    except KeyError:
                        hb = None
                    if hb is not None:
                        arrive(hb, null, obj, st[: e.depth] + [OBJ] * (e.lasti + 1))
            if ins is last and b.jump is not None:
                js = list(st)
                pops, pushes = stack_effect(ins.op, ins.arg, jump=True)
                if pops:
                    del js[-pops:]
                js.extend([OBJ] * pushes)
                arrive(b.jump, null, obj, js)
            null, obj = _step(ins, null, obj, st, n)
        if b.fallthrough is not None:
            arrive(b.fallthrough, null, obj, st)
        if h is not None:
            arrive(b.handler_block, hnull, hobj, hst + [OBJ] * (h.lasti + 1))

    out: dict[BBlock, State] = {}
    for i, (null, obj, st) in states.items():
        loc = [((null >> j) & 1) | (((obj >> j) & 1) << 1) for j in range(n)]
        out[blocks[i]] = (loc, st)
    return out


def _entry_at(cfg: CFG, offset: int):
    """The exception-table entry covering byte `offset`, or None."""
    for e in cfg.entries:
        if e.start <= offset < e.end:
            return e
    return None
