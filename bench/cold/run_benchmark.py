"""cold_stdlib: a fresh process imports big stdlib modules and exercises each once.

Nothing runs often enough to get hot, so a JIT cannot win anything here: the number is what
Ember costs a program it cannot help (start-up hook, hotness counting). pyperf times whole
processes (`bench_command`), so every value is a cold start.
"""

import os
import sys

import pyperf

HERE = os.path.dirname(os.path.abspath(__file__))

if __name__ == "__main__":
    runner = pyperf.Runner()
    runner.metadata["description"] = __doc__.splitlines()[0]
    runner.bench_command("cold_stdlib", [sys.executable, os.path.join(HERE, "workload.py")])
