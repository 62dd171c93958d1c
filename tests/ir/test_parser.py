"""Parser errors carry the line number and say what was expected."""

from __future__ import annotations

import math

import pytest

from ember.ir import ParseError, parse_function, print_function

HEAD = """\
function 'f' {
  name='f' file='x.py' line=1 flags=0x0
  argcount=1 posonly=0 kwonly=0
  varnames=('a',) cellvars=() freevars=() names=()
  consts=()
"""


def body(*lines: str) -> str:
    return HEAD + "".join(line + "\n" for line in lines) + "}\n"


OK = body("bb0(%0: object) @0:", "  return %0 @2")


def test_ok():
    assert print_function(parse_function(OK)) == OK


CASES = [
    (body("bb0(%0: object) @0:", "  %1: object = frobnicate %0 @2", "  return %1 @4"), 7, "unknown op 'frobnicate'"),
    (body("bb0(%0: object) @0:", "  %1: object = load_attr %0 @2", "  return %1 @4"), 7, "load_attr needs attributes [name]"),
    (body("bb0(%0: object) @0:", "  %1: object = binary_op[op=plus] %0, %0 @2", "  return %1 @4"), 7, "bad op 'plus' (one of: add,"),
    (body("bb0(%0: objekt) @0:", "  return %0 @2"), 6, "unknown type name 'objekt'"),
    (body("bb0(%0: object) @0:", "  return %9 @2"), 7, "%9 is used but never defined"),
    (body("bb0(%0: object) @0:", "  jump bb7() @2"), 7, "block bb7 is used but never defined"),
    (body("bb0(%0: object) @0:", "  %0: null = null @1", "  return %0 @2"), 7, "%0 is defined twice"),
    (body("bb0(%0: object) @0:", "  %1: int = const[value=12abc] @1", "  return %1 @2"), 7, "bad number"),
    (body("bb0(%0: object) @0:", "  %1: tuple = const[value=(1, 2] @1", "  return %1 @2"), 7, "expected ','"),
    (body("bb0(%0: object) @0:", "  return %0 @2", "  return %0 @3"), 8, "second terminator"),
    (body("bb0(%0: object) @0:", "  return %0 @2", "  %1: null = null @3"), 8, "op after the terminator"),
    (body("bb0(%0: object) @0:", "  return %0"), 7, "expected '@'"),
    (body("bb0(%0: object) @0:", "  return %0 @2 junk"), 7, "unexpected text at end of line"),
    (body("bb0(%0: object) @0:", "  %1: void = null @1", "  return %0 @2"), 7, "cannot have type void"),
    (body("bb0(%0: object) @0:", "  %1: object = unpack_sequence[count='3'] %0 @1", "  return %0 @2"), 7, "attribute count must be int"),
    (body("bb0(%0: object) @0:", "  %1: object = load_attr[nom=x] %0 @1", "  return %0 @2"), 7, "expected attribute 'name', got 'nom'"),
    (body("bb0(%0: object) @0:", "  return %0 @2", "bb0() @4:", "  unreachable @4"), 8, "block bb0 is defined twice"),
    (OK.replace("}\n", ""), 8, "missing the closing '}'"),
    (OK + "extra\n", 9, "text after the closing '}'"),
    (OK.replace("  consts=()\n", ""), 2, "missing header fields: consts"),
    (OK.replace("flags=0x0", "flags=0x0 colour=1"), 2, "unknown header field 'colour'"),
    (OK.replace("line=1", "line='1'"), 2, "header field 'line' must be int"),
    ("", 1, "empty input"),
    ("fn 'f' {\n}\n", 1, "expected 'function'"),
]


@pytest.mark.parametrize("text,lineno,message", CASES, ids=[c[2][:30] for c in CASES])
def test_errors(text, lineno, message):
    with pytest.raises(ParseError) as info:
        parse_function(text)
    assert info.value.lineno == lineno, str(info.value)
    assert message in str(info.value), str(info.value)
    assert str(info.value).startswith(f"line {lineno}: ")


def test_forward_references_resolve():
    text = body(
        "bb0(%0: object) @0:",
        "  jump bb2() @0",
        "bb1() @2:",
        "  return %1 @2",
        "bb2() @4:",
        "  %1: int = const[value=1] @4",
        "  jump bb1() @6",
    )
    func = parse_function(text)
    assert func.blocks[1].terminator.value is func.blocks[2].ops[0]
    assert print_function(func) == text


def test_constants_in_ops():
    text = body(
        "bb0(%0: object) @0:",
        "  %1: float = const[value=nan] @0",
        "  %2: float = const[value=-0.0] @0",
        "  %3: tuple = const[value=(b'\\x00', complex(-0.0, inf), frozenset({'a', 1}), ...)] @0",
        "  %4: object = load_attr[name='not an identifier'] %0 @2 fs(@2; locals=[%0]; stack=[])",
        "  return %3 @4",
    )
    func = parse_function(text)
    ops = func.blocks[0].ops
    assert math.isnan(ops[0].value)
    assert math.copysign(1, ops[1].value) == -1
    assert ops[2].value[1] == complex(-0.0, math.inf)
    assert ops[3].name == "not an identifier"
    assert print_function(func) == text
