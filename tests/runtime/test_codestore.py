"""The code cache's storage (runtime/codestore.py): safety rules and robustness."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from ember.runtime import codestore

KEY = "ab" + "0" * 62


def test_round_trip_and_private_directory(tmp_path):
    where = tmp_path / "cache"
    c = codestore.CodeCache(str(where))
    assert c.enabled
    assert c.get(KEY) is None
    c.put(KEY, b"payload")
    assert c.get(KEY) == b"payload"
    assert oct(os.stat(where).st_mode & 0o777) == oct(0o700)
    entry = where / KEY[:2] / KEY[2:]
    assert entry.stat().st_mode & 0o077 == 0


def test_foreign_owned_directory_is_refused(tmp_path, capfd):
    if os.getuid() != 0:
        pytest.skip("needs root to give a directory away")
    where = tmp_path / "foreign"
    where.mkdir(mode=0o700)
    os.chown(where, 65534, 65534)
    c = codestore.CodeCache(str(where))
    assert not c.enabled
    c.put(KEY, b"x")
    assert c.get(KEY) is None
    err = capfd.readouterr().err
    assert err.count("\n") == 1 and "owned by another user" in err


def test_world_writable_directory_is_refused(tmp_path, capfd):
    where = tmp_path / "open"
    where.mkdir()
    os.chmod(where, 0o777)
    c = codestore.CodeCache(str(where))
    assert not c.enabled and c.get(KEY) is None
    assert "writable by group or others" in capfd.readouterr().err


def test_group_writable_entry_is_refused(tmp_path, capfd):
    c = codestore.CodeCache(str(tmp_path / "c"))
    c.put(KEY, b"payload")
    os.chmod(tmp_path / "c" / KEY[:2] / KEY[2:], 0o660)
    assert c.get(KEY) is None
    assert "unsafe ownership or mode" in capfd.readouterr().err


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty", "garbage"])
def test_damaged_entry_is_a_miss_and_is_rewritten(tmp_path, damage):
    c = codestore.CodeCache(str(tmp_path / "c"))
    c.put(KEY, b"machine code " * 50)
    path = tmp_path / "c" / KEY[:2] / KEY[2:]
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[-7] ^= 0x20
    elif damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "empty":
        data = bytearray()
    else:
        data = bytearray(b"not an entry at all")
    path.write_bytes(bytes(data))
    assert c.get(KEY) is None
    c.put(KEY, b"fresh")
    assert c.get(KEY) == b"fresh"


def test_concurrent_writers_never_corrupt(tmp_path):
    where = str(tmp_path / "c")
    script = textwrap.dedent(f"""
        import sys
        from ember.runtime import codestore
        c = codestore.CodeCache({where!r})
        me = int(sys.argv[1])
        for i in range(200):
            shared = "cd" + "%062x" % (i % 7)
            c.put(shared, (b"writer %d round %d " % (me, i)) * 40)
            c.put("ef" + "%062x" % (1000 * me + i), b"own %d" % i)
            got = c.get(shared)
            assert got is None or got.startswith(b"writer "), got[:40]
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, str(n)]) for n in range(4)]
    assert all(p.wait(timeout=120) == 0 for p in procs)
    c = codestore.CodeCache(where)
    for i in range(7):
        got = c.get(f"cd{i:062x}")
        assert got is not None and got.startswith(b"writer ")
    for me in range(4):
        for i in range(200):
            assert c.get(f"ef{1000 * me + i:062x}") == b"own %d" % i
    leftovers = [n for d in os.listdir(where) for n in os.listdir(os.path.join(where, d))
                 if n.startswith(".tmp")]
    assert leftovers == []


def _key(src: str, seed: str) -> str:
    prog = textwrap.dedent(f"""
        from ember.runtime import codestore
        code = compile({src!r}, "m.py", "exec")
        print(codestore.key(code, "", ember_version="v", llvm_version="l", cpu_features="c"))
    """)
    env = dict(os.environ, PYTHONHASHSEED=seed)
    return subprocess.run([sys.executable, "-c", prog], env=env, capture_output=True,
                          text=True, check=True).stdout.strip()


def test_keys_are_stable_across_processes_and_follow_the_code():
    src = "def f(x):\n    return x + {'a', 'b', 'c'}.__len__() + 1.5\n"
    assert _key(src, "1") == _key(src, "2")
    assert _key(src, "1") != _key(src.replace("1.5", "2.5"), "1")
    assert _key(src, "1") != _key("\n" + src, "1")  # line numbers are in the traceback
