"""The compile server misbehaving (runtime/compileserver.py): the program never waits
for it for long, never hangs, never crashes, and its output is python3.12's.

The faults come from the server's test hook, `EMBER_TEST_SERVER_FAULT=<fault>[@<n>]`
(compileserver.py), which only the server reads. Every timeout here is a subprocess's,
generous, and never an assertion about speed.
"""

from __future__ import annotations

import textwrap

import pytest

from tests import harness

# The code cache off: a warm cache would let the program load everything itself, with no
# server at all (runtime/remote.py).
BACKGROUND = ("-X", "jit-threshold=100", "-X", "jit-background=on", "-X", "jit-cache=off")
EAGER = ("-X", "jit-threshold=100", "-X", "jit-background=off", "-X", "jit-cache=off")
FAULT = "EMBER_TEST_SERVER_FAULT"
FALLBACK = "compiling in this process instead"

# f, g and h get hot one after the other; ember.stats() waits for what was sent (the
# one wait of the background); then they run again, compiled or not. On stderr (only
# under Ember): which of them got compiled, anywhere.
PROGRAM = textwrap.dedent("""
    import sys

    def f(x):
        total = 0
        for i in range(x):
            total += i * i - (i // 3)
        return total

    def g(s, n=2):
        return s * n + s[::-1]

    def h(x):
        return [x, -x] * 2

    for _ in range(300):
        f(20)
    for _ in range(300):
        g("ab")
    for _ in range(300):
        h(1)
    try:
        import ember
        st = ember.stats()
        names = sorted(c["qualname"] for c in st["compiled"] if c["qualname"] in "fgh")
        sys.stderr.write(f"compiled {names}\\n")
    except ImportError:
        pass
    for _ in range(300):
        f(20), g("ab"), h(2)
    print(f(1000), g("xyz"), h(5))
""")
# The same, asking Ember nothing: its stderr is python3.12's too.
PLAIN = PROGRAM.replace("import ember", "raise ImportError")


def _log_lines(stderr: bytes, text: str) -> list[str]:
    return [line for line in stderr.decode().splitlines() if text in line]


def _same_stdout(args: list[str], ember_args: tuple[str, ...], env: dict[str, str]):
    """Run under both: the same stdout and exit status; Ember's result."""
    expected = harness.cpython(args, env=env, timeout=120)
    actual = harness.ember(args, ember_args=ember_args, env=env, timeout=120)
    assert (actual.stdout, actual.returncode) == (expected.stdout, expected.returncode), \
        harness.describe_difference(args, ember_args, expected, actual)
    return actual


def _big_program(functions: int, lines: int) -> str:
    """The program of the issue: many large functions, each hot once, after a sleep."""
    out = ["import time", "time.sleep(0.2)"]
    for i in range(functions):
        out += [f"def f{i}(n, a=1.5, b=2, c='x'):", "    if n < 0:"]
        out += [f"        a = a * {j}.5 + b - len(c) * {j} + (a // {j + 1}.0) - abs(b - {j}); "
                f"b = b + {j} if a > {j} else b - 1; c = c + str({j})[:1]"
                for j in range(lines)]
        out += ["        return a, b, c", "    s = 0", "    for k in range(n):",
                "        s += k", "    return s"]
    out += ["for r in range(3):", "    t = 0"] + [f"    t += f{i}(20000)" for i in range(functions)]
    out += ["print('done', t)"]
    return "\n".join(out) + "\n"


# --- no fault: what used to hang ---------------------------------------------------------


def test_many_large_hot_functions_finish(tmp_path):
    """Issue 24: requests of ~40 KB and replies of ~2 MB filled both pipes, and the
    program's thread waited on its end of one for good. Now it never waits."""
    program = tmp_path / "big.py"
    program.write_text(_big_program(40, 150))
    harness.assert_same([str(program)], ember_args=("-X", "jit-cache=off"), timeout=120)


def test_replies_larger_than_a_pipe_are_installed():
    """Object code of 150 KB per reply (a pipe holds 64 KB): each arrives in pieces, and
    every function is compiled in the server and installed."""
    functions = ""
    for i in range(3):
        lines = [f"def big{i}(n, a=1.5, b=2, c='x'):", "    if n < 0:"]
        lines += [f"        a = a * {j}.5 + b - len(c) * {j} + (a // {j + 1}.0) - abs(b - {j}); "
                  f"b = b + {j} if a > {j} else b - 1; c = c + str({j})[:1]" for j in range(8)]
        lines += ["        return a, b, c", f"    return n + {i}"]
        functions += "\n".join(lines) + "\n"
    program = functions + textwrap.dedent("""
        import sys
        for _ in range(300):
            big0(1), big1(1), big2(1)
        try:
            import ember
            names = sorted(c["qualname"] for c in ember.stats()["compiled"])
            sys.stderr.write(f"compiled {[n for n in names if n.startswith('big')]}\\n")
        except ImportError:
            pass
        print(big0(1), big1(2), big2(-1))
    """)
    r = _same_stdout(["-c", program], BACKGROUND, {})
    assert _log_lines(r.stderr, "compiled [") == ["compiled ['big0', 'big1', 'big2']"], r.stderr


def test_more_hot_functions_than_requests_in_flight():
    """40 functions hot at once, more than MAX_OUTSTANDING: the rest wait (pending) and
    are sent as replies make room; all of them end up compiled."""
    defs = "\n".join(f"def w{i}(x):\n    return x * {i} + {i}\n" for i in range(40))
    program = defs + textwrap.dedent("""
        import sys
        fs = [globals()[f"w{i}"] for i in range(40)]
        for _ in range(300):
            for fn in fs:
                fn(3)
        try:
            import ember
            names = [c["qualname"] for c in ember.stats()["compiled"]]
            sys.stderr.write(f"compiled {sum(n.startswith('w') for n in names)}\\n")
        except ImportError:
            pass
        print(sum(fn(7) for fn in fs))
    """)
    r = _same_stdout(["-c", program], BACKGROUND, {})
    assert _log_lines(r.stderr, "compiled ") == ["compiled 40"], r.stderr


# --- faults ------------------------------------------------------------------------------

FAULTS = {
    # fault: the log line that says so (once)
    "stall": "the compile server stalled",
    "die": "the compile server went away",
    "truncate": "the compile server went away",
    "long-length": "the compile server answered garbage (a message of",
    "short-length": "the compile server answered garbage",
    "marshal": "the compile server answered garbage (ValueError",
    "type": "the compile server answered garbage (('ok', 'a header'",
    "hello": "the compile server did not start",
}


@pytest.mark.parametrize("fault", ["stall", "die", "long-length", "type"])
def test_a_faulty_server_leaves_the_output_exact(fault):
    """Eager mode (the program waits for each compile): the wait ends, the functions are
    compiled in this process instead, and the output is python3.12's, stderr included."""
    harness.assert_same(["-c", PLAIN], ember_args=EAGER, env={FAULT: fault}, timeout=120)


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_faulty_server_is_reported_once(fault):
    """Eager mode, with -X jit-log: the one line that says why, and f, g and h compiled
    all the same (in this process)."""
    r = _same_stdout(["-c", PROGRAM], (*EAGER, "-X", "jit-log"), {FAULT: fault})
    said = _log_lines(r.stderr, FALLBACK)
    assert len(said) == 1 and FAULTS[fault] in said[0], r.stderr
    assert b"Traceback" not in r.stderr, r.stderr
    assert _log_lines(r.stderr, "compiled [") == ["compiled ['f', 'g', 'h']"], r.stderr


@pytest.mark.parametrize("fault", ["stall", "die", "marshal", "type@2", "truncate@2"])
def test_a_faulty_server_in_the_background(fault):
    """The background: the program never waits but in ember.stats(), which is bounded
    too; what the server did not answer is compiled on a thread instead."""
    r = _same_stdout(["-c", PROGRAM], (*BACKGROUND, "-X", "jit-log"), {FAULT: fault})
    assert len(_log_lines(r.stderr, FALLBACK)) == 1, r.stderr
    assert _log_lines(r.stderr, "compiled [") == ["compiled ['f', 'g', 'h']"], r.stderr


def test_a_stalled_server_does_not_hold_the_program(tmp_path):
    """The program of the issue with a server that never answers: it ends as under
    python3.12 (it never waits in the background), and its exit does not wait either."""
    program = tmp_path / "big.py"
    program.write_text(_big_program(20, 20))
    harness.assert_same([str(program)], ember_args=BACKGROUND, env={FAULT: "stall"},
                        timeout=120)


def test_a_dead_server_does_not_raise_sigpipe():
    """A program that restores SIGPIPE's default action (die) while its server dies:
    requests written after the death get EPIPE on Ember's thread, never the signal."""
    program = "import signal\nsignal.signal(signal.SIGPIPE, signal.SIG_DFL)\n" + PLAIN
    harness.assert_same(["-c", program], ember_args=BACKGROUND, env={FAULT: "die"},
                        timeout=120)


def test_the_fault_hook_obeys_dash_e():
    """-E: Ember ignores EMBER_* variables, the test hook too (the server gets none)."""
    r = _same_stdout(["-c", PROGRAM], ("-E", *EAGER, "-X", "jit-log"), {FAULT: "stall"})
    assert not _log_lines(r.stderr, FALLBACK), r.stderr


# --- the request writer (src/ember/_replies.c) ------------------------------------------

WRITER = textwrap.dedent("""
    import errno, os, signal, time
    from ember import _hotness

    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # a write's EPIPE would kill us
    r, w = os.pipe()
    data = bytes(range(256)) * 4096  # 1 MB, 16 pipes' worth, and nobody reads yet
    print("queued", _hotness.replies_send(w, data) == len(data))
    got = bytearray()
    while len(got) < len(data) and _hotness.wait_readable(r, 10000):
        got += os.read(r, 1 << 20)
    print("written in order", bytes(got) == data)

    os.close(r)  # the server is gone
    _hotness.replies_send(w, b"x" * 100000)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            _hotness.replies_send(w, b"")
        except OSError as exc:
            print("reported", exc.errno == errno.EPIPE)
            break
        time.sleep(0.01)
    _hotness.replies_close(w)
    os.close(w)

    r, w = os.pipe()
    os.set_blocking(w, False)
    try:
        while True:
            os.write(w, b"z" * 4096)
    except BlockingIOError:
        pass
    print("waiting", _hotness.replies_send(w, b"y" * 1000) == 1000)
    _hotness.replies_stop()  # as at exit: the thread is gone, the request still waits
    os.close(r)
    _hotness.replies_close(w)  # written here, to a pipe nobody reads any more
    os.close(w)
    print("alive")
""")


def test_the_request_writer_never_blocks_nor_raises_sigpipe():
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", WRITER], capture_output=True,
                          env=harness.environment(), timeout=120)
    assert proc.returncode == 0, proc
    assert proc.stdout.decode().split("\n") == [
        "queued True", "written in order True", "reported True", "waiting True", "alive", ""]
