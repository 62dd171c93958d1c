"""Units where the program changes under compiled code, and where the order of releases
shows: globals, builtins, class attributes, methods and function attributes rebound while
a hot loop runs; `__del__` and weakref callbacks that print when an object is freed; and
`sys.getrefcount` deltas across a loop, which show a leaked or over-released reference.
"""

from __future__ import annotations

import random

from fuzz.unit import WARM, Unit, fill, pick

#: Rebindings: (what the hot step reads, the statement that changes it, the statement
#: that puts it back). Builtins are ones the prelude's helpers do not call, so a rebound
#: builtin changes what the unit prints and nothing else.
REBINDINGS = [
    ("P_K * i", "P_K = @value@", "P_K = 10"),
    ("P_K * i", "del P_K", "P_K = 10"),
    ("P_helper(i)", "P_helper = P_other", "P_helper = P_orig"),
    ("P_helper(i)", "P_helper = lambda x: ('lambda', x)", "P_helper = P_orig"),
    ("P_helper(i)", "P_orig.__code__ = P_other.__code__", "P_orig.__code__ = P_code"),
    ("P_helper(i)", "P_orig.__defaults__ = (@value@,)", "P_orig.__defaults__ = (1,)"),
    ("abs(i - 60)", "builtins.abs = lambda v: ('abs', v)", "builtins.abs = P_abs"),
    ("min(i, 99)", "builtins.min = max", "builtins.min = P_min"),
    ("min(i, 99)", "globals()['min'] = lambda *a: 'shadow'", "del globals()['min']"),
    ("P_C.attr", "P_C.attr = @value@", "P_C.attr = 1"),
    ("P_C.attr", "del P_C.attr", "P_C.attr = 1"),
    ("P_obj.attr", "P_obj.attr = 'instance'", "del P_obj.attr"),
    ("P_obj.m()", "P_C.m = lambda self: 'new m'", "P_C.m = P_m"),
    ("P_obj.m()", "P_Base.m = lambda self: 'base m'", "P_Base.m = P_bm"),
    ("P_obj.m()", "P_obj.m = lambda: 'instance m'", "del P_obj.m"),
    ("P_obj.inherited", "P_Base.inherited = @value@", "P_Base.inherited = 'base'"),
    ("P_obj.missing", "P_C.__getattr__ = lambda self, n: 'getattr ' + n",
     "del P_C.__getattr__"),
    ("P_obj.x", "P_obj.__class__ = P_C2", "P_obj.__class__ = P_C"),
    ("P_seq[i % 3]", "P_seq = (7, 8, 9)", "P_seq = [1, 2, 3]"),
    ("P_seq[i % 3]", "P_seq[1] = @value@", "P_seq = [1, 2, 3]"),
    ("P_counter()", "P_N = 2**62 - 1", "P_N = 0"),
]

VALUES = ("2.5", "'s'", "2**63", "-1", "None", "N(4)", "Big(2)")


def rebinding(rng: random.Random) -> Unit:
    chosen = rng.sample(REBINDINGS, rng.randint(2, 5))
    reads = sorted({r for r, _, _ in chosen})
    events, restores = [], []
    for _read, change, restore in chosen:
        at = rng.randint(52, 110)
        change = change.replace("@value@", rng.choice(VALUES))
        events.append(f"if i == {at}:\n    {change}")
        if rng.random() < 0.3:
            events.append(f"if i == {min(at + rng.randint(1, 8), 119)}:\n    {restore}")
        restores.append(f"try:\n    {restore}\nexcept (AttributeError, KeyError, NameError):\n"
                        "    pass")
    step_body = "\n".join(f"t.append(_call(lambda: {r}))" if rng.random() < 0.2 else
                          f"try:\n    t.append({r})\nexcept Exception as e:\n"
                          f"    t.append(_e(e))" for r in reads)
    code = fill("""
        import builtins

        P_K = 10
        P_N = 0
        P_seq = [1, 2, 3]
        P_abs = abs
        P_min = min


        def P_orig(x, d=1):
            return x + d


        def P_other(x, d=2):
            return ('other', x, d)


        P_helper = P_orig
        P_code = P_orig.__code__


        class P_Base:
            inherited = 'base'

            def m(self):
                return 'base m'


        P_bm = P_Base.m


        class P_C(P_Base):
            attr = 1

            def m(self):
                return 'm'

            x = 'C.x'


        class P_C2(P_C):
            x = 'C2.x'


        P_m = P_C.m
        P_obj = P_C()


        def P_counter():
            global P_N
            P_N += 1
            return P_N


        def P_step(i):
            t = []
            @body@
            return t


        def P_loop(rnd):
            global P_K, P_helper, P_seq, P_N
            out = []
            try:
                for i in range(120):
                    @events@
                    out.append(_r(P_step(i)))
            finally:
                @restores@
            return out
    """, body=step_body, events="\n".join(events), restores="\n".join(restores))
    run = fill("""
        for rnd in range(2):
            _lines('P_loop ' + str(rnd), P_loop(rnd))
    """)
    return Unit("rebinding", code, run)


#: Ways to let D objects go, as bodies of `def P_rel(k):` (k is the call's index).
RELEASES = [
    "a = D('a' + k)\nb = D('b' + k)\nc = a\nreturn k",
    "x = D('x1.' + k)\nx = D('x2.' + k)\nprint('  rebound', k)\nreturn x.name",
    "return D('t1.' + k).name + D('t2.' + k).name",
    "d = {}\nd[D('k' + k)] = D('v' + k)\ndel d\nreturn k",
    "P_Sink()[D('key' + k)] = D('value' + k)\nreturn k",
    "P_take(D('arg1.' + k), D('arg2.' + k), kw=D('kw' + k))\nreturn k",
    "try:\n    P_raiser(k)\nexcept ValueError:\n    print('  handler', k)\nprint('  after', k)\n"
    "return k",
    "try:\n    P_raiser(k)\nexcept ValueError as e:\n    print('  handler', e)\nreturn k",
    "lst = [D('l1.' + k), D('l2.' + k), D('l3.' + k)]\ndel lst[::2]\nprint('  sliced', k)\n"
    "lst.clear()\nreturn k",
    "o = D('w' + k)\nr = weakref.ref(o, P_callback)\ndel o\nprint('  alive', r() is None)\n"
    "return k",
    "g = P_gen(k)\nnext(g)\ndel g\nreturn k",
    "with P_Res(k) as r:\n    print('  inside', r)\nreturn k",
    "for d in [D('i1.' + k), D('i2.' + k)]:\n    break\nprint('  loop done', k)\nreturn d.name",
    "cell = D('cell' + k)\nf = lambda: cell.name\ndel cell\nreturn f()",
    "t = (D('tup1.' + k), D('tup2.' + k))\na, b = t\ndel t, a\nreturn b.name",
    "s = P_Slot(D('s' + k))\ns.v = D('s2.' + k)\nreturn k",
    "x = D('cond' + k) if len(k) % 2 else None\nreturn (x or D('or' + k)).name",
    "return [D('c' + k + str(j)).name for j in range(2)]",
]


def release(rng: random.Random) -> Unit:
    fns, calls = [], []
    for j, body in enumerate(rng.sample(RELEASES, rng.randint(2, 4))):
        fns.append(f"def P_rel{j}(k):\n" + "\n".join("    " + b for b in body.split("\n")))
        calls.append(f"P_rel{j}")
    code = fill("""
        class P_Sink:
            def __setitem__(self, k, v):
                pass


        def P_take(*args, **kw):
            return len(args)


        def P_raiser(k):
            d = D('raiser' + k)
            raise ValueError(k)


        def P_callback(ref):
            print('  callback', ref() is None)


        def P_gen(k):
            d = D('gen' + k)
            yield 1
            yield d


        class P_Res:
            def __init__(self, k):
                self.k = k

            def __enter__(self):
                return D('res' + self.k)

            def __exit__(self, *exc):
                print('  exit', self.k)


        class P_Slot:
            __slots__ = ('v',)

            def __init__(self, v):
                self.v = v


        @fns@
    """, fns="\n\n\n".join(fns))
    run = fill("""
        for i in range(@n@):
            for f in (@calls@,):
                print(f.__name__, i, _call(f, str(i)))
        print('live', D.live)
    """, n=pick(rng, WARM - 5, WARM + 2), calls=", ".join(calls))
    return Unit("release", code, run)


#: What a hot function does with an object whose refcount the driver watches.
REFCOUNT_USES = [
    "a = o\nb = [o, o]\nc = (o,)",
    "try:\n    raise ValueError(o)\nexcept ValueError as e:\n    x = e.args[0]",
    "try:\n    raise ValueError(o)\nexcept ValueError as e:\n    return k",
    "P_store.append(o)\nP_store.pop()",
    "d = {o: k}\nx = d[o]\nx = d.get(o)",
    "x = isinstance(o, P_O) and len([o]) and type(o)",
    "for x in (o, o):\n    pass",
    "x = [o][0] if k % 2 else o.__class__",
    "o.attr = k\nx = o.attr",
    "x = f'{o.attr}'",
    "x = P_O.meth(o)\ny = o.meth()",
    "x = P_id(o)\nx = P_id(P_id(o))",
    "try:\n    o.nothing\nexcept AttributeError:\n    pass",
    "if k % 3:\n    return o",
    "x = lambda: o\nx = x()",
]


def refcounts(rng: random.Random) -> Unit:
    body = "\n".join(rng.sample(REFCOUNT_USES, rng.randint(2, 5)))
    code = fill("""
        class P_O:
            attr = 0

            def meth(self):
                return self


        P_store = []


        def P_id(x):
            return x


        def P_use(o, k):
            @body@
            return k
    """, body=body)
    run = fill("""
        o = P_O()
        before = sys.getrefcount(o)
        for i in range(@n@):
            P_use(o, i)
        print('P_use refcount delta', sys.getrefcount(o) - before)
        o2 = P_O()
        before = sys.getrefcount(o2)
        for i in range(20):
            try:
                P_use(o2, 'x')
            except Exception as e:
                print('P_use raised', _e(e))
                break
        print('P_use refcount delta (strings)', sys.getrefcount(o2) - before)
    """, n=WARM + 20)
    return Unit("refcounts", code, run)
