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
