"""The runtime's decisions: count calls, screen, check the ABI, compile, install, record.

Hotness is counted with `sys.monitoring` under `OPTIMIZER_ID`, on PY_START only. The
callback returns `DISABLE` for a code object once it reached the threshold (compiled or
refused) or at once when it is not a function body (module, class body), so in steady state
the interpreter runs with no callback at all. Code objects are counted by id(), holding
no reference to them.

When a function is hot: `screen` (reasons to stay interpreted), then `ember.abi.check()`
the first time (a mismatch turns the JIT off with one warning line), then the compiler
(`ember.pipeline.compile(func, options)`, which returns a `backend.entry.Entry` or raises
`Refused`), then `install`. Any exception from any of it is caught and recorded as
`internal_error`; it never reaches the program and is printed only if logging is on.
"""

from __future__ import annotations

import sys

from ember.runtime.report import Stats

_CO_OPTIMIZED = 0x0001  # ember.abi.CO_OPTIMIZED, not imported to keep start-up small

TOOL = sys.monitoring.OPTIMIZER_ID
# Ember's own code is never compiled: it runs while compiling, reporting and installing.
_OWN_DIR = __file__.rpartition("/runtime/")[0] + "/"


class Runtime:
    def __init__(self, options, compiler=None):
        self.options = options
        self.threshold = max(options.threshold, 1)  # 0 and 1 both mean "at the first call"
        self.stats = Stats(options.threshold, options.log)
        self.compiler = compiler  # None: ember.pipeline.compile, loaded when first needed
        self.enabled = False
        self._counts: dict[int, int] = {}
        self._abi_ok: bool | None = None

    # -- monitoring --------------------------------------------------------------------

    def start(self) -> bool:
        mon = sys.monitoring
        try:
            mon.use_tool_id(TOOL, "ember")
        except ValueError:
            self.stats.log(f"sys.monitoring tool {TOOL} is taken; the JIT stays off")
            return False
        mon.register_callback(TOOL, mon.events.PY_START, self._on_py_start)
        mon.set_events(TOOL, mon.events.PY_START)
        self.enabled = True
        return True

    def stop(self) -> None:
        """Stop counting and send every function back to the interpreter."""
        if self.enabled:
            self.enabled = False
            mon = sys.monitoring
            mon.set_events(TOOL, 0)
            mon.register_callback(TOOL, mon.events.PY_START, None)
            mon.free_tool_id(TOOL)
        install = sys.modules.get("ember.runtime.install")
        if install is not None:
            install.shutdown()

    def _on_py_start(self, code, offset):
        if not code.co_flags & _CO_OPTIMIZED:
            return sys.monitoring.DISABLE  # module or class body: never a candidate
        key = id(code)
        n = self._counts.get(key, 0) + 1
        if n < self.threshold:
            self._counts[key] = n
            return None
        self._counts.pop(key, None)
        if self.enabled and not code.co_filename.startswith(_OWN_DIR):
            try:
                self._hot(code, _frame_of(code))
            except Exception as exc:  # noqa: BLE001 - the JIT never breaks the program
                self._internal_error(code, exc)
        return sys.monitoring.DISABLE

    # -- deciding ----------------------------------------------------------------------

    def _hot(self, code, frame) -> None:
        from ember.runtime.screen import screen

        refusal = screen(code)
        if refusal is not None:
            self.stats.record_refused(code, refusal.reason, refusal.detail)
            return
        if not self._check_abi():
            return
        func = _function_of(frame, code)
        if func is None:
            self.stats.record_refused(code, "no_function", "no function object for the frame")
            return
        self.compile_and_install(func)

    def compile_and_install(self, func) -> bool:
        """Compile `func` now and install the result; record the outcome either way."""
        import time

        from ember.bytecode import Refused
        from ember.runtime import install

        code = func.__code__
        if install.vectorcall_of(func) != install.PY_VECTORCALL:
            self.stats.record_refused(code, "foreign_vectorcall", "another vectorcall is set")
            return False
        compiler = self.compiler
        if compiler is None:
            from ember import pipeline

            compiler = self.compiler = getattr(pipeline, "compile", _no_lowering)
        t0 = time.perf_counter()
        try:
            entry = compiler(func, self.options)
        except Refused as r:
            self.stats.record_refused(code, r.reason, r.detail)
            return False
        except Exception as exc:  # noqa: BLE001
            self._internal_error(code, exc)
            return False
        compile_ms = (time.perf_counter() - t0) * 1000
        install.on_invalidate = self.stats.record_invalidated
        install.install(func, entry)
        self.stats.record_compiled(code, getattr(entry, "tier", 1), compile_ms)
        return True

    def _check_abi(self) -> bool:
        if self._abi_ok is None:
            from ember import abi

            try:
                abi.check()
                self._abi_ok = True
            except Exception as exc:  # noqa: BLE001 - AbiMismatch, or ctypes failing
                self._abi_ok = False
                self.disable(f"CPython ABI mismatch ({exc})")
        return self._abi_ok

    def disable(self, why: str) -> None:
        """Turn the JIT off for the rest of the process, with one warning line."""
        sys.stderr.write(f"ember: warning: JIT disabled: {why}\n")
        sys.stderr.flush()
        self.stop()

    def _internal_error(self, code, exc: Exception) -> None:
        detail = f"{type(exc).__name__}: {exc}"
        self.stats.record_refused(code, "internal_error", detail)
        if self.options.log is not None:
            import traceback

            self.stats.log("".join(traceback.format_exception(exc)).rstrip())

    # -- exit ----------------------------------------------------------------------------

    def at_exit(self) -> None:
        try:
            self.stop()
            if self.options.stats is not None:
                self.stats.write(self.options.stats)
        except Exception:  # noqa: BLE001
            pass


def _no_lowering(func, options):
    from ember.bytecode import Refused

    raise Refused("no_lowering", "tier 1: no lowering yet")


def _frame_of(code):
    """The frame that is starting `code`: the nearest caller of the monitoring callback."""
    frame = sys._getframe(2)
    for _ in range(8):
        if frame is None or frame.f_code is code:
            return frame
        frame = frame.f_back
    return None


def _function_of(frame, code):
    """The function object running `frame` (read from its _PyInterpreterFrame)."""
    import ctypes
    import types

    from ember import abi

    if frame is None or frame.f_code is not code:
        return None
    iframe = ctypes.c_void_p.from_address(id(frame) + abi.FrameObject.f_frame).value
    funcobj = ctypes.c_void_p.from_address(iframe + abi.InterpreterFrame.f_funcobj).value
    if not funcobj:
        return None
    func = ctypes.cast(funcobj, ctypes.py_object).value
    if type(func) is not types.FunctionType or func.__code__ is not code:
        return None
    return func
