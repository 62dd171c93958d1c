"""Stack to SSA: turns a CPython 3.12 code object into verified-shape `ember.ir`.

`build_function(code)` returns an `ir.Function` or raises `Refused(reason)`. One module per
opcode family registers its handlers in `registry.HANDLERS`; `builder.py` runs them.
"""

from ember.bytecode import Refused

from . import (  # noqa: F401  (importing registers the handlers)
    arith,
    attrs,
    calls,
    cells,
    containers,
    control,
    exceptions,
    generators,
    imports,
    locals,
    match,
    names,
    stack,
)
from .builder import FunctionBuilder


def build_function(code):
    """The IR of one code object (nested code objects are separate functions)."""
    return FunctionBuilder(code).build()


__all__ = ["Refused", "build_function"]
