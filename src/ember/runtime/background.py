"""Compiling in this process off the main thread: the fallback when there is no compile
server (runtime/remote.py is the usual way, with no thread at all), and
`-X jit-background=thread`. The program keeps running interpreted meanwhile.

`Worker.submit(func)` queues a hot function; a thread compiles and installs the queued
functions one after the other (`Runtime.compile_and_install`) and ends when the queue is
empty, so no thread of Ember's exists while there is nothing to compile (a thread is
visible: `_thread._count()`, the warning `os.fork()` gives in a multi-threaded process).
It is a bare `_thread` thread: not in `threading.enumerate()`, not joined by
`threading._shutdown`.

LLVM releases the GIL while it optimises and emits code, which is most of a compile;
the Python half (lowering) takes the GIL in turns with the program, which gets it back
at least every `sys.getswitchinterval()` (5 ms). `close()` (at exit, `ember.uninstall`)
stops taking jobs and waits for the one under way. At exit only its LLVM part is waited
for (`backend.engine.close_llvm`): a thread inside LLVM while the interpreter finalises
could crash the process, and an exit status is part of what the program prints; a worker
in Python code is simply stopped by the interpreter's finalisation.
"""

import _thread

# The builtin modules behind `weakref` and `collections`: the first hot function is queued
# on the program's thread, where importing those (3 ms) would be the biggest cost of all.
from _collections import deque
from _weakref import ref as weak_ref


class Worker:
    def __init__(self, compile_one):
        self._compile_one = compile_one
        self._jobs: deque = deque()
        self._lock = _thread.allocate_lock()
        self._running = False  # a worker thread exists
        self._done = _thread.allocate_lock()  # held while one does
        self._closed = False
        self.thread_id = None

    def submit(self, func, *extra) -> bool:
        """Queue `func` (the worker calls `compile_one(func, *extra)`); False once closed
        (the caller compiles nothing then)."""
        with self._lock:
            if self._closed:
                return False
            # Weakly: queueing must not keep a function alive (its destruction, and the
            # callbacks of weak references to it, stay where CPython has them).
            self._jobs.append((weak_ref(func), extra))
            if self._running:
                return True
            self._running = True
        self._done.acquire()  # the previous worker, if any, releases it on its way out
        try:
            _thread.start_new_thread(self._run, ())
        except RuntimeError:  # can't start a thread (interpreter shutting down)
            with self._lock:
                self._running = False
                self._jobs.clear()
            self._done.release()
            return False
        return True

    def pending(self) -> int:
        with self._lock:
            return len(self._jobs) + (1 if self._running else 0)

    def _run(self) -> None:
        self.thread_id = _thread.get_ident()
        try:
            while True:
                with self._lock:
                    if self._closed or not self._jobs:
                        self._jobs.clear()
                        self._running = False
                        return
                    ref, extra = self._jobs.popleft()
                    func = ref()
                if func is None:
                    continue
                try:
                    self._compile_one(func, *extra)
                except BaseException:  # noqa: BLE001 - compile_and_install catches; be sure
                    pass
                del func
        finally:
            self._done.release()

    def close(self, wait: bool = True) -> None:
        """Take no more jobs; wait for the one under way, if any (unless `wait` is False:
        at exit, where `engine.close_llvm` waits for the LLVM part alone)."""
        with self._lock:
            self._closed = True
        if not wait or _thread.get_ident() == self.thread_id:
            return  # called by a compile (e.g. the JIT turning itself off)
        self._done.acquire()
        self._done.release()

    def wait(self) -> None:
        """Until every queued function is compiled (tests, `ember.stats()` users)."""
        self._done.acquire()
        self._done.release()
