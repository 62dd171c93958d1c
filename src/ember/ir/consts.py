"""Exact text for constants.

`repr` is not enough: `nan`, `inf` and `-0j` do not survive `ast.literal_eval`, frozensets
have no literal form, and set iteration order is not a property of the value. So constants
print in a small grammar of their own, which `parse_const` reads back to an equal object
(bit-equal for floats):

    None True False ...               42  0x1f (ints of more than 4000 digits)
    1.5  -0.0  inf  -inf  nan  nan:0x7ff8000000000001 (a NaN with another payload)
    complex(1.0, -0.0)   'str'  b'bytes'   (1, 'a')  (1,)  ()
    frozenset({1, 2}) (items sorted by their text)    frozenset()
    <code f #3>  any other object: a description and its index in `Function.consts`
"""

from __future__ import annotations

import ast
import math
import re
import struct
import warnings
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ConstRef:
    """A non-literal constant read back from text: `index` into the code's co_consts
    (None if the printer could not find it there). `relink` swaps in the real object."""

    desc: str
    index: int | None

    def __str__(self) -> str:
        return f"<{self.desc} #{'?' if self.index is None else self.index}>"


_CANONICAL_NAN = struct.unpack("<Q", struct.pack("<d", math.nan))[0]
_HUGE_INT_BITS = 13000  # ~4000 decimal digits: past sys.int_info.default_max_str_digits


def is_literal(value: object) -> bool:
    t = type(value)
    if t in (tuple, frozenset):
        return all(is_literal(v) for v in value)  # type: ignore[attr-defined]
    return t in _LITERAL_TYPES or value is None or value is Ellipsis


_LITERAL_TYPES = (bool, int, float, complex, str, bytes)


def describe(value: object) -> str:
    qualname = getattr(value, "co_qualname", None)
    if isinstance(qualname, str):
        return f"code {qualname}"
    return type(value).__name__


def _float(x: float) -> str:
    if math.isnan(x):
        bits = struct.unpack("<Q", struct.pack("<d", x))[0]
        return "nan" if bits == _CANONICAL_NAN else f"nan:{bits:#x}"
    return repr(x)


def format_const(value: object, index_of: dict[int, int] | None = None) -> str:
    """The text of `value`. `index_of` maps id(obj) -> co_consts index for non-literals."""
    if value is None or value is True or value is False:
        return repr(value)
    if value is Ellipsis:
        return "..."
    t = type(value)
    if t is int:
        if value.bit_length() > _HUGE_INT_BITS:  # type: ignore[attr-defined]
            return hex(value)  # type: ignore[arg-type]
        return repr(value)
    if t is float:
        return _float(value)  # type: ignore[arg-type]
    if t is complex:
        return f"complex({_float(value.real)}, {_float(value.imag)})"  # type: ignore[attr-defined]
    if t is str or t is bytes:
        return repr(value)
    if t is tuple:
        items = [format_const(v, index_of) for v in value]  # type: ignore[attr-defined]
        if len(items) == 1:
            return f"({items[0]},)"
        return "(" + ", ".join(items) + ")"
    if t is frozenset:
        if not value:
            return "frozenset()"
        items = sorted(format_const(v, index_of) for v in value)  # type: ignore[attr-defined]
        return "frozenset({" + ", ".join(items) + "})"
    if t is ConstRef:
        return str(value)
    index = None if index_of is None else index_of.get(id(value))
    return str(ConstRef(describe(value), index))


class ConstSyntaxError(ValueError):
    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.pos = pos


_NUMBER = re.compile(r"-?(?:0x[0-9a-fA-F]+|inf|nan(?::0x[0-9a-fA-F]+)?|[0-9][0-9_]*(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?)")
_STRING = re.compile(r"""b?(?:'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")""")
_REF = re.compile(r"<([^\n]*?) #(\d+|\?)>")
_WORDS = {"None": None, "True": True, "False": False, "...": Ellipsis, "Ellipsis": Ellipsis}


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] == " ":
        pos += 1
    return pos


def _number(tok: str) -> int | float:
    body = tok.lstrip("-")
    sign = -1 if tok.startswith("-") else 1
    if body.startswith("nan"):
        if ":" in body:
            bits = int(body.split(":", 1)[1], 16)
            return struct.unpack("<d", struct.pack("<Q", bits))[0]
        return -math.nan if sign < 0 else math.nan
    if body == "inf":
        return sign * math.inf
    if body.startswith("0x"):
        return sign * int(body, 16)
    if any(c in body for c in ".eE"):
        return float(tok)
    return int(tok)


def parse_const(text: str, pos: int = 0) -> tuple[object, int]:
    """Parse one constant at `text[pos:]`; return it and the position after it."""
    pos = _skip(text, pos)
    if pos >= len(text):
        raise ConstSyntaxError("expected a constant, found end of line", pos)
    c = text[pos]
    if c == "(":
        items, pos, trailing_comma = _items(text, pos + 1, ")")
        if len(items) == 1 and not trailing_comma:
            raise ConstSyntaxError("one-item tuple needs a trailing comma", pos)
        return tuple(items), pos
    if text.startswith("frozenset(", pos):
        pos = _skip(text, pos + len("frozenset("))
        if text.startswith(")", pos):
            return frozenset(), pos + 1
        if not text.startswith("{", pos):
            raise ConstSyntaxError("expected '{' in frozenset", pos)
        items, pos, _ = _items(text, pos + 1, "}")
        pos = _skip(text, pos)
        if not text.startswith(")", pos):
            raise ConstSyntaxError("expected ')' after frozenset items", pos)
        return frozenset(items), pos + 1
    if text.startswith("complex(", pos):
        items, end, _ = _items(text, pos + len("complex("), ")")
        if len(items) != 2 or not all(type(i) is float for i in items):
            raise ConstSyntaxError("complex() takes two float parts", pos)
        return complex(items[0], items[1]), end
    if c == "<":
        m = _REF.match(text, pos)
        if not m:
            raise ConstSyntaxError("bad constant reference, expected <desc #index>", pos)
        index = None if m.group(2) == "?" else int(m.group(2))
        return ConstRef(m.group(1), index), m.end()
    m = _STRING.match(text, pos)
    if m:
        lit = m.group(0)
        if "\\" not in lit:
            # No escapes: the characters between the quotes are the value (repr of bytes
            # escapes everything outside printable ASCII, so latin-1 is exact).
            return (lit[2:-1].encode("latin-1") if lit[0] == "b" else lit[1:-1]), m.end()
        try:
            with warnings.catch_warnings():
                # An invalid escape such as '\q' is a warning to Python, an error here.
                warnings.simplefilter("error")
                return ast.literal_eval(lit), m.end()
        except (SyntaxError, ValueError, SyntaxWarning, DeprecationWarning) as e:
            raise ConstSyntaxError(f"bad string literal {lit!r}: {e}", pos) from None
    m = _NUMBER.match(text, pos)
    if m:
        end = m.end()
        if end < len(text) and (text[end].isalnum() or text[end] == "_"):
            raise ConstSyntaxError(f"bad number {text[pos:end + 1]!r}", pos)
        try:
            return _number(m.group(0)), end
        except ValueError as e:
            raise ConstSyntaxError(f"bad number {m.group(0)!r}: {e}", pos) from None
    for word, value in _WORDS.items():
        end = pos + len(word)
        if text.startswith(word, pos) and not (end < len(text) and text[end].isalnum()):
            return value, end
    raise ConstSyntaxError(f"expected a constant at {text[pos:pos + 20]!r}", pos)


def _items(text: str, pos: int, close: str) -> tuple[list[object], int, bool]:
    items: list[object] = []
    trailing_comma = False
    while True:
        pos = _skip(text, pos)
        if text.startswith(close, pos):
            return items, pos + 1, trailing_comma
        if items and not trailing_comma:
            raise ConstSyntaxError(f"expected ',' or {close!r}", pos)
        item, pos = parse_const(text, pos)
        items.append(item)
        pos = _skip(text, pos)
        trailing_comma = text.startswith(",", pos)
        if trailing_comma:
            pos += 1


def relink_value(value: object, consts: tuple[object, ...]) -> object:
    if type(value) is ConstRef and value.index is not None:  # type: ignore[attr-defined]
        return consts[value.index]  # type: ignore[attr-defined]
    return value
