"""Compiles in the compile server, driven from the program's own thread.

The runtime (driver.py) hands a hot function here; nothing of Ember runs on a thread of
its own. In the background (the default threshold):

- `hot(code, frame)`, called by the C counter's hook when `code` is hot, reads the
  function and its argument types from the frame (in C), records the profile, sends the
  code to the server (started at the first one, without waiting for it) and answers
  `POLL_UNITS`: the counter asks again after that many more units of `code`, that is
  after a few more calls or loop iterations of a function that is hot anyway;
- every such call polls the reply pipe (never blocking) and installs what has arrived:
  object code loaded by C (`backend.loader`), the constants table filled, the entry put
  on the function. The answered code objects are marked decided in the counter, so
  their next event switches counting off for good.

So the program's thread spends microseconds per compile (sending the request, loading
the machine code) and never waits for one; a program that ends first has paid only for
the requests. `compile_now(func, types)` is the synchronous form (threshold 0,
`-X jit-background=off`, `ember.jit`): send and wait. `drain()` waits for everything
sent (`ember.stats()`).

If the server cannot start or goes away, the runtime compiles in this process instead
(a thread, or at once); if its ABI check of this interpreter fails, the JIT turns off.
"""

from __future__ import annotations

import sys

#: Counting units after which a function whose compile is under way is asked about
#: again (a call is BACK_EDGES_PER_CALL units): polling costs ~1 µs, so for a function
#: called every microsecond this costs ~1.5% while its compile runs, and its machine
#: code is picked up within ~64 calls of arriving.
POLL_UNITS = 256
#: Requests sent but not answered, at most: beyond, a hot function is counted again
#: (so the pipe to the server never fills and blocks the program).
MAX_OUTSTANDING = 16


class Remote:
    def __init__(self, runtime) -> None:
        from ember.runtime import compileserver

        self.rt = runtime
        self.client = compileserver.Client(runtime.options.cache)
        # id(code) -> (code, weak ref to func, request number, argument types)
        self.pending: dict[int, tuple] = {}
        self._by_number: dict[int, int] = {}  # request number -> id(code)
        self._hello_seen = False
        # Set while replies are being handled: code run then (imports, the standard
        # library) may get hot, and its hook must not handle replies in the middle.
        self._busy = False

    @property
    def usable(self) -> bool:
        return not self.client.failed

    # -- the background ---------------------------------------------------------------

    def hot(self, code, frame):
        """The hook's answer for hot `code` (sys.monitoring.DISABLE once decided, an int
        while its compile is under way, None: count it again later)."""
        from ember.runtime import compileserver

        rt = self.rt
        if self._busy:
            return POLL_UNITS if id(code) in self.pending else None
        if id(code) in self.pending:
            self.poll()
            return sys.monitoring.DISABLE if id(code) not in self.pending else POLL_UNITS
        got = rt.function_and_types(code, frame)
        if got is None:
            return sys.monitoring.DISABLE
        func, types = got
        if self.client.outstanding >= MAX_OUTSTANDING:
            self.poll()
            return None
        try:
            number = self._submit(func, types)
        except compileserver.ServerError as exc:
            rt.stats.log(f"{exc}; compiling in this process instead")
            rt.compile_here(func, types)
            return sys.monitoring.DISABLE
        if number is None:
            return sys.monitoring.DISABLE
        self.poll()
        return sys.monitoring.DISABLE if id(code) not in self.pending else POLL_UNITS

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
        if started:
            rt.stats.log("compile server started")
        # Weakly: a queued compile must not keep the function alive (its destruction,
        # and the callbacks of weak references to it, stay where CPython has them).
        self.pending[id(code)] = (code, ref(func), number, types)
        self._by_number[number] = id(code)
        return number

    def poll(self) -> None:
        """Install every reply that has arrived; never blocks."""
        from ember.runtime import compileserver

        if self._busy:
            return
        self._busy = True
        try:
            try:
                replies = self.client.poll()
            except compileserver.ServerError as exc:
                self._lost(exc)
                return
            self._after_hello()
            for number, reply in replies:
                self._answer(number, reply)
        finally:
            self._busy = False

    def drain(self) -> None:
        """Wait for the reply to every request sent, and install them."""
        from ember.runtime import compileserver

        if self._busy:
            return
        self._busy = True
        try:
            for number, reply in self.client.poll():
                self._answer(number, reply)
            while self._by_number:
                number = min(self._by_number)
                self._answer(number, self.client.wait(number))
        except compileserver.ServerError as exc:
            self._lost(exc)
        finally:
            self._busy = False
        self._after_hello()

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
        key = self._by_number.pop(number, None)
        entry = self.pending.pop(key, None) if key is not None else None
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
        lost = list(self.pending.values())
        self.pending.clear()
        self._by_number.clear()
        for code, func_ref, _number, types in lost:
            if rt.counter is not None:
                rt.counter.decide(code)
            func = func_ref()
            if func is not None and rt.enabled:
                rt.compile_here(func, types)

    # -- at once ----------------------------------------------------------------------

    def compile_now(self, func, types) -> bool:
        """Compile func in the server and install it before returning; False if there is
        no server (the caller compiles in this process)."""
        from ember.runtime import compileserver

        rt = self.rt
        try:
            number = self._submit(func, types)
        except compileserver.ServerError as exc:
            rt.stats.log(f"{exc}; compiling in this process instead")
            return False
        if number is None:
            return True
        self.drain()  # this one, and anything sent before it
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
        self.client.close()  # the server ends with its lifetime pipe
        self.pending.clear()
        self._by_number.clear()

    def after_fork(self) -> None:
        """In a fork's child: the parent's server and requests are not ours."""
        self.client.forget()
        self.pending.clear()
        self._by_number.clear()
        self._hello_seen = False


def _load_helpers(helpers) -> None:
    """Load the shared helpers a reply carries (dependencies come first)."""
    from ember.backend import loader

    for name, blob in helpers:
        if name not in loader.SYMBOLS:
            loader.register(name, loader.load_object(blob)[name])
