/* The size and modification time of a tree of files, for the code cache's signature of
 * this installation (codecache._signature).
 *
 * The program's thread computes that signature before its first cache lookup; done in
 * Python (os.walk, then an os.stat per file of the compiler's ~100) it cost 1.1-1.4 ms,
 * most of it the walk's own Python. Here the same stat calls cost a tenth of that.
 *
 * tree_stats(paths) -> bytes: for each path, in order: a directory gives the `.py` files
 * under it (its `__pycache__` directories left out), each directory's files in byte order
 * of their names and then its subdirectories in the same order; a file gives itself; a
 * path that does not exist gives nothing. Each file adds the line
 * "<path>:<size>:<mtime ns>\n". OSError when a directory cannot be read.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "_native.h"

static int
add_file(PyObject *out, const char *path, const struct stat *st)
{
    /* snprintf, not PyBytes_FromFormat: that one has no %lld. */
    char numbers[64];
    int n = snprintf(numbers, sizeof numbers, ":%lld:%lld\n", (long long)st->st_size,
                     (long long)st->st_mtim.tv_sec * 1000000000LL
                         + (long long)st->st_mtim.tv_nsec);
    size_t len = strlen(path);
    PyObject *line = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(len + (size_t)n));
    if (line == NULL) {
        return -1;
    }
    memcpy(PyBytes_AS_STRING(line), path, len);
    memcpy(PyBytes_AS_STRING(line) + len, numbers, (size_t)n);
    int rc = PyList_Append(out, line);
    Py_DECREF(line);
    return rc;
}

static int
by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a + 1, *(char *const *)b + 1);
}

static int
ends_with_py(const char *name)
{
    size_t n = strlen(name);
    return n > 3 && strcmp(name + n - 3, ".py") == 0;
}

/* The .py files of `dir` in name order, then, in name order, those under its
   subdirectories. */
static int
walk(PyObject *out, const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        PyErr_SetFromErrnoWithFilename(PyExc_OSError, dir);
        return -1;
    }
    size_t count = 0, room = 64;
    char **names = malloc(room * sizeof(char *));
    int rc = names == NULL ? -1 : 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0
            || strcmp(e->d_name, "__pycache__") == 0) {
            continue;
        }
        if (count == room) {
            char **more = realloc(names, 2 * room * sizeof(char *));
            if (more == NULL) {
                rc = -1;
                break;
            }
            names = more;
            room *= 2;
        }
        /* Each name carries a first byte: 'd' when it may be a directory. */
        size_t len = strlen(e->d_name);
        if ((names[count] = malloc(len + 2)) == NULL) {
            rc = -1;
            break;
        }
        names[count][0] = (e->d_type == DT_DIR || e->d_type == DT_UNKNOWN
                           || e->d_type == DT_LNK) ? 'd' : 'f';
        memcpy(names[count] + 1, e->d_name, len + 1);
        count++;
    }
    closedir(d);
    if (rc < 0) {
        PyErr_NoMemory();
    }
    else {
        qsort(names, count, sizeof(char *), by_name);
    }
    size_t dirlen = strlen(dir);
    /* Two passes over the same sorted names: the files, then the subdirectories. */
    for (int pass = 0; pass < 2 && rc == 0; pass++) {
        for (size_t i = 0; i < count && rc == 0; i++) {
            /* A stat only where it can count: .py names, then directories (names
               without the d_type a directory has were left out when reading). */
            const char *name = names[i] + 1;
            if (pass == 0 ? !ends_with_py(name) : names[i][0] != 'd') {
                continue;
            }
            size_t n = dirlen + 1 + strlen(name) + 1;
            char *path = malloc(n);
            if (path == NULL) {
                PyErr_NoMemory();
                rc = -1;
                break;
            }
            snprintf(path, n, "%s/%s", dir, name);
            struct stat st;
            if (stat(path, &st) == 0) {
                if (pass == 0 && S_ISREG(st.st_mode)) {
                    rc = add_file(out, path, &st);
                }
                else if (pass == 1 && S_ISDIR(st.st_mode)) {
                    rc = walk(out, path);
                }
            }
            free(path);
        }
    }
    for (size_t i = 0; i < count; i++) {
        free(names[i]);
    }
    free(names);
    return rc;
}

PyObject *
ember_tree_stats(PyObject *Py_UNUSED(module), PyObject *paths)
{
    PyObject *seq = PySequence_Fast(paths, "tree_stats(paths): paths must be a sequence");
    if (seq == NULL) {
        return NULL;
    }
    PyObject *out = PyList_New(0);
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    for (Py_ssize_t i = 0; out != NULL && i < n; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(seq, i);
        const char *path = PyUnicode_Check(item) ? PyUnicode_AsUTF8(item) : NULL;
        if (path == NULL) {
            if (!PyErr_Occurred()) {
                PyErr_SetString(PyExc_TypeError, "tree_stats(paths): each path must be a str");
            }
            Py_CLEAR(out);
            break;
        }
        struct stat st;
        if (stat(path, &st) != 0) {
            continue;
        }
        if ((S_ISDIR(st.st_mode) ? walk(out, path) : add_file(out, path, &st)) < 0) {
            Py_CLEAR(out);
        }
    }
    Py_DECREF(seq);
    if (out == NULL) {
        return NULL;
    }
    PyObject *empty = PyBytes_FromStringAndSize(NULL, 0);
    PyObject *joined = empty == NULL ? NULL : _PyBytes_Join(empty, out);
    Py_XDECREF(empty);
    Py_DECREF(out);
    return joined;
}
