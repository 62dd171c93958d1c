"""os.fork() from another thread while the main thread waits for compiles (issue 24).

Under `-X jit-threshold=0` the main thread calls functions it has never called, made
from source text with a fresh constant in it (no run finds them in the code cache), so
each call waits for a compile; meanwhile another thread forks again and again, and each
child leaves with os._exit (the first three write a line). The fork's hooks once stopped Ember's reply
thread while the main thread stopped it too: both joined it, and one run in four hung for
good in the second join. Each round is such a run; the output depends on nothing timed. The thread
is a bare _thread one: `threading` would run Python code in each child (its at-fork hook),
which under -X jit-threshold=0 would start a compile server there.

usage: fork_from_thread.py [ROUNDS]
"""

import _thread
import os
import sys
import time

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 1

SOURCE = """
def fresh_{n}(x):
    fresh = {fresh}
    t = fresh - fresh
    for i in range(x):
        t += i * {n}
    return t
"""


def fresh_functions(count):
    namespace = {}
    for n in range(count):
        exec(SOURCE.format(n=n, fresh=time.time_ns()), namespace)
    return [namespace[f"fresh_{n}"] for n in range(count)]


def forker(go, done, main_done, statuses):
    go.acquire()
    # Forks all the while the main thread compiles: its waits start and stop Ember's
    # reply thread, as the fork's hooks do.
    while not main_done or len(statuses) < 3:
        pid = os.fork()
        if pid == 0:
            # Nothing the child would compile (under -X jit-threshold=0 it would start a
            # compile server of its own): fork_compiling.py has children that do.
            if len(statuses) < 3:
                os.write(1, b"thread's child %d\n" % len(statuses))
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        statuses.append(os.waitstatus_to_exitcode(status))
    done.release()


def one_round(count):
    funcs = fresh_functions(count)
    go, done = _thread.allocate_lock(), _thread.allocate_lock()
    go.acquire()
    done.acquire()
    main_done, statuses = [], []
    _thread.start_new_thread(forker, (go, done, main_done, statuses))
    go.release()
    total = 0
    for fn in funcs:
        total += fn(100)
    main_done.append(True)
    done.acquire()
    print("main thread", total, set(statuses), flush=True)


for _ in range(ROUNDS):
    one_round(8)
