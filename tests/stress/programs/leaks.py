"""No leak: the core of each stress scenario, run in a loop, leaves the number of objects
the cycle collector tracks, the references to a sentinel and the memory tracemalloc sees
where they were (after a collection: objects freed late, by the collector rather than
by their reference count, are freed_at_once.py's subject).

A scenario is run a few times first (under Ember that is when its functions are
compiled and the runtime's one-time work happens), then measured over more rounds.

usage: leaks.py [ROUNDS]
"""

import gc
import os
import signal
import sys
import threading
import tracemalloc

from _warm import warm_up


class Sentinel:
    pass


S = Sentinel()
G = 0


class Stop(Exception):
    pass


class K:
    attr = 0


def work(i, box):
    box.append(S)
    box.pop()
    return G + K.attr + i


def worker(n):
    total = 0
    box = []
    for i in range(n):
        total += work(i, box)
    return total


def mutator(stop):
    global G
    k = 0
    while not stop.is_set():
        k += 1
        G = k % 3
        K.attr = k % 5


def threads_core():
    stop = threading.Event()
    m = threading.Thread(target=mutator, args=(stop,))
    m.start()
    ws = [threading.Thread(target=worker, args=(300,)) for _ in range(4)]
    for w in ws:
        w.start()
    for w in ws:
        w.join()
    stop.set()
    m.join()


ARMED = False


def raiser(signum, frame):
    global ARMED
    if ARMED:
        ARMED = False
        raise Stop


def spin(held):
    global ARMED
    ARMED = True
    items = [held, held]
    while ARMED:
        items.append(held)
        items.pop()


def signals_core():
    signal.setitimer(signal.ITIMER_REAL, 0.0005, 0.0005)
    try:
        spin(S)
    except Stop:
        pass
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0, 0)


def depth(n, held):
    try:
        return depth(n + 1, held)
    except RecursionError:
        return n


def recursion_core():
    depth(0, S)


def allocate(n, held):
    keep = [held]
    return keep * n


def memory_core():
    for n in (2**62, 2**50):
        try:
            allocate(n, S)
        except MemoryError:
            pass


def fork_core():
    pid = os.fork()
    if pid == 0:
        os._exit(worker(10) % 7)
    os.waitpid(pid, 0)


def collect():
    # Twice: a collection untracks a tuple of atoms only once the tuples in it are
    # untracked, which can take a second pass, depending on the collector's list order.
    gc.collect()
    gc.collect()


def measure(core, rounds, warm=3):
    for _ in range(warm):
        core()
    return window(core, rounds)


def window(core, rounds):
    collect()
    objects = len(gc.get_objects())
    refs = sys.getrefcount(S)
    tracemalloc.start()
    try:
        core()
        collect()
        memory, _ = tracemalloc.get_traced_memory()
        for _ in range(rounds):
            core()
        collect()
        grown = tracemalloc.get_traced_memory()[0] - memory
    finally:
        tracemalloc.stop()
    # tracemalloc's own bookkeeping of the places it saw moves a little.
    return (len(gc.get_objects()) - objects, sys.getrefcount(S) - refs,
            "memory grew" if grown > 64 * 1024 else "memory level")


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    signal.signal(signal.SIGALRM, raiser)
    warm_up(lambda: (worker(100), recursion_core(), memory_core(), raiser(0, None)),
            {"work", "worker", "depth", "allocate", "memory_core"}, rounds=1)
    for core in (threads_core, signals_core, recursion_core, memory_core):
        print(core.__name__, *measure(core, rounds), flush=True)
    # Fewer: under -X jit-threshold=0 each child compiles the interpreter's after-fork
    # hooks, with a compile server of its own.
    print("fork_core", *measure(fork_core, max(2, rounds // 10), warm=1), flush=True)


main()
