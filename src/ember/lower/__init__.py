"""Tier 1: IR -> LLVM IR that calls the C API for each op, exactly as ceval.c does.

`lower_function(func, code, module, name)` adds the body `name` (the `support.BODY`
shape) to `module` or raises `NotLowered(reason, detail)`. The core is `function.py`;
each op family registers its lowerings (`registry.lowers`) in its own module. See
README.md for the rules (what is refused and why).
"""

from __future__ import annotations

from ember.lower import (  # noqa: F401 - importing registers the lowerings
    arith,
    attrs,
    calls,
    closures,
    containers,
    control,
    imports,
    iteration,
    matching,
    names,
    strings,
    unpacking,
)
from ember.lower.function import Lowering
from ember.lower.registry import LOWERINGS, NotLowered


def lower_function(func, code, module, name: str):
    """Lower `func` (the IR of `code`) into `module` as the body function `name`.

    Returns the objects the machine code refers to by address; the caller keeps them
    alive as long as the code may run."""
    cx = Lowering(func, code, module, name)
    cx.lower()
    return cx.keep


__all__ = ["LOWERINGS", "NotLowered", "lower_function"]
