/* The fast path of Ember's start, in C: `_hotness.boot()`.
 *
 * An `ember` process with no Ember switch set (no `-X jit…` option, no `EMBER_*`
 * variable) needs nothing at start but the hotness counter, registered with
 * sys.monitoring, and a native timer for the end of the warm-up. Doing that from Python
 * (`ember._boot`) cost about a millisecond of every run: the `ember` package, `defaults`
 * and `_boot` found on sys.path and loaded. The launcher's venv loads this extension by
 * its absolute path from `ember-jit.pth` and calls boot(), so a short program pays for
 * the dlopen and a few calls, and `ember._boot` is imported only when it is needed: when
 * a function gets hot, or when the library interface asks for the runtime. Until then
 * everything is here, in C: the end of the warm-up starts the sampler (_sampler.c), which
 * the native thread of _replies.c then runs every few milliseconds, and the fork hooks
 * stop and restart that thread. So no Python code of Ember's runs, and no object the
 * cycle collector tracks is made, at the arbitrary points where the timer and the
 * sampler come (a program sees those in gc.get_objects()). The runtime takes this state
 * over (`boot_adopt()`) when it is made.
 *
 * The settings are defaults.py's, given by hatch_build.py as -D flags (the launcher
 * rebuilds when defaults.py changes), so there is one place that says what they are.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>
#include <time.h>
#include "_native.h"

#if !defined(EMBER_DEFAULT_THRESHOLD) || !defined(EMBER_BACK_EDGES_PER_CALL) \
    || !defined(EMBER_WARMUP_MS) || !defined(EMBER_MONITORING_TOOL) \
    || !defined(EMBER_COMPILER_PY_FRAMES) || !defined(EMBER_COMPILER_C_UNITS)
#error "hatch_build.py passes defaults.py's settings as -DEMBER_..."
#endif

extern char **environ;

/* Set once boot() succeeded: the counter it registered, when the process started
   (CLOCK_MONOTONIC: the clock of time.perf_counter and time.monotonic on Linux), and where
   the start is: counting every function (no timer), waiting for the end of the warm-up,
   sampling, or handed to the runtime (boot_adopt). */
static PyObject *booted_counter = NULL;
static long long started_ns = 0;
enum phase { COUNTING, WARMING_UP, SAMPLING, ADOPTED };
static enum phase phase = COUNTING;
/* The thread that started: a fork from another thread leaves the child without Ember's
   thread (after_fork; the runtime's own hook, runtime/driver.py, says why). */
static unsigned long main_ident = 0;
static const char *phase_names[] = {"counting", "warm-up", "sampling", "adopted"};
/* The sampler, from the end of the warm-up; the timer's callback, which makes it. */
static PyObject *booted_sampler = NULL;
static PyObject *warmed_up_hook = NULL;

/* A hook boot() registers, `self` being its name in `ember._boot`: `_boot.<name>(*args)`,
   importing `ember._boot` first if no one has yet, so that `_boot.py` decides
   everything once something happens. */
static PyObject *
delegate(PyObject *name, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *boot = PyImport_ImportModule("ember._boot");
    if (boot == NULL) {
        return NULL;
    }
    PyObject *fn = PyObject_GetAttr(boot, name);
    Py_DECREF(boot);
    if (fn == NULL) {
        return NULL;
    }
    PyObject *res = PyObject_Vectorcall(fn, args, nargs, NULL);
    Py_DECREF(fn);
    return res;
}

static PyMethodDef delegate_def = {
    "ember_boot_hook", (PyCFunction)(void (*)(void))delegate, METH_FASTCALL,
    "A hook of Ember's start: calls the function of this name in ember._boot."};

static PyObject *
hook(const char *name)
{
    PyObject *self = PyUnicode_InternFromString(name);
    if (self == NULL) {
        return NULL;
    }
    PyObject *fn = PyCFunction_New(&delegate_def, self);
    Py_DECREF(self);
    return fn;
}

/* At exit: the timer's or the sampler's thread, when it only sleeps, is left to the
   process's end (waking and joining it would cost every short program); then
   `_boot._at_exit()` if `ember._boot` was imported (the runtime's exit). */
static PyObject *
at_exit(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    if (phase == WARMING_UP || phase == SAMPLING) {
        phase = COUNTING;
        PyObject *res = ember_replies_leave(module, NULL);
        Py_XDECREF(res);
        if (res == NULL) {
            return NULL;
        }
    }
    PyObject *name = PyUnicode_FromString("ember._boot");
    PyObject *boot = name != NULL ? PyImport_GetModule(name) : NULL;
    Py_XDECREF(name);
    if (boot != NULL) {
        PyObject *res = PyObject_CallMethod(boot, "_at_exit", NULL);
        Py_DECREF(boot);
        return res;
    }
    if (PyErr_Occurred()) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyMethodDef at_exit_def = {"ember_at_exit", at_exit, METH_NOARGS,
                                  "Ember's exit handler (see _boot._at_exit)."};

/* Whether a `-X jit…` option or an `EMBER_*` variable is set (1: then `_boot.py` parses
   the switches), or only `-X jit=off` (2: nothing to start, and a run with the JIT off
   starts as fast as one at the defaults). Variables count even under -E/-I, as in
   `_boot._switch_given`. */
static int
switch_given(void)
{
    int off = 0;
    PyObject *xoptions = PySys_GetXOptions(); /* borrowed */
    if (xoptions != NULL) {
        PyObject *key, *value;
        Py_ssize_t pos = 0;
        while (PyDict_Next(xoptions, &pos, &key, &value)) {
            const char *s = PyUnicode_Check(key) ? PyUnicode_AsUTF8(key) : NULL;
            if (s == NULL) {
                PyErr_Clear();
                return 1;
            }
            if (strcmp(s, "jit") == 0 && PyUnicode_Check(value)
                && PyUnicode_CompareWithASCIIString(value, "off") == 0) {
                off = 1;
            }
            else if (strcmp(s, "jit") == 0 || strncmp(s, "jit-", 4) == 0) {
                return 1;
            }
        }
    }
    for (char **e = environ; e != NULL && *e != NULL; e++) {
        if (strncmp(*e, "EMBER_", 6) == 0) {
            return 1;
        }
    }
    return off ? 2 : 0;
}

static int
call_method(PyObject *obj, const char *name, const char *format, ...)
{
    va_list va;
    va_start(va, format);
    PyObject *fn = PyObject_GetAttrString(obj, name);
    PyObject *args = fn != NULL ? Py_VaBuildValue(format, va) : NULL;
    va_end(va);
    PyObject *res = args != NULL ? PyObject_Call(fn, args, NULL) : NULL;
    Py_XDECREF(fn);
    Py_XDECREF(args);
    Py_XDECREF(res);
    return res != NULL ? 0 : -1;
}

static long events_on = 0; /* PY_START | JUMP */

/* Every function counted, with global events: where no thread can sample. */
static void
count_all(void)
{
    PyObject *monitoring = PySys_GetObject("monitoring"); /* borrowed */
    if (monitoring == NULL
        || call_method(monitoring, "set_events", "(il)", EMBER_MONITORING_TOOL, events_on) < 0) {
        PyErr_Clear();
    }
    phase = COUNTING;
}

/* The timer's callback (on the main thread, or on the timer's own with the GIL): the
   warm-up is over, sample from now on. */
static PyObject *
warmed_up(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    if (phase != WARMING_UP) {
        Py_RETURN_TRUE; /* handed to the runtime meanwhile */
    }
    PyObject *sampler = ember_sampler_new(booted_counter);
    if (sampler != NULL) {
        booted_sampler = sampler;
        phase = SAMPLING;
        if (ember_sampler_watch(sampler, -1, 0, NULL) == 0) {
            Py_RETURN_TRUE;
        }
        ember_counter_set_waits(booted_counter, 0); /* no sampler to decide first calls */
    }
    PyErr_Clear();
    count_all();
    Py_RETURN_TRUE;
}

static PyMethodDef warmed_up_def = {"ember_warmed_up", warmed_up, METH_NOARGS,
                                    "The end of Ember's warm-up: the sampler starts."};

/* Have the thread wait for the end of the warm-up, or sample; -1 (error set) if no thread
   can. */
static int
watch(PyObject *module)
{
    if (phase == SAMPLING) {
        return ember_sampler_watch(booted_sampler, -1, 0, NULL);
    }
    if (phase != WARMING_UP) {
        return 0;
    }
    PyObject *deadline = PyLong_FromLongLong(started_ns + (long long)EMBER_WARMUP_MS * 1000000);
    PyObject *fd = PyLong_FromLong(-1);
    PyObject *res = NULL;
    if (deadline != NULL && fd != NULL) {
        PyObject *args[3] = {fd, deadline, warmed_up_hook};
        res = ember_replies_watch(module, args, 3);
    }
    Py_XDECREF(deadline);
    Py_XDECREF(fd);
    Py_XDECREF(res);
    return res != NULL ? 0 : -1;
}

/* The timer's thread must not exist at a fork (3.12 warns about forking a process with
   threads): ended before (_replies.c), started again after, in the parent and in the
   child (where the parent's thread is not). Once the runtime has taken over, its own
   hooks do it; the parent's after-hook lets threads start again whatever the phase (it
   may have changed while the fork's hooks released the GIL). */
static PyObject *
before_fork(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    if (phase == WARMING_UP || phase == SAMPLING) {
        return ember_replies_before_fork(NULL, NULL);
    }
    Py_RETURN_NONE;
}

static PyObject *
after_fork(PyObject *module, int child)
{
    PyObject *res = child ? ember_replies_forget(module, NULL)
                          : ember_replies_after_fork(module, NULL);
    if (res == NULL) {
        PyErr_Clear();
    }
    Py_XDECREF(res);
    if (phase != WARMING_UP && phase != SAMPLING) {
        Py_RETURN_NONE;
    }
    if (child && PyThread_get_thread_ident() != main_ident) {
        phase = COUNTING;  /* with no events on: this child counts nothing */
        ember_counter_set_waits(booted_counter, 0);
        Py_RETURN_NONE;
    }
    if (watch(module) < 0) {
        PyErr_Clear();
        if (phase == WARMING_UP) {
            phase = COUNTING;
        }
        ember_counter_set_waits(booted_counter, 0);
        count_all();
    }
    Py_RETURN_NONE;
}

static PyObject *
after_fork_in_parent(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    return after_fork(module, 0);
}

static PyObject *
after_fork_in_child(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    return after_fork(module, 1);
}

static PyMethodDef fork_defs[3] = {
    {"ember_before_fork", before_fork, METH_NOARGS, NULL},
    {"ember_after_fork_in_parent", after_fork_in_parent, METH_NOARGS, NULL},
    {"ember_after_fork_in_child", after_fork_in_child, METH_NOARGS, NULL},
};

static int
register_fork_hooks(PyObject *module)
{
    PyObject *posix = PyImport_ImportModule("posix");
    PyObject *register_at_fork =
        posix != NULL ? PyObject_GetAttrString(posix, "register_at_fork") : NULL;
    Py_XDECREF(posix);
    PyObject *hooks[3] = {NULL, NULL, NULL};
    for (int i = 0; i < 3 && register_at_fork != NULL; i++) {
        hooks[i] = PyCFunction_New(&fork_defs[i], module);
    }
    PyObject *kw = (register_at_fork != NULL && hooks[0] && hooks[1] && hooks[2])
        ? Py_BuildValue("{s:O,s:O,s:O}", "before", hooks[0], "after_in_parent", hooks[1],
                        "after_in_child", hooks[2])
        : NULL;
    PyObject *empty = kw != NULL ? PyTuple_New(0) : NULL;
    PyObject *r = empty != NULL ? PyObject_Call(register_at_fork, empty, kw) : NULL;
    Py_XDECREF(r);
    Py_XDECREF(empty);
    Py_XDECREF(kw);
    Py_XDECREF(register_at_fork);
    for (int i = 0; i < 3; i++) {
        Py_XDECREF(hooks[i]);
    }
    return r != NULL ? 0 : -1;
}

/* The Counter, registered for PY_START and JUMP under Ember's tool id; NULL with no error
   set when the tool id is taken (someone else is the optimizer: stay plain CPython). */
static PyObject *
register_counter(PyObject *module, PyObject *monitoring)
{
    if (call_method(monitoring, "use_tool_id", "(is)", EMBER_MONITORING_TOOL, "ember") < 0) {
        if (PyErr_ExceptionMatches(PyExc_ValueError)) {
            PyErr_Clear();
        }
        return NULL;
    }
    PyObject *type = PyObject_GetAttrString(module, "Counter");
    PyObject *on_hot = type != NULL ? hook("_first_hot") : NULL;
    PyObject *kwargs = on_hot != NULL
        ? Py_BuildValue("{s:K,s:K,s:i,s:i}",
                        "threshold",
                        (unsigned long long)EMBER_DEFAULT_THRESHOLD * EMBER_BACK_EDGES_PER_CALL,
                        "call_weight", (unsigned long long)EMBER_BACK_EDGES_PER_CALL,
                        "py_headroom", EMBER_COMPILER_PY_FRAMES,
                        "c_headroom", EMBER_COMPILER_C_UNITS)
        : NULL;
    PyObject *args = kwargs != NULL ? PyTuple_Pack(1, on_hot) : NULL;
    PyObject *counter = args != NULL ? PyObject_Call(type, args, kwargs) : NULL;
    Py_XDECREF(type);
    Py_XDECREF(on_hot);
    Py_XDECREF(kwargs);
    Py_XDECREF(args);
    if (counter == NULL) {
        return NULL;
    }
    PyObject *events = PyObject_GetAttrString(monitoring, "events");
    long py_start = -1, jump = -1;
    if (events != NULL) {
        PyObject *a = PyObject_GetAttrString(events, "PY_START");
        PyObject *b = a != NULL ? PyObject_GetAttrString(events, "JUMP") : NULL;
        py_start = a != NULL ? PyLong_AsLong(a) : -1;
        jump = b != NULL ? PyLong_AsLong(b) : -1;
        Py_XDECREF(a);
        Py_XDECREF(b);
        Py_DECREF(events);
    }
    if (PyErr_Occurred()
        || call_method(monitoring, "register_callback", "(ilO)", EMBER_MONITORING_TOOL,
                       py_start, counter) < 0
        || call_method(monitoring, "register_callback", "(ilO)", EMBER_MONITORING_TOOL,
                       jump, counter) < 0) {
        Py_DECREF(counter);
        return NULL;
    }
    events_on = py_start | jump;
    /* Not counting yet: the sampler switches events on after the warm-up. Without a
       timer, everything is counted from the start. */
    booted_counter = counter; /* (for the timer's callback; cleared again on failure) */
    warmed_up_hook = PyCFunction_New(&warmed_up_def, module);
    phase = WARMING_UP;
    main_ident = PyThread_get_thread_ident();
    if (warmed_up_hook != NULL && watch(module) == 0) {
        if (register_fork_hooks(module) < 0) {
            booted_counter = NULL;
            Py_DECREF(counter);
            return NULL;
        }
        return counter;
    }
    PyErr_Clear();
    phase = COUNTING;
    booted_counter = NULL;
    if (call_method(monitoring, "set_events", "(il)", EMBER_MONITORING_TOOL, events_on) < 0) {
        Py_DECREF(counter);
        return NULL;
    }
    return counter;
}

/* boot() -> bool: set up the fast path (True; with only `-X jit=off`, nothing at all), or
   leave the start to `ember._boot` (False: an Ember switch is set, or the counter could
   not be registered). Never
   raises: it runs from a .pth line, where an error would be printed. Called once per
   process, at start; after a success, later calls answer True and do nothing. */
PyObject *
ember_boot(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    if (booted_counter != NULL) {
        Py_RETURN_TRUE;
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int given = switch_given();
    if (given == 2) {
        Py_RETURN_TRUE; /* the JIT is off: plain CPython, no counter, nothing imported */
    }
    if (given) {
        Py_RETURN_FALSE;
    }
    started_ns = (long long)ts.tv_sec * 1000000000 + ts.tv_nsec;
    PyObject *monitoring = PySys_GetObject("monitoring"); /* borrowed */
    if (monitoring == NULL) {
        Py_RETURN_FALSE;
    }
    PyObject *counter = register_counter(module, monitoring);
    if (counter == NULL) {
        PyErr_Clear(); /* `_boot.py` tries again, and stays plain CPython if it fails */
        Py_RETURN_FALSE;
    }
    PyObject *atexit = PyImport_ImportModule("atexit");
    PyObject *handler = atexit != NULL ? PyCFunction_New(&at_exit_def, module) : NULL;
    int failed = handler == NULL || call_method(atexit, "register", "(O)", handler) < 0;
    Py_XDECREF(handler);
    Py_XDECREF(atexit);
    if (failed) {
        PyErr_Clear();
        if (phase == WARMING_UP) {
            PyObject *res = ember_replies_stop(module, NULL);
            Py_XDECREF(res);
            PyErr_Clear();
        }
        phase = COUNTING;
        booted_counter = NULL;
        Py_DECREF(counter);
        Py_RETURN_FALSE;
    }
    booted_counter = counter;
    Py_RETURN_TRUE;
}

/* boot_state() -> (counter, started_ns, phase) after boot() set up the fast path, else
   None. */
PyObject *
ember_boot_state(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    if (booted_counter == NULL) {
        Py_RETURN_NONE;
    }
    return Py_BuildValue("(OLs)", booted_counter, started_ns, phase_names[phase]);
}

/* boot_adopt() -> (counter, started_ns, warming_up, sampler or None), once: the runtime
   takes over. A warm-up timer is stopped (the runtime waits for the end of the warm-up
   itself); a sampler goes on sampling until the runtime watches with it. */
PyObject *
ember_boot_adopt(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    if (booted_counter == NULL || phase == ADOPTED) {
        Py_RETURN_NONE;
    }
    int warming_up = phase == WARMING_UP;
    if (warming_up) {
        PyObject *res = ember_replies_stop(module, NULL);
        if (res == NULL) {
            return NULL;
        }
        Py_DECREF(res);
    }
    phase = ADOPTED;
    return Py_BuildValue("(OLOO)", booted_counter, started_ns, warming_up ? Py_True : Py_False,
                         booted_sampler != NULL ? booted_sampler : Py_None);
}
