"""CPython 3.12's memory layout, as Ember's compiled code relies on it: the ONE place for it.

Every struct offset, tag encoding, refcount rule and flag bit that compiled code (or the
runtime, through ctypes) uses is written here and nowhere else. The numbers are those of
the headers of CPython 3.12 on a 64-bit platform (`include/python3.12/cpython/*.h` and
`internal/pycore_*.h`, built without `Py_DEBUG`/`Py_TRACE_REFS`). Two checks keep them honest:

- `tests/runtime/test_abi.py` compiles a C probe against the installed headers (when a C
  compiler is present) and compares every offset below with `offsetof`;
- `check()` reads live objects of the running interpreter through ctypes and compares
  what it finds with what Python says about them (an int's type pointer, a float's value,
  a list's items, a function's vectorcall, refcounts, the thread and interpreter state).
  The runtime calls it before the first compile; on a mismatch the JIT turns itself off with
  one warning line and the program runs on, interpreted.

This module imports nothing beyond `sys` until `check()` runs, so the runtime may import it
at start-up for free.
"""

from __future__ import annotations

import sys

POINTER_SIZE = 8
SSIZE_T_SIZE = 8


class AbiMismatch(Exception):
    """The running interpreter's layout differs from this module; the message says where."""


class _Struct:
    """A C struct's field offsets (bytes from the object's start), named as in the header.

    `C_NAME` is the C type; `C_PATHS` maps a field whose Python name differs from its C
    member path (nested structs) to that path. Both exist for the header probe test.
    """

    C_NAME = ""
    C_PATHS: dict[str, str] = {}

    @classmethod
    def fields(cls) -> dict[str, int]:
        return {
            name: value
            for name, value in vars(cls).items()
            if not name.startswith("_")
            and name.isidentifier()
            and not name.isupper()
            and isinstance(value, int)
        }


# --- the object header (`Include/object.h`) -------------------------------------------


class Object(_Struct):
    C_NAME = "PyObject"
    ob_refcnt = 0
    ob_type = 8
    SIZE = 16


class VarObject(_Struct):
    C_NAME = "PyVarObject"
    C_PATHS = {"ob_refcnt": "ob_base.ob_refcnt", "ob_type": "ob_base.ob_type"}
    ob_refcnt = 0
    ob_type = 8
    ob_size = 16
    SIZE = 24


# 3.12 immortal objects (PEP 683). Py_INCREF adds 1 to the low 32 bits only when that
# doesn't overflow them; Py_DECREF skips immortal objects; `_Py_IsImmortal(op)` is
# `(int32_t)op->ob_refcnt < 0` on 64-bit builds. Compiled code must follow the same rule,
# or it would free None.
IMMORTAL_REFCNT = 0xFFFFFFFF  # _Py_IMMORTAL_REFCNT (UINT_MAX on 64-bit)
IMMORTAL_TEST_BITS = 32  # test the sign of the low 32 bits


def is_immortal_refcnt(refcnt: int) -> bool:
    """`_Py_IsImmortal` applied to a raw ob_refcnt value (as read from memory)."""
    low = refcnt & 0xFFFFFFFF
    return low >= 0x80000000


# --- type objects (`Include/cpython/object.h`) ----------------------------------------


class Type(_Struct):
    C_NAME = "PyTypeObject"
    tp_name = 24
    tp_basicsize = 32
    tp_itemsize = 40
    tp_dealloc = 48
    tp_vectorcall_offset = 56
    tp_as_number = 96
    tp_as_sequence = 104
    tp_as_mapping = 112
    tp_hash = 120
    tp_call = 128
    tp_str = 136
    tp_getattro = 144
    tp_setattro = 152
    tp_flags = 168
    tp_richcompare = 200
    tp_weaklistoffset = 208
    tp_iter = 216
    tp_iternext = 224
    tp_base = 256
    tp_dict = 264
    tp_descr_get = 272
    tp_descr_set = 280
    tp_dictoffset = 288
    tp_init = 296
    tp_alloc = 304
    tp_new = 312
    tp_mro = 344
    tp_version_tag = 384
    tp_vectorcall = 400
    tp_watched = 408


# PyNumberMethods: one pointer per slot, in this order (`Include/cpython/object.h`).
NB_SLOTS = (
    "nb_add",
    "nb_subtract",
    "nb_multiply",
    "nb_remainder",
    "nb_divmod",
    "nb_power",
    "nb_negative",
    "nb_positive",
    "nb_absolute",
    "nb_bool",
    "nb_invert",
    "nb_lshift",
    "nb_rshift",
    "nb_and",
    "nb_xor",
    "nb_or",
    "nb_int",
    "nb_reserved",
    "nb_float",
    "nb_inplace_add",
    "nb_inplace_subtract",
    "nb_inplace_multiply",
    "nb_inplace_remainder",
    "nb_inplace_power",
    "nb_inplace_lshift",
    "nb_inplace_rshift",
    "nb_inplace_and",
    "nb_inplace_xor",
    "nb_inplace_or",
    "nb_floor_divide",
    "nb_true_divide",
    "nb_inplace_floor_divide",
    "nb_inplace_true_divide",
    "nb_index",
    "nb_matrix_multiply",
    "nb_inplace_matrix_multiply",
)
NumberMethods = type(
    "NumberMethods",
    (_Struct,),
    {"C_NAME": "PyNumberMethods", **{n: i * POINTER_SIZE for i, n in enumerate(NB_SLOTS)}},
)


class SequenceMethods(_Struct):
    C_NAME = "PySequenceMethods"
    sq_length = 0
    sq_concat = 8
    sq_repeat = 16
    sq_item = 24
    sq_ass_item = 40
    sq_contains = 56


class MappingMethods(_Struct):
    C_NAME = "PyMappingMethods"
    mp_length = 0
    mp_subscript = 8
    mp_ass_subscript = 16


# Py_TPFLAGS_* (`Include/object.h`)
TPFLAGS_MANAGED_DICT = 1 << 4
TPFLAGS_SEQUENCE = 1 << 5
TPFLAGS_MAPPING = 1 << 6
TPFLAGS_IMMUTABLETYPE = 1 << 8
TPFLAGS_HEAPTYPE = 1 << 9
TPFLAGS_BASETYPE = 1 << 10
TPFLAGS_HAVE_VECTORCALL = 1 << 11
TPFLAGS_READY = 1 << 12
TPFLAGS_HAVE_GC = 1 << 14
TPFLAGS_METHOD_DESCRIPTOR = 1 << 17
TPFLAGS_VALID_VERSION_TAG = 1 << 19
TPFLAGS_IS_ABSTRACT = 1 << 20
TPFLAGS_LONG_SUBCLASS = 1 << 24
TPFLAGS_LIST_SUBCLASS = 1 << 25
TPFLAGS_TUPLE_SUBCLASS = 1 << 26
TPFLAGS_BYTES_SUBCLASS = 1 << 27
TPFLAGS_UNICODE_SUBCLASS = 1 << 28
TPFLAGS_DICT_SUBCLASS = 1 << 29
TPFLAGS_BASE_EXC_SUBCLASS = 1 << 30
TPFLAGS_TYPE_SUBCLASS = 1 << 31


# --- int (`Include/cpython/longintrepr.h`, `internal/pycore_long.h`) --------------------


class Long(_Struct):
    C_NAME = "PyLongObject"
    C_PATHS = {"lv_tag": "long_value.lv_tag", "ob_digit": "long_value.ob_digit"}
    lv_tag = 16
    ob_digit = 24


# lv_tag = digit_count << NON_SIZE_BITS | sign bits, sign bits: 0 positive, 1 zero,
# 2 negative. An int is "compact" (|value| < 2**30, one digit or zero) iff
# lv_tag < (2 << NON_SIZE_BITS); its value is (1 - (lv_tag & SIGN_MASK)) * ob_digit[0].
LONG_SHIFT = 30
LONG_DIGIT_SIZE = 4
LONG_MASK = (1 << LONG_SHIFT) - 1
LONG_NON_SIZE_BITS = 3
LONG_SIGN_MASK = 3
LONG_SIGN_POSITIVE = 0
LONG_SIGN_ZERO = 1
LONG_SIGN_NEGATIVE = 2
LONG_COMPACT_LIMIT = 2 << LONG_NON_SIZE_BITS  # lv_tag below this: compact
# Small ints -5..256 are preallocated (and immortal) singletons.
SMALL_INT_MIN = -5
SMALL_INT_MAX = 256


def long_tag(value: int) -> int:
    """The lv_tag CPython stores for `value` (used by tests and check())."""
    sign = LONG_SIGN_ZERO if value == 0 else LONG_SIGN_NEGATIVE if value < 0 else 0
    ndigits = 0
    v = abs(value)
    while v:
        ndigits += 1
        v >>= LONG_SHIFT
    return (ndigits << LONG_NON_SIZE_BITS) | sign


# --- float, tuple, list, dict ------------------------------------------------------------


class Float(_Struct):
    C_NAME = "PyFloatObject"
    ob_fval = 16


class Tuple(_Struct):
    C_NAME = "PyTupleObject"
    C_PATHS = {"ob_size": "ob_base.ob_size"}
    ob_size = 16
    ob_item = 24  # inline array of PyObject*


class List(_Struct):
    C_NAME = "PyListObject"
    C_PATHS = {"ob_size": "ob_base.ob_size"}
    ob_size = 16
    ob_item = 24  # pointer to an array of PyObject*
    allocated = 32


class ListIter(_Struct):
    """iter(list): FOR_ITER_LIST's fields (Include/internal/pycore_list.h)."""
    C_NAME = "_PyListIterObject"
    it_index = 16
    it_seq = 24  # NULL once exhausted


class TupleIter(_Struct):
    """iter(tuple): FOR_ITER_TUPLE's fields (Include/internal/pycore_tuple.h)."""
    C_NAME = "_PyTupleIterObject"
    it_index = 16
    it_seq = 24  # NULL once exhausted


class RangeIter(_Struct):
    """iter(range(...)) within C longs: FOR_ITER_RANGE's fields
    (Include/internal/pycore_range.h)."""
    C_NAME = "_PyRangeIterObject"
    start = 16
    step = 24
    len = 32


class Dict(_Struct):
    C_NAME = "PyDictObject"
    ma_used = 16
    ma_version_tag = 24
    ma_keys = 32
    ma_values = 40


class DictKeys(_Struct):
    C_NAME = "PyDictKeysObject"
    dk_log2_size = 8  # uint8
    dk_log2_index_bytes = 9  # uint8
    dk_kind = 10  # uint8: 0 general, 1 unicode, 2 split
    dk_version = 12  # uint32
    dk_usable = 16
    dk_nentries = 24
    dk_indices = 32


# Objects with a managed dict (Py_TPFLAGS_MANAGED_DICT): a PyDictOrValues word three words
# before the object; when its low bit is set, (word + 1) is the inline values array.
MANAGED_DICT_OFFSET = -24
VALUES_TAG = 1


class HeapType(_Struct):
    C_NAME = "PyHeapTypeObject"
    ht_cached_keys = 880  # the shared keys of instances' inline values


class AttrCache(_Struct):
    """One attribute site's inline cache (src/ember/_caches.c, checked against its
    `attr_cache_layout()`): ENTRIES entries, most recently used first; the inline code
    reads the fields of entry 0, at the offsets below."""

    C_NAME = "AttrCache"
    SIZE = 136
    ENTRIES = 4
    ENTRY_SIZE = 32
    type = 0
    version = 8  # uint32: the type's tp_version_tag when filled
    kind = 12  # uint32
    index = 16
    value = 24
    misses = 128
    # kinds
    EMPTY = 0
    INSTANCE_VALUE = 1
    SLOT = 2
    MODULE = 3
    METHOD_NO_DICT = 4
    METHOD_VALUES = 5
    DICT_HINT = 6
    CLASS = 7
    DATA_DESCR = 8
    NO_DICT_ATTR = 9
    METHOD_DICT = 10


# --- functions, code, cells, bound methods --------------------------------------------------


class Function(_Struct):
    C_NAME = "PyFunctionObject"
    func_globals = 16
    func_builtins = 24
    func_name = 32
    func_qualname = 40
    func_code = 48
    func_defaults = 56
    func_kwdefaults = 64
    func_closure = 72
    func_doc = 80
    func_dict = 88
    func_module = 104
    func_annotations = 112
    func_typeparams = 120
    vectorcall = 128
    func_version = 136  # uint32; PyFunction_SetVectorcall sets it to 0


# PyFunction_WatchEvent (`Include/cpython/funcobject.h`)
FUNC_EVENT_CREATE = 0
FUNC_EVENT_DESTROY = 1
FUNC_EVENT_MODIFY_CODE = 2
FUNC_EVENT_MODIFY_DEFAULTS = 3
FUNC_EVENT_MODIFY_KWDEFAULTS = 4
FUNC_MAX_WATCHERS = 8
DICT_MAX_WATCHERS = 8

# vectorcall's nargsf: the count, plus this bit when args[-1] may be overwritten.
VECTORCALL_ARGUMENTS_OFFSET = 1 << 63


class Code(_Struct):
    C_NAME = "PyCodeObject"
    co_consts = 24
    co_names = 32
    co_exceptiontable = 40
    co_flags = 48  # int
    co_argcount = 52  # int
    co_posonlyargcount = 56
    co_kwonlyargcount = 60
    co_stacksize = 64
    co_firstlineno = 68
    co_nlocalsplus = 72
    co_framesize = 76
    co_nlocals = 80
    co_ncellvars = 84
    co_nfreevars = 88
    co_version = 92
    co_localsplusnames = 96
    co_localspluskinds = 104
    co_filename = 112
    co_name = 120
    co_qualname = 128
    co_linetable = 136
    _co_monitoring = 168
    co_extra = 184
    co_code_adaptive = 192  # the (quickened) bytecode, inline


# CO_* (`Include/cpython/code.h`)
CO_OPTIMIZED = 0x0001
CO_NEWLOCALS = 0x0002
CO_VARARGS = 0x0004
CO_VARKEYWORDS = 0x0008
CO_NESTED = 0x0010
CO_GENERATOR = 0x0020
CO_NOFREE = 0x0040  # removed in 3.11+, kept for reading old flags; never set in 3.12
CO_COROUTINE = 0x0080
CO_ITERABLE_COROUTINE = 0x0100
CO_ASYNC_GENERATOR = 0x0200
CO_GENERATOR_LIKE = CO_GENERATOR | CO_COROUTINE | CO_ITERABLE_COROUTINE | CO_ASYNC_GENERATOR


class CoMonitoringData(_Struct):
    """What code->_co_monitoring points to (NULL until the code is first instrumented)."""

    C_NAME = "_PyCoMonitoringData"
    # Byte e: the tools with event e switched on for this code object alone
    # (sys.monitoring.set_local_events), MONITORING_UNGROUPED_EVENTS bytes.
    local_monitors = 0
    active_monitors = 15


class Cell(_Struct):
    C_NAME = "PyCellObject"
    ob_ref = 16


class BaseException(_Struct):
    C_NAME = "PyBaseExceptionObject"
    args = 24


class Method(_Struct):
    C_NAME = "PyMethodObject"
    im_func = 16
    im_self = 24


class CFunction(_Struct):
    """A builtin function or a builtin method bound to its self (`builtin_function_or_
    method`)."""

    C_NAME = "PyCFunctionObject"
    m_ml = 16
    m_self = 24


class MethodDescr(_Struct):
    """An unbound method of a C type (`method_descriptor`, e.g. `list.append`)."""

    C_NAME = "PyMethodDescrObject"
    C_PATHS = {"d_type": "d_common.d_type"}
    d_type = 16
    d_method = 40


class MethodDef(_Struct):
    C_NAME = "PyMethodDef"
    ml_meth = 8
    ml_flags = 16  # int


# PyMethodDef.ml_flags (`Include/methodobject.h`)
METH_VARARGS = 0x0001
METH_KEYWORDS = 0x0002
METH_NOARGS = 0x0004
METH_O = 0x0008
METH_FASTCALL = 0x0080
METH_METHOD = 0x0200


# --- thread and interpreter state (`cpython/pystate.h`, `internal/pycore_interp.h`) ----


class ThreadState(_Struct):
    C_NAME = "PyThreadState"
    interp = 16
    py_recursion_remaining = 28  # int
    py_recursion_limit = 32  # int
    c_recursion_remaining = 36  # int
    recursion_headroom = 40  # int
    tracing = 44  # int
    cframe = 56
    c_profilefunc = 64
    c_tracefunc = 72
    current_exception = 96
    exc_info = 104
    async_exc = 128
    thread_id = 136


class InterpreterState(_Struct):
    C_NAME = "PyInterpreterState"
    C_PATHS = {
        "ceval_eval_breaker": "ceval.eval_breaker",
        "ceval_gil_drop_request": "ceval.gil_drop_request",
        "ceval_recursion_limit": "ceval.recursion_limit",
        "ceval_gc_scheduled": "ceval.gc_scheduled",
    }
    monitoring_version = 48  # uint64
    # One 32-bit word, nonzero when the eval loop must leave its fast path: signals,
    # pending calls, a GIL drop request, an async exception or a scheduled GC.
    ceval_eval_breaker = 368
    ceval_gil_drop_request = 372
    ceval_recursion_limit = 376
    ceval_gc_scheduled = 396
    # A PEP 523 frame evaluator (_PyFrameEvalFunction), NULL when CPython's own runs.
    eval_frame = 1744
    func_watchers = 1752
    active_func_watchers = 1816  # uint8 bitmask
    # _Py_GlobalMonitors: MONITORING_UNGROUPED_EVENTS bytes, byte e = bitmask of the tools
    # that have event e switched on globally (sys.settrace is tool 7, setprofile tool 6).
    monitors = 381744
    sys_profiling_threads = 381768
    sys_tracing_threads = 381776


MONITORING_UNGROUPED_EVENTS = 15
MONITORING_TOOL_IDS = 8
MONITORING_SYS_PROFILE_ID = 6
MONITORING_SYS_TRACE_ID = 7
MONITORING_EVENT_PY_START = 0


# --- frames (`internal/pycore_frame.h`) -------------------------------------------------


class InterpreterFrame(_Struct):
    C_NAME = "_PyInterpreterFrame"
    f_code = 0
    previous = 8
    f_funcobj = 16
    f_globals = 24
    f_builtins = 32
    f_locals = 40
    frame_obj = 48
    prev_instr = 56
    stacktop = 64  # int
    return_offset = 68  # uint16
    owner = 70  # char
    localsplus = 72


FRAME_OWNED_BY_THREAD = 0
FRAME_OWNED_BY_GENERATOR = 1
FRAME_OWNED_BY_FRAME_OBJECT = 2
FRAME_OWNED_BY_CSTACK = 3


class FrameObject(_Struct):
    C_NAME = "PyFrameObject"
    f_back = 16
    f_frame = 24  # _PyInterpreterFrame*
    f_trace = 32
    f_lineno = 40
    _f_frame_data = 48  # the embedded _PyInterpreterFrame once the frame object owns it


class CFrame(_Struct):
    """`_PyCFrame` (cpython/pystate.h): `tstate->cframe` points to one."""

    C_NAME = "_PyCFrame"
    current_frame = 0  # _PyInterpreterFrame*: the thread's innermost frame
    previous = 8


STRUCTS = (
    Object,
    VarObject,
    Type,
    NumberMethods,
    SequenceMethods,
    MappingMethods,
    Long,
    Float,
    Tuple,
    List,
    ListIter,
    TupleIter,
    RangeIter,
    Dict,
    DictKeys,
    Function,
    Code,
    CoMonitoringData,
    Cell,
    Method,
    ThreadState,
    InterpreterState,
    InterpreterFrame,
    FrameObject,
    CFrame,
)


def check() -> None:
    """Compare this module with the running interpreter; raise AbiMismatch on a difference.

    Imports ctypes (a few milliseconds), so the runtime calls it once, before the first
    compile, not at start-up. Each comparison reads a field of a live object whose value
    Python can tell us independently.
    """
    import ctypes

    def word(addr: int, ctype=ctypes.c_ssize_t) -> int:
        return ctype.from_address(addr).value or 0

    def ptr(addr: int) -> int:
        return word(addr, ctypes.c_void_p)

    def expect(what: str, got, want) -> None:
        if got != want:
            raise AbiMismatch(f"{what}: read {got!r}, expected {want!r}")

    expect("sys.version_info[:2]", tuple(sys.version_info[:2]), (3, 12))
    expect("pointer size", ctypes.sizeof(ctypes.c_void_p), POINTER_SIZE)
    expect("int digit bits", sys.int_info.bits_per_digit, LONG_SHIFT)
    expect("int digit size", sys.int_info.sizeof_digit, LONG_DIGIT_SIZE)

    # Object header, refcounts and immortality.
    probe = object.__new__(_Probe)
    a = id(probe)
    expect("ob_type of an object", ptr(a + Object.ob_type), id(_Probe))
    expect("ob_refcnt vs sys.getrefcount", word(a + Object.ob_refcnt), sys.getrefcount(probe) - 1)
    extra = [probe, probe]
    expect("ob_refcnt after two more refs", word(a + Object.ob_refcnt), sys.getrefcount(probe) - 1)
    del extra
    for immortal in (None, True, 0, ()):
        raw = word(id(immortal) + Object.ob_refcnt, ctypes.c_uint64)
        expect(f"immortal refcnt of {immortal!r}", is_immortal_refcnt(raw), True)
    expect("refcnt of None", sys.getrefcount(None), IMMORTAL_REFCNT)
    expect("mortal refcnt is not immortal", is_immortal_refcnt(word(a)), False)

    # Types.
    for t in (int, float, list, _Probe):
        ta = id(t)
        expect(f"{t.__name__}.tp_flags", word(ta + Type.tp_flags, ctypes.c_ulong), t.__flags__)
        expect(f"{t.__name__}.tp_basicsize", word(ta + Type.tp_basicsize), t.__basicsize__)
        expect(f"{t.__name__}.tp_itemsize", word(ta + Type.tp_itemsize), t.__itemsize__)
        expect(f"{t.__name__}.tp_base", ptr(ta + Type.tp_base), id(t.__base__))
        expect(f"{t.__name__}.tp_mro", ptr(ta + Type.tp_mro), id(t.__mro__))
        name = ctypes.string_at(ptr(ta + Type.tp_name)).decode()
        expect(f"{t.__name__}.tp_name", name.rpartition(".")[2], t.__name__)
    import gc

    expect(
        "tp_dict of a class",
        ptr(id(_Probe) + Type.tp_dict),
        id(gc.get_referents(_Probe.__dict__)[0]),
    )
    expect("type of type", ptr(id(int) + Object.ob_type), id(type))
    expect("int has nb_add", ptr(id(int) + Type.tp_as_number) != 0, True)

    # int: the 3.12 lv_tag encoding and digits.
    for value in (0, 7, -7, 2**30 - 1, 2**30, -(2**40) - 3, 10**40):
        va = id(value)
        expect(f"ob_type of {value}", ptr(va + Object.ob_type), id(int))
        expect(f"lv_tag of {value}", word(va + Long.lv_tag, ctypes.c_size_t), long_tag(value))
        d0 = word(va + Long.ob_digit, ctypes.c_uint32)
        expect(f"first digit of {value}", d0, abs(value) & LONG_MASK)

    # float, tuple, list, dict.
    f = 1.0 + len(sys.argv) * 0.5  # a fresh, mortal float
    expect("float ob_fval", word(id(f) + Float.ob_fval, ctypes.c_double), f)
    items = (probe, "x", None)
    expect("tuple ob_size", word(id(items) + Tuple.ob_size), 3)
    for i, item in enumerate(items):
        expect(f"tuple ob_item[{i}]", ptr(id(items) + Tuple.ob_item + i * POINTER_SIZE), id(item))
    lst = [probe, 1.5, items]
    la = id(lst)
    expect("list ob_size", word(la + List.ob_size), 3)
    expect("list allocated >= size", word(la + List.allocated) >= 3, True)
    arr = ptr(la + List.ob_item)
    for i, item in enumerate(lst):
        expect(f"list ob_item[{i}]", ptr(arr + i * POINTER_SIZE), id(item))
    for seq, struct in ((lst, ListIter), (items, TupleIter)):
        it = iter(seq)
        next(it)
        expect(f"{struct.__name__} it_index", word(id(it) + struct.it_index), 1)
        expect(f"{struct.__name__} it_seq", ptr(id(it) + struct.it_seq), id(seq))
    rit = iter(range(5, 40, 3))
    next(rit)
    expect("RangeIter start", word(id(rit) + RangeIter.start, ctypes.c_long), 8)
    expect("RangeIter step", word(id(rit) + RangeIter.step, ctypes.c_long), 3)
    expect("RangeIter len", word(id(rit) + RangeIter.len, ctypes.c_long), 11)
    d = {"a": 1, "b": 2}
    expect("dict ma_used", word(id(d) + Dict.ma_used), 2)
    v0 = word(id(d) + Dict.ma_version_tag, ctypes.c_uint64)
    d["c"] = 3
    expect("dict ma_used after insert", word(id(d) + Dict.ma_used), 3)
    expect(
        "dict ma_version_tag moves", word(id(d) + Dict.ma_version_tag, ctypes.c_uint64) != v0, True
    )
    keys = ptr(id(d) + Dict.ma_keys)
    expect("dict keys dk_nentries", word(keys + DictKeys.dk_nentries), 3)
    expect("dict keys kind (unicode)", word(keys + DictKeys.dk_kind, ctypes.c_uint8), 1)

    # Functions and code.
    fn = _probe_function
    fa = id(fn)
    for field, want in (
        ("func_globals", fn.__globals__),
        ("func_builtins", fn.__builtins__),
        ("func_name", fn.__name__),
        ("func_qualname", fn.__qualname__),
        ("func_code", fn.__code__),
        ("func_defaults", fn.__defaults__),
        ("func_kwdefaults", fn.__kwdefaults__),
        ("func_module", fn.__module__),
    ):
        expect(f"function {field}", ptr(fa + getattr(Function, field)), id(want))
    expect(
        "function func_closure",
        ptr(id(_probe_closure) + Function.func_closure),
        id(_probe_closure.__closure__),
    )
    vc = ctypes.cast(ctypes.pythonapi._PyFunction_Vectorcall, ctypes.c_void_p).value
    expect("function vectorcall is _PyFunction_Vectorcall", ptr(fa + Function.vectorcall), vc)
    code = fn.__code__
    ca = id(code)
    for field in (
        "co_flags",
        "co_argcount",
        "co_posonlyargcount",
        "co_kwonlyargcount",
        "co_stacksize",
        "co_firstlineno",
        "co_nlocals",
    ):
        expect(f"code {field}", word(ca + getattr(Code, field), ctypes.c_int), getattr(code, field))
    expect(
        "code co_nlocalsplus",
        word(ca + Code.co_nlocalsplus, ctypes.c_int),
        len(code.co_varnames) + len(code.co_cellvars) + len(code.co_freevars),
    )
    for field in ("co_consts", "co_names", "co_filename", "co_name", "co_qualname"):
        expect(f"code {field}", ptr(ca + getattr(Code, field)), id(getattr(code, field)))

    # Thread state, interpreter state, frames.
    api = ctypes.pythonapi
    api.PyThreadState_Get.restype = ctypes.c_void_p
    api.PyInterpreterState_Get.restype = ctypes.c_void_p
    ts = api.PyThreadState_Get()
    interp = api.PyInterpreterState_Get()
    import threading

    expect("tstate->interp", ptr(ts + ThreadState.interp), interp)
    expect(
        "tstate->thread_id", word(ts + ThreadState.thread_id, ctypes.c_ulong), threading.get_ident()
    )
    expect(
        "tstate->py_recursion_limit",
        word(ts + ThreadState.py_recursion_limit, ctypes.c_int),
        sys.getrecursionlimit(),
    )
    expect(
        "interp->ceval.recursion_limit",
        word(interp + InterpreterState.ceval_recursion_limit, ctypes.c_int),
        sys.getrecursionlimit(),
    )
    if sys.gettrace() is None:
        expect("tstate->c_tracefunc", ptr(ts + ThreadState.c_tracefunc), 0)
    if sys.getprofile() is None:
        expect("tstate->c_profilefunc", ptr(ts + ThreadState.c_profilefunc), 0)
    check_monitors(interp)
    check_attr_cache()
    instance = _ManagedProbe()
    dorv = word(id(instance) + MANAGED_DICT_OFFSET, ctypes.c_uint64)
    expect("inline values are tagged", dorv & VALUES_TAG, VALUES_TAG)
    expect("inline value 0", ptr(dorv + VALUES_TAG), id(instance.first))
    frame = _probe_frame()
    iframe = ptr(id(frame) + FrameObject.f_frame)
    expect("frame f_code", ptr(iframe + InterpreterFrame.f_code), id(frame.f_code))
    expect("frame f_funcobj", ptr(iframe + InterpreterFrame.f_funcobj), id(_probe_frame))
    expect("frame f_globals", ptr(iframe + InterpreterFrame.f_globals), id(frame.f_globals))
    expect("frame f_builtins", ptr(iframe + InterpreterFrame.f_builtins), id(frame.f_builtins))
    expect("finished frame owns its data", iframe, id(frame) + FrameObject._f_frame_data)
    expect("finished frame owner", word(iframe + InterpreterFrame.owner, ctypes.c_uint8),
           FRAME_OWNED_BY_FRAME_OBJECT)
    here = sys._getframe(0)
    # Read inline (C methods only): a helper written in Python would be the current frame.
    cframe = ctypes.c_void_p.from_address(ts + ThreadState.cframe).value
    current = ctypes.c_void_p.from_address(cframe + CFrame.current_frame).value
    expect("tstate->cframe->current_frame", current, ptr(id(here) + FrameObject.f_frame))


def check_attr_cache() -> None:
    """The AttrCache layout here against the one _caches.c was compiled with."""
    from ember import _hotness

    got = _hotness.attr_cache_layout()
    want = {"size": AttrCache.SIZE, **{name: getattr(AttrCache, name) for name in got
                                        if name != "size" and hasattr(AttrCache, name)}}
    want["ht_cached_keys"] = HeapType.ht_cached_keys
    for name, value in want.items():
        if got[name] != value:
            raise AbiMismatch(f"AttrCache.{name}: _caches.c has {got[name]}, abi.py {value}")


def check_monitors(interp: int) -> None:
    """Compare interp->monitors with what `sys.monitoring` reports for tools 0..5."""
    import ctypes

    raw = ctypes.string_at(interp + InterpreterState.monitors, MONITORING_UNGROUPED_EVENTS)
    mon = sys.monitoring
    for tool in range(6):
        events = mon.get_events(tool) if mon.get_tool(tool) is not None else 0
        for e in range(MONITORING_UNGROUPED_EVENTS):
            got = bool(raw[e] >> tool & 1)
            if got != bool(events >> e & 1):
                raise AbiMismatch(
                    f"interp->monitors: tool {tool} event {e}: read {got}, expected {not got}"
                )


class _Probe:
    __slots__ = ("__weakref__",)


class _ManagedProbe:
    def __init__(self):
        self.first = object()


def _probe_function(a, b=1, *, c=2):
    return a


def _probe_closure_factory():
    x = 1

    def inner():
        return x

    return inner


_probe_closure = _probe_closure_factory()


def _probe_frame():
    return sys._getframe(0)


if sys.version_info[:2] != (3, 12):  # pragma: no cover - ember/__init__ stops earlier
    raise ImportError("ember.abi describes CPython 3.12 only")
