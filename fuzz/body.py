"""Random function bodies, in the manner of Csmith: expressions and control flow over a
few locals, with every loop bounded and every value kept small enough to print.

A body works on parameters `a, b, c`, locals `x, y, z, acc` and a trace list `t` that each
branch appends a marker to, so the path taken shows in the function's result. The caller
(`units_core.py`) calls the function with small ints first (warm-up: the JIT compiles it
and profiles ints) and then with the edge values of `values.py`, whose types the compiled
code has not seen.

Why the limits: programs must terminate quickly under CPython itself. Loops are `for`
over `range(k)` or `while` on a counter incremented first (so `continue` cannot skip it),
with at most LOOP_BUDGET iterations in all per function; inside a loop an assignment
whose value may grow geometrically (`*`, `**`, `<<`) is taken modulo a constant, and `**`
and `<<` have small constant right operands (or are masked).
"""

from __future__ import annotations

import random
import re

from fuzz.values import FLOATS, INTS, SMALL

_NAME = re.compile(r"[A-Za-z_]")
LOOP_BUDGET = 16
MODULI = ("97", "1000003", "(2**61 - 1)", "2**64", "7.5")
LOCALS = ("x", "y", "z", "acc")
EXC_TYPES = ("ValueError", "TypeError", "KeyError", "ZeroDivisionError", "IndexError",
             "ArithmeticError", "LookupError", "RuntimeError")


class BodyGen:
    def __init__(self, rng: random.Random, params=("a", "b", "c"), budget: int = 22,
                 kinds: dict[str, str] | None = None):
        self.rng = rng
        self.params = params
        #: The kind of each parameter in the warm-up calls; locals start as a, b, 1, 0.
        self.kinds = dict(kinds or {})
        self.kinds.setdefault("x", self.kinds.get(params[0], "int"))
        self.kinds.setdefault("y", self.kinds.get(params[1], "int"))
        self.budget = budget          # statements left
        self.loop_left = LOOP_BUDGET  # iterations left (product over nesting)
        self.loop_vars: list[str] = []
        self.marks = 0
        self.loops = 0
        self.in_finally = 0

    # -- expressions ------------------------------------------------------------------
    # Each expression comes with its static kind, "int" (bools included) or "num" (a float
    # or unknown): operators that take only ints (`& | ^ << >> ~`, pow with a modulus,
    # tuple indices) get `int(...)` around an operand that may be a float, so the
    # warm-up calls run through the body instead of stopping at the first TypeError. The
    # edge values after warm-up are of every type and do stop there, as they should.

    def const(self, kind: str = "num") -> tuple[str, str]:
        r = self.rng.random()
        if r < 0.55:
            return self.rng.choice(SMALL), "int"
        if r < 0.85 or kind == "int":
            return self.rng.choice(INTS), "int"
        if r < 0.97:
            return self.rng.choice(FLOATS[:10]), "num"
        return self.rng.choice(FLOATS), "num"

    def leaf(self) -> tuple[str, str]:
        names = list(self.params) + list(LOCALS) + self.loop_vars
        if self.rng.random() < 0.7:
            name = self.rng.choice(names)
            return name, self.kinds.get(name, "int")
        return self.const()

    def _int(self, depth: int) -> str:
        text, kind = self.typed(depth)
        return text if kind == "int" else f"int({text})"

    def _nonzero(self, depth: int) -> str:
        """A divisor: mostly one that cannot be zero, as users guard theirs, so that
        the warm-up calls get past the division; sometimes one that can."""
        text, kind = self.typed(depth)
        if text in ("0", "0.0", "-0.0", "False"):
            return "3"
        if text[0] in "-123456789" or self.rng.random() < 0.2:
            return text
        return f"({text} or {self.rng.choice(('1', '3', '-7', '2**64', '0.5'))})"

    def typed(self, depth: int = 0) -> tuple[str, str]:
        rng = self.rng
        if depth >= 3 or rng.random() < 0.25 + 0.2 * depth:
            return self.leaf()
        d = depth + 1
        e = lambda: self.typed(d)
        k = rng.random()
        if k < 0.30:
            (lhs, lk), (r, rk) = e(), e()
            op = rng.choice(("+", "-", "*", "+", "-", "*", "/", "//", "%"))
            if op in ("/", "//", "%"):
                r = self._nonzero(d)
            kind = "int" if lk == rk == "int" and op != "/" else "num"
            return f"({lhs} {op} {r})", kind
        if k < 0.38:
            op = rng.choice(("&", "|", "^"))
            return f"({self._int(d)} {op} {self._int(d)})", "int"
        if k < 0.45:
            (lhs, lk) = e()
            small = rng.choice(("0", "1", "2", "3"))
            return rng.choice((
                (f"({lhs} ** {small})", lk),
                (f"(({lhs}) or 1) ** {rng.choice(('-1', '0.5', '-2'))}", "num"),
                (f"({self._int(d)} << {rng.choice(('1', '3', '31', '32', '62', '63', '64'))})",
                 "int"),
                (f"({self._int(d)} << ({self._int(d)} & 63))", "int"),
                (f"({self._int(d)} >> {rng.choice(('0', '1', '30', '63', '64', '200'))})",
                 "int"),
                (f"({self._int(d)} >> ({self._int(d)} & 127))", "int"),
            ))
        if k < 0.53:
            t, tk = e()
            return rng.choice(((f"(-{t})", tk), (f"(+{t})", tk), (f"(~{self._int(d)})", "int"),
                               (f"(not {t})", "int"), (f"abs({t})", tk)))
        if k < 0.64:
            op = rng.choice(("<", "<=", ">", ">=", "==", "!=", "<", "==", "is", "is not"))
            if rng.random() < 0.25:
                op = "<" if op.startswith("is") else op
                op2 = rng.choice(("<", "<=", "==", "!="))
                return f"({e()[0]} {op} {e()[0]} {op2} {e()[0]})", "int"
            lhs, r = e()[0], e()[0]
            if op.startswith("is") and not (_NAME.search(lhs) and _NAME.search(r)):
                op = "=="  # `is` with a constant (folded or not) is a SyntaxWarning
            return f"({lhs} {op} {r})", "int"
        if k < 0.70:
            (lhs, lk), (r, rk) = e(), e()
            return f"({lhs} {rng.choice(('and', 'or'))} {r})", "int" if lk == rk == "int" else "num"
        if k < 0.75:
            (lhs, lk), (c, _), (r, rk) = e(), e(), e()
            return f"({lhs} if {c} else {r})", "int" if lk == rk == "int" else "num"
        if k < 0.90:
            (a, ak), (b, bk) = e(), e()
            both = "int" if ak == bk == "int" else "num"
            return rng.choice((
                (f"int({a})", "int"), (f"float({a})", "num"), (f"round({a})", "int"),
                (f"round({a}, 2)", ak), (f"min({a}, {b})", both), (f"max({a}, {b})", both),
                (f"divmod({a}, {self._nonzero(d)})[0]", both),
                (f"pow({self._int(d)}, {self._int(d)} & 7, "
                 f"{rng.choice(('5', '2**61 - 1', '2**64', '-3'))})", "int"),
                (f"bool({a})", "int"), (f"isinstance({a}, int)", "int"),
                (f"(type({a}) is float)", "int"), (f"len(str({a}))", "int"),
            ))
        if k < 0.95:
            index = self._int(d)
            return (f"(3, -1, 2**63, 0.5)[{index}]" if rng.random() < 0.05 else
                    f"(3, -1, 2**63, 0.5)[{index} % 4]"), "num"
        name = rng.choice(LOCALS)
        text, kind = e()
        self.note(name, kind)
        return f"({name} := {text})", kind

    def expr(self, depth: int = 0) -> str:
        return self.typed(depth)[0]

    def note(self, name: str, kind: str) -> None:
        """`name` may now hold a value of `kind` (once a float, always a float: the
        kinds are a heuristic against errors, not a proof)."""
        if kind != "int":
            self.kinds[name] = "num"

    def cond(self) -> str:
        return self.expr(1)

    # -- statements -------------------------------------------------------------------

    def mark(self) -> str:
        self.marks += 1
        return f"t.append({self.marks})"

    def assign(self) -> str:
        v = self.rng.choice(LOCALS)
        value, kind = self.typed()
        if self.loop_vars and any(op in value for op in ("*", "<<")):
            modulus = self.rng.choice(MODULI)
            value = f"({value}) % {modulus}"
            kind = "num" if "." in modulus else kind
        self.note(v, kind)
        if self.rng.random() < 0.3 and not (self.loop_vars and "*" in value):
            op = self.rng.choice(("+=", "-=", "|=", "^=", "//=", "%=", "&="))
            if op in ("|=", "^=", "&=") and (kind != "int" or self.kinds.get(v) == "num"):
                op = "+="
            if op in ("//=", "%=") and value[0] not in "123456789":
                value = f"({value} or 7)"
            return f"{v} {op} {value}"
        return f"{v} = {value}"

    def block(self, depth: int, n: int | None = None) -> list[str]:
        n = n if n is not None else self.rng.randint(1, 3)
        out: list[str] = []
        for _ in range(n):
            if self.budget <= 0:
                break
            out += self.stmt(depth)
        return out or [self.mark()]

    def stmt(self, depth: int) -> list[str]:
        self.budget -= 1
        rng = self.rng
        choices = [("assign", 10), ("mark", 2)]
        if depth < 3:
            choices += [("if", 6), ("try", 5), ("with", 2), ("match", 1)]
            if self.loop_left >= 2:
                choices += [("for", 4), ("while", 2)]
        choices += [("raise", 1), ("return", 1), ("assert", 0.5), ("del", 0.2),
                    ("closure", 1), ("walrus_if", 1), ("exc_state", 2)]
        if self.loop_vars:
            choices += [("break", 2), ("continue", 2)]
        kind = rng.choices([c for c, _ in choices], [w for _, w in choices])[0]
        return getattr(self, "s_" + kind)(depth)

    def s_assign(self, depth):
        return [self.assign()]

    def s_mark(self, depth):
        return [self.mark()]

    def s_exc_state(self, depth):
        # The exception being handled, as CPython keeps it per frame and per handler:
        # inside except and finally blocks, after them, and in nested handlers.
        return ["t.append(type(sys.exception()).__name__)"]

    def s_if(self, depth):
        out = [f"if {self.cond()}:", *ind([self.mark()] + self.block(depth + 1))]
        for _ in range(self.rng.choice((0, 0, 1, 2))):
            out += [f"elif {self.cond()}:", *ind([self.mark()] + self.block(depth + 1))]
        if self.rng.random() < 0.5:
            out += ["else:", *ind([self.mark()] + self.block(depth + 1))]
        return out

    def _loop(self, depth, header_fn):
        k = self.rng.randint(1, min(5, self.loop_left))
        saved = self.loop_left
        self.loop_left = max(1, self.loop_left // k)
        var = f"i{self.loops}"
        self.loops += 1
        self.loop_vars.append(var)
        header, pre = header_fn(var, k)
        body = pre + self.block(depth + 1)
        self.loop_vars.pop()
        self.loop_left = saved
        out = [header, *ind(body)]
        if self.rng.random() < 0.3:
            out += ["else:", *ind([self.mark()])]
        return out

    def s_for(self, depth):
        def header(var, k):
            src = self.rng.choice((f"range({k})", f"range({k} - 1, -1, -1)",
                                   f"(0, 2**63, -1.5, True)[:{k}]",
                                   f"[{k}, b, c][:{k}]"))
            self.kinds[var] = "int" if src.startswith("range") else "num"
            return f"for {var} in {src}:", []
        return self._loop(depth, header)

    def s_while(self, depth):
        init = []

        def header(var, k):
            init.append(f"{var} = 0")
            self.kinds[var] = "int"
            return f"while {var} < {k}:", [f"{var} += 1"]
        loop = self._loop(depth, header)
        return [*init, *loop]

    def s_break(self, depth):
        return [f"if {self.cond()}:", "    break"] if self.rng.random() < 0.8 else ["break"]

    def s_continue(self, depth):
        return [f"if {self.cond()}:", "    continue"] if self.rng.random() < 0.8 else \
            ["continue"]

    def s_raise(self, depth):
        rng = self.rng
        exc = rng.choice(EXC_TYPES)
        form = rng.random()
        if form < 0.6:
            r = f"raise {exc}({self.expr(2)})"
        elif form < 0.8:
            r = f"raise {exc}('r{self.marks}') from {rng.choice(('None', 'ValueError(a)'))}"
        else:
            r = f"raise {exc}"
        # Conditions on one parameter, so that some calls raise and others go on.
        cond = self.cond() if rng.random() < 0.4 else \
            f"{rng.choice(self.params)} == {rng.choice(('0', '1', '3', '-2', '7'))}"
        return [f"if {cond}:", f"    {r}"]

    def s_return(self, depth):
        return [f"if {self.cond()}:", f"    return {self.expr(1)}, t"]

    def s_assert(self, depth):
        return [f"assert {self.cond()}, {self.expr(2)}"]

    def s_del(self, depth):
        v = self.rng.choice(LOCALS)
        if self.rng.random() < 0.7:
            value, kind = self.const()
            self.note(v, kind)
            return [f"del {v}", f"{v} = {value}"]
        return [f"if {self.cond()}:", f"    del {v}"]

    def s_closure(self, depth):
        v, w = self.rng.choice(LOCALS), self.rng.choice(LOCALS)
        fn = f"f{self.marks}"
        self.marks += 1
        arg, kind = self.typed(2)
        if self.rng.random() < 0.5:
            default, dkind = self.const()
            self.note(v, "int" if kind == dkind == self.kinds.get(w, "int") == "int" else "num")
            return [f"def {fn}(q, r={default}):", f"    return q + {w} * r", f"{v} = {fn}({arg})"]
        self.note(v, self.kinds.get(w, "int"))
        return [f"{fn} = lambda q: (q, {w})", f"{v} = {fn}({arg})[1]"]

    def s_walrus_if(self, depth):
        v = self.rng.choice(LOCALS)
        value, kind = self.typed(1)
        self.note(v, kind)
        return [f"if ({v} := {value}) {self.rng.choice(('>', '==', '!='))} {self.const()[0]}:",
                *ind([self.mark()])]

    def s_with(self, depth):
        swallow = self.rng.choice(("True", "False", "False"))
        name = f"w{self.marks}"
        self.marks += 1
        return [f"with _CM(t, {name!r}, {swallow}){self.rng.choice(('', ' as cm'))}:",
                *ind(self.block(depth + 1))]

    def s_match(self, depth):
        rng = self.rng
        cases = rng.sample([
            "case 0 | 1:", "case int(n) if n > 100:", "case float():", "case bool():",
            "case (p, q):", "case [p, *rest]:", "case {'k': p}:", "case None:",
            "case str() as s if len(s) > 1:", "case -1:", "case 9223372036854775808:",
        ], rng.randint(1, 4))
        out = [f"match {self.expr(1)}:"]
        for case in cases + ["case _:"] * (rng.random() < 0.6):
            out += ind([case, *ind([self.mark()] + self.block(depth + 2, 1))])
        return out

    def s_try(self, depth):
        rng = self.rng
        out = ["try:", *ind(self.block(depth + 1))]
        handlers = rng.randint(0 if rng.random() < 0.3 else 1, 3)
        for _ in range(handlers):
            exc = rng.choice(("ZeroDivisionError", "(TypeError, ValueError)", "Exception",
                              "ArithmeticError", "KeyError", "OverflowError",
                              "(IndexError, KeyError)", "AssertionError"))
            h = [self.mark()]
            named = rng.random() < 0.6
            if named:
                h.append(rng.choice(("t.append(type(e).__name__)", "t.append(str(e)[:30])",
                                     "t.append(len(e.args))")))
            r = rng.random()
            if r < 0.15:
                h.append("raise")
            elif r < 0.25:
                h.append(f"raise {rng.choice(EXC_TYPES)}('h{self.marks}') from "
                         + ("e" if named else "None"))
            elif r < 0.4:
                h.append(f"return {self.expr(2)}, t")
            else:
                h += self.block(depth + 1, 1)
            out += [f"except {exc}{' as e' if named else ''}:", *ind(h)]
        if handlers and rng.random() < 0.3:
            out += ["else:", *ind([self.mark()] + self.block(depth + 1, 1))]
        if not handlers or rng.random() < 0.5:
            fin = [self.mark()]
            r = rng.random()
            if r < 0.2:
                fin.append(f"return {self.expr(2)}, t")
            elif r < 0.3 and self.loop_vars:
                fin.append(rng.choice(("break", "continue")))
            elif r < 0.6:
                fin += self.block(depth + 1, 1)
            out += ["finally:", *ind(fin)]
        return out

    # -- the function -----------------------------------------------------------------

    def function(self, name: str, straight: bool = False) -> str:
        """A function of (a, b, c=0): control flow, or (`straight`) a few assignments."""
        a, b, c = self.params
        head = [f"def {name}({a}, {b}, {c}=0):", "    t = []",
                f"    x = {a}", f"    y = {b}", "    z = 1", "    acc = 0"]
        if straight:
            body = [self.assign() for _ in range(self.rng.randint(2, 4))]
            body.append(f"return x, y, {self.expr()}")
        else:
            body = self.block(0, self.rng.randint(4, 8))
            body.append("return acc, x, y, z, t")
        return "\n".join(head + ind(body))


def ind(lines: list[str], n: int = 1) -> list[str]:
    pad = "    " * n
    return [pad + line for line in lines]
