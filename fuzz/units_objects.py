"""Units of classes: `__slots__`, properties, `__getattr__`, operators returning
NotImplemented (and the reflected and in-place fallbacks), subclasses of builtins that
reach a JIT's int, float, list and dict fast paths, and the protocol methods whose
results CPython checks (`__bool__`, `__len__`, `__index__`).
"""

from __future__ import annotations

import random

from fuzz.unit import WARM, Unit, fill, pick, sample_lines, tries


def slots(rng: random.Random) -> Unit:
    sub_slots = pick(rng, "__slots__ = ('z',)", "__slots__ = ()", "pass", "z = 'class z'")
    code = fill("""
        class P_P:
            __slots__ = ('x', 'y')

            def __init__(self, x, y):
                self.x = x
                self.y = y

            def __repr__(self):
                return 'P_P(' + repr(self.x) + ', ' + repr(self.y) + ')'

            def norm(self):
                return self.x * self.x + self.y * self.y


        class P_Q(P_P):
            @sub@


        def P_f(p, k):
            t = []
            p.x = p.x + k
            t.append(p.norm())
            @tries@
            if k % 7 == 3:
                del p.y
                try:
                    t.append(p.y)
                except AttributeError as e:
                    t.append(_e(e))
                p.y = k
            return t
    """, sub=sub_slots, tries=tries(rng.sample(
        ["setattr(p, 'w', 1)", "p.z", "p.__dict__", "type(p).__slots__",
         "p.x.bit_length()", "P_P.x.__get__(p)", "vars(p)"], 3)))
    run = fill("""
        p = P_P(1, 2)
        q = P_Q(3, 4)
        _lines('P_f', [_call(P_f, p if i % 2 else q, i) for i in range(@warm@)])
        for k in (2**63, 1.5, 'x', None):
            _show('P_f', P_f, P_P(1, 2), k)
        print('P_ slots', p, q)
    """, warm=WARM)
    return Unit("slots", code, run)


def properties(rng: random.Random) -> Unit:
    code = fill("""
        class P_T:
            def __init__(self, v):
                self._v = v
                self.gets = 0

            @property
            def v(self):
                self.gets += 1
                return self._v

            @v.setter
            def v(self, val):
                if val is None:
                    raise ValueError('v is None')
                self._v = val

            @v.deleter
            def v(self):
                self._v = @reset@

            @property
            def ro(self):
                return self._v * 2


        def P_f(o, k):
            o.v = o.v + k
            r = [o.v, o.ro, o.gets]
            try:
                o.ro = 1
            except AttributeError as e:
                r.append(_e(e))
            if k % 5 == 0:
                del o.v
            return r
    """, reset=pick(rng, "0", "2**63", "-1.5"))
    run = fill("""
        o = P_T(0)
        _lines('P_f', [_call(P_f, o, i) for i in range(@warm@)])
        for k in (2**62, 0.5, None, 'x', True):
            _show('P_f', P_f, P_T(1), k)
        P_T.v = property(lambda self: 'replaced')
        _show('P_f replaced', P_f, o, 1)
    """, warm=WARM)
    return Unit("properties", code, run)


def getattr_hooks(rng: random.Random) -> Unit:
    code = fill("""
        class P_G:
            def __init__(self):
                self.real = 1

            def __getattr__(self, name):
                if name.startswith('v'):
                    return len(name)
                raise AttributeError('no ' + name)


        class P_H(P_G):
            def __getattribute__(self, name):
                if name == 'secret':
                    return 'hidden'
                return super().__getattribute__(name)


        def P_f(o, k):
            t = [o.real + o.vvv, getattr(o, 'v' * (k % 4 + 1)), hasattr(o, 'zz'),
                 getattr(o, 'zz', k)]
            try:
                t.append(o.missing)
            except AttributeError as e:
                t.append(_e(e))
            t.append(o.secret if isinstance(o, P_H) else None)
            return t
    """)
    run = fill("""
        g, h = P_G(), P_H()
        _lines('P_f', [_call(P_f, g if i % 3 else h, i) for i in range(@warm@)])
        P_G.vvv = 'class attribute'
        _show('P_f class attr', P_f, g, 1)
        h.real = 'instance'
        _show('P_f instance', P_f, h, 2)
        del P_G.vvv
        _show('P_f deleted', P_f, g, 3)
        _show('P_f', P_f, None, 0)
    """, warm=WARM)
    return Unit("getattr", code, run)


def operators(rng: random.Random) -> Unit:
    ops = ["a + b", "b + a", "a == b", "a != b", "a < b", "b <= a", "a * 2", "-a",
           "a[2]", "3 in a", "a(5)", "bool(a)", "a - b", "a @ b", "a += b", "abs(a)"]
    exprs = rng.sample(ops, rng.randint(12, len(ops)))
    body = []
    for e in exprs:
        if e == "a += b":
            body.append("try:\n    c = a\n    c += b\n    t.append(c)\n"
                        "except TypeError as e:\n    t.append(_e(e))")
        else:
            body.append(tries([e]))
    radd = pick(rng, "return NotImplemented", "return P_V(o + self.x)",
                "return 'V.radd'")
    code = fill("""
        class P_V:
            def __init__(self, x):
                self.x = x

            def __repr__(self):
                return 'P_V(' + repr(self.x) + ')'

            def __add__(self, o):
                if isinstance(o, P_V):
                    return P_V(self.x + o.x)
                if isinstance(o, int):
                    return P_V(self.x + o)
                return NotImplemented

            def __radd__(self, o):
                @radd@

            def __sub__(self, o):
                return NotImplemented

            def __mul__(self, o):
                return P_V(self.x * o) if type(o) is int else NotImplemented

            def __neg__(self):
                return P_V(-self.x)

            def __eq__(self, o):
                return self.x == o.x if isinstance(o, P_V) else NotImplemented

            def __lt__(self, o):
                return self.x < o.x if isinstance(o, P_V) else NotImplemented

            def __le__(self, o):
                return NotImplemented

            __hash__ = None

            def __getitem__(self, i):
                return self.x * i

            def __contains__(self, v):
                return v == self.x

            def __call__(self, v):
                return ('called', v, self.x)

            def __bool__(self):
                return self.x != 0


        class P_W(P_V):
            def __radd__(self, o):
                return 'W.radd'

            def __eq__(self, o):
                return 'W.eq'


        def P_f(a, b):
            t = []
            @body@
            return t
    """, radd=radd, body="\n".join(body))
    run = fill("""
        _lines('P_f', [_call(P_f, P_V(i), P_V(1)) for i in range(@warm@)])
        for a, b in ((P_V(1), 2), (2, P_V(1)), (P_V(1), 'x'), (P_W(2), P_V(3)),
                     (P_V(3), P_W(2)), (N(1), P_V(2)), (1.5, P_V(1)), (P_V(2**63), 1),
                     (1, 2), (P_V(0), None)):
            _show('P_f', P_f, a, b)
    """, warm=WARM)
    return Unit("operators", code, run)


def builtin_subclasses(rng: random.Random) -> Unit:
    code = fill("""
        class P_I(int):
            def __add__(self, o):
                return P_I(int(self) + int(o) + 1000)

            def __lt__(self, o):
                return 'I.lt'

            def __repr__(self):
                return 'P_I(' + str(int(self)) + ')'


        class P_F(float):
            def __mul__(self, o):
                return 'F.mul'


        class P_S(str):
            def __eq__(self, o):
                return True

            __hash__ = str.__hash__


        class P_L(list):
            def __getitem__(self, i):
                return ('L', super().__getitem__(i))

            def __len__(self):
                return 99


        class P_T(tuple):
            def __getitem__(self, i):
                return 'T[' + repr(i) + ']'


        class P_Dd(dict):
            def __missing__(self, k):
                return ('missing', k)


        def P_num(a, b):
            return a + b, a * 2, b * a, a < b, a == b, a - b, a // 1, -a


        def P_seq(s, i):
            return s[i], len(s), s[-1], s[i:], s[::-1]


        def P_map(d, k):
            return d[k], k in d, d.get(k, 'default')
    """)
    run = fill("""
        _lines('P_num', [_call(P_num, i, i + 1) for i in range(@warm@)])
        _lines('P_num f', [_call(P_num, i * 0.5, 1.5) for i in range(@warm@)])
        for a, b in ((P_I(5), 1), (1, P_I(5)), (P_F(1.5), 2.0), (2.0, P_F(1.5)),
                     (Big(3), 4), (4, Big(3)), (P_I(2**63), P_I(1)), (True, P_I(1))):
            _show('P_num', P_num, a, b)
        _lines('P_seq', [_call(P_seq, [1, 2, 3], i % 3) for i in range(@warm@)])
        _lines('P_seq t', [_call(P_seq, (1, 2, 3), i % 3) for i in range(@warm@)])
        for s, i in ((P_L([1, 2, 3]), 1), (P_T((4, 5)), 0), (P_S('abc'), 1), ('xyz', -1)):
            _show('P_seq', P_seq, s, i)
        _lines('P_map', [_call(P_map, {'a': i}, 'a') for i in range(@warm@)])
        for d, k in ((P_Dd(a=1), 'b'), (P_Dd(a=1), 'a'), ({P_S('q'): 1}, 'q'),
                     ({'q': 1}, P_S('zz')), ({}, 'zz'), ({1: 1}, True), ({1.0: 'f'}, 1)):
            _show('P_map', P_map, d, k)
    """, warm=WARM)
    return Unit("builtin_subclasses", code, run)


def protocols(rng: random.Random) -> Unit:
    """Protocol methods whose results CPython checks, plus MRO, super and descriptors."""
    checks = [
        "bool(P_Bad(k))", "len(P_Bad(k))", "[1, 2, 3][P_Bad(k)]", "range(P_Bad(k))",
        "P_Bad(k) == 1", "hash(P_Bad(k))", "P_C().who()", "P_C.cm()", "P_C.sm(k)",
        "P_Desc.log[-3:]", "P_C().d", "P_C().nd", "str(P_Bad(k))", "int(P_Bad(k))",
        "P_C().__class__.__name__", "P_C.count",
    ]
    code = fill("""
        class P_Bad:
            def __init__(self, k):
                self.k = k

            def __bool__(self):
                return self.k if self.k % 3 else bool(self.k)

            def __len__(self):
                return self.k - 5

            def __index__(self):
                return self.k if self.k % 4 else str(self.k)

            def __eq__(self, o):
                if self.k % 5 == 0:
                    raise KeyError('eq ' + str(self.k))
                return self.k == o

            def __hash__(self):
                return self.k % 7 if self.k % 2 else 'h'

            def __str__(self):
                return 'Bad' + str(self.k) if self.k % 6 else self.k

            def __int__(self):
                return self.k * 2 if self.k % 2 else 1.5


        class P_Desc:
            log = []

            def __set_name__(self, owner, name):
                self.name = name

            def __get__(self, obj, typ=None):
                P_Desc.log.append(self.name)
                return 'desc ' + self.name

            def __set__(self, obj, value):
                P_Desc.log.append('set')


        class P_ND:
            def __get__(self, obj, typ=None):
                return 'non-data'


        class P_A:
            count = 0

            def who(self):
                return 'A'

            def __init_subclass__(cls, **kw):
                P_A.count += 1


        class P_B(P_A):
            def who(self):
                return 'B' + super().who()


        class P_C(P_B, P_A):
            d = P_Desc()
            nd = P_ND()

            def __init__(self):
                self.nd = 'instance wins'
                self.d = 'descriptor wins'

            def who(self):
                return 'C' + super().who()

            @classmethod
            def cm(cls):
                return cls.__name__

            @staticmethod
            def sm(k):
                return k * 2


        def P_f(k):
            t = []
            @tries@
            return t
    """, tries=tries(rng.sample(checks, len(checks))))
    run = fill("""
        _lines('P_f', [_call(P_f, i) for i in range(@warm@)])
    """, warm=WARM)
    return Unit("protocols", code, run)


def methods(rng: random.Random) -> Unit:
    """Method calls in a hot loop over instances of several classes (a polymorphic
    call site), with bound methods kept, and a method added to an instance."""
    lines = [
        "t.append(o.area())",
        "m = o.area\nt.append(m())",
        "t.append(type(o).area(o))",
        "t.append(o.scale(k).area())",
        "t.append(getattr(o, 'area')())",
        "t.append(o.name)",
    ]
    code = fill("""
        class P_Sq:
            name = 'square'

            def __init__(self, s):
                self.s = s

            def area(self):
                return self.s * self.s

            def scale(self, k):
                return P_Sq(self.s * k)


        class P_Re(P_Sq):
            name = 'rect'

            def __init__(self, s, w):
                super().__init__(s)
                self.w = w

            def area(self):
                return self.s * self.w


        def P_f(o, k):
            t = []
            @lines@
            return t
    """, lines=sample_lines(rng, lines, 3, 6))
    run = fill("""
        objs = [P_Sq(2), P_Re(2, 3)]
        _lines('P_f', [_call(P_f, objs[i % @poly@], i) for i in range(@warm@)])
        o = P_Sq(5)
        o.area = lambda: 'instance method'
        _show('P_f', P_f, o, 2)
        _show('P_f', P_f, P_Re(2**62, 4), 2**62)
        _show('P_f', P_f, P_Sq(1.5), 'x')
    """, warm=WARM, poly=pick(rng, 1, 2))
    return Unit("methods", code, run)
