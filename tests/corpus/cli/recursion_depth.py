"""How deep recursion gets before RecursionError: nothing may add frames or move the limit."""
import sys


def depth(n):
    try:
        return depth(n + 1)
    except RecursionError:
        return n


def tree(n):
    return 1 if n == 0 else tree(n - 1) + tree(n - 1)


sys.setrecursionlimit(150)
print(depth(0), depth(0), tree(10))
sys.setrecursionlimit(1000)
print(depth(0), [depth(0) for _ in range(3)])
