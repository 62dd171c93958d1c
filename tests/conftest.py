"""Test-session setup shared by every test directory.

The persistent code cache (ember/codecache.py) defaults to ~/.cache/ember; the tests, and
every Ember process they start, use a fresh directory of their own instead, so a run never
reads code cached by another run or checkout, nor leaves any behind.
"""

import os
import shutil
import tempfile

_CACHE_HOME = tempfile.mkdtemp(prefix="ember-test-cache-")
os.environ["XDG_CACHE_HOME"] = _CACHE_HOME


def pytest_unconfigure(config):
    shutil.rmtree(_CACHE_HOME, ignore_errors=True)
