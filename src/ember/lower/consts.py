"""The constants table of a compiled body: how machine code refers to Python objects.

A body never embeds an object's address. Each object it needs (its code object, a
constant, an interned name, a keyword-names tuple, a slow-path helper) gets a slot in a
table, the module's global `<body>.consts` (`[n x ptr]`), loaded where it is used; the
loader fills the table (`fill`) before the code first runs. So the object code is
relocatable, and can be stored and loaded again by another process (the persistent code
cache, issue 5): with each slot goes a *recipe*, a JSON-able description that rebuilds
the same object from the code object in that process (`codecache.resolve`).

Recipes:
    ["code"]                  the code object itself
    ["const", i]              code.co_consts[i] (identity: `x is <constant>` stays exact)
    ["str", s]                sys.intern(s) (names: keyword matching is by identity)
    ["kwnames", [s, ...]]     a tuple of interned names
    ["helper", "ember.slowpaths:fn", *args]  fn(*args): a Python slow path
An object with no recipe still works in this process; it only makes the body
uncacheable (`Table.cacheable` is False).
"""

from __future__ import annotations

import sys

from llvmlite import ir

from ember.backend import support

OBJ, I64 = support.OBJ, support.I64


class Table:
    """The slots of one body's constants table, in order."""

    def __init__(self, module: ir.Module, name: str, code):
        self.name = f"{name}.consts"
        self.code = code
        self.objects: list = []
        self.recipes: list = []
        self._index: dict[int, int] = {}
        self._md = None
        self.global_ = ir.GlobalVariable(module, ir.ArrayType(OBJ, 1), name=self.name)

    @property
    def cacheable(self) -> bool:
        return all(r is not None for r in self.recipes)

    def slot(self, obj, recipe=None) -> int:
        i = self._index.get(id(obj))
        if i is None:
            i = self._index[id(obj)] = len(self.objects)
            self.objects.append(obj)
            self.recipes.append(recipe if recipe is not None else recipe_of(obj, self.code))
        return i

    def load(self, b: ir.IRBuilder, obj, recipe=None) -> ir.Value:
        """The object's pointer, loaded where it is used (one RIP-relative load; keeping
        it in a register from the entry block on made register allocation ~20% slower),
        marked invariant: the table never changes once filled."""
        i = self.slot(obj, recipe)
        addr = b.gep(self.global_, [ir.Constant(I64, i)], source_etype=OBJ)
        value = b.load(addr, typ=OBJ)
        value.set_metadata("invariant.load", self._invariant(b.module))
        return value

    def _invariant(self, module):
        if self._md is None:
            self._md = module.add_metadata([])
        return self._md

    def finish(self) -> None:
        """Give the global its final size (slots are added while lowering)."""
        n = max(len(self.objects), 1)
        self.global_.value_type = ir.ArrayType(OBJ, n)
        self.global_.initializer = ir.Constant(ir.ArrayType(OBJ, n), None)


def recipe_of(obj, code):
    if obj is code:
        return ["code"]
    for i, c in enumerate(code.co_consts):
        if c is obj:
            return ["const", i]
    if type(obj) is str and sys.intern(obj) is obj:
        return ["str", obj]
    if type(obj) is tuple and all(type(s) is str and sys.intern(s) is s for s in obj):
        return ["kwnames", list(obj)]
    return None


#: Symbols naming an interned string in shared helpers (which have no constants table):
#: `ember.istr.<text>`; every process binds it to its own `sys.intern(text)` (the LLVM
#: engine here, `backend.loader` and the code cache when loading).
INTERNED_PREFIX = "ember.istr."


def interned(module: ir.Module, text: str) -> ir.Value:
    """A pointer to the interned string `text` (an identifier), through a symbol."""
    from llvmlite import binding as llvm

    from ember.backend import capi

    name = INTERNED_PREFIX + text
    if not llvm.address_of_symbol(name):
        llvm.add_symbol(name, id(sys.intern(text)))
    return capi.declare_object(module, name)
