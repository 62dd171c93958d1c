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

State = tuple[list[int], list[int]]  # (locals, stack)


def argument_count(code) -> int:
    """Number of leading fast locals bound by the call (positional, keyword-only, * and **)."""
    flags = code.co_flags
    return code.co_argcount + code.co_kwonlyargcount + bool(flags & 0x04) + bool(flags & 0x08)


def entry_locals(cfg: CFG) -> list[int]:
    nargs = argument_count(cfg.code)
    return [OBJ] * nargs + [NULL] * (cfg.nlocalsplus - nargs)


def _step(ins, loc: list[int], st: list[int]) -> None:
    op = ins.op
    if op not in _SPECIAL:
        pops, pushes = stack_effect(op, ins.arg)
        if pops:
            del st[-pops:]
        if pushes:
            st.extend([OBJ] * pushes)
        return
    arg = ins.arg
    if op == _LOAD_FAST or op == _LOAD_FAST_CHECK:
        st.append(OBJ)
        loc[arg] = OBJ
    elif op == _STORE_FAST:
        loc[arg] = st.pop()
    elif op == _PUSH_NULL:
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
        st.append(loc[arg])
        loc[arg] = NULL
    elif op == _DELETE_FAST:
        loc[arg] = NULL
    elif op == _MAKE_CELL:
        loc[arg] = OBJ
    elif op == _COPY_FREE_VARS:
        n = len(loc)
        loc[n - arg :] = [OBJ] * arg
    elif op == _COPY:
        st.append(st[-arg])
    elif op == _SWAP:
        st[-1], st[-arg] = st[-arg], st[-1]


def _join_into(dst: list[int], src: list[int]) -> bool:
    changed = False
    for i, k in enumerate(src):
        j = dst[i] | k
        if j != dst[i]:
            dst[i] = j
            changed = True
    return changed


def analyze(cfg: CFG) -> dict[BBlock, State]:
    """Kinds (NULL, OBJ, MAYBE) of the locals and stack at the entry of every block."""
    states: dict[BBlock, State] = {cfg.blocks[0]: (entry_locals(cfg), [])}
    work = [cfg.blocks[0]]
    queued = {cfg.blocks[0]}

    def arrive(b: BBlock, loc: list[int], st: list[int]) -> None:
        cur = states.get(b)
        if cur is None:
            states[b] = (list(loc), list(st))
        else:
            changed = _join_into(cur[0], loc)
            if _join_into(cur[1], st):
                changed = True
            if not changed:
                return
        if b not in queued:
            queued.add(b)
            work.append(b)

    while work:
        b = work.pop()
        queued.discard(b)
        loc, st = states[b]
        loc = list(loc)
        st = list(st)
        h = b.handler
        hloc = hst = None
        if h is not None:
            hloc = list(loc)
            hst = st[: h.depth]
        last = b.instrs[-1]
        for ins in b.instrs:
            if h is not None:
                _join_into(hloc, loc)
                _join_into(hst, st[: h.depth])
            if ins is last and b.jump is not None:
                jl, js = list(loc), list(st)
                pops, pushes = stack_effect(ins.op, ins.arg, jump=True)
                if pops:
                    del js[-pops:]
                js.extend([OBJ] * pushes)
                arrive(b.jump, jl, js)
            _step(ins, loc, st)
        if b.fallthrough is not None:
            arrive(b.fallthrough, loc, st)
        if h is not None:
            arrive(b.handler_block, hloc, hst + [OBJ] * (h.lasti + 1))
    return states
