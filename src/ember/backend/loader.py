"""Loading compiled code into this process without LLVM.

The compile server (runtime/compileserver.py) and the code cache hand over relocatable
ELF object code, the kind MCJIT emits for the host with LLVM's large code model: code in
`.ltext`, constants in `.lrodata`, zeroed data (constants tables, call counters) in
`.lbss`, and every reference to a symbol an absolute 64-bit relocation
(R_X86_64_64) in `.ltext`. Loading such an object is a small job, done in C
(`src/ember/_loader.c`, so that the GIL is held for microseconds): lay the allocated
sections out in fresh pages, write each symbol's address at each relocation, make the
code pages executable. Doing it here keeps llvmlite (some 115 ms of imports with the GIL
held, then LLVM itself) out of a process that only runs code compiled elsewhere.

Anything else (another relocation type, a section kind not listed, a symbol nobody
defines) raises `LoadError` before a page is mapped; the caller then leaves the function
to the interpreter or compiles it with LLVM. `.eh_frame` is not loaded: CPython never
unwinds through machine code (and MCJIT's registration of it is not needed by anything
Ember runs). Pages are never unmapped, as JIT code never is.

Symbols: `SYMBOLS` holds the `ember.*` code defined in this process (shared helpers, the
eval-breaker handler), whoever loaded it; the LLVM engine binds them too
(`register`). Other names resolve in the running interpreter (`process_address`).
"""

import struct
import sys

#: Interned strings of shared helpers (`lower.consts.interned`): `ember.istr.<text>`.
INTERNED_PREFIX = "ember.istr."

#: `ember.*` symbols defined in this process: name -> address.
SYMBOLS: dict[str, int] = {}


class LoadError(Exception):
    """Object code this loader does not handle (the message says what)."""


def register(name: str, address: int) -> None:
    """`name` is defined at `address` in this process (for this loader and for LLVM)."""
    SYMBOLS[name] = address
    llvm = sys.modules.get("llvmlite.binding")
    if llvm is not None:
        llvm.add_symbol(name, address)


def breaker():
    # `ember.breaker_func`: calling it runs its RESUME, whose eval-breaker check runs
    # CPython's _Py_HandlePending (not exported); see backend/support.py.
    pass


# --- symbols of the running interpreter ------------------------------------------------

#: Addresses inside the running interpreter that compiled code reads directly.
EMBER_SYMBOLS = ("ember.eval_breaker", "ember.monitors", "ember.eval_frame",
                 "ember.breaker_func")

_ember_addresses: dict[str, int] = {}

#: Ember's own C functions that compiled code calls (`ember._hotness.native_symbols()`).
NATIVE_PREFIX = "ember.c."
_native: dict[str, int] = {}


def native_symbols() -> dict[str, int]:
    """Name -> address of Ember's C functions (src/ember/_caches.c) in this process."""
    if not _native:
        from ember import _hotness

        _native.update(_hotness.native_symbols())
    return _native


def _process_symbol(name: str) -> int | None:
    from ember import _hotness

    return _hotness.symbol_address(name) or None


def _interpreter_addresses() -> dict[str, int]:
    if not _ember_addresses:
        from ember import _hotness, abi

        interp = _hotness.interpreter_address()
        _ember_addresses.update({
            "ember.eval_breaker": interp + abi.InterpreterState.ceval_eval_breaker,
            "ember.monitors": interp + abi.InterpreterState.monitors,
            "ember.eval_frame": interp + abi.InterpreterState.eval_frame,
            "ember.breaker_func": id(breaker),
        })
    return _ember_addresses


def process_address(name: str) -> int:
    """The address of `name` in this process: a C API symbol, an interpreter address of
    `EMBER_SYMBOLS`, or an interned string. KeyError if there is none."""
    if name.startswith("ember."):
        if name in SYMBOLS:
            return SYMBOLS[name]
        if name.startswith(INTERNED_PREFIX):
            return id(sys.intern(name[len(INTERNED_PREFIX):]))
        if name in EMBER_SYMBOLS:
            return _interpreter_addresses()[name]
        if name.startswith(NATIVE_PREFIX):
            return native_symbols()[name]
        raise KeyError(f"Ember symbol {name} is not defined in this process")
    addr = _process_symbol(name)
    if not addr:
        raise KeyError(f"CPython symbol {name} not found in this process")
    return addr


# --- ELF -------------------------------------------------------------------------------

_SHT_SYMTAB = 2
_SHN_UNDEF = 0


def _sections(data) -> list[tuple]:
    """Section headers: (name, type, flags, addr, offset, size, link, info, align,
    entsize). ValueError if `data` is not an ELF64 little-endian relocatable object."""
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ValueError("not a 64-bit little-endian ELF file")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    return [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize)
            for i in range(shnum)]


def _symbols(data, sections) -> list[tuple[str, int, int, int, int]]:
    """Every symbol table entry: (name, info, section index, value, size)."""
    out = []
    for sh in sections:
        if sh[1] != _SHT_SYMTAB:
            continue
        str_off = sections[sh[6]][4]
        for st_name, st_info, _other, st_shndx, value, size in struct.iter_unpack(
                "<IBBHQQ", memoryview(data)[sh[4]:sh[4] + sh[5]]):
            name = ""
            if st_name:
                end = data.index(b"\0", str_off + st_name)
                name = bytes(data[str_off + st_name:end]).decode()
            out.append((name, st_info, st_shndx, value, size))
    return out


def elf_symbols(data: bytes) -> list[tuple[str, bool, int]]:
    """(name, defined, size) of the global symbols of an ELF64 little-endian relocatable
    object. ValueError if it is not one."""
    return [(name, shndx != _SHN_UNDEF, size)
            for name, info, shndx, _value, size in _symbols(data, _sections(data))
            if name and (info >> 4) != 0]


def undefined_symbols(data: bytes) -> list[str]:
    """The names an object needs from elsewhere (the undefined entries of its symbol
    table). ValueError if it is not an ELF64 little-endian object."""
    return [name for name, defined, _size in elf_symbols(data) if not defined]


# --- loading ---------------------------------------------------------------------------


def _resolve(name: str) -> int:
    try:
        return process_address(name)
    except KeyError:
        raise LoadError(f"object code needs unknown symbol {name!r}") from None


def load_object(data: bytes) -> dict[str, int]:
    """Load relocatable object code; return the address of each defined global symbol.
    Raises LoadError (nothing mapped) for anything it does not handle. The work is
    `ember._hotness.load_object` (src/ember/_loader.c): in C, since it runs on a
    thread that shares the GIL with the program."""
    from ember import _hotness

    try:
        return _hotness.load_object(data, _resolve)
    except ValueError as exc:
        raise LoadError(str(exc)) from None


# --- the loaded entry ------------------------------------------------------------------


class Entry:
    """An entry loaded in this process: its address and its two call counters."""

    __slots__ = ("name", "address", "native_calls", "interpreted_calls", "tier",
                 "object_code", "from_cache", "body", "direct_argcount")

    def __init__(self, name: str, address: int, native_calls: int, interpreted_calls: int,
                 tier: int = 1, object_code: bytes | None = None, from_cache: bool = False,
                 body: int = 0, direct_argcount: int = -1):
        self.name = name
        self.address = address
        #: The body's address, and the positional argument count with which compiled
        #: callers may call it directly (-1: never; `_calls.c`).
        self.body = body
        self.direct_argcount = direct_argcount
        #: Addresses of i64 counters: calls that ran the body, calls handed to CPython.
        self.native_calls = native_calls
        self.interpreted_calls = interpreted_calls
        self.tier = tier
        #: The relocatable object code, when asked for (the code cache).
        self.object_code = object_code
        #: Loaded from the persistent code cache rather than compiled.
        self.from_cache = from_cache

    def __repr__(self) -> str:
        return f"Entry({self.name!r}, {self.address:#x}, tier={self.tier})"


def entry_from_symbols(name: str, addresses: dict[str, int], object_code=None,
                       from_cache: bool = False, body: str | None = None,
                       code=None) -> Entry:
    """The `Entry` named `name` among the symbols `load_object` returned (with its
    `body`, for direct calls of `code`)."""
    return Entry(name, addresses[name], addresses[f"{name}.native"],
                 addresses[f"{name}.interpreted"], object_code=object_code,
                 from_cache=from_cache, body=addresses.get(body, 0) if body else 0,
                 direct_argcount=direct_argcount(code))


_CO_VARARGS, _CO_VARKEYWORDS = 0x4, 0x8


def direct_argcount(code) -> int:
    """How many positional arguments a direct call of `code`'s body takes: its
    co_argcount when it has no other parameters (then the caller's array is the
    body's, as for the entry's fast path), else -1."""
    if code is None or code.co_kwonlyargcount or code.co_flags & (_CO_VARARGS | _CO_VARKEYWORDS):
        return -1
    return code.co_argcount


def fill_table(address: int, objects: list) -> None:
    """Write the objects' addresses into a loaded constants table at `address` (the
    caller keeps them alive)."""
    from ember import _hotness

    if objects:
        _hotness.fill_table(address, list(objects))
