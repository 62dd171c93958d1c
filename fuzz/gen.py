"""The program generator: one seed, one program, always the same text.

    .venv/bin/python -m fuzz.gen SEED            # print the program of SEED
    .venv/bin/python -m fuzz.gen SEED --small    # the smaller programs of the quick test

A program is the prelude (`prelude.py`), a few units (`unit.py`: one feature each, from
the `units_*.py` modules, chosen by weight), a `main()` that runs each unit's driver, and
sometimes an ending that exits with a status or an uncaught exception's traceback. All
randomness comes from `random.Random(seed)`; nothing in the generator depends on the
machine, the time or the Python process.
"""

from __future__ import annotations

import argparse
import ast
import random
import re
from collections import Counter
from dataclasses import dataclass, field

from fuzz import units_containers as containers
from fuzz import units_core as core
from fuzz import units_dynamic as dynamic
from fuzz import units_frames as frames
from fuzz import units_funcs as funcs
from fuzz import units_objects as objects
from fuzz import units_order
from fuzz.prelude import EPILOGUE, PRELUDE, TOUCH
from fuzz.unit import Unit, indent

#: (generator, weight). Weights favour the units whose functions compile (everything but
#: generators and except*) and the ones that find the most (random bodies, rebinding,
#: releases).
KINDS = [
    (core.arith, 8), (core.flow, 12), (core.finally_forms, 4), (core.except_star, 1),
    (funcs.signatures, 4), (funcs.closures, 3), (funcs.recursion, 3),
    (funcs.generators, 2), (funcs.comprehensions, 3),
    (objects.slots, 2), (objects.properties, 2), (objects.getattr_hooks, 2),
    (objects.operators, 4), (objects.builtin_subclasses, 3), (objects.protocols, 3),
    (objects.methods, 3),
    (dynamic.rebinding, 6), (dynamic.release, 6), (dynamic.refcounts, 4),
    (containers.sequences, 4), (containers.iteration_mutation, 2),
    (containers.mappings, 3), (containers.strings, 3),
    (frames.tracebacks, 4), (frames.tracing, 3), (units_order.order, 5),
]


@dataclass
class Program:
    seed: int
    text: str
    #: unit prefix ("u3_") -> kind ("flow"): which feature printed a differing line.
    kinds: dict[str, str] = field(default_factory=dict)


def generate(seed: int, small: bool = False) -> Program:
    rng = random.Random(seed)
    n_units = rng.randint(2, 3) if small else rng.randint(4, 7)
    gens, weights = zip(*KINDS)
    chosen = rng.choices(gens, weights, k=n_units)
    units, kinds = [], {}
    for i, make in enumerate(chosen):
        prefix = f"u{i}_"
        unit: Unit = make(random.Random(rng.getrandbits(64)))
        kinds[prefix] = unit.kind
        code = re.sub(r"\bP_", prefix, unit.code)
        run = re.sub(r"\bP_", prefix, unit.run)
        units.append(f"# -- {prefix[:-1]}: {unit.kind}\n" + code +
                     f"\n\n\ndef {prefix}main():\n" + indent(run, 1))
    ending = ""
    if rng.random() < 0.12:
        prefix = f"u{n_units}_"
        kinds[prefix] = "ending"
        ending = f"# -- {prefix[:-1]}: ending\n" + core.ending(rng, prefix)
    used = _names("\n\n".join(units + [ending]))
    touch = [line for name, line in TOUCH.items() if name in used]
    mains = ", ".join(f"u{i}_main" for i in range(n_units))
    live = "D" in used
    driver = f"""\
def main():
    _touch()
    for unit in ({mains},):
        print('--', unit.__name__)
        try:
            unit()
        except Exception as e:
            print('escaped', unit.__name__, _e(e))
{"        print('live D objects', D.live)" if live else ""}


def _touch():
{indent(chr(10).join(touch) or "pass", 1)}


main()
""" + (EPILOGUE if live else "")
    header = (f"# Ember fuzz program: seed {seed}{' (small)' if small else ''}, "
              "from `python -m fuzz.gen`\n")
    # Importing weakref runs some seventy functions of importlib, each compiled at
    # -X jit-threshold=0: only the programs that use it pay for that.
    prelude = PRELUDE if "weakref" in used else PRELUDE.replace("import weakref\n", "")
    parts = [header + prelude, *units, driver, ending]
    text = "\n\n".join(p.rstrip("\n") + "\n" for p in parts if p)
    return Program(seed, prune(text), kinds)


def _names(source: str) -> set[str]:
    return {n.id for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Name)}


def prune(source: str) -> str:
    """Drop the module-level functions and classes nothing else names (the prelude's
    classes a program does not use, the helpers of a template its sample left out):
    a function that is defined and never called is never compiled either."""
    while True:
        lines = source.split("\n")
        # Word tokens, not names from the AST: a name in a string (`globals()['min']`)
        # keeps its definition too.
        everywhere = Counter(_WORD.findall(source))
        dead = []
        for node in ast.parse(source).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                first = min([node.lineno] + [d.lineno for d in node.decorator_list])
                inside = Counter(_WORD.findall("\n".join(lines[first - 1:node.end_lineno])))
                if everywhere[node.name] == inside[node.name]:
                    dead.append((first, node.end_lineno))
        if not dead:
            return source
        for first, last in reversed(dead):
            # The definition and the blank lines after it.
            while last < len(lines) and not lines[last].strip():
                last += 1
            del lines[first - 1:last]
        source = "\n".join(lines)


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("seed", type=int)
    ap.add_argument("--small", action="store_true")
    args = ap.parse_args()
    print(generate(args.seed, args.small).text, end="")


if __name__ == "__main__":
    main()
