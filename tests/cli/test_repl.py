"""The interactive REPL, driven through a real pseudo-terminal, against python3.12's."""

import os
import pty
import select
import subprocess
import termios
import time

import pytest

from tests.harness import CORPUS, CPYTHON, EMBER, environment

PROMPT = b">>> "
MORE = b"... "
TIMEOUT = 30


class Terminal:
    """A program on a pty: type lines, read everything it writes, in order."""

    def __init__(self, argv, home, cwd):
        self.master, slave = pty.openpty()
        env = environment({"HOME": str(home), "TERM": "xterm", "COLUMNS": "80", "LINES": "24"})
        self.proc = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env,
            start_new_session=True,
        )
        os.close(slave)
        self.transcript = b""

    def read_until(self, marker: bytes, start: int = 0) -> None:
        """Read until the output written after `start` ends with `marker`."""
        deadline = time.monotonic() + TIMEOUT
        while len(self.transcript) <= start or not self.transcript.endswith(marker):
            if time.monotonic() > deadline:
                raise AssertionError(f"no {marker!r} after: {self.transcript[-400:]!r}")
            if not self._read_some(deadline):
                raise AssertionError(f"exited before {marker!r}: {self.transcript[-400:]!r}")

    def _read_some(self, deadline) -> bool:
        ready, _, _ = select.select([self.master], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            return True
        try:
            data = os.read(self.master, 4096)
        except OSError:  # EIO: the other side is closed
            return False
        self.transcript += data
        return bool(data)

    def wait_for_readline(self) -> None:
        """Keys typed before readline leaves canonical mode can be lost: wait for it."""
        deadline = time.monotonic() + TIMEOUT
        while termios.tcgetattr(self.master)[3] & termios.ICANON:
            if time.monotonic() > deadline:
                raise AssertionError("the terminal never left canonical mode")
            time.sleep(0.005)

    def type(self, keys: bytes, then: bytes = PROMPT) -> None:
        self.wait_for_readline()
        start = len(self.transcript)
        os.write(self.master, keys)
        self.read_until(then, start)

    def finish(self) -> int:
        self.wait_for_readline()
        os.write(self.master, b"\x04")  # Ctrl-D at an empty prompt leaves the REPL
        deadline = time.monotonic() + TIMEOUT
        while self._read_some(deadline) and time.monotonic() < deadline:
            pass
        os.close(self.master)
        return self.proc.wait(timeout=TIMEOUT)


def session(argv, home, cwd, keystrokes, first=PROMPT):
    term = Terminal(argv, home, cwd)
    term.read_until(first)
    for keys in keystrokes:
        # A line that opens a block is answered by the continuation prompt.
        term.type(keys, MORE if keys.startswith(b"def ") or keys.startswith(b"    ") else PROMPT)
    status = term.finish()
    return term.transcript, status


KEYSTROKES = [
    b"x = 6 * 7\r",
    b"x\r",
    b"def f(n):\r",  # continuation prompt
    b"    return n + 1\r",
    b"\r",
    b"f(x)\r",
    b"\x1b[A\r",  # up arrow: history recalls f(x)
    b"rint('edited')\x01p\r",  # Ctrl-A moves to the start of the line
    b"1/0\r",
    b"import sys; sys.ps1\r",
]


@pytest.mark.parametrize("flags", [(), ("-q",)], ids=["banner", "quiet"])
def test_repl_matches_cpython(tmp_path, flags):
    homes = tmp_path / "py", tmp_path / "ember"
    for home in homes:
        home.mkdir()
    expected = session([str(CPYTHON), *flags], homes[0], tmp_path, KEYSTROKES)
    actual = session([str(EMBER), *flags], homes[1], tmp_path, KEYSTROKES)
    text = expected[0].decode()
    assert "43" in text and "edited" in text and "ZeroDivisionError" in text
    assert ("Type \"help\"" in text) == (not flags)
    assert actual == expected
    # readline history is written at exit, as CPython does
    assert (homes[1] / ".python_history").read_bytes() == (homes[0] / ".python_history").read_bytes()


def test_inspect_after_script_matches_cpython(tmp_path):
    script = CORPUS / "cli" / "exit_message.py"
    keys = [b"print(__name__, sys.argv)\r", b"import sys; sys.argv\r"]
    args = ["-i", "-c", "import sys; value = sum(range(10)); print('ran')", "extra"]
    expected = session([str(CPYTHON), *args], tmp_path, tmp_path, keys + [b"value\r"])
    actual = session([str(EMBER), *args], tmp_path, tmp_path, keys + [b"value\r"])
    assert b"45" in expected[0]
    assert actual == expected
    # -i after a script that calls sys.exit: the REPL still starts, as in CPython
    expected = session([str(CPYTHON), "-i", str(script)], tmp_path, tmp_path, [b"1+1\r"])
    actual = session([str(EMBER), "-i", str(script)], tmp_path, tmp_path, [b"1+1\r"])
    assert b"SystemExit" in expected[0]
    assert actual == expected
