/* main() of the launcher's interpreter, `.venv/ember/bin/ember-python`, which
   `hatch_build.py --interpreter` links from this installation's own libpython3.12.a, this
   file and the extension's C sources (ember/interpreter.py says why statically).

   It is python3.12's main (Programs/python.c: Py_BytesMain, which is the configuration
   read from argv and the environment, Py_InitializeFromConfig, Py_RunMain), with Ember's
   start between initialization and the program. So this interpreter needs no venv and no
   .pth line to start Ember: outside a venv (no pyvenv.cfg next to it or above it), it
   finds its prefix where python3.12 does, and a program sees python3.12's sys.prefix,
   sys.path and site; site does nothing it would not do for python3.12. After
   initialization, for a process whose executable is named ember*:

   - Ember's own directories (the venv's site-packages, with llvmlite, and src/ for an
     editable install) go at the end of sys.path, after everything python3.12 has, so
     they shadow nothing of the program's;
   - `ember._hotness` is this executable's own copy of the extension, put in sys.modules
     (no dlopen);
   - its boot() runs, or `ember._boot` is imported when a switch asks for the slow path,
     as the venv's `ember-jit.pth` line does for the symlinked interpreter;
   - `sys._base_executable` is python3.12's (a venv made from an Ember process is made
     from python3.12, as it would be from python3.12 itself).

   Under any other name (the links a venv made from this interpreter would have), or with
   -S, it is plain CPython. EMBER_PATHS and EMBER_BASE_EXECUTABLE come from
   `ember_paths.h`, which the build writes. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#include "_native.h"
#include "ember_paths.h"

PyMODINIT_FUNC PyInit__hotness(void);

static int
named_ember(const char *argv0)
{
    const char *slash = strrchr(argv0, '/');
    return strncmp(slash != NULL ? slash + 1 : argv0, "ember", 5) == 0;
}

static int
append_paths(void)
{
    PyObject *path = PySys_GetObject("path"); /* borrowed */
    if (path == NULL || !PyList_Check(path)) {
        return 0; /* nothing to append to: Ember's imports will fail and say so */
    }
    for (const char *p = EMBER_PATHS; *p != '\0';) {
        const char *end = strchr(p, '\n');
        Py_ssize_t len = end != NULL ? end - p : (Py_ssize_t)strlen(p);
        PyObject *entry = PyUnicode_DecodeFSDefaultAndSize(p, len);
        int contains = entry != NULL ? PySequence_Contains(path, entry) : -1;
        int failed = contains < 0 || (contains == 0 && PyList_Append(path, entry) < 0);
        Py_XDECREF(entry);
        if (failed) {
            return -1;
        }
        p = end != NULL ? end + 1 : p + len;
    }
    return 0;
}

static int
start_ember(void)
{
    PyObject *base = PyUnicode_DecodeFSDefault(EMBER_BASE_EXECUTABLE);
    int failed = base == NULL || PySys_SetObject("_base_executable", base) < 0;
    Py_XDECREF(base);
    if (failed || append_paths() < 0) {
        return -1;
    }
    PyObject *modules = PyImport_GetModuleDict(); /* borrowed */
    PyObject *hotness = PyInit__hotness();
    if (hotness == NULL || PyDict_SetItemString(modules, "ember._hotness", hotness) < 0) {
        Py_XDECREF(hotness);
        return -1;
    }
    PyObject *booted = ember_boot(hotness, NULL);
    Py_DECREF(hotness);
    if (booted == NULL) {
        return -1;
    }
    int fast = PyObject_IsTrue(booted);
    Py_DECREF(booted);
    if (!fast) {
        PyObject *boot = PyImport_ImportModule("ember._boot");
        if (boot == NULL) {
            return -1;
        }
        Py_DECREF(boot);
    }
    return 0;
}

/* -S (no site) runs plain CPython, as it does for the venv's ember-python, whose start is
   a .pth line that site reads. */
static int
wants_site(void)
{
    PyObject *flags = PySys_GetObject("flags"); /* borrowed */
    PyObject *no_site = flags != NULL ? PyObject_GetAttrString(flags, "no_site") : NULL;
    int off = no_site != NULL ? PyObject_IsTrue(no_site) : 1;
    Py_XDECREF(no_site);
    PyErr_Clear();
    return off == 0;
}

int
main(int argc, char **argv)
{
    PyConfig config;
    PyConfig_InitPythonConfig(&config);
    /* Decodes argv after the pre-initialization has read it (-E, -I, -X utf8), as
       Py_BytesMain does. */
    PyStatus status = PyConfig_SetBytesArgv(&config, argc, argv);
    if (!PyStatus_Exception(status)) {
        status = Py_InitializeFromConfig(&config);
    }
    PyConfig_Clear(&config);
    if (PyStatus_Exception(status)) {
        if (PyStatus_IsExit(status)) {
            return status.exitcode;
        }
        Py_ExitStatusException(status);
    }
    if (argc > 0 && named_ember(argv[0]) && wants_site() && start_ember() < 0) {
        /* As site does with a failing .pth line: say so, and run the program anyway. */
        fprintf(stderr, "ember: the JIT could not start:\n");
        PyErr_Print();
    }
    return Py_RunMain();
}
