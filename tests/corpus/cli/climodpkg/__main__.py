import sys

print("package main", __name__, __spec__.name, sys.argv[1:], sys.path[0] == "" or sys.path[0])
