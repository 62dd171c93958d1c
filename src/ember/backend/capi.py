"""The C API that compiled code calls: the ONE place it is declared, with real signatures.

Compiled modules refer to CPython by symbol name (`declare(module, "PyNumber_Add")`), never by
a baked-in address, so one object file stays valid in another process (the code cache of
issue 5). `register_symbols()` resolves every name in the tables below in the running
interpreter (`ctypes.pythonapi`, falling back to the whole process) and hands the
addresses to LLVM with `llvm.add_symbol`; the JIT's linker then binds them.

Tables:
- `FUNCTIONS`: name -> (return type, parameter types[, varargs]) in C terms;
- `OBJECTS`: static objects and types whose *address* is the PyObject* (`_Py_NoneStruct`,
  `PyLong_Type`); `declare_object` gives that address as a `ptr`;
- `POINTERS`: `PyObject *` variables such as `PyExc_TypeError`; `load_pointer` loads them;
- `EMBER_SYMBOLS`: addresses inside the running interpreter that compiled code reads
  directly (the eval breaker, the global monitors), named `ember.*`.

Mnemonics in the tables: O = PyObject*, P = any other pointer, C = const char*, I = int,
L = Py_ssize_t, Z = size_t, U = uint64_t, D = double, V = void.

Types that start with an underscore are CPython-private but exported; each is used because
ceval.c uses it for the same job, and each is checked for presence by `register_symbols`.
"""

from __future__ import annotations

from functools import cache

from llvmlite import ir

from ember.backend import loader

OBJ = ir.PointerType()  # PyObject* (LLVM pointers are opaque)
PTR = ir.PointerType()
I8 = ir.IntType(8)
I32 = ir.IntType(32)
I64 = ir.IntType(64)
DOUBLE = ir.DoubleType()
VOID = ir.VoidType()

_KINDS = {"O": OBJ, "P": PTR, "C": PTR, "I": I32, "L": I64, "Z": I64, "U": I64, "D": DOUBLE}
_KINDS["V"] = VOID


def _sig(text: str) -> tuple[str, str, bool]:
    ret, _, params = text.partition(":")
    return ret, params.rstrip("."), params.endswith("...")


# name -> "R:PARAMS" (see the module docstring); a trailing "..." marks C varargs.
FUNCTIONS: dict[str, str] = {
    # reference counting (Py_INCREF/Py_DECREF themselves are inlined, see support.py)
    "_Py_Dealloc": "V:O",
    "Py_IncRef": "V:O",
    "Py_DecRef": "V:O",
    # number protocol: the `binary_ops` table of ceval.c
    **{
        f"PyNumber_{op}": "O:OO"
        for op in (
            "Add Subtract Multiply MatrixMultiply FloorDivide TrueDivide Remainder Divmod "
            "Lshift Rshift And Xor Or InPlaceAdd InPlaceSubtract InPlaceMultiply "
            "InPlaceMatrixMultiply InPlaceFloorDivide InPlaceTrueDivide InPlaceRemainder "
            "InPlaceLshift InPlaceRshift InPlaceAnd InPlaceXor InPlaceOr"
        ).split()
    },
    "PyNumber_Power": "O:OOO",
    "PyNumber_InPlacePower": "O:OOO",
    **{
        f"PyNumber_{op}": "O:O"
        for op in "Negative Positive Invert Absolute Index Long Float".split()
    },
    # objects: comparison, truth, attributes, items, iteration, formatting
    "PyObject_RichCompare": "O:OOI",
    "PyObject_RichCompareBool": "I:OOI",
    "PyObject_IsTrue": "I:O",
    "PyObject_Not": "I:O",
    "PyObject_GetAttr": "O:OO",
    "PyObject_SetAttr": "I:OOO",  # value NULL deletes (PyObject_DelAttr is a macro in 3.12)
    "_PyObject_GetMethod": "I:OOP",  # (obj, name, &meth) -> 1 if meth is an unbound method
    # Ember's own C (src/ember/_caches.c): the attribute caches' slow paths, each with its
    # site's cache first; same results and errors as the C API call it stands for.
    "ember.c.load_attr": "O:POO",  # (cache, obj, name): PyObject_GetAttr
    "ember.c.store_attr": "I:POOO",  # (cache, obj, name, value): PyObject_SetAttr
    "ember.c.load_method": "I:POOP",  # (cache, obj, name, &meth): _PyObject_GetMethod
    # (tstate, frame, method or NULL, args, npos, kwnames, at_call, owned, site cache)
    # -> CALL's result; bit k of `owned` (0: method, k: args[k]) hands that operand over
    "ember.c.call": "O:PPOPLOPLP",
    # (frame, callee's code, the exception handled at the call, at_call): an inline
    # direct call failed; prev_instr back to the CALL unless the callee's frame ran
    "ember.c.call_failed": "V:POOP",
    # (tstate, callable, result, where): a NULL result without an exception becomes
    # CPython's SystemError
    "_Py_CheckFunctionResult": "O:POOP",
    "_PyObject_LookupAttr": "I:OOP",
    "PyObject_GetItem": "O:OO",
    "PyObject_SetItem": "I:OOO",
    "PyObject_DelItem": "I:OO",
    "PyObject_GetIter": "O:O",
    "PyIter_Next": "O:O",
    "PyObject_Repr": "O:O",
    "PyObject_Str": "O:O",
    "PyObject_ASCII": "O:O",
    "PyObject_Format": "O:OO",
    "PyObject_IsInstance": "I:OO",
    "PyObject_IsSubclass": "I:OO",
    "PyObject_Size": "L:O",
    "PySequence_Contains": "I:OO",
    "PySequence_Tuple": "O:O",
    "PySequence_List": "O:O",
    "PySlice_New": "O:OOO",
    # calls
    "PyObject_Vectorcall": "O:OPZO",
    "PyObject_VectorcallDict": "O:OPZO",
    "PyObject_VectorcallMethod": "O:OPZO",
    "PyObject_Call": "O:OOO",
    "_PyFunction_Vectorcall": "O:OPZO",
    "Py_EnterRecursiveCall": "I:C",
    "Py_LeaveRecursiveCall": "V:",
    "PyObject_CallNoArgs": "O:O",
    "_PyObject_LookupSpecial": "O:OO",  # BEFORE_WITH's __enter__/__exit__ lookup
    # builders
    "PyTuple_New": "O:L",
    "PyList_New": "O:L",
    "PyList_Append": "I:OO",
    "_PyList_Extend": "O:OO",
    "PyList_AsTuple": "O:O",
    "PyDict_New": "O:",
    "PyDict_SetItem": "I:OOO",
    "PyDict_DelItem": "I:OO",
    "PyDict_GetItemWithError": "O:OO",  # borrowed
    "PyUnicode_Compare": "I:OO",
    "_PyObject_FunctionStr": "O:O",
    "PySequence_Check": "I:O",
    "PyDict_Update": "I:OO",
    "_PyDict_MergeEx": "I:OOI",
    "PySet_New": "O:O",
    "PySet_Add": "I:OO",
    "_PySet_Update": "I:OO",
    "_PyUnicode_JoinArray": "O:OPL",
    "PyUnicode_Concat": "O:OO",
    "PyLong_FromSsize_t": "O:L",
    "PyLong_FromLongLong": "O:L",
    "PyLong_AsSsize_t": "L:O",
    "PyFloat_FromDouble": "O:D",
    "PyFloat_AsDouble": "D:O",
    "PyBool_FromLong": "O:L",
    "PyCell_New": "O:O",
    "PyCell_Get": "O:O",
    "PyCell_Set": "I:OO",
    "PyFunction_New": "O:OO",
    "PyFunction_NewWithQualName": "O:OOO",
    "_PyEval_GetBuiltin": "O:O",
    "PyImport_ImportModuleLevelObject": "O:OOOOI",
    # IMPORT_FROM's fallback and messages (lower/imports.py), the match ops (lower/matching.py)
    "PyImport_GetModule": "O:O",
    "PyModule_GetFilenameObject": "O:O",
    "_PyModuleSpec_IsInitializing": "I:O",
    "PyUnicode_FromFormat": "O:C...",
    "PyUnicode_FromString": "O:C",
    "PySet_Contains": "I:OO",
    # errors and exceptions
    "PyErr_Occurred": "O:",
    "PyErr_SetString": "V:OC",
    "_PyErr_SetString": "V:POC",  # (tstate, type, message)
    "PyErr_SetObject": "V:OO",
    "PyErr_SetNone": "V:O",
    "PyErr_Format": "O:OC...",
    "_PyErr_Format": "O:POC...",
    "PyErr_Clear": "V:",
    "PyErr_ExceptionMatches": "I:O",
    "PyErr_GivenExceptionMatches": "I:OO",
    "PyErr_GetRaisedException": "O:",
    "PyErr_SetRaisedException": "V:O",
    "PyErr_GetHandledException": "O:",
    "PyErr_SetHandledException": "V:O",
    "_PyErr_ChainExceptions1": "V:O",
    "_PyErr_SetKeyError": "V:O",
    "PyErr_NoMemory": "O:",
    "PyException_GetTraceback": "O:O",
    "PyException_SetTraceback": "I:OO",
    "PyException_SetCause": "V:OO",
    "PyException_SetContext": "V:OO",
    "PyUnicode_AsUTF8": "C:O",
    # frames and tracebacks: an exception leaving compiled code gets the traceback entry
    # CPython would add, from a frame object made for it (PyFrame_New + prev_instr, see
    # abi.InterpreterFrame) so that line and caret positions come out of co_positions.
    "PyFrame_New": "P:POOO",  # (tstate, code, globals, locals)
    "PyTraceBack_Here": "I:P",
    "_PyTraceback_Add": "V:CCI",
    # compiled calls link a real frame (lower/function.py): the frame object of the
    # thread's current frame, and GC tracking for one that takes over a popped frame
    "PyEval_GetFrame": "P:",
    "PyObject_GC_IsTracked": "I:O",
    "PyObject_GC_Track": "V:O",
    # thread state, signals, pending calls, the GIL
    "PyThreadState_Get": "P:",
    "_PyThreadState_UncheckedGet": "P:",
    "Py_MakePendingCalls": "I:",
    "PyErr_CheckSignals": "I:",
    "PyEval_SaveThread": "P:",
    "PyEval_RestoreThread": "V:P",
    # installation and invalidation (also called from ctypes by the runtime)
    "PyFunction_SetVectorcall": "V:PP",
    "PyFunction_AddWatcher": "I:P",
    "PyFunction_ClearWatcher": "I:I",
    "PyDict_AddWatcher": "I:P",
    "PyDict_ClearWatcher": "I:I",
    "PyDict_Watch": "I:IO",
    "PyDict_Unwatch": "I:IO",
}

# Static objects: the symbol's address is the object.
OBJECTS = (
    "_Py_NoneStruct _Py_TrueStruct _Py_FalseStruct _Py_NotImplementedStruct _Py_EllipsisObject "
    "PyLong_Type PyFloat_Type PyBool_Type PyUnicode_Type PyBytes_Type PyTuple_Type PyList_Type "
    "PyDict_Type PySet_Type PyFrozenSet_Type PySlice_Type PyRange_Type PyType_Type "
    "PyBaseObject_Type PyFunction_Type PyMethod_Type PyCFunction_Type PyCell_Type PyCode_Type "
    "PyModule_Type PyMethodDescr_Type PyListIter_Type PyTupleIter_Type PyRangeIter_Type"
).split()

# `PyObject *` variables: load to get the object.
POINTERS = tuple(
    f"PyExc_{name}"
    for name in (
        "BaseException Exception TypeError NameError UnboundLocalError AttributeError KeyError "
        "IndexError ValueError ZeroDivisionError StopIteration StopAsyncIteration SystemError "
        "RuntimeError AssertionError OverflowError RecursionError KeyboardInterrupt ImportError "
        "MemoryError"
    ).split()
)

# Addresses inside the running interpreter, bound per process (see register_symbols).
EMBER_SYMBOLS = ("ember.eval_breaker", "ember.monitors", "ember.eval_frame")


def function_type(name: str) -> ir.FunctionType:
    ret, params, varargs = _sig(FUNCTIONS[name])
    return ir.FunctionType(_KINDS[ret], [_KINDS[k] for k in params], var_arg=varargs)


def declare(module: ir.Module, name: str) -> ir.Function:
    """The declaration of C API function `name` in `module` (added once)."""
    existing = module.globals.get(name)
    if existing is not None:
        return existing
    return ir.Function(module, function_type(name), name=name)


def declare_object(module: ir.Module, name: str) -> ir.GlobalVariable:
    """A static object (`_Py_NoneStruct`, `PyLong_Type`); the global's address is it.

    Names starting with `ember.` are process addresses bound with `llvm.add_symbol` by the
    backend (`EMBER_SYMBOLS`, or support.py's own).
    """
    if name not in OBJECTS and not name.startswith("ember."):
        raise KeyError(f"{name} is not in capi.OBJECTS")
    existing = module.globals.get(name)
    if existing is not None:
        return existing
    gv = ir.GlobalVariable(module, I8, name=name)
    gv.linkage = "external"
    return gv


def load_pointer(builder: ir.IRBuilder, name: str) -> ir.Value:
    """The value of a `PyObject *` variable such as `PyExc_TypeError`."""
    if name not in POINTERS:
        raise KeyError(f"{name} is not in capi.POINTERS")
    module = builder.module
    gv = module.globals.get(name)
    if gv is None:
        gv = ir.GlobalVariable(module, OBJ, name=name)
        gv.linkage = "external"
    return builder.load(gv, name=name.removeprefix("PyExc_"), typ=OBJ)


def address(name: str) -> int:
    """The address of a C API symbol (or of `EMBER_SYMBOLS`) in this process; KeyError if
    it isn't there (`backend.loader.process_address`)."""
    return loader.process_address(name)


@cache
def register_symbols() -> None:
    """Tell LLVM's linker where every declared symbol lives in this process (once)."""
    from llvmlite import binding as llvm

    for name in (*FUNCTIONS, *OBJECTS, *POINTERS, *EMBER_SYMBOLS):
        llvm.add_symbol(name, address(name))
