# ruff: noqa (the program's exact form is the point: names, unused bindings)
# Found by fuzz/run.py (small seed 0, release unit); reduced by hand from its output.
# flags: -X jit-threshold=0
# The frame of a function that raised, held by the traceback, must be freed (and its
# locals with it) when the handler that caught the exception ends, before `after`.
import gc

gc.disable()


class D:
    def __init__(self, name):
        self.name = name

    def __del__(self):
        print('  del', self.name)


def raiser(k):
    d = D('raiser' + k)
    raise ValueError(k)


def rel(k):
    try:
        raiser(k)
    except ValueError as e:
        print('  handler', e)
    print('  after', k)
    return k


for i in range(3):
    print(rel(str(i)))
