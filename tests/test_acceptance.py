"""The shared acceptance programs, run in place: identical to python3.12 under Ember,
at the default threshold and with everything compiled at first call."""

import json

import pytest

from tests.harness import ACCEPTANCE, assert_same

PROGRAMS = sorted(p.name for p in ACCEPTANCE.glob("*.py"))

# Ember's ways of running a program: the defaults, and eager compilation (threshold 0).
WAYS = {"default": (), "eager": ("-X", "jit-threshold=0")}


def test_acceptance_programs_are_present():
    assert "uncaught.py" in PROGRAMS and len(PROGRAMS) >= 10, ACCEPTANCE


@pytest.mark.parametrize("way", sorted(WAYS))
@pytest.mark.parametrize("program", PROGRAMS)
def test_acceptance_program(program, way, tmp_path):
    stats = tmp_path / "stats.json"
    result = assert_same([str(ACCEPTANCE / program)],
                         ember_args=(*WAYS[way], "-X", f"jit-stats={stats}"), cwd=ACCEPTANCE)
    # A compiler bug that makes a function refused (an exception inside the JIT, LLVM
    # rejecting the module) leaves the output right, the function interpreted: fail on it.
    broken = [f"{r['qualname']}: {r.get('detail', '')}" for r in json.loads(stats.read_text())["refused"]
              if r["reason"] == "internal_error"]
    assert not broken, broken
    if program == "uncaught.py":
        assert result.returncode == 1 and result.stderr.startswith(b"Traceback")
    else:
        assert result.returncode == 0, result.stderr[-2000:]
