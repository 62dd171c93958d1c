/* Waking the runtime without costing the program anything, and writing its requests.
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
 * The same thread writes the requests (`replies_send`): the program's thread only copies
 * them into a buffer here, and the thread writes them to the server's non-blocking
 * request pipe as the server reads it. The program's thread must never wait for the
 * server: it once wrote the requests itself, and a program whose hot functions were big
 * (requests of a few KB each, replies of tens of KB) hung for good. Its thread blocked
 * writing into a full request pipe, inside Ember's hook; the server blocked writing a
 * reply into a full reply pipe; and this thread, whose callback said "not now" (Ember's
 * code under way), waited with no timeout for the hook to end. Now nothing of the
 * program's blocks on a pipe, a write error (EPIPE: the server is gone) is reported at
 * the next send instead of raising SIGPIPE in the program (this thread blocks every
 * signal), and a callback that says "not now" is asked again after PAUSE_RETRY_MS even
 * if nobody calls replies_watch.
 *
 * The thread exists only while there is something to wait for or to write
 * (`replies_watch` and `replies_send` start it, `replies_stop` ends it). It blocks every
 * signal, so they reach the program's threads as under CPython. Its only trace, while it
 * runs, is one more OS thread in /proc/self/status.
 *
 * Ending it. Any of the program's threads may stop it (the runtime's hook or tick runs on
 * whichever thread got hot), and os.fork() may come from any of them while another one
 * stops or starts it, or waits for a compile without the GIL. Two stops once joined the
 * same thread: the second join, on a handle freed by the first and reused by the thread
 * the fork's hook started next, never returned, and the program hung (issue 24: one run
 * in four of a thread forking while the main thread waited for compiles). So a thread is
 * given up exactly once, under `lock`: whoever gives it up takes its handle (`running`
 * is cleared, so nobody else sees it), starts a new `generation` and closes the write end
 * of its poke pipe. The thread, woken by that, sees the generation change and ends
 * without touching Python or the state here again (it checks the generation under the
 * lock before every step that would, and after taking the GIL for its callback). The one
 * who gave it up joins it, at most JOIN_TIMEOUT_MS (then detaches it: it ends by itself),
 * or detaches it: `replies_leave` at exit, when it only sleeps (waking a thread and
 * waiting for it to be scheduled and end costs the exit some 0.1-0.3 ms of wall time, a
 * whole percent of a short program). A thread that gives itself up (from its own callback,
 * which cannot join itself) leaves its handle to be joined by the next stop or fork
 * (`reaped`). A new thread may start as soon as the old one is given up; they share
 * nothing but `lock`.
 *
 * Forks. No thread of this module may exist at an os.fork() (3.12 warns about forking a
 * process with threads, and counts OS threads), nor start while one is under way:
 * `replies_before_fork` gives the thread up and waits (bounded) until every thread of
 * this module has ended, and no thread starts until `replies_after_fork` (in the parent),
 * which starts one again for what was being waited for; requests not written yet stay
 * buffered meanwhile. In the child, where the parent's threads do not exist,
 * `replies_forget` starts from nothing.
 *
 * The callback returns False when it cannot act now (Ember's own code is under way);
 * then the thread stops watching the reply pipe until replies_watch is called again, or
 * PAUSE_RETRY_MS have passed.
 */

#define PY_SSIZE_T_CLEAN
#define Py_BUILD_CORE_MODULE 1
#include <Python.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal/pycore_interp.h"

#include "_native.h"

/* How long a pending call may wait for the main thread before the thread runs the
   callback itself, and how often it re-trips the eval breaker meanwhile (ms). */
#define MAIN_THREAD_GRACE_MS 20
#define REBREAK_MS 5
/* How long a callback's "not now" holds at most, before the thread asks again (ms): the
   end of Ember's code normally calls replies_watch first; this is in case none does. */
#define PAUSE_RETRY_MS 100
/* The longest wait for a thread given up to end (ms): woken by its poke pipe, it ends at
   once, unless it waits for the GIL (then it gets it soon: the waiter releases it). */
#define JOIN_TIMEOUT_MS 2000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ended = PTHREAD_COND_INITIALIZER; /* a thread ended (`live`) */
static pthread_t thread;
static int running = 0;            /* the current thread exists, and nobody gave it up */
/* The current thread's: a thread whose generation is not this one was given up. */
static unsigned long generation = 0;
static int live = 0;               /* threads not ended yet, given up or not */
static pthread_t reaped;           /* one that gave itself up, to join (`has_reaped`) */
static int has_reaped = 0;
static int forking = 0;            /* between replies_before_fork and replies_after_fork */
static int scheduled = 0;          /* the callback is asked for and has not run yet */
static int ensuring = 0;           /* the thread takes the GIL to run the callback itself */
static int paused = 0;             /* the callback said "not now": wait (see above) */
static int reply_fd = -1;
static unsigned long long wake_ns = 0;  /* also call back at this time (0: never) */
static int poke[2] = {-1, -1};     /* wakes the current thread from poll() */
static PyObject *callback = NULL;  /* touched with the GIL only */
/* Requests not written yet: out_len bytes for out_fd (non-blocking), written by the
   thread with `lock` held (so a closed fd is never written after replies_close).
   out_errno: a write failed (the server is gone); reported by the next replies_send. */
static int out_fd = -1;
static char *out_buf = NULL;
static size_t out_len = 0, out_cap = 0;
static int out_errno = 0;

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

/* With `lock` held. */
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
    pthread_mutex_lock(&lock);
    if (poke[1] >= 0) {
        char c = 0;
        ssize_t n = write(poke[1], &c, 1);
        (void)n;  /* a full pipe already wakes it */
    }
    pthread_mutex_unlock(&lock);
}

/* With `lock` held: the current thread is nobody's any more (see the header); the caller
   joins or detaches it. What it waited for stays (a fork's hook starts a thread for it
   again); `unwatch` forgets it too. */
static void
give_up(int unwatch)
{
    running = 0;
    generation++;
    scheduled = paused = 0;
    if (poke[1] >= 0) {
        close(poke[1]);  /* wakes it: its read end sees the pipe closed */
    }
    poke[0] = poke[1] = -1;  /* the read end is the thread's to close */
    if (unwatch) {
        reply_fd = -1;
        wake_ns = 0;
    }
}

/* Without the GIL: wait for a thread given up (JOIN_TIMEOUT_MS at most: then it is
   detached, and ends by itself). */
static void
join_given_up(pthread_t t)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += JOIN_TIMEOUT_MS / 1000;
    deadline.tv_nsec += (JOIN_TIMEOUT_MS % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    if (pthread_timedjoin_np(t, NULL, &deadline) == ETIMEDOUT) {
        pthread_detach(t);
    }
}

/* With the GIL: join `t` (if `join`) and the thread that gave itself up, if any (unless it
   is this one: it is joined by the next stop). */
static void
join_threads(pthread_t t, int join)
{
    pthread_mutex_lock(&lock);
    pthread_t other = reaped;
    int join_other = has_reaped && !pthread_equal(reaped, pthread_self());
    if (join_other) {
        has_reaped = 0;
    }
    pthread_mutex_unlock(&lock);
    if (!join && !join_other) {
        return;
    }
    Py_BEGIN_ALLOW_THREADS  /* a thread may wait for the GIL, for its callback */
    if (join) {
        join_given_up(t);
    }
    if (join_other) {
        join_given_up(other);
    }
    Py_END_ALLOW_THREADS
}

/* With `lock` held. */
static void
drop_requests(void)
{
    PyMem_RawFree(out_buf);
    out_buf = NULL;
    out_len = out_cap = 0;
}

/* With `lock` held: write what the request pipe takes now (it never blocks). */
static void
write_out(void)
{
    while (out_fd >= 0 && out_len && !out_errno) {
        ssize_t n = write(out_fd, out_buf, out_len);
        if (n > 0) {
            out_len -= (size_t)n;
            if (out_len) {
                memmove(out_buf, out_buf + n, out_len);
            }
            else {
                drop_requests();  /* a big buffer is not kept for the next small one */
            }
        }
        else if (n < 0 && errno == EINTR) {
            continue;
        }
        else {
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
                out_errno = errno;
                drop_requests();
            }
            return;
        }
    }
}

/* With `lock` held, on the program's thread: write_out with SIGPIPE held back, and the
   one a write to a server that is gone raises taken back, so that a program that set
   SIGPIPE's default action (die) does not die of it. */
static void
write_out_here(void)
{
    sigset_t pipe_only, old, pending;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
    sigpending(&pending);
    int had = sigismember(&pending, SIGPIPE);
    write_out();
    if (out_errno == EPIPE && !had && !sigismember(&old, SIGPIPE)) {
        struct timespec zero = {0, 0};
        (void)sigtimedwait(&pipe_only, NULL, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* With the GIL, on the main thread (a pending call) or on the thread (its fallback): the
   callback of generation `arg`, once per request, its errors swallowed (the JIT never
   breaks the program; a KeyboardInterrupt is given back to the program). Nothing if
   that thread was given up meanwhile: its request is not the current thread's. */
static int
run_callback(void *arg)
{
    unsigned long own = (unsigned long)(uintptr_t)arg;
    pthread_mutex_lock(&lock);
    int asked = scheduled && own == generation;
    if (asked) {
        scheduled = 0;
    }
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
        if (own == generation) {
            paused = 1;
        }
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

/* The thread's fallback: run the callback itself, with the GIL, unless it was given up
   (checked again once it has the GIL: whoever gives it up holds the GIL). `ensuring` tells
   replies_leave that it must be joined: at exit, a thread that is taking the GIL could
   otherwise do so while the interpreter finalises. */
static void
run_callback_here(unsigned long own)
{
    pthread_mutex_lock(&lock);
    int go = own == generation && scheduled;
    ensuring = go;
    pthread_mutex_unlock(&lock);
    if (!go) {
        return;
    }
    PyGILState_STATE g = PyGILState_Ensure();
    run_callback((void *)(uintptr_t)own);
    PyGILState_Release(g);
    pthread_mutex_lock(&lock);
    ensuring = 0;
    pthread_mutex_unlock(&lock);
}

/* The poll() timeout in ms for a deadline (0: none, -1) that may be passed already. */
static int
timeout_until(unsigned long long deadline, unsigned long long now)
{
    if (!deadline) {
        return -1;
    }
    return now >= deadline ? 0 : (int)((deadline - now) / 1000000 + 1);
}

/* With `lock` held, on the thread, given up by itself (its callback stopped it, or it
   cannot wait): the next stop or fork joins it (one at a time: another is detached). */
static void
reap_later(void)
{
    if (has_reaped) {
        pthread_detach(pthread_self());
    }
    else {
        reaped = pthread_self();
        has_reaped = 1;
    }
}

static void *
thread_main(void *arg)
{
    struct thread_args own = *(struct thread_args *)arg;
    PyMem_RawFree(arg);
    unsigned long long asked_at = 0;   /* when the pending call was asked for */
    unsigned long long paused_at = 0;  /* when the callback's "not now" was first seen */
    for (;;) {
        pthread_mutex_lock(&lock);
        if (own.generation != generation) {
            pthread_mutex_unlock(&lock);
            break;  /* given up: whoever did joins it, or detached it */
        }
        int sched = scheduled, was_paused = paused, fd = paused ? -1 : reply_fd;
        unsigned long long wake = paused ? 0 : wake_ns;
        int wfd = out_fd >= 0 && out_len && !out_errno ? out_fd : -1;
        pthread_mutex_unlock(&lock);
        unsigned long long t = now_ns();
        if (!was_paused) {
            paused_at = 0;
        }
        else if (!paused_at) {
            paused_at = t;
        }
        struct pollfd fds[3] = {{.fd = own.poke_fd, .events = POLLIN},
                                {.fd = sched ? -1 : fd, .events = POLLIN},
                                {.fd = wfd, .events = POLLOUT}};
        int timeout;
        if (sched) {
            timeout = REBREAK_MS;
        }
        else if (was_paused) {
            timeout = timeout_until(paused_at + PAUSE_RETRY_MS * 1000000ull, t);
        }
        else {
            timeout = timeout_until(wake, t);
        }
        int n = poll(fds, 3, timeout);
        if (n < 0) {
            if (errno != EINTR) {
                pthread_mutex_lock(&lock);
                if (own.generation == generation) {
                    give_up(1);  /* cannot wait: end as if stopped */
                    reap_later();
                }
                pthread_mutex_unlock(&lock);
            }
            continue;
        }
        if (fds[2].revents) {
            pthread_mutex_lock(&lock);
            if (own.generation == generation) {
                write_out();
            }
            pthread_mutex_unlock(&lock);
        }
        if (fds[0].revents) {
            char buf[64];
            while (read(own.poke_fd, buf, sizeof buf) > 0) {
            }
            continue;
        }
        t = now_ns();
        if (sched) {
            if (!asked_at) {
                asked_at = t;
            }
            if (t - asked_at >= MAIN_THREAD_GRACE_MS * 1000000ull) {
                /* The main thread is busy elsewhere: run the callback here. */
                run_callback_here(own.generation);
                asked_at = 0;
            }
            else {
                break_eval();
            }
            continue;
        }
        asked_at = 0;
        if (was_paused) {
            if (t - paused_at >= PAUSE_RETRY_MS * 1000000ull) {
                pthread_mutex_lock(&lock);
                if (own.generation == generation) {
                    paused = 0;  /* ask again: a reply may be waiting */
                }
                pthread_mutex_unlock(&lock);
            }
            continue;
        }
        int due = fds[1].revents != 0 || (wake && t >= wake);
        if (!due) {
            continue;
        }
        pthread_mutex_lock(&lock);
        if (own.generation != generation) {
            pthread_mutex_unlock(&lock);
            continue;  /* given up meanwhile: end at the top, asking for nothing */
        }
        if (wake && t >= wake) {
            wake_ns = 0;
        }
        scheduled = 1;
        pthread_mutex_unlock(&lock);
        /* A full queue (other pending calls) is fine: the fallback runs it. */
        (void)Py_AddPendingCall(run_callback, (void *)(uintptr_t)own.generation);
        break_eval();
    }
    close(own.poke_fd);
    pthread_mutex_lock(&lock);
    live--;
    pthread_cond_broadcast(&ended);
    pthread_mutex_unlock(&lock);
    return NULL;
}

/* With the GIL: make sure the thread runs, and tell it the state changed; 0, or -1 with
   an exception set. While a fork is under way none starts: replies_after_fork does. */
static int
keep_running(void)
{
    pthread_mutex_lock(&lock);
    if (running || forking) {
        int own = on_own_thread();
        pthread_mutex_unlock(&lock);
        if (!own) {
            wake_thread();
        }
        return 0;
    }
    int pipe_fds[2];
    if (pipe(pipe_fds) < 0) {
        pthread_mutex_unlock(&lock);
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    for (int i = 0; i < 2; i++) {
        fcntl(pipe_fds[i], F_SETFD, FD_CLOEXEC);
        fcntl(pipe_fds[i], F_SETFL, O_NONBLOCK);
    }
    scheduled = ensuring = 0;
    /* The thread starts with every signal blocked: a signal (Ctrl-C) must go to the main
       thread, where it interrupts a blocking call such as time.sleep(); and a write to a
       server that is gone gives EPIPE, not SIGPIPE. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    /* The default stack: its fallback runs Python code (and what a collection finalises). */
    struct thread_args *targs = PyMem_RawMalloc(sizeof *targs);
    int err = ENOMEM;
    if (targs != NULL) {
        targs->generation = generation;
        targs->poke_fd = pipe_fds[0];
        err = pthread_create(&thread, NULL, thread_main, targs);
        if (err == 0) {
            running = 1;
            live++;
            poke[0] = pipe_fds[0];
            poke[1] = pipe_fds[1];
        }
        else {
            PyMem_RawFree(targs);
        }
    }
    pthread_mutex_unlock(&lock);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err != 0) {
        close(pipe_fds[0]);
        close(pipe_fds[1]);
        errno = err;
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    return 0;
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
    Py_XSETREF(callback, Py_NewRef(args[2]));
    pthread_mutex_lock(&lock);
    reply_fd = (int)fd;
    wake_ns = wake;
    paused = 0;
    pthread_mutex_unlock(&lock);
    if (keep_running() < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* replies_send(fd, data) -> int: queue data for fd, which the thread writes as fd takes
   it (fd is made non-blocking; a new fd drops what waited for the previous one); the
   bytes not written yet. OSError if a write to fd failed since the last call. */
PyObject *
ember_replies_send(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "replies_send(fd, data)");
        return NULL;
    }
    int fd = (int)PyLong_AsLong(args[0]);
    if (fd == -1 && PyErr_Occurred()) {
        return NULL;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(args[1], &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    size_t len = (size_t)view.len;
    pthread_mutex_lock(&lock);
    int err = 0;
    if (fd != out_fd) {
        int flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
            err = errno;
        }
        else {
            drop_requests();
            out_fd = fd;
            out_errno = 0;
        }
    }
    if (!err && out_errno) {
        err = out_errno;
    }
    if (!err && out_len + len > out_cap) {
        size_t cap = out_cap ? out_cap : 4096;
        while (cap < out_len + len) {
            cap *= 2;
        }
        char *grown = PyMem_RawRealloc(out_buf, cap);
        if (grown == NULL) {
            err = ENOMEM;
        }
        else {
            out_buf = grown;
            out_cap = cap;
        }
    }
    if (!err) {
        memcpy(out_buf + out_len, view.buf, len);
        out_len += len;
    }
    size_t waiting = out_len;
    pthread_mutex_unlock(&lock);
    PyBuffer_Release(&view);
    if (err) {
        errno = err;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    if (waiting && keep_running() < 0) {
        return NULL;
    }
    return PyLong_FromSize_t(waiting);
}

/* replies_close(fd): fd is about to be closed: write what it takes now of what waits for
   it (never blocking: at exit, a server asked before the end still compiles it for the
   code cache), drop the rest; after this, the thread never writes to fd. */
PyObject *
ember_replies_close(PyObject *Py_UNUSED(module), PyObject *arg)
{
    int fd = (int)PyLong_AsLong(arg);
    if (fd == -1 && PyErr_Occurred()) {
        return NULL;
    }
    pthread_mutex_lock(&lock);
    if (fd == out_fd) {
        write_out_here();
        drop_requests();
        out_fd = -1;
        out_errno = 0;
    }
    pthread_mutex_unlock(&lock);
    Py_RETURN_NONE;
}

/* replies_stop() -> bool: end the thread (True if there was one): joined, unless called
   from its own callback (then it ends by itself once the callback returns, and the next
   stop or fork joins it). Nothing is waited for any more. */
PyObject *
ember_replies_stop(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    pthread_mutex_lock(&lock);
    int had = running, own = on_own_thread();
    pthread_t t = thread;
    if (had) {
        give_up(1);
        if (own) {
            reap_later();
        }
    }
    else {
        reply_fd = -1;  /* (a fork's hook would start one for these) */
        wake_ns = 0;
    }
    pthread_mutex_unlock(&lock);
    Py_CLEAR(callback);  /* a call still queued then does nothing */
    join_threads(t, had && !own);
    return PyBool_FromLong(had);
}

/* replies_leave() -> bool: at exit, end the thread (True if there was one) without
   waiting for it. A thread that only sleeps in poll() is given up and detached: it ends
   with the process, or before, never touching Python again. One that has a callback
   asked for or under way, and a call from its own callback, take replies_stop's way. */
PyObject *
ember_replies_leave(PyObject *module, PyObject *ignored)
{
    pthread_mutex_lock(&lock);
    if (!running || scheduled || ensuring || on_own_thread()) {
        pthread_mutex_unlock(&lock);
        return ember_replies_stop(module, ignored);
    }
    pthread_detach(thread);
    give_up(1);
    if (has_reaped) {
        pthread_detach(reaped);
        has_reaped = 0;
    }
    pthread_mutex_unlock(&lock);
    Py_CLEAR(callback);
    Py_RETURN_TRUE;
}

/* replies_before_fork(): no thread of this module at the fork (see the header): the
   thread given up and joined, and any other that was given up waited for (bounded); none
   starts until replies_after_fork. Called with the GIL, on the thread that forks. */
PyObject *
ember_replies_before_fork(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    pthread_mutex_lock(&lock);
    forking = 1;
    int had = running && !on_own_thread();
    pthread_t t = thread;
    if (had) {
        give_up(0);
    }
    pthread_mutex_unlock(&lock);
    join_threads(t, had);
    /* Threads given up by others (who join them meanwhile, without the GIL), or left. */
    Py_BEGIN_ALLOW_THREADS
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += JOIN_TIMEOUT_MS / 1000 + 1;
    pthread_mutex_lock(&lock);
    while (live > 0 && pthread_cond_timedwait(&ended, &lock, &deadline) != ETIMEDOUT) {
    }
    pthread_mutex_unlock(&lock);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

/* replies_after_fork(): in the parent, after the fork: a thread again for what is waited
   for, or written, if anything. */
PyObject *
ember_replies_after_fork(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    pthread_mutex_lock(&lock);
    forking = 0;
    int wanted = (callback != NULL && (reply_fd >= 0 || wake_ns))
        || (out_fd >= 0 && out_len && !out_errno);
    pthread_mutex_unlock(&lock);
    if (wanted && keep_running() < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* replies_forget(): in a fork's child, where no thread of the parent's exists. */
PyObject *
ember_replies_forget(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t fresh_cond = PTHREAD_COND_INITIALIZER;
    lock = fresh;  /* a parent's thread may have held it at the fork */
    ended = fresh_cond;
    /* The poke pipe is the parent's too: a thread of the child's reading it would eat
       the byte that wakes the parent's thread. The child makes its own for its thread. */
    for (int i = 0; i < 2; i++) {
        if (poke[i] >= 0) {
            close(poke[i]);
            poke[i] = -1;
        }
    }
    generation++;
    running = live = has_reaped = forking = 0;
    scheduled = ensuring = paused = 0;
    reply_fd = -1;
    wake_ns = 0;
    /* Requests for the parent's server are not the child's to send. */
    drop_requests();
    out_fd = -1;
    out_errno = 0;
    Py_CLEAR(callback);
    Py_RETURN_NONE;
}
