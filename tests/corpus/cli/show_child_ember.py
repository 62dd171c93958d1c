import subprocess
import sys

code = "import sys; print('ember._hotness' in sys.modules)"
print("parent", "ember._hotness" in sys.modules)
print("child", subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip())
