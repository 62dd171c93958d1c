/* ember._hotness.Counter: the hotness counter, in C so that counting never pushes a Python
 * frame.
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
 *   - a code object already decided, or marked small (below): DISABLE.
 *   - otherwise add the event's weight (call_weight for PY_START, 1 for a back-edge) to
 *     the count; below `threshold`: return None (counting goes on, no Python code ran).
 *   - at or above `threshold` at a back-edge of code whose calls were seen starting at
 *     most once, while `first_call_waits` is set (a sampler runs): DISABLE that location,
 *     and leave the decision to the code's next call (PY_START), or to the sampler when
 *     it still finds that first call running a while later (it marks the code hot, as
 *     `mark` does, and switches its back-edges on again: _sampler.c). Without
 *     on-stack replacement, code compiled now could only run from its next call anyway,
 *     and a function called once (a program's main loop) is never called again:
 *     compiling it as soon as it got hot would be paid for (the runtime, the compile
 *     server, LLVM) and often never used. Counted in `at_next_call`.
 *   - at or above `threshold` at the call (PY_START) of a small function (at most
 *     SMALL_UNITS code units, no loop), while `first_call_waits` is set, when the caller
 *     is a frame of the interpreter's own (no C frame in between) running a function with
 *     no compiled code: the code is marked small, not decided, and its events return
 *     DISABLE. CPython's interpreter pushes the frame of such a call inline; installing
 *     compiled code (PyFunction_SetVectorcall) would turn every such call into a C call
 *     through the vectorcall protocol, which costs a small function more than compiling
 *     saves (a one-line function called 300,000 times from an interpreted loop: 17.2 ms
 *     compiled, 15.5 ms interpreted). Compiled callers call compiled code directly, so
 *     when compiled code is installed the runtime takes the small codes back
 *     (`small_codes`: noted on the code object, _sampler.c, not in a list of weak
 *     references) and they are counted again, from zero. Counted in `smalls`.
 *   - otherwise, at or above `threshold`: call on_hot(code, seen), where seen is
 *     (function, argument types) read from the frame that fired the event (the callee
 *     starting, or the looping frame), or None if that frame has no function object for
 *     code; but only when this thread has room for the compiler's own frames
 *     (py_headroom Python frames, c_headroom C recursion units) and no other hook call is
 *     running (another thread may get here while the compiler has released the GIL).
 *     Otherwise return None and try again at the next event of that code. The hook runs
 *     quietly (_sampler.c: no collection triggered, gc.get_count() as it was), and no
 *     frame object is made for it: the running frame would keep one until it returns, an
 *     object the program sees in gc.get_objects(). `seen` and its types are not tracked
 *     by the collector either, so a runtime that keeps them until a reply comes adds
 *     nothing there.
 *   - on_hot returns sys.monitoring.DISABLE once it decided (compiled or refused): the
 *     code is marked decided, and every later event of it returns DISABLE. An int
 *     means "its compile is under way elsewhere": the code is marked pending and its
 *     events are switched off (its calls and loops run free) until the runtime decides
 *     it (`decide`, when the reply came: see _replies.c). Any other result means "not
 *     now": the count starts again from zero.
 *   - if on_hot raises (it should not: the driver catches everything), the error is
 *     cleared and counted in `errors`, and the code is marked decided. Signals' Python
 *     handlers do not run inside the hook (_quiet.c): one that arrives meanwhile runs
 *     at the program's next eval-breaker check, right after the hook at a PY_START, and
 *     its exception reaches the program as without Ember. A KeyboardInterrupt raised in
 *     the hook all the same is not lost: SIGINT is re-tripped (PyErr_SetInterrupt).
 *
 * Re-entrancy: CPython sets tstate->tracing while any monitoring callback runs, so code
 * that on_hot runs (the compiler, the standard library it uses) fires no events on this
 * thread; `busy` covers other threads.
 *
 * `Counter.mark(code)` makes code hot at once: its next event calls on_hot (ember.jit).
 *
 * The module around it (the frame reader, the native symbols, the init) is _hotness.c; the
 * function watcher that puts compiled code on function objects is in _watcher.c.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <opcode.h>
#include "_native.h"
/* The frame layout, for called_inline and the hook's frame: compiled against this
   interpreter's own headers, so it is the layout of the interpreter that loads this
   module. */
#define Py_BUILD_CORE 1
#include "internal/pycore_frame.h"
#undef Py_BUILD_CORE

/* The co_extra value of a code object that on_hot decided about. */
#define DECIDED ((uintptr_t)-1)
/* ... and of one whose compile is under way elsewhere (on_hot answered an int). */
#define PENDING ((uintptr_t)-2)
/* ... and of a small function hot while only interpreted callers called it. */
#define SMALL ((uintptr_t)-3)
/* Small: code units (instructions and their inline caches) of the bytecode. */
#define SMALL_UNITS 32
/* Below those, a co_extra value is the count in units, and in STARTS_SHIFT and up how many
   PY_STARTs of the code were seen (0, 1, or 2 for more). The count stays below 2**41
   (threshold <= 2**40, weights <= 2**20), so the two never meet, nor reach DECIDED. */
#define STARTS_SHIFT 56
#define STARTS_MASK ((uintptr_t)3 << STARTS_SHIFT)
#define ONE_START ((uintptr_t)1 << STARTS_SHIFT)
#define MANY_STARTS ((uintptr_t)2 << STARTS_SHIFT)
/* Ember's sys.monitoring tool (OPTIMIZER_ID). */
#define OWN_TOOL 5

static Py_ssize_t extra_index = -1;
static PyTypeObject *counter_type = NULL;

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
    /* Set while a sampler looks at the running frames (_sampler.c): only then is a
       function hot at a back-edge of its first call left to its next call, since only
       then can the sampler have it decided sooner when that first call goes on;
       otherwise it is decided at once, as any hot code. */
    int first_call_waits;
    /* Code objects marked pending (their compile is under way elsewhere). */
    long pending;
    /* Statistics, for tests, stats and measurements. */
    unsigned long long events;   /* callbacks received */
    unsigned long long hooks;    /* on_hot calls */
    unsigned long long deferred; /* hot, but no headroom or busy: tried again later */
    unsigned long long at_next_call; /* hot at a back-edge: decided at the next call */
    unsigned long long errors;   /* on_hot raised */
    unsigned long long smalls;   /* small functions left to the interpreter's inlined calls */
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

/* on_hot(code, seen) and what its answer means for code. */
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
    EmberQuiet quiet;
    ember_quiet_begin(&quiet);
    PyThreadState *tstate = PyThreadState_Get();
    PyObject *seen = ember_frame_seen(
        _PyFrame_GetFirstComplete(tstate->cframe->current_frame), code, 1);
    if (seen == NULL) {
        PyErr_Clear();
        seen = Py_NewRef(Py_None);
    }
    PyObject *args[2] = {code, seen};
    /* The hook may unregister this counter (Runtime.stop), dropping CPython's reference
       to it: keep it and the hook alive for the call. */
    PyObject *on_hot = Py_NewRef(self->on_hot);
    self->busy = 1;
    self->hooks++;
    PyObject *res = PyObject_Vectorcall(on_hot, args, 2, NULL);
    self->busy = 0;
    Py_DECREF(on_hot);
    Py_DECREF(seen);
    ember_quiet_end(&quiet);
    void *now = NULL;
    if (PyUnstable_Code_GetExtra(code, extra_index, &now) < 0) {
        PyErr_Clear();
    }
    uintptr_t state = (uintptr_t)now;
    if (res == NULL) {
        self->errors++;
        int interrupted = PyErr_ExceptionMatches(PyExc_KeyboardInterrupt);
        PyErr_Clear();
        if (interrupted) {
            PyErr_SetInterrupt();
        }
        res = Py_NewRef(self->disable);
    }
    if (res == self->disable || state == DECIDED) {
        /* Decided (here, or meanwhile by on_reply / decide()). */
        Py_DECREF(res);
        if (state == PENDING) {
            self->pending--;
        }
        set_units(code, DECIDED);
        return Py_NewRef(self->disable);
    }
    if (PyLong_CheckExact(res)) {
        /* An int: its compile is under way elsewhere. Its events are switched off (this
           one now, the others at their next firing): its calls and loops run free; the
           reply is noticed by the thread of _replies.c. */
        Py_DECREF(res);
        if (state != PENDING) {
            self->pending++;
            set_units(code, PENDING);
        }
        return Py_NewRef(self->disable);
    }
    Py_DECREF(res);
    if (state != PENDING) {
        set_units(code, 0);
    }
    Py_RETURN_NONE;
}

/* Whether the frame that fired this PY_START was pushed by the interpreter for a call in
   its own loop (the frame below it is a Python frame, not the entry frame of a call from
   C: from compiled code, a C function or a vectorcall), by a function with no compiled
   code (one that has some is compiled for its next calls, which will call directly). */
static int
called_inline(void)
{
    PyThreadState *tstate = PyThreadState_Get();
    _PyInterpreterFrame *frame = tstate->cframe->current_frame;
    _PyInterpreterFrame *caller = frame != NULL ? frame->previous : NULL;
    if (caller == NULL || caller->owner == FRAME_OWNED_BY_CSTACK) {
        return 0;
    }
    PyObject *func = caller->f_funcobj;
    return func == NULL || !PyFunction_Check(func)
        || ((PyFunctionObject *)func)->vectorcall == _PyFunction_Vectorcall;
}

/* Small: at most SMALL_UNITS code units and no loop (a back-edge is work a compile saves
   on each call). */
static int
is_small(PyObject *code)
{
    if (Py_SIZE(code) > SMALL_UNITS) {
        return 0;
    }
    PyObject *bytes = PyCode_GetCode((PyCodeObject *)code); /* base opcodes */
    if (bytes == NULL) {
        PyErr_Clear();
        return 0;
    }
    const _Py_CODEUNIT *units = (const _Py_CODEUNIT *)PyBytes_AS_STRING(bytes);
    Py_ssize_t n = PyBytes_GET_SIZE(bytes) / (Py_ssize_t)sizeof(_Py_CODEUNIT);
    int small = 1;
    for (Py_ssize_t i = 0; i < n && small; i++) {
        int op = units[i].op.code;
        small = op != JUMP_BACKWARD && op != JUMP_BACKWARD_NO_INTERRUPT;
    }
    Py_DECREF(bytes);
    return small;
}

static PyObject *
mark_small(Counter *self, PyObject *code)
{
    if (ember_note_small(code) < 0 || set_units(code, SMALL) < 0) {
        PyErr_Clear();
        return NULL;
    }
    self->smalls++;
    return Py_NewRef(self->disable);
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
    uintptr_t state = (uintptr_t)extra;
    if (state == DECIDED || state == SMALL) {
        return Py_NewRef(self->disable);
    }
    if (state == 0) {
        /* The first event of this code (or the first since it was counted again): the
           instrumentation that brought it here took its superinstructions away. */
        ember_fuse_superinstructions(code, OWN_TOOL);
    }
    if (state == PENDING) {
        return Py_NewRef(self->disable);  /* its calls and loops run free meanwhile */
    }
    uintptr_t starts = state & STARTS_MASK;
    uintptr_t units = state & ~STARTS_MASK;
    if (nargs == 2 && starts != MANY_STARTS) {
        starts += ONE_START;
    }
    int crossing = units < self->threshold;
    if (crossing || nargs == 2) {
        if (crossing) {
            units += weight; /* no overflow: threshold and weights are far below 2**41 */
        }
        if (set_units(code, starts | units) < 0 || units < self->threshold) {
            Py_RETURN_NONE;
        }
    }
    if (nargs == 3 && starts != MANY_STARTS && self->first_call_waits) {
        /* Its other back-edges, hot already, are switched off as they fire. */
        self->at_next_call += crossing;
        return Py_NewRef(self->disable);
    }
    if (nargs == 2 && self->first_call_waits && called_inline() && is_small(code)) {
        PyObject *res = mark_small(self, code);
        if (res != NULL) {
            return res;
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

/* The co_extra value of `code` for the Counter methods below (`method` names the one
   asking, for its TypeError); -1 with an exception set if code is not a code object. */
static int
code_state(PyObject *code, const char *method, uintptr_t *state)
{
    if (!PyCode_Check(code)) {
        PyErr_Format(PyExc_TypeError, "%s() expects a code object", method);
        return -1;
    }
    void *extra = NULL;
    if (PyUnstable_Code_GetExtra(code, extra_index, &extra) < 0) {
        return -1;
    }
    *state = (uintptr_t)extra;
    return 0;
}

static PyObject *
Counter_count(PyObject *Py_UNUSED(self), PyObject *code)
{
    uintptr_t state;
    if (code_state(code, "count", &state) < 0) {
        return NULL;
    }
    if (state == DECIDED || state == SMALL) {
        return PyLong_FromLong(-1);
    }
    return PyLong_FromSize_t((size_t)(state == PENDING ? state : state & ~STARTS_MASK));
}

/* forget and decide: the code's state becomes `state` (NULL: none, counted afresh); a
   compile it was pending for is over. */
static PyObject *
settle(Counter *self, PyObject *code, const char *method, void *state)
{
    uintptr_t old;
    if (code_state(code, method, &old) < 0) {
        return NULL;
    }
    if (old == PENDING) {
        self->pending--;
    }
    if (PyUnstable_Code_SetExtra(code, extra_index, state) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
Counter_forget(PyObject *op, PyObject *code)
{
    return settle((Counter *)op, code, "forget", NULL);
}

static int
is_waiting(Counter *self, uintptr_t state)
{
    return state != DECIDED && state != PENDING && state != SMALL
        && (state & STARTS_MASK) != MANY_STARTS && (state & ~STARTS_MASK) >= self->threshold;
}

int
ember_counter_mark(PyObject *op, PyObject *code)
{
    Counter *self = (Counter *)op;
    uintptr_t state;
    if (code_state(code, "mark", &state) < 0) {
        return -1;
    }
    if (state == DECIDED) {
        return 0;
    }
    /* As if called many times already: its next event, a back-edge too, calls on_hot. */
    if (PyUnstable_Code_SetExtra(code, extra_index,
                                 (void *)(MANY_STARTS | (uintptr_t)self->threshold)) < 0) {
        return -1;
    }
    return 1;
}

static PyObject *
Counter_mark(PyObject *op, PyObject *code)
{
    int marked = ember_counter_mark(op, code);
    return marked < 0 ? NULL : PyBool_FromLong(marked);
}

int
ember_counter_waiting(PyObject *op, PyObject *code)
{
    void *extra = NULL;
    if (PyUnstable_Code_GetExtra(code, extra_index, &extra) < 0) {
        PyErr_Clear();
        return 0;
    }
    return is_waiting((Counter *)op, (uintptr_t)extra);
}

void
ember_counter_set_waits(PyObject *op, int waits)
{
    ((Counter *)op)->first_call_waits = waits;
}

int
ember_counter_check(PyObject *op)
{
    return counter_type != NULL && Py_IS_TYPE(op, counter_type);
}

static PyObject *
Counter_decide(PyObject *op, PyObject *code)
{
    return settle((Counter *)op, code, "decide", (void *)DECIDED);
}

/* small_codes() -> list: the live code objects marked small since the last call, each
   counted again from zero; the caller switches their events back on. */
static PyObject *
Counter_small_codes(PyObject *Py_UNUSED(op), PyObject *Py_UNUSED(ignored))
{
    PyObject *noted = ember_notes_take_small();
    PyObject *out = noted != NULL ? PyList_New(0) : NULL;
    if (out == NULL) {
        Py_XDECREF(noted);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(noted); i++) {
        PyObject *code = PyList_GET_ITEM(noted, i);
        uintptr_t state;
        if (code_state(code, "small_codes", &state) < 0 || state != SMALL) {
            PyErr_Clear();
            continue; /* decided meanwhile */
        }
        /* Counted afresh rather than hot at once: the call that made it small may still be
           running interpreted around the next calls, while the new compiled code will
           make the calls that count from now on. */
        if (PyUnstable_Code_SetExtra(code, extra_index, (void *)MANY_STARTS) < 0
            || PyList_Append(out, code) < 0) {
            Py_DECREF(noted);
            Py_DECREF(out);
            return NULL;
        }
    }
    Py_DECREF(noted);
    return out;
}

/* waiting(code): hot at a back-edge of its first call, left to its next call. */
static PyObject *
Counter_waiting(PyObject *op, PyObject *code)
{
    uintptr_t state;
    if (code_state(code, "waiting", &state) < 0) {
        return NULL;
    }
    return PyBool_FromLong(is_waiting((Counter *)op, state));
}

static PyMethodDef Counter_methods[] = {
    {"waiting", (PyCFunction)Counter_waiting, METH_O,
     "waiting(code): code got hot at a back-edge of its first call and waits for its "
     "next call (or for the sampler)."},
    {"decide", (PyCFunction)Counter_decide, METH_O,
     "decide(code): the JIT decided about code (elsewhere than in its own hook): its "
     "next event returns DISABLE without calling on_hot."},
    {"mark", (PyCFunction)Counter_mark, METH_O,
     "mark(code): make code hot now (its next event calls on_hot); False if already "
     "decided."},
    {"small_codes", (PyCFunction)Counter_small_codes, METH_NOARGS,
     "small_codes() -> list: the code objects marked small since the last call, counted "
     "again from zero; switch their events back on."},
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
    {"at_next_call", T_ULONGLONG, offsetof(Counter, at_next_call), READONLY, NULL},
    {"first_call_waits", T_INT, offsetof(Counter, first_call_waits), 0, NULL},
    {"errors", T_ULONGLONG, offsetof(Counter, errors), READONLY, NULL},
    {"smalls", T_ULONGLONG, offsetof(Counter, smalls), READONLY, NULL},
    {"pending", T_LONG, offsetof(Counter, pending), READONLY, NULL},
    {NULL},
};

static PyType_Slot Counter_slots[] = {
    {Py_tp_doc, "Counter(on_hot, *, threshold, call_weight, py_headroom, c_headroom): "
                "a sys.monitoring callback for PY_START and JUMP that counts hotness; "
                "on_hot(code, seen) is called once code is hot."},
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

/* The Counter type, made once per module: it requests the co_extra slot the counts live in. */
PyObject *
ember_counter_type(void)
{
    if (extra_index < 0) {
        extra_index = PyUnstable_Eval_RequestCodeExtraIndex(NULL);
        if (extra_index < 0) {
            PyErr_SetString(PyExc_RuntimeError, "no co_extra index left");
            return NULL;
        }
    }
    PyObject *type = PyType_FromSpec(&Counter_spec);
    if (type != NULL && counter_type == NULL) {
        counter_type = (PyTypeObject *)Py_NewRef(type);
    }
    return type;
}
