"""Parse the text form (see printer.py for the grammar) back into a Function.

Names may be used before the line that defines them (a block printed before its
dominator, or broken IR written for a verifier test), so uses are resolved at the end.
Every error is a `ParseError` carrying the 1-based line number.
"""

from __future__ import annotations

import enum
import re
from typing import Any

from ember.ir import types as T
from ember.ir.consts import ConstRef, ConstSyntaxError, parse_const, relink_value
from ember.ir.core import Block, BlockParam, Edge, ExcHandler, FrameState, Function, Value
from ember.ir.ops.base import OPS, Kind, Op
from ember.ir.ops.constants import Const


class ParseError(Exception):
    def __init__(self, message: str, lineno: int) -> None:
        super().__init__(f"line {lineno}: {message}")
        self.lineno = lineno
        self.message = message


class _Pending(Value):
    """A use of a name whose definition has not been read yet."""

    __slots__ = ("name", "lineno")
    created = 0  # lets a line tell cheaply whether it made any

    def __init__(self, name: str, lineno: int) -> None:
        self.name = name
        self.lineno = lineno
        _Pending.created += 1


_NAME = re.compile(r"%[A-Za-z0-9_.]+")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_INT = re.compile(r"-?[0-9]+")
_TYPE = re.compile(r"[a-z0-9]+(?:\|[a-z0-9]+)*")
_HEAD = re.compile(r"  (?:(%[A-Za-z0-9_.]+): ([a-z0-9|]+) = )?([a-z_][a-z0-9_]*)")
_TYPE_CACHE: dict[str | None, T.Type] = {None: T.Void}
_TYPE_CACHE.update((name, T.parse_type(name)) for name in T.type_names() if name != "void")
_TOK = re.compile(r"%[A-Za-z0-9_.]+|[A-Za-z_][A-Za-z0-9_.]*\(|_|[(),]")
_OPERANDS_FULL = re.compile(r"(?: *(?:%[A-Za-z0-9_.]+|[A-Za-z_][A-Za-z0-9_.]*\(|_|[(),]))* *")
_BLOCK = re.compile(
    r"([A-Za-z_][A-Za-z0-9_.]*)\(((?:%[A-Za-z0-9_.]+: [a-z0-9|]+)(?:, %[A-Za-z0-9_.]+: [a-z0-9|]+)*)?\)"
    r" @(-?[0-9]+):"
)
_TAIL = re.compile(r" *@(-?[0-9]+)( fs\()?")
_NAMES = r"((?:%[A-Za-z0-9_.]+(?:, %[A-Za-z0-9_.]+)*)?)"
_FS = re.compile(
    rf" *@(-?[0-9]+); locals=\[{_NAMES}\]; stack=\[{_NAMES}\]"
    r"(?:; handler=([A-Za-z_][A-Za-z0-9_.]*)/([0-9]+)(/lasti)?)?\)"
)


class _Line:
    """A cursor over one line of text."""

    def __init__(self, text: str, lineno: int) -> None:
        self.text = text
        self.pos = 0
        self.lineno = lineno

    def error(self, message: str) -> ParseError:
        return ParseError(f"{message} (column {self.pos + 1}: {self.text.strip()!r})", self.lineno)

    def ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] == " ":
            self.pos += 1

    def at(self, s: str) -> bool:
        self.ws()
        return self.text.startswith(s, self.pos)

    def accept(self, s: str) -> bool:
        if self.at(s):
            self.pos += len(s)
            return True
        return False

    def expect(self, s: str) -> None:
        if not self.accept(s):
            raise self.error(f"expected {s!r}")

    def match(self, pattern: re.Pattern[str], what: str) -> str:
        self.ws()
        m = pattern.match(self.text, self.pos)
        if not m:
            raise self.error(f"expected {what}")
        self.pos = m.end()
        return m.group(0)

    def int(self) -> int:
        return int(self.match(_INT, "an integer"))

    def const(self) -> object:
        self.ws()
        try:
            value, self.pos = parse_const(self.text, self.pos)
        except ConstSyntaxError as e:
            self.pos = e.pos
            raise self.error(str(e)) from None
        return value

    def type(self) -> T.Type:
        text = self.match(_TYPE, "a type")
        try:
            return T.parse_type(text)
        except ValueError as e:
            raise self.error(str(e)) from None

    def end(self) -> None:
        self.ws()
        if self.pos != len(self.text):
            raise self.error("unexpected text at end of line")


_HEADER_FIELDS: dict[str, tuple[str, type]] = {
    "name": ("name", str),
    "file": ("filename", str),
    "line": ("firstlineno", int),
    "flags": ("flags", int),
    "argcount": ("argcount", int),
    "posonly": ("posonlyargcount", int),
    "kwonly": ("kwonlyargcount", int),
    "varnames": ("varnames", tuple),
    "cellvars": ("cellvars", tuple),
    "freevars": ("freevars", tuple),
    "names": ("names", tuple),
    "consts": ("consts", tuple),
}


class _Parser:
    def __init__(self) -> None:
        self.func = Function("")
        self.values: dict[str, Value] = {}
        self.blocks: dict[str, Block] = {}
        self.block_use: dict[str, int] = {}
        self.defined_blocks: set[str] = set()
        self.pending_ops: list[Op] = []
        self.block: Block | None = None

    # -- values and blocks -------------------------------------------------------------

    def define(self, line: _Line, name: str, v: Value) -> None:
        if name in self.values:
            raise line.error(f"{name} is defined twice")
        self.values[name] = v

    def use(self, line: _Line) -> Value:
        name = line.match(_NAME, "a value like %3")
        v = self.values.get(name)
        if v is None:
            v = _Pending(name, line.lineno)
        return v

    def block_ref(self, line: _Line) -> Block:
        label = line.match(_WORD, "a block label")
        b = self.blocks.get(label)
        if b is None:
            b = self.blocks[label] = Block(label)
            self.block_use[label] = line.lineno
        return b

    # -- lines ---------------------------------------------------------------------------

    def header(self, line: _Line) -> None:
        line.expect("function")
        qualname = line.const()
        if not isinstance(qualname, str):
            raise line.error("expected the quoted qualname")
        self.func.qualname = qualname
        line.expect("{")
        line.end()

    def header_fields(self, line: _Line, seen: set[str]) -> None:
        while True:
            line.ws()
            if line.pos >= len(line.text):
                return
            key = line.match(_WORD, "a header field")
            if key not in _HEADER_FIELDS:
                raise line.error(f"unknown header field {key!r}")
            if key in seen:
                raise line.error(f"header field {key!r} given twice")
            seen.add(key)
            line.expect("=")
            attr, kind = _HEADER_FIELDS[key]
            value = line.const()
            if type(value) is not kind:
                raise line.error(f"header field {key!r} must be {kind.__name__}")
            if key in ("varnames", "cellvars", "freevars", "names") and not all(
                isinstance(s, str) for s in value  # type: ignore[attr-defined]
            ):
                raise line.error(f"{key} must be a tuple of strings")
            setattr(self.func, attr, value)

    def block_header(self, line: _Line) -> None:
        m = _BLOCK.fullmatch(line.text)
        if m is not None:
            params = m.group(2).split(", ") if m.group(2) else []
            parsed = [p.split(": ", 1) for p in params]
            if all(len(p) == 2 and p[1] in _TYPE_CACHE and p[1] != "void" for p in parsed):
                block = self.open_block(line, m.group(1))
                for name, tname in parsed:
                    bp = BlockParam(_TYPE_CACHE[tname])
                    self.define(line, name, bp)
                    block.params.append(bp)
                block.offset = int(m.group(3))
                return
        label = line.match(_WORD, "a block label")
        block = self.open_block(line, label)
        line.expect("(")
        while not line.accept(")"):
            if block.params:
                line.expect(",")
            name = line.match(_NAME, "a parameter like %0")
            line.expect(":")
            p = BlockParam(line.type())
            self.define(line, name, p)
            block.params.append(p)
        line.expect("@")
        block.offset = line.int()
        line.expect(":")
        line.end()

    def open_block(self, line: _Line, label: str) -> Block:
        if label in self.defined_blocks:
            raise line.error(f"block {label} is defined twice")
        self.defined_blocks.add(label)
        block = self.blocks.get(label)
        if block is None:
            block = self.blocks[label] = Block(label)
        self.func.blocks.append(block)
        self.block = block
        return block

    def op_line(self, line: _Line) -> None:
        block = self.block
        assert block is not None
        result_name: str | None = None
        result_type = T.Void
        pending_before = _Pending.created
        head = _HEAD.match(line.text)
        if head is not None and head.group(2) in _TYPE_CACHE:
            # The printer's exact spacing: skip the character-level scanner.
            result_name = head.group(1)
            if result_name is not None:
                result_type = _TYPE_CACHE[head.group(2)]
            line.pos = head.end(3)
            opname = head.group(3)
        elif line.at("%"):
            result_name = line.match(_NAME, "a value name")
            line.expect(":")
            result_type = line.type()
            if result_type == T.Void:
                raise line.error("a result cannot have type void; leave the result out")
            line.expect("=")
            opname = line.match(_WORD, "an op name")
        else:
            opname = line.match(_WORD, "an op name")
        cls = OPS.get(opname)
        if cls is None:
            raise line.error(f"unknown op {opname!r}")
        kwargs: dict[str, Any] = {}
        attr_fields = [f for f in cls.op_fields if f.kind is Kind.ATTR]
        if line.accept("["):
            for i, f in enumerate(attr_fields):
                if i:
                    line.expect(",")
                key = line.match(_WORD, f"attribute {f.name!r}")
                if key != f.name:
                    raise line.error(f"{opname}: expected attribute {f.name!r}, got {key!r}")
                line.expect("=")
                kwargs[f.name] = self.attr(line, opname, f.name, f.attr_type)
            line.expect("]")
        elif attr_fields:
            raise line.error(f"{opname} needs attributes [{', '.join(f.name for f in attr_fields)}]")
        if not self.fast_operands(line, cls, kwargs):
            self.slow_operands(line, cls, kwargs)
        tail = _TAIL.match(line.text, line.pos)
        if tail is not None:
            offset = int(tail.group(1))
            line.pos = tail.end()
            has_fs = tail.group(2) is not None
        else:
            line.expect("@")
            offset = line.int()
            has_fs = line.accept("fs(")
        frame_state = self.frame_state(line) if has_fs else None
        line.end()
        op = cls(offset=offset, type=result_type, frame_state=frame_state, **kwargs)
        if result_name is not None:
            self.define(line, result_name, op)
        if _Pending.created != pending_before:
            self.pending_ops.append(op)
        if op.is_terminator:
            if block.terminator is not None:
                raise line.error(f"block {block.label} has a second terminator")
            block.terminator = op
        else:
            if block.terminator is not None:
                raise line.error(f"op after the terminator of block {block.label}")
            block.ops.append(op)

    def fast_operands(self, line: _Line, cls: type[Op], kwargs: dict[str, Any]) -> bool:
        """Operands in the printer's own layout, by regex; False (nothing consumed) if the
        text is anything else, so `slow_operands` can say precisely what is wrong."""
        text = line.text
        at = text.find("@", line.pos)
        if at < 0:
            return False
        seg = text[line.pos : at]
        if not _OPERANDS_FULL.fullmatch(seg):
            return False
        toks = _TOK.findall(seg)
        get = self.values.get
        lineno = line.lineno
        i, n = 0, len(toks)
        out: dict[str, Any] = {}

        def names_until_close() -> list[Value] | None:
            nonlocal i
            vals: list[Value] = []
            while i < n and toks[i] != ")":
                if vals:
                    if toks[i] != ",":
                        return None
                    i += 1
                if i >= n or toks[i][0] != "%":
                    return None
                v = get(toks[i])
                vals.append(v if v is not None else _Pending(toks[i], lineno))
                i += 1
            if i >= n:
                return None
            i += 1
            return vals

        first = True
        for f in cls.op_fields:
            kind = f.kind
            if kind is Kind.ATTR:
                continue
            if not first and i >= n and _may_omit(cls, f):
                out[f.name] = ()
                continue
            if not first:
                if i >= n or toks[i] != ",":
                    return False
                i += 1
            first = False
            if i >= n:
                return False
            tok = toks[i]
            if kind is Kind.OPERAND or (kind is Kind.OPT_OPERAND and tok != "_"):
                if tok[0] != "%":
                    return False
                v = get(tok)
                out[f.name] = v if v is not None else _Pending(tok, lineno)
                i += 1
            elif kind is Kind.OPT_OPERAND:
                out[f.name] = None
                i += 1
            elif kind is Kind.OPERANDS:
                if tok != "(":
                    return False
                i += 1
                vals = names_until_close()
                if vals is None:
                    return False
                out[f.name] = tuple(vals)
            else:  # EDGE
                if not tok.endswith("(") or tok == "(":
                    return False
                label = tok[:-1]
                i += 1
                vals = names_until_close()
                if vals is None:
                    return False
                target = self.blocks.get(label)
                if target is None:
                    target = self.blocks[label] = Block(label)
                    self.block_use[label] = lineno
                out[f.name] = Edge(target, tuple(vals))
        if i != n:
            return False
        kwargs.update(out)
        line.pos = at
        return True

    def slow_operands(self, line: _Line, cls: type[Op], kwargs: dict[str, Any]) -> None:
        first = True
        for f in cls.op_fields:
            if f.kind is Kind.ATTR:
                continue
            if not first and _may_omit(cls, f) and not line.accept(","):
                kwargs[f.name] = ()
                continue
            if not first:
                line.expect(",")
            first = False
            if f.kind is Kind.OPERAND:
                kwargs[f.name] = self.use(line)
            elif f.kind is Kind.OPT_OPERAND:
                kwargs[f.name] = None if line.accept("_") else self.use(line)
            elif f.kind is Kind.OPERANDS:
                kwargs[f.name] = tuple(self.value_list(line, "(", ")"))
            elif f.kind is Kind.EDGE:
                target = self.block_ref(line)
                kwargs[f.name] = Edge(target, tuple(self.value_list(line, "(", ")")))

    def attr(self, line: _Line, opname: str, name: str, attr_type: Any) -> object:
        if isinstance(attr_type, type) and issubclass(attr_type, enum.Enum):
            word = line.match(_WORD, f"a value for {name}")
            try:
                return attr_type(word)
            except ValueError:
                allowed = ", ".join(str(m.value) for m in attr_type)
                raise line.error(f"{opname}: bad {name} {word!r} (one of: {allowed})") from None
        if attr_type is str and not line.at("'") and not line.at('"'):
            return line.match(_WORD, f"a name for {name}")
        value = line.const()
        ok = {
            int: lambda v: type(v) is int,
            bool: lambda v: type(v) is bool,
            str: lambda v: type(v) is str,
            tuple: lambda v: type(v) is tuple and all(type(s) is str for s in v),
            object: lambda v: True,
        }[attr_type](value)
        if not ok:
            want = "tuple of str" if attr_type is tuple else attr_type.__name__
            raise line.error(f"{opname}: attribute {name} must be {want}, got {value!r}")
        return value

    def value_list(self, line: _Line, open_: str, close: str) -> list[Value]:
        line.expect(open_)
        # Names cannot contain the closing bracket, so the list ends at the first one.
        end = line.text.find(close, line.pos)
        if end < 0:
            raise line.error(f"expected {close!r}")
        inner = line.text[line.pos : end].strip()
        values: list[Value] = []
        if inner:
            for name in inner.split(","):
                name = name.strip()
                if not _NAME.fullmatch(name):
                    raise line.error(f"expected a value like %3, got {name!r}")
                v = self.values.get(name)
                values.append(v if v is not None else _Pending(name, line.lineno))
        line.pos = end + 1
        return values

    def frame_state(self, line: _Line) -> FrameState:
        m = _FS.match(line.text, line.pos)
        if m is None:
            return self.frame_state_slow(line)
        line.pos = m.end()
        locals_ = tuple(self.names_in(m.group(2), line.lineno))
        stack = tuple(self.names_in(m.group(3), line.lineno))
        handler = None
        if m.group(4):
            label = m.group(4)
            block = self.blocks.get(label)
            if block is None:
                block = self.blocks[label] = Block(label)
                self.block_use[label] = line.lineno
            handler = ExcHandler(block, int(m.group(5)), bool(m.group(6)))
        return FrameState(int(m.group(1)), locals_, stack, handler)

    def names_in(self, text: str, lineno: int) -> list[Value]:
        if not text:
            return []
        get = self.values.get
        out: list[Value] = []
        for name in text.split(", "):
            v = get(name)
            out.append(v if v is not None else _Pending(name, lineno))
        return out

    def frame_state_slow(self, line: _Line) -> FrameState:
        """Anything the fast pattern rejects; reports where the syntax is wrong."""
        line.expect("@")
        offset = line.int()
        line.expect(";")
        line.expect("locals=")
        locals_ = self.value_list(line, "[", "]")
        line.expect(";")
        line.expect("stack=")
        stack = self.value_list(line, "[", "]")
        handler = None
        if line.accept(";"):
            line.expect("handler=")
            block = self.block_ref(line)
            line.expect("/")
            depth = line.int()
            lasti = line.accept("/lasti")
            handler = ExcHandler(block, depth, lasti)
        line.expect(")")
        return FrameState(offset, tuple(locals_), tuple(stack), handler)

    # -- driver --------------------------------------------------------------------------

    def run(self, text: str) -> Function:
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        i = 0
        while i < len(lines) and not lines[i].strip():
            i += 1
        if i == len(lines):
            raise ParseError("empty input: expected `function '<qualname>' {`", 1)
        self.header(_Line(lines[i], i + 1))
        i += 1
        seen: set[str] = set()
        closed = False
        for j in range(i, len(lines)):
            line = _Line(lines[j], j + 1)
            raw = lines[j]
            if closed:
                if raw.strip():
                    raise line.error("text after the closing '}'")
                continue
            if not raw.strip():
                continue
            if raw == "}":
                closed = True
            elif not raw.startswith(" "):
                self.block_header(line)
            elif self.block is None:
                self.header_fields(line, seen)
            else:
                self.op_line(line)
        if not closed:
            raise ParseError("missing the closing '}'", len(lines) + 1)
        missing = [k for k in _HEADER_FIELDS if k not in seen]
        if missing:
            raise ParseError(f"missing header fields: {', '.join(missing)}", i + 1)
        for label in self.blocks:
            if label not in self.defined_blocks:
                raise ParseError(f"block {label} is used but never defined", self.block_use[label])
        self.resolve()
        return self.func

    def resolve(self) -> None:
        for op in self.pending_ops:
            for v in op.uses():
                if type(v) is _Pending:
                    real = self.values.get(v.name)  # type: ignore[attr-defined]
                    if real is None:
                        raise ParseError(f"{v.name} is used but never defined", v.lineno)  # type: ignore[attr-defined]
                    op.replace_uses(v, real)


def parse_function(text: str) -> Function:
    return _Parser().run(text)


def relink(func: Function, consts: tuple[object, ...]) -> None:
    """Swap `<desc #i>` placeholders for the real objects, given the code's co_consts."""
    if len(consts) != len(func.consts):
        raise ValueError(f"{len(consts)} constants given, function has {len(func.consts)}")
    func.consts = tuple(relink_value(c, consts) for c in func.consts)
    for op in func.all_ops():
        if isinstance(op, Const) and type(op.value) is ConstRef:
            op.value = relink_value(op.value, consts)


def _may_omit(cls: type[Op], f) -> bool:
    """An operand list that defaults to empty may be left out of the text when empty, as
    the printer leaves it (a hand-written `return %v` has no `locals`)."""
    if f.kind is not Kind.OPERANDS:
        return False
    return cls.__dataclass_fields__[f.name].default == ()
