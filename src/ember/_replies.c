/* Waiting for the compile server without costing the program anything.
 *
 * While compiles are under way, the code waiting for them is "pending" in the counter:
 * all its events are off, so its calls and loops run at the interpreter's full speed.
 * Something must still notice when a reply arrives (or the warm-up ends, for code that
 * got hot too early): a native thread of this module, which only sleeps in poll() on the
 * reply pipe, never holds the GIL, runs no Python code and is no Python thread
 * (`threading` and `_thread._count()` do not see it). When it is time, it asks the main
 * thread to run the callback (Remote.poll) with Py_AddPendingCall, which CPython runs
 * at the main thread's next eval-breaker check; then it waits until that call ran before
 * it looks at the pipe again.
 *
 * The thread exists only while something is pending (`replies_watch` starts it,
 * `replies_stop` ends and joins it, as does the runtime's atexit). Before os.fork() the
 * runtime stops it (3.12 warns about forking a process with threads, and counts OS
 * threads), and starts it again after, in the parent. It blocks every signal, so they
 * reach the main thread as under CPython. Its only trace, while it runs, is one more OS
 * thread in /proc/self/status.
 */

#define PY_SSIZE_T_CLEAN
#define Py_BUILD_CORE_MODULE 1
#include <Python.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "internal/pycore_interp.h"

#include "_native.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_t thread;
static int running = 0;            /* a thread exists (to be joined) */
static int stopping = 0;
static int scheduled = 0;          /* a pending call is asked for and has not run yet */
static int reply_fd = -1;
static unsigned long long wake_ns = 0;  /* also call back at this time (0: never) */
static int poke[2] = {-1, -1};     /* wakes the thread from poll() */
static PyObject *callback = NULL;  /* touched with the GIL only */

static unsigned long long
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

/* Py_AddPendingCall, called from a thread that is not the main thread, does not set the
   eval breaker in 3.12 (its COMPUTE_EVAL_BREAKER asks whether the *calling* thread is the
   main thread), so a main thread that never releases the GIL would never run the call.
   Setting the flag ourselves is what the signal handler does; the main thread's
   _Py_HandlePending then runs the queue and recomputes the flag. A Python thread other
   than the main one may clear it first, so the thread sets it again every few
   milliseconds until the call has run. */
static void
break_eval(void)
{
    PyInterpreterState *interp = PyInterpreterState_Main();
    _Py_atomic_store_relaxed(&interp->ceval.eval_breaker, 1);
}

static void
wake_thread(void)
{
    if (poke[1] >= 0) {
        char c = 0;
        ssize_t n = write(poke[1], &c, 1);
        (void)n;  /* a full pipe already wakes it */
    }
}

/* On the main thread, with the GIL: the callback, its errors swallowed (the JIT never
   breaks the program; a KeyboardInterrupt is given back to the program). */
static int
run_callback(void *Py_UNUSED(arg))
{
    pthread_mutex_lock(&lock);
    scheduled = 0;
    pthread_mutex_unlock(&lock);
    if (callback != NULL) {
        PyObject *cb = Py_NewRef(callback);
        PyObject *res = PyObject_CallNoArgs(cb);
        Py_DECREF(cb);
        if (res == NULL) {
            int interrupted = PyErr_ExceptionMatches(PyExc_KeyboardInterrupt);
            PyErr_Clear();
            if (interrupted) {
                PyErr_SetInterrupt();
            }
        }
        Py_XDECREF(res);
    }
    wake_thread();
    return 0;
}

static void *
thread_main(void *Py_UNUSED(arg))
{
    for (;;) {
        pthread_mutex_lock(&lock);
        int stop = stopping, sched = scheduled, fd = reply_fd;
        unsigned long long wake = wake_ns;
        pthread_mutex_unlock(&lock);
        if (stop) {
            break;
        }
        struct pollfd fds[2] = {{.fd = poke[0], .events = POLLIN},
                                {.fd = sched ? -1 : fd, .events = POLLIN}};
        int timeout = sched ? 5 : -1;
        if (!sched && wake) {
            unsigned long long t = now_ns();
            timeout = t >= wake ? 0 : (int)((wake - t) / 1000000 + 1);
        }
        int n = poll(fds, 2, timeout);
        if (n < 0 && errno != EINTR) {
            break;
        }
        if (fds[0].revents) {
            char buf[64];
            while (read(poke[0], buf, sizeof buf) > 0) {
            }
            continue;
        }
        if (sched) {
            if (n == 0) {
                break_eval();
            }
            continue;
        }
        int due = fds[1].revents != 0 || (wake && now_ns() >= wake);
        if (!due) {
            continue;
        }
        pthread_mutex_lock(&lock);
        if (wake && now_ns() >= wake) {
            wake_ns = 0;
        }
        scheduled = 1;
        pthread_mutex_unlock(&lock);
        while (Py_AddPendingCall(run_callback, NULL) < 0) {
            /* The queue is full: try again shortly. */
            struct timespec pause = {0, 1000000};
            nanosleep(&pause, NULL);
            pthread_mutex_lock(&lock);
            stop = stopping;
            pthread_mutex_unlock(&lock);
            if (stop) {
                break;
            }
        }
        break_eval();
    }
    return NULL;
}

/* replies_watch(fd, wake_ns, callback): call callback() on the main thread when fd is
   readable, and once at time.monotonic_ns() == wake_ns (0: never); starts the thread. */
PyObject *
ember_replies_watch(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyCallable_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "replies_watch(fd, wake_ns, callback)");
        return NULL;
    }
    long fd = PyLong_AsLong(args[0]);
    unsigned long long wake = PyLong_AsUnsignedLongLong(args[1]);
    if (PyErr_Occurred()) {
        return NULL;
    }
    if (poke[0] < 0) {
        if (pipe(poke) < 0) {
            return PyErr_SetFromErrno(PyExc_OSError);
        }
        for (int i = 0; i < 2; i++) {
            fcntl(poke[i], F_SETFD, FD_CLOEXEC);
            fcntl(poke[i], F_SETFL, O_NONBLOCK);
        }
    }
    Py_XSETREF(callback, Py_NewRef(args[2]));
    pthread_mutex_lock(&lock);
    reply_fd = (int)fd;
    wake_ns = wake;
    int start = !running;
    if (start) {
        stopping = 0;
        scheduled = 0;
    }
    pthread_mutex_unlock(&lock);
    if (start) {
        /* The thread starts with every signal blocked: a signal (Ctrl-C) must go to the
           main thread, where it interrupts a blocking call such as time.sleep(). */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 64 * 1024);
        int err = pthread_create(&thread, &attr, thread_main, NULL);
        pthread_attr_destroy(&attr);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (err != 0) {
            errno = err;
            return PyErr_SetFromErrno(PyExc_OSError);
        }
        running = 1;
    }
    else {
        wake_thread();
    }
    Py_RETURN_NONE;
}

/* replies_stop() -> bool: end and join the thread (True if there was one). */
PyObject *
ember_replies_stop(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    if (!running) {
        Py_RETURN_FALSE;
    }
    pthread_mutex_lock(&lock);
    stopping = 1;
    pthread_mutex_unlock(&lock);
    wake_thread();
    Py_BEGIN_ALLOW_THREADS
    pthread_join(thread, NULL);
    Py_END_ALLOW_THREADS
    running = 0;
    pthread_mutex_lock(&lock);
    stopping = 0;
    reply_fd = -1;
    wake_ns = 0;
    pthread_mutex_unlock(&lock);
    Py_CLEAR(callback);  /* a call still queued then does nothing */
    Py_RETURN_TRUE;
}

/* replies_forget(): in a fork's child, where the thread does not exist. */
PyObject *
ember_replies_forget(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    running = 0;
    stopping = scheduled = 0;
    reply_fd = -1;
    wake_ns = 0;
    Py_CLEAR(callback);
    Py_RETURN_NONE;
}
