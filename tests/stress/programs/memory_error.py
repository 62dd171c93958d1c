"""MemoryError raised inside compiled code: allocations the interpreter refuses at once
(sizes past what the address space can hold: nothing is ever touched), the same through
a try/finally, MemoryError raised by the program itself, caught, uncaught, and with the
traceback printed by the traceback module and by the interpreter. No reference to the
objects involved may be left behind once the errors are gone.

usage: memory_error.py [ROUNDS]
"""

import gc
import sys
import traceback

from _warm import warm_up

HUGE = (2**62, 2**50)


class Sentinel:
    pass


S = Sentinel()


def list_repeat(n):
    return [S] * n


def list_inplace_repeat(n):
    x = [S]
    x *= n
    return x


def tuple_repeat(n):
    return (S, 1) * n


def bytearray_alloc(n):
    return bytearray(n)


def bytes_alloc(n):
    return bytes(n)


def str_repeat(n):
    return "a" * n


def pair_repeat(n):
    return "ab" * n  # 2**62 of them: OverflowError, not MemoryError


def list_of_range(n):
    return list(range(n))


def user_raise(n):
    raise MemoryError(n)


def user_raise_bare(n):
    raise MemoryError


def with_finally(n, f):
    items = [S, S]
    try:
        return f(n)
    finally:
        items.append(S)


def with_handler(n, f):
    try:
        return f(n)
    except MemoryError:
        return "handled inside"


def outcome(f, n):
    try:
        f(n)
    except (MemoryError, OverflowError) as e:
        return f"{type(e).__name__}{e.args!r}"
    return "no error"


ALLOCATORS = (list_repeat, list_inplace_repeat, tuple_repeat, bytearray_alloc, bytes_alloc,
              str_repeat, pair_repeat, list_of_range, user_raise, user_raise_bare)


def one_round():
    lines = []
    for f in ALLOCATORS:
        for n in HUGE:
            lines.append((f.__name__, n, outcome(f, n),
                          outcome(lambda n, f=f: with_finally(n, f), n),
                          outcome(lambda n, f=f: with_handler(n, f), n)))
    return lines


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    # At the defaults the allocators, small functions, are compiled only once their
    # callers are (and not always then): the warm-up waits for the callers.
    warm_up(one_round, {"with_finally", "outcome"}, rounds=1)
    gc.collect()
    before = sys.getrefcount(S)
    for _ in range(rounds):
        lines = one_round()
    for line in lines:
        print(*line)
    del lines
    gc.collect()
    print("references left", sys.getrefcount(S) - before)
    for f in (list_repeat, str_repeat, user_raise, pair_repeat):
        try:
            with_finally(2**62, f)
        except (MemoryError, OverflowError):
            traceback.print_exc()
    with_finally(2**62, bytearray_alloc)


main()
