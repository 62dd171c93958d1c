import sys

print("héllo wörld ☃", sys.stdout.encoding, sys.getfilesystemencoding())
sys.stderr.write("err ünïcode\n")
