"""Objects are freed when their last reference goes, as in CPython, not later by the
cycle collector: a local of a function an exception left, once the exception is
handled, in compiled code. `__del__` prints, so a late free shows in the output's order.

The collector is off, so that nothing is freed by chance of a collection.
"""

import gc

from _warm import warm_up

QUIET = False


class Noisy:
    def __init__(self, name):
        self.name = name

    def __del__(self):
        if not QUIET:
            print("  freed", self.name)


def raises(name):
    held = Noisy(name)  # noqa: F841 - freed with the frame the traceback keeps
    raise ValueError(name)


def memory(name):
    held = Noisy(name)  # noqa: F841
    x = [held]
    x *= 2**62


def catch_plain(f, name):
    try:
        f(name)
    except Exception:
        pass


def catch_as(f, name):
    try:
        f(name)
    except Exception as e:
        e = e


def catch_as_return(f, name):
    try:
        f(name)
    except Exception as e:
        return type(e).__name__


def catch_finally(f, name):
    try:
        try:
            f(name)
        finally:
            pass
    except Exception:
        pass


CATCHERS = (catch_plain, catch_as, catch_as_return, catch_finally)


def quietly():
    for catch in CATCHERS:
        for f in (raises, memory):
            catch(f, "warm-up")


def main():
    global QUIET
    QUIET = True
    warm_up(quietly, {c.__name__ for c in CATCHERS} | {"raises", "memory"}, rounds=1)
    QUIET = False
    gc.collect()
    gc.disable()
    for catch in CATCHERS:
        for f in (raises, memory):
            for i in range(2):  # a first call may run before the compiled code is in
                name = f"{catch.__name__}/{f.__name__}/{i}"
                catch(f, name)
                print("after", name)
    print("collecting")
    gc.collect()
    print("end")


main()
