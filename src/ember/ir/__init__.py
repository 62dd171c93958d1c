"""Ember's SSA IR: data structures, types, ops, text form and verifier.

`ember.ir` imports nothing from the other Ember stages. The contract it implements is
docs/ir-contract.md; how to add an op is in README.md next to this file.
"""

from ember.ir import types
from ember.ir.builder import Builder, BuildError
from ember.ir.consts import ConstRef
from ember.ir.core import (
    Block,
    BlockParam,
    Edge,
    ExcHandler,
    FrameState,
    Function,
    Value,
)
from ember.ir.dominators import DominatorTree
from ember.ir.ops import *  # noqa: F403 - the op classes are part of ember.ir's API
from ember.ir.ops import __all__ as _op_names
from ember.ir.parser import ParseError, parse_function, relink
from ember.ir.printer import print_function
from ember.ir.verify import VerifyError, verify

__all__ = [
    "types",
    "Builder",
    "BuildError",
    "ConstRef",
    "DominatorTree",
    "ParseError",
    "parse_function",
    "relink",
    "print_function",
    "VerifyError",
    "verify",
    "Block",
    "BlockParam",
    "Edge",
    "ExcHandler",
    "FrameState",
    "Function",
    "Value",
    *_op_names,
]
