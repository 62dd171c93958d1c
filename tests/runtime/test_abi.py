"""ember.abi against the installed 3.12 headers (C probe) and the running interpreter."""

import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap

import pytest

from ember import abi


def test_check_passes_on_this_interpreter():
    abi.check()


def test_check_sees_monitoring_events_of_a_tool():
    mon = sys.monitoring
    tool = 3
    mon.use_tool_id(tool, "ember-test")
    try:
        mon.set_events(tool, mon.events.PY_START | mon.events.LINE)
        abi.check()
    finally:
        mon.set_events(tool, 0)
        mon.free_tool_id(tool)


@pytest.mark.parametrize(
    "cls, field, delta",
    [(abi.Float, "ob_fval", 8), (abi.Function, "vectorcall", 8), (abi.Long, "lv_tag", 8)],
)
def test_check_reports_a_wrong_offset(monkeypatch, cls, field, delta):
    monkeypatch.setattr(cls, field, getattr(cls, field) + delta)
    with pytest.raises(abi.AbiMismatch):
        abi.check()


def test_long_tag_encoding():
    assert abi.long_tag(0) == abi.LONG_SIGN_ZERO
    assert abi.long_tag(5) == 1 << abi.LONG_NON_SIZE_BITS
    assert abi.long_tag(-5) == (1 << abi.LONG_NON_SIZE_BITS) | abi.LONG_SIGN_NEGATIVE
    assert abi.long_tag(2**30) == 2 << abi.LONG_NON_SIZE_BITS
    assert abi.long_tag(2**30 - 1) < abi.LONG_COMPACT_LIMIT <= abi.long_tag(2**30)


def test_immortal_rule():
    assert abi.is_immortal_refcnt(abi.IMMORTAL_REFCNT)
    assert abi.is_immortal_refcnt(sys.getrefcount(None))
    assert not abi.is_immortal_refcnt(1)
    # A mortal refcount that has grown past 2**32 is still mortal only if the low half is
    # non-negative as int32; CPython never lets a mortal object reach there in practice.
    assert abi.is_immortal_refcnt((1 << 32) | 0x80000000)


def _c_probe_source():
    lines = []
    for cls in abi.STRUCTS:
        for name, offset in cls.fields().items():
            path = cls.C_PATHS.get(name, name)
            lines.append(
                f'printf("{cls.__name__}.{name} %zu {offset}\\n", offsetof({cls.C_NAME}, {path}));'
            )
    body = "\n".join(lines)
    return (
        textwrap.dedent(
            """\
        #define Py_BUILD_CORE 1
        #include "Python.h"
        #include "internal/pycore_interp.h"
        #include "internal/pycore_frame.h"
        #include "internal/pycore_long.h"
        #include "internal/pycore_dict.h"
        #include "internal/pycore_list.h"
        #include "internal/pycore_range.h"
        #include "internal/pycore_tuple.h"
        #include <stddef.h>
        #include <stdio.h>
        int main(void) {
        """
        )
        + body
        + '\nprintf("IMMORTAL %llu\\n", (unsigned long long)_Py_IMMORTAL_REFCNT);\nreturn 0;\n}\n'
    )


@pytest.mark.skipif(shutil.which("gcc") is None, reason="no C compiler to read the headers")
def test_offsets_match_the_installed_headers(tmp_path):
    src = tmp_path / "probe.c"
    src.write_text(_c_probe_source())
    exe = tmp_path / "probe"
    include = sysconfig.get_paths()["include"]
    subprocess.run(["gcc", "-I", include, str(src), "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    wrong = []
    for line in out.splitlines():
        if line.startswith("IMMORTAL"):
            assert int(line.split()[1]) == abi.IMMORTAL_REFCNT
            continue
        name, real, ours = line.split()
        if real != ours:
            wrong.append(f"{name}: header {real}, ember.abi {ours}")
    assert not wrong, "\n".join(wrong)
    assert len(out.splitlines()) > 150


def test_import_is_cheap():
    code = "import sys, ember.abi; print('ctypes' in sys.modules)"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run(
        [sys.executable, "-S", "-c", code], capture_output=True, text=True, env=env
    )
    assert out.stdout.strip() == "False", out.stderr
