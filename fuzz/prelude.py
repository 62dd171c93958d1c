"""The start of every generated program: helpers that print values and exceptions
deterministically, and the classes the units share.

The helpers are compiled too (they are the hottest functions of every program), so they
avoid the patterns whose divergences are already known, such as a `return` inside
`except E as e:`; otherwise every program would diverge in its helpers and hide the rest.
Nothing printed depends on addresses (`_scrub` masks ` at 0x...`), on hashes of objects
without a fixed hash, or on the order of sets (`_r` sorts them). The cycle collector is
off: when an object is freed is then a matter of reference counts alone, the same in
every run, where a collection would come at a point that depends on how much the process
allocated (Ember's own loading of code included). An object that Ember leaks into a
cycle stays unfreed, visibly.
"""

PRELUDE = '''\
import gc
import sys
import weakref

gc.disable()


def _scrub(s):
    i = s.find(' at 0x')
    while i >= 0:
        j = i + 6
        while j < len(s) and s[j] in '0123456789abcdef':
            j += 1
        s = s[:i] + ' at 0x?' + s[j:]
        i = s.find(' at 0x', i + 7)
    return s


def _e(e):
    s = type(e).__name__ + ': ' + _scrub(str(e))[:160]
    if isinstance(e, BaseExceptionGroup):
        s += ' [' + ', '.join([_e(x) for x in e.exceptions]) + ']'
    if e.__cause__ is not None:
        s += ' <from ' + type(e.__cause__).__name__ + '>'
    elif e.__context__ is not None and not e.__suppress_context__:
        s += ' <during ' + type(e.__context__).__name__ + '>'
    return s


def _r(x):
    t = type(x)
    if t is int and not -2**256 < x < 2**256:
        return '<int ' + str(x.bit_length()) + ' bits, ' + str(x % 1000000007) + '>'
    if t is set or t is frozenset:
        return t.__name__ + repr(sorted([_r(v) for v in x]))
    try:
        s = repr(x)
    except Exception as e:
        s = '<repr: ' + _e(e) + '>'
    if len(s) > 240:
        s = s[:100] + '...(' + str(len(s)) + ')...' + s[-100:]
    return _scrub(s)


def _call(f, *args, **kwargs):
    try:
        r = f(*args, **kwargs)
    except Exception as e:
        s = '!' + _e(e)
    else:
        s = _r(r)
    return s


def _show(tag, f, *args, **kwargs):
    print(tag, _call(f, *args, **kwargs))


def _lines(tag, results):
    for i in range(0, len(results), 8):
        print(tag, i, ' '.join(results[i:i + 8]))


def _with(t):
    with _CM(t, 'touch', False):
        t.append(0)
    return t


class _CM:
    def __init__(self, t, name, swallow):
        self.t = t
        self.name = name
        self.swallow = swallow

    def __enter__(self):
        self.t.append('>' + self.name)
        return self.name

    def __exit__(self, et, ev, tb):
        self.t.append('<' + self.name + ('' if et is None else ':' + et.__name__))
        return self.swallow


class D:
    live = 0
    quiet = False

    def __init__(self, name):
        self.name = name
        D.live += 1

    def __repr__(self):
        return 'D(' + repr(self.name) + ')'

    def __del__(self):
        cls = self.__class__
        if not cls.quiet:
            D.live -= 1
            print('  del', self.name)


class N:
    __slots__ = ('v',)

    def __init__(self, v):
        self.v = v

    def __repr__(self):
        return 'N(' + repr(self.v) + ')'

    def __add__(self, o):
        if type(o) is N:
            return N(self.v + o.v)
        if type(o) is int:
            return N(self.v + o)
        return NotImplemented

    def __radd__(self, o):
        return N(o + self.v) if type(o) is int else NotImplemented

    def __sub__(self, o):
        return N(self.v - o.v) if type(o) is N else NotImplemented

    def __mul__(self, o):
        return N(self.v * o) if type(o) in (int, float) else NotImplemented

    __rmul__ = __mul__

    def __neg__(self):
        return N(-self.v)

    def __eq__(self, o):
        return self.v == o.v if type(o) is N else NotImplemented

    def __lt__(self, o):
        return self.v < o if type(o) in (int, float) else NotImplemented

    __hash__ = None

    def __bool__(self):
        return self.v != 0

    def __index__(self):
        return int(self.v)


class Big(int):
    def __repr__(self):
        return 'Big(' + str(int(self)) + ')'

    def __add__(self, o):
        return Big(int(self) + o) if isinstance(o, int) else NotImplemented

    def __lt__(self, o):
        return int(self) > o if isinstance(o, int) else NotImplemented


class Idx:
    def __init__(self, i):
        self.i = i

    def __repr__(self):
        return 'Idx(' + repr(self.i) + ')'

    def __index__(self):
        return self.i
'''

#: For each class of the prelude a program uses, a line that calls each of its methods:
#: a method no call reaches is a function defined and never compiled.
TOUCH = {
    "N": "print('N', N(1) + N(2), 1 + N(2), N(3) - N(1), N(2) * 3, 2.5 * N(2), -N(1), "
         "N(1) == N(1), N(1) < 2, bool(N(0)), [1, 2, 3][N(1)], _call(lambda: N(1) + 2.5))",
    "Big": "print('Big', Big(1) + 1, Big(1) < 0, Big(2))",
    "Idx": "print('Idx', [1, 2, 3][Idx(1)], Idx(2))",
    "D": "print('D', D('touch'))",
    "_CM": "print('_CM', _with([]))",
}

#: What the end of every program does: no `__del__` prints during interpreter shutdown
#: (whose order is CPython's module teardown, not the program's), but the count of live
#: D objects first, which shows a leak.
EPILOGUE = '''\
print('live D objects at exit:', D.live)
D.quiet = True
'''
