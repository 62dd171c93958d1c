"""Type feedback: what a function looked like while it warmed up, for the next tier.

When a code object becomes hot (the C counter's hook, on top of the frame that made it
hot), `record` keeps a `Profile`:

- `args`: the type of each parameter in that frame, as (name, module, qualname), or
  None for an unbound slot. Read from the frame's slots in C (`_hotness.frame_function`;
  not `frame.f_locals`, which would make the frame keep a dict of its locals, and so the
  objects, alive);
- `specialised`: the instructions CPython's specialising interpreter has quickened, as
  (offset, opname), e.g. (24, "BINARY_OP_ADD_INT"). Recording copies the quickened
  bytecode as it is then (`co_code_adaptive`, one bytes copy); it is decoded when first
  read, because recording runs on a thread that shares the GIL with the program.

Profiles are found by `profile_of(code)` (kept while the code object lives), where a
type-specialising tier will read them. `-X jit-dump=profile` prints each one on stderr
as it is recorded.
"""

import sys

# `_weakref`, not `weakref`: this module is imported on the program's thread when the
# first function gets hot, and `weakref` would bring `types`, `_weakrefset` and
# `warnings` with it (~1.5 ms).
from _weakref import ref as _ref


class _CodeRef(_ref):
    """A weak reference to a code object that carries its profile."""

    __slots__ = ("profile",)


#: id(code) -> weak reference to the code object (its `profile` attached).
_PROFILES: dict[int, _CodeRef] = {}


def profile_of(code):
    """The Profile recorded for `code`, or None."""
    ref = _PROFILES.get(id(code))
    return ref.profile if ref is not None and ref() is code else None


def _forget(ref) -> None:
    for key, value in list(_PROFILES.items()):
        if value is ref:
            del _PROFILES[key]
            break


class Profile:
    __slots__ = ("args", "_adaptive", "_specialised")

    def __init__(self, args, adaptive: bytes):
        self.args = args
        self._adaptive = adaptive
        self._specialised = None

    @property
    def specialised(self) -> list:
        if self._specialised is None:
            self._specialised = specialised_instructions(self._adaptive)
            self._adaptive = None
        return self._specialised

    def as_dict(self) -> dict:
        return {"args": [list(a) if a else None for a in self.args],
                "specialised": [list(s) for s in self.specialised]}


def _type_name(tp) -> tuple[str, str]:
    return (getattr(tp, "__module__", "?"), getattr(tp, "__qualname__", tp.__name__))


def named_types(code, types) -> list:
    """`argument_types`'s form of the types `_hotness.frame_function` read (None: an
    unbound slot)."""
    return [None if tp is None else (name, *_type_name(tp))
            for name, tp in zip(code.co_varnames, types)]


def specialised_instructions(adaptive: bytes) -> list:
    """(offset, opname) of each quickened instruction in `adaptive` (a code object's
    `_co_code_adaptive`), as `dis.get_instructions(code, adaptive=True)` lists them;
    inline caches are skipped as the interpreter skips them."""
    import dis
    import opcode

    quickened = set(opcode._specialized_instructions)
    out = []
    i = 0
    while i < len(adaptive):
        op = adaptive[i]
        name = dis._all_opname[op]
        if name in quickened:
            out.append((i, name))
        # An instrumented instruction (sys.monitoring) keeps its base's inline caches.
        base = dis._all_opmap.get(name.removeprefix("INSTRUMENTED_"), op)
        i += 2 * (1 + dis._inline_cache_entries[dis._deoptop(base)])
    return out


def record(code, args: list, dump: bool = False) -> Profile:
    """Record (and with `dump`, print) the profile of `code`, whose hot frame had
    parameters of the types `args` (`named_types`)."""
    prof = Profile(args, code._co_code_adaptive)
    ref = _CodeRef(code, _forget)
    ref.profile = prof
    _PROFILES[id(code)] = ref
    if dump:
        args = ", ".join(f"{a[0]}: {a[2]}" if a[1] == "builtins" else f"{a[0]}: {a[1]}.{a[2]}"
                         for a in prof.args if a) or "-"
        spec = ", ".join(f"{off} {name}" for off, name in prof.specialised) or "-"
        sys.stderr.write(f";; ember profile: {code.co_qualname} "
                         f"({code.co_filename}:{code.co_firstlineno})\n"
                         f"  args: {args}\n  specialised: {spec}\n")
        sys.stderr.flush()
    return prof
