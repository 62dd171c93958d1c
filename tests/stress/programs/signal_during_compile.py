"""A signal whose Python handler raises, arriving while the program waits for a compile
(`-X jit-threshold=0` compiles a function at its first call and waits for it): CPython
raises the handler's exception in the function being called; it must not be lost.

Each function is made from source text with a fresh constant in it, so that no run finds
it in the code cache and every first call waits for a real compile. The loops end by
themselves after a while, so a lost exception shows as "not interrupted", not as a hang.
"""

import signal
import time


class Stop(Exception):
    pass


def handler(signum, frame):
    raise Stop


SOURCE = """
def spin_{n}(seconds):
    fresh = {fresh}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        fresh += 1
    return "not interrupted"
"""


def fresh_function(n):
    namespace = {"time": time}
    exec(SOURCE.format(n=n, fresh=time.time_ns()), namespace)
    return namespace[f"spin_{n}"]


def main():
    try:
        handler(0, None)  # compiled before any signal
    except Stop:
        pass
    signal.signal(signal.SIGALRM, handler)
    for n in range(1):
        spin = fresh_function(n)
        signal.setitimer(signal.ITIMER_REAL, 0.002)
        try:
            print(n, spin(2))
        except Stop:
            print(n, "interrupted")
        signal.setitimer(signal.ITIMER_REAL, 0)


main()
