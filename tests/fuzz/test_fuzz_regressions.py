"""The fuzzer's findings, reduced: each program in cases/ runs under python3.12 and under
Ember with the flags its `# flags:` line names, and must print the same bytes.

A case whose cause is still open is a strict xfail naming it (`OPEN`), so that the fix
shows as an unexpected pass and the entry is removed then.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness import assert_same

CASES = Path(__file__).resolve().parent / "cases"

#: case name -> the open cause.
OPEN: dict[str, str] = {}


def _flags(path: Path) -> tuple[str, ...]:
    for line in path.read_text().splitlines():
        if line.startswith("# flags:"):
            return tuple(line.split(":", 1)[1].split())
    return ("-X", "jit-threshold=0")


def _cases():
    for path in sorted(CASES.glob("*.py")):
        marks = [pytest.mark.xfail(strict=True, reason=OPEN[path.stem])] \
            if path.stem in OPEN else []
        yield pytest.param(path, id=path.stem, marks=marks)


@pytest.mark.parametrize("path", list(_cases()))
def test_case(path: Path):
    assert_same([str(path)], ember_args=_flags(path), timeout=300)
