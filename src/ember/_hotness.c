/* ember._hotness: the hotness counter, in C so that counting never pushes a Python frame.
 *
 * A `Counter` is registered as the sys.monitoring callback (tool OPTIMIZER_ID) for
 * PY_START, called as counter(code, offset), and for JUMP, called as
 * counter(code, offset, destination). It keeps one integer per code object in a co_extra
 * slot: no reference to the code object, no table keyed by id() (an id can be reused
 * once the code object dies; a co_extra slot dies with it).
 *
 * Per event, in order:
 *   - code without CO_OPTIMIZED (module, class body, exec'd text): DISABLE, never counted.
 *   - a forward JUMP (destination > offset): DISABLE for that location; only back-edges
 *     count.
 *   - a code object already decided: DISABLE.
 *   - otherwise add the event's weight (call_weight for PY_START, 1 for a back-edge) to
 *     the count; below `threshold`: return None (counting goes on, no Python code ran).
 *   - at or above `threshold`: call on_hot(code, frame), where frame is the frame that
 *     fired the event (the callee starting, or the looping frame), but only when this
 *     thread has room for the compiler's own frames (py_headroom Python frames,
 *     c_headroom C recursion units) and no other hook call is running (another thread may
 *     get here while the compiler has released the GIL). Otherwise return None and try
 *     again at the next event of that code.
 *   - on_hot returns sys.monitoring.DISABLE once it decided (compiled or refused): the
 *     code is marked decided, and every later event of it returns DISABLE. Any other
 *     result means "not now": the count starts again from zero.
 *   - if on_hot raises (it should not: the driver catches everything), the error is
 *     cleared and counted in `errors`, and the code is marked decided. A KeyboardInterrupt
 *     that arrived while the hook ran is not lost: SIGINT is re-tripped
 *     (PyErr_SetInterrupt), so the program gets it at its next eval-breaker check, as it
 *     would have without Ember (a Python SIGINT handler of the program's own that raised
 *     inside the hook runs a second time there: a known difference).
 *
 * Re-entrancy: CPython sets tstate->tracing while any monitoring callback runs, so code
 * that on_hot runs (the compiler, the standard library it uses) fires no events on this
 * thread; `busy` covers other threads.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

/* Bumped whenever the Python side must change with this file (ember.runtime.hotness checks). */
#define EMBER_HOTNESS_VERSION 1

/* The co_extra value of a code object that on_hot decided about. */
#define DECIDED ((uintptr_t)-1)

static Py_ssize_t extra_index = -1;

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *on_hot;
    PyObject *disable;          /* sys.monitoring.DISABLE */
    unsigned long long threshold;   /* in units */
    unsigned long long call_weight; /* units per PY_START; a back-edge is 1 unit */
    int py_headroom;
    int c_headroom;
    int busy;
    /* Statistics, for tests, stats and measurements. */
    unsigned long long events;   /* callbacks received */
    unsigned long long hooks;    /* on_hot calls */
    unsigned long long deferred; /* hot, but no headroom or busy: tried again later */
    unsigned long long errors;   /* on_hot raised */
} Counter;

static int
set_units(PyObject *code, uintptr_t units)
{
    if (PyUnstable_Code_SetExtra(code, extra_index, (void *)units) < 0) {
        PyErr_Clear();
        return -1;
    }
    return 0;
}

static int
has_headroom(Counter *self)
{
    PyThreadState *tstate = PyThreadState_Get();
    return tstate->recursion_headroom == 0
        && tstate->py_recursion_remaining >= self->py_headroom
        && tstate->c_recursion_remaining >= self->c_headroom;
}

static PyObject *
call_hook_kept(Counter *self, PyObject *code);

static PyObject *
call_hook(Counter *self, PyObject *code)
{
    Py_INCREF(self);
    PyObject *res = call_hook_kept(self, code);
    Py_DECREF(self);
    return res;
}

static PyObject *
call_hook_kept(Counter *self, PyObject *code)
{
    if (self->on_hot == NULL) { /* cleared by the GC: no one to ask */
        set_units(code, DECIDED);
        return Py_NewRef(self->disable);
    }
    PyObject *frame = (PyObject *)PyEval_GetFrame(); /* borrowed; NULL if none */
    PyObject *args[2] = {code, frame != NULL ? frame : Py_None};
    /* The hook may unregister this counter (Runtime.stop), dropping CPython's reference
       to it: keep it and the hook alive for the call. */
    PyObject *on_hot = Py_NewRef(self->on_hot);
    self->busy = 1;
    self->hooks++;
    PyObject *res = PyObject_Vectorcall(on_hot, args, 2, NULL);
    self->busy = 0;
    Py_DECREF(on_hot);
    if (res == NULL) {
        self->errors++;
        int interrupted = PyErr_ExceptionMatches(PyExc_KeyboardInterrupt);
        PyErr_Clear();
        if (interrupted) {
            PyErr_SetInterrupt();
        }
        set_units(code, DECIDED);
        return Py_NewRef(self->disable);
    }
    if (res == self->disable) {
        set_units(code, DECIDED);
        return res;
    }
    Py_DECREF(res);
    set_units(code, 0);
    Py_RETURN_NONE;
}

static PyObject *
Counter_vectorcall(PyObject *op, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Counter *self = (Counter *)op;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (kwnames != NULL || nargs < 2 || nargs > 3 || !PyCode_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError,
                        "Counter expects (code, offset) or (code, offset, destination)");
        return NULL;
    }
    PyObject *code = args[0];
    self->events++;
    if (!(((PyCodeObject *)code)->co_flags & CO_OPTIMIZED)) {
        return Py_NewRef(self->disable);
    }
    uintptr_t weight = self->call_weight;
    if (nargs == 3) {
        Py_ssize_t offset = PyLong_AsSsize_t(args[1]);
        Py_ssize_t destination = PyLong_AsSsize_t(args[2]);
        if (PyErr_Occurred()) {
            PyErr_Clear();
            Py_RETURN_NONE;
        }
        if (destination > offset) {
            return Py_NewRef(self->disable); /* a forward jump: not a loop */
        }
        weight = 1;
    }
    void *extra = NULL;
    if (PyUnstable_Code_GetExtra(code, extra_index, &extra) < 0) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    uintptr_t units = (uintptr_t)extra;
    if (units == DECIDED) {
        return Py_NewRef(self->disable);
    }
    if (units < self->threshold) {
        units += weight; /* no overflow: threshold and weights are far below 2**62 */
        if (set_units(code, units) < 0 || units < self->threshold) {
            Py_RETURN_NONE;
        }
    }
    if (self->busy || !has_headroom(self)) {
        self->deferred++;
        Py_RETURN_NONE;
    }
    return call_hook(self, code);
}

static PyObject *
Counter_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"on_hot", "threshold", "call_weight", "py_headroom",
                             "c_headroom", NULL};
    PyObject *on_hot;
    unsigned long long threshold, call_weight;
    int py_headroom, c_headroom;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O$KKii:Counter", kwlist, &on_hot,
                                     &threshold, &call_weight, &py_headroom, &c_headroom)) {
        return NULL;
    }
    if (!PyCallable_Check(on_hot)) {
        PyErr_SetString(PyExc_TypeError, "on_hot must be callable");
        return NULL;
    }
    if (threshold < 1 || threshold > ((unsigned long long)1 << 40) || call_weight < 1
        || call_weight > ((unsigned long long)1 << 20)) {
        PyErr_SetString(PyExc_ValueError, "threshold or call_weight out of range");
        return NULL;
    }
    PyObject *monitoring = PySys_GetObject("monitoring"); /* borrowed */
    PyObject *disable =
        monitoring != NULL ? PyObject_GetAttrString(monitoring, "DISABLE") : NULL;
    if (disable == NULL) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_RuntimeError, "sys.monitoring is missing");
        }
        return NULL;
    }
    Counter *self = (Counter *)type->tp_alloc(type, 0);
    if (self == NULL) {
        Py_DECREF(disable);
        return NULL;
    }
    self->vectorcall = Counter_vectorcall;
    self->on_hot = Py_NewRef(on_hot);
    self->disable = disable;
    self->threshold = threshold;
    self->call_weight = call_weight;
    self->py_headroom = py_headroom;
    self->c_headroom = c_headroom;
    return (PyObject *)self;
}

static int
Counter_traverse(Counter *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->on_hot);
    return 0;
}

static int
Counter_clear(Counter *self)
{
    Py_CLEAR(self->on_hot); /* `disable` stays until dealloc: it is in no cycle */
    return 0;
}

static void
Counter_dealloc(Counter *self)
{
    PyObject_GC_UnTrack(self);
    Counter_clear(self);
    Py_CLEAR(self->disable);
    PyTypeObject *tp = Py_TYPE(self);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static PyObject *
Counter_count(PyObject *Py_UNUSED(self), PyObject *code)
{
    if (!PyCode_Check(code)) {
        PyErr_SetString(PyExc_TypeError, "count() expects a code object");
        return NULL;
    }
    void *extra = NULL;
    if (PyUnstable_Code_GetExtra(code, extra_index, &extra) < 0) {
        return NULL;
    }
    if ((uintptr_t)extra == DECIDED) {
        return PyLong_FromLong(-1);
    }
    return PyLong_FromSize_t((size_t)(uintptr_t)extra);
}

static PyObject *
Counter_forget(PyObject *Py_UNUSED(self), PyObject *code)
{
    if (!PyCode_Check(code)) {
        PyErr_SetString(PyExc_TypeError, "forget() expects a code object");
        return NULL;
    }
    if (PyUnstable_Code_SetExtra(code, extra_index, NULL) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyMethodDef Counter_methods[] = {
    {"count", (PyCFunction)Counter_count, METH_O,
     "count(code): units counted so far for code, or -1 once on_hot decided."},
    {"forget", (PyCFunction)Counter_forget, METH_O,
     "forget(code): count code again from zero (after sys.monitoring.restart_events())."},
    {NULL},
};

static PyMemberDef Counter_members[] = {
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(Counter, vectorcall), READONLY, NULL},
    {"threshold", T_ULONGLONG, offsetof(Counter, threshold), READONLY, NULL},
    {"call_weight", T_ULONGLONG, offsetof(Counter, call_weight), READONLY, NULL},
    {"py_headroom", T_INT, offsetof(Counter, py_headroom), READONLY, NULL},
    {"c_headroom", T_INT, offsetof(Counter, c_headroom), READONLY, NULL},
    {"events", T_ULONGLONG, offsetof(Counter, events), READONLY, NULL},
    {"hooks", T_ULONGLONG, offsetof(Counter, hooks), READONLY, NULL},
    {"deferred", T_ULONGLONG, offsetof(Counter, deferred), READONLY, NULL},
    {"errors", T_ULONGLONG, offsetof(Counter, errors), READONLY, NULL},
    {NULL},
};

static PyType_Slot Counter_slots[] = {
    {Py_tp_doc, "Counter(on_hot, *, threshold, call_weight, py_headroom, c_headroom): "
                "a sys.monitoring callback for PY_START and JUMP that counts hotness."},
    {Py_tp_new, Counter_new},
    {Py_tp_dealloc, Counter_dealloc},
    {Py_tp_traverse, Counter_traverse},
    {Py_tp_clear, Counter_clear},
    {Py_tp_call, PyVectorcall_Call},
    {Py_tp_methods, Counter_methods},
    {Py_tp_members, Counter_members},
    {0, NULL},
};

static PyType_Spec Counter_spec = {
    .name = "ember._hotness.Counter",
    .basicsize = sizeof(Counter),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL
             | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = Counter_slots,
};

static PyObject *
recursion_remaining(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    PyThreadState *tstate = PyThreadState_Get();
    return Py_BuildValue("(ii)", tstate->py_recursion_remaining, tstate->c_recursion_remaining);
}

static PyMethodDef module_methods[] = {
    {"recursion_remaining", recursion_remaining, METH_NOARGS,
     "recursion_remaining() -> (python frames, C recursion units) this thread has left."},
    {NULL},
};

static struct PyModuleDef hotness_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "ember._hotness",
    .m_doc = "Ember's hotness counter (a sys.monitoring callback written in C).",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC
PyInit__hotness(void)
{
    if (extra_index < 0) {
        extra_index = PyUnstable_Eval_RequestCodeExtraIndex(NULL);
        if (extra_index < 0) {
            PyErr_SetString(PyExc_RuntimeError, "no co_extra index left");
            return NULL;
        }
    }
    PyObject *m = PyModule_Create(&hotness_module);
    if (m == NULL) {
        return NULL;
    }
    PyObject *type = PyType_FromSpec(&Counter_spec);
    if (type == NULL || PyModule_AddObject(m, "Counter", type) < 0) {
        Py_XDECREF(type);
        Py_DECREF(m);
        return NULL;
    }
    if (PyModule_AddIntConstant(m, "VERSION", EMBER_HOTNESS_VERSION) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
