"""Property tests: random well-formed functions verify, and their text round-trips."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ember.ir import ParseError, parse_function, print_function, relink, verify
from ember.ir.consts import ConstRef, format_const, parse_const
from ember.ir.ops import Const

from .gen import CODE, consts, functions

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(functions())
def test_generated_functions_verify(func):
    verify(func)


@SETTINGS
@given(functions())
def test_print_parse_print(func):
    text = print_function(func)
    parsed = parse_function(text)
    assert print_function(parsed) == text
    verify(parsed)


@settings(max_examples=30, deadline=None)
@given(functions())
def test_relink_restores_code_objects(func):
    parsed = parse_function(print_function(func))
    assert any(type(c) is ConstRef for c in parsed.consts)
    relink(parsed, func.consts)
    assert parsed.consts[-1] is CODE
    for op in parsed.all_ops():
        if isinstance(op, Const):
            assert type(op.value) is not ConstRef
    assert print_function(parsed) == print_function(func)


def _same(a, b) -> bool:
    if type(a) is not type(b):
        return False
    if type(a) is float:
        return math.copysign(1, a) == math.copysign(1, b) and (a == b or (a != a and b != b))
    if type(a) is complex:
        return _same(a.real, b.real) and _same(a.imag, b.imag)
    if type(a) is tuple:
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if type(a) is frozenset:
        return format_const(a) == format_const(b)
    return a == b


@settings(max_examples=200, deadline=None)
@given(consts)
def test_constants_round_trip_exactly(value):
    text = format_const(value)
    back, end = parse_const(text)
    assert end == len(text)
    assert _same(value, back)
    assert format_const(back) == text


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(functions(), st.data())
def test_corrupted_text_gives_parse_error_or_function(func, data):
    """Damaged text never crashes the parser with anything but ParseError."""
    text = print_function(func)
    i = data.draw(st.integers(0, len(text) - 1))
    j = data.draw(st.integers(i, min(len(text), i + 4)))
    junk = data.draw(st.sampled_from(["", "%", "(", ")", ",", "@", "[", "]", "_", "9", "bb0", " ", "'", "\n", "fs(", "x"]))
    damaged = text[:i] + junk + text[j:]
    try:
        parse_function(damaged)
    except ParseError:
        pass
