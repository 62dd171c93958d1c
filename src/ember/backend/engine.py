"""The one long-lived LLVM JIT engine that every compiled module is added to.

An `Engine` owns an MCJIT execution engine for the host CPU, the optimisation pipeline
and the symbol bindings of `capi`. `add()`
takes a finished llvmlite module, verifies and optimises it, emits machine code into the
process and returns the addresses of the functions asked for, with the time it took and,
on request, the optimised LLVM IR, the assembly and the object code (for `-X jit-dump` and
the code cache).

MCJIT rather than ORC's LLJIT: one engine, modules added over time, an object cache hook
(`set_object_cache`) that hands over the object code MCJIT already produced, and symbol
resolution through `llvm.add_symbol`. Code added is never freed; invalidated code simply
stops being reachable. `get_engine()` builds the engine on first use, which is also the
first time llvmlite.binding (some 200 ms of loading LLVM) is imported.

## Compile cost: the tier-1 pass list and codegen level

Tier-1 code is C API calls, refcount arithmetic and a few inline fast paths; LLVM's `-O2`
pipeline (inliner, loop passes, vectoriser, GVN) finds little in it and took half of
LLVM's time. `TIER1_PASSES` is the chosen list instead: the always-inliner (refcount
operations are emitted as calls to tiny `alwaysinline` functions, see backend/support.py),
SROA (the few allocas: tool flags, error arrays), instcombine, simplifycfg. Dead-store elimination and a second
instcombine/simplifycfg round used to follow; on nbody's `advance` they took ~45% of the
optimisation time (~400 of ~900 ms, loaded machine) and changed nothing (the same
instruction count after), so they are gone. instcombine alone is most of what remains;
without it the object code grows ~5%. NewGVN is deliberately absent: this llvmlite's
LLVM is built with assertions and NewGVN aborts the process on some of our modules.

Codegen stays at level 2: level 0 (FastISel, fast register allocator) cuts codegen time
by ~5x but doubled the run time of compiled loops (spills around every call), measured
on int/float loops and fib; that broke "compiled code is not slower than CPython".

Except for big modules: level 2's register allocation grows much faster than linearly
with blocks x live values (a 2,400-block function, nbody's `advance` with its fast
paths: ~4 s at level 2, 0.3 s at level 0, quiet machine estimate; a 8,800-block
`main`: 56 s against 2 s). Modules with more than `BIG_MODULE_BLOCKS` basic blocks go to
a second MCJIT engine whose target machine runs codegen at level 0. Such functions are
mostly long straight-line drivers (`main`), compiled from loop counts, where compile
time matters more than code quality.

`EMBER_LLVM=<pipeline>:<codegen level>` overrides both for measurements, e.g.
`EMBER_LLVM=O2:2` (the old setting), `EMBER_LLVM=tier1:0` (cheapest codegen),
`EMBER_LLVM=none:2`.
"""

from __future__ import annotations

import os
import struct
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from llvmlite import binding as llvm
from llvmlite import ir

from ember.backend import capi, loader
from ember.backend.loader import elf_symbols, undefined_symbols  # noqa: F401 - re-exported


class CompileError(Exception):
    """LLVM refused a module (parse, verify or codegen); the message says what LLVM said."""


@dataclass(slots=True)
class Compiled:
    """The result of `Engine.add`."""

    addresses: dict[str, int]
    llvm_ms: float
    #: Optimised LLVM IR text, if asked for ("llvm" in dump).
    llvm_ir: str | None = None
    #: Assembly text, if asked for ("asm" in dump).
    asm: str | None = None
    #: The relocatable object code MCJIT produced, if asked for (want_object).
    object_code: bytes | None = None
    timings: dict[str, float] = field(default_factory=dict)


#: The tier-1 pass list (module pass manager order); see the module docstring.
TIER1_PASSES = ("always_inliner", "sroa", "instruction_combine", "simplify_cfg")
#: Default pipeline ("tier1", "O1", "O2", "O3" or "none") and codegen (instruction
#: selection / register allocation) level 0-3.
DEFAULT_PIPELINE = "tier1"
DEFAULT_CODEGEN = 2
#: Modules with more basic blocks than this are emitted at codegen level 0.
BIG_MODULE_BLOCKS = 1200


def _settings() -> tuple[str, int]:
    spec = os.environ.get("EMBER_LLVM", "")
    pipeline, _, level = spec.partition(":")
    pipeline = pipeline or DEFAULT_PIPELINE
    if pipeline not in ("tier1", "none", "O1", "O2", "O3"):
        pipeline = DEFAULT_PIPELINE
    return pipeline, int(level) if level in ("0", "1", "2", "3") else DEFAULT_CODEGEN


class Engine:
    def __init__(self, pipeline: str | None = None, codegen_level: int | None = None):
        env_pipeline, env_level = _settings()
        pipeline = pipeline or env_pipeline
        opt_level = env_level if codegen_level is None else codegen_level
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        self.target_machine = self._new_target_machine(opt_level)
        self.opt_level = opt_level
        self.pipeline = pipeline
        self.triple = self.target_machine.triple
        self.data_layout = str(self.target_machine.target_data)
        capi.register_symbols()
        for name, address in loader.SYMBOLS.items():  # code loaded without LLVM so far
            llvm.add_symbol(name, address)
        self._ee = self._new_ee(self.target_machine)
        #: codegen level 0 for big modules (made on first use); see the module docstring.
        self._big_ee = None
        self._big_tm = None
        self._last_object: bytes | None = None
        # LLVM releases the GIL while it works; one module at a time goes in.
        self._lock = threading.Lock()
        self._serial = 0
        self._modules: list[llvm.ModuleRef] = []

    @staticmethod
    def _new_target_machine(level: int):
        target = llvm.Target.from_triple(llvm.get_process_triple())
        cpu, features = target_cpu()
        return target.create_target_machine(
            cpu=cpu,
            features=features,
            opt=level,
            codemodel="jitdefault",
            jit=True,
        )

    def _new_ee(self, target_machine):
        backing = llvm.parse_assembly("")
        backing.triple = self.triple
        ee = llvm.create_mcjit_compiler(backing, target_machine)
        ee.set_object_cache(self._object_emitted)
        return ee

    def _engine_for(self, blocks: int):
        """(target machine, execution engine) that emits a module of `blocks` blocks."""
        if blocks <= BIG_MODULE_BLOCKS or self.opt_level == 0:
            return self.target_machine, self._ee
        if self._big_ee is None:
            self._big_tm = self._new_target_machine(0)
            self._big_ee = self._new_ee(self._big_tm)
        return self._big_tm, self._big_ee

    def unique_name(self, stem: str) -> str:
        """A symbol name no other module in this engine uses (`ember.<n>.<stem>`)."""
        with self._lock:
            self._serial += 1
            return f"ember.{self._serial}.{stem}"

    def new_module(self, name: str) -> ir.Module:
        """An empty llvmlite module with this engine's triple and data layout."""
        module = ir.Module(name=name)
        module.triple = self.triple
        module.data_layout = self.data_layout
        return module

    def add(
        self,
        module: ir.Module | str,
        names: list[str] | tuple[str, ...],
        *,
        dump: frozenset[str] | set[str] = frozenset(),
        want_object: bool = False,
    ) -> Compiled:
        """Optimise and load `module`; return the addresses of the functions `names`.

        Raises CompileError if LLVM rejects the module; nothing is loaded then.
        """
        t0 = time.perf_counter()
        text = str(module)
        with llvm_work():
            return self._add(text, names, dump, want_object, t0)

    def _add(self, text, names, dump, want_object, t0) -> Compiled:
        try:
            mod = llvm.parse_assembly(text)
            mod.verify()
        except RuntimeError as exc:
            raise CompileError(f"LLVM rejected the module: {exc}") from None
        t1 = time.perf_counter()
        self._optimize(mod)
        # Counted after optimisation: the refcount helpers are inlined by then.
        blocks = sum(len(list(f.blocks)) for f in mod.functions)
        t2 = time.perf_counter()
        llvm_ir = str(mod) if "llvm" in dump else None
        with self._lock:
            tm, ee = self._engine_for(blocks)
        asm = tm.emit_assembly(mod) if "asm" in dump else None
        with self._lock:
            self._last_object = None
            ee.add_module(mod)
            try:
                ee.finalize_object()
                addresses = {n: ee.get_function_address(n) for n in names}
            except RuntimeError as exc:
                ee.remove_module(mod)
                raise CompileError(f"LLVM could not emit code: {exc}") from None
            obj = self._last_object
            self._modules.append(mod)
        missing = [n for n, a in addresses.items() if not a]
        if missing:
            raise CompileError(f"no function {missing[0]!r} in the module")
        t3 = time.perf_counter()
        return Compiled(
            addresses=addresses,
            llvm_ms=(t3 - t0) * 1000,
            llvm_ir=llvm_ir,
            asm=asm,
            object_code=obj if want_object else None,
            timings={
                "parse_ms": (t1 - t0) * 1000,
                "optimize_ms": (t2 - t1) * 1000,
                "codegen_ms": (t3 - t2) * 1000,
            },
        )

    def add_object(self, data: bytes, names: list[str] | tuple[str, ...]) -> dict[str, int]:
        """Load relocatable object code this engine (or another process's) emitted, e.g.
        from the persistent code cache; return the addresses of the functions `names`.
        Its undefined symbols resolve as a module's do (the C API and the shared
        helpers, bound with `llvm.add_symbol`). Raises CompileError if it cannot."""
        try:
            needed = undefined_symbols(data)
        except (ValueError, IndexError, struct.error) as exc:
            raise CompileError(f"not an object file Ember can load: {exc}") from None
        # LLVM aborts the process on a symbol it cannot resolve: check them all first.
        unknown = [s for s in needed if not llvm.address_of_symbol(s)]
        if unknown:
            raise CompileError(f"object code needs unknown symbol {unknown[0]!r}")
        obj = llvm.ObjectFileRef.from_data(data)
        with llvm_work(), self._lock:
            try:
                self._ee.add_object_file(obj)
                self._ee.finalize_object()
            except RuntimeError as exc:
                raise CompileError(f"LLVM could not load the object code: {exc}") from None
            addresses = {n: self._ee.get_function_address(n) for n in names}
        missing = [n for n, a in addresses.items() if not a]
        if missing:
            raise CompileError(f"no function {missing[0]!r} in the object code")
        return addresses

    def has_symbol(self, name: str) -> bool:
        """Whether a module or object already loaded defines `name`."""
        with self._lock:
            for ee in (self._ee, self._big_ee):
                if ee is not None and ee.get_global_value_address(name):
                    return True
        return False

    def global_address(self, name: str) -> int:
        """The address of a global variable of a module already added."""
        with self._lock:
            address = self._ee.get_global_value_address(name)
            if not address and self._big_ee is not None:
                address = self._big_ee.get_global_value_address(name)
            return address

    def _optimize(self, mod: llvm.ModuleRef) -> None:
        if self.pipeline == "none":
            return
        if self.pipeline.startswith("O"):
            pto = llvm.create_pipeline_tuning_options(speed_level=int(self.pipeline[1]))
            pb = llvm.create_pass_builder(self.target_machine, pto)
            pb.getModulePassManager().run(mod, pb)
            pb.close()
            return
        pto = llvm.create_pipeline_tuning_options(speed_level=0)
        pb = llvm.create_pass_builder(self.target_machine, pto)
        mpm = llvm.create_new_module_pass_manager()
        for name in TIER1_PASSES:
            getattr(mpm, f"add_{name}_pass")()
        mpm.run(mod, pb)
        mpm.close()
        pb.close()

    def _object_emitted(self, module: llvm.ModuleRef, data: bytes) -> None:
        self._last_object = data


_engine: Engine | None = None
_engine_lock = threading.Lock()


def get_engine() -> Engine:
    """The process's engine, built on first use."""
    global _engine
    if _engine is None:
        with _engine_lock, llvm_work():
            if _engine is None:
                _engine = Engine()
    return _engine


# --- exit safety ----------------------------------------------------------------------
#
# A thread still inside LLVM while the interpreter finalises and the process exits could
# crash it (LLVM's own static destructors run then). Every heavy LLVM call goes through
# `llvm_work()`; `close_llvm()` (at exit) lets no new one start and waits for those under
# way, so a background compile at exit costs at most the LLVM call it is in.

_gate = threading.Condition()
_in_llvm = 0
_llvm_closed = False


@contextmanager
def llvm_work():
    global _in_llvm
    with _gate:
        if _llvm_closed:
            raise CompileError("the process is exiting")
        _in_llvm += 1
    try:
        yield
    finally:
        with _gate:
            _in_llvm -= 1
            _gate.notify_all()


def close_llvm() -> None:
    """No more LLVM work in this process; wait for the work under way."""
    global _llvm_closed
    with _gate:
        _llvm_closed = True
        while _in_llvm:
            _gate.wait()


#: The compile server's copy of the program's EMBER_JIT_CPU (it runs under -I).
CPU_OVERRIDE: str | None = None


def target_cpu() -> tuple[str, str]:
    """(LLVM CPU name, feature string) compiled code is made for: the host's, unless
    EMBER_JIT_CPU names another (e.g. `x86-64`: valgrind cannot run AVX-512, so
    callgrind measurements of compiled code need it). -E and -I ignore it."""
    import os
    import sys

    cpu = CPU_OVERRIDE or (None if sys.flags.ignore_environment
                           else os.environ.get("EMBER_JIT_CPU"))
    if cpu:
        return cpu, ""
    return llvm.get_host_cpu_name(), llvm.get_host_cpu_features().flatten()
