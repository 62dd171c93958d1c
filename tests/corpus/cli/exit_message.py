import sys

print("about to leave", flush=True)
sys.exit("fatal: the configuration is missing")
