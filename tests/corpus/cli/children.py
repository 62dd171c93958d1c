"""Children started with sys.executable: subprocess and multiprocessing (spawn)."""
import multiprocessing as mp
import subprocess
import sys


def square(x):
    return x * x


if __name__ == "__main__":
    out = subprocess.run(
        [sys.executable, "-c", "import sys; print('child', 6 * 7, sys.argv[1:])", "x"],
        capture_output=True, text=True, check=True,
    )
    print(out.stdout, end="")
    bad = subprocess.run([sys.executable, "-c", "raise SystemExit(5)"])
    print("child status", bad.returncode)
    with mp.get_context("spawn").Pool(2) as pool:
        print(pool.map(square, range(8)))
