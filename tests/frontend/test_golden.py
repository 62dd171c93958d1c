"""Golden IR text for each opcode family (see golden.py for the file format)."""

from __future__ import annotations

import pytest

from .golden import all_cases, render, rewrite

CASES = all_cases()


@pytest.mark.parametrize("case", CASES, ids=[f"{c.file.stem}::{c.name}" for c in CASES])
def test_golden(case, update_golden):
    actual = render(case)
    if update_golden:
        if actual != case.expected:
            rewrite(case, actual)
        return
    assert actual == case.expected, (
        f"IR of case {case.name} in {case.file.name} changed; "
        "run `pytest tests/frontend --update-golden` and review the diff"
    )


def test_case_names_unique():
    names = [(c.file.name, c.name) for c in CASES]
    assert len(names) == len(set(names))


def test_cases_cover_every_handled_opcode():
    """Each opcode the frontend handles appears in some golden case."""
    import textwrap
    from types import CodeType

    import ember.frontend  # noqa: F401  (fills the handler table)
    from ember.bytecode import decode
    from ember.bytecode.opcodes import OPNAME
    from ember.frontend.registry import HANDLERS

    def walk(code):
        yield code
        for c in code.co_consts:
            if isinstance(c, CodeType):
                yield from walk(c)

    seen = set()
    for case in CASES:
        top = compile(textwrap.dedent(case.source), case.name, "exec", dont_inherit=True)
        for code in walk(top):
            seen.update(ins.op for ins in decode(code))
    missing = sorted(OPNAME[op] for op in HANDLERS if op not in seen)
    assert not missing, f"no golden case uses {missing}"
