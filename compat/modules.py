"""Which `Lib/test` modules to run, and in which order.

The full list comes from the oracle's own regrtest (`python3.12 -m test --list-tests`), so it
is exactly the set of test files of the 3.12 installation, with the test packages that
regrtest splits (test_asyncio, test_concurrent_futures, ...) split the same way.
"""

from __future__ import annotations

import subprocess

# The modules issue 4 names: the core language and the builtin types.
ISSUE4_MODULES = (
    "test_grammar test_int test_float test_long test_bool test_list test_tuple test_dict "
    "test_set test_string test_unicode test_exceptions test_scope test_class test_descr "
    "test_augassign test_opcodes test_compare test_contains test_with test_raise "
    "test_keywordonlyarg test_extcall test_unpack test_sort test_math test_richcmp "
    "test_patma test_generators test_listcomps test_dictcomps test_setcomps test_genexps "
    "test_string_literals test_fstring test_format test_int_literal test_property test_super "
    "test_funcattrs test_dataclasses test_enum test_functools test_itertools "
    "test_collections test_operator test_json test_re test_statistics test_fractions "
    "test_decimal test_heapq test_bisect test_random test_textwrap"
).split()

# A few more core ones to round the quick set out to about 60.
EXTRA_QUICK_MODULES = (
    "test_builtin test_types test_iter test_range test_bytes test_call test_coroutines "
    "test_named_expressions test_exception_group test_complex"
).split()

QUICK_MODULES = tuple(ISSUE4_MODULES + EXTRA_QUICK_MODULES)

# Modules known to take minutes: started first so that they don't form the tail of a
# parallel run (longest-processing-time-first scheduling). Order matters only for speed.
SLOW_FIRST = (
    "test_multiprocessing_spawn",
    "test_multiprocessing_forkserver",
    "test_multiprocessing_fork",
    "test_concurrent_futures",
    "test_tools",
    "test_peg_generator",
    "test_capi",
    "test_subprocess",
    "test_signal",
    "test_socket",
    "test_io",
    "test_decimal",
    "test_lib2to3",
    "test_pickle",
    "test_compileall",
    "test_tarfile",
    "test_asyncio.test_tasks",
    "test_asyncio.test_events",
    "test_zipfile",
    "test_unparse",
    "test_tokenize",
    "test_regrtest",
    "test_threading",
    "test_statistics",
    "test_math",
    "test_largefile",
    "test_ssl",
    "test_venv",
    "test_zipimport_support",
    "test_email",
    "test_inspect.test_inspect",
    "test_pydoc",
    "test_builtin",
    "test_re",
    "test_itertools",
    "test_random",
)


def strip_test_prefix(name: str) -> str:
    """`test.test_asyncio.test_tasks` -> `test_asyncio.test_tasks` (regrtest accepts both)."""
    return name[len("test."):] if name.startswith("test.") else name


def list_all_modules(python: str) -> list[str]:
    """Every test module of the interpreter's `Lib/test`, as regrtest itself lists them."""
    out = subprocess.run(
        [python, "-m", "test", "--list-tests"],
        capture_output=True, text=True, check=True, timeout=300,
    ).stdout
    return parse_list_tests(out)


def parse_list_tests(output: str) -> list[str]:
    """Parse `-m test --list-tests` output: one module per line, nothing else."""
    names = []
    for line in output.splitlines():
        line = line.strip()
        if line.startswith("test") and " " not in line:
            names.append(strip_test_prefix(line))
    return names


def schedule(modules: list[str]) -> list[str]:
    """Known-slow modules first (in SLOW_FIRST order), the rest in their given order."""
    rank = {name: i for i, name in enumerate(SLOW_FIRST)}
    slow = sorted((m for m in modules if m in rank), key=rank.__getitem__)
    rest = [m for m in modules if m not in rank]
    return slow + rest
