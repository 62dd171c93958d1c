"""Type feedback: what a function looked like while it warmed up, for the next tier.

When a code object becomes hot (the C counter's hook, on top of the frame that made it
hot), `record` keeps a `Profile`:

- `args`: the type of each positional parameter in that frame, as (name, module,
  qualname), or None for an unbound slot. Read from the frame's slots through `ember.abi`
  (not `frame.f_locals`, which would make the frame keep a dict of its locals, and so the
  objects, alive);
- `specialised`: the instructions CPython's specialising interpreter has quickened, as
  (offset, opname), e.g. (24, "BINARY_OP_ADD_INT"), from `dis` with `adaptive=True`.

Profiles live in `PROFILES` (weakly keyed by code object), where a type-specialising tier
will read them. `-X jit-dump=profile` prints each one on stderr as it is recorded.
"""

from __future__ import annotations

import ctypes
import sys
import weakref

PROFILES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class Profile:
    __slots__ = ("args", "specialised")

    def __init__(self, args, specialised):
        self.args = args
        self.specialised = specialised

    def as_dict(self) -> dict:
        return {"args": [list(a) if a else None for a in self.args],
                "specialised": [list(s) for s in self.specialised]}


def _type_name(tp) -> tuple[str, str]:
    return (getattr(tp, "__module__", "?"), getattr(tp, "__qualname__", tp.__name__))


def argument_types(frame, code) -> list:
    """[(name, module, qualname) or None] for the positional parameters of `frame`."""
    from ember import abi

    out = []
    if frame is None or frame.f_code is not code:
        return out
    iframe = ctypes.c_void_p.from_address(id(frame) + abi.FrameObject.f_frame).value
    if not iframe:
        return out
    slots = iframe + abi.InterpreterFrame.localsplus
    n = code.co_argcount + code.co_kwonlyargcount
    for i in range(n):
        address = ctypes.c_void_p.from_address(slots + 8 * i).value
        if not address:
            out.append(None)
            continue
        # The slot holds a reference: read its type without taking one of our own.
        tp = ctypes.cast(ctypes.c_void_p.from_address(address + abi.Object.ob_type).value,
                         ctypes.py_object).value
        out.append((code.co_varnames[i], *_type_name(tp)))
    return out


def named_types(code, types) -> list:
    """`argument_types`'s form of the types `_hotness.frame_function` read (None: an
    unbound slot)."""
    return [None if tp is None else (name, *_type_name(tp))
            for name, tp in zip(code.co_varnames, types)]


def specialised_instructions(code) -> list:
    import dis

    return [(ins.offset, ins.opname)
            for ins in dis.get_instructions(code, adaptive=True)
            if ins.opname not in dis.opmap and not ins.opname.startswith("<")]


def record(code, frame, dump: bool = False, args=None) -> Profile:
    """Record (and with `dump`, print) the profile of `code`: argument types from
    `frame`, or `args` already read from it."""
    if args is None:
        args = argument_types(frame, code)
    prof = Profile(args, specialised_instructions(code))
    PROFILES[code] = prof
    if dump:
        args = ", ".join(f"{a[0]}: {a[2]}" if a[1] == "builtins" else f"{a[0]}: {a[1]}.{a[2]}"
                         for a in prof.args if a) or "-"
        spec = ", ".join(f"{off} {name}" for off, name in prof.specialised) or "-"
        sys.stderr.write(f";; ember profile: {code.co_qualname} "
                         f"({code.co_filename}:{code.co_firstlineno})\n"
                         f"  args: {args}\n  specialised: {spec}\n")
        sys.stderr.flush()
    return prof
