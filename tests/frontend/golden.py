"""Golden IR cases: `tests/frontend/cases/<family>.test` files, in this format:

    [case name]            (add `module` after the name to include the module's own code)
    <python source>
    [out]
    <expected IR text of every code object in the source, nested ones included>

Code objects are printed in definition order (depth first), the module's own code object
only with `module`, each function's IR followed by one blank line.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from types import CodeType

from ember.ir.printer import print_function
from ember.ir.verify import verify
from ember.pipeline import build_ir

CASES_DIR = Path(__file__).parent / "cases"
_HEADER = re.compile(r"^\[case ([A-Za-z0-9_]+)( module)?\]$", re.M)


@dataclass
class Case:
    file: Path
    name: str
    with_module: bool
    source: str
    expected: str


def load_cases(path: Path) -> list[Case]:
    text = path.read_text()
    cases = []
    heads = list(_HEADER.finditer(text))
    for i, m in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        body = text[m.end() + 1 : end]
        source, sep, out = body.partition("[out]\n")
        if not sep:
            raise ValueError(f"{path}: case {m.group(1)} has no [out] section")
        cases.append(Case(path, m.group(1), bool(m.group(2)), source, out.rstrip("\n")))
    return cases


def all_cases() -> list[Case]:
    return [c for p in sorted(CASES_DIR.glob("*.test")) for c in load_cases(p)]


def _walk(code: CodeType):
    yield code
    for c in code.co_consts:
        if isinstance(c, CodeType):
            yield from _walk(c)


def render(case: Case) -> str:
    top = compile(textwrap.dedent(case.source), f"<{case.name}>", "exec", dont_inherit=True)
    parts = []
    for code in _walk(top):
        if code is top and not case.with_module:
            continue
        func = build_ir(code)
        verify(func)
        parts.append(print_function(func).rstrip("\n"))
    return "\n\n".join(parts)


def rewrite(case: Case, actual: str) -> None:
    """Replace this case's [out] section in its file."""
    text = case.file.read_text()
    heads = list(_HEADER.finditer(text))
    for i, m in enumerate(heads):
        if m.group(1) != case.name:
            continue
        end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        body = text[m.end() + 1 : end]
        source, _, _ = body.partition("[out]\n")
        tail = "\n" if i + 1 < len(heads) else ""
        new = f"{source}[out]\n{actual}\n{tail}"
        case.file.write_text(text[: m.end() + 1] + new + text[end:])
        return
    raise KeyError(case.name)
