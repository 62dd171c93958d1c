"""A PEP 523 frame evaluator (a debugger's, for instance) sees every frame, as without
Ember: while one is set, calls of compiled functions are CPython's (the entry, the direct
calls of compiled callers and `ember_call` all hand over), as they do while another
monitoring tool is on. Lib/test's test_capi (Test_Pep523API) is the model."""

import textwrap

import pytest

from tests import harness

PROGRAM = textwrap.dedent("""
    import _testinternalcapi

    def inner(x=42):
        return x

    def func():
        inner()
        inner(42)
        for k in range(2):
            inner(k)
        return inner(*[1])

    class C:
        def method(self):
            return inner(self)

    def driver():
        return func(), C().method()

    for _ in range(20000):  # hot first, compiled at the defaults too
        driver()

    names = []
    _testinternalcapi.set_eval_frame_record(names)
    driver()
    _testinternalcapi.set_eval_frame_default()
    print(names)
""")


@pytest.mark.parametrize("ember_args", [("-X", "jit-threshold=0"), ()],
                         ids=["eager", "defaults"])
def test_a_frame_evaluator_sees_every_frame(tmp_path, ember_args):
    pytest.importorskip("_testinternalcapi")
    script = tmp_path / "pep523.py"
    script.write_text(PROGRAM)
    harness.assert_same([str(script)], ember_args=ember_args)
