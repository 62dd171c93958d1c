"""Slow paths that compiled code hands to CPython itself: tiny Python functions that run
the very bytecode instruction being compiled (`a, b = seq` for UNPACK_SEQUENCE 2, `a, *b
= seq` for UNPACK_EX), so rare cases get CPython's exact behaviour and messages.

Compiled bodies hold them in their constants table with a recipe
`["helper", "ember.slowpaths:<maker>", *args]` (lower/consts.py), which a process that
loads the code rebuilds by calling the maker here. This module imports nothing of the
compiler: loading compiled code must not bring LLVM into the program's process. The
helpers are compiled with this file's name, so the runtime never compiles them (Ember's
own code); `lower.pyhelpers` calls them and strips their traceback entry.
"""

from functools import cache


def _define(src: str, name: str):
    ns: dict = {}
    exec(compile(src, __file__, "exec"), ns)
    return ns[name]


@cache
def unpacker(n: int):
    """`a0, ..., a{n-1} = seq`, returning the tuple of them."""
    names = [f"a{i}" for i in range(n)]
    target = "[]" if n == 0 else ", ".join(names) + ("," if n == 1 else "")
    result = "(" + ", ".join(names) + ("," if n == 1 else "") + ")"
    return _define(f"def unpack(seq):\n    {target} = seq\n    return {result}\n", "unpack")


@cache
def unpacker_ex(before: int, after: int):
    """`a0, ..., *s, b0, ... = seq` (`before` and `after` names around the starred one)."""
    names = [f"a{i}" for i in range(before)] + ["*s"] + [f"b{i}" for i in range(after)]
    result = [n.lstrip("*") for n in names]
    return _define(f"def unpack_ex(seq):\n    {', '.join(names)}, = seq\n"
                   f"    return ({', '.join(result)},)\n", "unpack_ex")
