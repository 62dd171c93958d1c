"""The persistent code cache end to end (ember/codecache.py): a second process loads the
machine code the first one compiled, and runs it with the same results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

PROGRAM = textwrap.dedent("""
    import json, sys
    import ember

    @ember.jit
    def work(n, scale=2, *, label="x"):
        total = 0
        names = {}
        for i in range(n):
            try:
                total += (i * scale) // (i % 3)
            except ZeroDivisionError as e:
                names[str(e)] = names.get(str(e), 0) + 1
        a, *rest = [total, n, label]
        return a, rest, sorted(names.items()), f"{label}:{total:>8}"

    print(work(50), work(7, 3, label="y"))
    try:
        work(None)
    except TypeError as e:
        print("TypeError", e)
    print(json.dumps([(c["qualname"], c["cached"]) for c in ember.stats()["compiled"]]),
          file=sys.stderr)
""")


def run(tmp_path, *extra):
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "xdg"),
               PYTHONHASHSEED="0")
    env.pop("EMBER_JIT_CACHE", None)
    return subprocess.run([sys.executable, *extra, "-c", PROGRAM], env=env,
                          capture_output=True, text=True, timeout=300)


def test_second_process_loads_the_cached_code(tmp_path):
    first = run(tmp_path)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stderr.splitlines()[-1]) == [["work", False]]
    second = run(tmp_path)
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stderr.splitlines()[-1]) == [["work", True]]
    assert second.stdout == first.stdout
    plain = subprocess.run([sys.executable, "-c", PROGRAM.replace("@ember.jit", "")],
                           capture_output=True, text=True, env=dict(os.environ, PYTHONHASHSEED="0"))
    assert first.stdout == plain.stdout
    # Cache directory: private to the user.
    assert os.stat(tmp_path / "xdg" / "ember").st_mode & 0o077 == 0


def test_cache_off_compiles_every_time(tmp_path):
    for _ in range(2):
        r = run(tmp_path, "-X", "jit-cache=off")
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stderr.splitlines()[-1]) == [["work", False]]
    assert not (tmp_path / "xdg" / "ember").exists()


def test_damaged_entries_are_recompiled(tmp_path):
    assert run(tmp_path).returncode == 0
    for root, _dirs, files in os.walk(tmp_path / "xdg" / "ember"):
        for name in files:
            path = os.path.join(root, name)
            data = open(path, "rb").read()
            open(path, "wb").write(data[: len(data) * 2 // 3])
    again = run(tmp_path)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stderr.splitlines()[-1]) == [["work", False]]
