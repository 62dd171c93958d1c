"""Compiling in a compile server (runtime/compileserver.py): the program's process loads
the machine code without LLVM, keeps its output, and leaves no process behind."""

from __future__ import annotations

import os
import textwrap
import time

import pytest

from tests import harness

# The code cache off: a warm cache would let the program load everything itself, with no
# server at all (runtime/remote.py); these tests are about the server.
SERVER = ("-X", "jit-threshold=100", "-X", "jit-background=1", "-X", "jit-cache=off")
CACHED = SERVER[:4]
ENV: dict[str, str] = {}

# Makes f and g hot, then waits (running them) until the JIT decided both, so the rest
# runs native code; prints what CPython prints, and on stderr what only Ember knows.
HOT = textwrap.dedent("""
    import sys, time

    def f(x):
        total = 0
        for i in range(x):
            total += i * i - (i // 3)
        return total

    def g(s, n=2):
        try:
            return s * n + undefined_name
        except NameError as e:
            return str(e) + s[::-1]

    for _ in range(300):
        f(20), g("ab")
    try:
        import ember
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            f(20), g("ab")
            st = ember.stats()
            if sum(c["qualname"] in "fg" for c in st["compiled"] + st["refused"]) >= 2:
                break
            time.sleep(0.01)
        sys.stderr.write(f"compiled {sorted(c['qualname'] for c in st['compiled'] if c['qualname'] in 'fg')} "
                         f"llvmlite {'llvmlite' in sys.modules}\\n")
    except ImportError:
        pass
    print(f(1000), g("xyz"), g("q", n=3))
    {tail}
""")


def _server_lines(stderr: bytes) -> list[str]:
    return [line for line in stderr.decode().splitlines() if line.startswith("compiled ")]


def test_compiled_in_the_server_and_loaded_without_llvm():
    expected = harness.cpython(["-c", HOT.replace("{tail}", "")])
    r = harness.ember(["-c", HOT.replace("{tail}", "")], ember_args=SERVER, env=ENV)
    assert r.returncode == 0, r.stderr
    assert r.stdout == expected.stdout
    assert _server_lines(r.stderr) == ["compiled ['f', 'g'] llvmlite False"], r.stderr


def test_a_fresh_server_loads_from_the_cache_and_honours_its_setting(tmp_path):
    """With `-X jit-cache=off` nothing is written to the cache. The first run fills it;
    the second loads both functions and the shared helpers they call from it (in the
    program's process, without a server)."""
    program = HOT.replace("{tail}", "")
    expected = harness.cpython(["-c", program])
    off = tmp_path / "off"
    r = harness.ember(["-c", program], ember_args=SERVER,
                      env={"XDG_CACHE_HOME": str(off)})
    assert r.stdout == expected.stdout and _server_lines(r.stderr) == [
        "compiled ['f', 'g'] llvmlite False"], r.stderr
    assert not (off / "ember").exists()
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg")}
    for run in ("fills the cache", "loads from it"):
        r = harness.ember(["-c", program], ember_args=(*CACHED, "-X", "jit-log"), env=env)
        assert r.returncode == 0, r.stderr
        assert r.stdout == expected.stdout
        assert _server_lines(r.stderr) == ["compiled ['f', 'g'] llvmlite False"], r.stderr
        started = b"ember: compile server started" in r.stderr
        assert started == (run == "fills the cache"), r.stderr
    assert any((tmp_path / "xdg" / "ember").rglob("*"))


@pytest.mark.parametrize("tail", [
    "",
    "sys.exit(3)",
    "raise ValueError('done')",
    "import os; sys.stdout.flush(); os._exit(4)",
])
def test_exit_while_the_server_compiles_is_invisible(tail):
    # Hot at 100 calls, then the program ends at once: the compile is still under way.
    program = textwrap.dedent(f"""
        import sys
        def f(x):
            return [i * x for i in range(x)]
        for i in range(300):
            f(5)
        print(sum(f(10)))
        {tail}
    """)
    harness.assert_same(["-c", program], ember_args=SERVER, env=ENV)


def _server_pids() -> set[int]:
    """Compile servers running now (any program's)."""
    pids = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if b"ember.runtime.compileserver" in cmd:
            pids.add(int(entry))
    return pids


def test_the_server_ends_with_the_program():
    program = HOT.replace("{tail}", textwrap.dedent("""
        import ember.runtime as rt
        client = rt.current().remote.client
        print("server", client is not None and client.pid is not None)
        sys.stdout.flush()
        with open(sys.argv[1], "w") as out:
            out.write(str(client.pid))
    """))
    import tempfile

    with tempfile.NamedTemporaryFile("r") as pidfile:
        r = harness.ember(["-c", program, pidfile.name], ember_args=SERVER, env=ENV)
        assert r.returncode == 0, r.stderr
        assert r.stdout.endswith(b"server True\n"), r.stdout
        pid = int(pidfile.read())
    deadline = time.monotonic() + 10
    while pid in _server_pids() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pid not in _server_pids()


def test_a_program_that_ends_first_still_fills_the_cache(tmp_path):
    """The program ends right after f got hot, before its server could answer: the
    server still compiles f into the cache and then ends, so the next run loads f from
    the cache in its own process and starts no server."""
    program = textwrap.dedent("""
        def f(x):
            return [i * x for i in range(x)]
        for i in range(300):
            f(5)
        print(sum(f(10)))
    """)
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg")}
    before = _server_pids()
    first = harness.ember(["-c", program], ember_args=(*CACHED, "-X", "jit-log"), env=env)
    assert first.stdout == b"450\n", first
    deadline = time.monotonic() + 30
    while _server_pids() - before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _server_pids() - before, "the server outlived its grace"
    stats = tmp_path / "stats.json"
    second = harness.ember(["-c", program], env=env,
                           ember_args=(*CACHED, "-X", "jit-log", "-X", f"jit-stats={stats}"))
    assert second.stdout == b"450\n" and b"compile server started" not in second.stderr, second
    import json

    compiled = json.loads(stats.read_text())["compiled"]
    assert [(c["qualname"], c["cached"]) for c in compiled if c["qualname"] == "f"] == [
        ("f", True)], compiled


def test_a_server_that_dies_leaves_the_program_correct():
    # The server is killed before the second function gets hot: that one compiles on a
    # thread instead (in this process), and the output does not change.
    program = textwrap.dedent("""
        import os, signal, sys, time
        def f(x):
            return x * 3 - 1
        def g(x):
            return [x] * 2
        for _ in range(300):
            f(2)
        try:
            import ember, ember.runtime as rt
            ember.stats()
            os.kill(rt.current().remote.client.pid, signal.SIGKILL)
        except ImportError:
            pass
        for _ in range(300):
            g(2)
        try:
            import ember
            st = ember.stats()
            sys.stderr.write(f"compiled {sorted(c['qualname'] for c in st['compiled'] if c['qualname'] in 'fg')}\\n")
        except ImportError:
            pass
        print(f(5), g(7))
    """)
    expected = harness.cpython(["-c", program])
    r = harness.ember(["-c", program], ember_args=SERVER, env=ENV)
    assert r.returncode == 0, r.stderr
    assert r.stdout == expected.stdout
    assert _server_lines(r.stderr) == ["compiled ['f', 'g']"], r.stderr


def test_a_forked_child_gets_its_own_server():
    program = textwrap.dedent("""
        import os, sys
        def f(x):
            return x + 1
        def g(x):
            return x * 2
        for _ in range(300):
            f(1)
        try:
            import ember
            ember.stats()
        except ImportError:
            pass
        pid = os.fork()
        for _ in range(300):
            g(1)
        try:
            import ember
            names = sorted(c["qualname"] for c in ember.stats()["compiled"] if c["qualname"] in "fg")
            sys.stderr.write(f"compiled {names}\\n")
        except ImportError:
            pass
        print("child" if pid == 0 else "parent", f(1), g(2))
        sys.stdout.flush()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
    """)
    expected = harness.cpython(["-c", program])
    r = harness.ember(["-c", program], ember_args=SERVER, env=ENV)
    assert r.returncode == 0, r.stderr
    assert sorted(r.stdout.splitlines()) == sorted(expected.stdout.splitlines())
    assert _server_lines(r.stderr) == ["compiled ['f', 'g']"] * 2, r.stderr


def test_no_python_thread_while_the_server_compiles():
    """Replies are installed on the program's thread: while compiles are under way there
    is no Python thread of Ember's (the native watcher of _replies.c is none), os.fork()
    in __main__ gives no 'multi-threaded' DeprecationWarning (3.12 counts the OS
    threads), and once nothing is pending the process is back to one OS thread."""
    program = textwrap.dedent("""
        import os, sys, threading, time, _thread
        def os_threads():
            return int(open("/proc/self/stat").read().rsplit(")", 1)[1].split()[17])
        def f(x):
            return [i * x for i in range(x)]
        def g(s):
            return s.upper() + s
        for _ in range(500):
            f(3), g("a")
        print("threads", threading.active_count(), _thread._count())
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            os._exit(7)
        _, status = os.waitpid(pid, 0)
        print("child", os.waitstatus_to_exitcode(status), sum(f(4)), g("b"))
        # The count that ends the wait is the one printed: os_threads() itself gets hot
        # in this loop, and its own compile may start a worker again after the wait.
        deadline = time.monotonic() + 60
        n = os_threads()
        while n != 1 and time.monotonic() < deadline:
            time.sleep(0.01)
            n = os_threads()
        print("os threads once compiled", n)
    """)
    harness.assert_same(["-c", program], ember_args=SERVER)


def test_ctrl_c_interrupts_a_sleep_while_compiles_are_pending():
    """SIGINT reaches the main thread (the watcher thread blocks all signals), so a
    time.sleep() under way is cut short exactly as under CPython."""
    program = textwrap.dedent("""
        import os, signal, threading, time
        def f(x):
            return [i * x for i in range(x)]
        for _ in range(500):
            f(3)
        if os.fork() == 0:
            time.sleep(0.3)
            os.kill(os.getppid(), signal.SIGINT)
            os._exit(0)
        t = time.monotonic()
        try:
            time.sleep(30)
        except KeyboardInterrupt:
            print("interrupted early", time.monotonic() - t < 20)
        os.wait()
    """)
    harness.assert_same(["-c", program], ember_args=SERVER)


def test_compiling_adds_nothing_to_gc_get_objects(tmp_path):
    """A compile (here at the first call, threshold 0) leaves no object of Ember's that
    the cycle collector tracks, as test_descr's lookup-leak check demands: the count of
    gc.get_objects() moves as under CPython. Cold cache (the server compiles) and warm
    (the program loads the cache itself)."""
    program = textwrap.dedent("""
        import gc
        def warm(x):
            return x + 1
        for i in range(3):
            warm(i)
        class G:
            def __eq__(self, other):
                return False
        g = G()
        gc.collect()
        before = len(gc.get_objects())
        for i in range(10):
            g == g
        print(len(gc.get_objects()) - before)
    """)
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    for _run in ("cold", "warm"):
        harness.assert_same(["-c", program], ember_args=("-X", "jit-threshold=0"), env=env)


def test_replies_are_installed_while_the_main_thread_only_waits():
    """The main thread blocks in join() for the whole run, so it never gets to run the
    pending call that installs replies: the native watcher then installs them itself,
    with the GIL, and the worker's hot function runs compiled."""
    program = textwrap.dedent("""
        import threading, time
        from ember.runtime import install
        def f(x):
            return x * 2 + 1
        def work():
            deadline = time.monotonic() + 60
            while not install.is_installed(f) and time.monotonic() < deadline:
                for i in range(1000):
                    f(i)
                time.sleep(0.001)  # the GIL is free for the watcher
            print("installed", install.is_installed(f))
        t = threading.Thread(target=work)
        t.start()
        t.join()
    """)
    r = harness.ember(["-c", program], ember_args=SERVER)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"installed True\n", r


def test_a_tracer_never_sees_embers_own_code():
    """Replies are installed by Python code of Ember's running on the program's thread
    (a pending call): with tracing suspended, as in a sys.monitoring callback, so a
    debugger or coverage tool set with sys.settrace sees none of it."""
    program = textwrap.dedent("""
        import sys, time
        def f(x):
            return [i * x for i in range(x)]
        seen = set()
        def tracer(frame, event, arg):
            seen.add(frame.f_code.co_filename.rpartition("/")[2])
            return tracer
        for _ in range(500):
            f(3)
        sys.settrace(tracer)
        t = time.monotonic()
        while time.monotonic() - t < 3:
            f(3)
        sys.settrace(None)
        print(sorted(name for name in seen if not name.startswith("<")))
    """)
    harness.assert_same(["-c", program], ember_args=SERVER)
