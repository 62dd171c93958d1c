/* ember._hotness: the module of Ember's C. The counter is its `Counter` (_counter.c), the
 * sampler its `Sampler` (_sampler.c); here are the module's own functions (reading a
 * frame's function and argument types, keeping profiles on code objects, the addresses of
 * the C that compiled code calls, preloading a library) and its init, which adds the
 * functions of the other files (_start.c, _replies.c, _loader.c, ...).
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <dlfcn.h>
#include "_native.h"
/* The frame layout, for ember_frame_seen: compiled against this interpreter's own
   headers, so it is the layout of the interpreter that loads this module. */
#define Py_BUILD_CORE 1
#include "internal/pycore_frame.h"
#undef Py_BUILD_CORE

/* Bumped whenever the Python side must change with this module or the counter
   (ember.runtime.hotness checks). */
#define EMBER_HOTNESS_VERSION 14

/* (function, argument types) of the _PyInterpreterFrame `frame` running `code`: the
   function object and the type of each of its parameters' slots (None if unbound), read
   without taking a reference to anything else and without ctypes, so the hook on the
   program's thread costs microseconds; None if the frame has no function object for
   `code`. With `untracked`, neither tuple is tracked by the collector (the hook's: the
   runtime may keep them until a compile's reply comes, which must not change what
   gc.get_objects() finds then; they hold only a function and types, which other
   references keep alive). */
PyObject *
ember_frame_seen(void *frame, PyObject *code, int untracked)
{
    _PyInterpreterFrame *f = frame;
    PyObject *func = f != NULL && f->owner != FRAME_OWNED_BY_CSTACK ? f->f_funcobj : NULL;
    if (func == NULL || (PyObject *)f->f_code != code || !PyFunction_Check(func)
            || ((PyFunctionObject *)func)->func_code != code) {
        Py_RETURN_NONE;
    }
    PyCodeObject *co = f->f_code;
    Py_ssize_t n = co->co_argcount + co->co_kwonlyargcount;
    PyObject *types = PyTuple_New(n);
    if (types == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *value = f->localsplus[i];
        PyTuple_SET_ITEM(types, i,
                         Py_NewRef(value != NULL ? (PyObject *)Py_TYPE(value) : Py_None));
    }
    PyObject *res = PyTuple_Pack(2, func, types);
    if (res != NULL && untracked) {
        PyObject_GC_UnTrack(types);
        PyObject_GC_UnTrack(res);
    }
    Py_DECREF(types);
    return res;
}

/* frame_function(frame) -> (function, argument types) or None, for a frame object. */
static PyObject *
frame_function(PyObject *Py_UNUSED(module), PyObject *frame)
{
    if (!PyFrame_Check(frame)) {
        PyErr_SetString(PyExc_TypeError, "frame_function() expects a frame");
        return NULL;
    }
    _PyInterpreterFrame *f = ((PyFrameObject *)frame)->f_frame;
    return f != NULL ? ember_frame_seen(f, (PyObject *)f->f_code, 0) : Py_NewRef(Py_None);
}

/* Profiles (runtime/profile.py) are kept on their code object, in a co_extra slot of their
   own holding a bytes object, which CPython drops with the code object: no weak reference,
   no table keyed by id(), and nothing the collector tracks (a profile is recorded on the
   program's thread when a function gets hot). */
static Py_ssize_t profile_index = -1;

/* CPython calls it for every code object that dies, with NULL where none was kept. */
static void
drop_profile(void *blob)
{
    Py_XDECREF((PyObject *)blob);
}

/* profile_put(code, blob): keep `blob` (bytes) as code's profile. */
static PyObject *
profile_put(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyCode_Check(args[0]) || !PyBytes_CheckExact(args[1])) {
        PyErr_SetString(PyExc_TypeError, "profile_put(code, bytes)");
        return NULL;
    }
    if (PyUnstable_Code_SetExtra(args[0], profile_index, Py_NewRef(args[1])) < 0) {
        Py_DECREF(args[1]);
        return NULL;
    }
    Py_RETURN_NONE;
}

/* profile_get(code) -> bytes or None. */
static PyObject *
profile_get(PyObject *Py_UNUSED(module), PyObject *code)
{
    void *blob = NULL;
    if (!PyCode_Check(code)) {
        PyErr_SetString(PyExc_TypeError, "profile_get(code)");
        return NULL;
    }
    if (PyUnstable_Code_GetExtra(code, profile_index, &blob) < 0) {
        return NULL;
    }
    return Py_NewRef(blob != NULL ? (PyObject *)blob : Py_None);
}

/* untrack(record) -> record: the record (a tuple), and the tuples and weak references
   (without a callback) in it, recursively, no longer tracked by the cycle collector. For
   what the runtime keeps from a hook until a compile's reply: made at one of the program's
   events, freed when the reply is installed, at an arbitrary point of the program, where
   gc.get_objects() would find them gone. They are in no cycle (a tuple of a code object,
   a weak reference, ints, and types that other references keep alive), and these types
   untrack themselves with PyObject_GC_UnTrack when freed, which allows it. */
static void
untrack_record(PyObject *op, int depth)
{
    if (PyTuple_CheckExact(op)) {
        if (depth > 8) {
            return;
        }
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(op); i++) {
            untrack_record(PyTuple_GET_ITEM(op, i), depth + 1);
        }
        PyObject_GC_UnTrack(op);
    }
    else if (PyWeakref_CheckRefExact(op)
             && ((PyWeakReference *)op)->wr_callback == NULL) {
        PyObject_GC_UnTrack(op);
    }
}

static PyObject *
untrack(PyObject *Py_UNUSED(module), PyObject *record)
{
    untrack_record(record, 0);
    return Py_NewRef(record);
}

static PyObject *
recursion_remaining(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    PyThreadState *tstate = PyThreadState_Get();
    return Py_BuildValue("(ii)", tstate->py_recursion_remaining, tstate->c_recursion_remaining);
}

/* preload(path): dlopen a shared library with the GIL released, so that a later
   ctypes.CDLL(path) (llvmlite loading its 50 MB libllvmlite) finds it loaded instead of
   mapping and relocating it while holding the GIL, a pause of ~100 ms for the program
   when a background compile starts. Same mode as ctypes (RTLD_NOW | RTLD_LOCAL); the
   library stays loaded. */
static PyObject *
preload(PyObject *module, PyObject *arg)
{
    PyObject *bytes = NULL;
    if (!PyUnicode_FSConverter(arg, &bytes)) {
        return NULL;
    }
    const char *path = PyBytes_AS_STRING(bytes);
    void *handle;
    Py_BEGIN_ALLOW_THREADS
    handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    Py_END_ALLOW_THREADS
    Py_DECREF(bytes);
    if (handle == NULL) {
        const char *why = dlerror();
        PyErr_SetString(PyExc_OSError, why != NULL ? why : "dlopen failed");
        return NULL;
    }
    Py_RETURN_NONE;
}

/* native_symbols() -> {symbol name: address}: the C functions compiled code calls
   (_caches.c), under the names the compiler declares them by (ember.backend.capi). */
static PyObject *
native_symbols(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    static const struct { const char *name; void *address; } table[] = {
        {"ember.c.load_attr", (void *)ember_load_attr},
        {"ember.c.store_attr", (void *)ember_store_attr},
        {"ember.c.load_method", (void *)ember_load_method},
        {"ember.c.call", (void *)ember_call},
        {"ember.c.call_failed", (void *)ember_call_failed},
    };
    static int ready = 0;
    if (!ready) {
        if (ember_calls_init() < 0) {
            return NULL;
        }
        ready = 1;
    }
    PyObject *out = PyDict_New();
    for (size_t i = 0; out != NULL && i < sizeof(table) / sizeof(table[0]); i++) {
        PyObject *address = PyLong_FromVoidPtr(table[i].address);
        if (address == NULL || PyDict_SetItemString(out, table[i].name, address) < 0) {
            Py_XDECREF(address);
            Py_CLEAR(out);
            break;
        }
        Py_DECREF(address);
    }
    return out;
}

/* register_direct(entry, body, native_calls, argcount): calls of functions whose
   vectorcall is `entry`, with argcount positional arguments, may run `body` directly
   (_calls.c). */
static PyObject *
register_direct(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "register_direct(entry, body, native_calls, argcount)");
        return NULL;
    }
    uintptr_t v[3];
    for (int i = 0; i < 3; i++) {
        v[i] = (uintptr_t)PyLong_AsVoidPtr(args[i]);
        if (v[i] == 0) {
            if (!PyErr_Occurred()) {
                PyErr_SetString(PyExc_ValueError, "register_direct: a null address");
            }
            return NULL;
        }
    }
    Py_ssize_t argcount = PyLong_AsSsize_t(args[3]);
    if (argcount < 0 && PyErr_Occurred()) {
        return NULL;
    }
    if (ember_register_direct(v[0], v[1], v[2], argcount) < 0) {
        return PyErr_NoMemory();
    }
    Py_RETURN_NONE;
}

static PyObject *
attr_cache_layout(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    return ember_attr_cache_layout();
}

static PyMethodDef module_methods[] = {
    {"boot", ember_boot, METH_NOARGS,
     "boot() -> bool: count with a Counter at defaults.py's settings, the warm-up timer "
     "armed, if no Ember switch is set (see _start.c)."},
    {"boot_state", ember_boot_state, METH_NOARGS,
     "boot_state() -> (counter, started_ns, phase) after boot() did, else None; phase is "
     "'warm-up', 'sampling', 'counting' or 'adopted'."},
    {"boot_adopt", ember_boot_adopt, METH_NOARGS,
     "boot_adopt() -> (counter, started_ns, warming_up, sampler or None): the runtime "
     "takes the C start's state over (once; None after that, or without a C start)."},
    {"replies_watch", (PyCFunction)(void (*)(void))ember_replies_watch, METH_FASTCALL,
     "replies_watch(fd, wake_ns, callback): call callback() on the main thread when fd is "
     "readable, and once at wake_ns (time.monotonic_ns(); 0: never)."},
    {"replies_stop", ember_replies_stop, METH_NOARGS,
     "replies_stop() -> bool: stop and join the thread waiting for replies."},
    {"replies_leave", ember_replies_leave, METH_NOARGS,
     "replies_leave() -> bool: at exit, end the thread without waiting for it when it "
     "only sleeps (else as replies_stop)."},
    {"replies_forget", ember_replies_forget, METH_NOARGS,
     "replies_forget(): in a fork's child (the parent's thread is not there)."},
    {"replies_before_fork", ember_replies_before_fork, METH_NOARGS,
     "replies_before_fork(): before os.fork(): the thread ended, and none started until "
     "replies_after_fork()."},
    {"replies_after_fork", ember_replies_after_fork, METH_NOARGS,
     "replies_after_fork(): in the fork's parent: the thread again, if it was waiting."},
    {"replies_send", (PyCFunction)(void (*)(void))ember_replies_send, METH_FASTCALL,
     "replies_send(fd, data) -> int: have the thread write data to fd (non-blocking) as "
     "fd takes it; the bytes not written yet. OSError if a write to fd failed."},
    {"replies_close", ember_replies_close, METH_O,
     "replies_close(fd): fd is about to be closed: write what it takes now (never "
     "blocking) of what waits for it, drop the rest."},
    {"wait_readable", (PyCFunction)(void (*)(void))ember_wait_readable, METH_FASTCALL,
     "wait_readable(fd, timeout_ms) -> bool: wait without the GIL until reading fd would "
     "not block, for timeout_ms at most, or until a signal (see _quiet.c)."},
    {"signals_waiting", ember_signals_waiting_py, METH_NOARGS,
     "signals_waiting() -> bool: Ember's code runs on the main thread and a signal's "
     "handler waits for the program (see _quiet.c)."},
    {"register_direct", (PyCFunction)(void (*)(void))register_direct, METH_FASTCALL,
     "register_direct(entry, body, native_calls, argcount): compiled callers may call "
     "body directly for calls of argcount positional arguments."},
    {"tree_stats", ember_tree_stats, METH_O,
     "tree_stats(paths) -> bytes: '<path>:<size>:<mtime ns>' lines of the .py files under "
     "each path (see _files.c)."},
    {"readable", ember_readable, METH_O,
     "readable(fd) -> bool: reading fd would not block now."},
    {"symbol_address", ember_symbol_address, METH_O,
     "symbol_address(name) -> the address of a symbol of this process, or 0."},
    {"interpreter_address", ember_interpreter_address, METH_NOARGS,
     "interpreter_address() -> this interpreter's PyInterpreterState address."},
    {"fill_table", (PyCFunction)(void (*)(void))ember_fill_table, METH_FASTCALL,
     "fill_table(address, objects): write the objects' addresses at address."},
    {"load_object", (PyCFunction)(void (*)(void))ember_load_object, METH_FASTCALL,
     "load_object(data, resolve) -> {name: address}: map relocatable x86-64 object code "
     "(resolve(name) gives each undefined symbol's address); ValueError if it cannot."},
    {"native_symbols", native_symbols, METH_NOARGS,
     "native_symbols() -> {name: address} of the C functions compiled code calls."},
    {"attr_cache_layout", attr_cache_layout, METH_NOARGS,
     "attr_cache_layout() -> the AttrCache struct's size, offsets and kinds."},
    {"frame_function", frame_function, METH_O,
     "frame_function(frame) -> (function, argument types) or None."},
    {"untrack", untrack, METH_O,
     "untrack(record) -> record: the tuple and the tuples and weak references in it, "
     "no longer tracked by the cycle collector."},
    {"profile_put", (PyCFunction)(void (*)(void))profile_put, METH_FASTCALL,
     "profile_put(code, blob): keep blob (bytes) as code's profile, while code lives."},
    {"profile_get", profile_get, METH_O, "profile_get(code) -> the bytes kept, or None."},
    {"preload", preload, METH_O,
     "preload(path): dlopen a shared library with the GIL released (it stays loaded)."},
    {"recursion_remaining", recursion_remaining, METH_NOARGS,
     "recursion_remaining() -> (python frames, C recursion units) this thread has left."},
    {"install", (PyCFunction)(void (*)(void))ember_watch_install, METH_FASTCALL,
     "install(function, entry_address): route every call through the entry (watched)."},
    {"uninstall", ember_watch_uninstall, METH_O,
     "uninstall(function) -> bool: back to _PyFunction_Vectorcall; False if not installed."},
    {"uninstall_all", ember_watch_uninstall_all, METH_NOARGS,
     "uninstall_all() -> int: every installed function back to the interpreter."},
    {"clear", ember_watch_clear, METH_NOARGS,
     "clear(): uninstall_all() and unregister the function watcher."},
    {"is_installed", ember_watch_is_installed, METH_O,
     "is_installed(function) -> bool: Ember's entry is on it now."},
    {"installed_count", ember_watch_installed_count, METH_NOARGS,
     "installed_count() -> int."},
    {"vectorcall_of", ember_watch_vectorcall_of, METH_O,
     "vectorcall_of(function) -> int: the address of its vectorcall."},
    {"take_events", ember_watch_take_events, METH_NOARGS,
     "take_events() -> [(function address, code address, event)]: modified or destroyed "
     "installed functions since the last call, in order; the log is emptied."},
    {"events_lost", ember_watch_events_lost, METH_NOARGS,
     "events_lost() -> int: events not logged for lack of memory."},
    {NULL},
};

static struct PyModuleDef hotness_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "ember._hotness",
    .m_doc = "Ember's hotness counter (a sys.monitoring callback written in C).",
    .m_size = -1,
    .m_methods = module_methods,
};

static int
add_address(PyObject *m, const char *name, void *address)
{
    PyObject *value = PyLong_FromVoidPtr(address);
    int res = PyModule_AddObjectRef(m, name, value); /* fails cleanly on NULL */
    Py_XDECREF(value);
    return res;
}

PyMODINIT_FUNC
PyInit__hotness(void)
{
    PyObject *m = PyModule_Create(&hotness_module);
    if (m == NULL) {
        return NULL;
    }
    PyObject *type = ember_counter_type();
    if (type == NULL || PyModule_AddObject(m, "Counter", type) < 0) {
        Py_XDECREF(type);
        Py_DECREF(m);
        return NULL;
    }
    type = ember_sampler_type();
    if (type == NULL || PyModule_AddObject(m, "Sampler", type) < 0) {
        Py_XDECREF(type);
        Py_DECREF(m);
        return NULL;
    }
    if (profile_index < 0
        && (profile_index = PyUnstable_Eval_RequestCodeExtraIndex(drop_profile)) < 0) {
        PyErr_SetString(PyExc_RuntimeError, "no co_extra index left");
        Py_DECREF(m);
        return NULL;
    }
    if (PyModule_AddIntConstant(m, "VERSION", EMBER_HOTNESS_VERSION) < 0
        || PyModule_AddIntConstant(m, "SAMPLE_MS", EMBER_SAMPLE_MS) < 0
        || PyModule_AddIntConstant(m, "SAMPLE_DEPTH", EMBER_SAMPLE_DEPTH) < 0
        || add_address(m, "PY_VECTORCALL", (void *)_PyFunction_Vectorcall) < 0
        || PyModule_AddIntConstant(m, "EVENT_DESTROY", PyFunction_EVENT_DESTROY) < 0
        || PyModule_AddIntConstant(m, "EVENT_MODIFY_CODE", PyFunction_EVENT_MODIFY_CODE) < 0
        || PyModule_AddIntConstant(m, "EVENT_MODIFY_DEFAULTS",
                                   PyFunction_EVENT_MODIFY_DEFAULTS) < 0
        || PyModule_AddIntConstant(m, "EVENT_MODIFY_KWDEFAULTS",
                                   PyFunction_EVENT_MODIFY_KWDEFAULTS) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
