"""Units of containers: indexing and slicing with negative, huge, bool and `__index__`
indices and steps (including zero), slice assignment and deletion, unpacking, mutation
during iteration, dict and set operations, and strings.
"""

from __future__ import annotations

import random

from fuzz.unit import WARM, Unit, fill, tries
from fuzz.values import INDEXES, STEPS

SEQ_EXPRS = [
    "s[i]", "s[-i]", "s[i:j]", "s[i:j:k]", "s[::k]", "s[j:i:-1]", "s[-1:-len(s)-1:-1]",
    "len(s[i:])", "s.index(s[i])", "s.count(s[0])", "i in s", "s[i:] + s[:i]",
    "s * (i % 3) if type(i) is int else 0", "list(reversed(s))[i]", "sorted(s)[-i]",
    "s[slice(i, j, k)]", "s[i:j:k][::-1]", "max(s[i:j], default='empty')",
]

MUT_STMTS = [
    "ys = list(s)\nys[i:j:k] = [0, 0]\nt.append(ys)",
    "ys = list(s)\nys[i:j] = 'xy'\nt.append(ys)",
    "ys = list(s)\ndel ys[i::k]\nt.append(ys)",
    "ys = list(s)\nys[i] = 'set'\nt.append(ys)",
    "ys = list(s)\ndel ys[i]\nt.append(ys)",
    "ys = list(s)\nys.insert(i, 'ins')\nt.append(ys)",
    "ys = list(s)\nt.append((ys.pop(i), ys))",
    "ys = list(s)\nys[::k] = ys[::k][::-1]\nt.append(ys)",
    "ys = list(s)\nys += s[:2]\nys *= 2\nt.append(len(ys))",
    "ys = list(s)\nys.remove(s[i])\nt.append(ys)",
    "a, *b, c = s[i:j]\nt.append((a, b, c))",
    "a, b = s[i:i + 2]\nt.append((b, a))",
    "[a, [b, c]] = [s[0], s[1:3]]\nt.append((a, b, c))",
]


def sequences(rng: random.Random) -> Unit:
    exprs = rng.sample(SEQ_EXPRS, rng.randint(4, 8))
    stmts = rng.sample(MUT_STMTS, rng.randint(2, 5))
    body = tries(exprs) + "\n" + "\n".join(
        "try:\n" + "\n".join("    " + ln for ln in st.split("\n")) +
        "\nexcept (TypeError, ValueError, IndexError) as e:\n    t.append(_e(e))"
        for st in stmts)
    cases = []
    for _ in range(rng.randint(8, 14)):
        seq = rng.choice(("list(range(10))", "tuple(range(7))", "'abcdefg'", "range(2, 20, 3)",
                          "b'bytes'", "[]", "[2**63, -1.5, None]", "(1,)", "'é∂x'"))
        cases.append(f"({seq}, {rng.choice(INDEXES)}, {rng.choice(INDEXES)}, "
                     f"{rng.choice(STEPS)})")
    code = fill("""
        def P_f(s, i, j, k):
            t = []
            @body@
            return t
    """, body=body)
    run = fill("""
        data = list(range(10))
        _lines('P_f', [_call(P_f, data, i % 10 - 3, 7 - i % 8, 1 + i % 3)
                       for i in range(@warm@)])
        for args in (@cases@,):
            _show('P_f', P_f, *args)
    """, warm=WARM, cases=", ".join(cases))
    return Unit("sequences", code, run)


def iteration_mutation(rng: random.Random) -> Unit:
    code = fill("""
        def P_list(xs, n):
            out = []
            for v in xs:
                out.append(v)
                if v % 3 == 0 and len(xs) < n:
                    xs.append(v + 1)
                if v == 4:
                    xs.remove(v)
            return out, xs


        def P_enum_del(xs):
            for i, v in enumerate(xs):
                if v % 2 == 0:
                    del xs[i]
            return xs


        def P_dict(d, k):
            try:
                for key in d:
                    if key % k == 0:
                        d[key + 100] = key
            except RuntimeError as e:
                return _e(e), len(d)
            return sorted(d.items())


        def P_dict_del(d):
            try:
                for key in d:
                    if key == 2:
                        del d[key]
                        d[key] = 'back'
            except RuntimeError as e:
                return _e(e)
            return list(d.items())


        def P_set(s):
            try:
                for v in s:
                    s.discard(v + 1)
                    s.add(v + 1)
            except RuntimeError as e:
                return _e(e)
            return sorted(s)


        def P_iter(n):
            it = iter(list(range(n)))
            first = [v for v in it if v < 3]
            return first, list(it), list(reversed(range(n)))[::2]


        def P_all(i):
            return (P_list(list(range(i % 8)), 10 + i % 5), P_enum_del(list(range(i % 9))),
                    P_dict({1: 1, 2: 2, 3: 3}, 1 + i % 4), P_dict_del({1: 1, 2: 2}),
                    P_set(set(range(i % 4))), P_iter(i % 6))
    """)
    run = fill("""
        _lines('P_all', [_call(P_all, i) for i in range(@warm@)])
        _show('P_list', P_list, [0.0, 3.0, 4.5], 5)
        _show('P_set', P_set, {2**63, -1})
        _show('P_dict', P_dict, {2**64: 0, -2**63: 1}, 2**62)
    """, warm=WARM)
    return Unit("iteration_mutation", code, run)


def mappings(rng: random.Random) -> Unit:
    exprs = rng.sample([
        "d[k]", "d.get(k, 'dflt')", "d.setdefault(k, []).append(1) or d[k]",
        "d.pop(k, None)", "d.pop(k)", "k in d", "list(d)[-1:]", "sorted(d.items(), key=repr)",
        "{**d, 'x': 1}", "d | {k: 0}", "dict(zip(d, range(3)))", "len(d)",
        "d.popitem() if d else None", "{v: k for k, v in d.items()}.get(0)",
        "[k for k in d if k in (1, 'a')]", "frozenset(d) >= {1}",
        "{1, 2, 3} - set([k])", "{k} | {k + 0}", "{k: 1, True: 2, 1.0: 3}",
    ], rng.randint(5, 10))
    code = fill("""
        def P_f(d, k):
            t = []
            @body@
            return t
    """, body=tries(exprs))
    run = fill("""
        _lines('P_f', [_call(P_f, {0: 0, 1: 1, 2: 2}, i % 4) for i in range(@warm@)])
        for d, k in (({}, 1), ({1: 'a'}, True), ({1: 'a'}, 1.0), ({'a': 1}, 'a'),
                     ({(1, 2): 3}, (1, 2)), ({2**63: 1}, 2**63), ({0: 0}, float('inf')),
                     ({-0.0: 'neg'}, 0), ({1: 1}, [1]), ({None: 2}, None)):
            _show('P_f', P_f, dict(d), k)
    """, warm=WARM)
    return Unit("mappings", code, run)


def strings(rng: random.Random) -> Unit:
    exprs = rng.sample([
        "s[i]", "s[::-1]", "s.split()", "s * (i % 3)", "f'{s!r:>{i % 12}}|'",
        "s.find('a', i)", "''.join(reversed(s))", "s.upper().count('A')",
        "s.replace('a', str(i))", "'%s-%r-%d' % (s, s, i)", "s.encode()[i:]",
        "s.partition(' ')", "s[i:].strip()", "s.startswith(s[:i])", "ord(s[i])",
        "str(i) + s", "s < str(i)", "s.format(i)", "f'{i:>08.3f}'", "f'{i:x}'",
        "s.center(i % 15, '*')", "s.zfill(i % 9)", "int(s)", "float(s)",
    ], rng.randint(5, 10))
    code = fill("""
        def P_f(s, i):
            t = []
            @body@
            return t
    """, body=tries(exprs))
    run = fill("""
        _lines('P_f', [_call(P_f, 'a b ca', i % 5) for i in range(@warm@)])
        for s, i in (('', 0), ('{}x', -1), ('é∂ a', 2**63), ('12', 1.5), (' 3 ', True),
                     ('inf', 2), ('a' * 50, -2**31), ('x', None), (b'ab'.decode(), Idx(1))):
            _show('P_f', P_f, s, i)
    """, warm=WARM)
    return Unit("strings", code, run)
