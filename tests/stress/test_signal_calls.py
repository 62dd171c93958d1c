"""Where a handler's exception lands in compiled code: at a loop's back-edge, and at the
end of a call of a C function (programs/signal_after_call.py)."""

from tests.stress.support import EAGER, assert_same


def test_signals_land_where_cpython_raises_them():
    assert_same("signal_after_call.py", ember_args=EAGER,
                compiled={"c_call", "c_call_ex", "c_call_in_try", "py_call", "busy",
                          "loop_in_try_finally", "loop_in_try_except", "handler"})
