"""Compiles in the compile server, driven from the program's own thread.

The runtime (driver.py) hands a hot function here; no Python thread of Ember's runs
meanwhile. In the background (the default threshold):

- `hot(code, frame)`, called by the C counter's hook when `code` is hot, reads the
  function and its argument types from the frame (in C), records the profile, sends the
  code to the server (started at the first one, without waiting for it) and answers
  `PENDING`: the counter switches the code's events off, and a native thread of
  Ember's C waits on the reply pipe (src/ember/_replies.c: not a Python thread, stopped
  around os.fork());
- when a reply arrives, that thread has `poll` run (`Runtime._tick`: on the main thread
  through CPython's pending calls, or on its own with the GIL when the main thread
  waits), which installs what has arrived, never blocking: object code loaded by
  C (`backend.loader`), the constants table filled, the entry put on the function. The
  answered code objects are marked decided in the counter, so their next event
  switches counting off for good.

So the program's thread spends microseconds per compile (queueing the request, which
the native thread writes; loading the machine code), never waits for one and pays
nothing per call while it compiles; a program that ends first has paid only for the
requests. `compile_now(func, types)` is the synchronous form (threshold 0,
`-X jit-background=off`, `ember.jit`): the code cache, else send and wait. `drain()`
waits for everything sent (`ember.stats()`). Those waits are bounded (compileserver.py:
PATIENCE_S, MAX_SILENCE_S), and the native thread wakes the runtime when a server owing
replies has been silent that long, so a stall is noticed without a wait too. A wait in
the hook on the main thread also ends when a signal's Python handler is due: the
handler runs when the hook returns, in the program's code (src/ember/_quiet.c), and the
compile goes on in the background.

If the server cannot start, goes away, stalls or answers garbage, the runtime compiles
in this process instead (a thread, or at once), and says so once in `-X jit-log`; if
its ABI check of this interpreter fails, the JIT turns off.
"""


import sys

from ember.defaults import HOOK_PENDING

#: The hook's answer for code whose compile is under way: the C counter marks it pending
#: (its events switched off, so its calls and loops run free while it compiles); a
#: native thread waiting on the reply pipe has `Remote.poll` run on the main thread when
#: replies arrive (src/ember/_replies.c).
PENDING = HOOK_PENDING
#: Requests sent but not answered, at most: beyond, a hot function waits (pending) until
#: replies make room. Not for the pipe's sake (the native thread writes the requests as
#: the server reads them, and nothing of the program's waits for that), but for the
#: server's backlog: a request queued behind many is answered late, and one queued when
#: the program ends is work thrown away.
MAX_OUTSTANDING = 16


class _Pending:
    """id(code) -> (code, weak ref to func, request number or None, argument types), for
    the few functions whose compile is under way: a list, not a dict. A dict that empties
    and fills again is untracked and re-tracked by the cycle collector, which programs
    (and CPython's own tests) see as objects appearing in gc.get_objects(). The records
    are not tracked either (`_hotness.untrack`): made in a hook, they are freed when the
    reply is installed, at an arbitrary point of the program."""

    __slots__ = ("_items",)

    def __init__(self) -> None:
        self._items: list = []

    def _find(self, key) -> int:
        for i, item in enumerate(self._items):
            if item[0] == key:
                return i
        return -1

    def __contains__(self, key) -> bool:
        return self._find(key) >= 0

    def __setitem__(self, key, value) -> None:
        from ember._hotness import untrack

        i = self._find(key)
        if i >= 0:
            self._items[i] = untrack((key, value))
        else:
            self._items.append(untrack((key, value)))

    def __len__(self) -> int:
        return len(self._items)

    def pop(self, key, default=None):
        i = self._find(key)
        return self._items.pop(i)[1] if i >= 0 else default

    def key_of(self, number):
        for key, value in self._items:
            if value[2] == number:
                return key
        return None

    def numbers(self) -> list:
        return sorted(value[2] for _key, value in self._items if value[2] is not None)

    def values(self) -> list:
        return [value for _key, value in self._items]

    def clear(self) -> None:
        self._items.clear()


class Remote:
    def __init__(self, runtime) -> None:
        from ember.runtime import compileserver

        self.rt = runtime
        self.client = compileserver.Client(runtime.options.cache)
        self.pending = _Pending()
        self._waiting: list[int] = []  # id(code) of pending code not sent yet (warm-up)
        self._hello_seen = False
        # Set while replies are being handled: code run then (imports, the standard
        # library) may get hot, and its hook must not handle replies in the middle.
        self._busy = False

    @property
    def usable(self) -> bool:
        return not self.client.failed

    # -- the background ---------------------------------------------------------------

    def hot(self, code, frame, young: bool = False):
        """The hook's answer for hot `code` (sys.monitoring.DISABLE once decided,
        PENDING while its compile is under way or waits, None: count it again later).
        While the process is `young` (the warm-up), hot code waits here, pending
        (its loops run free), and is sent when the warm-up is over: a program that
        ends first pays nothing for it, not even the server's start."""
        if self._busy:
            return PENDING if id(code) in self.pending else None
        self._busy = True
        try:
            return self._hot(code, frame, young)
        finally:
            self._busy = False
            if self.rt.enabled:
                self._watch()  # what is pending now (the hook's end ticks if wanted)

    def _hot(self, code, frame, young: bool):
        from ember.runtime import compileserver

        rt = self.rt
        if id(code) in self.pending:
            self._poll()
            return sys.monitoring.DISABLE if id(code) not in self.pending else PENDING
        got = rt.function_and_types(code, frame)
        if got is None:
            return sys.monitoring.DISABLE
        func, types = got
        if young:
            self.wait(code, func, types)
            return PENDING
        if self._from_cache(func, types):
            return sys.monitoring.DISABLE
        if not self.usable:  # gone, and said so once: compiled here from now on
            rt.compile_here(func, types)
            return sys.monitoring.DISABLE
        if not self.can_send():
            self._poll()
            if not self.can_send():
                self.wait(code, func, types)  # sent when replies make room
                return PENDING
        try:
            number = self._submit(func, types)
        except compileserver.ServerError as exc:
            rt.stats.log(f"{exc}; compiling in this process instead")
            rt.compile_here(func, types)
            return sys.monitoring.DISABLE
        if number is None:
            return sys.monitoring.DISABLE
        self._poll()
        return sys.monitoring.DISABLE if id(code) not in self.pending else PENDING

    def can_send(self) -> bool:
        return self.client.outstanding < MAX_OUTSTANDING

    def wait(self, code, func, types) -> None:
        """Keep `code` pending until the warm-up is over and the server has room, then
        send it (`poll`)."""
        from _weakref import ref

        self.pending[id(code)] = (code, ref(func), None, types)
        self._waiting.append(id(code))
        self._watch()

    def _from_cache(self, func, types) -> bool:
        """Install func from the persistent code cache, here and now (no server, no
        LLVM: `codecache.local_hit`); False on a miss."""
        from ember import codecache

        rt = self.rt
        code = func.__code__
        if type(func.__globals__) is not dict or type(func.__builtins__) is not dict:
            return False
        try:
            reply = codecache.local_hit(code)
        except Exception:  # noqa: BLE001 - a bad entry is a miss
            reply = None
        if reply is None:
            return False
        rt.record_profile(code, types)
        try:
            self.load_and_install(func, reply)
        except Exception as exc:  # noqa: BLE001 - the JIT never breaks the program
            rt._internal_error(code, exc)
        return True

    def _watch(self) -> None:
        """Have `poll` run when replies arrive, or the warm-up ends (`Runtime._rearm`)."""
        self.rt._rearm()

    def _send_waiting(self) -> None:
        """The warm-up is over: send what waits, in order, while the server has room."""
        from ember.runtime import compileserver

        waiting = self._waiting
        while waiting and self.can_send():
            key = waiting.pop(0)
            entry = self.pending.pop(key, None)
            if entry is None:
                continue
            code, func_ref, _number, types = entry
            func = func_ref()
            if func is None or func.__code__ is not code:
                if self.rt.counter is not None:
                    self.rt.counter.decide(code)
                continue
            if self._from_cache(func, types):
                if self.rt.counter is not None:
                    self.rt.counter.decide(code)
                continue
            if not self.usable:
                if self.rt.counter is not None:
                    self.rt.counter.decide(code)
                self.rt.compile_here(func, types)
                continue
            try:
                if self._submit(func, types) is None and self.rt.counter is not None:
                    self.rt.counter.decide(code)
            except compileserver.ServerError as exc:
                if self.rt.counter is not None:
                    self.rt.counter.decide(code)
                self.rt.stats.log(f"{exc}; compiling in this process instead")
                self.rt.compile_here(func, types)

    def _submit(self, func, types) -> int | None:
        """Send func's code to the server; its request number, or None if refused here."""
        from _weakref import ref

        rt = self.rt
        code = func.__code__
        if type(func.__globals__) is not dict or type(func.__builtins__) is not dict:
            rt.stats.record_refused(code, "namespaces",
                                    "tier 1: globals or builtins are not exact dicts")
            return None
        rt.record_profile(code, types)
        started = self.client.start()
        number = self.client.submit(code)
        # Weakly: a queued compile must not keep the function alive (its destruction,
        # and the callbacks of weak references to it, stay where CPython has them).
        self.pending[id(code)] = (code, ref(func), number, types)
        if started:
            rt.stats.log("compile server started")
            self._watch()  # (pending now: the thread that writes the request stays)
        return number

    # Every entry point holds `_busy` while it works: the native thread's `_tick` may
    # come at any bytecode of this thread (a pending call) or from its own thread (with
    # the GIL), and must not read the pipe or the pending list in the middle of them.

    def poll(self) -> None:
        """Install every reply that has arrived; never blocks."""
        if self._busy:
            return
        self._busy = True
        try:
            self._poll()
        finally:
            self._busy = False
        if self.rt.enabled:
            self._watch()
        self.rt.tick_if_wanted()

    def _poll(self) -> None:
        from ember.runtime import compileserver

        if self._waiting and not self.rt.young():
            self._send_waiting()
        try:
            replies = self.client.poll()
        except compileserver.ServerError as exc:
            self._lost(exc)
            return
        self._after_hello()
        for number, reply in replies:
            self._answer(number, reply)
        if replies and self._waiting and not self.rt.young():
            self._send_waiting()  # into the room the replies made

    def drain(self) -> None:
        """Wait for the reply to every request sent, and install them."""
        if self._busy:
            return
        self._busy = True
        try:
            self._drain()
        finally:
            self._busy = False
        self._after_hello()
        if self.rt.enabled:
            self._watch()
        self.rt.tick_if_wanted()

    def _drain(self) -> None:
        from ember.runtime import compileserver

        try:
            while True:
                if self._waiting:
                    self._send_waiting()  # what has room (none is left once all are answered)
                for number, reply in self.client.poll():
                    self._answer(number, reply)
                numbers = self.pending.numbers()
                if numbers:
                    self._answer(numbers[0], self.client.wait(numbers[0]))
                elif not self._waiting:
                    break
        except compileserver.ServerError as exc:
            self._lost(exc)

    def _after_hello(self) -> None:
        client = self.client
        if self._hello_seen or not client.hello:
            return
        self._hello_seen = True
        rt = self.rt
        rt.stats.startup_ms += client.startup_ms
        if rt._abi_ok is None:
            rt._abi_ok = client.abi_error is None
            if not rt._abi_ok:
                rt.disable(f"CPython ABI mismatch ({client.abi_error})")

    def _answer(self, number: int, reply) -> None:
        rt = self.rt
        if reply[0] == "ok":
            # The server sends each shared helper once: load it whatever becomes of
            # this function, or a later reply's code would call a helper never loaded.
            try:
                _load_helpers(reply[3])
            except Exception as exc:  # noqa: BLE001 - the JIT never breaks the program
                self._lost(exc)
                self.close()
                return
        key = self.pending.key_of(number)
        entry = self.pending.pop(key) if key is not None else None
        if entry is None:
            return
        code, func_ref, _number, _types = entry
        if rt.counter is not None:
            rt.counter.decide(code)
        func = func_ref()
        if func is None or not rt.enabled or rt._abi_ok is False:
            return
        if reply[0] != "ok":
            rt.stats.record_refused(code, reply[1], reply[2])
            return
        try:
            self.load_and_install(func, reply)
        except Exception as exc:  # noqa: BLE001 - the JIT never breaks the program
            rt._internal_error(code, exc)

    def _lost(self, exc) -> None:
        """The server went away: what it had not answered is compiled in this process."""
        rt = self.rt
        rt.stats.log(f"{exc}; compiling in this process instead")
        lost = self.pending.values()
        self.pending.clear()
        self._waiting.clear()
        self._watch()  # nothing to wait for on the pipe now
        for code, func_ref, _number, types in lost:
            if rt.counter is not None:
                rt.counter.decide(code)
            func = func_ref()
            if func is not None and rt.enabled:
                rt.compile_here(func, types)

    # -- at once ----------------------------------------------------------------------

    def compile_now(self, func, types):
        """Compile func in the server and install it before returning: True, or False if
        there is no server (the caller compiles in this process), or PENDING if the
        wait was given up for a signal's handler (compileserver.Interrupted): the compile
        goes on in the background, as at the defaults, and is installed when its reply
        comes, while the handler runs as soon as the hook returns."""
        if self._busy:
            return False  # (not reached: hooks do not nest) compiled in this process
        self._busy = True
        try:
            done = self._compile_now(func, types)
        finally:
            self._busy = False
        self._after_hello()
        if self.rt.enabled:
            self._watch()  # a tick that came meanwhile was told "not now"; or the replies
        self.rt.tick_if_wanted()
        return done

    def _compile_now(self, func, types):
        from ember.runtime import compileserver

        # A cached function is installed here and now, as at the defaults (`hot`):
        # through the server it would wait behind whatever the server compiles (a long
        # compile a signal's handler left running, say).
        if self._from_cache(func, types):
            return True
        try:
            number = self._submit(func, types)
        except compileserver.ServerError as exc:
            self.rt.stats.log(f"{exc}; compiling in this process instead")
            return False
        if number is not None:
            try:
                self._drain()  # this one, and anything sent before it (bounded)
            except compileserver.Interrupted:
                return PENDING if id(func.__code__) in self.pending else True
        return True

    def load_and_install(self, func, reply) -> None:
        """Load what the compile server sent (`reply`) into this process and install it."""
        from ember import codecache
        from ember.backend import loader, perfmap
        from ember.runtime import install

        rt = self.rt
        _, meta, obj, helpers, compile_ms, cached = reply
        code = func.__code__
        _load_helpers(helpers)
        addresses = loader.load_object(obj)
        objects = [codecache.resolve(r, code) for r in meta["recipes"]]
        loader.fill_table(addresses[meta["table"]], objects)
        codecache._KEEP.extend(objects)
        entry = loader.entry_from_symbols(meta["entry"], addresses, from_cache=cached,
                                          body=meta["body"], code=code)
        perfmap.record(obj, {meta["body"]: addresses[meta["body"]],
                             entry.name: entry.address}, code)
        if func.__code__ is not code or install.vectorcall_of(func) != install.PY_VECTORCALL:
            rt.stats.record_refused(code, "foreign_vectorcall", "changed while it compiled")
            return
        rt._installed(func, entry, compile_ms)

    # -- the end ----------------------------------------------------------------------

    def close(self) -> None:
        self._unwatch()
        self.client.close()  # the server ends with its lifetime pipe
        self.pending.clear()
        self._waiting.clear()

    def after_fork(self) -> None:
        """In a fork's child: the parent's server and requests are not ours; what was
        pending is counted again from zero (a compile server of its own may take it)."""
        self._unwatch()
        self.client.forget()
        counter = self.rt.counter
        if counter is not None:
            for code, *_rest in self.pending.values():
                counter.forget(code)
        self.pending.clear()
        self._waiting.clear()
        self._hello_seen = False

    def _unwatch(self) -> None:
        from ember import _hotness

        _hotness.replies_stop()


def _load_helpers(helpers) -> None:
    """Load the shared helpers a reply carries (dependencies come first)."""
    from ember.backend import loader

    for name, blob in helpers:
        if name not in loader.SYMBOLS:
            loader.register(name, loader.load_object(blob)[name])
