"""What Ember knows about CPython 3.12's opcodes: control flow and stack effects.

This is the only table of 3.12 opcode semantics outside `frontend/`. Stack effects are
given as `(pops, pushes)` rather than the net `dis.stack_effect`, because the frontend
pops real values and pushes new ones. Where the compiler's own model of an opcode differs
from what the interpreter does at run time, the run-time behaviour is used:

- `FOR_ITER` on exhaustion pops the iterator and jumps *past* the `END_FOR` at its
  target (`JUMPBY(oparg + 1)` in bytecodes.c); the compiler pretends it jumps to the
  `END_FOR` with two values, which is why that `END_FOR` is never executed.
- `RETURN_GENERATOR` returns the new generator to the caller; when the generator is
  first resumed, the sent value (always None) is pushed, and the following `POP_TOP`
  drops it. So within the generator it pushes one value.
"""

from __future__ import annotations

import dis
import opcode as _opcode

OPMAP = dis.opmap
OPNAME = dis.opname
CACHE_ENTRIES = _opcode._inline_cache_entries

_o = OPMAP

# Jumps whose oparg counts backwards from the next instruction.
BACKWARD_JUMPS = frozenset({_o["JUMP_BACKWARD"], _o["JUMP_BACKWARD_NO_INTERRUPT"]})
UNCONDITIONAL_JUMPS = frozenset({_o["JUMP_FORWARD"], *BACKWARD_JUMPS})
CONDITIONAL_JUMPS = frozenset(
    {
        _o["POP_JUMP_IF_FALSE"],
        _o["POP_JUMP_IF_TRUE"],
        _o["POP_JUMP_IF_NONE"],
        _o["POP_JUMP_IF_NOT_NONE"],
        _o["FOR_ITER"],
        _o["SEND"],
    }
)
RELATIVE_JUMPS = UNCONDITIONAL_JUMPS | CONDITIONAL_JUMPS
# Instructions after which control never falls through.
EXITS = frozenset({_o["RETURN_VALUE"], _o["RETURN_CONST"], _o["RAISE_VARARGS"], _o["RERAISE"]})
BLOCK_ENDS = EXITS | RELATIVE_JUMPS

# Opcodes that are never in code the compiler produced for a plain run; seeing one means
# the code object was instrumented or hand-made.
REFUSED_OPS = frozenset(
    op for name, op in OPMAP.items() if name.startswith("INSTRUMENTED_") or op >= 256
) | frozenset({_o["INTERPRETER_EXIT"], _o["RESERVED"]})

FVS_HAVE_SPEC = 0x04


def _fixed(pops: int, pushes: int):
    return lambda arg: (pops, pushes)


# opcode -> f(oparg) -> (pops, pushes) on the fall-through path.
_EFFECTS: dict[int, object] = {}


def _set(names: str, fn) -> None:
    for name in names.split():
        _EFFECTS[_o[name]] = fn


_set("NOP RESUME EXTENDED_ARG CACHE KW_NAMES JUMP_FORWARD JUMP_BACKWARD", _fixed(0, 0))
_set("JUMP_BACKWARD_NO_INTERRUPT SETUP_ANNOTATIONS DELETE_NAME DELETE_GLOBAL", _fixed(0, 0))
_set("DELETE_FAST MAKE_CELL DELETE_DEREF COPY_FREE_VARS RETURN_CONST", _fixed(0, 0))
_set("POP_TOP RETURN_VALUE STORE_NAME STORE_GLOBAL STORE_FAST STORE_DEREF", _fixed(1, 0))
_set("POP_EXCEPT DELETE_ATTR POP_JUMP_IF_FALSE POP_JUMP_IF_TRUE", _fixed(1, 0))
_set("POP_JUMP_IF_NONE POP_JUMP_IF_NOT_NONE LIST_APPEND SET_ADD", _fixed(1, 0))
_set("LIST_EXTEND SET_UPDATE DICT_UPDATE DICT_MERGE", _fixed(1, 0))
_set("PUSH_NULL LOAD_BUILD_CLASS LOAD_ASSERTION_ERROR LOAD_LOCALS LOAD_CONST", _fixed(0, 1))
_set("LOAD_NAME LOAD_FAST LOAD_FAST_CHECK LOAD_FAST_AND_CLEAR LOAD_CLOSURE", _fixed(0, 1))
_set("LOAD_DEREF RETURN_GENERATOR", _fixed(0, 1))
_set("UNARY_NEGATIVE UNARY_NOT UNARY_INVERT GET_ITER GET_YIELD_FROM_ITER", _fixed(1, 1))
_set("GET_AITER GET_AWAITABLE YIELD_VALUE CALL_INTRINSIC_1", _fixed(1, 1))
_set("LOAD_FROM_DICT_OR_GLOBALS LOAD_FROM_DICT_OR_DEREF", _fixed(1, 1))
_set("BINARY_SUBSCR BINARY_OP COMPARE_OP IS_OP CONTAINS_OP IMPORT_NAME", _fixed(2, 1))
_set("CALL_INTRINSIC_2 END_SEND", _fixed(2, 1))
_set("STORE_ATTR DELETE_SUBSCR END_FOR END_ASYNC_FOR MAP_ADD", _fixed(2, 0))
_set("GET_LEN MATCH_MAPPING MATCH_SEQUENCE PUSH_EXC_INFO GET_ANEXT IMPORT_FROM", _fixed(1, 2))
_set("BEFORE_WITH BEFORE_ASYNC_WITH", _fixed(1, 2))
_set("CHECK_EXC_MATCH CHECK_EG_MATCH SEND", _fixed(2, 2))
_set("MATCH_KEYS", _fixed(2, 3))
_set("BINARY_SLICE MATCH_CLASS", _fixed(3, 1))
_set("STORE_SUBSCR", _fixed(3, 0))
_set("STORE_SLICE", _fixed(4, 0))
_set("WITH_EXCEPT_START", _fixed(4, 5))
_set("CLEANUP_THROW", _fixed(3, 2))
_set("FOR_ITER", _fixed(1, 2))
_set("BUILD_TUPLE BUILD_LIST BUILD_SET BUILD_STRING BUILD_SLICE", lambda a: (a, 1))
_set("BUILD_MAP", lambda a: (2 * a, 1))
_set("BUILD_CONST_KEY_MAP", lambda a: (a + 1, 1))
_set("UNPACK_SEQUENCE", lambda a: (1, a))
_set("UNPACK_EX", lambda a: (1, (a & 0xFF) + (a >> 8) + 1))
_set("SWAP", lambda a: (a, a))
_set("COPY", lambda a: (a, a + 1))
_set("LOAD_GLOBAL", lambda a: (0, 1 + (a & 1)))
_set("LOAD_ATTR", lambda a: (1, 1 + (a & 1)))
_set("LOAD_SUPER_ATTR", lambda a: (3, 1 + (a & 1)))
_set("RAISE_VARARGS", lambda a: (a, 0))
_set("RERAISE", lambda a: (a + 1, a))
_set("MAKE_FUNCTION", lambda a: (1 + (a & 0xF).bit_count(), 1))
_set("CALL", lambda a: (a + 2, 1))
_set("CALL_FUNCTION_EX", lambda a: (3 + (a & 1), 1))
_set("FORMAT_VALUE", lambda a: (1 + ((a & FVS_HAVE_SPEC) == FVS_HAVE_SPEC), 1))

# Effects on the jump edge, where they differ from the fall-through edge.
_JUMP_EFFECTS = {_o["FOR_ITER"]: (1, 0), _o["SEND"]: (2, 2)}


def stack_effect(op: int, arg: int, jump: bool = False) -> tuple[int, int]:
    """`(pops, pushes)` of one instruction; `jump` selects the branch-taken edge."""
    if jump and op in _JUMP_EFFECTS:
        return _JUMP_EFFECTS[op]
    return _EFFECTS[op](arg)


def known(op: int) -> bool:
    return op in _EFFECTS


INTRINSIC_1 = tuple(_opcode._intrinsic_1_descs)
INTRINSIC_2 = tuple(_opcode._intrinsic_2_descs)
BINARY_OPS = tuple(name for name, _sym in _opcode._nb_ops)
COMPARE_OPS = tuple(_opcode.cmp_op)
