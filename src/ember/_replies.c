/* Waking the runtime without costing the program anything.
 *
 * The runtime has to act at moments no event of the program marks: when the compile
 * server's reply for a pending function arrives (that code's events are off, so its
 * calls run at the interpreter's full speed meanwhile), and when the warm-up ends (the
 * first WARMUP_MS of a run count nothing at all). A native thread of this module waits
 * for both: it sleeps in poll() on the reply pipe with the wake time as timeout, never
 * holds the GIL while it waits, and is no Python thread (`threading` and
 * `_thread._count()` do not see it). When it is time, it asks the main thread to run the
 * callback with Py_AddPendingCall, which CPython runs at the main thread's next
 * eval-breaker check. If the main thread does not get there soon (it waits in a join, a
 * lock or a long C call), the thread takes the GIL itself (PyGILState_Ensure) and runs
 * the callback there: a program whose main thread only waits for its workers still gets
 * their code compiled. Either way the callback runs with tracing suspended
 * (PyThreadState_EnterTracing), as a sys.monitoring callback does, so debuggers,
 * profilers and coverage never see Ember's Python code.
 *
 * The thread exists only while there is something to wait for (`replies_watch` starts
 * it, `replies_stop` ends and joins it). At exit, `replies_leave` ends it without the
 * join when it only sleeps: waking a thread and waiting for it to be scheduled and end
 * costs the exit some 0.1-0.3 ms of wall time, a whole percent of a short program, and
 * a thread that never touches Python again can just as well end with the process. Before os.fork()
 * the runtime stops it (3.12 warns about forking a process with threads, and counts OS
 * threads), and starts it again after. It blocks every signal, so they reach the main
 * thread as under CPython. Its only trace, while it runs, is one more OS thread in
 * /proc/self/status.
 *
 * The callback returns False when it cannot act now (Ember's own code is under way);
 * then the thread waits, watching nothing, until replies_watch is called again.
 *
 * The callback may itself call replies_watch (new fd or wake time) or replies_stop; on
 * the thread's own callback, replies_stop cannot join, so the thread ends by itself
 * after the callback and detaches (`self_stop`), unless it is watched again first.
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

/* How long a pending call may wait for the main thread before the thread runs the
   callback itself, and how often it re-trips the eval breaker meanwhile (ms). */
#define MAIN_THREAD_GRACE_MS 20
#define REBREAK_MS 5

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_t thread;
static int running = 0;            /* a thread exists */
static int stopping = 0;           /* replies_stop from another thread: it joins */
static int self_stop = 0;          /* replies_stop from the thread's own callback */
static int scheduled = 0;          /* the callback is asked for and has not run yet */
static int paused = 0;             /* the callback returned False: wait for replies_watch */
static int reply_fd = -1;
static unsigned long long wake_ns = 0;  /* also call back at this time (0: never) */
static int poke[2] = {-1, -1};     /* wakes the thread from poll() */
static PyObject *callback = NULL;  /* touched with the GIL only */
/* Which thread is the current one: a thread left by replies_leave sees the generation
   change and ends on its next wake-up without touching Python or the state above. */
static unsigned long generation = 0;

struct thread_args {
    unsigned long generation;
    int poke_fd;  /* its own read end of the poke pipe: a later thread gets a new pipe */
};

static unsigned long long
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

static int
on_own_thread(void)
{
    return running && pthread_equal(pthread_self(), thread);
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

/* With the GIL, on the main thread (a pending call) or on the thread (its fallback): the
   callback, once per request, its errors swallowed (the JIT never breaks the program; a
   KeyboardInterrupt is given back to the program). */
static int
run_callback(void *Py_UNUSED(arg))
{
    pthread_mutex_lock(&lock);
    int asked = scheduled;
    scheduled = 0;
    pthread_mutex_unlock(&lock);
    if (!asked || callback == NULL) {
        return 0;  /* the other way ran it already, or the watch was stopped */
    }
    PyThreadState *tstate = PyThreadState_Get();
    PyThreadState_EnterTracing(tstate);
    PyObject *cb = Py_NewRef(callback);
    PyObject *res = PyObject_CallNoArgs(cb);
    Py_DECREF(cb);
    if (res == Py_False) {
        /* Not now (Ember's own code is under way): it calls replies_watch when done. */
        pthread_mutex_lock(&lock);
        paused = 1;
        pthread_mutex_unlock(&lock);
    }
    if (res == NULL) {
        int interrupted = PyErr_ExceptionMatches(PyExc_KeyboardInterrupt);
        PyErr_Clear();
        if (interrupted) {
            PyErr_SetInterrupt();
        }
    }
    Py_XDECREF(res);
    PyThreadState_LeaveTracing(tstate);
    wake_thread();
    return 0;
}

static void *
thread_main(void *arg)
{
    struct thread_args own = *(struct thread_args *)arg;
    PyMem_RawFree(arg);
    int waited_ms = 0;  /* since the pending call was asked for */
    for (;;) {
        pthread_mutex_lock(&lock);
        if (own.generation != generation) {
            pthread_mutex_unlock(&lock);
            close(own.poke_fd);  /* left at exit (detached); the write end is closed */
            return NULL;
        }
        if (stopping) {
            pthread_mutex_unlock(&lock);
            return NULL;  /* replies_stop joins it */
        }
        if (self_stop) {
            /* Ended by its own callback, and not watched again since: nobody joins it. */
            pthread_detach(pthread_self());
            running = self_stop = scheduled = 0;
            reply_fd = -1;
            wake_ns = 0;
            pthread_mutex_unlock(&lock);
            return NULL;
        }
        int sched = scheduled, fd = paused ? -1 : reply_fd;
        unsigned long long wake = paused ? 0 : wake_ns;
        pthread_mutex_unlock(&lock);
        struct pollfd fds[2] = {{.fd = own.poke_fd, .events = POLLIN},
                                {.fd = sched ? -1 : fd, .events = POLLIN}};
        int timeout = sched ? REBREAK_MS : -1;
        if (!sched && wake) {
            unsigned long long t = now_ns();
            timeout = t >= wake ? 0 : (int)((wake - t) / 1000000 + 1);
        }
        int n = poll(fds, 2, timeout);
        if (n < 0 && errno != EINTR) {
            pthread_mutex_lock(&lock);
            self_stop = !stopping;  /* cannot wait: end as if stopped */
            pthread_mutex_unlock(&lock);
            continue;
        }
        if (fds[0].revents) {
            char buf[64];
            while (read(own.poke_fd, buf, sizeof buf) > 0) {
            }
            continue;
        }
        if (sched) {
            if (n == 0) {
                waited_ms += REBREAK_MS;
                if (waited_ms >= MAIN_THREAD_GRACE_MS) {
                    /* The main thread is busy elsewhere: run the callback here. */
                    PyGILState_STATE g = PyGILState_Ensure();
                    run_callback(NULL);
                    PyGILState_Release(g);
                    waited_ms = 0;
                }
                else {
                    break_eval();
                }
            }
            continue;
        }
        int due = fds[1].revents != 0 || (wake && now_ns() >= wake);
        if (!due) {
            continue;
        }
        pthread_mutex_lock(&lock);
        if (own.generation != generation) {
            pthread_mutex_unlock(&lock);
            continue;  /* left meanwhile: end at the top, asking for nothing */
        }
        if (wake && now_ns() >= wake) {
            wake_ns = 0;
        }
        scheduled = 1;
        pthread_mutex_unlock(&lock);
        waited_ms = 0;
        /* A full queue (other pending calls) is fine: the fallback runs it. */
        (void)Py_AddPendingCall(run_callback, NULL);
        break_eval();
    }
}

/* replies_watch(fd, wake_ns, callback): call callback() when fd (-1: none) is readable,
   and once at time.monotonic_ns() >= wake_ns (0: never); starts the thread if needed. */
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
    paused = 0;
    int own = on_own_thread();
    self_stop = 0;  /* a stop from the thread's own callback is taken back */
    int start = !running;
    if (start) {
        stopping = self_stop = scheduled = 0;
    }
    pthread_mutex_unlock(&lock);
    if (start) {
        /* The thread starts with every signal blocked: a signal (Ctrl-C) must go to the
           main thread, where it interrupts a blocking call such as time.sleep(). */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        /* The default stack: its fallback runs Python code (and what a collection finalises). */
        struct thread_args *targs = PyMem_RawMalloc(sizeof *targs);
        if (targs == NULL) {
            pthread_sigmask(SIG_SETMASK, &old, NULL);
            return PyErr_NoMemory();
        }
        pthread_mutex_lock(&lock);
        targs->generation = generation;
        targs->poke_fd = poke[0];
        int err = pthread_create(&thread, NULL, thread_main, targs);
        if (err == 0) {
            running = 1;
        }
        pthread_mutex_unlock(&lock);
        if (err != 0) {
            PyMem_RawFree(targs);
        }
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (err != 0) {
            errno = err;
            return PyErr_SetFromErrno(PyExc_OSError);
        }
    }
    else if (!own) {
        wake_thread();
    }
    Py_RETURN_NONE;
}

/* replies_stop() -> bool: end the thread (True if there was one); joined, unless called
   from its own callback (then it ends by itself once the callback returns). */
PyObject *
ember_replies_stop(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    pthread_mutex_lock(&lock);
    if (!running) {
        pthread_mutex_unlock(&lock);
        Py_RETURN_FALSE;
    }
    if (on_own_thread()) {
        self_stop = 1;
        reply_fd = -1;
        wake_ns = 0;
        pthread_mutex_unlock(&lock);
        Py_RETURN_TRUE;
    }
    stopping = 1;
    pthread_t joined = thread;
    pthread_mutex_unlock(&lock);
    wake_thread();
    Py_BEGIN_ALLOW_THREADS  /* its fallback may be waiting for the GIL */
    pthread_join(joined, NULL);
    Py_END_ALLOW_THREADS
    pthread_mutex_lock(&lock);
    running = 0;
    stopping = self_stop = scheduled = 0;
    reply_fd = -1;
    wake_ns = 0;
    pthread_mutex_unlock(&lock);
    Py_CLEAR(callback);  /* a call still queued then does nothing */
    Py_RETURN_TRUE;
}

/* replies_leave() -> bool: at exit, end the thread (True if there was one) without
   waiting for it. A thread that only sleeps in poll() is left to the process's end: it
   is detached, given up (a new generation, and its poke pipe, whose write end is closed
   so that it wakes and ends by itself), and never touches Python again. One that has a
   callback asked for or under way, and a call from its own callback, take replies_stop's
   way. */
PyObject *
ember_replies_leave(PyObject *module, PyObject *ignored)
{
    pthread_mutex_lock(&lock);
    if (!running || scheduled || on_own_thread()) {
        pthread_mutex_unlock(&lock);
        return ember_replies_stop(module, ignored);
    }
    generation++;
    pthread_detach(thread);
    running = 0;
    stopping = self_stop = paused = 0;
    reply_fd = -1;
    wake_ns = 0;
    int write_end = poke[1];
    poke[0] = poke[1] = -1;  /* the next replies_watch makes a new pipe for its thread */
    pthread_mutex_unlock(&lock);
    close(write_end);
    Py_CLEAR(callback);
    Py_RETURN_TRUE;
}

/* replies_forget(): in a fork's child, where the thread does not exist. */
PyObject *
ember_replies_forget(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    lock = fresh;  /* the parent's thread may have held it at the fork */
    /* The poke pipe is the parent's too: a thread of the child's reading it would eat
       the byte that wakes the parent's thread, and the parent's replies_stop would then
       wait for its join forever. The child makes its own at its next replies_watch. */
    for (int i = 0; i < 2; i++) {
        if (poke[i] >= 0) {
            close(poke[i]);
            poke[i] = -1;
        }
    }
    running = 0;
    stopping = self_stop = scheduled = 0;
    reply_fd = -1;
    wake_ns = 0;
    Py_CLEAR(callback);
    Py_RETURN_NONE;
}
