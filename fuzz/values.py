"""The values programs compute with, as source text: the edges where a JIT's fast paths
end (machine-word and compact-int boundaries, big ints, bools, float specials) and the
values of other types that take the slow and error paths.
"""

from __future__ import annotations

import random

SMALL = ("0", "1", "2", "3", "5", "7", "-1", "-2", "10", "100")

INTS = (
    "0", "1", "-1", "True", "False",
    "2**30 - 1", "2**30", "-2**30", "-2**30 - 1",
    "2**31 - 1", "2**31", "-2**31", "-2**31 - 1",
    "2**62 - 1", "2**62", "-2**62", "-2**62 - 1",
    "2**63 - 1", "2**63", "-2**63", "-2**63 - 1",
    "2**64 - 1", "2**64", "-2**64", "2**64 + 1",
    "10**30", "-10**40", "2**100 + 7", "-(1 << 200)",
)

FLOATS = (
    "0.0", "-0.0", "0.5", "-1.5", "1e16", "2.0**53", "2.0**63", "-2.0**63", "1e308",
    "-1e308", "5e-324", "float('inf')", "float('-inf')", "float('nan')", "0.1",
)

#: Values of other types: the slow paths of arithmetic and comparison. No sequences:
#: a sequence times one of the big ints above would take gigabytes.
OTHERS = (
    "None", "3+4j", "-1j", "N(3)", "N(-2.5)", "Big(7)", "Big(-2**63)", "Idx(2)",
    "frozenset({1, 2})",
)

#: Index values for subscripts and slices.
INDEXES = ("0", "1", "-1", "2", "-3", "5", "-7", "True", "2**31", "-2**63", "2**64",
           "None", "1.0", "'1'", "Idx(1)", "Idx(-2)")
STEPS = ("1", "2", "-1", "-2", "3", "0", "None", "2**63", "Idx(-1)")


def edge(rng: random.Random, mix: float = 0.25) -> str:
    """One argument after warm-up: mostly ints and floats at their edges, some others."""
    r = rng.random()
    if r < 0.5:
        return rng.choice(INTS)
    if r < 1 - mix:
        return rng.choice(FLOATS)
    return rng.choice(OTHERS)


def edges(rng: random.Random, n: int, arity: int, mix: float = 0.25) -> list[str]:
    """`n` argument tuples (as source) for a function of `arity` arguments."""
    return ["(" + ", ".join(edge(rng, mix) for _ in range(arity)) + ",)" for _ in range(n)]
