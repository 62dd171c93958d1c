"""What a unit is, and the helpers unit templates are written with.

A unit is one feature under test: module-level definitions (`code`) and the body of its
driver function (`run`), which calls the definitions enough times that they get compiled
at a low threshold, then with values they have not seen. Templates name their globals
`P_something`; `fill` replaces `P_` with the unit's own prefix (`u3_`), so units never
collide, and `@hole@` with a value chosen by the generator.
"""

from __future__ import annotations

import random
import re
import textwrap
from dataclasses import dataclass

#: Calls of a function before the values change: above the low threshold the fuzzer runs
#: at (50), so what follows runs compiled code.
WARM = 60


@dataclass
class Unit:
    kind: str
    code: str
    run: str


def fill(template: str, **holes) -> str:
    text = textwrap.dedent(template).strip("\n")
    for name, value in holes.items():
        hole, value = f"@{name}@", str(value)
        # A hole alone on its line takes a block of lines at that line's indentation.
        lines = []
        for line in text.split("\n"):
            if line.strip() == hole:
                pad = line[:len(line) - len(line.lstrip())]
                lines += [pad + v if v else v for v in value.split("\n")]
            else:
                lines.append(line.replace(hole, value))
        text = "\n".join(lines)
    leftover = re.findall(r"@[a-z_0-9]+@", text)
    if leftover:
        raise ValueError(f"unfilled holes {leftover}")
    return text


def pick(rng: random.Random, *options):
    return rng.choice(options)


def sample_lines(rng: random.Random, lines: list[str], lo: int, hi: int) -> str:
    """Some of `lines` (a template's optional statements), in their order."""
    k = rng.randint(min(lo, len(lines)), min(hi, len(lines)))
    chosen = sorted(rng.sample(range(len(lines)), k))
    return "\n".join(lines[i] for i in chosen)


def indent(text: str, n: int) -> str:
    return textwrap.indent(text, "    " * n)


def tries(exprs: list[str], var: str = "t") -> str:
    """Each expression appended to `var`, or the exception it raised (the common ones)."""
    return "\n".join(
        f"try:\n    {var}.append({e})\n"
        f"except (TypeError, AttributeError, ValueError, KeyError, IndexError) as e:\n"
        f"    {var}.append(_e(e))" for e in exprs)
