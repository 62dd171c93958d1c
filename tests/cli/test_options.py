"""Ember's own switches: parsed, validated, and taken from the environment unless -E/-I."""

import pytest

from ember import options
from tests.harness import CORPUS, ember

PRINT = "import ember._boot as b; print(b.OPTIONS)"


def parse(x=None, env=None, ignore=False):
    return options.parse(x or {}, env or {}, ignore)


def test_defaults():
    assert parse() == options.Options()
    assert parse().jit is True and parse().threshold == options.DEFAULT_THRESHOLD


@pytest.mark.parametrize(
    "xopts, field, value",
    [
        ({"jit": "off"}, "jit", False),
        ({"jit": "on"}, "jit", True),
        ({"jit-threshold": "0"}, "threshold", 0),
        ({"jit-threshold": "250"}, "threshold", 250),
        ({"jit-stats": True}, "stats", "-"),
        ({"jit-stats": "/tmp/s.json"}, "stats", "/tmp/s.json"),
        ({"jit-log": True}, "log", "-"),
        ({"jit-log": "log.txt"}, "log", "log.txt"),
        ({"jit-dump": "ir,asm"}, "dump", frozenset({"ir", "asm"})),
        ({"jit-cache": "off"}, "cache", "off"),
        ({"jit-cache": "on"}, "cache", None),
        ({"jit-cache": "./on"}, "cache", "./on"),
    ],
)
def test_x_options(xopts, field, value):
    assert getattr(parse(xopts), field) == value


@pytest.mark.parametrize(
    "xopts, message",
    [
        ({"jit": "maybe"}, "-X jit: expected 'on' or 'off', got 'maybe'"),
        ({"jit-threshold": "-1"}, "-X jit-threshold: expected a non-negative integer, got '-1'"),
        ({"jit-threshold": True}, "-X jit-threshold: expected a non-negative integer, got ''"),
        ({"jit-threshold": "1e3"}, "-X jit-threshold: expected a non-negative integer, got '1e3'"),
        ({"jit-dump": "ir,bogus"}, "-X jit-dump: unknown dump kind 'bogus'"),
        ({"jit-dump": True}, "-X jit-dump: expected a comma-separated list"),
        ({"jit-speed": "11"}, "-X jit-speed: unknown Ember option"),
    ],
)
def test_bad_x_options(xopts, message):
    with pytest.raises(options.OptionError) as info:
        parse(xopts)
    assert str(info.value).startswith(message)


def test_environment_and_precedence():
    env = {"EMBER_JIT_THRESHOLD": "7", "EMBER_JIT": "off", "EMBER_JIT_STATS": "1"}
    assert parse(env=env) == options.Options(jit=False, threshold=7, stats="-")
    assert parse({"jit-threshold": "9"}, env).threshold == 9  # -X wins
    assert parse(env=env, ignore=True) == options.Options()  # -E / -I
    assert parse(env={"EMBER_JIT_THRESHOLD": ""}).threshold == options.DEFAULT_THRESHOLD


def test_options_reach_the_process():
    result = ember(["-c", PRINT], ember_args=("-X", "jit-threshold=0", "-X", "jit-dump=ir"))
    assert b"threshold=0" in result.stdout and b"dump=frozenset({'ir'})" in result.stdout


@pytest.mark.parametrize(
    "args, env, line",
    [
        (["-X", "jit-threshold=abc"], {}, b"ember: -X jit-threshold: expected a non-negative integer, got 'abc'\n"),
        (["-X", "jit=perhaps"], {}, b"ember: -X jit: expected 'on' or 'off', got 'perhaps'\n"),
        ([], {"EMBER_JIT_DUMP": "llvm,nope"}, b"ember: EMBER_JIT_DUMP: unknown dump kind 'nope' (expected some of ir,llvm,asm,profile)\n"),
    ],
)
def test_bad_value_is_one_line_and_status_2(args, env, line):
    result = ember([*args, str(CORPUS / "cli" / "exit_code.py")], env=env)
    assert (result.stdout, result.stderr, result.returncode) == (b"", line, 2)


@pytest.mark.parametrize("flag", ["-E", "-I"])
def test_dash_e_and_i_ignore_ember_environment(flag):
    result = ember([flag, "-c", PRINT], env={"EMBER_JIT_THRESHOLD": "bogus", "EMBER_JIT": "x"})
    assert result.returncode == 0, result.stderr
    assert f"threshold={options.DEFAULT_THRESHOLD}".encode() in result.stdout


def test_dumps_are_printed_at_the_default_settings():
    """-X jit-dump=ir,asm prints the IR and the assembly of each compiled function on
    stderr, also where compiles would otherwise go to the compile server."""
    program = ("import ember, time\n"
               "def hot(x):\n    return x + 1\n"
               "deadline = time.monotonic() + 60\n"
               "while time.monotonic() < deadline:\n"
               # Called from C: a small function called inline by the interpreter
               # would be left to it at the defaults (_counter.c).
               "    sum(map(hot, range(1000)))\n"
               "    if any(c['qualname'] == 'hot' for c in ember.stats()['compiled']):\n"
               "        break\n")
    for args in ((), ("-X", "jit-threshold=100")):
        result = ember(["-c", program],
                       ember_args=(*args, "-X", "jit-warmup=0", "-X", "jit-dump=ir,asm"))
        assert result.returncode == 0, result
        assert b";; ember ir after frontend: hot (<string>:2)" in result.stderr, (args, result)
        assert b";; ember asm: " in result.stderr, (args, result)
