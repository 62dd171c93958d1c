/* Ember's C functions that compiled code calls (_caches.c, _calls.c), by the names in
   ember._hotness.native_symbols(), and what _hotness.c needs of them. */
#ifndef EMBER_NATIVE_H
#define EMBER_NATIVE_H

#include <Python.h>

/* _counter.c: the Counter type (ember._hotness.Counter), and what the sampler asks of a
   Counter: is it one, does code wait for its next call, make code hot now (1; 0 if
   decided already, -1 with an error), let first calls wait. */
PyObject *ember_counter_type(void);
int ember_counter_check(PyObject *counter);
int ember_counter_waiting(PyObject *counter, PyObject *code);
int ember_counter_mark(PyObject *counter, PyObject *code);
void ember_counter_set_waits(PyObject *counter, int waits);

/* _sampler.c: the Sampler type, a Sampler for `counter` (NULL: none) and its watch, the
   notes on code objects (small ones, for the counter). */
PyObject *ember_sampler_type(void);
PyObject *ember_sampler_new(PyObject *counter);
int ember_sampler_watch(PyObject *sampler, int fd, long long wake_ns, PyObject *tick);
int ember_note_small(PyObject *code);
PyObject *ember_notes_take_small(void);

/* _quiet.c: Ember's Python run quietly: no collection triggered, the youngest
   generation's count put back, signals' Python handlers left to the program's next
   eval-breaker check; whether one waits (a wait of Ember's then gives up). */
typedef struct {
    int count;
    Py_ssize_t collections;
    int enabled;
    unsigned long main_thread; /* deferred its signal handling (0: did not) */
    uint8_t muted_func_watchers; /* the program's function watchers, off meanwhile */
} EmberQuiet;
/* _watcher.c: the id of Ember's function watcher (-1: none yet). */
int ember_watcher_id(void);
void ember_quiet_begin(EmberQuiet *quiet);
void ember_quiet_end(EmberQuiet *quiet);
PyObject *ember_quietly(PyObject *callable, PyObject *const *args, size_t nargsf);
int ember_signals_waiting(void);
PyObject *ember_signals_waiting_py(PyObject *module, PyObject *ignored);
PyObject *ember_wait_readable(PyObject *module, PyObject *const *args, Py_ssize_t nargs);

/* _hotness.c: (function, argument types) of a _PyInterpreterFrame running `code`, or None
   (the two tuples untracked by the collector with `untracked`). */
PyObject *ember_frame_seen(void *frame, PyObject *code, int untracked);

/* _caches.c: the attribute caches' slow paths. */
PyObject *ember_load_attr(void *cache, PyObject *obj, PyObject *name);
int ember_store_attr(void *cache, PyObject *obj, PyObject *name, PyObject *value);
int ember_load_method(void *cache, PyObject *obj, PyObject *name, PyObject **method);
PyObject *ember_attr_cache_layout(void);

/* _calls.c: CALL. The frame and code unit are a _PyInterpreterFrame and _Py_CODEUNIT. */
PyObject *ember_call(PyThreadState *tstate, void *frame, PyObject *method, PyObject **args,
                     Py_ssize_t npos, PyObject *kwnames, void *at_call, uint64_t owned,
                     void *cache);
void ember_call_failed(void *frame, PyObject *code, PyObject *handled, void *at_call);
int ember_calls_init(void);
int ember_register_direct(uintptr_t entry, uintptr_t body, uintptr_t native_calls,
                          Py_ssize_t argcount);

/* _quicken.c: superinstructions back in counted code (only Ember's tool on). */
void ember_fuse_superinstructions(PyObject *code, int own_tool);

/* _replies.c: the thread that waits for the compile server's replies. */
PyObject *ember_replies_watch(PyObject *module, PyObject *const *args, Py_ssize_t nargs);
PyObject *ember_replies_stop(PyObject *module, PyObject *ignored);
PyObject *ember_replies_forget(PyObject *module, PyObject *ignored);
PyObject *ember_replies_leave(PyObject *module, PyObject *ignored);
PyObject *ember_replies_send(PyObject *module, PyObject *const *args, Py_ssize_t nargs);
PyObject *ember_replies_close(PyObject *module, PyObject *fd);
PyObject *ember_replies_before_fork(PyObject *module, PyObject *ignored);
PyObject *ember_replies_after_fork(PyObject *module, PyObject *ignored);

/* _loader.c: load_object(data, resolve) -> {name: address}. */
PyObject *ember_load_object(PyObject *module, PyObject *const *args, Py_ssize_t nargs);
PyObject *ember_symbol_address(PyObject *module, PyObject *name);
PyObject *ember_interpreter_address(PyObject *module, PyObject *ignored);
PyObject *ember_fill_table(PyObject *module, PyObject *const *args, Py_ssize_t nargs);
PyObject *ember_readable(PyObject *module, PyObject *arg);

/* _files.c: tree_stats(paths) -> bytes, for the code cache's signature. */
PyObject *ember_tree_stats(PyObject *module, PyObject *paths);

/* _watcher.c: the function watcher (install, uninstall, take_events, ...). */
PyObject *ember_watch_install(PyObject *module, PyObject *const *args, Py_ssize_t nargs);
PyObject *ember_watch_uninstall(PyObject *module, PyObject *func);
PyObject *ember_watch_uninstall_all(PyObject *module, PyObject *ignored);
PyObject *ember_watch_clear(PyObject *module, PyObject *ignored);
PyObject *ember_watch_is_installed(PyObject *module, PyObject *func);
PyObject *ember_watch_installed_count(PyObject *module, PyObject *ignored);
PyObject *ember_watch_vectorcall_of(PyObject *module, PyObject *func);
PyObject *ember_watch_take_events(PyObject *module, PyObject *ignored);
PyObject *ember_watch_events_lost(PyObject *module, PyObject *ignored);

/* _start.c: the fast path of the process's start. */
PyObject *ember_boot(PyObject *module, PyObject *ignored);
PyObject *ember_boot_state(PyObject *module, PyObject *ignored);
PyObject *ember_boot_adopt(PyObject *module, PyObject *ignored);

#endif
