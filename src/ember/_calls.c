/* CALL for compiled code: `ember.c.call`, one call instruction at each call site.
 *
 * What it does is ceval.c's CALL, generic path: the callable is the method slot when it
 * is set (then `self` is the first argument), else the callable slot; the call goes
 * through PyObject_Vectorcall with PY_VECTORCALL_ARGUMENTS_OFFSET (the slot in front of
 * the arguments is the caller's to lend).
 *
 * Before it, the frame's prev_instr is set as the interpreter leaves it while the callee
 * runs (f_lasti of the caller, tracebacks, sys._getframe): at the CALL's last inline
 * cache entry when ceval.c would inline the call (a Python function, or a bound method
 * of one when the method slot was empty), else at the CALL. If a Python callee fails
 * before its frame ran (an argument error), CPython's error is raised at the CALL
 * itself, so prev_instr goes back there unless the traceback's newest entry is the
 * callee's (or the callee re-raised the exception being handled, with a bare `raise`).
 *
 * A call of a Python function that Ember compiled, with exactly its positional
 * parameters and no keywords, goes straight to the compiled body (`register_direct`),
 * past PyObject_Vectorcall and the entry, when the entry would take it too: no other
 * monitoring tool active (globally or for that code) and more than half of the C
 * recursion budget left; anything else goes through the entry, which decides.
 *
 * Fast paths, each one of 3.12's own CALL specialisations (Python/bytecodes.c), taken
 * under the same guards, for the same result:
 *   - CALL_NO_KW_LIST_APPEND: `list.append` on a list: PyList_Append;
 *   - CALL_NO_KW_METHOD_DESCRIPTOR_O / _NOARGS / _FAST: a method descriptor of a C type
 *     whose `self` is exactly that type, no keywords: its C function, directly (with the
 *     C recursion check for METH_O and METH_NOARGS, as method_vectorcall_O does), then
 *     _Py_CheckFunctionResult as PyObject_Vectorcall does.
 */

#define PY_SSIZE_T_CLEAN
#define Py_BUILD_CORE_MODULE 1
#include <Python.h>
#include "internal/pycore_ceval.h"
#include "internal/pycore_frame.h"
#include "internal/pycore_interp.h"

#include "_native.h"

/* INLINE_CACHE_ENTRIES_CALL of 3.12 (code units after CALL). */
#define CALL_CACHE_ENTRIES 3
/* The entry's rule (backend/entry.py C_DEPTH_LIMIT): below this many C recursion units
   left, a compiled function goes back to the interpreter. */
#define C_DEPTH_LIMIT 750
/* Ember's own sys.monitoring tool (OPTIMIZER_ID), which does not count as "active". */
#define OWN_TOOL 5

typedef PyObject *(*body_fn)(PyObject *func, PyObject **args, PyThreadState *tstate);

/* Entries whose body can be called directly: entry address -> body, its call counter
   (the entry's `native` counter), its positional parameter count. An open-addressing
   table; entries are never removed (machine code is never freed). */
typedef struct {
    uintptr_t entry;  /* 0: empty */
    body_fn body;
    int64_t *native_calls;
    Py_ssize_t argcount;
} Direct;

static Direct *direct = NULL;
static size_t direct_cap = 0, direct_len = 0;

static size_t
direct_slot(uintptr_t entry, size_t cap)
{
    return (size_t)((entry >> 4) * 0x9E3779B97F4A7C15ull) & (cap - 1);
}

static Direct *
direct_find(uintptr_t entry)
{
    if (direct_cap == 0) {
        return NULL;
    }
    for (size_t i = direct_slot(entry, direct_cap);; i = (i + 1) & (direct_cap - 1)) {
        if (direct[i].entry == entry) {
            return &direct[i];
        }
        if (direct[i].entry == 0) {
            return NULL;
        }
    }
}

int
ember_register_direct(uintptr_t entry, uintptr_t body, uintptr_t native_calls,
                      Py_ssize_t argcount)
{
    if (direct_find(entry) != NULL) {
        return 0;
    }
    if ((direct_len + 1) * 2 > direct_cap) {
        size_t cap = direct_cap ? direct_cap * 2 : 64;
        Direct *grown = PyMem_RawCalloc(cap, sizeof(Direct));
        if (grown == NULL) {
            return -1;
        }
        for (size_t i = 0; i < direct_cap; i++) {
            if (direct[i].entry) {
                size_t j = direct_slot(direct[i].entry, cap);
                while (grown[j].entry) {
                    j = (j + 1) & (cap - 1);
                }
                grown[j] = direct[i];
            }
        }
        PyMem_RawFree(direct);
        direct = grown;
        direct_cap = cap;
    }
    size_t j = direct_slot(entry, direct_cap);
    while (direct[j].entry) {
        j = (j + 1) & (direct_cap - 1);
    }
    direct[j].entry = entry;
    direct[j].body = (body_fn)body;
    direct[j].native_calls = (int64_t *)native_calls;
    direct[j].argcount = argcount;
    direct_len++;
    return 0;
}

/* Whether a tool other than Ember's has an event on in `tools` (15 bytes, one per
   event, a bit per tool): two 8-byte loads, masked, as the entry's check does
   (backend/support.py tools_active). */
static inline int
other_tools(const uint8_t *tools)
{
    uint64_t lo, hi;
    memcpy(&lo, tools, 8);
    memcpy(&hi, tools + 7, 8);  /* bytes 7..14: byte 7 is counted twice, harmlessly */
    const uint64_t others = 0x0101010101010101ull * (uint8_t)~(1u << OWN_TOOL);
    return ((lo | hi) & others) != 0;
}

/* What the entry checks before it runs the body (backend/support.py tools_active). */
static inline int
tools_active(PyThreadState *tstate, PyFunctionObject *func)
{
    if (other_tools(tstate->interp->monitors.tools) || tstate->interp->eval_frame != NULL) {
        return 1;  /* (a PEP 523 evaluator sees every frame, as without Ember) */
    }
    _PyCoMonitoringData *mon = ((PyCodeObject *)func->func_code)->_co_monitoring;
    return mon != NULL && other_tools(mon->local_monitors.tools);
}

static PyObject *list_append = NULL;



int
ember_calls_init(void)
{
    list_append = PyObject_GetAttrString((PyObject *)&PyList_Type, "append");
    if (list_append == NULL) {
        return -1;
    }
    if (Py_TYPE(list_append) != &PyMethodDescr_Type) {
        Py_CLEAR(list_append);  /* not what 3.12 has: no fast path for it */
    }
    return 0;
}

/* A method descriptor called with argv[0] as self: its result (new reference, or NULL
   with an exception), or NULL with no exception when the fast path does not apply. */
static PyObject *
call_method_descr(PyThreadState *tstate, PyObject *callable, PyObject *const *argv,
                  Py_ssize_t nargs)
{
    PyMethodDescrObject *descr = (PyMethodDescrObject *)callable;
    PyObject *self = argv[0];
    if (callable == list_append && nargs == 2 && PyList_Check(self)) {
        return PyList_Append(self, argv[1]) < 0 ? NULL : Py_NewRef(Py_None);
    }
    if (Py_TYPE(self) != descr->d_common.d_type) {
        return NULL;
    }
    PyMethodDef *def = descr->d_method;
    PyObject *res;
    switch (def->ml_flags & (METH_VARARGS | METH_FASTCALL | METH_NOARGS | METH_O
                             | METH_KEYWORDS | METH_METHOD)) {
    case METH_O:
        if (nargs != 2) {
            return NULL;
        }
        if (_Py_EnterRecursiveCallTstate(tstate, " while calling a Python object")) {
            return NULL;
        }
        res = def->ml_meth(self, argv[1]);
        _Py_LeaveRecursiveCallTstate(tstate);
        break;
    case METH_NOARGS:
        if (nargs != 1) {
            return NULL;
        }
        if (_Py_EnterRecursiveCallTstate(tstate, " while calling a Python object")) {
            return NULL;
        }
        res = def->ml_meth(self, NULL);
        _Py_LeaveRecursiveCallTstate(tstate);
        break;
    case METH_FASTCALL:
        res = ((_PyCFunctionFast)(void (*)(void))def->ml_meth)(self, argv + 1, nargs - 1);
        break;
    case METH_FASTCALL | METH_KEYWORDS:
        res = ((_PyCFunctionFastWithKeywords)(void (*)(void))def->ml_meth)(
            self, argv + 1, nargs - 1, NULL);
        break;
    default:
        return NULL;
    }
    return _Py_CheckFunctionResult(tstate, callable, res, NULL);
}

/* Whether ceval.c would inline this call (a Python function; a bound method of one when
   the method slot was empty), and the function it runs. */
static PyFunctionObject *
python_target(PyObject *target, int unbound)
{
    if (Py_TYPE(target) == &PyFunction_Type) {
        return (PyFunctionObject *)target;
    }
    if (unbound && Py_TYPE(target) == &PyMethod_Type) {
        PyObject *func = PyMethod_GET_FUNCTION(target);
        if (Py_TYPE(func) == &PyFunction_Type) {
            return (PyFunctionObject *)func;
        }
    }
    return NULL;
}

/* Whether the raised exception left a frame of `code`: its newest traceback entry is
   one, or it is `handled` (the exception being handled at the call, which a bare
   `raise` in the callee re-raises without adding an entry). */
static int
raised_in(PyObject *code, PyObject *handled)
{
    PyObject *exc = PyErr_GetRaisedException();
    PyObject *tb = exc != NULL ? PyException_GetTraceback(exc) : NULL;
    int reraised = exc != NULL && exc == handled && handled != Py_None;
    PyErr_SetRaisedException(exc);
    if (reraised) {
        Py_XDECREF(tb);
        return 1;
    }
    if (tb == NULL) {
        return 0;
    }
    PyFrameObject *frame = ((PyTracebackObject *)tb)->tb_frame;
    int same = frame != NULL && (PyObject *)frame->f_frame->f_code == code;
    Py_DECREF(tb);
    return same;
}

/* The index of `name` among the parameters a keyword can bind (CPython's
   initialize_locals: past the positional-only ones), or -1. */
static Py_ssize_t
keyword_slot(PyCodeObject *co, PyObject *name)
{
    Py_ssize_t end = co->co_argcount + co->co_kwonlyargcount;
    for (Py_ssize_t j = co->co_posonlyargcount; j < end; j++) {
        if (PyTuple_GET_ITEM(co->co_localsplusnames, j) == name) {
            return j;
        }
    }
    for (Py_ssize_t j = co->co_posonlyargcount; j < end; j++) {
        PyObject *param = PyTuple_GET_ITEM(co->co_localsplusnames, j);
        if (PyUnicode_Compare(param, name) == 0) {
            return j;
        }
    }
    return -1;
}

#define OWNED(bit) ((bit) < 64 && (owned >> (bit) & 1))
#define RELEASE(obj, bit) do { if (OWNED(bit)) { Py_DECREF(obj); } } while (0)

/* A Python function's frame takes its arguments over, and releases them when it ends
   in the order of its fast locals: the parameters, then the `*args` tuple (from its
   end, as a tuple's dealloc goes), then the `**kwargs` dict (in insertion order). The
   caller's references are the last ones once the call is over, so releasing them in
   that order frees the arguments as CPython's frame would. argv[i] has bit
   `first_bit + i`; `shift` positional parameters are filled before argv (a bound
   method's self). Arguments the binding rejected (the call raised) go in order. */
static void
release_in_frame_order(PyCodeObject *co, PyObject *const *argv, Py_ssize_t npos,
                       PyObject *kwnames, uint64_t owned, int first_bit, Py_ssize_t shift)
{
    Py_ssize_t nkw = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    Py_ssize_t argcount = co->co_argcount;
    Py_ssize_t nparams = argcount + co->co_kwonlyargcount;
    Py_ssize_t ordered = npos + shift < argcount ? npos : argcount - shift;
    if (ordered < 0) {
        ordered = 0;
    }
    for (Py_ssize_t i = 0; i < ordered; i++) {
        RELEASE(argv[i], first_bit + i);
    }
    /* Keywords that name a parameter, in parameter order; the rest after `*args`. */
    for (Py_ssize_t slot = 0; slot < nparams; slot++) {
        for (Py_ssize_t k = 0; k < nkw; k++) {
            if (keyword_slot(co, PyTuple_GET_ITEM(kwnames, k)) == slot) {
                RELEASE(argv[npos + k], first_bit + npos + k);
            }
        }
    }
    int varargs = (co->co_flags & CO_VARARGS) != 0;
    for (Py_ssize_t i = npos - 1; i >= ordered; i--) {
        if (varargs) {
            RELEASE(argv[i], first_bit + i);
        }
    }
    for (Py_ssize_t k = 0; k < nkw; k++) {
        if (keyword_slot(co, PyTuple_GET_ITEM(kwnames, k)) < 0) {
            RELEASE(argv[npos + k], first_bit + npos + k);
        }
    }
    if (!varargs) {  /* too many positional arguments: the call raised */
        for (Py_ssize_t i = ordered; i < npos; i++) {
            RELEASE(argv[i], first_bit + i);
        }
    }
}

/* After CALL: release the operands the compiled caller owned and that die at the call
   (bit 0: the method slot, bit k >= 1: args[k]), in CPython's order. CALL releases the
   callable, then the arguments (self first); a bound method in the callable slot is
   dropped at once and its function called with self in front; a Python function's
   frame releases the arguments, then the function (release_in_frame_order). */
static void
release_operands(PyObject *method, PyObject **args, Py_ssize_t npos, PyObject *kwnames,
                 uint64_t owned)
{
    if (kwnames == NULL) {
        /* The common case without reading the code: positional arguments land in the
           parameters in order, unless two or more of ours go to a `*args` tuple. */
        int is_meth = method != NULL;
        PyObject *target = is_meth ? method : args[1];
        int target_bit = is_meth ? 0 : 1;
        int first_bit = target_bit + 1;
        uint64_t arg_bits = owned >> first_bit;
        int simple = Py_TYPE(target) != &PyFunction_Type || (arg_bits & (arg_bits - 1)) == 0
            || !(((PyCodeObject *)((PyFunctionObject *)target)->func_code)->co_flags
                 & CO_VARARGS);
        if (simple) {
            Py_ssize_t nall = npos + is_meth;
            int last = Py_TYPE(target) == &PyFunction_Type;
            if (!last && (owned >> target_bit & 1)) {
                Py_DECREF(target);
            }
            for (Py_ssize_t i = 0; i < nall && first_bit + i < 64; i++) {
                if (owned >> (first_bit + i) & 1) {
                    Py_DECREF(args[first_bit + i]);
                }
            }
            if (last && (owned >> target_bit & 1)) {
                Py_DECREF(target);
            }
            return;
        }
    }
    Py_ssize_t nkw = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    int is_meth = method != NULL;
    PyObject *target = is_meth ? method : args[1];
    int target_bit = is_meth ? 0 : 1;
    int first_bit = is_meth ? 1 : 2;
    PyObject **argv = args + first_bit;
    Py_ssize_t nall = npos + is_meth;  /* positional, self included */
    Py_ssize_t shift = 0;
    if (!is_meth && Py_TYPE(target) == &PyMethod_Type) {
        PyObject *func = PyMethod_GET_FUNCTION(target);
        RELEASE(target, target_bit);
        target_bit = 64;  /* nothing of ours any more */
        target = func;
        shift = 1;
    }
    if (Py_TYPE(target) == &PyFunction_Type) {
        release_in_frame_order((PyCodeObject *)((PyFunctionObject *)target)->func_code,
                               argv, nall, kwnames, owned, first_bit, shift);
        RELEASE(target, target_bit);
        return;
    }
    RELEASE(target, target_bit);
    for (Py_ssize_t i = 0; i < nall + nkw; i++) {
        RELEASE(argv[i], first_bit + i);
    }
}

#undef RELEASE
#undef OWNED

/* A call site's cache (a zeroed global of the compiled module, ATTR-cache style): the
   compiled callees it saw last, so that the direct call needs no table lookup; the
   compiled caller checks entry 0 inline (lower/calls.py), and a call of another one
   brings it to the front (a method of a base class called on several subclasses). */
typedef struct {
    uintptr_t entry;       /* the callee's vectorcall: a compiled entry */
    body_fn body;
    int64_t *native_calls;
    Py_ssize_t argcount;
} CallEntry;

#define CALL_ENTRIES 4

typedef struct {
    CallEntry e[CALL_ENTRIES];
} CallCache;

/* The site's entry for a compiled callee whose vectorcall is `entry`, at the front;
   NULL when the callee has no compiled body. */
static CallEntry *
call_entry(CallCache *cache, uintptr_t entry)
{
    if (cache->e[0].entry == entry) {
        return &cache->e[0];
    }
    int i;
    for (i = 1; i < CALL_ENTRIES; i++) {
        if (cache->e[i].entry == entry) {
            break;
        }
    }
    CallEntry found;
    if (i < CALL_ENTRIES) {
        found = cache->e[i];
    }
    else {
        Direct *d = direct_len ? direct_find(entry) : NULL;
        if (d == NULL) {
            return NULL;
        }
        found.entry = entry;
        found.body = d->body;
        found.native_calls = d->native_calls;
        found.argcount = d->argcount;
        i = CALL_ENTRIES - 1;
    }
    memmove(&cache->e[1], &cache->e[0], sizeof(CallEntry) * i);
    cache->e[0] = found;
    return &cache->e[0];
}

static PyObject NOT_TAKEN_OBJECT;
#define NOT_TAKEN (&NOT_TAKEN_OBJECT)

/* CPython's own inline call of a Python function that runs interpreted
   (CALL_PY_EXACT_ARGS, CALL_PY_WITH_DEFAULTS of Python/bytecodes.c): a frame on the
   thread's data stack that takes over the function and the arguments (the caller's
   owned operands, a new reference to the others), run by the interpreter, which
   releases them as the frame ends, as CPython does. NOT_TAKEN (nothing done) when the
   call is not one of those: keywords, *args or **kwargs parameters, keyword-only
   ones, an argument count defaults cannot make up, no room on the data stack. */
static PyObject *
call_interpreted(PyThreadState *tstate, PyFunctionObject *py, PyObject *target,
                 PyObject *const *argv, Py_ssize_t nargs, uint64_t owned, int target_bit,
                 int first_bit)
{
    PyCodeObject *co = (PyCodeObject *)py->func_code;
    int shift = (PyObject *)py != target;  /* a bound method: self goes first */
    Py_ssize_t total = nargs + shift;
    if ((co->co_flags & (CO_VARARGS | CO_VARKEYWORDS)) || !(co->co_flags & CO_OPTIMIZED)
            || co->co_kwonlyargcount != 0 || total > co->co_argcount) {
        return NOT_TAKEN;
    }
    PyObject *defaults = py->func_defaults;
    Py_ssize_t ndef = defaults != NULL ? PyTuple_GET_SIZE(defaults) : 0;
    Py_ssize_t first_default = co->co_argcount - ndef;
    if (total < first_default || !_PyThreadState_HasStackSpace(tstate, co->co_framesize)) {
        return NOT_TAKEN;
    }
    PyObject *self = NULL;
    if (shift) {
        /* CALL with a bound method in the callable slot: its function and self get new
           references, and the bound method goes at once. */
        self = Py_NewRef(PyMethod_GET_SELF(target));
        Py_INCREF(py);
        if (target_bit < 64 && (owned >> target_bit & 1)) {
            Py_DECREF(target);
        }
    }
    else if (!(target_bit < 64 && (owned >> target_bit & 1))) {
        Py_INCREF(py);
    }
    _PyInterpreterFrame *f = _PyFrame_PushUnchecked(tstate, py, (int)co->co_argcount);
    PyObject **locals = f->localsplus;
    Py_ssize_t k = 0;
    if (shift) {
        locals[k++] = self;
    }
    for (Py_ssize_t i = 0; i < nargs; i++) {
        int bit = first_bit + (int)i;
        PyObject *arg = argv[i];
        locals[k++] = (bit < 64 && (owned >> bit & 1)) ? arg : Py_NewRef(arg);
    }
    for (; k < co->co_argcount; k++) {
        locals[k] = Py_NewRef(PyTuple_GET_ITEM(defaults, k - first_default));
    }
    return _PyEval_EvalFrameDefault(tstate, f, 0);
}

#define DIRECT_MAX_PARAMS 16

/* The parameters of a direct call of a compiled body whose code takes exactly
   `argcount` positional-or-keyword parameters (loader.direct_argcount): argv itself when
   the call passes exactly those, else `buf` filled as CPython's initialize_locals would
   (a bound method's self first, the positional arguments, the keywords in their
   parameters' places, the defaults for the rest), all borrowed. NULL when the binding
   is not that simple (a missing or unexpected argument: CPython's own binding then
   raises its error). */
static PyObject **
direct_params(PyFunctionObject *py, Py_ssize_t argcount, PyObject *target,
              PyObject **argv, Py_ssize_t nargs, PyObject *kwnames, int shift,
              PyObject **buf)
{
    if (kwnames == NULL && !shift && nargs == argcount) {
        return argv;
    }
    Py_ssize_t given = nargs + shift;
    if (given > argcount || argcount > DIRECT_MAX_PARAMS) {
        return NULL;
    }
    Py_ssize_t k = 0;
    if (shift) {
        buf[k++] = PyMethod_GET_SELF(target);
    }
    for (Py_ssize_t i = 0; i < nargs; i++) {
        buf[k++] = argv[i];
    }
    for (Py_ssize_t i = k; i < argcount; i++) {
        buf[i] = NULL;
    }
    PyCodeObject *co = (PyCodeObject *)py->func_code;
    Py_ssize_t nkw = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    for (Py_ssize_t j = 0; j < nkw; j++) {
        Py_ssize_t slot = keyword_slot(co, PyTuple_GET_ITEM(kwnames, j));
        if (slot < given || slot >= argcount || buf[slot] != NULL) {
            return NULL;
        }
        buf[slot] = argv[nargs + j];
    }
    PyObject *defaults = py->func_defaults;
    Py_ssize_t ndef = defaults != NULL ? PyTuple_GET_SIZE(defaults) : 0;
    Py_ssize_t first_default = argcount - ndef;
    for (Py_ssize_t i = given; i < argcount; i++) {
        if (buf[i] == NULL) {
            if (i < first_default) {
                return NULL;
            }
            buf[i] = PyTuple_GET_ITEM(defaults, i - first_default);
        }
    }
    return buf;
}

PyObject *
ember_call(PyThreadState *tstate, void *frame_, PyObject *method, PyObject **args,
           Py_ssize_t npos, PyObject *kwnames, void *at_call_, uint64_t owned, void *cache_)
{
    _PyInterpreterFrame *frame = (_PyInterpreterFrame *)frame_;
    _Py_CODEUNIT *at_call = (_Py_CODEUNIT *)at_call_;
    CallCache *cache = (CallCache *)cache_;
    int is_meth = method != NULL;
    PyObject *target = is_meth ? method : args[1];
    int target_bit = is_meth ? 0 : 1;
    int first_bit = is_meth ? 1 : 2;
    PyObject **argv = args + first_bit;
    Py_ssize_t nargs = npos + is_meth;
    PyObject *res;
    if (Py_TYPE(target) == &PyMethodDescr_Type && kwnames == NULL && nargs >= 1) {
        frame->prev_instr = at_call;
        res = call_method_descr(tstate, target, argv, nargs);
        if (res != NULL || PyErr_Occurred()) {
            if (owned) {
                release_operands(method, args, npos, kwnames, owned);
            }
            return res;
        }
    }
    PyFunctionObject *py = python_target(target, !is_meth);
    frame->prev_instr = py != NULL ? at_call + CALL_CACHE_ENTRIES : at_call;
    /* The exception being handled here: a callee's bare `raise` re-raises it without a
       traceback entry of its own, yet its frame ran. */
    PyObject *handled = tstate->exc_info != NULL ? tstate->exc_info->exc_value : NULL;
    res = NOT_TAKEN;
    if (py != NULL) {
        int shift = (PyObject *)py != target;
        uintptr_t entry = (uintptr_t)py->vectorcall;
        /* Every function that runs interpreted has CPython's vectorcall: nothing to
           look up for those. */
        CallEntry *ce = entry != (uintptr_t)_PyFunction_Vectorcall
            ? call_entry(cache, entry) : NULL;
        PyObject *buf[DIRECT_MAX_PARAMS];
        PyObject **params;
        if (ce != NULL && tstate->c_recursion_remaining >= C_DEPTH_LIMIT
                && (params = direct_params(py, ce->argcount, target, argv, nargs,
                                           kwnames, shift, buf)) != NULL
                && !tools_active(tstate, py)) {
            (*ce->native_calls)++;
            res = ce->body((PyObject *)py, params, tstate);
            if (owned) {
                release_operands(method, args, npos, kwnames, owned);
            }
        }
        else if (kwnames == NULL && py->vectorcall == _PyFunction_Vectorcall
                 && tstate->interp->eval_frame == NULL) {
            res = call_interpreted(tstate, py, target, argv, nargs, owned, target_bit,
                                   first_bit);
        }
    }
    if (res == NOT_TAKEN) {
        res = PyObject_Vectorcall(target, argv, nargs | PY_VECTORCALL_ARGUMENTS_OFFSET,
                                  kwnames);
        if (owned) {
            release_operands(method, args, npos, kwnames, owned);
        }
    }
    if (res == NULL && py != NULL && !raised_in(py->func_code, handled)) {
        frame->prev_instr = at_call;
    }
    return res;
}

/* A direct call of a compiled body, made inline by the caller (lower/calls.py), failed:
   prev_instr goes back to the CALL unless the callee's frame ran (ember_call's rule). */
void
ember_call_failed(void *frame_, PyObject *code, PyObject *handled, void *at_call)
{
    if (!raised_in(code, handled)) {
        ((_PyInterpreterFrame *)frame_)->prev_instr = (_Py_CODEUNIT *)at_call;
    }
}
