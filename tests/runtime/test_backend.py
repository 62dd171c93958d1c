"""The LLVM engine, the C API table and the shared support code, on hand-written LLVM IR."""

import ctypes
import sys
import threading
import time

import pytest

pytest.importorskip("llvmlite")

from llvmlite import ir  # noqa: E402

from ember.backend import capi, support  # noqa: E402
from ember.backend.engine import CompileError, get_engine  # noqa: E402

OBJ = capi.OBJ
PyFn2 = ctypes.PYFUNCTYPE(ctypes.py_object, ctypes.py_object, ctypes.py_object)


def _compile(build, nparams=2, dump=frozenset()):
    """Compile one function `PyObject *f(PyObject *...)` whose body `build(b, args)` writes."""
    engine = get_engine()
    name = engine.unique_name("t")
    module = engine.new_module(name)
    fn = ir.Function(module, ir.FunctionType(OBJ, [OBJ] * nparams), name=name)
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    build(b, fn.args)
    return engine.add(module, [name], dump=dump), name


def test_engine_compiles_and_runs_a_c_api_call():
    compiled, name = _compile(
        lambda b, a: b.ret(b.call(capi.declare(b.module, "PyNumber_Add"), a)), dump={"asm", "llvm"}
    )
    add = PyFn2(compiled.addresses[name])
    assert add(2, 3) == 5
    assert add("a", "b") == "ab"
    with pytest.raises(TypeError, match=r"unsupported operand type\(s\) for \+: 'int' and 'str'"):
        add(1, "x")
    assert "PyNumber_Add" in compiled.asm
    assert "PyNumber_Add" in compiled.llvm_ir
    assert compiled.llvm_ms > 0


def test_engine_reports_bad_ir():
    with pytest.raises(CompileError):
        get_engine().add("define i32 @broken( {", ["broken"])


def test_every_declared_symbol_resolves():
    for name in (*capi.FUNCTIONS, *capi.OBJECTS, *capi.POINTERS, *capi.EMBER_SYMBOLS):
        assert capi.address(name), name
    assert capi.address("_Py_NoneStruct") == id(None)
    assert capi.address("PyLong_Type") == id(int)
    exc = ctypes.c_void_p.from_address(capi.address("PyExc_TypeError")).value
    assert exc == id(TypeError)


def test_static_objects_and_exception_pointers():
    def build(b, a):
        b.call(
            capi.declare(b.module, "PyErr_SetString"),
            [capi.load_pointer(b, "PyExc_KeyError"), _cstr(b, "boom")],
        )
        b.ret(ir.Constant(OBJ, None))

    compiled, name = _compile(build)
    with pytest.raises(KeyError, match="boom"):
        PyFn2(compiled.addresses[name])(1, 2)

    def build_none(b, a):
        none = capi.declare_object(b.module, "_Py_NoneStruct")
        support.incref(b, none)
        b.ret(none)

    compiled, name = _compile(build_none)
    assert PyFn2(compiled.addresses[name])(1, 2) is None


def _cstr(b, text):
    data = bytearray(text.encode() + b"\0")
    gv = ir.GlobalVariable(
        b.module, ir.ArrayType(capi.I8, len(data)), name=f"s{len(b.module.globals)}"
    )
    gv.global_constant = True
    gv.initializer = ir.Constant(ir.ArrayType(capi.I8, len(data)), data)
    return gv


def test_incref_decref_follow_the_immortal_rule():
    # f(a, b): incref a twice, decref it once, return it (net: +1 owned by the caller);
    # decref b once after an incref (net 0).
    def build(b, a):
        x, y = a
        support.incref(b, x)
        support.incref(b, x)
        support.decref(b, x)
        support.incref(b, y)
        support.decref(b, y)
        b.ret(x)

    compiled, name = _compile(build)
    f = PyFn2(compiled.addresses[name])
    obj, other = object(), [1]
    before = sys.getrefcount(obj), sys.getrefcount(other)
    for _ in range(10_000):
        assert f(obj, other) is obj
    assert (sys.getrefcount(obj), sys.getrefcount(other)) == before
    none_rc = sys.getrefcount(None)
    for _ in range(1000):
        f(None, None)
    assert sys.getrefcount(None) == none_rc  # immortal: never written


def test_decref_to_zero_deallocates():
    def build(b, a):
        support.decref(b, a[0])  # steals the reference we hand over below
        none = capi.declare_object(b.module, "_Py_NoneStruct")
        b.ret(none)

    compiled, name = _compile(build)
    f = PyFn2(compiled.addresses[name])
    freed = []

    class Probe:
        def __del__(self):
            freed.append(True)

    p = Probe()
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(p))
    f(p, None)
    assert not freed
    del p
    assert freed == [True]


def _breaker_loop():
    """long loop(flag, counter): spin until the eval breaker handler fails, counting."""
    engine = get_engine()
    support.install_support(engine)
    name = engine.unique_name("loop")
    module = engine.new_module(name)
    fn = ir.Function(module, ir.FunctionType(OBJ, [OBJ, OBJ]), name=name)
    counter = fn.args[1]
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    loop = fn.append_basic_block("loop")
    fail = fn.append_basic_block("fail")
    b.branch(loop)
    b.position_at_end(loop)
    # counter is a ctypes c_int64 buffer passed as a bytearray-like object: its address
    # comes in as an int; keep it simple and bump a raw i64 at that address.
    addr = b.inttoptr(b.call(capi.declare(module, "PyLong_AsSsize_t"), [counter]), capi.PTR)
    b.store(b.add(b.load(addr, typ=capi.I64), ir.Constant(capi.I64, 1)), addr)
    with b.if_then(support.eval_breaker_set(b), likely=False):
        rc = support.call_eval_breaker(b)
        with b.if_then(b.icmp_signed("<", rc, ir.Constant(capi.I32, 0))):
            b.branch(fail)
    b.branch(loop)
    b.position_at_end(fail)
    b.ret(ir.Constant(OBJ, None))
    return PyFn2(engine.add(module, [name]).addresses[name])


def test_ctrl_c_stops_a_compiled_loop_and_other_threads_run():
    import _thread

    loop = _breaker_loop()
    counter = ctypes.c_int64(0)
    progress = []

    def other():
        # Needs the GIL, which only a working eval breaker hands over.
        for i in range(5):
            progress.append(i)
            time.sleep(0.001)
        _thread.interrupt_main()

    t = threading.Thread(target=other)
    t.start()
    with pytest.raises(KeyboardInterrupt) as info:
        loop(None, ctypes.addressof(counter))
    t.join()
    assert progress == [0, 1, 2, 3, 4]
    assert counter.value > 0
    names = [entry.name for entry in __import__("traceback").extract_tb(info.value.__traceback__)]
    assert "_breaker" not in names


def test_pending_signal_handler_runs_from_a_compiled_loop():
    import signal

    loop = _breaker_loop()
    counter = ctypes.c_int64(0)

    class Stop(Exception):
        pass

    def handler(signum, frame):
        raise Stop

    old = signal.signal(signal.SIGUSR1, handler)
    try:
        timer = threading.Timer(
            0.01, lambda: signal.pthread_kill(threading.main_thread().ident, signal.SIGUSR1)
        )
        timer.start()
        with pytest.raises(Stop):
            loop(None, ctypes.addressof(counter))
        timer.join()
    finally:
        signal.signal(signal.SIGUSR1, old)
