"""Recursion that passes through C functions calling back into compiled Python code
(sorted's key, map, functools.reduce, __getattr__ from getattr, a property): the
RecursionError comes at CPython's depth, with CPython's message. Which of the two limits
strikes first (Python frames, or the C recursion budget CPython 3.12 keeps apart) shows
in both.
"""

import functools

deepest = 0


def through_sorted(n):
    global deepest
    deepest = n
    return sorted([n], key=lambda x: through_sorted(x + 1))


def through_map(n):
    global deepest
    deepest = n
    return list(map(through_map, [n + 1]))


def through_reduce(n):
    global deepest
    deepest = n
    return functools.reduce(lambda a, b: through_reduce(b), [0, n + 1])


class Attr:
    def __getattr__(self, name):
        global deepest
        deepest += 1
        return getattr(self, name + "x")


class Prop:
    @property
    def p(self):
        global deepest
        deepest += 1
        return self.p


def through_getattr(n):
    return Attr().a


def through_property(n):
    return Prop().p


def probe(f):
    global deepest
    deepest = 0
    try:
        f(0)
    except RecursionError as e:
        print(f.__name__, deepest, e)


for f in (through_sorted, through_map, through_reduce, through_getattr, through_property):
    probe(f)
