"""Units of functions and calls: random signatures called with random argument shapes
(positional-only, defaults, keyword-only, *args, **kwargs, and the TypeErrors of shapes
that do not bind), closures and cells, recursion, generators and comprehensions.
"""

from __future__ import annotations

import random

from fuzz.unit import WARM, Unit, fill, pick, sample_lines
from fuzz.values import INTS, SMALL


def _signature(rng: random.Random) -> tuple[str, list[str], list[str], bool, bool]:
    """A random parameter list; returns it with its positional and keyword-only names
    and whether it has *args and **kwargs."""
    parts, pos, kwonly = [], [], []
    defaulted = False
    for i in range(rng.randint(0, 2)):
        pos.append(f"p{i}")
    if pos:
        parts += pos + ["/"]
    for i in range(rng.randint(0, 3)):
        pos.append(f"a{i}")
        parts.append(pos[-1])
    # Defaults only on a suffix of the positional parameters.
    cut = rng.randint(0, len(pos))
    for j in range(cut, len(pos)):
        idx = parts.index(pos[j])
        parts[idx] = f"{pos[j]}={rng.choice(INTS + SMALL)}"
        defaulted = True
    star = rng.random() < 0.5
    if star:
        parts.append("*args")
    n_kw = rng.randint(0, 2)
    if n_kw and not star:
        parts.append("*")
    for i in range(n_kw):
        kwonly.append(f"k{i}")
        parts.append(f"k{i}" + (f"={rng.choice(SMALL)}" if rng.random() < 0.5 else ""))
    kwargs = rng.random() < 0.4
    if kwargs:
        parts.append("**kw")
    del defaulted
    return ", ".join(parts), pos, kwonly, star, kwargs


def _call_shape(rng: random.Random, pos: list[str], kwonly: list[str], fits: bool) -> str:
    """Arguments for a call, as source; `fits` makes a shape that binds (most likely)."""
    args: list[str] = []
    n = len(pos) if fits else rng.randint(0, len(pos) + 2)
    args += [rng.choice(SMALL) for _ in range(n)]
    names = [k for k in kwonly] if fits else rng.sample(
        kwonly + [p for p in pos if p.startswith("a")] + ["zz", "p0"],
        rng.randint(0, 2))
    for name in names:
        args.append(f"{name}={rng.choice(SMALL)}")
    if not fits and rng.random() < 0.4:
        args.insert(min(n, len(args)), rng.choice(("*(1, 2)", "*[]", "*'ab'")))
    if not fits and rng.random() < 0.3:
        args.append(rng.choice(("**{'k0': 3}", "**{'zz': 1}", "**{}", "**{'a0': 9}")))
    return ", ".join(args)


def signatures(rng: random.Random) -> Unit:
    sig, pos, kwonly, star, kwargs = _signature(rng)
    names = [p for p in pos] + (["args"] if star else []) + kwonly + (
        ["sorted(kw.items())"] if kwargs else [])
    body = ", ".join(names) if names else "None"
    good = _call_shape(rng, pos, kwonly, True)
    bad = [_call_shape(rng, pos, kwonly, False) for _ in range(rng.randint(5, 9))]
    code = fill("""
        def P_f(@sig@):
            return (@body@,)


        class P_C:
            def m(self, @sig@):
                return (@body@,)

            @staticmethod
            def s(@sig@):
                return (@body@,)


        def P_via(obj, n):
            return obj.m(@good@), P_C.s(@good@), n
    """, sig=sig, body=body, good=good)
    run = fill("""
        o = P_C()
        w = []
        for i in range(@warm@):
            w.append(_call(P_f, @good@))
            w.append(_call(P_via, o, i))
        _lines('P_f warm', w[-8:])
        @bad@
    """, good=good, warm=WARM,
        bad="\n".join(f"_show('P_f', lambda: P_f({b}))\n_show('P_C.m', lambda: o.m({b}))"
                      for b in bad))
    return Unit("signatures", code, run)


def closures(rng: random.Random) -> Unit:
    code = fill("""
        def P_counter(start):
            count = start

            def inc(k=1):
                nonlocal count
                count += k
                return count

            def get():
                return count
            return inc, get


        def P_late(n):
            fs = [lambda: i for i in range(n)]
            gs = [lambda i=i: i * 2 for i in range(n)]
            return [f() for f in fs], [g() for g in gs]


        def P_nested(x):
            def outer(y):
                def inner(z):
                    nonlocal y
                    y += z
                    return x + y + z
                r = inner(1)
                return r, inner(2), y
            return outer(x * 2)


        def P_unbound(n):
            v = n

            def read():
                return v
            if n % 3 == 0:
                del v
            return read()


        def P_use(n):
            inc, get = P_counter(@start@)
            for j in range(n % 5):
                inc(j)
            return get(), P_late(n % 4), P_nested(n), P_unbound(n)
    """, start=pick(rng, "0", "2**63 - 3", "1.5", "-2**31"))
    run = fill("""
        _lines('P_use', [_call(P_use, i) for i in range(@warm@)])
        for v in (@edges@):
            _show('P_use', P_use, v)
    """, warm=WARM, edges=", ".join(rng.sample(INTS, 4)) + ", 2.5, None")
    return Unit("closures", code, run)


def recursion(rng: random.Random) -> Unit:
    lines = [
        "out.append(P_fib(n % 25))",
        "out.append(P_even(n % 60))",
        "out.append(P_ack(n % 3, n % 4))",
        "out.append(P_unwind(n % 9, []))",
        "out.append(P_sum(list(range(n % 30))))",
    ]
    code = fill("""
        def P_fib(n, memo={}):
            if n < 2:
                return n
            if n in memo:
                return memo[n]
            r = memo[n] = P_fib(n - 1) + P_fib(n - 2)
            return r


        def P_even(n):
            return True if n <= 0 else P_odd(n - 1)


        def P_odd(n):
            return False if n <= 0 else P_even(n - 1)


        def P_ack(m, n):
            if m <= 0:
                return n + 1
            if n <= 0:
                return P_ack(m - 1, 1)
            return P_ack(m - 1, P_ack(m, n - 1))


        def P_unwind(n, t):
            try:
                if n <= 0:
                    raise ValueError('bottom')
                return P_unwind(n - 1, t)
            finally:
                t.append(n)
                if n == @stop@:
                    return t


        def P_sum(xs):
            return xs[0] + P_sum(xs[1:]) if xs else 0


        def P_all(n):
            out = []
            @lines@
            return out
    """, stop=pick(rng, 3, 5, 100), lines=sample_lines(rng, lines, 2, 5))
    run = fill("""
        _lines('P_all', [_call(P_all, i) for i in range(@warm@)])
        for v in (2**63, -1, 1.5, True):
            _show('P_all', P_all, v)
    """, warm=WARM)
    if rng.random() < 0.3:
        code += "\n\n\n" + fill("""
            def P_inf(n):
                return P_inf(n + 1) + 1
        """)
        run += "\n_show('P_inf', P_inf, 0)"
    return Unit("recursion", code, run)


def generators(rng: random.Random) -> Unit:
    """Generators stay interpreted in tier 1; their callers, which drive them through
    next, send, throw and close, and iterate them in compiled loops, do not."""
    uses = [
        "t.append(list(P_gen(n % 4)))",
        "g = P_gen(3)\nt.append(next(g))\nt.append(g.send(n))\ng.close()",
        "g = P_gen(2)\nt.append(next(g))\ntry:\n    g.throw(KeyError(n))\n"
        "except KeyError as e:\n    t.append(('thrown', str(e)))",
        "t.append(list(P_deleg(n % 3)))",
        "t.append(sum(x * x for x in range(n % 7) if x % 2))",
        "t.append(any(P_pred(x, t) for x in range(n % 5)))",
        "t.append(list(zip(P_gen(n % 3), 'abcdef')))",
        "try:\n    t.append(list(P_bad(n)))\nexcept RuntimeError as e:\n    t.append(_e(e))",
        "g = P_gen(4)\nfor v in g:\n    if v == 2:\n        break\n    t.append(v)\ndel g",
        "t.append(P_drive(P_coro(n)))",
    ]
    code = fill("""
        def P_gen(n):
            try:
                for i in range(n):
                    x = yield i * 2
                    if x is not None:
                        yield ('sent', x)
                return 'done'
            finally:
                print('  P_gen finally', n)


        def P_deleg(n):
            r = yield from P_gen(n)
            yield ('returned', r)


        def P_pred(x, t):
            t.append(('pred', x))
            return x == 2


        def P_bad(n):
            yield n
            raise StopIteration(n)


        async def P_coro(n):
            return n * 2


        def P_drive(c):
            try:
                c.send(None)
            except StopIteration as e:
                return ('coro', e.value)


        def P_use(n):
            t = []
            @uses@
            return t
    """, uses=sample_lines(rng, uses, 3, 6))
    run = fill("""
        _lines('P_use', [_call(P_use, i) for i in range(@warm@)])
        _show('P_use', P_use, 2**63)
        _show('P_use', P_use, -1)
    """, warm=pick(rng, 8, WARM))
    return Unit("generators", code, run)


def comprehensions(rng: random.Random) -> Unit:
    exprs = [
        "[x * y for x in range(n % 5) for y in range(x) if (x + y) % 2]",
        "{x % 3: x for x in range(n % 8)}",
        "sorted({x % 4 for x in range(n % 9)})",
        "[[y for y in range(x)] for x in range(n % 4)]",
        "[(last := x) for x in range(n % 6)] and last",
        "[x for x in [n, -n, 2**63, 0.5] if x > 0]",
        "{k: v for k, v in zip('abc', range(n, n + 3))}",
        "[c for c in str(n)] == list(str(n))",
        "[x for x in range(3)] + [x for x in 'ab']",
        "{(x, y) for x in range(2) for y in range(2)} == {(0, 0), (0, 1), (1, 0), (1, 1)}",
        "[i for i in range(10)][n % 10::-3]",
        "dict.fromkeys([n, n + 1, n], 0)",
    ]
    body = "\n".join(f"t.append({e})" for e in rng.sample(exprs, rng.randint(3, 6)))
    code = fill("""
        def P_comp(n):
            x = 'outer'
            t = []
            @body@
            t.append(x)
            return t


        class P_K:
            base = [1, 2, 3]
            sq = [v * v for v in base]
    """, body=body)
    run = fill("""
        _lines('P_comp', [_call(P_comp, i) for i in range(@warm@)])
        _show('P_comp', P_comp, 2**62 + 1)
        _show('P_comp', P_comp, 'ab')
        print('P_K', P_K.sq)
    """, warm=WARM)
    return Unit("comprehensions", code, run)
