"""os.fork() while compiles are under way.

Part one forks from the main thread after the hot functions have run for longer and
longer: before the compile server has started, while it starts, while it compiles, and
after the code is installed. Each child goes on running the same functions (compiling
them itself if need be) and ends, some by os._exit, some by sys.exit (with the
interpreter's exit hooks). Part two forks from another thread while the main thread
calls functions it has never called (under -X jit-threshold=0, each call waits for a
compile). Every child's output comes before its parent's next line, and what is
printed does not depend on how many rounds a timed loop ran.

usage: fork_compiling.py [SCALE]
"""

import os
import sys
import threading
import time

SCALE = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0


def f(x):
    total = 0
    for i in range(x):
        total += i * i
    return total


def g(s):
    return s.upper() + s[::-1]


def h(n):
    return [f(i) for i in range(n)]


def busy(seconds):
    deadline = time.monotonic() + seconds * SCALE
    acc = 0
    rounds = 0
    while rounds < 100 or time.monotonic() < deadline:
        acc = f(30) + len(g("abc")) + sum(h(5))
        rounds += 1
    return acc


def child(tag, how):
    print(tag, "child", busy(0.2), flush=True)
    if how == "exit":
        sys.exit(5)
    os._exit(7)


def part_one():
    for i, delay in enumerate((0.0, 0.03, 0.1, 0.3, 0.6)):
        print("parent", i, busy(delay), flush=True)
        pid = os.fork()
        if pid == 0:
            child(i, "exit" if i % 2 else "_exit")
        _, status = os.waitpid(pid, 0)
        print("child", i, "status", os.waitstatus_to_exitcode(status), flush=True)


SOURCE = """
def fresh_{n}(x):
    t = 0
    for i in range(x):
        t += i * {n}
    return t
"""


def fresh_functions(count):
    namespace = {}
    for n in range(count):
        exec(SOURCE.format(n=n), namespace)
    return [namespace[f"fresh_{n}"] for n in range(count)]


def forker(funcs, go, statuses):
    go.wait()
    for _ in range(3):
        pid = os.fork()
        if pid == 0:
            print("thread's child", sum(fn(10) for fn in funcs[:4]), busy(0.05), flush=True)
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        statuses.append(os.waitstatus_to_exitcode(status))


def part_two():
    funcs = fresh_functions(12)
    go = threading.Event()
    statuses = []
    t = threading.Thread(target=forker, args=(funcs, go, statuses))
    t.start()
    go.set()
    total = 0
    for fn in funcs:
        total += fn(100)
    value = busy(0.1)
    t.join()
    print("main thread", total, value, statuses, flush=True)


part_one()
part_two()
print("parent again", busy(0.1))
