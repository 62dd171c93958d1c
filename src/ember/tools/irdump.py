"""`python -m ember.tools.irdump FILE [NAME...]`: print the IR of the code objects in FILE.

With NAMEs, only code objects whose qualname (or name) is one of them. Refusals are
printed as `;; refused <qualname>: <reason>` lines. This is what `-X jit-dump=ir` prints
for each function the JIT compiles, for a whole file at once.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from types import CodeType

from ember.bytecode import Refused
from ember.frontend import build_function
from ember.ir.printer import print_function
from ember.ir.verify import VerifyError, verify


def _walk(code: CodeType):
    yield code
    for c in code.co_consts:
        if isinstance(c, CodeType):
            yield from _walk(c)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ember.tools.irdump", description=__doc__)
    ap.add_argument("file")
    ap.add_argument("names", nargs="*", help="qualnames or names of code objects to print")
    args = ap.parse_args(argv)
    with open(args.file, "rb") as f:
        source = f.read()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        top = compile(source, args.file, "exec", dont_inherit=True)
    status = 0
    for code in _walk(top):
        if args.names and code.co_qualname not in args.names and code.co_name not in args.names:
            continue
        try:
            func = build_function(code)
        except Refused as exc:
            print(f";; refused {code.co_qualname}: {exc}")
            continue
        print(print_function(func))
        try:
            verify(func)
        except VerifyError as exc:
            print(f";; verify failed for {code.co_qualname}:\n{exc}", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
