"""Test-session setup shared by every test directory.

The persistent code cache (ember/codecache.py) defaults to ~/.cache/ember; the tests, and
every Ember process they start, use a fresh directory of their own instead, so a run never
reads code cached by another run or checkout, nor leaves any behind.
"""

import os
import shutil
import signal
import tempfile

_CACHE_HOME = tempfile.mkdtemp(prefix="ember-test-cache-")
os.environ["XDG_CACHE_HOME"] = _CACHE_HOME

# A run started where SIGINT is ignored (a background job of a non-interactive shell)
# would pass that on to every program it starts, and CPython then installs no
# KeyboardInterrupt handler: the Ctrl-C tests' programs would not stop. With Python's
# handler here, the programs get SIGINT's default action, as from a terminal (a handled
# signal is reset at exec, an ignored one stays ignored).
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_unconfigure(config):
    shutil.rmtree(_CACHE_HOME, ignore_errors=True)
