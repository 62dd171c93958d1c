"""The persistent code cache end to end (ember/codecache.py): a second process loads the
machine code the first one compiled, and runs it with the same results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from ember import codecache

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


def test_tree_stats_lists_the_py_files_of_a_tree_with_their_size_and_mtime(tmp_path):
    """The code cache's signature of this installation (`codecache._signature`) rests on
    it: every .py file under each path, none elsewhere, in a fixed order."""
    hotness = pytest.importorskip("ember._hotness", reason="the C extension is not built")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "__pycache__").mkdir()
    (tmp_path / "b" / "__pycache__" / "x.py").write_text("hidden\n")
    (tmp_path / "b" / "inner.py").write_text("x = 1\n")
    (tmp_path / "a.py").write_text("a\n")
    (tmp_path / "c.py").write_text("cc\n")
    (tmp_path / "notes.txt").write_text("no\n")
    single = tmp_path / "single.py"
    single.write_text("s\n")

    def line(path):
        st = os.stat(path)
        return f"{path}:{st.st_size}:{st.st_mtime_ns}\n"

    got = hotness.tree_stats([str(tmp_path / "b"), str(tmp_path / "missing"), str(single)])
    assert got.decode() == line(tmp_path / "b" / "inner.py") + line(single)
    got = hotness.tree_stats([str(tmp_path)]).decode()
    # Each directory's files in name order, then its subdirectories.
    assert got == "".join(line(tmp_path / n) for n in ("a.py", "c.py", "single.py")) + \
        line(tmp_path / "b" / "inner.py")
    os.utime(tmp_path / "c.py", ns=(0, 12345))
    assert hotness.tree_stats([str(tmp_path)]).decode() != got  # an edit shows
    with pytest.raises(TypeError):
        hotness.tree_stats([b"bytes"])


def test_the_signature_covers_every_compiler_source():
    hotness = pytest.importorskip("ember._hotness", reason="the C extension is not built")
    root = os.path.dirname(codecache.__file__)
    listed = hotness.tree_stats([os.path.join(root, p) for p in codecache._COMPILER_PARTS])
    files = [ln.rsplit(":", 2)[0] for ln in listed.decode().splitlines()]
    assert sorted(files) == sorted(codecache._compiler_files())
