"""A unit of evaluation order: statements whose every operand, call, lookup and store
has a side effect that is logged, so that any reordering by compiled code (operands,
targets, arguments, displays, with-statement exits, short circuits, partial evaluation
before an exception) shows in the log.
"""

from __future__ import annotations

import random

from fuzz.unit import WARM, Unit, fill

#: Statements over `log` (a list), `o` (a `P_Log`) and `n` (the call's number); `v(tag,
#: value)` logs its tag and returns the value.
STATEMENTS = [
    "o[v('k', n)] = v('val', 1)",
    "o[v('k', n)] += v('inc', 2)",
    "o.attr += v('x', 3)",
    "v('f', P_sink)(v('a1', 1), v('a2', 2), k=v('kw', 3), *[v('s', 4)], **{'z': v('d', 5)})",
    "log.append({v('k1', 1): v('v1', 2), v('k2', 3): v('v2', 4)})",
    "log.append([v('1', 1), *v('star', [2, 3]), v('4', 4)])",
    "log.append(v('a', n) < v('b', 2) < v('c', 3))",
    "log.append(v('a', n % 2) and v('b', 'B') or v('c', 'C'))",
    "log.append(v('t', 'T') if v('c', n % 3) else v('f', 'F'))",
    "o[v('i', 1)], o.z = v('p', 1), v('q', 2)",
    "a = b = v('chain', n)\nlog.append((a, b))",
    "with P_Log('m1', log) as a, P_Log('m2', log) as b:\n    log.append('body')",
    "with P_Log('m1', log):\n    if n % 2:\n        raise KeyError(n)\n    log.append('body')",
    "del o[v('d1', 1)], o[v('d2', 2)]",
    "log.append(f'{v(\"a\", 1)}{v(\"b\", 2)!r:>{v(\"w\", 3)}}')",
    "log.append(o[v('i', 1)][v('j', 2)])",
    "log.append(v('obj', o).method(v('arg', n)))",
    "log.append([v(i, i) for i in range(2)] + [v('x', n)])",
    "log.append(v('base', 2) ** v('exp', 3) - v('neg', n))",
    "log.append(v('l', [1, 2, 3])[v('i', 0):v('j', n % 4)])",
    "o[v('k', n)] = v('boom', 1) // (n % 2)",
    "x, *y = v('seq', [n, 1, 2])\nlog.append((x, y))",
    "log.append(P_Log('new', log) + v('rhs', n))",
    "log.append(v('x', n) in o)",
    "for q in v('it', o):\n    log.append(q)",
    "log.append(sorted([v('s1', 3), v('s2', n)], key=lambda q: v('key', q)))",
    "log.append(isinstance(v('obj', o), v('cls', P_Log)))",
    "log.append(v('bool', o) and 'truthy')",
]


def order(rng: random.Random) -> Unit:
    stmts = rng.sample(STATEMENTS, rng.randint(4, 8))
    defs = []
    for i, st in enumerate(stmts):
        body = "\n".join("    " + ln for ln in st.split("\n"))
        defs.append(f"def P_e{i}(log, o, n):\n    v = P_v(log)\n{body}\n    return log")
    code = fill("""
        def P_v(log):
            def v(tag, value):
                log.append(tag)
                return value
            return v


        def P_sink(*args, **kw):
            return args, sorted(kw.items())


        class P_Log:
            def __init__(self, name, log):
                object.__setattr__(self, 'name', name)
                object.__setattr__(self, 'log', log)

            def __repr__(self):
                return 'P_Log(' + self.name + ')'

            def _note(self, what):
                self.log.append(self.name + what)

            def __getitem__(self, k):
                self._note('[' + repr(k) + ']')
                return self

            def __setitem__(self, k, v):
                self._note('[' + repr(k) + ']=' + repr(v))

            def __delitem__(self, k):
                self._note('del[' + repr(k) + ']')

            def __getattr__(self, a):
                self._note('.' + a)
                return 10

            def __setattr__(self, a, v):
                self._note('.' + a + '=' + repr(v))

            def __iadd__(self, v):
                self._note('+=' + repr(v))
                return self

            def __add__(self, v):
                self._note('+' + repr(v))
                return 0

            def __contains__(self, v):
                self._note(' contains ' + repr(v))
                return True

            def __iter__(self):
                self._note(' iter')
                return iter([1, 2])

            def __bool__(self):
                self._note(' bool')
                return False

            def __enter__(self):
                self._note(' enter')
                return self

            def __exit__(self, et, ev, tb):
                self._note(' exit ' + (et.__name__ if et else '-'))
                return True

            def method(self, x):
                self._note(' method ' + repr(x))
                return x


        def P_touch():
            # Every method of P_Log once: the sample of statements may leave some out.
            log = []
            o = P_Log('t', log)
            o[1] = o[2]
            del o[3]
            o.a = o.b
            o += 1
            with o:
                log.append((o + 1, 1 in o, list(o), bool(o), o.method(4), repr(o)))
            return log


        @defs@
    """, defs="\n\n\n".join(defs))
    calls = ", ".join(f"P_e{i}" for i in range(len(stmts)))
    run = fill("""
        print('P_touch', P_touch())
        for f in (@calls@,):
            w = []
            for i in range(@warm@):
                log = []
                w.append(_call(f, log, P_Log('o', log), i))
            _lines(f.__name__, w[:2] + w[-2:])
            for n in (0, 3, 2**63, -1.5, 'x', None):
                log = []
                print(f.__name__, n, _call(f, log, P_Log('o', log), n), log)
    """, calls=calls, warm=WARM)
    return Unit("order", code, run)
