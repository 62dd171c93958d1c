import sys

print("before exit")
sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
