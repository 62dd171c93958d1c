# ruff: noqa (the program's exact form is the point: names, unused bindings)
# Found by fuzz/run.py (seed 7, refcounts unit); reduced by fuzz/reduce.py.
# flags: -X jit-threshold=0
# An `except E as e:` handler that falls through leaked a reference to the raised
# exception's argument in compiled code (fixed in c98e954).
import sys


class O:
    pass


def use(o, k):
    try:
        raise ValueError(o)
    except ValueError as e:
        pass


def use_return(o, k):
    try:
        raise ValueError(o)
    except ValueError as e:
        return k


o = O()
before = sys.getrefcount(o)
for i in range(80):
    use(o, i)
    use_return(o, i)
print('refcount delta', sys.getrefcount(o) - before)
