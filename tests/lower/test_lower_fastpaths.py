"""Differential tests of the inline fast paths (lower/exact.py): compact ints, floats,
list/tuple indexing, truth. Each compiled function is checked against CPython on the
boundaries where a fast path must hand over to the generic call. `same` compiles with
`pipeline.compile`, which raises `Refused` rather than silently leaving a function
interpreted, so every function here is checked to be compiled."""

from __future__ import annotations

import math
import sys

from tests.lower.support import same


class IntSub(int):
    pass


class FloatSub(float):
    pass


class L(list):
    pass


class Tu(tuple):
    pass


COMPACT_EDGE = 2**30
INTS = [0, 1, -1, 2, -2, 3, -5, -6, 7, 255, 256, 257, 2**15, COMPACT_EDGE - 1,
        -(COMPACT_EDGE - 1), COMPACT_EDGE, -COMPACT_EDGE, 2**31, 2**62, 2**63 - 1, -(2**63),
        2**64, True, False, IntSub(3), IntSub(-7)]
FLOATS = [0.0, -0.0, 1.5, -2.25, 1e308, -1e308, 5e-324, math.inf, -math.inf, math.nan,
          FloatSub(2.5)]


def int_ops(a, b):
    out = [a + b, a - b, a * b, a & b, a | b, a ^ b,
           a < b, a <= b, a == b, a != b, a > b, a >= b]
    try:
        out.append(a // b)
    except ZeroDivisionError as e:
        out.append(str(e))
    try:
        out.append(a % b)
    except ZeroDivisionError as e:
        out.append(str(e))
    try:
        out.append(a / b)
    except ZeroDivisionError as e:
        out.append(str(e))
    a += b
    out.append(a)
    a -= b
    a *= 3
    out.append(a)
    return out


def test_int_boundaries():
    same(int_ops, *[(a, b) for a in INTS for b in INTS])


def test_big_ints_take_ints_own_slots():
    # Not compact: int's number slots are called directly (lower/arith.py `_int_slot`), so
    # their own errors and results must be the number protocol's.
    huge = 10**400
    same(int_ops, (huge, 3), (3, huge), (-huge, 7), (huge, huge), (huge, 0), (2**62, -(2**62)),
         (huge, 2.5), (huge, IntSub(5)))


def float_ops(a, b):
    out = [a + b, a - b, a * b, a < b, a <= b, a == b, a != b, a > b, a >= b]
    try:
        out.append(a / b)
    except ZeroDivisionError as e:
        out.append(str(e))
    return out


def test_float_boundaries():
    same(float_ops, *[(a, b) for a in FLOATS for b in FLOATS])
    same(float_ops, (1, 2.0), (2.0, 1), (True, 0.5), (IntSub(2), FloatSub(0.0)))


def small(a, b):
    return a + b, a - b, a * b, a // b, a % b


def test_small_int_results_are_the_cached_objects():
    compiled = same(small, (1, 1))
    for a in range(-20, 300, 7):
        for b in (1, 2, -3, 5):
            for got in compiled(a, b):
                if -5 <= got <= 256:
                    assert got is int(str(got)), (a, b, got)


def test_mismatched_types_raise_cpythons_error():
    same(int_ops, (1, "a"), ("a", 1), (None, 1))
    same(float_ops, (1.5, "x"), ([], 2.5))


def truth(x):
    return ("T" if x else "F"), not x


def test_truth():
    same(truth, *[(v,) for v in INTS + FLOATS],
         *[(v,) for v in ([], [0], (), (0,), None, "", "a", L(), Tu((1,)), {}, {1: 2},
                          2**100, -(2**100))])


def subscr(c, i):
    return c[i]


def test_subscr():
    seqs = [list(range(10)), tuple(range(10)), [], (), L(range(3)), Tu(range(3)), "abcdef",
            {0: "a", -1: "b", True: "c"}]
    keys = [0, 1, -1, -10, -11, 9, 10, 2**30, -(2**30), 2**64, True, IntSub(1), 1.0, "x",
            slice(1, 3)]
    same(subscr, *[(s, k) for s in seqs for k in keys])


def store(c, i, v):
    c[i] = v
    return c


def test_store_subscr():
    for c, i in [([1, 2, 3], 0), ([1, 2, 3], -1), ([1, 2, 3], -3), ([1, 2, 3], -4),
                 ([1, 2, 3], 3), ([1, 2, 3], True), ([1, 2, 3], 2**40), ([1, 2], 1.0),
                 (L([1, 2]), 1), ((1, 2), 0), ({}, 5)]:
        fresh = c.copy() if hasattr(c, "copy") else c
        same(store, (fresh, i, "v"))


def test_refcounts_are_stable():
    compiled_sub = same(subscr, ([1], 0))
    compiled_store = same(store, ([1], 0, 2))
    compiled_ops = same(int_ops, (3, 4))
    compiled_truth = same(truth, (5,))
    o = object()
    lst = [o]
    big = 10**6 + 1
    before = sys.getrefcount(o), sys.getrefcount(big)
    for _ in range(1000):
        compiled_sub(lst, 0)
        compiled_sub(lst, -1)
        compiled_store(lst, 0, o)
        compiled_ops(big, 3)
        compiled_truth(big)
    assert (sys.getrefcount(o), sys.getrefcount(big)) == before


def float_temps(x, y):
    a = x * 0.5 + y * 1.25 - 0.125  # temporaries with one reference are reused in place
    b = (x + y) * (x - y) / (a + 1e-9) + x  # x and y stay live: never written to
    c = a * a
    return x, y, a, b, c, (x * 2.0) + (x * 2.0)


def test_float_temporaries_reused_exactly():
    compiled = same(float_temps, (1.5, 2.5), (-0.0, 0.0), (math.nan, 1.0), (1e308, 1e308))
    x, y = 3.25, -1.5
    for _ in range(100):
        assert compiled(x, y) == float_temps(x, y)
    assert (x, y) == (3.25, -1.5)
    before = sys.getrefcount(x), sys.getrefcount(y)
    for _ in range(1000):
        compiled(x, y)
    assert (sys.getrefcount(x), sys.getrefcount(y)) == before


def test_big_function_goes_to_the_level_0_engine():
    """A module over engine.BIG_MODULE_BLOCKS blocks is emitted by the second (codegen
    level 0) MCJIT engine; its code and its entry's counters must work the same."""
    from ember.backend import engine

    lines = ["def big(a, b):", "    x = 0"]
    lines += [f"    x = x + a[{i % 5}] * b - {i}" for i in range(300)]
    lines += ["    return x"]
    ns: dict = {}
    exec("\n".join(lines), ns)
    same(ns["big"], ([1, 2, 3, 4, 5], 3), ([1.5, 2, 3, 4, 5], 2.5), ([1, 2, 3, 4, 5], "x"))
    assert engine.get_engine()._big_ee is not None


def iterate(make, extra):
    seq = make()
    out = []
    it = iter(seq)
    for x in it:
        out.append(x)
        if x == extra and isinstance(seq, list):
            seq.append(x * 10)  # a list may grow while iterated
    out.append(list(it))  # an exhausted iterator stays exhausted
    squares = [y * y for y in seq if y != extra]
    return out, squares


def ranges(a, b, s):
    total = []
    for i in range(a, b, s):
        total.append(i)
        if len(total) > 50:
            break
    return total


def test_iteration_of_lists_tuples_and_ranges():
    # The inline steps of FOR_ITER_LIST / _TUPLE / _RANGE, and LIST_APPEND into spare
    # capacity or growing, against every other iterator's tp_iternext.
    def given(seq):
        return lambda: type(seq)(seq) if isinstance(seq, (list, dict)) else seq

    same(iterate, *[(given(seq), extra) for seq, extra in (
        ([1, 2, 3], 2), ((4, 5, 6), 5), ([], 0), ((), 0), (L([7, 8]), 7), (Tu((1, 2)), 1),
        ("abc", "b"), ({1: 2, 3: 4}, 3), (range(5), 3), (list(range(40)), 39), (None, 0))])
    same(ranges, (0, 10, 1), (10, 0, -3), (-5, 5, 2), (0, 0, 1), (2**62, 2**62 + 5, 2),
         (-(2**63), -(2**63) + 3, 1), (2**63 - 3, 2**63 + 2, 1), (0, 2**70, 2**68),
         (0, 10, 0), (0, 5, IntSub(2)), (1.0, 3, 1))


def test_an_exhausted_list_iterator_drops_its_list_at_once():
    events = []

    class DL(list):
        def __del__(self):
            events.append("del")

    def run(make):
        for x in iter(make()):
            events.append(x)
        events.append("after")

    compiled = same(run)
    events.clear()
    compiled(lambda: DL([1]))
    got = list(events)
    events.clear()
    run(lambda: DL([1]))
    assert got == events
