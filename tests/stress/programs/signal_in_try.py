"""A signal handler's exception raised at the back-edge of a compiled loop inside the
loop's own try statement: the function's `except` must catch it, its `finally` must
run, as in CPython.

A watchdog (faulthandler) ends a run whose loop never stops, so that case fails at once
instead of waiting for the test's timeout.
"""

import faulthandler
import signal


class Stop(Exception):
    pass


def handler(signum, frame):
    raise Stop


def with_finally(out, limit):
    i = 0
    try:
        while limit:
            i += 1
    finally:
        out.append("finally ran")


def with_except(out, limit):
    i = 0
    try:
        while limit:
            i += 1
    except Stop:
        out.append("caught inside")


def with_both(out, limit):
    i = 0
    try:
        try:
            while limit:
                i += 1
        except KeyError:
            out.append("wrong handler")
        finally:
            out.append("inner finally ran")
    except Stop:
        out.append("caught by the outer try")


def main():
    for f in (with_finally, with_except, with_both):
        f([], 0)  # compiled now, under -X jit-threshold=0
    signal.signal(signal.SIGALRM, handler)
    faulthandler.dump_traceback_later(3, exit=True)
    for f in (with_finally, with_except, with_both):
        out = []
        signal.setitimer(signal.ITIMER_REAL, 0.005)
        try:
            f(out, 1)
        except Stop:
            out.append("caught outside")
        print(f.__name__, out, flush=True)
    faulthandler.cancel_dump_traceback_later()


main()
