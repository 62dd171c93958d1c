"""The pytest plugin (`-p ember.pytest_plugin`) on a tiny sample project in tmp_path.

The threshold is set high enough that only the sample's own hot function gets compiled
(pytest's internals are not called that often in so small a run), which keeps the
compile time of the test low. The run's report must be the same as without Ember, apart
from timings and the plugin's own summary.
"""

import json
import re
import subprocess
import textwrap
from pathlib import Path

from tests import harness

ROOT = Path(__file__).resolve().parents[2]
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"

FILES = {
    "mylib.py": '''
        def step(a, b):
            return b, a + b

        def fib(n):
            a, b = 0, 1
            for _ in range(n):
                a, b = step(a, b)
            return a
    ''',
    "tests/test_fib.py": '''
        from mylib import fib

        def test_many():
            assert [fib(i) for i in range(10)] == [0, 1, 1, 2, 3, 5, 8, 13, 21, 34]
            assert sum(fib(30) for _ in range(200)) == 200 * 832040

        def test_failing():
            assert fib(5) == 6
    ''',
    "conftest.py": '''
        import json, sys

        def pytest_sessionfinish(session):
            ember = sys.modules.get("ember")
            if ember is not None:
                compiled = [c["qualname"] for c in ember.stats()["compiled"]
                            if c["filename"].endswith("mylib.py")]
                with open("compiled.json", "w") as f:
                    json.dump(compiled, f)
    ''',
}


def make_project(tmp_path):
    for name, text in FILES.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def pytest_run(tmp_path, *args):
    proc = subprocess.run(
        [str(VENV_PYTHON), "-m", "pytest", "-p", "no:cacheprovider", *args],
        capture_output=True, text=True, cwd=tmp_path, timeout=600,
        env=harness.environment(),
    )
    return proc


def comparable(stdout: str) -> str:
    stdout = re.sub(r"-+ ember -+\n(?:.*\n)*?(?==+ short test summary)", "", stdout)
    return re.sub(r" in [0-9.]+s", " in <time>", stdout)


def test_plugin_compiles_the_project_code_and_reports(tmp_path):
    make_project(tmp_path)
    plain = pytest_run(tmp_path, "-p", "ember.pytest_plugin", "--no-ember")
    assert json.loads((tmp_path / "compiled.json").read_text()) == []  # --no-ember
    jit = pytest_run(tmp_path, "-p", "ember.pytest_plugin", "--ember-stats",
                     "--ember-threshold=5000")
    assert jit.returncode == plain.returncode == 1, jit.stdout + jit.stderr
    assert comparable(jit.stdout) == comparable(plain.stdout)
    assert jit.stderr == plain.stderr
    assert "step" in json.loads((tmp_path / "compiled.json").read_text())  # 6000+ calls
    summary = re.search(r"-+ ember -+\n(\d+) compiled, .* threshold 5000\n", jit.stdout)
    assert summary and int(summary.group(1)) >= 1, jit.stdout


def test_plugin_options_are_documented(tmp_path):
    proc = pytest_run(tmp_path, "-p", "ember.pytest_plugin", "--help")
    assert "--ember-stats" in proc.stdout and "--ember-threshold" in proc.stdout
