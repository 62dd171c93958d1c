"""The lowering registry: one function per IR op class, registered with `@lowers`.

A lowering is `fn(cx, op)` where `cx` is the `function.Lowering` of the function being
compiled. It emits LLVM IR at `cx.b` and returns the op's LLVM value (a tuple of values for
a `multi` op, None for `void`). It never decrefs its operands: the core does that after the
op, from liveness (see `function.py`). An op class without a registered lowering makes the
whole function refused ("tier 1: op X not lowered").
"""

from __future__ import annotations

from collections.abc import Callable


class NotLowered(Exception):
    """The function cannot be lowered exactly; it stays interpreted.

    `reason` is a short identifier for statistics, `detail` a readable sentence."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


LOWERINGS: dict[type, Callable] = {}


def lowers(*op_classes: type) -> Callable:
    def register(fn: Callable) -> Callable:
        for cls in op_classes:
            if cls in LOWERINGS:
                raise ValueError(f"{cls.opname} is lowered twice")
            LOWERINGS[cls] = fn
        return fn

    return register
