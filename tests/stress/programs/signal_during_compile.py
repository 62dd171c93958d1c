"""A signal whose Python handler raises, arriving while the program waits for a compile
(`-X jit-threshold=0` compiles a function at its first call and waits for it): CPython
raises the handler's exception in the function being called; it must not be lost. Then
Ctrl-C (SIGINT, from another process) during the compile of a bigger function, which
takes LLVM seconds: KeyboardInterrupt, before the loop ends by itself.

Each function is made from source text with a fresh constant in it, so that no run finds
it in the code cache and every first call waits for a real compile. The loops end by
themselves after a while, so a lost exception shows as "not interrupted", not as a hang.
"""

import os
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


BIG = SOURCE.replace('    return "not interrupted"', "".join(
    f"    fresh = (fresh * {i} + {i}) % 1000003\n" for i in range(200))
    + '    return "not interrupted"')


def fresh_function(n, source=SOURCE):
    namespace = {"time": time}
    exec(source.format(n=n, fresh=time.time_ns()), namespace)
    return namespace[f"spin_{n}"]


def ctrl_c(n):
    spin = fresh_function(n, BIG)
    # posix_spawn, not subprocess: its Python functions would be compiled first.
    pid = os.posix_spawn("/bin/sh", ["sh", "-c", f"sleep 0.05; kill -INT {os.getpid()}"],
                         os.environ)
    try:
        print(n, spin(3))
    except KeyboardInterrupt:
        print(n, "interrupted")
    os.waitpid(pid, 0)


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
    ctrl_c(1)


main()
