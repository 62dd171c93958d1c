"""Reasons a function stays interpreted before any compiling is tried.

`screen(code)` returns a `Refused` (reason name, detail) or None. It looks at co_flags and
the bytecode only, conservatively: a doubt refuses. Reasons:

- `generator`, `coroutine`, `async_generator`: need a frame that outlives the call (for now);
- `uses_locals`, `uses_vars`, `uses_dir`: `locals()`, or `vars()`/`dir()` without arguments,
  read the caller's frame, which compiled code does not have;
- `uses_exec`, `uses_eval`: `exec`/`eval` without an explicit globals namespace run in the
  caller's frame;
- `uses_frame`: `sys._getframe`, `inspect.currentframe` (found by name, however reached);
- `uses_breakpoint`: `breakpoint()` enters a debugger on the caller's frame.
"""

from __future__ import annotations

import dis
from types import CodeType

from ember import abi
from ember.bytecode import Refused

# name -> (reason, the smallest argument count that no longer needs the frame)
_FRAME_BUILTINS = {
    "locals": ("uses_locals", None),  # any call: even locals(x) would be a TypeError
    "vars": ("uses_vars", 1),
    "dir": ("uses_dir", 1),
    "exec": ("uses_exec", 2),
    "eval": ("uses_eval", 2),
    "breakpoint": ("uses_breakpoint", None),
}
_FRAME_NAMES = {"_getframe": "uses_frame", "currentframe": "uses_frame"}
_GLOBAL_LOADS = {"LOAD_GLOBAL", "LOAD_NAME", "LOAD_DEREF", "LOAD_FROM_DICT_OR_GLOBALS"}


def screen(code: CodeType) -> Refused | None:
    flags = code.co_flags
    if flags & abi.CO_ASYNC_GENERATOR:
        return Refused("async_generator", "async generators stay interpreted for now")
    if flags & (abi.CO_COROUTINE | abi.CO_ITERABLE_COROUTINE):
        return Refused("coroutine", "coroutines stay interpreted for now")
    if flags & abi.CO_GENERATOR:
        return Refused("generator", "generators stay interpreted for now")
    for name in code.co_names:
        if name in _FRAME_NAMES:
            return Refused(_FRAME_NAMES[name], f"refers to {name!r}")
    if not any(n in _FRAME_BUILTINS for n in (*code.co_names, *code.co_freevars)):
        return None
    instrs = list(dis.get_instructions(code))
    for i, ins in enumerate(instrs):
        if ins.opname in _GLOBAL_LOADS and ins.argval in _FRAME_BUILTINS:
            reason, enough = _FRAME_BUILTINS[ins.argval]
            argc = None if enough is None else _call_argc(instrs, i)
            if argc is None or argc < enough:
                return Refused(reason, f"calls {ins.argval}() at line {ins.positions.lineno}")
    return None


def _call_argc(instrs: list[dis.Instruction], start: int) -> int | None:
    """The argument count of the CALL that calls the callable loaded at `start`.

    Follows the straight-line code after the load, tracking the stack depth above the point
    where the load began; None when that is not simple (a jump, a handler, the value used
    some other way than being called), which the caller treats as "refuse".
    """
    load = instrs[start]
    depth = dis.stack_effect(load.opcode, load.arg, jump=False)
    callable_at = depth - 1  # the load leaves the callable on top
    for ins in instrs[start + 1 :]:
        if ins.is_jump_target or "JUMP" in ins.opname or ins.opname.startswith("RETURN"):
            return None
        if ins.opname == "CALL":
            # CALL n pops the callable, the self-or-NULL slot and n arguments.
            slot = depth - ins.arg - 1
            if slot == callable_at:
                return ins.arg
            if slot < callable_at:
                return None
        depth += dis.stack_effect(ins.opcode, ins.arg, jump=False)
        if depth <= callable_at:
            return None
    return None
