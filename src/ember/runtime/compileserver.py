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


class ServerError(Exception):
    """The compile server could not be started, or went away."""


def _write(fd: int, obj) -> None:
    data = marshal.dumps(obj)
    data = len(data).to_bytes(4, "little") + data
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


class Client:
    """The program's connection to its compile server, started by `start()` (which does
    not wait for it). Requests are answered in order: `submit` sends one and returns
    its number, `poll` returns the replies that have arrived (never blocking: the
    program's own thread calls it from the hotness hook), `wait` blocks for one reply,
    `compile` is `submit` then `wait`. The server's first message ("hello") carries its
    pid, its start-up time and its ABI check of this interpreter."""

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
        argv = ["/bin/sh", "-c", '"$@" &', "sh", sys.executable, "-I", "-S", "-X", "jit=off",
                "-c", _BOOT,
                "\n".join(_search_path()), self.cache if self.cache is not None else ""]
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
        try:
            os.waitpid(pid, 0)  # the shell, which exits at once, leaving the server behind
        except ChildProcessError:
            pass  # the program reaped it (os.wait()); the server is unaffected
        self._fds = mine

    def _fail(self, why: str):
        self.failed = self.failed or why
        self.close()
        raise ServerError(self.failed)

    def submit(self, code) -> int:
        """Send `code` to compile; its request number (replies come in this order)."""
        if self.failed:
            raise ServerError(self.failed)
        if self._owner != os.getpid():  # a fork's child: the server is the parent's
            self.forget()
        if self._fds is None:
            self.start()
        try:
            _write(self._fds[0], ("compile", code))
        except (OSError, ValueError) as exc:
            self._fail(f"compile server: {type(exc).__name__}: {exc}")
        self._sent += 1
        return self._sent

    def poll(self) -> list:
        """[(request number, reply)] received since the last poll or wait, without
        blocking. A reply is ("ok", header, object code, [(helper, object code)],
        compile ms, from cache) or ("refused", reason, detail). Raises ServerError once
        the server is gone."""
        from ember import _hotness

        if self._fds is None or self._owner != os.getpid():
            return self._take()
        fd = self._fds[1]
        while _hotness.readable(fd):
            self._receive(fd)
        return self._take()

    def wait(self, number: int):
        """The reply to request `number`, blocking until it comes (the GIL is released
        while waiting); the replies before it wait for `poll`."""
        while not any(n == number for n, _ in self._ready):
            if self._fds is None:
                self._fail(self.failed or "the compile server went away")
            self._receive(self._fds[1])
        for i, (n, reply) in enumerate(self._ready):
            if n == number:
                del self._ready[i]
                return reply
        raise AssertionError("unreachable")

    def compile(self, code):
        """`submit` then `wait`: the server's reply for `code`. Raises ServerError if
        there is no server."""
        return self.wait(self.submit(code))

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
        buf = self._buffer
        buf += chunk
        while len(buf) >= 4:
            size = int.from_bytes(buf[:4], "little")
            if len(buf) < 4 + size:
                break
            message = marshal.loads(bytes(buf[4:4 + size]))
            del buf[:4 + size]
            if not self.hello:
                self._hello(message)
            else:
                self._answered += 1
                self._ready.append((self._answered, message))

    def _hello(self, message) -> None:
        if not (isinstance(message, tuple) and message[:1] == ("hello",)):
            self._fail(f"the compile server did not start: {message!r}")
        self.hello = True
        self.pid = message[1]
        # The server runs this interpreter's own binary, so its ABI check (ember.abi:
        # some 6 ms of Python) stands for ours, which then costs the program nothing.
        self.abi_error = message[3] if len(message) > 3 else "no ABI check"
        self.startup_ms = (time.perf_counter() - self._started_at) * 1000

    def close(self) -> None:
        """End the server: closing the lifetime pipe ends it at once."""
        fds = self._fds
        if fds is None or self._owner != os.getpid():
            return
        self.failed = self.failed or "closed"
        self._fds = None
        for fd in fds:
            try:
                os.close(fd)
            except OSError:
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
    cache = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] else None
    _thread.start_new_thread(_watch_lifetime, (cache != "off",))
    try:
        os.nice(NICENESS)
    except OSError:
        pass
    t0 = time.perf_counter()
    from ember import codecache

    codecache.use(cache)
    server = _Server()
    _reply(("hello", os.getpid(), (time.perf_counter() - t0) * 1000, _abi_error()))
    while True:
        request = _read(REQUESTS)
        if request is None:
            os._exit(0)
        try:
            reply = server.handle(request)
        except Exception as exc:  # noqa: BLE001 - reported, the program stays interpreted
            reply = ("refused", "internal_error", f"{type(exc).__name__}: {exc}")
        _reply(reply)


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
