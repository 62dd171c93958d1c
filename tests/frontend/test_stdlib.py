"""Every code object of a few real stdlib modules builds, verifies and round-trips.

(The whole of Lib is `make irstats`, not a test.)"""

from __future__ import annotations

import importlib.util
from types import CodeType

import pytest

from ember.bytecode import Refused
from ember.ir.parser import parse_function
from ember.ir.printer import print_function
from ember.ir.verify import verify
from ember.pipeline import build_ir

MODULES = [
    "contextlib",
    "dataclasses",
    "json.decoder",
    "asyncio.tasks",
    "re._parser",
    "functools",
    "tomllib._parser",
    "enum",
]


def _codes(code: CodeType):
    yield code
    for c in code.co_consts:
        if isinstance(c, CodeType):
            yield from _codes(c)


@pytest.mark.parametrize("module", MODULES)
def test_module_builds_verifies_round_trips(module):
    path = importlib.util.find_spec(module).origin
    with open(path, "rb") as f:
        top = compile(f.read(), path, "exec", dont_inherit=True)
    refused = []
    for code in _codes(top):
        try:
            func = build_ir(code)
        except Refused as exc:
            assert exc.reason and exc.reason.replace("_", "").isalnum(), exc
            refused.append((code.co_qualname, exc.reason))
            continue
        verify(func)
        text = print_function(func)
        assert print_function(parse_function(text)) == text, code.co_qualname
    assert not refused, refused


def test_refusal_carries_a_reason():
    def f(x):
        return x

    bad = f.__code__.replace(co_code=bytes([0x03, 0]) + f.__code__.co_code[2:])  # INTERPRETER_EXIT
    with pytest.raises(Refused) as info:
        build_ir(bad)
    assert info.value.reason == "unsupported_opcode"
    assert "INTERPRETER_EXIT" in str(info.value)


def test_frame_states_follow_the_exception_table():
    """Each may-raise op's frame state is at its own offset, and its handler is the
    exception-table entry covering that offset (same depth and lasti), or None."""
    from ember.bytecode import parse_exception_table

    path = importlib.util.find_spec("contextlib").origin
    with open(path, "rb") as f:
        top = compile(f.read(), path, "exec", dont_inherit=True)
    checked = 0
    for code in _codes(top):
        entries = parse_exception_table(code)
        func = build_ir(code)
        offsets = {b.offset: b for b in func.blocks}
        for block in func.blocks:
            for op in block.all_ops():
                fs = op.frame_state
                if fs is None:
                    continue
                assert fs.offset == op.offset
                at = op.offset
                term = block.terminator
                if (op.opname == "check_eval_breaker" and term.opname == "jump"
                        and term.target.block.offset < op.offset):
                    # JUMP_BACKWARD: CPython unwinds from the unit before the loop head.
                    at = term.target.block.offset - 2
                entry = next((e for e in entries if e.start <= at < e.end), None)
                if entry is None:
                    assert fs.handler is None
                else:
                    h = fs.handler
                    assert h.block is offsets[entry.target]
                    assert (h.depth, h.lasti) == (entry.depth, entry.lasti)
                checked += 1
    assert checked > 100


def test_nullness_of_comprehension_save_slot():
    """LOAD_FAST_AND_CLEAR saves a maybe-unbound local on the stack as `nullable`."""
    from ember.bytecode import build_cfg
    from ember.bytecode.nullness import MAYBE, NULL, OBJ, analyze

    def f(y):
        if y:
            x = 1
        [x for x in y]
        return x

    cfg = build_cfg(f.__code__)
    kinds = analyze(cfg)
    loop = next(b for b in cfg.blocks if b.last.opname == "FOR_ITER")
    loc, st = kinds[loop]
    assert loc == [OBJ, MAYBE]  # y bound; x unbound on the first iteration
    assert st == [MAYBE, OBJ, OBJ]  # saved x, the list, the iterator
    assert kinds[cfg.blocks[0]] == ([OBJ, NULL], [])
