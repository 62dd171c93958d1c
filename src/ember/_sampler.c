/* ember._hotness.Sampler: which functions are worth counting, found by sampling the running
 * frames (why, and what it misses: runtime/sampler.py). Also the notes Ember keeps on code
 * objects.
 *
 * Nothing here runs Python code or creates an object the cycle collector tracks while it
 * samples. A program sees what Ember does between two of its bytecodes through
 * gc.get_objects(), gc.get_count() and the collections that allocations trigger (a test of
 * reference counts compares gc.get_objects() before and after); a sampler written in
 * Python (sys._current_frames() and its frame objects, weak references with lambda
 * callbacks, dicts) showed up there every few milliseconds. So, per sample:
 *
 *   - the thread states of this interpreter are walked under the runtime's HEAD_LOCK, as
 *     sys._current_frames() walks them, and each thread's innermost SAMPLE_DEPTH complete
 *     Python frames are read from its _PyInterpreterFrame chain (no frame object is
 *     made). Ember's own frames (under `own_dir`) are skipped on top of a thread, and end
 *     its walk below the program's frames (Ember called by the program).
 *   - a function seen there gets the counter's PY_START and JUMP events
 *     (sys.monitoring.set_local_events, called through vectorcall: no argument tuple, and
 *     the ints involved are small ones), and so do the functions it names as globals
 *     (co_names looked up in f_globals: only in a dict whose keys are all str, where a
 *     lookup compares no key with __eq__ and so runs no Python code).
 *   - that it did so is a note on the code object, in a co_extra slot of its own: a
 *     PyMem_RawMalloc'd node in a list (the list lets `stop` switch the events off again),
 *     freed with the code object by CPython (the slot's freefunc). No weak reference, no
 *     table keyed by id().
 *   - a function hot at a back-edge of its first call waits for its next call (the
 *     counter's `first_call_waits`); when a sample still finds that first call waiting
 *     FIRST_CALL_WAIT_MS after first finding it so, the code is marked hot (as
 *     Counter.mark does) and its events are switched off and on again, which revives the
 *     back-edges it DISABLEd: its next back-edge calls on_hot, on the thread and frame
 *     that runs it, at one of the program's own events rather than at the sample's
 *     arbitrary point.
 *
 * A Sampler is also the callback of the native thread of _replies.c (`watch`): at every
 * interval it samples, in C; when the compile server's reply pipe is readable, or at a
 * time the runtime asked for, it calls the runtime's `tick` (Python), quietly (_quiet.c).
 *
 * A Sampler is not tracked by the collector itself (made at the end of the warm-up, at an
 * arbitrary point): `stop` drops its references to the runtime, which are its only cycle.
 */

#define PY_SSIZE_T_CLEAN
#define Py_BUILD_CORE_MODULE 1
#include <Python.h>
#include <structmember.h>
#include <poll.h>
#include <time.h>

#include "internal/pycore_dict.h"
#include "internal/pycore_frame.h"
#include "internal/pycore_interp.h"
#include "internal/pycore_pystate.h"
#include "internal/pycore_runtime.h"

#include "_native.h"

#if !defined(EMBER_SAMPLE_MS) || !defined(EMBER_SAMPLE_DEPTH) \
    || !defined(EMBER_FIRST_CALL_WAIT_MS) || !defined(EMBER_MONITORING_TOOL)
#error "hatch_build.py passes defaults.py's settings as -DEMBER_..."
#endif

/* -- notes on code objects ------------------------------------------------------------ */

#define NOTE_SAMPLED 1u /* the sampler switched its events on */
#define NOTE_SMALL 2u   /* the counter marked it small, not yet handed back (small_codes) */

typedef struct note {
    PyObject *code; /* borrowed: the note is freed with the code object */
    struct note *prev, *next;
    long long waiting_since; /* when a sample first found its first call waiting; 0: not */
    unsigned flags;
} Note;

static Note notes = {NULL, &notes, &notes, 0, 0};
static Py_ssize_t note_index = -1;

/* The slot's freefunc: CPython calls it when the code object dies (NULL too, for a code
   object without a note), and when the slot is set again (drop_note). */
static void
free_note(void *p)
{
    Note *note = p;
    if (note == NULL) {
        return;
    }
    note->prev->next = note->next;
    note->next->prev = note->prev;
    PyMem_RawFree(note);
}

/* code's note; with `create`, made if it has none. NULL (no error set) if none or no
   memory. */
static Note *
note_of(PyObject *code, int create)
{
    void *p = NULL;
    if (PyUnstable_Code_GetExtra(code, note_index, &p) < 0) {
        PyErr_Clear();
        return NULL;
    }
    if (p != NULL || !create) {
        return p;
    }
    Note *note = PyMem_RawCalloc(1, sizeof *note);
    if (note == NULL) {
        return NULL;
    }
    note->code = code;
    note->prev = notes.prev;
    note->next = &notes;
    notes.prev->next = note;
    notes.prev = note;
    if (PyUnstable_Code_SetExtra(code, note_index, note) < 0) {
        PyErr_Clear();
        free_note(note);
        return NULL;
    }
    return note;
}

static void
drop_note(Note *note)
{
    if (PyUnstable_Code_SetExtra(note->code, note_index, NULL) < 0) { /* frees it */
        PyErr_Clear();
    }
}

int
ember_note_small(PyObject *code)
{
    Note *note = note_of(code, 1);
    if (note == NULL) {
        return -1;
    }
    note->flags |= NOTE_SMALL;
    return 0;
}

PyObject *
ember_notes_take_small(void)
{
    PyObject *out = PyList_New(0);
    Note *next;
    for (Note *note = notes.next; out != NULL && note != &notes; note = next) {
        next = note->next;
        if (!(note->flags & NOTE_SMALL)) {
            continue;
        }
        if (PyList_Append(out, note->code) < 0) {
            Py_CLEAR(out);
            break;
        }
        note->flags &= ~NOTE_SMALL;
        if (!note->flags) {
            drop_note(note);
        }
    }
    return out;
}

/* -- the sampler ------------------------------------------------------------------------ */

typedef struct {
    PyCodeObject *code;
    PyObject *globals;
} Seen;

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *counter;    /* the Counter whose first calls wait, or NULL */
    PyObject *own_dir;    /* frames of files under this directory are Ember's own */
    PyObject *set_events; /* sys.monitoring.set_local_events */
    PyObject *get_events; /* sys.monitoring.get_local_events */
    PyObject *tool;       /* Ember's tool id, an int */
    long events;          /* PY_START | JUMP */
    int sampling;
    long long interval_ns, next_ns;
    /* What the runtime waits for (`watch`): `tick` is called when fd is readable, and
       once at wake_ns (0: never). */
    PyObject *tick;
    int fd;
    long long wake_ns;
    unsigned long long samples;
    Seen *seen; /* the frames of one sample, reused */
    Py_ssize_t capacity;
} Sampler;

static long long
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int
is_own(Sampler *self, PyCodeObject *code)
{
    return self->own_dir != NULL && PyUnicode_Check(self->own_dir)
        && PyUnicode_Check(code->co_filename)
        && PyUnicode_Tailmatch(code->co_filename, self->own_dir, 0, PY_SSIZE_T_MAX, -1) == 1;
}

/* sys.monitoring.{get,set}_local_events(tool, code[, events]) for Ember's tool; -1 with an
   exception set on failure (ValueError once the tool is freed). */
static long
local_events(Sampler *self, PyObject *code)
{
    PyObject *args[2] = {self->tool, code};
    PyObject *res = PyObject_Vectorcall(self->get_events, args, 2, NULL);
    if (res == NULL) {
        return -1;
    }
    long events = PyLong_AsLong(res);
    Py_DECREF(res);
    return events;
}

static int
set_local_events(Sampler *self, PyObject *code, long events)
{
    PyObject *value = PyLong_FromLong(events); /* a small int: none is made */
    if (value == NULL) {
        return -1;
    }
    PyObject *args[3] = {self->tool, code, value};
    PyObject *res = PyObject_Vectorcall(self->set_events, args, 3, NULL);
    Py_DECREF(value);
    Py_XDECREF(res);
    return res != NULL ? 0 : -1;
}

/* Switch the counter's events on for code; -1 (nothing noted) if it cannot. */
static int
count(Sampler *self, PyObject *code)
{
    long events = local_events(self, code);
    if (events < 0 || set_local_events(self, code, events | self->events) < 0) {
        PyErr_Clear();
        return -1;
    }
    Note *note = note_of(code, 1);
    if (note != NULL) {
        note->flags |= NOTE_SAMPLED;
    }
    return 0;
}

static int
sampled(PyObject *code)
{
    Note *note = note_of(code, 0);
    return note != NULL && (note->flags & NOTE_SAMPLED);
}

/* A sample lands where the interpreter checks its eval breaker, at a loop's back-edge far
   more often than at the start of the small function the loop calls, which would be found
   late: the functions `code` names as globals are counted too. */
static void
count_callees(Sampler *self, PyCodeObject *code, PyObject *globals)
{
    if (globals == NULL || !PyDict_Check(globals)
        || !DK_IS_UNICODE(((PyDictObject *)globals)->ma_keys)) {
        return;
    }
    PyObject *names = code->co_names;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(names); i++) {
        PyObject *value = PyDict_GetItemWithError(globals, PyTuple_GET_ITEM(names, i));
        if (value == NULL) {
            PyErr_Clear();
            continue;
        }
        if (!Py_IS_TYPE(value, &PyFunction_Type)) {
            continue;
        }
        PyObject *callee = ((PyFunctionObject *)value)->func_code;
        if ((((PyCodeObject *)callee)->co_flags & CO_OPTIMIZED) && !sampled(callee)) {
            if (count(self, callee) < 0) {
                return;
            }
        }
    }
}

/* code, hot at a back-edge of its first call, still runs that call: decided once the
   call has gone on for FIRST_CALL_WAIT_MS since a sample first found it so. */
static void
first_call(Sampler *self, Note *note, PyObject *code)
{
    long long now = now_ns();
    if (note->waiting_since == 0) {
        note->waiting_since = now;
        return;
    }
    if (now - note->waiting_since < (long long)EMBER_FIRST_CALL_WAIT_MS * 1000000) {
        return;
    }
    note->waiting_since = 0;
    if (ember_counter_mark(self->counter, code) <= 0) {
        PyErr_Clear();
        return;
    }
    long events = local_events(self, code);
    if (events < 0 || set_local_events(self, code, 0) < 0
        || set_local_events(self, code, events | self->events) < 0) {
        PyErr_Clear();
    }
}

static void
visit(Sampler *self, PyCodeObject *code, PyObject *globals)
{
    PyObject *op = (PyObject *)code;
    Note *note = note_of(op, 0);
    if (note != NULL && (note->flags & NOTE_SAMPLED)) {
        if (self->counter != NULL && ember_counter_waiting(self->counter, op)) {
            first_call(self, note, op);
        }
        else {
            note->waiting_since = 0;
        }
        return;
    }
    if (count(self, op) == 0) {
        count_callees(self, code, globals);
    }
}

static int
grow(Sampler *self)
{
    Py_ssize_t capacity = self->capacity ? self->capacity * 2 : 32;
    Seen *seen = PyMem_RawRealloc(self->seen, (size_t)capacity * sizeof(Seen));
    if (seen == NULL) {
        return -1;
    }
    self->seen = seen;
    self->capacity = capacity;
    return 0;
}

static void
release(Sampler *self, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_DECREF(self->seen[i].code);
        Py_XDECREF(self->seen[i].globals);
    }
}

/* The frames to visit, in self->seen: their number, or -1 if they did not fit. Other
   threads' frames do not change while this one holds the GIL; the lock keeps the list of
   thread states still (a thread starting or ending may not hold the GIL), as in
   sys._current_frames(). Nothing is allocated while it is held. */
static Py_ssize_t
collect(Sampler *self, PyThreadState *me)
{
    Py_ssize_t n = 0;
    HEAD_LOCK(&_PyRuntime);
    for (PyThreadState *t = me->interp->threads.head; t != NULL; t = t->next) {
        int depth = 0;
        _PyInterpreterFrame *f =
            _PyFrame_GetFirstComplete(t->cframe != NULL ? t->cframe->current_frame : NULL);
        for (; f != NULL && depth < EMBER_SAMPLE_DEPTH;
             f = _PyFrame_GetFirstComplete(f->previous)) {
            if (f->owner == FRAME_OWNED_BY_CSTACK) {
                continue;
            }
            if (is_own(self, f->f_code)) {
                if (depth) {
                    break; /* a thread of Ember's, or Ember called by the program */
                }
                continue;
            }
            depth++;
            if (!(f->f_code->co_flags & CO_OPTIMIZED)) {
                continue;
            }
            if (n == self->capacity) {
                HEAD_UNLOCK(&_PyRuntime);
                release(self, n);
                return -1;
            }
            self->seen[n].code = (PyCodeObject *)Py_NewRef(f->f_code);
            self->seen[n].globals = Py_XNewRef(f->f_globals);
            n++;
        }
    }
    HEAD_UNLOCK(&_PyRuntime);
    return n;
}

static void
sample(Sampler *self)
{
    self->samples++;
    PyThreadState *me = PyThreadState_Get();
    Py_ssize_t n;
    while ((n = collect(self, me)) < 0) {
        if (grow(self) < 0) {
            return;
        }
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        visit(self, self->seen[i].code, self->seen[i].globals);
    }
    release(self, n);
}

static int
readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) > 0;
}

/* Have the native thread call this sampler at the next sample or at wake_ns, whichever
   comes first, and when fd is readable. */
static int
rearm(Sampler *self)
{
    long long wake = self->wake_ns;
    if (self->sampling && (wake == 0 || self->next_ns < wake)) {
        wake = self->next_ns;
    }
    if (self->fd < 0 && wake == 0) {
        PyObject *res = ember_replies_stop(NULL, NULL);
        Py_XDECREF(res);
        return res != NULL ? 0 : -1;
    }
    PyObject *fd = PyLong_FromLong(self->fd);
    PyObject *at = fd != NULL ? PyLong_FromLongLong(wake) : NULL;
    PyObject *res = NULL;
    if (at != NULL) {
        PyObject *args[3] = {fd, at, (PyObject *)self};
        res = ember_replies_watch(NULL, args, 3);
    }
    Py_XDECREF(fd);
    Py_XDECREF(at);
    Py_XDECREF(res);
    return res != NULL ? 0 : -1;
}

/* The native thread's callback: a sample when one is due; the runtime's tick when what it
   waits for has come (it watches again itself, or answers False: not now). */
static PyObject *
Sampler_call(PyObject *op, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Sampler *self = (Sampler *)op;
    if (PyVectorcall_NARGS(nargsf) != 0 || kwnames != NULL) {
        PyErr_SetString(PyExc_TypeError, "a Sampler is called with no arguments");
        return NULL;
    }
    long long now = now_ns();
    if (self->sampling && now >= self->next_ns) {
        sample(self);
        self->next_ns = now_ns() + self->interval_ns;
    }
    if (self->tick != NULL
        && ((self->fd >= 0 && readable(self->fd)) || (self->wake_ns && now >= self->wake_ns))) {
        self->wake_ns = 0;
        PyObject *tick = Py_NewRef(self->tick);
        PyObject *res = ember_quietly(tick, NULL, 0);
        Py_DECREF(tick);
        if (res == NULL) {
            /* It failed before watching again: watch as before, and let the native thread
               deal with the error (a KeyboardInterrupt goes back to the program). */
            PyObject *exc = PyErr_GetRaisedException();
            if (rearm(self) < 0) {
                PyErr_Clear();
            }
            PyErr_SetRaisedException(exc);
        }
        return res;
    }
    if (rearm(self) < 0) {
        return NULL;
    }
    Py_RETURN_TRUE;
}

static PyTypeObject *sampler_type = NULL;

static PyObject *
sampler_alloc(PyTypeObject *type, PyObject *counter)
{
    PyObject *monitoring = PySys_GetObject("monitoring"); /* borrowed */
    if (monitoring == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "sys.monitoring is missing");
        return NULL;
    }
    Sampler *self = PyObject_New(Sampler, type);
    if (self == NULL) {
        return NULL;
    }
    self->vectorcall = Sampler_call;
    self->counter = Py_XNewRef(counter);
    self->own_dir = NULL;
    self->tick = NULL;
    self->fd = -1;
    self->wake_ns = 0;
    self->samples = 0;
    self->seen = NULL;
    self->capacity = 0;
    self->sampling = 1;
    self->interval_ns = (long long)EMBER_SAMPLE_MS * 1000000;
    self->next_ns = 0;
    self->tool = PyLong_FromLong(EMBER_MONITORING_TOOL);
    self->set_events = PyObject_GetAttrString(monitoring, "set_local_events");
    self->get_events = PyObject_GetAttrString(monitoring, "get_local_events");
    self->events = -1;
    PyObject *events = PyObject_GetAttrString(monitoring, "events");
    if (events != NULL) {
        PyObject *a = PyObject_GetAttrString(events, "PY_START");
        PyObject *b = a != NULL ? PyObject_GetAttrString(events, "JUMP") : NULL;
        if (b != NULL) {
            self->events = PyLong_AsLong(a) | PyLong_AsLong(b);
        }
        Py_XDECREF(a);
        Py_XDECREF(b);
        Py_DECREF(events);
    }
    if (self->tool == NULL || self->set_events == NULL || self->get_events == NULL
        || PyErr_Occurred()) {
        Py_DECREF(self);
        return NULL;
    }
    if (counter != NULL) {
        ember_counter_set_waits(counter, 1);
    }
    return (PyObject *)self;
}

static PyObject *
Sampler_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"counter", "sampling", NULL};
    PyObject *counter = Py_None;
    int sampling = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O$p:Sampler", kwlist, &counter, &sampling)) {
        return NULL;
    }
    if (counter != Py_None && !ember_counter_check(counter)) {
        PyErr_SetString(PyExc_TypeError, "Sampler(counter): a Counter or None");
        return NULL;
    }
    Sampler *self = (Sampler *)sampler_alloc(type, counter != Py_None ? counter : NULL);
    if (self != NULL) {
        self->sampling = sampling;
    }
    return (PyObject *)self;
}

PyObject *
ember_sampler_new(PyObject *counter)
{
    if (sampler_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "ember._hotness is not initialised");
        return NULL;
    }
    return sampler_alloc(sampler_type, counter);
}

static void
Sampler_dealloc(Sampler *self)
{
    Py_CLEAR(self->counter);
    Py_CLEAR(self->own_dir);
    Py_CLEAR(self->set_events);
    Py_CLEAR(self->get_events);
    Py_CLEAR(self->tool);
    Py_CLEAR(self->tick);
    PyMem_RawFree(self->seen);
    PyTypeObject *tp = Py_TYPE(self);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static PyObject *
Sampler_sample(PyObject *op, PyObject *Py_UNUSED(ignored))
{
    sample((Sampler *)op);
    Py_RETURN_NONE;
}

int
ember_sampler_watch(PyObject *op, int fd, long long wake_ns, PyObject *tick)
{
    Sampler *self = (Sampler *)op;
    Py_XSETREF(self->tick, Py_XNewRef(tick));
    self->fd = tick != NULL ? fd : -1;
    self->wake_ns = tick != NULL ? wake_ns : 0;
    if (self->sampling && self->next_ns == 0) {
        self->next_ns = now_ns() + self->interval_ns;
    }
    return rearm(self);
}

/* watch(fd, wake_ns, tick): sample every interval (while `sampling`), and call tick()
   when fd is readable or at time.monotonic_ns() >= wake_ns (0: never; tick None: only
   sample). */
static PyObject *
Sampler_watch(PyObject *op, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || (args[2] != Py_None && !PyCallable_Check(args[2]))) {
        PyErr_SetString(PyExc_TypeError, "watch(fd, wake_ns, tick)");
        return NULL;
    }
    long fd = PyLong_AsLong(args[0]);
    long long wake = PyLong_AsLongLong(args[1]);
    if (PyErr_Occurred()) {
        return NULL;
    }
    if (ember_sampler_watch(op, (int)fd, wake, args[2] != Py_None ? args[2] : NULL) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* stop(): the events it switched on off again (3.12's free_tool_id leaves them on), the
   counter's first calls no longer wait, no tick. The native thread is the caller's. */
static PyObject *
Sampler_stop(PyObject *op, PyObject *Py_UNUSED(ignored))
{
    Sampler *self = (Sampler *)op;
    /* One that never sampled (the runtime's waker) switched nothing on. */
    int sampler = self->sampling || self->samples;
    int tool_in_use = 1;
    Note *next;
    for (Note *note = sampler ? notes.next : &notes; note != &notes; note = next) {
        next = note->next;
        if (!(note->flags & NOTE_SAMPLED)) {
            continue;
        }
        if (tool_in_use && set_local_events(self, note->code, 0) < 0) {
            PyErr_Clear();
            tool_in_use = 0; /* freed already: nothing more to switch off */
        }
        note->flags &= ~NOTE_SAMPLED;
        note->waiting_since = 0;
        if (!note->flags) {
            drop_note(note);
        }
    }
    if (self->counter != NULL) {
        ember_counter_set_waits(self->counter, 0);
        Py_CLEAR(self->counter);
    }
    self->sampling = 0;
    self->fd = -1;
    self->wake_ns = 0;
    Py_CLEAR(self->tick);
    Py_RETURN_NONE;
}

/* counted() -> [code]: the code objects whose events the sampler switched on. */
static PyObject *
Sampler_counted(PyObject *Py_UNUSED(op), PyObject *Py_UNUSED(ignored))
{
    PyObject *out = PyList_New(0);
    for (Note *note = notes.next; out != NULL && note != &notes; note = note->next) {
        if ((note->flags & NOTE_SAMPLED) && PyList_Append(out, note->code) < 0) {
            Py_CLEAR(out);
        }
    }
    return out;
}

static PyObject *
Sampler_get_own_dir(PyObject *op, void *Py_UNUSED(closure))
{
    Sampler *self = (Sampler *)op;
    return Py_NewRef(self->own_dir != NULL ? self->own_dir : Py_None);
}

static int
Sampler_set_own_dir(PyObject *op, PyObject *value, void *Py_UNUSED(closure))
{
    Sampler *self = (Sampler *)op;
    if (value != NULL && value != Py_None && !PyUnicode_Check(value)) {
        PyErr_SetString(PyExc_TypeError, "own_dir: a str or None");
        return -1;
    }
    Py_XSETREF(self->own_dir, value != NULL && value != Py_None ? Py_NewRef(value) : NULL);
    return 0;
}

static PyGetSetDef Sampler_getset[] = {
    {"own_dir", Sampler_get_own_dir, Sampler_set_own_dir,
     "Frames of files under this directory (a str ending in '/') are Ember's own.", NULL},
    {NULL},
};

static PyMethodDef Sampler_methods[] = {
    {"sample", Sampler_sample, METH_NOARGS, "sample(): one sample, now."},
    {"watch", (PyCFunction)(void (*)(void))Sampler_watch, METH_FASTCALL,
     "watch(fd, wake_ns, tick): sample every interval on the native thread's request, and "
     "call tick() (quietly) when fd is readable or at wake_ns (0: never)."},
    {"stop", Sampler_stop, METH_NOARGS,
     "stop(): switch off the events it switched on; no more waits, samples or ticks."},
    {"counted", Sampler_counted, METH_NOARGS,
     "counted() -> [code]: the code objects whose events it switched on."},
    {NULL},
};

static PyMemberDef Sampler_members[] = {
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(Sampler, vectorcall), READONLY, NULL},
    {"samples", T_ULONGLONG, offsetof(Sampler, samples), READONLY, NULL},
    {"sampling", T_INT, offsetof(Sampler, sampling), 0, NULL},
    {"interval_ns", T_LONGLONG, offsetof(Sampler, interval_ns), 0, NULL},
    {NULL},
};

static PyType_Slot Sampler_slots[] = {
    {Py_tp_doc, "Sampler(counter=None, *, sampling=True): switches the counter's events on "
                "for the functions it finds running (see _sampler.c)."},
    {Py_tp_new, Sampler_new},
    {Py_tp_dealloc, Sampler_dealloc},
    {Py_tp_call, PyVectorcall_Call},
    {Py_tp_methods, Sampler_methods},
    {Py_tp_members, Sampler_members},
    {Py_tp_getset, Sampler_getset},
    {0, NULL},
};

/* Not Py_TPFLAGS_HAVE_GC: see the header. */
static PyType_Spec Sampler_spec = {
    .name = "ember._hotness.Sampler",
    .basicsize = sizeof(Sampler),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = Sampler_slots,
};

PyObject *
ember_sampler_type(void)
{
    if (note_index < 0) {
        note_index = PyUnstable_Eval_RequestCodeExtraIndex(free_note);
        if (note_index < 0) {
            PyErr_SetString(PyExc_RuntimeError, "no co_extra index left");
            return NULL;
        }
    }
    PyObject *type = PyType_FromSpec(&Sampler_spec);
    if (type != NULL && sampler_type == NULL) {
        sampler_type = (PyTypeObject *)Py_NewRef(type); /* kept for the C start's sampler */
    }
    return type;
}
