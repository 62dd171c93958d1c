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
