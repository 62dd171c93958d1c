"""Prints what CPython sets up for a script: argv, path[0], __name__, __file__, flags."""
import os
import sys

print("argv", sys.argv)
print("path0", sys.path[0])
print("name", __name__)
print("file", __file__)
print("spec", __spec__)
print("cwd-relative", os.path.relpath(sys.path[0] or ".", os.getcwd()))
print("flags", sys.flags)
print("warnoptions", sys.warnoptions)
print("doc", __doc__)
print("stdin-tty", sys.stdin.isatty(), "stdout-buffered", type(sys.stdout.buffer).__name__)
print("optimize-assert", end=" ")
try:
    assert False, "asserts run"
except AssertionError as e:
    print(e)
else:
    print("asserts stripped")
