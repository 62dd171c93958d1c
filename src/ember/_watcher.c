/* The function watcher (ember._hotness.install, uninstall, take_events, ...; used by
 * ember.runtime.install): it puts compiled code on function objects
 * (PyFunction_SetVectorcall) and takes it off again. It is a PyFunction watcher written in C, so it runs no Python code: a tracer or profiler
 * never sees it, and it never runs Python at the arbitrary points where CPython calls
 * function watchers (a closure created, a function freed, `__code__` assigned). State:
 *   - `installed`: function address -> entry address, for the functions Ember installed
 *     code on (an open-addressing hash table; no reference to the function, so installing
 *     never keeps a function alive);
 *   - `events`: a log of (function address, code address, event) for installed functions
 *     that were modified or destroyed, in order; the runtime takes it later (for stats).
 * Per watcher event, in order:
 *   - CREATE, or no function installed at all: nothing (the common case; a few
 *     instructions).
 *   - a function not in `installed`: nothing.
 *   - MODIFY_CODE / MODIFY_DEFAULTS / MODIFY_KWDEFAULTS (called before the change; the
 *     compiled code assumed the old value): if its vectorcall is still the entry, put
 *     `_PyFunction_Vectorcall` back; forget the function; log the event with the code
 *     object it had (the old one).
 *   - DESTROY: forget the function (its address may be reused by a new function); log it.
 * So every address in `installed` is a live function, and `uninstall_all` may write to
 * each. The log grows by at most one record per install, and the runtime empties it at
 * each install and report.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "_native.h"

typedef struct {
    uintptr_t func;  /* 0: empty slot */
    uintptr_t entry;
} Slot;

typedef struct {
    uintptr_t func;
    uintptr_t code;
    int event;
} Event;

static Slot *installed = NULL;
static size_t installed_cap = 0; /* a power of two, or 0 */
static size_t installed_len = 0;
static Event *events = NULL;
static size_t events_len = 0, events_cap = 0;
static unsigned long long events_lost = 0; /* no memory to log an event */
static int watcher_id = -1;

int
ember_watcher_id(void)
{
    return watcher_id;
}

static size_t
slot_index(uintptr_t func)
{
    uintptr_t h = (func >> 4) * (uintptr_t)0x9E3779B97F4A7C15ULL;
    return (size_t)(h >> 17) & (installed_cap - 1);
}

static Slot *
slot_find(uintptr_t func)
{
    if (installed_len == 0) {
        return NULL;
    }
    for (size_t i = slot_index(func);; i = (i + 1) & (installed_cap - 1)) {
        if (installed[i].func == func) {
            return &installed[i];
        }
        if (installed[i].func == 0) {
            return NULL;
        }
    }
}

static void
slot_remove(Slot *slot)
{
    /* Backward-shift deletion: no tombstones, probes stay short. */
    size_t mask = installed_cap - 1;
    size_t i = (size_t)(slot - installed);
    for (size_t j = (i + 1) & mask; installed[j].func != 0; j = (j + 1) & mask) {
        size_t home = slot_index(installed[j].func);
        /* Move j into the hole at i unless its home lies cyclically in (i, j]. */
        if (((j - home) & mask) >= ((j - i) & mask)) {
            installed[i] = installed[j];
            i = j;
        }
    }
    installed[i].func = 0;
    installed[i].entry = 0;
    installed_len--;
}

static int
slot_put(uintptr_t func, uintptr_t entry)
{
    Slot *slot = slot_find(func);
    if (slot != NULL) {
        slot->entry = entry;
        return 0;
    }
    if ((installed_len + 1) * 2 > installed_cap) {
        size_t cap = installed_cap ? installed_cap * 2 : 64;
        Slot *table = PyMem_RawCalloc(cap, sizeof(Slot));
        if (table == NULL) {
            return -1;
        }
        Slot *old = installed;
        size_t old_cap = installed_cap;
        installed = table;
        installed_cap = cap;
        for (size_t k = 0; k < old_cap; k++) {
            if (old[k].func != 0) {
                size_t i = slot_index(old[k].func);
                while (installed[i].func != 0) {
                    i = (i + 1) & (cap - 1);
                }
                installed[i] = old[k];
            }
        }
        PyMem_RawFree(old);
    }
    size_t i = slot_index(func);
    while (installed[i].func != 0) {
        i = (i + 1) & (installed_cap - 1);
    }
    installed[i].func = func;
    installed[i].entry = entry;
    installed_len++;
    return 0;
}

static void
log_event(uintptr_t func, uintptr_t code, int event)
{
    if (events_len == events_cap) {
        size_t cap = events_cap ? events_cap * 2 : 16;
        Event *grown = PyMem_RawRealloc(events, cap * sizeof(Event));
        if (grown == NULL) {
            events_lost++;
            return;
        }
        events = grown;
        events_cap = cap;
    }
    events[events_len].func = func;
    events[events_len].code = code;
    events[events_len].event = event;
    events_len++;
}

static int
on_function_event(PyFunction_WatchEvent event, PyFunctionObject *func, PyObject *new_value)
{
    /* Runs inside CPython's function machinery: no Python code, no error set. */
    if (event == PyFunction_EVENT_CREATE || installed_len == 0) {
        return 0;
    }
    Slot *slot = slot_find((uintptr_t)func);
    if (slot == NULL) {
        return 0;
    }
    if (event != PyFunction_EVENT_DESTROY
        && (uintptr_t)func->vectorcall == slot->entry) {
        PyFunction_SetVectorcall(func, _PyFunction_Vectorcall);
    }
    slot_remove(slot);
    log_event((uintptr_t)func, (uintptr_t)func->func_code, (int)event);
    return 0;
}

PyObject *
ember_watch_install(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyFunction_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "install(function, entry_address)");
        return NULL;
    }
    PyFunctionObject *func = (PyFunctionObject *)args[0];
    uintptr_t entry = (uintptr_t)PyLong_AsVoidPtr(args[1]);
    if (entry == 0) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_ValueError, "entry address is 0");
        }
        return NULL;
    }
    if (func->vectorcall != _PyFunction_Vectorcall) {
        PyErr_Format(PyExc_RuntimeError, "%U does not use CPython's vectorcall",
                     func->func_qualname);
        return NULL;
    }
    if (watcher_id < 0) {
        int wid = PyFunction_AddWatcher(on_function_event);
        if (wid < 0) {
            return NULL;
        }
        watcher_id = wid;
    }
    if (slot_put((uintptr_t)func, entry) < 0) {
        return PyErr_NoMemory();
    }
    PyFunction_SetVectorcall(func, (vectorcallfunc)entry);
    Py_RETURN_NONE;
}

PyObject *
ember_watch_uninstall(PyObject *Py_UNUSED(module), PyObject *func)
{
    if (!PyFunction_Check(func)) {
        PyErr_SetString(PyExc_TypeError, "uninstall() expects a function");
        return NULL;
    }
    Slot *slot = slot_find((uintptr_t)func);
    if (slot == NULL) {
        Py_RETURN_FALSE;
    }
    if ((uintptr_t)((PyFunctionObject *)func)->vectorcall == slot->entry) {
        PyFunction_SetVectorcall((PyFunctionObject *)func, _PyFunction_Vectorcall);
    }
    slot_remove(slot);
    Py_RETURN_TRUE;
}

PyObject *
ember_watch_uninstall_all(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    /* Every function in the table is alive: DESTROY removes it first. */
    Py_ssize_t n = 0;
    for (size_t i = 0; i < installed_cap; i++) {
        if (installed[i].func != 0) {
            PyFunctionObject *func = (PyFunctionObject *)installed[i].func;
            if ((uintptr_t)func->vectorcall == installed[i].entry) {
                PyFunction_SetVectorcall(func, _PyFunction_Vectorcall);
            }
            installed[i].func = installed[i].entry = 0;
            n++;
        }
    }
    installed_len = 0;
    return PyLong_FromSsize_t(n);
}

PyObject *
ember_watch_clear(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    PyObject *n = ember_watch_uninstall_all(module, NULL);
    if (n == NULL) {
        return NULL;
    }
    Py_DECREF(n);
    if (watcher_id >= 0) {
        if (PyFunction_ClearWatcher(watcher_id) < 0) {
            return NULL;
        }
        watcher_id = -1;
    }
    Py_RETURN_NONE;
}

PyObject *
ember_watch_is_installed(PyObject *Py_UNUSED(module), PyObject *func)
{
    Slot *slot = slot_find((uintptr_t)func);
    return PyBool_FromLong(slot != NULL && PyFunction_Check(func)
                           && (uintptr_t)((PyFunctionObject *)func)->vectorcall
                                  == slot->entry);
}

PyObject *
ember_watch_installed_count(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    return PyLong_FromSize_t(installed_len);
}

PyObject *
ember_watch_vectorcall_of(PyObject *Py_UNUSED(module), PyObject *func)
{
    if (!PyFunction_Check(func)) {
        PyErr_SetString(PyExc_TypeError, "vectorcall_of() expects a function");
        return NULL;
    }
    return PyLong_FromVoidPtr((void *)((PyFunctionObject *)func)->vectorcall);
}

PyObject *
ember_watch_take_events(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    /* Build the list first, then empty the log: building allocates, which may run the
       GC, which may free installed functions and log more events. */
    size_t n = events_len;
    PyObject *list = PyList_New((Py_ssize_t)n);
    if (list == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        PyObject *item = Py_BuildValue("(NNi)", PyLong_FromVoidPtr((void *)events[i].func),
                                       PyLong_FromVoidPtr((void *)events[i].code),
                                       events[i].event);
        if (item == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, item);
    }
    /* Keep what was logged while building (from index n on). */
    memmove(events, events + n, (events_len - n) * sizeof(Event));
    events_len -= n;
    return list;
}

PyObject *
ember_watch_events_lost(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    return PyLong_FromUnsignedLongLong(events_lost);
}
