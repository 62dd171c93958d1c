"""Type feedback: what a function looked like while it warmed up, for the next tier.

When a code object becomes hot (the C counter's hook, on top of the frame that made it
hot), `record` keeps a `Profile`:

- `args`: the type of each parameter in that frame, as (name, module, qualname), or
  None for an unbound slot. Read from the frame's slots in C by the hook (`seen`; not
  `frame.f_locals`, which would make the frame keep a dict of its locals, and so the
  objects, alive);
- `specialised`: the instructions CPython's specialising interpreter has quickened, as
  (offset, opname), e.g. (24, "BINARY_OP_ADD_INT"). Recording copies the quickened
  bytecode as it is then (`co_code_adaptive`, one bytes copy); it is decoded when first
  read, because recording runs on a thread that shares the GIL with the program.

Profiles are found by `profile_of(code)` (kept while the code object lives), where a
type-specialising tier will read them. `-X jit-dump=profile` prints each one on stderr
as it is recorded.

A profile is kept on its code object, as one bytes object (the marshalled args and the
quickened bytecode) in a co_extra slot that CPython frees with the code
(`_hotness.profile_put`): recording, on the program's thread, leaves no object the
cycle collector tracks (no weak reference, no Profile object, no list of tuples), so
gc.get_objects() finds what it finds under python3.12.
"""

import marshal
import sys

from ember import _hotness


def profile_of(code):
    """The Profile recorded for `code`, or None."""
    blob = _hotness.profile_get(code)
    if blob is None:
        return None
    args, adaptive = marshal.loads(blob)
    return Profile([tuple(a) if a is not None else None for a in args], adaptive)


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
    """`argument_types`'s form of the types the hook read from the frame (None: an
    unbound slot)."""
    # co_varnames is made at its first use and cached on the code object: a tuple of
    # str, which the collector would track until its next pass (untrack: as that pass
    # would leave it), in the program's gc.get_objects() meanwhile.
    names = _hotness.untrack(code.co_varnames)
    return [None if tp is None else (name, *_type_name(tp)) for name, tp in zip(names, types)]


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


def record(code, args: list, dump: bool = False) -> None:
    """Record (and with `dump`, print) the profile of `code`, whose hot frame had
    parameters of the types `args` (`named_types`)."""
    adaptive = code._co_code_adaptive
    _hotness.profile_put(code, marshal.dumps((args, adaptive)))
    if dump:
        prof = Profile(args, adaptive)
        args = ", ".join(f"{a[0]}: {a[2]}" if a[1] == "builtins" else f"{a[0]}: {a[1]}.{a[2]}"
                         for a in prof.args if a) or "-"
        spec = ", ".join(f"{off} {name}" for off, name in prof.specialised) or "-"
        sys.stderr.write(f";; ember profile: {code.co_qualname} "
                         f"({code.co_filename}:{code.co_firstlineno})\n"
                         f"  args: {args}\n  specialised: {spec}\n")
        sys.stderr.flush()
