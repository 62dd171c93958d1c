"""The bytecode layer against `dis`, over real code objects."""

from __future__ import annotations

import dis
import importlib.util
from types import CodeType, SimpleNamespace

import pytest

from ember.bytecode import Refused, build_cfg, decode, localsplus_names, parse_exception_table
from ember.bytecode.opcodes import OPMAP, known, stack_effect

MODULES = ["asyncio.base_events", "json.decoder", "re._parser", "typing", "dataclasses"]


def _codes(code: CodeType):
    yield code
    for c in code.co_consts:
        if isinstance(c, CodeType):
            yield from _codes(c)


def _module_codes(name: str) -> list[CodeType]:
    path = importlib.util.find_spec(name).origin
    with open(path, "rb") as f:
        return list(_codes(compile(f.read(), path, "exec")))


@pytest.fixture(scope="module", params=MODULES)
def codes(request):
    return _module_codes(request.param)


def test_decode_matches_dis(codes):
    for code in codes:
        ref = [
            (i.offset, i.opcode, i.arg or 0)
            for i in dis.get_instructions(code)
            if i.opname not in ("EXTENDED_ARG", "CACHE")
        ]
        ours = decode(code)
        assert [(i.offset, i.op, i.arg) for i in ours] == ref
        targets = {
            i.offset: i.argval for i in dis.get_instructions(code) if i.opcode in dis.hasjrel
        }
        for ins in ours:
            if ins.offset in targets:
                # dis names the jump target by the first code unit it lands on
                assert ins.target == targets[ins.offset]


def test_exception_table_matches_dis(codes):
    for code in codes:
        ref = [
            (e.start, e.end, e.target, e.depth, e.lasti) for e in dis._parse_exception_table(code)
        ]
        ours = [(e.start, e.end, e.target, e.depth, e.lasti) for e in parse_exception_table(code)]
        assert ours == ref


def test_localsplus_names_match_cpython(codes):
    for code in codes:
        names = localsplus_names(code)
        assert [code._varname_from_oparg(i) for i in range(len(names))] == list(names)
        with pytest.raises(IndexError):
            code._varname_from_oparg(len(names))


# Where Ember models the run-time effect rather than the compiler's bookkeeping.
_DIFFERS = {("RETURN_GENERATOR", False), ("RETURN_GENERATOR", True), ("FOR_ITER", True)}
_ARGS = {"BUILD_SLICE": (2, 3)}


@pytest.mark.parametrize("name", sorted(n for n, o in OPMAP.items() if o < 256 and known(o)))
def test_net_stack_effect_matches_dis(name):
    op = OPMAP[name]
    args = (0, 1, 2, 3, 5, 0x104, 0x0F) if op >= dis.HAVE_ARGUMENT else (None,)
    for arg in _ARGS.get(name, args):
        for jump in (False, True):
            if (name, jump) in _DIFFERS:
                continue
            try:
                ref = dis.stack_effect(op, arg, jump=jump)
            except ValueError:
                continue
            pops, pushes = stack_effect(op, arg or 0, jump)
            assert pushes - pops == ref, (name, arg, jump)


def test_cfg_depths_and_handlers(codes):
    for code in codes:
        cfg = build_cfg(code)
        assert cfg.blocks[0].start == 0 and cfg.blocks[0].depth == 0
        for b in cfg.blocks:
            assert b.depth >= 0
            for s in b.successors():
                assert s in cfg.blocks
            if b.handler is not None:
                assert b.handler_block.depth == b.handler.depth + b.handler.lasti + 1
        # Every offset the interpreter can reach is in some block: only dead code is lost.
        assert max(b.depth for b in cfg.blocks) <= code.co_stacksize


def test_for_iter_exhaustion_skips_end_for():
    def f(xs):
        for _x in xs:
            pass
        return 1

    cfg = build_cfg(f.__code__)
    loop = next(b for b in cfg.blocks if b.last.opname == "FOR_ITER")
    assert loop.jump.instrs[0].opname != "END_FOR"
    assert loop.jump.depth == loop.depth - 1
    assert all(i.opname != "END_FOR" for b in cfg.blocks for i in b.instrs)


def test_refuses_instrumented_code():
    # CodeType.replace() strips instrumentation, so hand the decoder raw bytes.
    raw = bytes([OPMAP["INSTRUMENTED_RESUME"], 0, OPMAP["RETURN_CONST"], 0])
    with pytest.raises(Refused) as info:
        decode(SimpleNamespace(co_code=raw))
    assert info.value.reason == "unsupported_opcode"
    assert "INSTRUMENTED_RESUME" in str(info.value)


def test_refuses_depth_mismatch():
    def f(a):
        x = 1 if a else 2
        return x

    raw = bytearray(f.__code__.co_code)
    ins = next(i for i in decode(f.__code__) if i.opname == "LOAD_CONST")
    raw[ins.offset] = OPMAP["NOP"]  # one arm now reaches the join with nothing pushed
    code = f.__code__.replace(co_code=bytes(raw))
    with pytest.raises(Refused) as info:
        build_cfg(code)
    # Which symptom shows first depends on the walk order; both name the fault.
    assert info.value.reason in ("stack_depth_mismatch", "stack_underflow")
