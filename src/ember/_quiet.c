/* Quietly: how Ember's Python code runs on the program's threads (the counter's hook,
 * _counter.c; a tick of the runtime, _sampler.c), so that the program cannot tell it ran
 * between two of its bytecodes.
 *
 * The collector. Automatic collection is off while Ember's code runs, and the count of the
 * youngest generation is put back afterwards: its allocations never trigger a collection
 * at a point the program did not, and gc.get_count() reads the same before and after it.
 * (Another thread of the program that runs while that code waits without the GIL, in a
 * compile under `-X jit-background=off`, collects nothing meanwhile either.) The objects
 * it keeps stay visible in gc.get_objects(); the runtime keeps them to plain values, or
 * untracks them (_hotness.untrack).
 *
 * Signals. A signal's Python handler runs on the main thread at the next eval-breaker
 * check of whatever Python code runs there, and Ember's code is Python code: a handler
 * used to run inside the hook, where its exception (a KeyboardInterrupt, or a program's
 * own) was caught as Ember's internal error and lost, or left a compile half-done. CPython
 * runs it at the next check of the program's own code. So while Ember's code runs on the
 * main thread, this thread is not the main thread as far as CPython's signal handling
 * goes: `_PyRuntime.main_thread` is set to an ident no thread has, and
 * _Py_ThreadCanHandleSignals() is false everywhere. A signal arriving meanwhile is only
 * recorded (its C handler sets `signals_pending`, and trips the signal module's flags);
 * PyErr_CheckSignals() and the eval breaker leave it alone (the main thread's pending
 * calls wait likewise, among them the native thread's tick: it comes after the hook, as
 * it must). At the end the ident is put back and, if anything is pending, the eval breaker
 * set: the handler runs at the program's next check. After the hook at a function's
 * start that is the check INSTRUMENTED_RESUME makes right after sys.monitoring's
 * callback returns, so the handler raises in the hooked function, as in CPython; after a
 * back-edge's hook, at the loop's next check.
 *
 * The alternatives were worse. Catching the handler's exception in Ember's frames and
 * raising it again at the end cannot tell a handler's exception from Ember's own, and by
 * then the handler has run in the middle of Ember's code (a compile's reply half
 * installed). Blocking the signals (pthread_sigmask) moves a process-directed signal to
 * another thread of the program, whose C handler then trips the eval breaker all the same.
 *
 * Function watchers. The program's own (PyFunction_AddWatcher) would see every function
 * Ember's Python creates and destroys (a closure in the compiler: test_capi's watchers
 * saw events CPython never sends, and one that raises printed them as unraisable). So
 * their bits in the interpreter's `active_func_watchers` are cleared meanwhile, and put
 * back at the end (those still registered: a thread of the program that ran while
 * Ember waited without the GIL may have added or cleared one; it then missed events of
 * its own functions during that wait, a known gap). Ember's own watcher stays on: it
 * must see a compiled function die, whoever drops it.
 *
 * A wait of Ember's that could be long (a compile the hook waits for: `wait_readable`,
 * here, and compileserver.Client.wait) asks `ember_signals_waiting()` and gives up when a
 * handler waits, leaving the compile to finish in the background: Ctrl-C interrupts the
 * program as soon as under CPython. Shorter ones (a lock, a sleep) go on: while a
 * handler cannot run, PyErr_CheckSignals() says there is nothing to do, and the call
 * that was interrupted by the signal resumes (PEP 475).
 */

#define PY_SSIZE_T_CLEAN
#define Py_BUILD_CORE_MODULE 1
#include <Python.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <time.h>

#include "internal/pycore_interp.h"
#include "internal/pycore_pystate.h"
#include "internal/pycore_runtime.h"

#include "_native.h"

/* No thread has this ident: PyThread_get_thread_ident() is pthread_self(), never 0. */
#define NOBODY 0ul

/* The main thread while its signal handling waits (meaningful only while main_thread is
   NOBODY). Read and written with the GIL held. */
static unsigned long deferred = 0;

static void
defer_signals(EmberQuiet *quiet)
{
    quiet->main_thread = 0;
    unsigned long me = PyThread_get_thread_ident();
    if (_PyRuntime.main_thread != me || PyInterpreterState_Get() != PyInterpreterState_Main()) {
        return; /* not the main thread, or deferring already (nested) */
    }
    quiet->main_thread = me;
    deferred = me;
    _PyRuntime.main_thread = NOBODY;
}

static void
undefer_signals(EmberQuiet *quiet)
{
    if (quiet->main_thread == 0) {
        return;
    }
    _PyRuntime.main_thread = quiet->main_thread;
    /* A signal (or a pending call for the main thread) that came meanwhile computed the
       eval breaker as for a thread that cannot handle it: set it now. A spurious one costs
       a call of _Py_HandlePending, which recomputes it. */
    if (_Py_atomic_load_relaxed(&_PyRuntime.ceval.signals_pending)
        || _Py_atomic_load_relaxed(&_PyRuntime.ceval.pending_mainthread.calls_to_do)) {
        _Py_atomic_store_relaxed(&PyInterpreterState_Main()->ceval.eval_breaker, 1);
    }
}

int
ember_signals_waiting(void)
{
    return _PyRuntime.main_thread == NOBODY && deferred == PyThread_get_thread_ident()
        && _Py_atomic_load_relaxed(&_PyRuntime.ceval.signals_pending);
}

void
ember_quiet_begin(EmberQuiet *quiet)
{
    struct _gc_runtime_state *gc = &PyInterpreterState_Get()->gc;
    quiet->count = gc->generations[0].count;
    quiet->collections = gc->generation_stats[0].collections;
    quiet->enabled = PyGC_Disable();
    defer_signals(quiet);
    PyInterpreterState *interp = PyInterpreterState_Get();
    int own = ember_watcher_id();
    uint8_t keep = own >= 0 ? (uint8_t)(1u << own) : 0;
    quiet->muted_func_watchers = interp->active_func_watchers & (uint8_t)~keep;
    interp->active_func_watchers &= (uint8_t)~quiet->muted_func_watchers;
}

void
ember_quiet_end(EmberQuiet *quiet)
{
    PyInterpreterState *interp = PyInterpreterState_Get();
    for (int i = 0; i < FUNC_MAX_WATCHERS; i++) {
        if ((quiet->muted_func_watchers >> i & 1) && interp->func_watchers[i] != NULL) {
            interp->active_func_watchers |= (uint8_t)(1u << i);
        }
    }
    undefer_signals(quiet);
    struct _gc_runtime_state *gc = &PyInterpreterState_Get()->gc;
    if (quiet->enabled) {
        PyGC_Enable();
    }
    /* Unless the program's own collection, due before, ran meanwhile: then the count is
       what that left. */
    if (gc->generation_stats[0].collections == quiet->collections) {
        gc->generations[0].count = quiet->count;
    }
}

PyObject *
ember_quietly(PyObject *callable, PyObject *const *args, size_t nargsf)
{
    EmberQuiet quiet;
    ember_quiet_begin(&quiet);
    PyObject *res = PyObject_Vectorcall(callable, args, nargsf, NULL);
    ember_quiet_end(&quiet);
    return res;
}

/* signals_waiting() -> bool: Ember's code runs on the main thread, and a signal's Python
   handler waits for the program (a wait of Ember's gives up then). */
PyObject *
ember_signals_waiting_py(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    return PyBool_FromLong(ember_signals_waiting());
}

/* How long wait_readable polls at a time: a signal delivered to another thread of the
   program does not interrupt this thread's poll(), so it looks for one that waits this
   often (ms). */
#define WAIT_SLICE_MS 20

static long long
monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* wait_readable(fd, timeout_ms) -> bool: wait (without the GIL) until reading fd would not
   block, for timeout_ms at most; False at the timeout, when a signal came (the caller runs
   its handlers and asks again), or at once when a handler waits for the program
   (ember_signals_waiting: the caller gives up its wait). */
PyObject *
ember_wait_readable(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "wait_readable(fd, timeout_ms)");
        return NULL;
    }
    int fd = (int)PyLong_AsLong(args[0]);
    long timeout = PyLong_AsLong(args[1]);
    if (PyErr_Occurred()) {
        return NULL;
    }
    if (timeout < 0 || timeout > INT_MAX) {
        PyErr_SetString(PyExc_ValueError, "wait_readable: a timeout of 0 to INT_MAX ms");
        return NULL;
    }
    struct pollfd p = {.fd = fd, .events = POLLIN};
    long long deadline = monotonic_ms() + timeout;
    int n;
    for (;;) {
        long long left = ember_signals_waiting() ? 0 : deadline - monotonic_ms();
        int slice = left <= 0 ? 0 : left < WAIT_SLICE_MS ? (int)left : WAIT_SLICE_MS;
        Py_BEGIN_ALLOW_THREADS
        n = poll(&p, 1, slice);
        Py_END_ALLOW_THREADS
        if (n != 0 || slice == 0 || ember_signals_waiting()) {
            break;
        }
    }
    if (n < 0 && errno != EINTR) {
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    return PyBool_FromLong(n > 0);
}
