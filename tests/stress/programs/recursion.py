"""Recursion at the limit inside compiled code: RecursionError at CPython's depth, recovery
after it, `sys.setrecursionlimit` changes, mutual recursion between compiled and
interpreted functions (one that reads its own frame stays interpreted under Ember),
recursion through C slots (repr, ==), first calls (compiles, under -X jit-threshold=0)
made a few frames below the limit, a thread with its own stack, and an uncaught
RecursionError, whose traceback CPython abbreviates. Recursion through C functions that
call back into Python is recursion_through_c.py.
"""

import sys
import threading

from _warm import warm_up


def depth(n):
    try:
        return depth(n + 1)
    except RecursionError:
        return n


def plain(n):
    return plain(n + 1)


def compiled_side(n):
    try:
        return interpreted_side(n + 1)
    except RecursionError:
        return n


def interpreted_side(n):
    sys._getframe()  # Ember leaves a function that reads its frame to the interpreter
    return compiled_side(n + 1)


class Node:
    def __init__(self, child):
        self.child = child

    def __repr__(self):
        return f"Node({self.child!r})"

    def __eq__(self, other):
        return self.child == other.child


def frames():
    f = sys._getframe(1)
    n = 0
    while f is not None:
        n += 1
        f = f.f_back
    return n


def first_call_a(x):
    return [x, str(x), {x: x}]


def first_call_b(x):
    return sorted([x, x - 1])


def first_call_c(x):
    try:
        return first_call_c(x + 1)
    except RecursionError:
        return x


def down(n, f):
    if n == 0:
        return f(n)
    return down(n - 1, f)


def catch_every_hundredth(n):
    try:
        return catch_every_hundredth(n + 1)
    except RecursionError:
        if n % 100 == 0:
            return ("caught at", n)
        raise


def limits():
    for limit in (1000, 60, 200, 5000, 30000, 1000):
        sys.setrecursionlimit(limit)
        d1 = depth(0)
        d2 = depth(0)
        try:
            plain(0)
        except RecursionError as e:
            msg = str(e)
        print("limit", limit, d1, d2, compiled_side(0), msg)
    sys.setrecursionlimit(1000)


def through_c():
    n = Node(None)
    for _ in range(3000):
        n = Node(n)
    for what, fn in (("repr", repr), ("eq", lambda x: x == x)):
        try:
            fn(n)
        except RecursionError as e:
            print(what, e)


def first_calls_near_the_limit():
    base = frames()
    for f in (first_call_a, first_call_b, first_call_c):
        for room in (40, 10, 3):
            try:
                print(f.__name__, room, down(sys.getrecursionlimit() - base - room, f))
            except RecursionError as e:
                print(f.__name__, room, "RecursionError", e)


def in_thread(out):
    out.append(depth(0))
    out.append(compiled_side(0))
    sys.setrecursionlimit(3000)
    out.append(depth(0))
    sys.setrecursionlimit(1000)


def main():
    warm_up(lambda: (depth(900), compiled_side(900), plain_guarded()),
            {"depth", "compiled_side"}, rounds=1)
    limits()
    through_c()
    print(catch_every_hundredth(0))
    first_calls_near_the_limit()
    threading.stack_size(64 * 1024 * 1024)
    out = []
    t = threading.Thread(target=in_thread, args=(out,))
    t.start()
    t.join()
    print("thread", out)
    print("recovered", depth(0))
    plain(0)


def plain_guarded():
    try:
        plain(900)
    except RecursionError:
        pass


main()
