"""A compiled function run by many threads at once while another thread rebinds the
globals, builtins, class attributes, methods, `__code__` and `__class__` it depends on,
with the GIL switching threads every microsecond.

The mutator stores its counter k into A, B, K.m, K.x, K.y and a builtin, in that order;
`work` reads them in the opposite order, so under the GIL's sequential consistency a read
never sees a later store without the earlier ones: any stale cached value shows as a
broken invariant, counted in `bad`. What the threads print depends on nothing the
scheduler decides.

usage: threads_rebind.py [ITERATIONS [THREADS]]
"""

import builtins
import sys
import threading

from _warm import warm_up

A = 0
B = 0
ONE = 1
MAYBE = 0
builtins.STRESS_BUILTIN = 0
_len = len


class K:
    x = 0
    y = 0

    def m(self):
        return 0


class K1(K):
    def which(self):
        return 1


class K2(K):
    def which(self):
        return 2


def helper(v):
    return v


def twice(v):
    return v * 2


def twice_too(v):
    return v + v


def work(obj, i, slots):
    b = B
    a = A
    y = K.y
    x = K.x
    mv = obj.m()
    g = STRESS_BUILTIN  # noqa: F821 - a builtin, or a global shadowing it for a while
    bad = 0
    if b > a:
        bad += 1
    if y > x:
        bad += 1
    if mv < y:
        bad += 1
    if g < y - 1:
        bad += 1
    try:
        maybe = MAYBE
    except NameError:
        maybe = -1
    if maybe < -1:
        bad += 1
    if obj.which() not in (1, 2):
        bad += 1
    if len(slots) != 3 or twice(i) != 2 * i:
        bad += 1
    return int(helper(i) * ONE), bad


def worker(n, out, idx):
    obj = K1()
    slots = [1, 2, 3]
    total = 0
    bad = 0
    for i in range(n):
        v, b = work(obj, i, slots)
        total += v
        bad += b
        if i % 64 == 0:
            obj.__class__ = K2 if obj.__class__ is K1 else K1
    out[idx] = (total, bad)


def make_method(k):
    def m(self):
        return k
    return m


def wrapped_len(o):
    return _len(o)


def identity(v):
    return v


def identity_too(v):
    return v + 0


def mutator(stop, last):
    global A, B, ONE, MAYBE, helper
    k = 0
    ones = (1, 1.0, True)
    codes = (twice.__code__, twice_too.__code__)
    while not stop.is_set():
        k += 1
        A = k
        B = k
        K.m = make_method(k)
        K.x = k
        K.y = k
        builtins.STRESS_BUILTIN = k
        ONE = ones[k % 3]
        helper = identity if k % 2 else identity_too
        if k % 5 == 0:
            globals()["STRESS_BUILTIN"] = k
        elif "STRESS_BUILTIN" in globals():
            del globals()["STRESS_BUILTIN"]
        if k % 7 == 0:
            del MAYBE
        else:
            MAYBE = k
        builtins.len = wrapped_len if k % 2 else _len
        twice.__code__ = codes[k % 2]
    builtins.len = _len
    MAYBE = k
    globals().pop("STRESS_BUILTIN", None)
    last.append(k)


def final_values_seen(k):
    obj = K1()
    return A == B == K.x == K.y == obj.m() == STRESS_BUILTIN == k  # noqa: F821


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    warm_up(lambda: worker(200, [None], 0), {"work", "worker"})
    sys.setswitchinterval(1e-6)
    out = [None] * threads
    stop = threading.Event()
    last = []
    m = threading.Thread(target=mutator, args=(stop, last))
    m.start()
    ws = [threading.Thread(target=worker, args=(n, out, i)) for i in range(threads)]
    for w in ws:
        w.start()
    for w in ws:
        w.join()
    stop.set()
    m.join()
    for i, (total, bad) in enumerate(out):
        print("thread", i, "total", total, "bad", bad)
    print("final values seen", final_values_seen(last[0]))


main()
