"""Hypothesis: generated small arithmetic/branch functions over ints (int64 edges
included) and floats, compiled with tier 1 and compared with CPython."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.lower.support import jit, outcome

EDGES = [0, 1, -1, 2, 2**31 - 1, -(2**31), 2**62, 2**63 - 1, -(2**63), 2**63, 2**64 + 1]
ints = st.one_of(st.sampled_from(EDGES), st.integers(-(2**70), 2**70))
floats = st.floats(allow_nan=True, allow_infinity=True)
OPS = ["+", "-", "*", "//", "%", "/", "<<", ">>", "&", "|", "^", "**"]
CMPS = ["<", "<=", "==", "!=", ">", ">="]


@st.composite
def expressions(draw, depth=2):
    if depth == 0 or draw(st.booleans()):
        return draw(st.sampled_from(["a", "b", "1", "3", "-2"]))
    left, right = draw(expressions(depth=depth - 1)), draw(expressions(depth=depth - 1))
    op = draw(st.sampled_from(OPS))
    if op in ("<<", "**"):
        right = "3"
    return f"({left} {op} {right})"


@st.composite
def functions(draw):
    e1, e2, e3 = draw(expressions()), draw(expressions()), draw(expressions())
    cmp = draw(st.sampled_from(CMPS))
    return (
        "def f(a, b):\n"
        f"    x = {e1}\n"
        f"    if x {cmp} {e2}:\n"
        f"        x = {e3}\n"
        "    else:\n"
        "        x = -x\n"
        "    return x\n"
    )


_cache: dict[str, tuple] = {}


def _pair(src: str):
    if src not in _cache:
        ns1: dict = {}
        ns2: dict = {}
        exec(compile(src, "<gen>", "exec"), ns1)
        exec(compile(src, "<gen>", "exec"), ns2)
        _cache[src] = (ns1["f"], jit(ns2["f"]))
    return _cache[src]


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(functions(), st.lists(st.tuples(ints, ints), min_size=1, max_size=4))
def test_generated_int_functions(src, argsets):
    plain, compiled = _pair(src)
    for a, b in argsets:
        assert outcome(compiled, a, b) == outcome(plain, a, b), (src, a, b)


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(functions(), st.lists(st.tuples(floats, st.one_of(floats, ints)), min_size=1,
                             max_size=4))
def test_generated_float_functions(src, argsets):
    plain, compiled = _pair(src)
    for a, b in argsets:
        assert outcome(compiled, a, b) == outcome(plain, a, b), (src, a, b)
