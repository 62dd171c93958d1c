"""The compiler's side of the persistent code cache: what is stored, and loading it back.

`runtime/codestore.py` stores opaque entries safely (directory permissions, hashes, atomic
writes). Here: a compiled function is stored when its constants table has a recipe for
every slot (`lower/consts.py`); the entry is a header and the module's relocatable
object code:

    <4-byte length><marshal of {"v": 2, "body", "entry", "table", "recipes", "helpers"}>
    <ELF object code>

(marshal, not JSON: the program's thread reads entries, and `json` imports `re`; the
entries are hash-checked in a private directory, and only plain data is in them).

Two ways to load an entry. In a process with LLVM (`load`, the compile server): through
the engine. In the program's process (`local_hit`, runtime/remote.py), with no LLVM and
no server: the entry and the shared helpers it calls are read here and loaded by
`backend.loader`; the key needs the LLVM version and CPU features that the compiler used,
which the compile server publishes under a signature of this installation that costs
only `stat` calls to compute (`_signature`).

Symbols of cacheable code are named after the key (`ember.<key[:24]>.body`, ...), so code
loaded from the cache never collides with code compiled in this process (whose names
carry the engine's serial). Loading: build the shared helpers it declares
(`lower.prebuild.ensure`), rebuild each constant from its recipe against this process's
code object, load the object code, fill the table. Any failure there is a miss: the
function is compiled as if the cache were empty.
"""

import sys

FORMAT = 2

_cache = None  # the process's CodeCache, or False once decided there is none


def use(where: str | None) -> None:
    """Use the cache at `where` (None: the default directory; "off": none) instead of
    what this process's options say: the compile server is told the program's."""
    global _cache, _where
    _cache, _where = None, (where,)


_where: tuple | None = None


def _store():
    """The process's `runtime.codestore.CodeCache`, or None (off, or unusable)."""
    global _cache
    if _cache is None:
        _cache = False
        try:
            from ember import options
            from ember.runtime import codestore as storage

            if _where is not None:
                where = _where[0]
            else:
                from ember import _started_here

                boot = _started_here()
                where = boot.OPTIONS.cache if boot is not None else options.parse().cache
            if where != "off":
                _cache = storage.CodeCache(where or storage.default_dir())
        except Exception:  # noqa: BLE001 - no cache is never an error
            _cache = False
    return _cache or None


_platform = None


#: The compiler's sources, relative to the package: what the fingerprint hashes.
_COMPILER_PARTS = ("abi.py", "codecache.py", "pipeline.py", "slowpaths.py", "backend",
                   "bytecode", "frontend", "ir", "lower", "passes")


def _compiler_files() -> list[str]:
    """The compiler's source files (absolute paths, sorted), without pathlib."""
    import os

    root = os.path.dirname(os.path.abspath(__file__))
    out = []
    for part in _COMPILER_PARTS:
        path = os.path.join(root, part)
        if os.path.isdir(path):
            for folder, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if d != "__pycache__")
                out.extend(os.path.join(folder, f) for f in sorted(files) if f.endswith(".py"))
        elif os.path.exists(path):
            out.append(path)
    return out


def _identity() -> tuple[str, str, str]:
    """(Ember version + compiler fingerprint, LLVM version, CPU name and features).

    The fingerprint hashes the compiler's own sources: machine code made by another
    build of Ember (even with the same version number, as while developing it) is
    never reused. Also published in the cache under this installation's signature, for
    processes that load cached code without LLVM (`local_identity`)."""
    global _platform
    if _platform is None:
        import marshal

        from llvmlite import binding as llvm

        from ember import __version__
        from ember.backend.engine import target_cpu
        from ember.runtime.codestore import sha256

        h = sha256()
        for path in _compiler_files():
            with open(path, "rb") as f:
                h.update(path.rpartition("/")[2].encode() + b"\0" + f.read())
        _platform = (
            f"{__version__}+{h.hexdigest()[:16]}",
            ".".join(map(str, llvm.llvm_version_info)),
            ":".join(target_cpu()),
        )
        store = _store()
        if store is not None and _published != _signature():
            store.put(_signature(), marshal.dumps(_platform))
    return _platform


_published = None  # the signature under which this process found its identity


def _signature() -> str:
    """A hex key naming this installation: Ember's version, this Python, the size and
    modification time of every compiler source and of the C extension, the machine
    and its CPU flags. Computed with `stat` calls only (the program's thread computes
    it); any change gives a new signature, so a stale identity is never used."""
    import os

    from ember import __version__, _hotness
    from ember.runtime.codestore import sha256

    root = os.path.dirname(os.path.abspath(__file__))
    # The walk in C (`_files.c`): in Python it cost the program's thread a millisecond.
    # The extension's file in the package, also where this process runs the copy built
    # into its interpreter (src/ember/_main.c): both are built from the same sources at
    # once, and the compile server (plain CPython, -S) and the program must agree.
    import _imp

    native = os.path.join(root, "_hotness" + _imp.extension_suffixes()[0])
    stats = _hotness.tree_stats([*(os.path.join(root, p) for p in _COMPILER_PARTS), native])
    parts = [__version__, sys.version, repr(os.uname()), stats.decode("utf-8", "surrogateescape")]
    try:
        with open("/proc/cpuinfo", "rb") as f:
            for line in f:
                if line.startswith(b"flags"):
                    parts.append(line.decode("ascii", "replace"))
                    break
    except OSError:
        pass
    return sha256("\0".join(parts).encode()).hexdigest()


def local_identity() -> tuple[str, str, str] | None:
    """This installation's identity as a compile server published it, without LLVM;
    None if none did (or the cache is off)."""
    global _platform, _published
    if _platform is not None:
        return _platform
    store = _store()
    if store is None:
        return None
    import marshal

    signature = _signature()
    data = store.get(signature)
    try:
        got = marshal.loads(data) if data else None
    except (ValueError, EOFError, TypeError):
        got = None
    if not (isinstance(got, tuple) and len(got) == 3 and all(type(x) is str for x in got)):
        return None
    _platform, _published = got, signature
    return got


def key_for(code) -> str | None:
    """The cache key of `code`, or None when there is no cache."""
    if _store() is None:
        return None
    return content_key(code)


def content_key(code, identity=None) -> str:
    """The key of `code` compiled by this Ember, LLVM and CPU, cache or not (it also names
    the symbols of relocatable code, see `names`)."""
    from ember.runtime import codestore as storage

    version, llvm_version, cpu = identity or _identity()
    return storage.key(code, "", ember_version=version, llvm_version=llvm_version,
                       cpu_features=cpu)


def _helper_key(name: str, identity=None) -> str:
    from ember.runtime.codestore import sha256

    return sha256(repr(("shared helper", FORMAT, name, *(identity or _identity()))).encode()
                  ).hexdigest()


def _helper_get(name: str):
    """A shared helper's cached object code, once the helpers it calls are loaded
    (LLVM cannot load code whose symbols are unknown)."""
    store = _store()
    blob = store.get(_helper_key(name)) if store is not None else None
    if blob:
        from ember.backend.engine import undefined_symbols

        try:
            needed = undefined_symbols(blob)
        except Exception:  # noqa: BLE001 - not an object file: compile the helper
            return None
        _bind_interned(needed)
        deps = [s for s in needed if s.startswith("ember.") and s not in _RUNTIME_SYMBOLS
                and not s.startswith(INTERNED_PREFIX)]
        if not _ensure_helpers(deps):
            return None
    return blob


#: Interned strings of shared helpers (lower/consts.py `interned`).
INTERNED_PREFIX = "ember.istr."


def _bind_interned(symbols) -> None:
    """Bind the `ember.istr.*` symbols among `symbols` for LLVM, in this process."""
    names = [s for s in symbols if s.startswith(INTERNED_PREFIX)]
    if names:
        from llvmlite import binding as llvm

        for name in names:
            if not llvm.address_of_symbol(name):
                llvm.add_symbol(name, id(sys.intern(name[len(INTERNED_PREFIX):])))


#: Symbols of Ember's that are not shared helpers (bound by backend/capi and support).
_RUNTIME_SYMBOLS = frozenset({"ember.eval_breaker", "ember.monitors", "ember.eval_frame",
                              "ember.handle_eval_breaker",
                              "ember.breaker_func"})


def _helper_put(name: str, object_code: bytes) -> None:
    store = _store()
    if store is not None:
        store.put(_helper_key(name), object_code)


def enable_helper_cache() -> None:
    """Let shared helpers come from (and go to) the cache as well."""
    from ember.backend import support

    if _store() is not None and support.helper_store is None:
        support.helper_store = (_helper_get, _helper_put)


def names(key: str, stem: str) -> tuple[str, str]:
    """(body, entry) symbol names of cacheable code (distinct whatever the stem: a
    function may be called `body`)."""
    base = f"ember.{key[:24]}"
    return f"{base}.body", f"{base}.entry.{stem}"


def load(key: str, code):
    """The `Entry` stored under `key`, loaded and ready; None on a miss."""
    store = _store()
    data = store.get(key) if store is not None else None
    split = _split(data) if data else None
    if split is None:
        return None
    meta, obj = split
    try:
        from ember.backend import entry as backend_entry
        from ember.backend.engine import get_engine

        engine = get_engine()
        if engine.has_symbol(meta["entry"]):
            return None  # the same code loaded before in this process: compile afresh
        backend_entry.install_support(engine)
        if not _ensure_helpers(meta["helpers"]):
            return None
        objects = [resolve(r, code) for r in meta["recipes"]]
        addresses = engine.add_object(obj, [meta["entry"]])
        backend_entry.fill_table(engine.global_address(meta["table"]), objects)
        entry = backend_entry.loaded_entry(engine, meta["entry"], addresses[meta["entry"]],
                                           from_cache=True, body=meta["body"], code=code)
        from ember.backend import perfmap

        perfmap.record(obj, {meta["body"]: engine.global_address(meta["body"]),
                             entry.name: entry.address}, code)
        _KEEP.append(objects)
        return entry
    except Exception:  # noqa: BLE001 - a bad entry is a miss
        return None


def header(module, entry) -> dict | None:
    """What loading the compiled `module` (whose entry is `entry`) in another process
    needs besides its object code; None if that is impossible (a constant without a
    recipe, or no object code)."""
    table = getattr(module, "ember_table", None)
    if table is None or not table.cacheable or not entry.object_code:
        return None
    from ember.backend import support

    shared = support.shared_names()
    return {
        "v": FORMAT,
        "body": table.name.removesuffix(".consts"),
        "entry": entry.name,
        "table": table.name,
        "recipes": table.recipes,
        "helpers": sorted(f.name for f in module.functions if f.name in shared),
    }


def blob(meta: dict, object_code: bytes) -> bytes:
    """A cache entry: the header's length and marshal data, then the object code."""
    import marshal

    head = marshal.dumps(meta)
    return len(head).to_bytes(4, "little") + head + object_code


def _split(data: bytes) -> tuple[dict, bytes] | None:
    import marshal

    if len(data) < 4:
        return None
    n = int.from_bytes(data[:4], "little")
    try:
        meta = marshal.loads(data[4:4 + n])
    except (ValueError, EOFError, TypeError):
        return None
    obj = data[4 + n:]
    if not isinstance(meta, dict) or meta.get("v") != FORMAT or not obj:
        return None
    return meta, obj


def save(key: str, module, entry) -> bool:
    """Store the compiled `module` (whose entry is `entry`) under `key`, if every
    constant has a recipe. Returns whether it was stored."""
    store = _store()
    meta = header(module, entry) if store is not None else None
    if meta is None:
        return False
    try:
        store.put(key, blob(meta, entry.object_code))
    except Exception:  # noqa: BLE001
        return False
    return True


def get(key: str) -> tuple[dict, bytes] | None:
    """The header and object code stored under `key`, or None (a miss, or a damaged or
    foreign-format entry)."""
    store = _store()
    data = store.get(key) if store is not None else None
    return _split(data) if data else None


def resolve(recipe, code):
    """The object a constants-table recipe (lower/consts.py) describes, in this process
    (ValueError if it cannot)."""
    kind = recipe[0]
    if kind == "code":
        return code
    if kind == "const":
        return code.co_consts[recipe[1]]
    if kind == "str":
        return sys.intern(recipe[1])
    if kind == "kwnames":
        return tuple(sys.intern(s) for s in recipe[1])
    if kind == "helper":
        module, _, name = recipe[1].partition(":")
        if module != "ember.slowpaths":
            raise ValueError(f"not a slow-path helper: {recipe[1]!r}")
        from ember import slowpaths

        return getattr(slowpaths, name)(*recipe[2:])
    raise ValueError(f"unknown constant recipe {recipe!r}")


def _ensure_helpers(names) -> bool:
    """Make the shared helpers `names` exist in this process, and the helpers they call:
    from the cache when it has them (no lowering code is imported for that), else built
    (`lower.prebuild`)."""
    from ember.backend import loader, support

    for name in names:
        if name in support.shared_names():
            continue
        blob = _helper_get(name)
        if blob is not None:
            try:
                deps = [s for s in loader.undefined_symbols(blob) if _is_helper(s) and s != name]
            except ValueError:
                deps = None
            if deps is not None and _ensure_helpers(deps) and support.load_shared(name, blob):
                continue
        from ember.lower import prebuild

        if not prebuild.ensure([name]):
            return False
    return True


def _is_helper(symbol: str) -> bool:
    """Whether an `ember.*` symbol of object code names a shared helper (not an address
    of the interpreter, Ember's C, an interned string or the body's own data)."""
    from ember.backend import loader

    return (symbol.startswith("ember.") and symbol.count(".") == 1
            and symbol not in loader.EMBER_SYMBOLS)


#: Constants rebuilt for loaded code (the machine code refers to them by address).
_KEEP: list = []


def local_hit(code):
    """In the program's process, without LLVM: ("ok", header, object code, [(helper,
    object code)], ms, True) (the compile server's reply for a cached function) if the
    cache holds `code` and every shared helper it calls; else None."""
    import time

    t0 = time.perf_counter()
    identity = local_identity()
    if identity is None:
        return None
    store = _store()
    data = store.get(content_key(code, identity))
    split = _split(data) if data else None
    if split is None:
        return None
    meta, obj = split
    from ember.backend import loader

    try:
        needed = {s for s in loader.undefined_symbols(obj) if _is_helper(s)}
    except ValueError:
        return None
    helpers: list = []
    if not _local_helpers(store, identity, sorted(needed | set(meta.get("helpers", ()))),
                          helpers, set()):
        return None
    return ("ok", meta, obj, helpers, (time.perf_counter() - t0) * 1000, True)


def _local_helpers(store, identity, names, out: list, seen: set) -> bool:
    """Append (name, object code) of the helpers `names` this process lacks, each after
    the helpers it calls; False if one is not in the cache."""
    from ember.backend import loader

    for name in names:
        if name in loader.SYMBOLS or name in seen:
            continue
        seen.add(name)
        blob = store.get(_helper_key(name, identity))
        if not blob:
            return False
        try:
            deps = [s for s in loader.undefined_symbols(blob) if _is_helper(s) and s != name]
        except ValueError:
            return False
        if not _local_helpers(store, identity, deps, out, seen):
            return False
        out.append((name, blob))
    return True
