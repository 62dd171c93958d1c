"""The one entry point from the runtime and tools into the compiler stages.

    code object --build_ir--> ir.Function --PASSES, in order--> ... (lower/ and backend/
    come later)

`build_ir` raises `Refused(reason)` for anything the frontend does not handle; callers
leave such code to CPython. With checks on (always in tests), the IR is verified after the
frontend and after every pass.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import CodeType

from ember import _started_here, options
from ember.bytecode import Refused
from ember.frontend import build_function
from ember.ir import Function
from ember.ir.printer import print_function
from ember.ir.verify import verify

# The ordered pass list: each entry is `pass(func) -> None`, mutating `func` in place.
# Empty until `passes/` exists; the runtime never orders passes itself.
PASSES: list[Callable[[Function], object]] = []


def dump_kinds() -> frozenset[str]:
    """What `-X jit-dump=` / EMBER_JIT_DUMP asks for in this process."""
    boot = _started_here()
    if boot is not None:
        return boot.OPTIONS.dump
    try:
        return options.parse().dump
    except options.OptionError:
        return frozenset()


_DUMP_IR: bool | None = None


def _dumping_ir() -> bool:
    global _DUMP_IR
    if _DUMP_IR is None:
        _DUMP_IR = "ir" in dump_kinds()
    return _DUMP_IR


def build_ir(code: CodeType) -> Function:
    """The SSA IR of `code`, straight from the frontend (no passes run).

    With `-X jit-dump=ir` the IR is printed to stderr as it is built."""
    func = build_function(code)
    if _dumping_ir():
        dump_ir(func, "frontend")
    return func


def dump_ir(func: Function, stage: str) -> None:
    sys.stderr.write(
        f";; ember ir after {stage}: {func.qualname} ({func.filename}:{func.firstlineno})\n"
    )
    sys.stderr.write(print_function(func))
    sys.stderr.write("\n")


def optimize(func: Function, *, check: bool = True) -> Function:
    """Run `PASSES` in order, verifying before and after each one when `check` is set."""
    if check:
        verify(func)
    for p in PASSES:
        p(func)
        if check:
            verify(func)
        if _dumping_ir():
            dump_ir(func, getattr(p, "__name__", repr(p)))
    return func


__all__ = ["PASSES", "Refused", "build_ir", "compile", "dump_ir", "optimize"]


_cancelled = False


def cancel() -> None:
    """Abandon the compiles under way at their next stage (the process is exiting):
    they raise Refused("cancelled"). LLVM's own work, once started, still finishes."""
    global _cancelled
    _cancelled = True


def _checkpoint() -> None:
    if _cancelled:
        raise Refused("cancelled", "the process was exiting")


def warm_up() -> None:
    """The JIT's one-time start, before the first compile (reported apart from compile
    times): load LLVM, the compiler's modules and the runtime support code."""
    from ember import codecache  # noqa: F401
    from ember.backend import support

    support.install_support()


def compile(func, opts: options.Options | None = None):
    """Compile the hot function `func` for the runtime; its one way into the compiler.

    Returns the `ember.backend.entry.Entry` to install on `func`, or raises
    `Refused(reason)`. Tier 1: build the IR, run `PASSES`, lower it (`ember.lower`) to a
    body behind the standard vectorcall entry (`entry.compile_entry`), load it.
    """
    code = func.__code__
    if type(func.__globals__) is not dict or type(func.__builtins__) is not dict:
        raise Refused("namespaces", "tier 1: globals or builtins are not exact dicts")
    from ember import codecache

    # The persistent code cache first (ember/codecache.py); not while dumping, which
    # shows what the compiler makes now.
    dump = dump_kinds() & {"llvm", "asm"}
    key = codecache.key_for(code) if not dump else None
    if key is not None:
        codecache.enable_helper_cache()
        entry = codecache.load(key, code)
        if entry is not None:
            return entry
    entry, module = _emit(code, key, dump)
    if key is not None:
        codecache.save(key, module, entry)
    return entry


def _emit(code, key: str | None, dump):
    """Lower `code` and emit it into this process's engine: (Entry, llvmlite module).
    With a `key`, the symbols are named after it (relocatable code other processes can
    load); else after the engine's serial."""
    from ember import codecache

    _checkpoint()
    ir_func = optimize(build_ir(code))
    from ember.backend import entry as backend_entry
    from ember.backend.engine import get_engine
    from ember.lower import NotLowered, lower_function

    engine = get_engine()
    body, name = codecache.names(key, code.co_name) if key else (None, None)
    if key is None or engine.has_symbol(name):
        key, body, name = None, engine.unique_name("body"), None
    module = engine.new_module(body)
    try:
        _checkpoint()
        keep = lower_function(ir_func, code, module, body)
    except NotLowered as exc:
        raise Refused(exc.reason, exc.detail) from None
    from ember.backend import perfmap

    _checkpoint()
    entry, _ms = backend_entry.compile_entry(
        module, body, code.co_argcount, code=code, stem=code.co_name, dump=frozenset(dump),
        name=name, want_object=key is not None or perfmap.active(),
    )
    _KEEP_ALIVE.append(keep)
    perfmap.record(entry.object_code,
                   {body: engine.global_address(body), entry.name: entry.address}, code)
    return entry, module


def compile_portable(code) -> tuple[dict, bytes, bool]:
    """Compile `code` for another process (the compile server, runtime/compileserver.py):
    (header, relocatable object code, whether it came from the code cache), the two
    parts of a code-cache entry (`codecache.header`). Raises `Refused`, also for code
    whose constants cannot all be rebuilt elsewhere. Tier 1 only; the caller screened
    `code` and checked the function's namespaces."""
    from ember import codecache

    key = codecache.content_key(code)
    if not (dump_kinds() & {"llvm", "asm"}):
        codecache.enable_helper_cache()
        hit = codecache.get(key)
        if hit is not None:
            return hit[0], hit[1], True
    entry, module = _emit(code, key, dump_kinds() & {"llvm", "asm"})
    meta = codecache.header(module, entry)
    if meta is None or entry.name != meta["entry"]:
        raise Refused("process_local", "tier 1: compiled code refers to this process")
    if codecache.key_for(code) is not None:
        codecache.save(key, module, entry)
    return meta, entry.object_code, False


#: Objects whose addresses compiled code holds (code objects, constants, names); machine
#: code is never freed, so neither are they.
_KEEP_ALIVE: list = []
