"""Delta debugging of a diverging program: remove what the divergence does not need.

    .venv/bin/python -m fuzz.reduce prog.py --way eager [--minutes 10] [-o reduced.py]

The reducer edits the program's text in place of its AST: every edit blanks characters
(or dedents a block) without removing a line break, so each function keeps its line
numbers and its code object stays byte for byte the same unless the edit touched it.
That keeps the code cache warm (an edit near the top would otherwise change every
function below it and make each try a full compile), and keeps tracebacks stable.

Passes, repeated until none removes anything or time runs out:
- statements: ddmin over each statement list (module, class and function bodies, the
  branches and handlers of compound statements), outermost first;
- elements: ddmin over the elements of tuple, list and set displays (the units of
  `main()`, the argument tuples of the drivers);
- unwrap: a compound statement (if, for, while, with, try) replaced by its body;
- numbers: `range(N)` bounds halved.
A candidate is tried only if it compiles. At the end, runs of blank lines are squeezed
out, and the program rewritten by `ast.unparse`, if the divergence survives that too.
"""

from __future__ import annotations

import ast
import hashlib
import time
from collections.abc import Callable

Span = tuple[int, int, int, int]  # first line, first column, last line, end column; lines from 1


class Text:
    """The program as lines; edits keep every line break in place."""

    def __init__(self, source: str):
        self.lines = source.split("\n")

    def source(self) -> str:
        return "\n".join(self.lines)

    def copy(self) -> Text:
        t = Text("")
        t.lines = list(self.lines)
        return t

    def _col(self, line: int, byte_col: int) -> int:
        # ast columns count UTF-8 bytes.
        return len(self.lines[line - 1].encode()[:byte_col].decode("utf-8", "replace"))

    def blank(self, span: Span) -> None:
        l1, c1, l2, c2 = span
        c1, c2 = self._col(l1, c1), self._col(l2, c2)
        for ln in range(l1, l2 + 1):
            s = self.lines[ln - 1]
            a = c1 if ln == l1 else 0
            b = c2 if ln == l2 else len(s)
            self.lines[ln - 1] = s[:a] + " " * (b - a) + s[b:]

    def blank_lines(self, first: int, last: int) -> None:
        for ln in range(first, last + 1):
            self.lines[ln - 1] = ""

    def dedent(self, first: int, last: int, by: int) -> bool:
        for ln in range(first, last + 1):
            s = self.lines[ln - 1]
            if s.strip() and not s.startswith(" " * by):
                return False
        for ln in range(first, last + 1):
            self.lines[ln - 1] = self.lines[ln - 1][by:]
        return True


def _first_line(node: ast.stmt) -> int:
    decorators = getattr(node, "decorator_list", None) or []
    return min([node.lineno] + [d.lineno for d in decorators])


def _owns_lines(text: Text, node: ast.stmt) -> bool:
    """Whether the statement starts its line (not `if c: x` or `a; b`)."""
    line = text.lines[node.lineno - 1]
    return not line.encode()[:node.col_offset].strip()


def _bodies(tree: ast.AST) -> list[list[ast.stmt]]:
    """Every statement list, outermost first."""
    out: list[list[ast.stmt]] = []
    todo: list[ast.AST] = [tree]
    while todo:
        node = todo.pop(0)
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            value = getattr(node, field, None)
            if isinstance(value, list) and value and isinstance(value[0], ast.AST):
                if isinstance(value[0], ast.stmt):
                    out.append(value)
                todo.extend(value)
    return out


class Reducer:
    def __init__(self, diverges: Callable[[str], bool], seconds: float, log=None):
        self._test = diverges
        self.deadline = time.monotonic() + seconds
        self.log = log or (lambda msg: None)
        self.tries = 0
        self._seen: dict[str, bool] = {}

    def out_of_time(self) -> bool:
        return time.monotonic() > self.deadline

    def test(self, text: Text) -> bool:
        source = text.source()
        key = hashlib.sha256(source.encode()).hexdigest()
        if key not in self._seen:
            try:
                compile(source, "<candidate>", "exec")
            except (SyntaxError, ValueError):
                self._seen[key] = False
                return False
            self.tries += 1
            self._seen[key] = self._test(source)
        return self._seen[key]

    def reduce(self, source: str) -> str:
        text = Text(source)
        changed = True
        while changed and not self.out_of_time():
            changed = False
            for step in (self.statements, self.elements, self.unwrap, self.numbers):
                new = step(text)
                if new is not None:
                    text, changed = new, True
                if self.out_of_time():
                    break
        # Last, the layout: blank runs squeezed, then the text as ast.unparse writes it
        # (which drops what blanking left behind); each kept only if it still diverges.
        for tidy in (_squeeze, lambda s: ast.unparse(ast.parse(s)) + "\n"):
            cand = Text(tidy(text.source()))
            if cand.source() != text.source() and self.test(cand):
                text = cand
        return text.source()

    # -- ddmin over edits that do not overlap ---------------------------------------

    def _ddmin(self, text: Text, edits: list, apply: Callable[[Text, list], bool]
               ) -> Text | None:
        """Remove as many of `edits` as keeps the divergence; the text, or None if no
        edit could be made."""
        kept, done, n = list(edits), [], 2
        while kept and not self.out_of_time():
            size = max(1, -(-len(kept) // n))
            for i in range(0, len(kept), size):
                chunk = kept[i:i + size]
                cand = text.copy()
                if apply(cand, done + chunk) and self.test(cand):
                    done += chunk
                    kept = kept[:i] + kept[i + size:]
                    n = max(2, n - 1)
                    break
            else:
                if size == 1:
                    break
                n = min(len(kept), n * 2)
        if not done:
            return None
        result = text.copy()
        apply(result, done)
        return result

    # -- passes -------------------------------------------------------------------

    def statements(self, text: Text) -> Text | None:
        progress = None
        tree = ast.parse(text.source())
        for body in _bodies(tree):
            if self.out_of_time():
                break
            stmts = [s for s in body if isinstance(s, ast.stmt) and _owns_lines(text, s)]
            if not stmts or not text.lines[stmts[0].lineno - 1].strip():
                continue  # already removed with its parent

            def apply(t: Text, chosen, body=body, stmts=stmts) -> bool:
                for s in chosen:
                    t.blank_lines(_first_line(s), s.end_lineno)
                if len(chosen) == len(stmts) == len(body):
                    first = stmts[0]
                    t.lines[_first_line(first) - 1] = " " * first.col_offset + "pass"
                return True

            new = self._ddmin(text, stmts, apply)
            if new is not None:
                text = progress = new
        return progress

    def elements(self, text: Text) -> Text | None:
        progress = None
        tree = ast.parse(text.source())
        displays = [n for n in ast.walk(tree)
                    if isinstance(n, (ast.Tuple, ast.List, ast.Set)) and len(n.elts) >= 2
                    and not isinstance(getattr(n, "ctx", None), ast.Store)]
        for node in displays:
            if self.out_of_time():
                break
            elts = node.elts
            spans = []
            for i, e in enumerate(elts):
                if i + 1 < len(elts):
                    nxt = elts[i + 1]
                    spans.append((e.lineno, e.col_offset, nxt.lineno, nxt.col_offset))
                else:
                    spans.append((e.lineno, e.col_offset, e.end_lineno, e.end_col_offset))
            # Never all of them: an empty display changes the shape of what holds it.
            candidates = spans[:-1] if len(spans) > 1 else []

            def apply(t: Text, chosen) -> bool:
                for span in chosen:
                    t.blank(span)
                return True

            new = self._ddmin(text, candidates, apply)
            if new is not None:
                text = progress = new
        return progress

    def unwrap(self, text: Text) -> Text | None:
        progress, after = None, 0
        kinds = (ast.If, ast.For, ast.While, ast.With, ast.Try, ast.TryStar)
        while not self.out_of_time():
            # Parsed again after each success: a dedent moves the columns below it.
            nodes = sorted((n for n in ast.walk(ast.parse(text.source()))
                            if isinstance(n, kinds) and n.lineno > after),
                           key=lambda n: n.lineno)
            for node in nodes:
                after = node.lineno
                cand = self._unwrapped(text, node)
                if cand is not None and self.test(cand):
                    text = progress = cand
                    break
                if self.out_of_time():
                    return progress
            else:
                return progress
        return progress

    @staticmethod
    def _unwrapped(text: Text, node: ast.stmt) -> Text | None:
        body = node.body
        by = body[0].col_offset - node.col_offset
        cand = text.copy()
        if body[0].lineno == node.lineno or not cand.dedent(
                body[0].lineno, body[-1].end_lineno, by):
            return None
        cand.blank_lines(node.lineno, body[0].lineno - 1)
        if node.end_lineno > body[-1].end_lineno:
            cand.blank_lines(body[-1].end_lineno + 1, node.end_lineno)
        return cand

    def numbers(self, text: Text) -> Text | None:
        progress = None
        for node in ast.walk(ast.parse(text.source())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id == "range"):
                continue
            for arg in node.args:
                if isinstance(arg, ast.Constant) and type(arg.value) is int and arg.value > 3:
                    if self.out_of_time():
                        return progress
                    digits = str(arg.value)
                    smaller = str(arg.value // 2).ljust(len(digits))
                    cand = text.copy()
                    line = cand.lines[arg.lineno - 1]
                    c = cand._col(arg.lineno, arg.col_offset)
                    if line[c:c + len(digits)] != digits:
                        continue
                    cand.lines[arg.lineno - 1] = line[:c] + smaller + line[c + len(digits):]
                    if self.test(cand):
                        text = progress = cand
        return progress


def _squeeze(source: str) -> str:
    out: list[str] = []
    for line in source.split("\n"):
        line = line.rstrip()
        if not line and len(out) >= 2 and not out[-1] and not out[-2]:
            continue
        out.append(line)
    return "\n".join(out).strip("\n") + "\n"


def main() -> None:
    import argparse
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from fuzz.run import Checker

    ap = argparse.ArgumentParser(description="Reduce a program that diverges under Ember.")
    ap.add_argument("program", type=Path)
    ap.add_argument("--way", default="eager", help="eager or warm (see fuzz/execute.py)")
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("-o", "--output", type=Path)
    args = ap.parse_args()
    checker = Checker(Path(__file__).resolve().parent / ".work" / "reduce")
    source = args.program.read_text()
    target = checker.divergence(source, args.way)
    if target is None:
        sys.exit("the program does not diverge that way")
    reducer = Reducer(lambda s: checker.divergence(s, args.way, quick=True) == target,
                      args.minutes * 60, log=print)
    reduced = reducer.reduce(source)
    (args.output or args.program.with_suffix(".reduced.py")).write_text(reduced)
    print(f"{len(source.splitlines())} -> {len(reduced.splitlines())} lines "
          f"in {reducer.tries} tries")


if __name__ == "__main__":
    main()
