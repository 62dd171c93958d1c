import sys

print("module main", __name__, __spec__.name, sys.argv, __file__.endswith("climod.py"))
if len(sys.argv) > 1 and sys.argv[1] == "fail":
    raise RuntimeError("module failed")
