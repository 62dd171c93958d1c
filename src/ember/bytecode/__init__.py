"""CPython 3.12 bytecode: decoding, exception table, stack effects, CFG, nullness.

The only package (with `frontend/`) that knows 3.12 opcodes. It imports no other Ember
stage. Anything it cannot handle raises `Refused(reason)`.
"""

from .cfg import CFG, BBlock, build_cfg, localsplus_names
from .decode import Instr, decode
from .errors import Refused
from .exctable import ExcEntry, parse_exception_table
from .opcodes import stack_effect

__all__ = [
    "CFG",
    "BBlock",
    "ExcEntry",
    "Instr",
    "Refused",
    "build_cfg",
    "decode",
    "localsplus_names",
    "parse_exception_table",
    "stack_effect",
]
