"""Where the persistent code cache keeps its entries, safely.

The entries are machine code that will be executed, so the directory is a security
boundary:

- it is created with mode 0700; a directory (or entry) owned by another user, or
  writable by group or others, is refused with one warning line on stderr, and the cache
  is off for the rest of the process;
- every entry records the BLAKE2b-256 hash of its payload and is checked before it is
  returned;
  a corrupted or truncated entry is a miss (and is replaced by the next `put`);
- entries are written to a temporary file in the same directory (O_EXCL, mode 0600) and
  renamed into place, so concurrent writers never leave a partial entry;
- no pickle: an entry is `MAGIC`, the payload's length and hash, then the payload.

Every OS error is caught: the cache never raises into the program.

Keys (`key`) hash the code object's contents (bytecode, constants recursively, names,
line table, ... everything the machine code depends on), the profile it was specialised
for, and the identity of Ember, LLVM and the CPU. No `hash()` or `id()`: keys are the
same in every process.
"""

import os
import stat
import sys

# `_sha2` and `_blake2`, not `hashlib`: the program's thread reads the cache, and
# hashlib's import (OpenSSL) costs ~3 ms where these cost a tenth of that. Keys are
# SHA-256 (small inputs); payloads, which are checked at every load, BLAKE2b (some four
# times faster than this SHA-256 on large inputs).
from _blake2 import blake2b
from _sha2 import sha256


def _digest(payload: bytes) -> bytes:
    return blake2b(payload, digest_size=32).digest()

_CODE = type((lambda: None).__code__)  # types.CodeType, without importing `types`

try:
    # co_varnames, co_freevars and co_cellvars are made at their first use and cached on
    # the code object: tuples of str, which the collector tracks until its next pass.
    # Keys are computed on the program's thread when a function gets hot; untracked (as
    # that pass would leave them), they are not objects it finds new in gc.get_objects().
    from ember._hotness import untrack as _untrack
except ImportError:  # no C extension: no JIT on the program's thread either
    def _untrack(names):
        return names

MAGIC = b"EMBERC02"
_HEADER = len(MAGIC) + 8 + 32


def default_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "ember")


def _feed(h, obj) -> None:
    """Hash `obj` (a code object's constant) by type and contents, recursively."""
    if isinstance(obj, _CODE):
        h.update(b"code\0")
        for field in ("co_argcount", "co_posonlyargcount", "co_kwonlyargcount",
                      "co_nlocals", "co_stacksize", "co_flags", "co_firstlineno"):
            h.update(str(getattr(obj, field)).encode() + b",")
        for field in ("co_code", "co_linetable", "co_exceptiontable"):
            data = getattr(obj, field)
            h.update(len(data).to_bytes(8, "little") + data)
        _feed(h, obj.co_names)
        for field in ("co_varnames", "co_freevars", "co_cellvars"):
            _feed(h, _untrack(getattr(obj, field)))
        for field in ("co_filename", "co_name", "co_qualname"):
            _feed(h, getattr(obj, field))
        _feed(h, obj.co_consts)
    elif isinstance(obj, (tuple, frozenset)):
        items = obj if isinstance(obj, tuple) else sorted(obj, key=repr)
        h.update(type(obj).__name__.encode() + b"(" + str(len(items)).encode() + b"\0")
        for item in items:
            _feed(h, item)
    else:
        text = repr(obj).encode("utf-8", "surrogatepass")
        h.update(type(obj).__name__.encode() + b":" + len(text).to_bytes(8, "little") + text)


def key(code, profile, *, ember_version: str, llvm_version: str, cpu_features: str) -> str:
    """The cache key of `code` compiled for `profile` by this Ember, LLVM and CPU."""
    h = sha256()
    _feed(h, code)
    for part in (profile if isinstance(profile, bytes) else str(profile).encode(),
                 ember_version.encode(), llvm_version.encode(), cpu_features.encode()):
        h.update(len(part).to_bytes(8, "little") + part)
    return h.hexdigest()


class CodeCache:
    """Entries under one directory; `get` and `put` never raise."""

    def __init__(self, path: str):
        self.path = os.path.abspath(path)
        self.enabled = self._prepare()

    def _refuse(self, why: str) -> bool:
        sys.stderr.write(f"ember: warning: code cache disabled: {why}\n")
        sys.stderr.flush()
        return False

    def _prepare(self) -> bool:
        try:
            os.makedirs(self.path, mode=0o700, exist_ok=True)
            st = os.lstat(self.path)
        except OSError as exc:
            return self._refuse(f"cannot use {self.path}: {exc.strerror}")
        if not stat.S_ISDIR(st.st_mode):
            return self._refuse(f"{self.path} is not a directory")
        if st.st_uid != os.getuid():
            return self._refuse(f"{self.path} is owned by another user (uid {st.st_uid})")
        if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            return self._refuse(f"{self.path} is writable by group or others")
        return True

    def _file(self, key: str) -> str:
        if not key or not all(c in "0123456789abcdef" for c in key):
            raise ValueError("a cache key is a hex digest")
        return os.path.join(self.path, key[:2], key[2:])

    def get(self, key: str) -> bytes | None:
        """The payload stored under `key`, or None (missing, damaged, or cache off)."""
        if not self.enabled:
            return None
        try:
            path = self._file(key)
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except (OSError, ValueError):
            return None
        try:
            st = os.fstat(fd)
            if st.st_uid != os.getuid() or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
                self.enabled = self._refuse(f"entry {path} has unsafe ownership or mode")
                return None
            with os.fdopen(fd, "rb") as f:
                fd = -1
                data = f.read()
        except OSError:
            return None
        finally:
            if fd >= 0:
                os.close(fd)
        if len(data) < _HEADER or data[:len(MAGIC)] != MAGIC:
            return None
        n = int.from_bytes(data[len(MAGIC):len(MAGIC) + 8], "little")
        digest = data[len(MAGIC) + 8:_HEADER]
        payload = data[_HEADER:]
        if len(payload) != n or _digest(payload) != digest:
            return None  # truncated or corrupted: a miss, rewritten by the next put
        return payload

    def put(self, key: str, payload: bytes) -> None:
        """Store `payload` under `key` (atomically; best effort)."""
        if not self.enabled:
            return
        try:
            path = self._file(key)
            folder = os.path.dirname(path)
            os.makedirs(folder, mode=0o700, exist_ok=True)
            tmp = os.path.join(folder, f".tmp.{os.getpid()}.{os.urandom(6).hex()}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(MAGIC + len(payload).to_bytes(8, "little")
                            + _digest(payload) + payload)
                os.replace(tmp, path)
            except BaseException:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise
        except (OSError, ValueError):
            return
