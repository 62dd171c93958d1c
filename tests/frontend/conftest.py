"""`pytest --update-golden` rewrites the expected IR in tests/frontend/cases/*.test from the
current frontend; review the result with `git diff` before committing."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite the [out] sections of tests/frontend/cases/*.test",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))
