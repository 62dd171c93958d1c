"""Units of arithmetic and control flow: Csmith-style random bodies (`body.py`) called
with small values until compiled, then with the edges of `values.py`; `except*`; and the
endings that leave a traceback or an exit status for the comparison.
"""

from __future__ import annotations

import random

from fuzz.body import BodyGen
from fuzz.unit import WARM, Unit, fill, pick
from fuzz.values import edges

#: The arguments of the warm-up calls, as source over the loop index `i`, and the kinds
#: of a, b, c they give: one type per parameter, so that the profile the compiled code is
#: built from is monomorphic (ints mostly).
WARM_ARGS = [
    ("i % 7 - 2, 3 + i % 5, i", ("int", "int", "int")),
    ("i, i * 3 - 50, 1", ("int", "int", "int")),
    ("i % 4 * 0.5, 1.5 - i % 3, i", ("num", "num", "int")),
    ("2**62 + i, -i, 2**31 - i", ("int", "int", "int")),
    ("i % 3 == 0, i % 5, True", ("int", "int", "int")),
]


def _function(rng: random.Random, name: str, straight: bool) -> tuple[str, str]:
    """A random function and its driver: warm-up calls, then the edges."""
    args, kinds = rng.choices(WARM_ARGS, (4, 3, 2, 2, 1))[0]
    gen = BodyGen(rng, budget=rng.randint(12, 26), kinds=dict(zip("abc", kinds)))
    code = gen.function(name, straight=straight)
    cases = ", ".join(edges(rng, rng.randint(10, 16) if straight else rng.randint(6, 10), 3))
    run = fill("""
        w = []
        for i in range(@warm@):
            w.append(_call(@f@, @args@))
        _lines('@f@ warm', w)
        for args in (@cases@):
            _show('@f@', @f@, *args)
        for i in range(2):
            _show('@f@ again', @f@, i, i + 1)
    """, warm=WARM, f=name, args=args, cases=cases)
    return code, run


def arith(rng: random.Random) -> Unit:
    """Straight-line expressions over the edges of int, float and the mixed types."""
    made = [_function(rng, f"P_f{k}", True) for k in range(rng.randint(1, 3))]
    return Unit("arith", "\n\n\n".join(c for c, _ in made), "\n".join(r for _, r in made))


def flow(rng: random.Random) -> Unit:
    """Random control flow: loops with break/continue/else, try/except/else/finally with
    returns and breaks in finally, `with` that suppresses, raise from, match."""
    made = [_function(rng, f"P_g{k}", False) for k in range(rng.randint(1, 2))]
    return Unit("flow", "\n\n\n".join(c for c, _ in made), "\n".join(r for _, r in made))


def finally_forms(rng: random.Random) -> Unit:
    """The fixed shapes of exits through finally that random bodies reach only rarely."""
    shapes = [
        # return in finally overrides the exception and the earlier return
        """
        def P_a(n):
            try:
                if n % 3 == 0:
                    raise ValueError(n)
                return n
            finally:
                if n % 2:
                    return -n
        """,
        # break and continue in finally inside a loop, with a pending exception
        """
        def P_b(n):
            out = []
            for i in range(n % 5 + 1):
                try:
                    if i == 2:
                        raise KeyError(i)
                    out.append(i)
                finally:
                    if i == n % 4:
                        break
                    if i % 2:
                        continue
                out.append(-i)
            return out
        """,
        # nested try with re-raise, raise from, and the context chain
        """
        def P_c(n):
            try:
                try:
                    1 // (n % 4)
                except ZeroDivisionError as e:
                    raise ValueError('inner') from e
                finally:
                    n += 100
            except ValueError as e:
                if n % 3:
                    raise TypeError('outer') from None
                raise
            return n
        """,
        # with statements whose __exit__ suppresses, around returns and raises
        """
        def P_d(n):
            t = []
            with _CM(t, 'o', n % 2 == 0):
                with _CM(t, 'i', n % 3 == 0):
                    if n % 5 == 0:
                        return t
                    raise IndexError(n)
                t.append('after inner')
            t.append('after outer')
            return t
        """,
        # except with a name, then return (the name is deleted at the handler's end)
        """
        def P_e(n):
            try:
                return [1, 2, 3][n]
            except IndexError as e:
                return str(e), n
            except TypeError as e:
                msg = str(e)
            return msg
        """,
        # while/else, for/else, and a loop that raises out of a finally
        """
        def P_f(n):
            i = 0
            while i < n % 6:
                i += 1
                if i == 4:
                    break
            else:
                i = -i
            for j in range(3):
                try:
                    if j == n % 3:
                        raise StopIteration(j)
                finally:
                    i += j
            else:
                i *= 10
            return i
        """,
        # generator-free iteration protocol: iter/next with StopIteration by hand
        """
        def P_g(n):
            it = iter(range(n % 4))
            out = []
            while True:
                try:
                    v = next(it)
                except StopIteration:
                    break
                else:
                    out.append(v)
            return out, next(it, 'done')
        """,
    ]
    chosen = rng.sample(range(len(shapes)), rng.randint(3, len(shapes)))
    code = "\n\n\n".join(fill(shapes[i]) for i in chosen)
    names = [fill(shapes[i]).split("(")[0][4:] for i in chosen]
    run = "\n".join(fill("""
        _lines('@f@ warm', [_call(@f@, i) for i in range(@warm@)])
        for v in (2**63, -1.5, None, True, 'x'):
            _show('@f@', @f@, v)
    """, f=name, warm=WARM) for name in names)
    return Unit("finally", code, run)


def except_star(rng: random.Random) -> Unit:
    """`except*` (tier 1 refuses the function; its callers compile)."""
    code = fill("""
        def P_raiser(n):
            excs = []
            if n % 2:
                excs.append(ValueError(n))
            if n % 3:
                excs.append(TypeError('t' + str(n)))
            if n % 5 == 0:
                excs.append(ExceptionGroup('inner', [KeyError(n)]))
            if not excs:
                return n
            raise ExceptionGroup('eg' + str(n), excs)


        def P_star(n):
            t = []
            try:
                t.append(P_raiser(n))
            except* ValueError as eg:
                t.append(('V', len(eg.exceptions)))
            except* @second@ as eg:
                t.append(('T', [_e(x) for x in eg.exceptions]))
            return t


        def P_caller(n):
            try:
                return P_star(n)
            except ExceptionGroup as eg:
                return 'escaped', _e(eg)
    """, second=pick(rng, "TypeError", "(TypeError, KeyError)", "KeyError"))
    run = fill("""
        _lines('P_caller', [_call(P_caller, i) for i in range(@warm@)])
    """, warm=WARM)
    return Unit("except_star", code, run)


def ending(rng: random.Random, prefix: str) -> str:
    """Module-level code after the epilogue: an uncaught exception whose traceback runs
    through compiled frames, or an exit status."""
    return fill(pick(
        rng,
        """
        def P_deep(n, key):
            if n == 0:
                return {'k': 1}[key]
            return P_deep(n - 1, key) + 1


        for _i in range(@warm@):
            P_deep(_i % 3, 'k')
        P_deep(3, '@key@')
        """,
        """
        def P_exit(n):
            try:
                sys.exit(n)
            finally:
                print('exiting with', n)


        P_exit(@code@)
        """,
        """
        def P_chain(n):
            try:
                return 1 // n
            except ZeroDivisionError as e:
                raise ValueError('while dividing') from e


        P_chain(0)
        """,
    ), key=pick(rng, "k2", "x"), code=pick(rng, 0, 3, "'message'"), warm=WARM
    ).replace("P_", prefix)  # the ending's templates name nothing else P_
