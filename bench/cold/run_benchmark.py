"""cold_stdlib: a fresh process imports big stdlib modules and exercises each once.

Nothing runs often enough to get hot, so a JIT cannot win anything here: the number is what
Ember costs a program it cannot help (start-up hook, hotness counting). pyperf times whole
processes (`bench_command`), so every value is a cold start. Each process is started as the
worker running this script was, `-X` options included (`-X jit=off` for the suite's "Ember,
JIT off" column): `sys.executable` alone would drop them.
"""

import os
import sys

import pyperf

HERE = os.path.dirname(os.path.abspath(__file__))
# This interpreter's -X options, as its command line gave them.
XOPTIONS = [f"-X{k}" if v is True else f"-X{k}={v}"
            for k, v in getattr(sys, "_xoptions", {}).items()]

if __name__ == "__main__":
    runner = pyperf.Runner()
    runner.metadata["description"] = __doc__.splitlines()[0]
    runner.bench_command("cold_stdlib", [sys.executable, *XOPTIONS,
                                          os.path.join(HERE, "workload.py")])
