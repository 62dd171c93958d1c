"""Every command-line form of python3.12 behaves the same under `./ember`."""

import signal
import subprocess

import pytest

from tests.harness import (
    CORPUS,
    CPYTHON,
    EMBER,
    assert_same,
    cpython,
    ember,
    environment,
)

CLI = CORPUS / "cli"

FORMS = {
    "script-args": (["show_context.py", "a", "b c", "--flag"], None),
    "script-abs-path": ([str(CLI / "show_context.py"), "x"], None),
    "dash-c": (["-c", "import sys; print(sys.argv, __name__, sys.path[0] == '')", "p", "q"], None),
    "dash-c-error": (["-c", "def f():\n    return 1/0\nf()"], None),
    "dash-m-module": (["-m", "climod", "one", "two"], None),
    "dash-m-module-error": (["-m", "climod", "fail"], None),
    "dash-m-package": (["-m", "climodpkg", "arg"], None),
    "dash-m-missing": (["-m", "no_such_module_here"], None),
    "dash-m-stdlib": (["-m", "json.tool"], b'{"b": [1, 2.5, null], "a": "\\u00e9"}'),
    "stdin-dash": (["-", "arg1"], b"import sys\nprint('from stdin', sys.argv, __name__)\n"),
    "stdin-piped": ([], b"import sys\nprint('piped', sys.argv)\nraise SystemExit(4)\n"),
    "stdin-piped-error": ([], b"x = 1\ny = x +\n"),
    "exit-int": (["exit_code.py", "7"], None),
    "exit-zero": (["exit_code.py", "0"], None),
    "exit-message": (["exit_message.py"], None),
    "uncaught-chained": (["deep_error.py"], None),
    "syntax-error": (["syntax_error.py"], None),
    "missing-file": (["no_such_script.py"], None),
    "keyboard-interrupt": (["keyboard_interrupt.py"], None),
    "children": (["children.py"], None),
    "unicode": (["unicode_out.py"], None),
    "flag-u": (["-u", "show_context.py"], None),
    "flag-B": (["-B", "show_context.py"], None),
    "flag-E": (["-E", "show_context.py"], None),
    "flag-I": (["-I", "show_context.py"], None),
    "flag-s": (["-s", "show_context.py"], None),
    "flag-S": (["-S", "show_context.py"], None),
    "flag-O": (["-O", "show_context.py"], None),
    "flag-OO": (["-OO", "docstrings.py"], None),
    "flag-O-docstrings": (["-O", "docstrings.py"], None),
    "flag-q": (["-q", "-c", "print('quiet')"], None),
    "flag-W-error": (["-W", "error", "warnings_demo.py"], None),
    "flag-W-default": (["-Wdefault", "warnings_demo.py"], None),
    "flag-W-ignore": (["-W", "ignore", "warnings_demo.py"], None),
    "flag-X-utf8": (["-X", "utf8", "unicode_out.py"], None),
    "flag-X-dev": (["-X", "dev", "warnings_demo.py"], None),
    "flag-X-int-digits": (["-X", "int_max_str_digits=640", "-c", "print(len(str(10**700)))"], None),
    "flag-X-bad-cpython": (["-X", "int_max_str_digits=oops", "-c", "pass"], None),
    "flag-V": (["-V"], None),
    "flag-VV": (["-VV"], None),
    "flag-version": (["--version"], None),
    "flag-h": (["-h"], None),
    "flag-unknown": (["--no-such-flag"], None),
    "flags-combined": (["-BsuO", "-W", "ignore", "show_context.py", "z"], None),
}


@pytest.mark.parametrize("name", sorted(FORMS))
def test_cli_form_matches_cpython(name):
    args, stdin = FORMS[name]
    assert_same(args, stdin=stdin, cwd=CLI)


def test_python_environment_variables_are_honoured():
    env = {"PYTHONOPTIMIZE": "2", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONWARNINGS": "error"}
    assert_same(["show_context.py"], cwd=CLI, env=env)
    assert_same(["-E", "show_context.py"], cwd=CLI, env=env)


def test_closed_stdout_pipe_matches_cpython():
    """`prog | head -1`: the reader closes the pipe after one line."""

    def run_and_close(argv):
        proc = subprocess.Popen(
            argv, cwd=CLI, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        first = proc.stdout.readline()
        proc.stdout.close()
        err = proc.stderr.read()
        return first, err, proc.wait(timeout=60)

    expected = run_and_close([str(CPYTHON), "many_lines.py"])
    actual = run_and_close([str(EMBER), "many_lines.py"])
    assert expected[0] == b"line 0\n"
    assert actual == expected


@pytest.mark.parametrize("flags", [(), ("-X", "jit-threshold=0")])
def test_sigint_matches_cpython(flags):
    """A real Ctrl-C (SIGINT) while the program sleeps: same traceback tail and status."""

    def interrupt(argv):
        proc = subprocess.Popen(
            argv, cwd=CLI, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        try:
            assert proc.stdout.readline() == b"ready\n"
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=60)
        finally:
            proc.kill()  # a program that did not stop must not outlive the test
            proc.wait()
        return err.splitlines()[-1], proc.returncode

    expected = interrupt([str(CPYTHON), "wait_for_signal.py"])
    actual = interrupt([str(EMBER), *flags, "wait_for_signal.py"])
    assert expected == (b"KeyboardInterrupt", -signal.SIGINT)
    assert actual == expected


def test_children_run_under_ember():
    """sys.executable is Ember's interpreter alias, so child processes run under Ember."""
    result = ember(["show_child_ember.py"], cwd=CLI)
    assert result.stdout == b"parent True\nchild True\n", result
    plain = cpython(["show_child_ember.py"], cwd=CLI)
    assert plain.stdout == b"parent False\nchild False\n", plain


def test_python_dash_m_ember_runs_under_ember():
    venv_python = EMBER.parent / ".venv" / "bin" / "python"
    code = "import sys; print('ember._hotness' in sys.modules, sys.flags.optimize, sys.argv)"
    proc = subprocess.run(
        [str(venv_python), "-O", "-m", "ember", "-c", code, "x"],
        capture_output=True, env=environment(), timeout=60,
    )
    assert proc.stdout == b"True 1 ['-c', 'x']\n", proc
    assert proc.returncode == 0


def test_ember_console_script_runs_under_ember():
    script = EMBER.parent / ".venv" / "bin" / "ember"
    proc = subprocess.run(
        [str(script), "-c", "import sys; print('ember._hotness' in sys.modules, sys.argv)", "y"],
        capture_output=True, env=environment(), timeout=60,
    )
    assert proc.stdout == b"True ['-c', 'y']\n", proc


def test_import_on_other_python_stops_with_one_line(tmp_path):
    """On a Python other than 3.12, importing ember says what it found and exits 2."""
    other = _another_python()
    if other is None:
        pytest.skip("no Python other than 3.12 on this machine")
    src = EMBER.parent / "src"
    proc = subprocess.run(
        [other, "-c", f"import sys; sys.path.insert(0, {str(src)!r}); import ember"],
        capture_output=True, timeout=60,
    )
    assert proc.returncode == 2
    lines = proc.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ember: needs CPython 3.12, found "), lines


def _another_python():
    import shutil

    for name in ("python3.11", "python3.13", "python3.10", "python3"):
        path = shutil.which(name)
        if path:
            probe = subprocess.run([path, "-c", "import sys; print(sys.version_info[:2])"],
                                   capture_output=True, text=True)
            if probe.returncode == 0 and probe.stdout.strip() != "(3, 12)":
                return path
    return None


@pytest.mark.parametrize("flags", [(), ("-X", "jit=off"), ("-X", "jit-threshold=0"),
                                   ("-X", "jit-threshold=5")])
def test_recursion_limit_matches_cpython(flags):
    """The JIT's own machinery (hotness counting, compiled calls, the compiler running
    from the counter) must not move the point where RecursionError strikes."""
    assert_same(["recursion_depth.py"], ember_args=flags, cwd=CLI, timeout=600)
