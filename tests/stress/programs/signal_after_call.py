"""Where a signal handler's exception is raised in compiled code. At a loop's back-edge
it goes to the handler that covers the loop's head (CPython unwinds from the unit
before its jump target), so the loop's own try sees it.

A signal that arrives while a C function runs is handled right after the call, as
CPython's CALL and CALL_FUNCTION_EX end with CHECK_EVAL_BREAKER when the callee did not
run in the interpreter's loop: the handler's exception is raised at the call (its line,
the call's own `try`), and the code after the call does not run. A Python callee gets no
such check on return (CPython runs it inline), so there the exception comes from the
callee's own checks.
"""

import signal
import traceback


class Stop(Exception):
    pass


def handler(signum, frame):
    raise Stop


def c_call(n, delay):
    signal.setitimer(signal.ITIMER_REAL, delay)
    x = sum(range(n))
    print("after the call", x > 0)
    return x


def c_call_ex(n, delay):
    signal.setitimer(signal.ITIMER_REAL, delay)
    x = sum(*[range(n)])
    print("after the call", x > 0)


def c_call_in_try(n, delay):
    signal.setitimer(signal.ITIMER_REAL, delay)
    try:
        sum(range(n))
        print("not here")
    except Stop:
        print("caught at the call")


def busy(n):
    total = 0
    for i in range(n):
        total += i
    return total


def py_call(n, delay):
    signal.setitimer(signal.ITIMER_REAL, delay)
    busy(n)
    print("not here either")


def loop_in_try_finally(out, limit, delay):
    signal.setitimer(signal.ITIMER_REAL, delay)
    i = 0
    try:
        while limit:
            i += 1
    finally:
        out.append("finally ran")


def loop_in_try_except(out, limit, delay):
    signal.setitimer(signal.ITIMER_REAL, delay)
    i = 0
    try:
        while limit:
            i += 1
    except Stop:
        out.append("caught inside")


def main():
    for f in (c_call, c_call_ex, c_call_in_try, py_call):
        f(10, 0)  # compiled now, under -X jit-threshold=0; no timer
    for f in (loop_in_try_finally, loop_in_try_except):
        f([], 0, 0)
    try:
        handler(0, None)  # compiled before the first signal
    except Stop:
        pass
    signal.signal(signal.SIGALRM, handler)
    for f in (loop_in_try_finally, loop_in_try_except):
        out = []
        try:
            f(out, 1, 0.02)
        except Stop:
            out.append("caught outside")
        print(f.__name__, out)
    for f in (c_call, c_call_ex, c_call_in_try, py_call):
        try:
            f(30_000_000, 0.02)
        except Stop:
            print(f.__name__, "stopped:")
            traceback.print_exc()


main()
