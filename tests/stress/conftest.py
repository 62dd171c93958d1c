"""The `stress` marker: slow runs of the stress programs, left out of the default suite
(`make test`) and run by `make stress`, which sets EMBER_STRESS=1."""

import os

import pytest


def pytest_collection_modifyitems(config, items):
    if os.environ.get("EMBER_STRESS") == "1":
        return
    slow = [item for item in items if item.get_closest_marker("stress")]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if not item.get_closest_marker("stress")]


@pytest.fixture
def repeat() -> int:
    """How many times a stress test runs its program (STRESS_REPEAT, `make stress`)."""
    return int(os.environ.get("STRESS_REPEAT", "5"))
