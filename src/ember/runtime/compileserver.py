"""Compiling in another process: the program's process never loads LLVM.

Background compilation on a thread (runtime/background.py) still shares the GIL: the
Python half of a compile (frontend, lowering, llvmlite's IR text) and importing the
compiler and llvmlite (some 250 ms) take turns with the program, and a program of a
second or less paid 25-200% for compiles it never used. Here a compile server, a plain
python3.12 started on the first hot function, does all of that on the machine's other
core, and sends back what a code-cache entry holds (codecache.py): a JSON header and
relocatable object code, plus the object code of the shared helpers it needs. The
program's process loads them with `backend.loader` (an ELF loader in C: no llvmlite),
fills the constants table from the recipes against its own code object, and installs
the entry. No Python thread of Ember's runs in the program: requests are sent by the
hotness hook on the program's own thread (runtime/driver.py), and while replies are due a
native thread (src/ember/_replies.c) waits on the reply pipe without the GIL and has them
installed through CPython's pending calls, so nothing holds the GIL against the program;
that thread is stopped around `os.fork()` (3.12 warns about forking a multi-threaded
process) and exists only while compiles are pending.

    program's process (its own thread)          compile server (nice 19)
    ---------------------------------           --------------------------------------
    marshal(code) ------------------ fd 3 ----> screen, frontend, lower, LLVM,
                                                code cache (reads and writes it)
    loader.load_object(helpers, body) <- fd 4 -- ("ok", header, object, [helpers], ms)
    fill table, install                          or ("refused", reason, detail)

The server is started through `/bin/sh -c '"$@" &'` in its own session: it is not a
child of the program (so `os.wait()` and SIGCHLD in the program never see it, only the
shell's brief exit, ~1 ms), a terminal's Ctrl-C does not reach it, and it holds none of the
program's file descriptors (all are close-on-exec but these three; it closes the rest).
It lives as long as the program, and a little longer: a thread of the server blocks on a
third pipe (fd 5) whose write end only the program holds, and when that pipe closes (exit,
crash or kill of the program) the server still compiles what it was already asked for,
into the code cache, for at most ORPHAN_GRACE_S, then ends (at once if the cache is off:
then nobody can use its work). A program shorter than the server's start (a third of a
second) otherwise never found anything in the cache: each run started a server, paid for
it, and had it killed before it stored a thing. After `os.fork()` the
child forgets the parent's server (`os.register_at_fork`) and starts its own if needed.

Messages are marshal data behind a 4-byte length: both ends are this Ember on this
Python, and marshal is what moves code objects between processes in CPython itself.

The program never waits for the server unless it asked to (`Client.wait`: eager mode,
`ember.stats()`), and then not for long. Its requests are written by the native thread
of src/ember/_replies.c (`_hotness.replies_send`), never by the program's thread: a
program whose hot functions were big once hung for good, its thread blocked writing into
the full request pipe while the server blocked writing into the full reply pipe. A
server that answers nothing for PATIENCE_S while using no CPU (stalled), or nothing for
MAX_SILENCE_S (busy or not), counts as gone, as does one that answers garbage (a message
that is too long, not marshal data, or not shaped as a reply): `ServerError`, and the
runtime compiles in this process instead (runtime/remote.py).

Test hook: `EMBER_TEST_SERVER_FAULT=<fault>[@<n>]`, read by the server alone, makes it
misbehave at its n-th compile request (default 1): `stall` (sleep for good), `die` (kill
itself in the middle of the compile), `truncate` (half the reply, then die),
`long-length` and `short-length` (a wrong length before the reply), `marshal` (a message
that is not marshal data), `type` (marshal data that is no reply), `extra` (an answer to
a request never sent). The program passes it on only if it reads `EMBER_*` variables
(not under -E or -I). Not for users: tests/runtime/test_compileserver_faults.py.
"""


import _thread
import marshal
import os
import sys
import time

#: The server's file descriptors: requests in, replies out, the program's lifetime.
REQUESTS, REPLIES, LIFETIME = 3, 4, 5
#: The server's niceness: on a busy machine the program comes first.
NICENESS = 19
#: Seconds a server whose program is gone may go on compiling the requests it has, for
#: the code cache (its start is ~0.3 s, a compile 0.04 s median, 0.4 s p95).
ORPHAN_GRACE_S = 5.0
#: Seconds without a byte from a server that owes replies and used no CPU meanwhile, after
#: which it counts as stalled. A starved server (nice 19 on a busy machine) still gets
#: some CPU, and a compile that takes long is busy (a function of a few hundred lines
#: takes LLVM 5-20 s): those are waited for, up to MAX_SILENCE_S of silence, the bound
#: for a server that spins. Its pid comes first thing ("started"), for the CPU time.
PATIENCE_S = 5.0
MAX_SILENCE_S = 120.0
#: The longest message accepted (object code is some KB to a few MB): a longer length is
#: garbage, and waiting for that many bytes would be waiting for nothing.
MAX_MESSAGE = 1 << 28
#: The test hook (see above): the environment variable, passed to the server only.
FAULT_ENV = "EMBER_TEST_SERVER_FAULT"


class ServerError(Exception):
    """The compile server could not be started, or went away."""


class Interrupted(Exception):
    """A wait for a reply given up: a signal's Python handler waits for the program
    (src/ember/_quiet.c). The reply is still owed, and `poll` takes it when it comes."""


def _write(fd: int, obj) -> None:
    data = marshal.dumps(obj)
    _write_all(fd, len(data).to_bytes(4, "little") + data)


def _write_all(fd: int, data: bytes) -> None:
    while data:
        n = os.write(fd, data)
        data = data[n:]


def _read_exactly(fd: int, n: int) -> bytes | None:
    parts = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            return None
        parts.append(chunk)
        n -= len(chunk)
    return b"".join(parts)


def _read(fd: int):
    head = _read_exactly(fd, 4)
    if head is None:
        return None
    data = _read_exactly(fd, int.from_bytes(head, "little"))
    if data is None:
        return None
    return marshal.loads(data)


# --- the program's side ------------------------------------------------------------------


def _search_path() -> list[str]:
    """Where the server finds Ember and llvmlite: where this process found them (the
    server runs isolated, -I, so the program's own directory and PYTHON* variables
    can't shadow a module the compiler imports). Looked up without importlib.util (whose
    import would cost the program's thread a millisecond) and without importing
    llvmlite: the first sys.path entry holding each package."""
    import ember

    paths = [os.path.dirname(os.path.dirname(ember.__file__))]
    for entry in sys.path:
        if entry and os.path.isfile(os.path.join(entry, "llvmlite", "__init__.py")):
            if entry not in paths:
                paths.append(entry)
            break
    return paths


_BOOT = ("import sys; sys.path[:0] = sys.argv[1].split('\\n'); "
         "from ember.runtime.compileserver import serve; serve()")


def _jit_cpu() -> str:
    """The program's EMBER_JIT_CPU, for the server's command line ("" for the host's)."""
    return "" if sys.flags.ignore_environment else os.environ.get("EMBER_JIT_CPU", "")


class Client:
    """The program's connection to its compile server, started by `start()` (which does
    not wait for it). Requests are answered in order: `submit` queues one (the native
    thread of _replies.c writes it) and returns its number, `poll` returns the replies
    that have arrived (never blocking: the program's own thread calls it from the
    hotness hook), `wait` waits for one reply, `compile` is `submit` then `wait`. Every
    one of them raises ServerError once the server is gone, stalled or answering garbage
    (see the module's docstring); `check_due_ns` says when `poll` should run next to
    notice a stall. The server's first message ("started") carries its pid, and its
    second ("hello", once it is ready) its start-up time and its ABI check of this
    interpreter."""

    def __init__(self, cache: str | None) -> None:
        self.cache = cache  # the program's -X jit-cache (None: the default directory)
        self.abi_error: str | None = None  # the server's ABI check, once it said hello
        self.hello = False
        self._fds: tuple[int, int, int] | None = None
        self._owner = os.getpid()
        self.failed: str | None = None  # why there is no server, once it failed
        self.startup_ms = 0.0
        self.pid: int | None = None
        self._started_at = 0.0
        self._buffer = bytearray()
        self._sent = 0  # requests sent
        self._answered = 0  # replies received
        # (request number, reply) received but not yet taken, in order: a list (a dict
        # that empties and fills again flips in and out of gc.get_objects()).
        self._ready: list = []
        # Signs of life while replies are owed (time.monotonic()): the last byte heard,
        # the next look at the server's CPU time (`_check`), and that CPU time then.
        self._heard = 0.0
        self._look_at = 0.0
        self._cpu: int | None = None

    @property
    def reply_fd(self) -> int:
        """The pipe replies arrive on (-1 while there is no server)."""
        return self._fds[1] if self._fds is not None else -1

    @property
    def outstanding(self) -> int:
        """Requests sent whose reply has not been received."""
        return self._sent - self._answered

    def forget(self) -> None:
        """In a fork's child: drop the parent's server (closing the child's copies of its
        pipes, so that the parent's server still ends with the parent)."""
        fds, self._fds = self._fds, None
        self._owner, self.pid, self.startup_ms = os.getpid(), None, 0.0
        self.failed = None if self.failed == "closed" else self.failed
        self.hello, self._buffer, self._ready = False, bytearray(), []
        self._sent = self._answered = 0
        if fds is not None:
            _drop_requests(fds[0])
        for fd in fds or ():
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass

    def start(self) -> bool:
        """Start the server now, unless it runs already; True if this call started it.
        Returns at once: the server says hello when it is ready. Raises ServerError (and
        remembers why) if it cannot start."""
        if self._owner != os.getpid():
            self.forget()
        if self._fds is not None or self.failed:
            if self.failed:
                raise ServerError(self.failed)
            return False
        try:
            self._spawn()
        except (OSError, ValueError) as exc:
            self._fail(f"compile server: {type(exc).__name__}: {exc}")
        return True

    def _spawn(self) -> None:
        self._started_at = time.perf_counter()
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        life_r, life_w = os.pipe()
        mine, theirs = (req_w, rep_r, life_w), (req_r, rep_w, life_r)
        # -I: no PYTHON* or EMBER_* variable reaches the server, so the program's cache
        # setting goes on its command line. -S: no site, so no ember-jit.pth either (the
        # server is the program's own interpreter, ember-python, the static one where
        # there is one: ember/interpreter.py), and _search_path() is all it imports from.
        env = {k: v for k, v in os.environ.items() if not k.startswith("EMBER_")}
        fault = os.environ.get(FAULT_ENV)
        if fault and not sys.flags.ignore_environment:
            env[FAULT_ENV] = fault
        argv = ["/bin/sh", "-c", '"$@" &', "sh", sys.executable, "-I", "-S", "-X", "jit=off",
                "-c", _BOOT,
                "\n".join(_search_path()), self.cache if self.cache is not None else "",
                _jit_cpu()]
        devnull = os.open(os.devnull, os.O_RDWR)
        actions = [(os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, devnull, 1),
                   (os.POSIX_SPAWN_DUP2, devnull, 2),
                   *((os.POSIX_SPAWN_DUP2, fd, target)
                     for fd, target in zip(theirs, (REQUESTS, REPLIES, LIFETIME)))]
        try:
            # posix_spawn waits only for the shell's exec (vfork), whatever the size of
            # the program's process; a fork would copy its page tables.
            pid = os.posix_spawn("/bin/sh", argv, env, file_actions=actions, setsid=True)
        except OSError as exc:
            for fd in (*mine, *theirs):
                os.close(fd)
            raise ServerError(f"cannot start the compile server: {exc}") from None
        finally:
            os.close(devnull)
        for fd in theirs:
            os.close(fd)
        _reap_shell(pid)
        self._fds = mine

    def _fail(self, why: str):
        self.failed = self.failed or why
        self.close()
        raise ServerError(self.failed)

    def submit(self, code) -> int:
        """Queue `code` to compile; its request number (replies come in this order).
        Never blocks: the native thread of _replies.c writes it as the server reads."""
        from ember import _hotness

        if self.failed:
            raise ServerError(self.failed)
        if self._owner != os.getpid():  # a fork's child: the server is the parent's
            self.forget()
        if self._fds is None:
            self.start()
        data = marshal.dumps(("compile", code))
        if not self.outstanding:
            self._heard_now()  # the server owes nothing yet: its silence starts now
        try:
            _hotness.replies_send(self._fds[0], len(data).to_bytes(4, "little") + data)
        except OSError as exc:
            self._fail(f"compile server: {type(exc).__name__}: {exc}")
        self._sent += 1
        return self._sent

    def poll(self) -> list:
        """[(request number, reply)] received since the last poll or wait, without
        blocking. A reply is ("ok", header, object code, [(helper, object code)],
        compile ms, from cache) or ("refused", reason, detail). Raises ServerError once
        the server is gone, stalled, or answering garbage."""
        from ember import _hotness

        if self._fds is None or self._owner != os.getpid():
            return self._take()
        fd = self._fds[1]
        # Bounded: a server that writes without end must not hold the program here (the
        # native thread calls back while there is more).
        for _ in range(POLL_READS):
            if not _hotness.readable(fd):
                break
            self._receive(fd)
        self._check(time.monotonic())
        return self._take()

    def wait(self, number: int):
        """The reply to request `number`, waiting for it (the GIL is released while
        waiting) no longer than the server shows signs of life (ServerError then); the
        replies before it wait for `poll`. Interrupted, with the reply still owed, when a
        signal's handler waits for the program: in Ember's hook on the main thread the
        handler runs only once the hook has returned (src/ember/_quiet.c), so a wait for
        a compile, which may take seconds, would hold Ctrl-C back that long."""
        from ember import _hotness

        while True:
            for i, (n, reply) in enumerate(self._ready):
                if n == number:
                    del self._ready[i]
                    return reply
            if self._fds is None:
                self._fail(self.failed or "the compile server went away")
            if not 0 < number <= self._sent or number <= self._answered:
                raise ServerError(f"no reply to wait for (request {number})")
            if _hotness.signals_waiting():
                raise Interrupted(f"request {number}")
            # What has arrived is read before the server's silence is judged: one that
            # blocks writing a reply into a full pipe uses no CPU, and is not stalled.
            due = self.check_due_ns() / 1e9 - time.monotonic()
            if _hotness.wait_readable(self._fds[1], max(1, min(int(due * 1000) + 1, 1000))):
                self._receive(self._fds[1])
            else:
                self._check(time.monotonic())

    def compile(self, code):
        """`submit` then `wait`: the server's reply for `code`. Raises ServerError if
        there is no server."""
        return self.wait(self.submit(code))

    def check_due_ns(self) -> int:
        """time.monotonic_ns() at which `poll` (or `wait`) next looks for a stall; 0 if
        no reply is owed."""
        if self._fds is None or not self.outstanding:
            return 0
        due = self._heard + MAX_SILENCE_S
        if self.pid is not None:
            due = min(due, self._look_at)
        return int(due * 1e9)

    def _heard_now(self) -> None:
        now = time.monotonic()
        self._heard, self._look_at, self._cpu = now, now + PATIENCE_S / 2, None

    def _check(self, now: float) -> None:
        """ServerError if the server owes replies and is silent: for MAX_SILENCE_S, or
        for PATIENCE_S with no CPU used in its second half (read in /proc: a server
        that waits, asleep or stopped, uses none)."""
        if self._fds is None or not self.outstanding:
            return
        if now - self._heard >= MAX_SILENCE_S:
            self._fail(f"the compile server answered nothing for {MAX_SILENCE_S:.0f} s")
        if self.pid is None or now < self._look_at:
            return
        cpu = _cpu_ticks(self.pid)
        if self._cpu is None or cpu != self._cpu:  # the first look, or busy since
            self._cpu, self._look_at = cpu, now + PATIENCE_S / 2
            return
        self._fail(f"the compile server stalled (no answer, no work for {PATIENCE_S:.0f} s)")

    def _take(self) -> list:
        out = list(self._ready)
        self._ready.clear()
        return out

    def _receive(self, fd: int) -> None:
        """Read what the reply pipe has (blocking for at least one byte) and file the
        whole messages in it."""
        try:
            chunk = os.read(fd, 1 << 20)
        except OSError as exc:
            self._fail(f"compile server: {type(exc).__name__}: {exc}")
        if not chunk:
            self._fail("the compile server went away")
        self._heard_now()
        buf = self._buffer
        buf += chunk
        while len(buf) >= 4:
            size = int.from_bytes(buf[:4], "little")
            if size > MAX_MESSAGE:
                self._fail(f"the compile server answered garbage (a message of {size} bytes)")
            if len(buf) < 4 + size:
                break
            try:
                message = marshal.loads(bytes(buf[4:4 + size]))
            except Exception as exc:  # noqa: BLE001 - EOFError, ValueError, TypeError
                self._fail(f"the compile server answered garbage ({type(exc).__name__}: {exc})")
            del buf[:4 + size]
            if not self.hello:
                self._hello(message)
            elif not self.outstanding:
                self._fail("the compile server answered a request it was not sent")
            elif not _is_reply(message):
                self._fail(f"the compile server answered garbage ({_show(message)})")
            else:
                self._answered += 1
                self._ready.append((self._answered, message))

    def _hello(self, message) -> None:
        if type(message) is tuple and len(message) == 2 and message[0] == "started" \
                and type(message[1]) is int and self.pid is None:
            self.pid = message[1]  # its CPU time can be looked at (`_check`)
            return
        if not (type(message) is tuple and len(message) == 4 and message[0] == "hello"
                and type(message[1]) is int and type(message[2]) in (int, float)
                and (message[3] is None or type(message[3]) is str)):
            self._fail(f"the compile server did not start: {_show(message)}")
        self.hello = True
        self.pid = message[1]
        # The server runs this interpreter's own binary, so its ABI check (ember.abi:
        # some 6 ms of Python) stands for ours, which then costs the program nothing.
        self.abi_error = message[3]
        self.startup_ms = (time.perf_counter() - self._started_at) * 1000
        self._heard_now()

    def close(self) -> None:
        """End the server: closing the lifetime pipe ends it at once (what it was asked
        and has not read yet is dropped)."""
        fds = self._fds
        if fds is None or self._owner != os.getpid():
            return
        self.failed = self.failed or "closed"
        self._fds = None
        _drop_requests(fds[0])
        for fd in fds:
            try:
                os.close(fd)
            except OSError:
                pass


#: Reads of the reply pipe per `poll`, at most (1 MB each).
POLL_READS = 64


def _is_reply(message) -> bool:
    """Whether `message` is shaped as a reply (`Client.poll`), down to the types that
    `remote.load_and_install` takes apart."""
    if type(message) is not tuple or not message:
        return False
    if message[0] == "refused":
        return len(message) == 3 and type(message[1]) is str and type(message[2]) is str
    if message[0] != "ok" or len(message) != 6:
        return False
    _, meta, obj, helpers, ms, cached = message
    return (type(meta) is dict and type(obj) is bytes and type(helpers) is list
            and type(ms) in (int, float) and type(cached) is bool
            and all(type(meta.get(key)) is str for key in ("body", "entry", "table"))
            and type(meta.get("recipes")) in (list, tuple)
            and all(type(h) is tuple and len(h) == 2 and type(h[0]) is str
                    and type(h[1]) is bytes for h in helpers))


def _show(message) -> str:
    text = repr(message)
    return text if len(text) <= 80 else text[:77] + "..."


def _cpu_ticks(pid: int) -> int | None:
    """The CPU time process `pid` has used (clock ticks), or None if unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rpartition(b")")[2].split()
        return int(fields[11]) + int(fields[12])  # utime, stime
    except (OSError, ValueError, IndexError):
        return None


def _reap_shell(pid: int) -> None:
    """Reap the shell that started the server (it exits at once, leaving the server
    behind), waiting two seconds at most: one that is slower is left to the program's
    own os.wait(), or to init once the program ends."""
    from ember import _hotness

    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        pidfd = -1
    try:
        deadline = time.monotonic() + 2.0
        while True:
            try:
                if os.waitpid(pid, os.WNOHANG)[0]:
                    return
            except ChildProcessError:
                return  # the program reaped it (os.wait()); the server is unaffected
            left = deadline - time.monotonic()
            if left <= 0:
                return
            if pidfd >= 0 and not _hotness.signals_waiting():
                _hotness.wait_readable(pidfd, int(left * 1000) + 1)
            else:  # (a signal that waits for the program does not cut a sleep short)
                time.sleep(0.0005)
    finally:
        if pidfd >= 0:
            os.close(pidfd)


def _drop_requests(fd: int) -> None:
    """Before closing the request pipe: what the native thread has not written to it yet
    is written if the pipe takes it now (a server whose program ended still compiles it
    for the code cache), else dropped; the thread never writes to that fd again (a new
    file may get its number)."""
    try:
        from ember import _hotness

        _hotness.replies_close(fd)
    except ImportError:
        pass


# --- the server's side -------------------------------------------------------------------


def _watch_lifetime(caching: bool) -> None:
    try:
        os.read(LIFETIME, 1)  # EOF: the program is gone
        if caching:
            # The main loop ends by itself at the requests pipe's EOF, once it has
            # compiled (and cached) what the program sent; this bounds it.
            time.sleep(ORPHAN_GRACE_S)
    finally:
        os._exit(0)


def _reply(message) -> None:
    """A reply, unless the program is gone (its work is in the cache all the same)."""
    try:
        _write(REPLIES, message)
    except OSError:
        pass


def serve() -> None:
    """The compile server's main loop (started by `Client._start`)."""
    os.closerange(LIFETIME + 1, 1 << 16)  # nothing of the program's but our pipes
    _reply(("started", os.getpid()))
    cache = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] else None
    if len(sys.argv) > 3 and sys.argv[3]:
        from ember.backend import engine

        engine.CPU_OVERRIDE = sys.argv[3]  # the program's EMBER_JIT_CPU (-I hides it here)
    _thread.start_new_thread(_watch_lifetime, (cache != "off",))
    try:
        os.nice(NICENESS)
    except OSError:
        pass
    t0 = time.perf_counter()
    from ember import codecache

    codecache.use(cache)
    server = _Server()
    fault, fault_at = _fault()
    hello = ("hello", os.getpid(), (time.perf_counter() - t0) * 1000, _abi_error())
    _reply(hello if fault != "hello" else ("hello", "a pid"))
    count = 0
    while True:
        request = _read(REQUESTS)
        if request is None:
            os._exit(0)
        count += 1
        if fault and count == fault_at:
            _misbehave(fault, server, request)
            continue
        _reply(_handle(server, request))


def _handle(server, request):
    try:
        return server.handle(request)
    except Exception as exc:  # noqa: BLE001 - reported, the program stays interpreted
        return ("refused", "internal_error", f"{type(exc).__name__}: {exc}")


def _fault() -> tuple[str, int]:
    """The test hook (FAULT_ENV, see the module's docstring): (fault, at which request)."""
    kind, _, at = os.environ.get(FAULT_ENV, "").partition("@")
    return kind, int(at) if at.isdigit() else 1


def _misbehave(fault: str, server, request) -> None:
    """Answer `request` as the test hook's `fault` says."""
    if fault == "stall":
        while True:
            time.sleep(3600)
    if fault == "die":
        _thread.start_new_thread(_die, (0.02,))  # in the middle of the compile
    reply = marshal.dumps(_handle(server, request))
    head = len(reply).to_bytes(4, "little")
    try:
        if fault == "die":
            _die(0)  # a compile quicker than that: before the reply all the same
        elif fault == "truncate":
            _write_all(REPLIES, head + reply[:len(reply) // 2])
            _die(0)
        elif fault == "long-length":
            _write_all(REPLIES, (0xFFFFFFF0).to_bytes(4, "little") + reply)
        elif fault == "short-length":
            _write_all(REPLIES, (len(reply) // 2).to_bytes(4, "little") + reply)
        elif fault == "marshal":
            _write_all(REPLIES, (8).to_bytes(4, "little") + b"\xffgarbage")
        elif fault == "type":
            _write(REPLIES, ("ok", "a header", 42, None, "ms", 1))
        else:
            _write_all(REPLIES, head + reply)
    except OSError:
        pass


def _die(after_s: float) -> None:
    import signal

    time.sleep(after_s)
    os.kill(os.getpid(), signal.SIGKILL)


def _abi_error() -> str | None:
    """None if ember.abi matches this interpreter, else why not."""
    from ember import abi

    try:
        abi.check()
    except Exception as exc:  # noqa: BLE001 - AbiMismatch, or ctypes failing
        return str(exc)
    return None


class _Server:
    def __init__(self) -> None:
        from ember import codecache, pipeline
        from ember.backend import support

        self.codecache = codecache
        self.pipeline = pipeline
        self.objects: dict[str, bytes] = {}  # shared helper -> object code
        self.sent: set[str] = set()
        support.helper_store = (self._helper_get, self._helper_put)
        pipeline.warm_up()
        self._breaker_object()

    def _helper_get(self, name: str):
        blob = self.objects.get(name)
        if blob is None and self.codecache._store() is not None:
            blob = self.codecache._helper_get(name)
            if blob:
                self.objects[name] = blob
        return blob

    def _helper_put(self, name: str, object_code: bytes) -> None:
        self.objects[name] = object_code
        if self.codecache._store() is not None:
            self.codecache._helper_put(name, object_code)

    def _breaker_object(self) -> None:
        """The eval-breaker handler's object code (install_support loads it here but
        keeps none): emitted again from the same module, not added to the engine."""
        from llvmlite import binding as llvm

        from ember.backend import support
        from ember.backend.engine import get_engine

        engine = get_engine()
        mod = llvm.parse_assembly(str(support._build_breaker_module(engine)))
        mod.verify()
        engine._optimize(mod)
        blob = engine.target_machine.emit_object(mod)
        self.objects[support.HANDLE_EVAL_BREAKER] = blob
        if self.codecache._store() is not None:
            # So that programs can load cached code without this server (codecache).
            self.codecache._helper_put(support.HANDLE_EVAL_BREAKER, blob)

    def _helpers_for(self, names, out: list) -> bool:
        """Append (name, object code) for `names` not sent yet, dependencies first;
        False if one has no object code (it embeds this process's addresses)."""
        from ember.backend.engine import undefined_symbols

        for name in names:
            if name in self.sent or any(name == n for n, _ in out):
                continue
            blob = self.objects.get(name) or self._helper_get(name)
            if not blob:
                return False
            deps = [s for s in undefined_symbols(blob)
                    if s.startswith("ember.") and (s in self.objects or s in _shared_names())]
            if not self._helpers_for([d for d in deps if d != name], out):
                return False
            out.append((name, blob))
        return True

    def handle(self, request):
        kind = request[0]
        if kind != "compile":
            return ("refused", "internal_error", f"unknown request {kind!r}")
        code = request[1]
        from ember.bytecode import Refused
        from ember.runtime.screen import screen

        refusal = screen(code)
        if refusal is not None:
            return ("refused", refusal.reason, refusal.detail)
        t0 = time.perf_counter()
        try:
            meta, obj, cached = self.pipeline.compile_portable(code)
        except Refused as r:
            return ("refused", r.reason, r.detail)
        if cached and not self.codecache._ensure_helpers(meta.get("helpers", ())):
            return ("refused", "internal_error", "tier 1: a cached entry's helpers are unknown")
        from ember.backend import support
        from ember.backend.engine import undefined_symbols

        wanted = [s for s in undefined_symbols(obj) if s.startswith("ember.")
                  and (s in support.shared_names() or s in self.objects)]
        helpers: list = []
        if not self._helpers_for(sorted(wanted), helpers):
            return ("refused", "process_local",
                    "tier 1: a shared helper refers to this process")
        self.sent.update(n for n, _ in helpers)
        return ("ok", meta, obj, helpers, (time.perf_counter() - t0) * 1000, cached)


def _shared_names():
    from ember.backend import support

    return support.shared_names()
