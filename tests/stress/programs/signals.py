"""Signals arriving while compiled loops run: an interval timer whose handler counts or
raises, SIGUSR1 sent by another thread and by another process, SIGINT becoming
KeyboardInterrupt, and a handler raising out of blocking calls (sleep, lock acquire)
made by compiled code.

Every function is called once before any timer is armed, so under
`-X jit-threshold=0` the signals reach compiled code, not a compile in progress
(signal_during_compile.py is that case). Loops wait for the signals instead of running
a fixed length, so what is printed does not depend on timing.

usage: signals.py [ROUNDS [local]]   (local: no signals from another process)
"""

import os
import signal
import subprocess
import sys
import threading
import time

from _warm import warm_up

hits = 0
#: Set by the function a signal is meant for, on entry: the handlers raise only then, so
#: where the exception appears does not depend on when the timer fires.
ARMED = False


class Stop(Exception):
    pass


def count(signum, frame):
    global hits
    hits += 1


def raiser(signum, frame):
    global ARMED
    if ARMED:
        ARMED = False  # a signal arriving while this one unwinds raises nothing
        raise Stop(signum)


def spin_until(n):
    x = 0
    while hits < n:
        x = (x * 31 + 7) % 1000003
    return x >= 0


def spin_for(limit, arm):
    global ARMED
    ARMED = arm
    total = 0
    i = 0
    while limit:
        total += i % 7
        i += 1
        if i == limit:
            i = 0
    return total


def nested_spin(depth, limit, arm):
    if depth:
        return nested_spin(depth - 1, limit, arm)
    return spin_for(limit, arm)


def sleeper(seconds, arm):
    global ARMED
    ARMED = arm
    time.sleep(seconds)
    return "slept"


def waiter(lock, seconds, arm):
    global ARMED
    ARMED = arm
    lock.acquire(timeout=seconds)
    return "acquired"


def names(tb):
    """The functions a traceback went through, below the one that caught it and down to
    the handler (another signal may have come before the handler disarmed, in CPython as
    well, and run the handler again inside it)."""
    found = []
    while tb is not None and tb.tb_frame.f_code is not raiser.__code__:
        found.append(tb.tb_frame.f_code.co_name)
        tb = tb.tb_next
    return found[1:] + (["raiser"] if tb is not None else [])


def interrupted(call, *args):
    """call(*args, arm=True), with SIGALRM arriving every millisecond: the traceback of
    the exception the handler raises once the call is under way, or None."""
    global ARMED
    signal.setitimer(signal.ITIMER_REAL, 0.001, 0.001)
    try:
        call(*args, True)
    except Stop as e:
        return names(e.__traceback__)
    finally:
        ARMED = False
        signal.setitimer(signal.ITIMER_REAL, 0, 0)


def sender(done, sig):
    while not done.is_set():
        os.kill(os.getpid(), sig)
        time.sleep(0.001)


def interrupter():
    while not ARMED:
        time.sleep(0.001)
    os.kill(os.getpid(), signal.SIGINT)


def prepare():
    global hits
    spin_until(0)
    spin_for(0, False)
    nested_spin(3, 0, False)
    sleeper(0, False)
    waiter(threading.Lock(), 0, False)
    count(signal.SIGALRM, None)
    raiser(signal.SIGALRM, None)
    hits = 0


def round_(r):
    global hits, ARMED
    signal.signal(signal.SIGALRM, count)
    signal.setitimer(signal.ITIMER_REAL, 0.001, 0.001)
    print(r, "timer counted", spin_until(20))
    signal.setitimer(signal.ITIMER_REAL, 0, 0)

    signal.signal(signal.SIGALRM, raiser)
    print(r, "stopped", interrupted(spin_for, 1000))
    print(r, "stopped", interrupted(nested_spin, 5, 1000))
    print(r, "sleep interrupted", interrupted(sleeper, 30))
    lock = threading.Lock()
    lock.acquire()
    print(r, "acquire interrupted", interrupted(waiter, lock, 30))

    hits = 0
    signal.signal(signal.SIGUSR1, count)
    done = threading.Event()
    t = threading.Thread(target=sender, args=(done, signal.SIGUSR1))
    t.start()
    print(r, "SIGUSR1 from a thread", spin_until(20))
    done.set()
    t.join()

    t = threading.Thread(target=interrupter)
    t.start()
    try:
        spin_for(1000, True)
    except KeyboardInterrupt as e:
        print(r, "KeyboardInterrupt", names(e.__traceback__))
    ARMED = False
    t.join()


def from_another_process():
    global hits
    hits = 0
    # The child signals until the parent, having seen enough, closes its stdin.
    child = subprocess.Popen([sys.executable, "-c", (
        "import os, select, signal, sys\n"
        "while not select.select([sys.stdin], [], [], 0.002)[0]:\n"
        "    os.kill(int(sys.argv[1]), signal.SIGUSR1)\n"
    ), str(os.getpid())], stdin=subprocess.PIPE)
    print("SIGUSR1 from a process", spin_until(5))
    child.stdin.close()
    print("child status", child.wait())


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    # A program started with SIGINT ignored (by a shell's background job) would keep it
    # ignored and never see KeyboardInterrupt.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    warm_up(prepare, {"spin_until", "spin_for", "sleeper", "waiter"}, rounds=1)
    for r in range(rounds):
        round_(r)
    if sys.argv[2:] != ["local"]:
        from_another_process()


main()
